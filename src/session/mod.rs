//! A session: its runtime's state, its cells and their evaluation queue, as
//! plain data. The window and the tests drive it the same way: user actions
//! and manager events go in, commands for the manager come out. No I/O here.

mod cell;
pub mod output;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use cell::{Cell, CellId, CellResult, CellState, format_duration};

use crate::manager::{Command, DisconnectReason, Evaluation, Event, NodeInfo, Outcome, SessionId};
use crate::protocol::MemoryUsage;
use crate::runtime::{ExitInfo, InitError, RuntimeConfig};
use output::OutputBuffer;

/// The container (evaluation flow) of the session's cells.
pub const CONTAINER: &str = "main";

#[derive(Debug, Clone)]
pub enum RuntimeState {
    Disconnected,
    Starting {
        node: Option<String>,
        pid: Option<u32>,
        since: Instant,
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

#[derive(Debug)]
pub struct Session {
    pub id: SessionId,
    pub name: String,
    pub config: RuntimeConfig,
    pub runtime: RuntimeState,
    pub banner: Option<Banner>,
    pub cells: Vec<Cell>,
    /// Output not tied to a cell: stray bytes, background threads.
    pub runtime_output: OutputBuffer,
    /// The last few warnings from the runtime (bad frames, agent diagnostics).
    pub warnings: VecDeque<String>,
    /// An interrupt was not answered: offer a hard kill.
    pub interrupt_unanswered: bool,
    queue: VecDeque<CellId>,
    running: Option<CellId>,
    next_cell: u64,
    evaluation_count: u64,
}

const MAX_WARNINGS: usize = 20;

impl Session {
    pub fn new(id: SessionId, name: impl Into<String>, config: RuntimeConfig) -> Session {
        Session {
            id,
            name: name.into(),
            config,
            runtime: RuntimeState::Disconnected,
            banner: None,
            cells: Vec::new(),
            runtime_output: OutputBuffer::default(),
            warnings: VecDeque::new(),
            interrupt_unanswered: false,
            queue: VecDeque::new(),
            running: None,
            next_cell: 1,
            evaluation_count: 0,
        }
    }

    pub fn status(&self) -> Status {
        match &self.runtime {
            RuntimeState::Disconnected => Status::Disconnected,
            RuntimeState::Starting { .. } => Status::Starting,
            RuntimeState::Connected { .. } if self.running.is_some() => Status::Evaluating,
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

    pub fn can_connect(&self) -> bool {
        matches!(
            self.status(),
            Status::Disconnected | Status::NodeDown | Status::InitFailed
        )
    }

    pub fn can_disconnect(&self) -> bool {
        matches!(self.status(), Status::Starting | Status::Idle | Status::Evaluating)
    }

    pub fn can_reconnect(&self) -> bool {
        matches!(self.status(), Status::Idle | Status::Evaluating | Status::NodeDown)
    }

    pub fn can_interrupt(&self) -> bool {
        self.running.is_some() || !self.queue.is_empty()
    }

    // --- User actions: each returns the commands to send. ---

    pub fn connect(&mut self) -> Vec<Command> {
        self.banner = None;
        self.interrupt_unanswered = false;
        self.runtime = RuntimeState::Starting {
            node: None,
            pid: None,
            since: Instant::now(),
        };
        vec![Command::Connect {
            session: self.id,
            config: self.config.clone(),
        }]
    }

    pub fn reconnect(&mut self) -> Vec<Command> {
        self.connect()
    }

    pub fn disconnect(&mut self) -> Vec<Command> {
        vec![Command::Disconnect { session: self.id }]
    }

    /// Stops the running cell and unqueues the rest.
    pub fn interrupt(&mut self) -> Vec<Command> {
        self.unqueue_all();
        if self.running.is_some() {
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

    pub fn dismiss_banner(&mut self) {
        self.banner = None;
    }

    pub fn add_cell(&mut self, code: impl Into<String>) -> CellId {
        let id = CellId(self.next_cell);
        self.next_cell += 1;
        self.cells.push(Cell::new(id, code.into()));
        id
    }

    pub fn cell(&self, id: CellId) -> Option<&Cell> {
        self.cells.iter().find(|c| c.id == id)
    }

    fn index(&self, id: CellId) -> Option<usize> {
        self.cells.iter().position(|c| c.id == id)
    }

    /// Changes a cell's code; an evaluated cell and every evaluated cell
    /// below it become stale.
    pub fn set_code(&mut self, id: CellId, code: String) {
        let Some(index) = self.index(id) else { return };
        if self.cells[index].code == code {
            return;
        }
        self.cells[index].code = code;
        if self.cells[index].is_evaluated() {
            self.cells[index].state = CellState::Stale;
            self.mark_stale_from(index + 1);
        }
    }

    /// Deletes a cell. If it was evaluated, its context is forgotten in the
    /// runtime and the cells below become stale; a running cell is interrupted.
    pub fn delete_cell(&mut self, id: CellId) -> Vec<Command> {
        let Some(index) = self.index(id) else { return Vec::new() };
        let mut commands = Vec::new();
        if self.running == Some(id) {
            commands.extend(self.interrupt());
        }
        self.queue.retain(|q| *q != id);
        let cell = self.cells.remove(index);
        if cell.is_evaluated() || self.running == Some(id) {
            self.mark_stale_from(index);
            if matches!(self.runtime, RuntimeState::Connected { .. }) {
                commands.push(Command::ForgetEvaluation {
                    session: self.id,
                    container: CONTAINER.into(),
                    evaluation_ref: cell.evaluation_ref(),
                });
            }
        }
        commands
    }

    /// Queues a cell, and before it every cell above that is not up to date.
    /// Starts the runtime first if there is none (lazy start, as in Livebook).
    pub fn evaluate(&mut self, id: CellId) -> Vec<Command> {
        let Some(index) = self.index(id) else { return Vec::new() };
        for i in 0..=index {
            let cell = &self.cells[i];
            let waiting = self.running == Some(cell.id) || self.queue.contains(&cell.id);
            if !waiting && (i == index || !cell.is_up_to_date()) {
                let id = cell.id;
                self.cells[i].queue();
                self.queue.push_back(id);
            }
        }
        self.start_or_pump()
    }

    /// Queues every cell that is not up to date.
    pub fn evaluate_all(&mut self) -> Vec<Command> {
        match self.cells.iter().rposition(|c| !c.is_up_to_date()) {
            Some(last) => self.evaluate(self.cells[last].id),
            None => Vec::new(),
        }
    }

    fn start_or_pump(&mut self) -> Vec<Command> {
        match self.runtime {
            RuntimeState::Disconnected | RuntimeState::NodeDown { .. } | RuntimeState::InitFailed => self.connect(),
            RuntimeState::Starting { .. } => Vec::new(),
            RuntimeState::Connected { .. } => self.pump(),
        }
    }

    /// Sends the next queued cell when nothing runs.
    fn pump(&mut self) -> Vec<Command> {
        if self.running.is_some() || !matches!(self.runtime, RuntimeState::Connected { .. }) {
            return Vec::new();
        }
        let Some(id) = self.queue.pop_front() else {
            return Vec::new();
        };
        let index = self.index(id).expect("queued cells exist");
        let prev = self.cells[..index].last().map(|c| c.evaluation_ref());
        self.mark_stale_from(index + 1);
        self.evaluation_count += 1;
        let cell = &mut self.cells[index];
        cell.start(self.evaluation_count);
        self.running = Some(id);
        vec![Command::Evaluate {
            session: self.id,
            evaluation: Evaluation {
                container: CONTAINER.into(),
                evaluation_ref: cell.evaluation_ref(),
                prev_evaluation_ref: prev,
                code: cell.code.clone(),
                file: format!("cell {}", index + 1),
            },
        }]
    }

    fn mark_stale_from(&mut self, start: usize) {
        for cell in &mut self.cells[start..] {
            if cell.is_evaluated() {
                cell.state = CellState::Stale;
            }
        }
    }

    fn unqueue_all(&mut self) {
        for id in std::mem::take(&mut self.queue) {
            if let Some(index) = self.index(id) {
                let cell = &mut self.cells[index];
                cell.state = cell.state_before_queue();
            }
        }
    }

    /// After the runtime went away: no cell is backed by a context any more.
    fn contexts_lost(&mut self, evaluated_become: CellState) {
        self.unqueue_all();
        self.running = None;
        self.interrupt_unanswered = false;
        for cell in &mut self.cells {
            if cell.is_evaluated() || matches!(cell.state, CellState::Evaluating { .. } | CellState::Stale) {
                cell.state = evaluated_become.clone();
            }
        }
    }

    fn cell_by_ref(&mut self, evaluation_ref: &str) -> Option<&mut Cell> {
        let id = CellId::from_ref(evaluation_ref)?;
        self.cells.iter_mut().find(|c| c.id == id)
    }

    /// Applies a manager event; returns the commands it leads to (the next
    /// queued cell, say).
    pub fn apply(&mut self, event: &Event) -> Vec<Command> {
        match event {
            Event::Starting { node, pid, .. } => {
                self.runtime = RuntimeState::Starting {
                    node: Some(node.clone()),
                    pid: Some(*pid),
                    since: Instant::now(),
                };
            }
            Event::Connected { info, .. } => {
                self.runtime = RuntimeState::Connected {
                    info: info.clone(),
                    since: Instant::now(),
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
                Some(cell) => cell.output.push(*stream, text),
                None => self.runtime_output.push(*stream, text),
            },
            Event::StrayOutput { text, .. } => self.runtime_output.push(crate::protocol::Stream::Stdout, text),
            Event::EvaluationFinished {
                evaluation_ref,
                outcome,
                duration,
                ..
            } => {
                if self.running.is_some_and(|id| id.evaluation_ref() == *evaluation_ref) {
                    self.running = None;
                    self.interrupt_unanswered = false;
                }
                let stop_queue = !matches!(outcome, Outcome::Ok { .. } | Outcome::Error(_));
                if let Some(cell) = self.cell_by_ref(evaluation_ref) {
                    cell.finish(outcome, *duration);
                }
                if stop_queue {
                    self.unqueue_all();
                }
                return self.pump();
            }
            Event::InterruptUnanswered { .. } => self.interrupt_unanswered = true,
            Event::Memory { usage, .. } => {
                if let RuntimeState::Connected { memory, .. } = &mut self.runtime {
                    *memory = Some(usage.clone());
                }
            }
            Event::NodeDown {
                node,
                exit,
                stderr_tail,
                ..
            } => {
                self.runtime = RuntimeState::NodeDown {
                    node: node.clone(),
                    exit: *exit,
                };
                self.contexts_lost(CellState::Aborted);
                self.banner = Some(Banner {
                    kind: BannerKind::NodeDown,
                    message: format!("The runtime node terminated unexpectedly with {exit}."),
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

fn init_banner(error: &InitError, command: &str) -> Banner {
    let message = capitalise(&error.to_string());
    let mut detail = detail_text(error.stderr_tail().unwrap_or(""), Some(command));
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

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
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
