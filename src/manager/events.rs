use std::cell::Cell;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{SessionId, Waker};
use crate::protocol::{Bundle, Completion, EvalError, MemoryUsage, Stream};
use crate::runtime::{ExitInfo, InitError};

/// What the manager reports. Per session, events arrive in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A runtime process was started; the handshake is under way.
    Starting {
        session: SessionId,
        node: String,
        pid: u32,
        command: String,
    },
    /// The runtime is ready. It holds no evaluations yet: every context of an
    /// earlier runtime of this session is gone.
    Connected {
        session: SessionId,
        info: NodeInfo,
    },
    /// What Slurm says of the runtime's job: while it waits (every second,
    /// with its reason and the time waited), when it starts running, and
    /// now and then while it runs (time left).
    Job {
        session: SessionId,
        job: crate::remote::JobInfo,
    },
    /// The runtime could not be started.
    InitFailed {
        session: SessionId,
        error: InitError,
        command: String,
    },
    /// Output written by an evaluation (`evaluation_ref`), or between evaluations.
    Output {
        session: SessionId,
        evaluation_ref: Option<String>,
        stream: Stream,
        text: String,
    },
    /// A rich output of an evaluation (`evaluation_ref`), or between
    /// evaluations. With `update`, it replaces the earlier outputs with its
    /// `display_id` instead of adding one.
    Display {
        session: SessionId,
        evaluation_ref: Option<String>,
        bundle: std::sync::Arc<Bundle>,
        display_id: Option<String>,
        update: bool,
    },
    /// An evaluation waits for a line of input: answer with `Command::Input`.
    InputRequested {
        session: SessionId,
        evaluation_ref: Option<String>,
        prompt: String,
        password: bool,
    },
    /// Bytes the runtime wrote outside the protocol's frames.
    StrayOutput {
        session: SessionId,
        text: String,
    },
    /// The one answer to each `Evaluate`.
    EvaluationFinished {
        session: SessionId,
        evaluation_ref: String,
        outcome: Outcome,
        /// Time spent evaluating in the runtime (zero if it never ran).
        duration: Duration,
    },
    /// An interrupt was not answered within the grace period: offer `Kill`.
    InterruptUnanswered {
        session: SessionId,
        evaluation_ref: String,
    },
    Memory {
        session: SessionId,
        usage: MemoryUsage,
    },
    /// The one answer to `Command::Complete` `id`: replace the characters
    /// `start..end` of the request's code (code points) by one of `matches`
    /// (best first, at most 500). Empty when the runtime had nothing, was
    /// not connected, or did not answer in time.
    Completions {
        session: SessionId,
        id: u64,
        start: usize,
        end: usize,
        matches: Vec<Completion>,
    },
    /// The one answer to `Command::Inspect` `id`: with `found`, `bundle` has
    /// the signature and documentation as `text/plain` (and `text/markdown`
    /// where the runtime's docs are Markdown); without, only an empty
    /// `text/plain`.
    Documentation {
        session: SessionId,
        id: u64,
        found: bool,
        bundle: Bundle,
    },
    /// The runtime is being prepared before it can answer (the Elixir agent
    /// compiling on a first start): the init timeout waits meanwhile.
    Preparing {
        session: SessionId,
        message: String,
    },
    /// The runtime ended without being asked to. Its contexts are gone.
    NodeDown {
        session: SessionId,
        node: String,
        exit: ExitInfo,
        /// What ended it, as far as Runyard can tell.
        cause: DownCause,
        stderr_tail: String,
        /// The crash dump it left (Elixir's `erl_crash.dump`), if any.
        crash_dump: Option<PathBuf>,
    },
    /// The runtime was stopped as asked. Its contexts are gone.
    Disconnected {
        session: SessionId,
        node: String,
        reason: DisconnectReason,
    },
    /// Something the user may want to know that changes no state (a bad
    /// frame from the runtime, a diagnostic from the agent).
    Warning {
        session: SessionId,
        message: String,
    },
    /// The manager itself failed and stopped; every runtime was stopped with
    /// it. Nothing more will come, and commands are ignored.
    ManagerFailed {
        message: String,
    },
}

impl Event {
    pub fn session(&self) -> Option<SessionId> {
        match self {
            Event::Starting { session, .. }
            | Event::Connected { session, .. }
            | Event::Job { session, .. }
            | Event::InitFailed { session, .. }
            | Event::Output { session, .. }
            | Event::Display { session, .. }
            | Event::InputRequested { session, .. }
            | Event::StrayOutput { session, .. }
            | Event::EvaluationFinished { session, .. }
            | Event::InterruptUnanswered { session, .. }
            | Event::Memory { session, .. }
            | Event::Completions { session, .. }
            | Event::Documentation { session, .. }
            | Event::NodeDown { session, .. }
            | Event::Disconnected { session, .. }
            | Event::Preparing { session, .. }
            | Event::Warning { session, .. } => Some(*session),
            Event::ManagerFailed { .. } => None,
        }
    }
}

