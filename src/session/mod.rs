//! A session: its runtime's state, its cells and their evaluation queue, as
//! plain data. The window and the tests drive it the same way: user actions
//! and manager events go in, commands for the manager come out. No I/O here.

mod assist;
mod cell;
pub mod document;
mod edit;
pub mod find;
pub mod output;
pub mod outputs;
mod queue;

use crate::text::capitalise;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use assist::{Completions, Documentation};
pub use cell::{Cell, CellId, CellKind, CellResult, CellState, format_duration};
pub use edit::{Section, SectionId};

use crate::manager::{Command, DisconnectReason, Event, NodeInfo, Outcome, SessionId};
use crate::protocol::MemoryUsage;
use crate::runtime::{ExitInfo, InitError, RuntimeConfig};
use output::OutputBuffer;
use outputs::Display;

#[derive(Debug, Clone)]
pub enum RuntimeState {
    Disconnected,
    Starting {
        node: Option<String>,
        pid: Option<u32>,
        since: Instant,
        /// What the runtime said it is doing first ("compiling the Elixir agent").
        preparing: Option<String>,
        /// Its Slurm job, while it waits for resources or starts.
        job: Option<crate::remote::JobInfo>,
    },
    Connected {
        info: NodeInfo,
        since: Instant,
        memory: Option<MemoryUsage>,
    },
    NodeDown {
        node: String,
        exit: ExitInfo,
    },
    InitFailed,
}

/// What the sessions list shows, as a word and a colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Disconnected,
    Starting,
    Idle,
    Evaluating,
    NodeDown,
    InitFailed,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Disconnected => "disconnected",
            Status::Starting => "starting",
            Status::Idle => "connected",
            Status::Evaluating => "evaluating",
            Status::NodeDown => "node down",
            Status::InitFailed => "init failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BannerKind {
    InitError,
    NodeDown,
    /// Nothing here can run the notebook (its kernel is not installed):
    /// nothing starts until a runtime is chosen.
    NoRuntime,
}

/// A failure shown at the top of the session until dismissed or replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Banner {
    pub kind: BannerKind,
    /// One sentence.
    pub message: String,
    /// The stderr tail and the command line.
    pub detail: String,
}

/// What a running evaluation asked to be typed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRequest {
    /// The cell that asked (none: code running between evaluations).
    pub cell: Option<CellId>,
    pub prompt: String,
    /// Not echoed (`getpass`).
    pub password: bool,
}

#[derive(Debug)]
pub struct Session {
    pub id: SessionId,
    pub name: String,
    pub config: RuntimeConfig,
    pub runtime: RuntimeState,
    pub banner: Option<Banner>,
    /// The notebook: sections of cells; each section is one container.
    pub sections: Vec<Section>,
    /// Output not tied to a cell: stray bytes, background threads.
    pub runtime_output: OutputBuffer,
    /// The last few warnings from the runtime (bad frames, agent diagnostics).
    pub warnings: VecDeque<String>,
    /// An interrupt was not answered: offer a hard kill.
    pub interrupt_unanswered: bool,
    /// An evaluation waiting for a line of input (`input()`, `IO.gets`).
    pub input: Option<InputRequest>,
    /// How values are displayed (the window's width, the settings' caps),
    /// sent with each evaluation.
    pub display_options: crate::protocol::DisplayOptions,
    /// Evaluating a cell first evaluates the code cells above it that are not
    /// up to date (Livebook's way); off, only the cell runs (Jupyter's way),
    /// and the stale marks say what that leaves out of date.
    pub evaluate_above: bool,
    queue: VecDeque<CellId>,
    running: Option<CellId>,
    /// Cells of branching sections running beside the main flow (one per
    /// branch at most).
    branch_running: Vec<CellId>,
    /// Livebook's branching sections: each branch's parent section.
    branch_parents: std::collections::HashMap<SectionId, SectionId>,
    next_id: u64,
    next_section: u64,
    evaluation_count: u64,
    /// The last deletions, newest last, for undo.
    deleted: Vec<edit::Deleted>,
    /// Counts changes to the notebook (edits, outputs); compared with the
    /// revision last saved to tell unsaved changes.
    revision: u64,
    saved_revision: u64,
    /// The notebook file this session was opened from or saved to.
    pub file: Option<std::path::PathBuf>,
    /// What the file held that the session does not show (metadata, cell ids,
    /// outputs of cells not re-run), written back on save.
    document: document::Document,
    /// Why no runtime here can run this notebook (its kernel is not
    /// installed): set, nothing starts and evaluation is refused until a
    /// runtime is chosen ([`Session::choose_runtime`]).
    pub unavailable: Option<String>,
    /// The runtime chosen for this notebook, remembered in its file on save.
    pub runtime_choice: Option<crate::kernels::Choice>,
    /// Where the model reads the time (start-up and evaluation durations
    /// shown while they run); injected so that its tests are deterministic.
    clock: Clock,
    /// Completion and documentation asked of the runtime, and their answers.
    assist: assist::Assist,
}

