//! The manager's event loop: turns commands into runtime processes and
//! frames, and what the processes do into events.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::events::EventSink;
use super::node::{self, Internal, NodeId, NodeMsg};
use super::{Command, DisconnectReason, Evaluation, Event, NodeInfo, Outcome, SessionId};
use crate::protocol::{self, Decoded, FromAgent, Hello, LogLevel, PROTOCOL_VERSION, ResultStatus, ToAgent};
use crate::runtime::{self, InitError, RuntimeConfig, StderrTail};

/// How long an interrupted evaluation may take to stop before the user is
/// offered a hard kill.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);
/// How long a process that closed its protocol stream may live on.
const STDOUT_CLOSED_GRACE: Duration = Duration::from_millis(500);

pub(super) async fn run(mut commands: UnboundedReceiver<Command>, events: EventSink) {
    let (internal_tx, mut internal_rx) = unbounded_channel();
    let mut worker = Worker {
        events,
        internal: internal_tx,
        sessions: HashMap::new(),
        nodes: HashMap::new(),
        next_node: 1,
        resolved: HashMap::new(),
    };
    loop {
        tokio::select! {
            // Runtime traffic first: a flood of commands must not starve results.
            biased;
            Some((id, msg)) = internal_rx.recv() => {
                worker.on_node(id, msg);
                while let Ok((id, msg)) = internal_rx.try_recv() {
                    worker.on_node(id, msg);
                }
            }
            command = commands.recv() => match command {
                Some(Command::Shutdown) | None => break,
                Some(command) => worker.on_command(command),
            },
        }
        worker.events.flush();
    }
    worker.shutdown(&mut internal_rx).await;
    worker.events.flush();
}

struct Worker {
    events: EventSink,
    internal: UnboundedSender<Internal>,
    sessions: HashMap<SessionId, Slot>,
    nodes: HashMap<NodeId, Node>,
    next_node: NodeId,
    /// Wrapper scripts (a pyenv shim, say) resolved to the interpreter they ran,
    /// so that later starts skip the wrapper's cost.
    resolved: HashMap<PathBuf, PathBuf>,
}

/// A session's runtime settings and its current node, if any.
struct Slot {
    config: RuntimeConfig,
    node: Option<NodeId>,
}

struct Node {
    session: SessionId,
    name: String,
    pid: u32,
    phase: Phase,
    writer: UnboundedSender<Vec<u8>>,
    stderr: StderrTail,
    /// Evaluations sent and not yet answered, oldest first.
    in_flight: VecDeque<String>,
    interrupt_epoch: u64,
    /// What the agent said in an `init_error` frame before exiting.
    agent_init_error: Option<(String, String)>,
    /// The wrapper script this node was started through, to resolve once.
    script: Option<PathBuf>,
    kind: &'static str,
    command: String,
}

enum Phase {
    Starting {
        token: String,
        pending: Vec<ToAgent>,
        hello_timer: tokio::task::AbortHandle,
    },
    Connected,
    /// Detached from its session (disconnected, failed): only waiting to end.
    Leaving,
}

impl Worker {
    fn on_command(&mut self, command: Command) {
        match command {
            Command::Connect { session, config } => {
                self.detach_current(session, DisconnectReason::Reconnect);
                self.sessions.insert(session, Slot { config, node: None });
                self.start(session);
            }
            Command::Reconnect { session } => {
                if self.sessions.contains_key(&session) {
                    self.detach_current(session, DisconnectReason::Reconnect);
                    self.start(session);
                } else {
                    self.warn(session, "cannot reconnect: this session was never connected".into());
                }
            }
            Command::Disconnect { session } => self.detach_current(session, DisconnectReason::Requested),
            Command::Kill { session } => {
                if let Some(id) = self.current(session) {
                    runtime::kill_group(self.nodes[&id].pid);
                }
                self.detach_current(session, DisconnectReason::Killed);
            }
            Command::Evaluate { session, evaluation } => self.evaluate(session, evaluation),
            Command::ForgetEvaluation {
                session,
                container,
                evaluation_ref,
            } => self.send_or_queue(
                session,
                ToAgent::Forget {
                    container,
                    evaluation_ref,
                },
            ),
            Command::DropContainer { session, container } => {
                self.send_or_queue(session, ToAgent::DropContainer { container })
            }
            Command::Interrupt { session } => self.interrupt(session),
            Command::Memory { session } => {
                if let Some(node) = self.connected_node(session) {
                    node.send(&ToAgent::Memory);
                }
            }
            Command::Shutdown => unreachable!("handled by the loop"),
        }
    }

