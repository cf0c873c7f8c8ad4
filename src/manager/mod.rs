//! The background manager: one thread that owns every runtime process.
//!
//! Callers (the window, `runyard run`, tests) send [`Command`]s through a
//! [`Manager`] handle that never blocks, and drain [`Event`]s. The manager calls
//! the waker after each batch of events so a UI can repaint only then.

mod events;
mod kernel;
mod node;
mod queries;
mod remote;
mod worker;

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use crate::protocol::{Completion, CompletionKind, CompletionRequest};
pub use events::{DisconnectReason, DownCause, Event, NodeInfo, Outcome};

use crate::runtime::RuntimeConfig;

/// Identifies a session; chosen by the caller, unique among its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct SessionId(pub u64);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "session {}", self.0)
    }
}

/// One evaluation request, with Livebook's references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The evaluation flow (a notebook section).
    pub container: String,
    /// Under which the bindings this evaluation leaves are stored.
    pub evaluation_ref: String,
    /// Whose bindings to start from; `None` starts fresh.
    pub prev_evaluation_ref: Option<String>,
    /// The container of `prev_evaluation_ref` when it is not `container`.
    pub prev_container: Option<String>,
    pub code: String,
    /// How tracebacks name this code, e.g. `cell 3`.
    pub file: String,
    /// How values are displayed; the agent's defaults when `None`.
    pub options: Option<crate::protocol::DisplayOptions>,
}

/// What a caller asks of the manager.
#[derive(Debug, Clone)]
pub enum Command {
    /// Start the session's runtime (stopping the one it has, if any).
    Connect {
        session: SessionId,
        /// Boxed: a configuration is large, and commands travel by value.
        config: Box<RuntimeConfig>,
    },
    /// Stop the session's runtime: `stop`, a grace period, then SIGKILL.
    Disconnect {
        session: SessionId,
    },
    /// Disconnect, then start afresh with the same configuration.
    Reconnect {
        session: SessionId,
    },
    /// Evaluate code; answered by exactly one `EvaluationFinished`. While the
    /// runtime is starting, evaluations wait and are sent once it is ready.
    Evaluate {
        session: SessionId,
        evaluation: Evaluation,
    },
    /// Evaluate code of a branching section (Livebook's): the runtime starts
    /// it at once, beside the main flow, where it can (the Elixir agent);
    /// others run it in order. Answered like `Evaluate`.
    EvaluateBranch {
        session: SessionId,
        evaluation: Evaluation,
    },
    ForgetEvaluation {
        session: SessionId,
        container: String,
        evaluation_ref: String,
    },
    DropContainer {
        session: SessionId,
        container: String,
    },
    /// Stop the running evaluation; if it does not stop within the grace
    /// period, `InterruptUnanswered` offers a hard kill.
    Interrupt {
        session: SessionId,
    },
    /// Answers the running evaluation's `InputRequested`: a line (without its
    /// newline), or `None` for end of input.
    Input {
        session: SessionId,
        value: Option<String>,
    },
    /// Kill the runtime's process group at once (after an unanswered interrupt).
    Kill {
        session: SessionId,
    },
    /// Ask for a `Memory` event.
    Memory {
        session: SessionId,
    },
    /// What could be typed at the cursor, from the live runtime: answered by
    /// exactly one `Completions` with the request's id, while an evaluation
    /// runs too. Best effort: a runtime that is not connected, a request the
    /// runtime does not answer within [`QUERY_TIMEOUT`], code over
    /// [`crate::protocol::MAX_QUERY_CODE`] characters all get an empty
    /// answer; nothing waits for a runtime to start. Number requests
    /// upwards and drop an answer that is not for the latest.
    Complete {
        session: SessionId,
        request: CompletionRequest,
    },
    /// The signature and documentation of the name under the cursor:
    /// answered by exactly one `Documentation`, on the same terms as
    /// `Complete`. `detail` 1 adds the source where there is one.
    Inspect {
        session: SessionId,
        request: CompletionRequest,
        detail: u8,
    },
    /// Stop every runtime; the manager thread then ends.
    Shutdown,
    /// Makes the manager thread panic, to test what a failure of the engine
    /// looks like. Not for anything else.
    #[doc(hidden)]
    InjectPanic,
}

/// How long a runtime has to answer a `Complete` or `Inspect` before the
/// manager answers it empty (a Jupyter kernel that is executing answers only
/// once it is done: see docs/architecture.md).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Called after each batch of events (e.g. `egui::Context::request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The handle to the manager thread. Dropping it stops every runtime.
pub struct Manager {
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error("the manager thread could not be started: {0}")]
    Start(#[from] std::io::Error),
}

impl Manager {
    /// Starts the manager thread.
    pub fn start(waker: Waker) -> Result<Manager, ManagerError> {
        let (command_tx, command_rx) = tokio::sync::mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // One thread, living as long as the manager: every child is spawned
        // from it, so their parent-death signal fires exactly when it ends.
        let thread = std::thread::Builder::new()
            .name("runyard-manager".into())
            .spawn(move || {
                let sink = events::EventSink::new(event_tx.clone(), waker.clone());
                let run = std::panic::AssertUnwindSafe(|| runtime.block_on(worker::run(command_rx, sink)));
                // Unwinding dropped the worker and with it every lifeline, so
                // the supervisors are already killing the runtimes.
                if let Err(panic) = std::panic::catch_unwind(run) {
                    let cause = panic_message(panic.as_ref());
                    tracing::error!("the manager thread failed: {cause}");
                    let message = format!(
                        "Runyard's runtime manager failed ({cause}) and every runtime was stopped. \
                         Save your notebooks and restart Runyard."
                    );
                    let _ = event_tx.send(Event::ManagerFailed { message });
                    waker();
                }
            })?;
        Ok(Manager {
            commands: command_tx,
            events: event_rx,
            thread: Some(thread),
        })
    }

    /// A manager whose waker does nothing: for tests and headless use, which
    /// wait on [`Manager::recv_timeout`] instead.
    pub fn start_headless() -> Result<Manager, ManagerError> {
        Self::start(Arc::new(|| {}))
    }

    /// Sends a command; never blocks. After shutdown, commands are ignored.
    pub fn send(&self, command: Command) {
        if self.commands.send(command).is_err() {
            tracing::debug!("command sent after the manager stopped");
        }
    }

    pub fn connect(&self, session: SessionId, config: RuntimeConfig) {
        self.send(Command::Connect {
            session,
            config: Box::new(config),
        });
    }

    pub fn evaluate(&self, session: SessionId, evaluation: Evaluation) {
        self.send(Command::Evaluate { session, evaluation });
    }

    /// [`Command::EvaluateBranch`].
    pub fn evaluate_branch(&self, session: SessionId, evaluation: Evaluation) {
        self.send(Command::EvaluateBranch { session, evaluation });
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// The next event, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The next event within `timeout`, telling a quiet manager
    /// (`Timeout`) from one whose thread is gone (`Disconnected`).
    pub fn recv_event(&self, timeout: Duration) -> Result<Event, mpsc::RecvTimeoutError> {
        self.events.recv_timeout(timeout)
    }

    /// Stops every runtime (each gets its grace period) and waits for the
    /// manager thread to end.
    pub fn shutdown(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        self.send(Command::Shutdown);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the manager thread ended abnormally");
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
