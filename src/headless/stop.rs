//! Stopping a running cell in `runyard run`: at its `--timeout` or at
//! Ctrl-C the cell is interrupted (as the window's Interrupt does), and a
//! runtime that has not finished it [`KILL_GRACE`] later is killed.
//!
//! Ctrl-C arrives as a flag set by a signal handler ([`on_sigint`]); the run
//! loop polls it between the manager's events. A second Ctrl-C does not wait
//! for the loop: the handler exits the process with 130 at once, and the
//! runtimes' supervisors, seeing their parent gone, kill them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::manager::{Command, Manager, SessionId};

/// How long an interrupted cell has to finish before its runtime is killed.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How often the Ctrl-C flag is looked at while a cell runs.
const POLL: Duration = Duration::from_millis(50);

/// The exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells use).
pub const INTERRUPTED_EXIT: i32 = 130;

/// Installs the SIGINT handler of `runyard run`: the first SIGINT sets the
/// returned flag, the second exits with [`INTERRUPTED_EXIT`] at once.
pub fn on_sigint() -> std::io::Result<Arc<AtomicBool>> {
    use signal_hook::consts::SIGINT;
    let flag = Arc::new(AtomicBool::new(false));
    // Registered first, so it sees the flag as it was before this signal:
    // it exits only when an earlier SIGINT had already set it.
    signal_hook::flag::register_conditional_shutdown(SIGINT, INTERRUPTED_EXIT, Arc::clone(&flag))?;
    signal_hook::flag::register(SIGINT, Arc::clone(&flag))?;
    Ok(flag)
}

/// Why a cell was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// It ran past `--timeout`.
    Timeout(Duration),
    /// Ctrl-C.
    Interrupt,
}

/// Watches one running cell: its deadline and the Ctrl-C flag.
pub(super) struct Watch {
    session: SessionId,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    interrupt: Option<Arc<AtomicBool>>,
    kill_at: Option<Instant>,
    /// Why the cell was interrupted, if it was.
    pub stop: Option<Stop>,
    /// The runtime was killed: the cell did not stop within the grace.
    pub killed: bool,
}

impl Watch {
    pub fn new(session: SessionId, timeout: Option<Duration>, interrupt: Option<Arc<AtomicBool>>) -> Watch {
        Watch {
            session,
            timeout,
            deadline: timeout.map(|t| Instant::now() + t),
            interrupt,
            kill_at: None,
            stop: None,
            killed: false,
        }
    }

    /// Ctrl-C was pressed (at any time so far).
    pub fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// How long to wait for the next event before looking again.
    pub fn next_wait(&self) -> Duration {
        let now = Instant::now();
        let mut wait = Duration::from_secs(3600);
        if self.interrupt.is_some() {
            wait = POLL;
        }
        for at in [self.deadline, self.kill_at].into_iter().flatten() {
            wait = wait.min(at.saturating_duration_since(now));
        }
        wait
    }

    /// Interrupts the cell at its deadline or at Ctrl-C, and kills the
    /// runtime once the grace after that is over.
    pub fn check(&mut self, manager: &Manager) {
        let now = Instant::now();
        if self.stop.is_none() {
            let stop = if self.interrupted() {
                Some(Stop::Interrupt)
            } else if self.deadline.is_some_and(|d| now >= d) {
                self.timeout.map(Stop::Timeout)
            } else {
                None
            };
            if let Some(stop) = stop {
                tracing::info!(?stop, "interrupting the cell");
                manager.send(Command::Interrupt { session: self.session });
                self.stop = Some(stop);
                self.kill_at = Some(now + KILL_GRACE);
            }
        }
        if !self.killed && self.kill_at.is_some_and(|k| now >= k) {
            tracing::warn!("the cell did not stop within {KILL_GRACE:?} of its interrupt: killing the runtime");
            manager.send(Command::Kill { session: self.session });
            self.killed = true;
        }
    }
}

/// Seconds as a person reads them: `2 s`, `0.5 s`.
pub fn seconds(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(2)), "2 s");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5 s");
        assert_eq!(seconds(Duration::from_millis(1250)), "1.25 s");
    }
}