/// A connected runtime node, as the handshake described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub name: String,
    pub pid: u32,
    pub language: String,
    pub language_version: String,
    /// The real interpreter (a shim or wrapper resolved).
    pub executable: String,
    pub kind: String,
    pub cookie: Option<String>,
    /// The SSH host it runs on (or whose `srun` started it).
    pub host: Option<String>,
    /// Its Slurm job, when it is a job step.
    pub job: Option<crate::remote::JobInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `value`: the last expression's value as a bundle, if any.
    Ok {
        value: Option<Bundle>,
    },
    Error(EvalError),
    /// Stopped by an interrupt; where it stopped, if the runtime said.
    Interrupted(Option<EvalError>),
    /// Never finished: the runtime went away or never started.
    Aborted {
        reason: String,
    },
}

/// What ended a runtime that nobody asked to stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DownCause {
    /// It exited, or a signal killed it; the exit status says which.
    Ended,
    /// The kernel's out-of-memory killer killed it (a SIGKILL while the OOM
    /// kill count of its memory cgroup went up). `peak_rss`: its largest
    /// resident memory, in bytes.
    OutOfMemory { peak_rss: Option<u64> },
    /// It closed its protocol channel and did not exit; Runyard killed it.
    ChannelClosed,
    /// Its supervisor ended unexpectedly (`exit` is the supervisor's); Runyard
    /// killed the runtime.
    SupervisorLost,
    /// The SSH connection to `host` broke (keep-alives unanswered, the
    /// network gone, the host rebooted).
    ConnectionLost { host: String, detail: String },
    /// Slurm ended the job: its time limit, a preemption, memory, a node failure.
    Slurm { job_id: String, reason: String },
}

impl DownCause {
    /// For a banner or an error line: the cause, and the crash dump if one was left.
    pub fn describe_with_dump(&self, exit: &ExitInfo, crash_dump: Option<&std::path::Path>) -> String {
        match crash_dump {
            Some(dump) => format!("{} It left a crash dump: {}", self.describe(exit), dump.display()),
            None => self.describe(exit),
        }
    }

    /// One sentence for a banner or an error line.
    pub fn describe(&self, exit: &ExitInfo) -> String {
        match self {
            DownCause::Ended => format!("The runtime node terminated unexpectedly with {exit}."),
            DownCause::OutOfMemory { peak_rss } => {
                let peak = peak_rss.map_or(String::new(), |bytes| {
                    format!(" at {:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
                });
                format!("The runtime node ran out of memory: the kernel's OOM killer ended it{peak} ({exit}).")
            }
            DownCause::ChannelClosed => {
                "The runtime closed its protocol channel (its stdout), so Runyard stopped it.".to_string()
            }
            DownCause::SupervisorLost => format!(
                "The runtime's supervisor process ended unexpectedly with {exit}, so Runyard stopped the runtime."
            ),
            DownCause::ConnectionLost { host, detail } if detail.is_empty() => format!("Connection to {host} lost."),
            DownCause::ConnectionLost { host, detail } => format!("Connection to {host} lost: {detail}."),
            DownCause::Slurm { job_id, reason } => format!("Slurm ended job {job_id}: {reason}."),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisconnectReason {
    /// `Disconnect`.
    Requested,
    /// `Reconnect` (a `Starting` follows).
    Reconnect,
    /// `Kill` after an unanswered interrupt.
    Killed,
    /// The manager shut down.
    Shutdown,
}

/// Sends events and calls the waker once per batch.
pub(super) struct EventSink {
    tx: mpsc::Sender<Event>,
    waker: Waker,
    pending_wake: Cell<bool>,
}

impl EventSink {
    pub fn new(tx: mpsc::Sender<Event>, waker: Waker) -> Self {
        EventSink {
            tx,
            waker,
            pending_wake: Cell::new(false),
        }
    }

    pub fn send(&self, event: Event) {
        // A dropped receiver means nobody listens any more; that is fine.
        let _ = self.tx.send(event);
        self.pending_wake.set(true);
    }

    /// Ends a batch: wakes the caller if anything was sent since the last one.
    pub fn flush(&self) {
        if self.pending_wake.replace(false) {
            (self.waker)();
        }
    }
}