    fn current(&self, session: SessionId) -> Option<NodeId> {
        self.sessions.get(&session).and_then(|slot| slot.node)
    }

    fn connected_node(&mut self, session: SessionId) -> Option<&mut Node> {
        let id = self.current(session)?;
        self.nodes.get_mut(&id).filter(|n| matches!(n.phase, Phase::Connected))
    }

    fn start(&mut self, session: SessionId) {
        let config = self.sessions[&session].config.clone();
        let name = runtime::node_name(&config);
        let token = runtime::random_token();
        let launch = match runtime::plan(&config, &name, &token, &self.resolved) {
            Ok(launch) => launch,
            Err(error) => {
                let command = runtime::display_unplanned(&config, &name);
                return self.events.send(Event::InitFailed {
                    session,
                    error,
                    command,
                });
            }
        };
        let command = launch.display.clone();
        let spawned = match runtime::spawn_node(&launch, config.standalone()) {
            Ok(spawned) => spawned,
            Err(error) => {
                return self.events.send(Event::InitFailed {
                    session,
                    error,
                    command,
                });
            }
        };

        let id = self.next_node;
        self.next_node += 1;
        let (writer, frames) = unbounded_channel();
        tokio::spawn(node::write_frames(spawned.stdin, frames));
        let stderr = StderrTail::default();
        node::supervise(
            id,
            name.clone(),
            spawned.child,
            spawned.stdout,
            spawned.stderr,
            stderr.clone(),
            self.internal.clone(),
        );
        let hello_timer = node::after(config.init_timeout, id, NodeMsg::HelloTimeout, &self.internal);
        tracing::info!(%session, node = %name, pid = spawned.pid, %command, "starting runtime");
        self.events.send(Event::Starting {
            session,
            node: name.clone(),
            pid: spawned.pid,
            command: command.clone(),
        });
        self.nodes.insert(
            id,
            Node {
                session,
                name,
                pid: spawned.pid,
                phase: Phase::Starting {
                    token,
                    pending: Vec::new(),
                    hello_timer,
                },
                writer,
                stderr,
                in_flight: VecDeque::new(),
                interrupt_epoch: 0,
                agent_init_error: None,
                script: launch.wrapper,
                kind: config.kind_label(),
                command,
            },
        );
        if let Some(slot) = self.sessions.get_mut(&session) {
            slot.node = Some(id);
        }
    }

    fn evaluate(&mut self, session: SessionId, evaluation: Evaluation) {
        let Some(node) = self.current(session).and_then(|id| self.nodes.get_mut(&id)) else {
            self.events.send(Event::EvaluationFinished {
                session,
                evaluation_ref: evaluation.evaluation_ref,
                outcome: Outcome::Aborted {
                    reason: "the session has no runtime; connect first".into(),
                },
                duration: Duration::ZERO,
            });
            return;
        };
        node.in_flight.push_back(evaluation.evaluation_ref.clone());
        let message = ToAgent::Evaluate {
            container: evaluation.container,
            evaluation_ref: evaluation.evaluation_ref,
            prev_evaluation_ref: evaluation.prev_evaluation_ref,
            prev_container: evaluation.prev_container,
            code: evaluation.code,
            file: evaluation.file,
        };
        node.send_or_queue(message);
    }

    fn send_or_queue(&mut self, session: SessionId, message: ToAgent) {
        if let Some(node) = self.current(session).and_then(|id| self.nodes.get_mut(&id)) {
            node.send_or_queue(message);
        }
    }

