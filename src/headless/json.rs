//! `runyard run --json`: one JSON object per line on stdout, flushed as it
//! is written, for CI systems and other programs. The schema is in the
//! README ("Machine-readable progress"); every object has an `event`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::CellName;
use crate::protocol::{Bundle, EvalError, Stream};

/// Writes one event as a line and flushes it.
pub(super) fn emit(out: &mut dyn Write, event: Value) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(&event).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

pub(super) fn run_started(notebook: &Path, cells: usize, language: &str) -> Value {
    json!({"event": "run_started", "notebook": notebook.display().to_string(), "cells": cells, "language": language})
}

pub(super) fn cell_started(cell: &CellName) -> Value {
    json!({
        "event": "cell_started",
        "cell": cell.number,
        "line": cell.line,
        "id": cell.id,
        "section": cell.section.as_deref().filter(|s| !s.is_empty()),
    })
}

pub(super) fn stream(cell: usize, stream: Stream, text: &str) -> Value {
    let name = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    json!({"event": "output", "cell": cell, "stream": name, "text": text})
}

/// A rich output: `display` (or, with `update`, a replacement of the
/// displays with its `display_id`) or the cell's `result`.
pub(super) fn display(cell: usize, kind: &str, bundle: &Bundle, display_id: Option<&str>, update: bool) -> Value {
    let mut event = json!({
        "event": "output",
        "cell": cell,
        "output_type": kind,
        "data": bundle.data,
        "metadata": bundle.metadata,
    });
    if kind == "display_data" {
        event["display_id"] = json!(display_id);
        event["update"] = json!(update);
    }
    event
}

/// `status`: `ok`, `error`, `timeout`, `interrupted`, `died` (the runtime
/// went down under it) or `skipped` (with the reason in `reason`).
pub(super) fn cell_finished(cell: usize, status: &str, took: Option<Duration>, error: Option<&EvalError>) -> Value {
    let mut event = json!({
        "event": "cell_finished",
        "cell": cell,
        "status": status,
        "duration_ms": took.map(|d| d.as_millis() as u64),
    });
    if let Some(error) = error {
        event["error"] = json!({
            "ename": error.kind,
            "evalue": error.message,
            "traceback": super::notebook::error_text(error).trim_end().lines().collect::<Vec<_>>(),
        });
    }
    event
}

pub(super) fn run_finished(status: &str, exit_code: i32, summary: &Summary, message: Option<String>) -> Value {
    json!({
        "event": "run_finished",
        "status": status,
        "exit_code": exit_code,
        "cells": summary.cells,
        "failures": summary.failures,
        "duration_ms": summary.took.as_millis() as u64,
        "message": message,
    })
}

/// What the run did, for the summary line and `run_finished`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Cells evaluated (skipped ones not counted).
    pub cells: usize,
    pub failures: usize,
    pub took: Duration,
}

impl Summary {
    /// `runyard: 12 cells, 1 failed, 3.2 s`.
    pub fn line(&self) -> String {
        let cells = if self.cells == 1 { "cell" } else { "cells" };
        format!(
            "runyard: {} {cells}, {} failed, {}",
            self.cells,
            self.failures,
            crate::session::format_duration(self.took)
        )
    }
}
