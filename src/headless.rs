//! `runyard run`: evaluates a notebook cell by cell in a fresh standalone
//! runtime, streaming what each cell prints, with no window.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::manager::{Evaluation, Event, Manager, ManagerError, Outcome, SessionId};
use crate::notebook::percent::{self, CellKind};
use crate::protocol::Stream;
use crate::runtime::{InitError, RuntimeConfig};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not UTF-8 text", path.display())]
    NotText { path: PathBuf },
    #[error(transparent)]
    Manager(#[from] ManagerError),
    #[error("the runtime could not be started: {error}{}", detail(error))]
    Init { error: InitError },
    #[error("cell {cell} (line {line}) failed")]
    CellFailed { cell: usize, line: usize },
    #[error("cell {cell} (line {line}) was interrupted")]
    CellInterrupted { cell: usize, line: usize },
    #[error(
        "the runtime terminated unexpectedly with {exit} during cell {cell} (line {line}){}",
        tail(stderr_tail)
    )]
    NodeDown {
        cell: usize,
        line: usize,
        exit: crate::runtime::ExitInfo,
        stderr_tail: String,
    },
    #[error("cell {cell} (line {line}) did not finish: {reason}")]
    Aborted { cell: usize, line: usize, reason: String },
    #[error("cannot write output: {0}")]
    Write(#[from] std::io::Error),
}

impl RunError {
    /// Errors in what was asked (a missing file) exit with 2, failures of the
    /// notebook or its runtime with 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Read { .. } | RunError::NotText { .. } => 2,
            _ => 1,
        }
    }
}

fn detail(error: &InitError) -> String {
    match error {
        InitError::ExecutableNotFound { searched, .. } => format!(
            " (searched {})",
            searched
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":")
        ),
        _ => error.stderr_tail().map(tail).unwrap_or_default(),
    }
}

fn tail(text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("; its last words on stderr:\n{}", text.trim_end())
    }
}

/// Runs a percent-format script, writing cell output to `out` / `err`.
pub fn run_script(
    path: &Path,
    config: RuntimeConfig,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<usize, RunError> {
    let bytes = std::fs::read(path).map_err(|source| RunError::Read {
        path: path.into(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| RunError::NotText { path: path.into() })?;
    let cells: Vec<_> = percent::parse(&text)
        .into_iter()
        .filter(|c| c.kind == CellKind::Code)
        .collect();

    let manager = Manager::start_headless()?;
    let session = SessionId(1);
    manager.connect(session, config);
    wait_connected(&manager)?;

    let file = path.display().to_string();
    let mut prev: Option<String> = None;
    for (index, cell) in cells.iter().enumerate() {
        let number = index + 1;
        if cell.source.trim().is_empty() {
            continue;
        }
        let evaluation_ref = format!("cell-{number}");
        // Padding with blank lines makes the runtime's line numbers the file's.
        let code = format!("{}{}", "\n".repeat(cell.first_line - 1), cell.source);
        manager.evaluate(
            session,
            Evaluation {
                container: "main".into(),
                evaluation_ref: evaluation_ref.clone(),
                prev_evaluation_ref: prev.clone(),
                code,
                file: file.clone(),
            },
        );
        let line = cell.first_line;
        let outcome = wait_finished(&manager, &evaluation_ref, out, err).map_err(|e| match e {
            Waited::NodeDown { exit, stderr_tail } => RunError::NodeDown {
                cell: number,
                line,
                exit,
                stderr_tail,
            },
            Waited::Io(e) => RunError::Write(e),
        })?;
        match outcome {
            Outcome::Ok { value } => {
                if let Some(value) = value {
                    writeln!(out, "{value}")?;
                }
            }
            Outcome::Error(error) => {
                out.flush()?;
                let text = if error.formatted.is_empty() {
                    format!("{}: {}", error.kind, error.message)
                } else {
                    error.formatted.clone()
                };
                write!(err, "{}", text)?;
                if !text.ends_with('\n') {
                    writeln!(err)?;
                }
                return Err(RunError::CellFailed { cell: number, line });
            }
            Outcome::Interrupted(_) => return Err(RunError::CellInterrupted { cell: number, line }),
            Outcome::Aborted { reason } => {
                return Err(RunError::Aborted {
                    cell: number,
                    line,
                    reason,
                });
            }
        }
        prev = Some(evaluation_ref);
    }
    out.flush()?;
    manager.shutdown();
    Ok(cells.len())
}

fn wait_connected(manager: &Manager) -> Result<(), RunError> {
    loop {
        match manager.recv_timeout(Duration::from_secs(3600)) {
            Some(Event::Connected { info, .. }) => {
                tracing::info!(node = %info.name, executable = %info.executable, "connected");
                return Ok(());
            }
            Some(Event::InitFailed { error, .. }) => return Err(RunError::Init { error }),
            Some(_) => {}
            None => {
                return Err(RunError::Init {
                    error: InitError::BadHandshake {
                        detail: "the manager stopped".into(),
                    },
                });
            }
        }
    }
}

enum Waited {
    NodeDown {
        exit: crate::runtime::ExitInfo,
        stderr_tail: String,
    },
    Io(std::io::Error),
}

fn wait_finished(
    manager: &Manager,
    evaluation_ref: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, Waited> {
    loop {
        let Some(event) = manager.recv_timeout(Duration::from_secs(3600)) else {
            continue;
        };
        match event {
            Event::Output { stream, text, .. } => {
                let sink: &mut dyn Write = if stream == Stream::Stdout { out } else { err };
                sink.write_all(text.as_bytes())
                    .and_then(|_| sink.flush())
                    .map_err(Waited::Io)?;
            }
            Event::StrayOutput { text, .. } => err.write_all(text.as_bytes()).map_err(Waited::Io)?,
            Event::EvaluationFinished {
                evaluation_ref: r,
                outcome,
                ..
            } if r == evaluation_ref => return Ok(outcome),
            Event::NodeDown { exit, stderr_tail, .. } => return Err(Waited::NodeDown { exit, stderr_tail }),
            Event::Warning { message, .. } => tracing::warn!("{message}"),
            _ => {}
        }
    }
}