    fn interrupt(&mut self, session: SessionId) {
        let Some(id) = self.current(session) else { return };
        let node = self.nodes.get_mut(&id).expect("a session's node is known");
        match &mut node.phase {
            Phase::Starting { pending, .. } => {
                // Nothing runs yet: interrupting unqueues what waits.
                pending.retain(|m| !matches!(m, ToAgent::Evaluate { .. }));
                for evaluation_ref in std::mem::take(&mut node.in_flight) {
                    self.events.send(Event::EvaluationFinished {
                        session,
                        evaluation_ref,
                        outcome: Outcome::Interrupted(None),
                        duration: Duration::ZERO,
                    });
                }
            }
            Phase::Connected if !node.in_flight.is_empty() => {
                node.send(&ToAgent::Interrupt);
                node.interrupt_epoch += 1;
                let epoch = node.interrupt_epoch;
                node::after(
                    INTERRUPT_GRACE,
                    id,
                    NodeMsg::InterruptGraceOver { epoch },
                    &self.internal,
                );
            }
            _ => {}
        }
    }

    /// Detaches the session's node (if any): its evaluations are aborted, it
    /// is told to stop, and it is killed if still there after the grace period.
    fn detach_current(&mut self, session: SessionId, reason: DisconnectReason) {
        let Some(slot) = self.sessions.get_mut(&session) else {
            return;
        };
        let Some(id) = slot.node.take() else { return };
        let grace = slot.config.stop_grace;
        let node = self.nodes.get_mut(&id).expect("a session's node is known");
        let why = match reason {
            DisconnectReason::Requested | DisconnectReason::Reconnect => "the runtime was disconnected",
            DisconnectReason::Killed => "the runtime was killed",
            DisconnectReason::Shutdown => "Runyard is shutting down",
        };
        let name = node.name.clone();
        node.send(&ToAgent::Stop);
        node.phase = Phase::Leaving;
        node::after(grace, id, NodeMsg::StopGraceOver, &self.internal);
        self.abort_in_flight(id, why);
        tracing::info!(%session, node = %name, ?reason, "disconnecting runtime");
        self.events.send(Event::Disconnected {
            session,
            node: name,
            reason,
        });
    }

    fn abort_in_flight(&mut self, id: NodeId, reason: &str) {
        let node = self.nodes.get_mut(&id).expect("known node");
        let session = node.session;
        for evaluation_ref in std::mem::take(&mut node.in_flight) {
            self.events.send(Event::EvaluationFinished {
                session,
                evaluation_ref,
                outcome: Outcome::Aborted { reason: reason.into() },
                duration: Duration::ZERO,
            });
        }
    }

    fn warn(&self, session: SessionId, message: String) {
        tracing::warn!(%session, "{message}");
        self.events.send(Event::Warning { session, message });
    }

    fn on_node(&mut self, id: NodeId, msg: NodeMsg) {
        let Some(node) = self.nodes.get_mut(&id) else { return };
        let session = node.session;
        match msg {
            NodeMsg::Decoded(items) => {
                for item in items {
                    self.on_decoded(id, item);
                }
            }
            NodeMsg::StdoutClosed => {
                if matches!(node.phase, Phase::Connected) {
                    node::after(STDOUT_CLOSED_GRACE, id, NodeMsg::StdoutClosedGraceOver, &self.internal);
                }
            }
            NodeMsg::StdoutClosedGraceOver | NodeMsg::StopGraceOver => runtime::kill_group(node.pid),
            NodeMsg::HelloTimeout => {
                if let Phase::Starting { .. } = node.phase {
                    runtime::kill_group(node.pid);
                    let timeout = self.sessions[&session].config.init_timeout;
                    let error = InitError::Timeout {
                        timeout,
                        stderr_tail: node.stderr.text(),
                    };
                    self.init_failed(id, error);
                }
            }
            NodeMsg::InterruptGraceOver { epoch } => {
                if matches!(node.phase, Phase::Connected)
                    && node.interrupt_epoch == epoch
                    && let Some(evaluation_ref) = node.in_flight.front().cloned()
                {
                    self.events.send(Event::InterruptUnanswered {
                        session,
                        evaluation_ref,
                    });
                }
            }
            NodeMsg::Exited(exit) => {
                // The leader is gone; whatever it spawned must go too.
                runtime::kill_group(node.pid);
                match node.phase {
                    Phase::Starting { .. } => {
                        let error = match &node.agent_init_error {
                            Some((reason, message)) => InitError::Agent {
                                reason: reason.clone(),
                                message: message.clone(),
                            },
                            None => InitError::ExitedEarly {
                                status: exit,
                                stderr_tail: node.stderr.text(),
                            },
                        };
                        self.init_failed(id, error);
                    }
                    Phase::Connected => {
                        if let Some(slot) = self.sessions.get_mut(&session) {
                            slot.node = None;
                        }
                        tracing::warn!(%session, node = %node.name, %exit, "runtime node down");
                        let event = Event::NodeDown {
                            session,
                            node: node.name.clone(),
                            exit,
                            stderr_tail: node.stderr.text(),
                        };
                        // Node down first: a caller learns why before its evaluations end.
                        self.events.send(event);
                        self.abort_in_flight(id, "the runtime node terminated unexpectedly");
                    }
                    Phase::Leaving => tracing::debug!(node = %node.name, %exit, "runtime ended"),
                }
                self.nodes.remove(&id);
            }
        }
    }

