use std::time::{Duration, Instant};

use super::outputs::{Display, Outputs};
use crate::manager::Outcome;
use crate::protocol::EvalError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellId(pub u64);

impl CellId {
    /// The evaluation ref of the cell's evaluations (one per cell, as in
    /// Livebook: re-evaluating replaces the stored context).
    pub fn evaluation_ref(self) -> String {
        format!("c{}", self.0)
    }

    pub fn from_ref(evaluation_ref: &str) -> Option<CellId> {
        evaluation_ref.strip_prefix('c')?.parse().ok().map(CellId)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CellState {
    /// Never evaluated (or its runtime went away before it ran).
    Fresh,
    Queued,
    Evaluating {
        since: Instant,
    },
    Evaluated {
        duration: Duration,
    },
    Errored {
        duration: Duration,
    },
    /// Stopped by an interrupt.
    Interrupted,
    /// Its context was lost when the runtime terminated unexpectedly.
    Aborted,
    /// Its context came from bindings that have changed since.
    Stale,
    /// Was queued, but the cell it chains from (cell number `failed`, counted
    /// from 1 in the notebook) failed: Livebook does not go on past an error.
    NotEvaluated {
        failed: usize,
    },
}

impl CellState {
    pub fn label(&self) -> &'static str {
        match self {
            CellState::Fresh => "fresh",
            CellState::Queued => "queued",
            CellState::Evaluating { .. } => "evaluating",
            CellState::Evaluated { .. } => "evaluated",
            CellState::Errored { .. } => "error",
            CellState::Interrupted => "interrupted",
            CellState::Aborted => "aborted",
            CellState::Stale => "stale",
            CellState::NotEvaluated { .. } => "not evaluated",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CellResult {
    /// The last expression's value, displayed as Jupyter's `execute_result`.
    Value(Display),
    Error(EvalError),
    Interrupted(Option<EvalError>),
    Aborted(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Code,
    Markdown,
    /// Jupyter's raw cell: text kept as written, neither run nor rendered.
    Raw,
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub id: CellId,
    pub kind: CellKind,
    /// The code, or the Markdown text.
    pub code: String,
    pub state: CellState,
    pub output: Outputs,
    pub result: Option<CellResult>,
    /// The evaluation counter when it last ran, as Jupyter's `In [n]`.
    pub execution_count: Option<u64>,
    /// Its state when it was queued, to return to if unqueued.
    before_queue: Option<CellState>,
    /// The code its current evaluation was sent with: a result for other
    /// code than the cell shows is stale.
    sent_code: Option<String>,
    /// Its outputs are still those read from the notebook file (written back
    /// as they were, rich data included) rather than ones it produced here.
    pub outputs_from_file: bool,
}

impl Cell {
    pub fn new(id: CellId, kind: CellKind, code: String) -> Cell {
        Cell {
            id,
            kind,
            code,
            state: CellState::Fresh,
            output: Outputs::default(),
            result: None,
            execution_count: None,
            before_queue: None,
            sent_code: None,
            outputs_from_file: false,
        }
    }

    pub fn evaluation_ref(&self) -> String {
        self.id.evaluation_ref()
    }

    pub fn is_code(&self) -> bool {
        self.kind == CellKind::Code
    }

    pub fn clear_output(&mut self) {
        self.outputs_from_file = false;
        self.output.clear();
        self.result = None;
    }

    /// Holds a context from its last evaluation (errors leave one too).
    pub fn is_evaluated(&self) -> bool {
        matches!(self.state, CellState::Evaluated { .. } | CellState::Errored { .. })
    }

    /// Needs no evaluation before the cells below it can use its context.
    pub fn is_up_to_date(&self) -> bool {
        !self.is_code() || self.is_evaluated()
    }

    pub(super) fn queue(&mut self) {
        if self.state != CellState::Queued {
            self.before_queue = Some(self.state.clone());
        }
        self.state = CellState::Queued;
    }

    pub(super) fn state_before_queue(&mut self) -> CellState {
        self.before_queue.take().unwrap_or(CellState::Fresh)
    }

    /// Starts an evaluation of the cell's code as it is now; returns that code.
    pub(super) fn start(&mut self, count: u64, now: Instant) -> String {
        self.sent_code = Some(self.code.clone());
        self.before_queue = None;
        self.state = CellState::Evaluating { since: now };
        self.output.clear();
        self.result = None;
        self.outputs_from_file = false;
        self.execution_count = Some(count);
        self.code.clone()
    }

    pub(super) fn finish(&mut self, outcome: &Outcome, duration: Duration) {
        let (state, result) = match outcome {
            Outcome::Ok { value } => (
                CellState::Evaluated { duration },
                value
                    .clone()
                    .map(|bundle| CellResult::Value(Display::new(std::sync::Arc::new(bundle), None))),
            ),
            Outcome::Error(error) => (CellState::Errored { duration }, Some(CellResult::Error(error.clone()))),
            Outcome::Interrupted(error) => (CellState::Interrupted, Some(CellResult::Interrupted(error.clone()))),
            Outcome::Aborted { reason } => (CellState::Aborted, Some(CellResult::Aborted(reason.clone()))),
        };
        // Edited while it ran: the result is for code the cell no longer shows.
        let edited = self.sent_code.take().is_some_and(|sent| sent != self.code);
        self.state = if edited && matches!(state, CellState::Evaluated { .. } | CellState::Errored { .. }) {
            CellState::Stale
        } else {
            state
        };
        self.result = result;
    }
}

/// "85 ms", "1.2 s", "2 min 5 s".
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{:.2} ms", ms)
    } else if ms < 1000.0 {
        format!("{:.0} ms", ms)
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let secs = duration.as_secs();
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_for_people() {
        assert_eq!(format_duration(Duration::from_micros(250)), "0.25 ms");
        assert_eq!(format_duration(Duration::from_millis(85)), "85 ms");
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.2 s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2 min 5 s");
    }

    #[test]
    fn refs_round_trip() {
        assert_eq!(CellId::from_ref(&CellId(42).evaluation_ref()), Some(CellId(42)));
        assert_eq!(CellId::from_ref("x1"), None);
    }
}