/// The model's clock: `Instant::now` unless a test sets another.
pub type Clock = fn() -> Instant;

const MAX_WARNINGS: usize = 20;

impl Session {
    pub fn new(id: SessionId, name: impl Into<String>, config: RuntimeConfig) -> Session {
        Session {
            id,
            name: name.into(),
            config,
            runtime: RuntimeState::Disconnected,
            banner: None,
            sections: Vec::new(),
            runtime_output: OutputBuffer::default(),
            warnings: VecDeque::new(),
            interrupt_unanswered: false,
            display_options: crate::protocol::DisplayOptions::default(),
            evaluate_above: true,
            input: None,
            queue: VecDeque::new(),
            running: None,
            branch_running: Vec::new(),
            branch_parents: std::collections::HashMap::new(),
            next_id: 1,
            next_section: 0,
            evaluation_count: 0,
            deleted: Vec::new(),
            revision: 0,
            saved_revision: 0,
            file: None,
            document: document::Document::default(),
            unavailable: None,
            runtime_choice: None,
            clock: Instant::now,
            assist: assist::Assist::default(),
        }
    }

    /// Marks the notebook as one no runtime here can run, and says why
    /// (`message`: one sentence, e.g. "kernel 'ir' is not installed here").
    pub fn set_unavailable(&mut self, message: &str) {
        self.unavailable = Some(message.to_string());
        self.banner = Some(no_runtime_banner(message));
    }

    /// A runtime was chosen for the notebook (in Configure): it replaces the
    /// one it had, clears a missing kernel, and is remembered in the file
    /// at the next save (`choice`, when it is one a file can name).
    pub fn choose_runtime(&mut self, config: RuntimeConfig, choice: Option<crate::kernels::Choice>) {
        if config.place != self.config.place {
            // The file remembers where the notebook runs: it changed.
            self.revision += 1;
        }
        self.config = config;
        if self.unavailable.take().is_some() && self.banner.as_ref().is_some_and(|b| b.kind == BannerKind::NoRuntime) {
            self.banner = None;
        }
        if choice.is_some() && choice != self.runtime_choice {
            self.runtime_choice = choice;
            self.revision += 1;
        }
    }