    /// Reports a failed start and detaches the node without a `Disconnected`.
    fn init_failed(&mut self, id: NodeId, error: InitError) {
        let node = self.nodes.get_mut(&id).expect("known node");
        let session = node.session;
        node.phase = Phase::Leaving;
        let command = node.command.clone();
        if let Some(slot) = self.sessions.get_mut(&session)
            && slot.node == Some(id)
        {
            slot.node = None;
        }
        self.abort_in_flight(id, "the runtime did not start");
        tracing::warn!(%session, %error, "runtime failed to start");
        self.events.send(Event::InitFailed {
            session,
            error,
            command,
        });
    }

    fn on_decoded(&mut self, id: NodeId, item: Decoded) {
        let Some(node) = self.nodes.get_mut(&id) else { return };
        let session = node.session;
        let attached = !matches!(node.phase, Phase::Leaving);
        match item {
            Decoded::Stray(text) => {
                tracing::debug!(node = %node.name, "stray output: {text:?}");
                if attached {
                    self.events.send(Event::StrayOutput { session, text });
                }
            }
            Decoded::Bad(error) => {
                if attached {
                    let message = format!("the runtime {} sent a bad frame: {error}", node.name);
                    self.warn(session, message);
                }
            }
            Decoded::Message(message) => match &mut node.phase {
                Phase::Starting { .. } => self.on_handshake(id, message),
                Phase::Connected => self.on_message(id, message),
                Phase::Leaving => {}
            },
        }
    }

    fn on_handshake(&mut self, id: NodeId, message: FromAgent) {
        let node = self.nodes.get_mut(&id).expect("known node");
        let Phase::Starting {
            token,
            pending,
            hello_timer,
        } = &mut node.phase
        else {
            return;
        };
        let hello = match message {
            FromAgent::Hello(hello) => hello,
            FromAgent::InitError { reason, message } => {
                node.agent_init_error = Some((reason, message));
                return;
            }
            FromAgent::Log { level, message } => {
                tracing::info!(node = %node.name, ?level, "{message}");
                return;
            }
            other => {
                let detail = format!("expected hello first, got {}", describe(&other));
                return self.fail_handshake(id, InitError::BadHandshake { detail });
            }
        };
        if hello.protocol != PROTOCOL_VERSION {
            let error = InitError::IncompatibleProtocol {
                found: hello.protocol,
                expected: PROTOCOL_VERSION,
            };
            return self.fail_handshake(id, error);
        }
        if hello.token != *token {
            let detail = "the init token does not match".to_string();
            return self.fail_handshake(id, InitError::BadHandshake { detail });
        }
        let pending = std::mem::take(pending);
        hello_timer.abort();
        node.phase = Phase::Connected;
        for message in &pending {
            node.send(message);
        }
        if let Some(script) = node.script.take()
            && !hello.executable.is_empty()
            && std::path::Path::new(&hello.executable) != script
        {
            self.resolved.insert(script, PathBuf::from(&hello.executable));
        }
        let info = node_info(node, hello);
        tracing::info!(session = %node.session, node = %info.name, pid = info.pid, "runtime connected");
        self.events.send(Event::Connected {
            session: node.session,
            info,
        });
    }

    fn fail_handshake(&mut self, id: NodeId, error: InitError) {
        runtime::kill_group(self.nodes[&id].pid);
        self.init_failed(id, error);
    }

