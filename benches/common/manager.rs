//! Driving the manager from a benchmark: waiting for an event, an
//! evaluation to send, a child to end. Shared by `benches/*.rs` through
//! `#[path]` (a bench is a crate of its own).
#![allow(dead_code)]

use std::process::Child;
use std::time::{Duration, Instant};

use runyard::{Evaluation, Event, Manager};

pub type R<T> = Result<T, String>;

/// Waits for the first event for which `f` says something; other events are
/// dropped (warnings and stray output are shown on stderr).
pub fn wait_for<T>(m: &Manager, timeout: Duration, mut f: impl FnMut(Event) -> Option<R<T>>) -> R<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(event) = m.recv_timeout(left) else {
            return Err(format!("no expected event within {:.1} s", timeout.as_secs_f64()));
        };
        match &event {
            Event::Warning { session, message } => eprintln!("  [warning] {session}: {message}"),
            Event::StrayOutput { session, text } => eprintln!("  [stray output] {session}: {text:?}"),
            _ => {}
        }
        if let Some(result) = f(event) {
            return result;
        }
    }
}

/// `code` as the first cell of a fresh container.
pub fn evaluation(evaluation_ref: &str, code: &str) -> Evaluation {
    Evaluation {
        container: "bench".into(),
        evaluation_ref: evaluation_ref.into(),
        prev_evaluation_ref: None,
        prev_container: None,
        code: code.into(),
        file: "cell 1".into(),
        options: None,
    }
}

pub fn kill_and_reap(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}