    /// Replaces the clock the model reads (for tests that need time to
    /// stand still or jump).
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// True when the notebook changed since it was last saved (or created).
    pub fn is_dirty(&self) -> bool {
        self.revision != self.saved_revision
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Records that the notebook as of `revision` is saved.
    pub fn mark_saved(&mut self, revision: u64) {
        self.saved_revision = revision;
    }

    pub fn status(&self) -> Status {
        match &self.runtime {
            RuntimeState::Disconnected => Status::Disconnected,
            RuntimeState::Starting { .. } => Status::Starting,
            RuntimeState::Connected { .. } if self.running.is_some() || !self.branch_running.is_empty() => {
                Status::Evaluating
            }
            RuntimeState::Connected { .. } => Status::Idle,
            RuntimeState::NodeDown { .. } => Status::NodeDown,
            RuntimeState::InitFailed => Status::InitFailed,
        }
    }

    pub fn node_info(&self) -> Option<&NodeInfo> {
        match &self.runtime {
            RuntimeState::Connected { info, .. } => Some(info),
            _ => None,
        }
    }

    /// The node's name while it has one (starting, connected or just down).
    pub fn node_name(&self) -> Option<&str> {
        match &self.runtime {
            RuntimeState::Starting { node, .. } => node.as_deref(),
            RuntimeState::Connected { info, .. } => Some(&info.name),
            RuntimeState::NodeDown { node, .. } => Some(node),
            _ => None,
        }
    }

    pub fn memory(&self) -> Option<&MemoryUsage> {
        match &self.runtime {
            RuntimeState::Connected { memory, .. } => memory.as_ref(),
            _ => None,
        }
    }

    pub fn uptime(&self, now: Instant) -> Option<Duration> {
        match &self.runtime {
            RuntimeState::Connected { since, .. } => Some(now.saturating_duration_since(*since)),
            _ => None,
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(
            self.runtime,
            RuntimeState::Starting { .. } | RuntimeState::Connected { .. }
        )
    }

    // --- Which action applies in which state. ---

    /// A node that went down is brought back with Reconnect (same settings),
    /// so Connect is offered only where there is nothing to reconnect.
    pub fn can_connect(&self) -> bool {
        matches!(self.status(), Status::Disconnected | Status::InitFailed)
    }

    pub fn can_disconnect(&self) -> bool {
        matches!(self.status(), Status::Starting | Status::Idle | Status::Evaluating)
    }

    pub fn can_reconnect(&self) -> bool {
        matches!(self.status(), Status::Idle | Status::Evaluating | Status::NodeDown)
    }

    pub fn can_interrupt(&self) -> bool {
        self.running.is_some() || !self.branch_running.is_empty() || !self.queue.is_empty()
    }

    // --- User actions: each returns the commands to send. ---

    pub fn connect(&mut self) -> Vec<Command> {
        if let Some(message) = &self.unavailable {
            // Never a runtime of another language in its place.
            self.banner = Some(no_runtime_banner(message));
            return Vec::new();
        }
        self.banner = None;
        self.interrupt_unanswered = false;
        self.runtime = RuntimeState::Starting {
            node: None,
            pid: None,
            since: (self.clock)(),
            preparing: None,
            job: None,
        };
        vec![Command::Connect {
            session: self.id,
            config: Box::new(self.config.clone()),
        }]
    }

    pub fn reconnect(&mut self) -> Vec<Command> {
        self.connect()
    }

    pub fn disconnect(&mut self) -> Vec<Command> {
        vec![Command::Disconnect { session: self.id }]
    }

    /// Stops the running cell and unqueues the rest.
    /// Answers the pending input request with `line` (`None`: end of input).
    /// The prompt and the line stay in the cell's output, as a terminal
    /// shows them (a password as dots).
    pub fn answer_input(&mut self, line: Option<String>) -> Vec<Command> {
        let Some(request) = self.input.take() else {
            return Vec::new();
        };
        let shown = match &line {
            Some(_) if request.password => "••••••••".to_string(),
            Some(line) => line.clone(),
            None => String::new(),
        };
        let echo = format!("{}{shown}\n", request.prompt);
        match request.cell.and_then(|id| self.cell_mut(id)) {
            Some(cell) => cell.output.push(crate::protocol::Stream::Stdout, &echo),
            None => self.runtime_output.push(crate::protocol::Stream::Stdout, &echo),
        }
        self.revision += 1;
        vec![Command::Input {
            session: self.id,
            value: line,
        }]
    }

    pub fn interrupt(&mut self) -> Vec<Command> {
        self.unqueue_all();
        self.input = None;
        // The runtime stops every running evaluation, the branches' too.
        if self.running.is_some() || !self.branch_running.is_empty() {
            vec![Command::Interrupt { session: self.id }]
        } else {
            Vec::new()
        }
    }

    pub fn kill(&mut self) -> Vec<Command> {
        self.interrupt_unanswered = false;
        vec![Command::Kill { session: self.id }]
    }

    pub fn request_memory(&self) -> Vec<Command> {
        match self.runtime {
            RuntimeState::Connected { .. } => vec![Command::Memory { session: self.id }],
            _ => Vec::new(),
        }
    }

    /// The manager stopped every runtime when it failed.
    pub fn manager_failed(&mut self, message: &str) {
        if !self.is_live() {
            return;
        }
        self.runtime = RuntimeState::Disconnected;
        self.contexts_lost(CellState::Aborted);
        self.banner = Some(Banner {
            kind: BannerKind::NodeDown,
            message: "The runtime was stopped because Runyard's runtime manager failed.".into(),
            detail: message.to_string(),
        });
    }

    pub fn dismiss_banner(&mut self) {
        self.banner = None;
    }

    /// Applies a manager event; returns the commands it leads to (the next
    /// queued cell, say).
    pub fn apply(&mut self, event: &Event) -> Vec<Command> {
        match event {
            Event::Starting { node, pid, .. } => {
                let since = match self.runtime {
                    RuntimeState::Starting { since, .. } => since,
                    _ => (self.clock)(),
                };
                self.runtime = RuntimeState::Starting {
                    node: Some(node.clone()),
                    pid: Some(*pid),
                    since,
                    preparing: None,
                    job: None,
                };
            }
            Event::Job { job, .. } => match &mut self.runtime {
                RuntimeState::Starting { job: slot, .. } => *slot = Some(job.clone()),
                RuntimeState::Connected { info, .. } => info.job = Some(job.clone()),
                _ => {}
            },
            Event::Preparing { message, .. } => {
                if let RuntimeState::Starting { preparing, .. } = &mut self.runtime {
                    *preparing = Some(message.clone());
                }
            }
            // The window shows this one itself: it concerns no one session.
            Event::ManagerFailed { .. } => {}
            Event::Connected { info, .. } => {
                self.runtime = RuntimeState::Connected {
                    info: info.clone(),
                    since: (self.clock)(),
                    memory: None,
                };
                if self.banner.as_ref().is_some_and(|b| b.kind == BannerKind::InitError) {
                    self.banner = None;
                }
                let mut commands = self.request_memory();
                commands.extend(self.pump());
                return commands;
            }
            Event::InitFailed { error, command, .. } => {
                self.runtime = RuntimeState::InitFailed;
                self.contexts_lost(CellState::Stale);
                self.banner = Some(init_banner(error, command));
            }
            Event::Output {
                evaluation_ref,
                stream,
                text,
                ..
            } => match evaluation_ref.as_deref().and_then(|r| self.cell_by_ref(r)) {
                Some(cell) => {
                    cell.output.push(*stream, text);
                    self.revision += 1;
                }
                None => self.runtime_output.push(*stream, text),
            },
            Event::Display {
                evaluation_ref,
                bundle,
                display_id,
                update,
                ..
            } => {
                self.revision += 1;
                if *update {
                    if let Some(id) = display_id {
                        for cell in self.sections.iter_mut().flat_map(|s| s.cells.iter_mut()) {
                            cell.output.update_display(id, bundle);
                        }
                    }
                } else {
                    let display = Display::new(bundle.clone(), display_id.clone());
                    match evaluation_ref.as_deref().and_then(|r| self.cell_by_ref(r)) {
                        Some(cell) => cell.output.push_display(display),
                        None => {
                            let text = format!("{}\n", display.text());
                            self.runtime_output.push(crate::protocol::Stream::Stdout, &text);
                        }
                    }
                }
            }
            Event::InputRequested {
                evaluation_ref,
                prompt,
                password,
                ..
            } => {
                let cell = evaluation_ref.as_deref().and_then(CellId::from_ref);
                self.input = Some(InputRequest {
                    cell,
                    prompt: prompt.clone(),
                    password: *password,
                });
            }
            Event::StrayOutput { text, .. } => self.runtime_output.push(crate::protocol::Stream::Stdout, text),
            Event::EvaluationFinished {
                evaluation_ref,
                outcome,
                duration,
                ..
            } => {
                self.revision += 1;
                self.input = None;
                if self.running.is_some_and(|id| id.evaluation_ref() == *evaluation_ref) {
                    self.running = None;
                    self.interrupt_unanswered = false;
                }
                self.branch_running.retain(|id| id.evaluation_ref() != *evaluation_ref);
                let stop_queue = !matches!(outcome, Outcome::Ok { .. } | Outcome::Error(_));
                let finished = CellId::from_ref(evaluation_ref);
                if let Some(cell) = self.cell_by_ref(evaluation_ref) {
                    cell.finish(outcome, *duration);
                }
                if let Some(id) = finished {
                    self.tell_truth_after(id);
                    if matches!(outcome, Outcome::Error(_)) {
                        self.skip_dependents_of(id);
                    }
                }
                if stop_queue {
                    self.unqueue_all();
                }
                return self.pump();
            }
            Event::InterruptUnanswered { .. } => self.interrupt_unanswered = true,
            Event::Completions {
                id,
                start,
                end,
                matches,
                ..
            } => self.completions_came(*id, *start, *end, matches),
            Event::Documentation { id, found, bundle, .. } => self.documentation_came(*id, *found, bundle),
            Event::Memory { usage, .. } => {
                if let RuntimeState::Connected { memory, .. } = &mut self.runtime {
                    *memory = Some(usage.clone());
                }
            }
            Event::NodeDown {
                node,
                exit,
                cause,
                stderr_tail,
                crash_dump,
                ..
            } => {
                self.runtime = RuntimeState::NodeDown {
                    node: node.clone(),
                    exit: *exit,
                };
                self.contexts_lost(CellState::Aborted);
                self.banner = Some(Banner {
                    kind: BannerKind::NodeDown,
                    message: cause.describe_with_dump(exit, crash_dump.as_deref()),
                    detail: detail_text(stderr_tail, None),
                });
            }
            Event::Disconnected { reason, .. } => {
                self.contexts_lost(CellState::Stale);
                if *reason != DisconnectReason::Reconnect {
                    self.runtime = RuntimeState::Disconnected;
                }
            }
            Event::Warning { message, .. } => {
                if self.warnings.len() == MAX_WARNINGS {
                    self.warnings.pop_front();
                }
                self.warnings.push_back(message.clone());
            }
        }
        Vec::new()
    }
}

fn no_runtime_banner(message: &str) -> Banner {
    Banner {
        kind: BannerKind::NoRuntime,
        message: format!("{}.", capitalise(message)),
        detail: "Choose a runtime for this notebook in its runtime settings: the Python environments and \
                 Jupyter kernels found on this computer are listed there."
            .into(),
    }
}

fn init_banner(error: &InitError, command: &str) -> Banner {
    let message = capitalise(&error.to_string());
    let stderr = error.stderr_tail().or_else(|| ssh_said(error)).unwrap_or("");
    let mut detail = detail_text(stderr, Some(command));
    if let InitError::ExecutableNotFound { searched, .. } = error {
        let dirs: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
        detail = format!("Searched: {}\n{detail}", dirs.join(":"));
    }
    Banner {
        kind: BannerKind::InitError,
        message: format!("{message}."),
        detail,
    }
}

/// What `ssh` wrote when it failed: its stderr, kept in the error.
fn ssh_said(error: &InitError) -> Option<&str> {
    match error {
        InitError::SshUnknownHost { detail, .. }
        | InitError::SshUnreachable { detail, .. }
        | InitError::SshAuthentication { detail, .. }
        | InitError::SshHostKeyUnknown { detail, .. }
        | InitError::SshHostKeyChanged { detail, .. }
        | InitError::SshFailed { detail, .. } => Some(detail.as_str()).filter(|d| !d.trim().is_empty()),
        _ => None,
    }
}

fn detail_text(stderr_tail: &str, command: Option<&str>) -> String {
    let mut detail = String::new();
    if !stderr_tail.trim().is_empty() {
        detail.push_str("Last lines on stderr:\n");
        detail.push_str(stderr_tail.trim_end());
        detail.push('\n');
    } else {
        detail.push_str("Nothing was written to stderr.\n");
    }
    if let Some(command) = command {
        detail.push_str("Command line: ");
        detail.push_str(command);
        detail.push('\n');
    }
    detail
}

#[cfg(test)]
mod tests;