    fn on_message(&mut self, id: NodeId, message: FromAgent) {
        let node = self.nodes.get_mut(&id).expect("known node");
        let session = node.session;
        match message {
            FromAgent::Output {
                evaluation_ref,
                stream,
                text,
            } => self.events.send(Event::Output {
                session,
                evaluation_ref,
                stream,
                text,
            }),
            FromAgent::Result {
                evaluation_ref,
                status,
                value,
                error,
                duration_us,
            } => {
                let Some(position) = node.in_flight.iter().position(|r| *r == evaluation_ref) else {
                    return self.warn(
                        session,
                        format!("the runtime answered an unknown evaluation {evaluation_ref:?}"),
                    );
                };
                node.in_flight.remove(position);
                let outcome = match (status, error) {
                    (ResultStatus::Ok, _) => Outcome::Ok { value },
                    (ResultStatus::Interrupted, error) => Outcome::Interrupted(error),
                    (ResultStatus::Error, Some(error)) => Outcome::Error(error),
                    (ResultStatus::Error, None) => Outcome::Error(protocol::EvalError {
                        kind: "Error".into(),
                        message: "the runtime reported an error without details".into(),
                        line: None,
                        column: None,
                        frames: Vec::new(),
                        formatted: String::new(),
                    }),
                };
                self.events.send(Event::EvaluationFinished {
                    session,
                    evaluation_ref,
                    outcome,
                    duration: Duration::from_micros(duration_us),
                });
            }
            FromAgent::Memory(usage) => self.events.send(Event::Memory { session, usage }),
            FromAgent::Log { level, message } => {
                let message = format!("{}: {message}", node.name);
                match level {
                    LogLevel::Debug | LogLevel::Info => tracing::info!(%session, "{message}"),
                    LogLevel::Warn | LogLevel::Error => self.warn(session, message),
                }
            }
            other @ (FromAgent::Hello(_) | FromAgent::InitError { .. }) => {
                let message = format!(
                    "the runtime {} sent {} after its handshake",
                    node.name,
                    describe(&other)
                );
                self.warn(session, message);
            }
        }
    }

    /// Stops every runtime: `stop` to each, then SIGKILL to whatever is left
    /// when the longest grace period is over.
    async fn shutdown(&mut self, internal: &mut UnboundedReceiver<Internal>) {
        let sessions: Vec<SessionId> = self.sessions.keys().copied().collect();
        let grace = self
            .sessions
            .values()
            .map(|s| s.config.stop_grace)
            .max()
            .unwrap_or_default();
        for session in sessions {
            self.detach_current(session, DisconnectReason::Shutdown);
        }
        self.events.flush();
        let deadline = tokio::time::Instant::now() + grace;
        while !self.nodes.is_empty() {
            match tokio::time::timeout_at(deadline, internal.recv()).await {
                Ok(Some((id, NodeMsg::Exited(_)))) => {
                    if let Some(node) = self.nodes.remove(&id) {
                        runtime::kill_group(node.pid);
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        for node in self.nodes.values() {
            runtime::kill_group(node.pid);
        }
    }
}

impl Node {
    fn send(&self, message: &ToAgent) {
        // A closed writer means the process is going away; its exit is reported.
        let _ = self.writer.send(protocol::encode(message));
    }

    fn send_or_queue(&mut self, message: ToAgent) {
        match &mut self.phase {
            Phase::Starting { pending, .. } => pending.push(message),
            Phase::Connected => self.send(&message),
            Phase::Leaving => {}
        }
    }
}

fn node_info(node: &Node, hello: Hello) -> NodeInfo {
    NodeInfo {
        name: if hello.node.is_empty() {
            node.name.clone()
        } else {
            hello.node
        },
        pid: hello.pid,
        language: hello.language,
        language_version: hello.language_version,
        executable: hello.executable,
        kind: node.kind.to_string(),
        cookie: hello.cookie,
    }
}

fn describe(message: &FromAgent) -> &'static str {
    match message {
        FromAgent::Hello(_) => "hello",
        FromAgent::Output { .. } => "output",
        FromAgent::Result { .. } => "a result",
        FromAgent::Memory(_) => "memory",
        FromAgent::Log { .. } => "a log line",
        FromAgent::InitError { .. } => "an init error",
    }
}
