//! The manager's event loop: turns commands into runtime processes and
//! frames, and what the processes do into events.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use tokio::net::unix::OwnedWriteHalf;

use super::events::EventSink;
use super::kernel;
use super::node::{self, Internal, NodeId, NodeMsg};
use super::queries::{self, Pending, Queries, QueryKind};
use super::remote;
use super::{
    Command, CompletionRequest, DisconnectReason, DownCause, Evaluation, Event, NodeInfo, Outcome, QUERY_TIMEOUT,
    SessionId,
};
use crate::kernels::connection::{BIND_RETRIES, lost_bind_race};
use crate::protocol::capture::Captured;
use crate::protocol::{self, Decoded, FromAgent, Hello, LogLevel, PROTOCOL_VERSION, ResultStatus, Stream, ToAgent};
use crate::runtime::{self, InitError, RuntimeConfig, RuntimeKind, StderrTail};

/// How long an interrupted evaluation may take to stop before the user is
/// offered a hard kill.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);
/// How long a process that closed its protocol stream may live on.
const STDOUT_CLOSED_GRACE: Duration = Duration::from_millis(500);
/// How long an agent that said it is preparing (compiling) may take to be ready.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(300);

pub(super) async fn run(mut commands: UnboundedReceiver<Command>, events: EventSink) {
    let (internal_tx, mut internal_rx) = unbounded_channel();
    let mut worker = Worker {
        events,
        internal: internal_tx,
        sessions: HashMap::new(),
        nodes: HashMap::new(),
        next_node: 1,
        resolved: HashMap::new(),
        masters: remote::SshMasters::default(),
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
                Some(Command::InjectPanic) => panic!("a failure injected for testing"),
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
    /// Shared SSH connections, one per host.
    masters: remote::SshMasters,
}

/// A session's runtime settings and its current node, if any.
struct Slot {
    config: RuntimeConfig,
    node: Option<NodeId>,
}

struct Node {
    session: SessionId,
    name: String,
    /// The runtime's pid, once its supervisor reported it (0 before).
    pid: u32,
    /// Closing it (for writing) tells the supervisor to kill everything.
    lifeline: Option<OwnedWriteHalf>,
    /// Where output from the manager-held pipes belongs, when the agent uses them.
    capture: Option<CaptureState>,
    /// Results that arrived before the end of their output on the pipes.
    held: VecDeque<(String, Event)>,
    /// Why Runyard itself killed the runtime, if it did.
    killed_because: Option<DownCause>,
    /// The OOM kill count of our memory cgroup when the node started.
    oom_kills: Option<u64>,
    crash_dump: Option<PathBuf>,
    phase: Phase,
    writer: UnboundedSender<Vec<u8>>,
    stderr: StderrTail,
    /// Evaluations sent and not yet answered, oldest first.
    in_flight: VecDeque<String>,
    /// Completion and inspection requests sent and not yet answered.
    queries: Queries,
    interrupt_epoch: u64,
    /// What the agent said in an `init_error` frame before exiting.
    agent_init_error: Option<(String, String)>,
    /// The wrapper script this node was started through, to resolve once.
    script: Option<PathBuf>,
    kind: &'static str,
    command: String,
    /// The program the supervisor was to start, for its spawn errors.
    program: PathBuf,
    /// A Jupyter kernel's bridge, when the node is one.
    kernel: Option<KernelNode>,
    /// Where a remote node runs, and its job.
    remote: Option<RemoteNode>,
}

/// What the worker keeps of a remote node.
struct RemoteNode {
    launch: crate::remote::RemoteLaunch,
    /// What `squeue` last said of its job.
    job: Option<crate::remote::JobInfo>,
    /// The task that asks `squeue`.
    watch: Option<tokio::task::AbortHandle>,
}

/// What the worker keeps of a kernel node's bridge (see `kernel.rs`).
struct KernelNode {
    commands: UnboundedSender<ToAgent>,
    bridge: tokio::task::AbortHandle,
    connection_file: PathBuf,
    /// `interrupt_mode: signal`: SIGINT to the kernel's process group.
    interrupt_by_signal: bool,
    /// Starts so far that lost the race for their ports.
    attempt: u32,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(watch) = self.remote.as_ref().and_then(|r| r.watch.as_ref()) {
            watch.abort();
        }
        if let Some(kernel) = &self.kernel {
            kernel.bridge.abort();
            // The supervisor removes it too; this covers a supervisor that died.
            let _ = std::fs::remove_file(&kernel.connection_file);
        }
    }
}

enum Phase {
    Starting {
        token: String,
        pending: Vec<ToAgent>,
        hello_timer: tokio::task::AbortHandle,
        /// What the hello timer was set to, for the error.
        timeout: Duration,
        /// Whether the hello timer runs: a Slurm job's starts once the job runs.
        armed: bool,
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
                self.sessions.insert(
                    session,
                    Slot {
                        config: *config,
                        node: None,
                    },
                );
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
                if let Some(node) = self.current(session).and_then(|id| self.nodes.get_mut(&id)) {
                    node.kill();
                }
                self.detach_current(session, DisconnectReason::Killed);
            }
            Command::Evaluate { session, evaluation } => self.evaluate(session, evaluation, false),
            Command::EvaluateBranch { session, evaluation } => self.evaluate(session, evaluation, true),
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
            Command::Input { session, value } => self.send_or_queue(session, ToAgent::InputReply { value }),
            Command::Memory { session } => {
                if let Some(node) = self.connected_node(session) {
                    if node.kernel.is_some() {
                        // A kernel has no memory message: its resident set, as the Python agent's.
                        if let Some(rss) = resident_memory(node.pid) {
                            let usage = protocol::MemoryUsage {
                                total: rss,
                                parts: vec![("rss".into(), rss)],
                            };
                            self.events.send(Event::Memory { session, usage });
                        }
                    } else {
                        node.send(&ToAgent::Memory);
                    }
                }
            }
            Command::Complete { session, request } => self.query(session, request, None),
            Command::Inspect {
                session,
                request,
                detail,
            } => self.query(session, request, Some(detail)),
            Command::Shutdown | Command::InjectPanic => unreachable!("handled by the loop"),
        }
    }

    /// Sends a completion (`detail` None) or inspection request to the
    /// session's runtime if it is connected; otherwise, or for code too long
    /// to look at, answers it empty at once: completion is best effort and
    /// never waits for a start.
    fn query(&mut self, session: SessionId, request: CompletionRequest, detail: Option<u8>) {
        let kind = if detail.is_some() {
            QueryKind::Inspect
        } else {
            QueryKind::Complete
        };
        let id = request.id;
        // Counting the characters of huge code would cost more than it is worth.
        let length = if request.code.len() > 4 * protocol::MAX_QUERY_CODE {
            usize::MAX
        } else {
            request.code.chars().count()
        };
        let connected = self.connected_node(session).is_some();
        let Some(node_id) = self
            .current(session)
            .filter(|_| connected && length <= protocol::MAX_QUERY_CODE)
        else {
            return self.events.send(queries::empty(session, id, kind, request.cursor));
        };
        let mut pending = Pending::new(kind, request.cursor, length);
        let timer = node::after(QUERY_TIMEOUT, node_id, NodeMsg::QueryTimeout { id }, &self.internal);
        pending.timer = Some(timer);
        let message = match detail {
            Some(detail) => ToAgent::Inspect { request, detail },
            None => ToAgent::Complete(request),
        };
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        node.send(&message);
        if let Some(replaced) = node.queries.insert(id, pending) {
            self.events.send(replaced.empty(session, id));
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
        self.start_attempt(session, 0);
    }

    /// `attempt`: how many starts of this kernel lost the race for its ports.
    fn start_attempt(&mut self, session: SessionId, attempt: u32) {
        let config = self.sessions[&session].config.clone();
        let planned = runtime::node_name(&config).and_then(|name| {
            let token = runtime::random_token()?;
            let launch = runtime::plan(&config, &name, &token, &self.resolved);
            Ok((name, token, launch))
        });
        let (name, token, launch) = match planned {
            Ok((name, token, Ok(launch))) => (name, token, launch),
            Ok((name, _, Err(error))) => {
                let command = runtime::display_unplanned(&config, &name);
                return self.events.send(Event::InitFailed {
                    session,
                    error,
                    command,
                });
            }
            Err(error) => {
                let command = runtime::display_unplanned(&config, "");
                return self.events.send(Event::InitFailed {
                    session,
                    error,
                    command,
                });
            }
        };
        let command = launch.display.clone();
        // The Python agent takes its output pipes from us; Elixir captures in the BEAM.
        // Remotely it makes its own pipes and forwards them as frames.
        let capture = matches!(config.kind, RuntimeKind::PythonStandalone(_)) && config.place.is_local();
        if let Some(target) = launch.remote.as_ref().and_then(|r| r.ssh.as_ref()) {
            self.masters.ensure(target, config.init_timeout.as_secs());
        }
        let spawned = match runtime::spawn_node(&launch, config.standalone(), capture) {
            Ok(spawned) => spawned,
            Err(error) => {
                if let Some(kernel) = &launch.kernel {
                    let _ = std::fs::remove_file(&kernel.connection_file);
                }
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
        if let Some(preamble) = &launch.preamble {
            let _ = writer.send(preamble.clone());
        }
        tokio::spawn(node::write_frames(spawned.stdin, frames));
        let stderr = StderrTail::default();
        let (reports, lifeline) = spawned.lifeline.into_split();
        let capture = spawned.capture.as_ref().map(|_| CaptureState::default());
        node::supervise(
            id,
            name.clone(),
            node::Streams {
                supervisor: spawned.supervisor,
                stdout: spawned.stdout,
                stderr: spawned.stderr,
                reports,
                capture: spawned.capture,
            },
            stderr.clone(),
            self.internal.clone(),
        );
        // A Slurm job's init timeout starts when the job runs (see `NodeMsg::Job`).
        let job_name = launch.remote.as_ref().and_then(|r| r.job_name.clone());
        let armed = job_name.is_none();
        let hello_timer = if armed {
            node::after(config.init_timeout, id, NodeMsg::HelloTimeout, &self.internal)
        } else {
            tokio::spawn(async {}).abort_handle()
        };
        let remote_node = launch.remote.clone().map(|launch| {
            let watch = launch.job_name.clone().map(|name| {
                let via = launch.slurm_via.clone().unwrap_or_default();
                remote::watch_job(id, via, name, self.internal.clone())
            });
            RemoteNode {
                launch,
                job: None,
                watch,
            }
        });
        let kernel = launch.kernel.as_ref().map(|k| {
            let by_message = k.interrupt_mode == crate::kernels::InterruptMode::Message;
            let start = kernel::KernelStart {
                id,
                node: name.clone(),
                token: token.clone(),
                info: k.info.clone(),
                executable: launch.program.to_string_lossy().into_owned(),
                interrupt_by_message: by_message,
            };
            let (commands, bridge) = kernel::start(start, self.internal.clone());
            KernelNode {
                commands,
                bridge,
                connection_file: k.connection_file.clone(),
                interrupt_by_signal: !by_message,
                attempt,
            }
        });
        tracing::info!(%session, node = %name, %command, "starting runtime");
        self.nodes.insert(
            id,
            Node {
                session,
                name,
                pid: 0,
                lifeline: Some(lifeline),
                capture,
                held: VecDeque::new(),
                killed_because: None,
                oom_kills: runtime::oom_kills(),
                crash_dump: launch.crash_dump,
                phase: Phase::Starting {
                    token,
                    pending: Vec::new(),
                    hello_timer,
                    timeout: config.init_timeout,
                    armed,
                },
                writer,
                stderr,
                in_flight: VecDeque::new(),
                queries: Queries::default(),
                interrupt_epoch: 0,
                agent_init_error: None,
                script: launch.wrapper,
                program: launch.program,
                kind: config.kind_label(),
                command,
                kernel,
                remote: remote_node,
            },
        );
        if let Some(slot) = self.sessions.get_mut(&session) {
            slot.node = Some(id);
        }
    }

    fn evaluate(&mut self, session: SessionId, evaluation: Evaluation, branch: bool) {
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
            options: evaluation.options,
            branch,
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
        let Some(node) = self.nodes.get_mut(&id) else {
            return self.lost_node(session, id);
        };
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
                if node.kernel.as_ref().is_some_and(|k| k.interrupt_by_signal) && node.pid != 0 {
                    // The kernel's group: the supervisor made the kernel its leader.
                    let group = nix::unistd::Pid::from_raw(node.pid as i32);
                    if let Err(err) = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT) {
                        tracing::warn!(%session, %err, "could not interrupt the kernel");
                    }
                }
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
        let Some(node) = self.nodes.get_mut(&id) else {
            return self.lost_node(session, id);
        };
        let why = match reason {
            DisconnectReason::Requested | DisconnectReason::Reconnect => "the runtime was disconnected",
            DisconnectReason::Killed => "the runtime was killed",
            DisconnectReason::Shutdown => "Runyard is shutting down",
        };
        let name = node.name.clone();
        // A job still waiting for resources has no agent to stop: cancel it now.
        let waiting_job = matches!(node.phase, Phase::Starting { .. })
            && node.remote.as_ref().is_some_and(|r| r.launch.job_name.is_some());
        node.send(&ToAgent::Stop);
        if waiting_job {
            node.kill();
        }
        node.phase = Phase::Leaving;
        node.release_held(&self.events);
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
        let Some(node) = self.nodes.get_mut(&id) else { return };
        let session = node.session;
        for (query, pending) in node.queries.drain() {
            self.events.send(pending.empty(session, query));
        }
        for evaluation_ref in std::mem::take(&mut node.in_flight) {
            self.events.send(Event::EvaluationFinished {
                session,
                evaluation_ref,
                outcome: Outcome::Aborted { reason: reason.into() },
                duration: Duration::ZERO,
            });
        }
    }

    /// A session pointed at a node that is gone: a bug, logged and mended
    /// rather than taking the manager (and every runtime) down.
    fn lost_node(&mut self, session: SessionId, id: NodeId) {
        tracing::error!(%session, id, "the session's runtime node is not known; detaching it");
        if let Some(slot) = self.sessions.get_mut(&session) {
            slot.node = None;
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
            NodeMsg::Started { pid } => {
                node.pid = pid;
                if matches!(node.phase, Phase::Starting { .. }) {
                    tracing::info!(%session, node = %node.name, pid, "runtime process started");
                    self.events.send(Event::Starting {
                        session,
                        node: node.name.clone(),
                        pid,
                        command: node.command.clone(),
                    });
                }
            }
            NodeMsg::SpawnFailed { errno, message } => {
                let path = node.program.clone();
                let error = match errno {
                    libc::ENOENT => InitError::NoSuchFile { path },
                    libc::EACCES | libc::ENOEXEC => InitError::NotExecutable { path },
                    _ => InitError::SpawnFailed { path, message },
                };
                if matches!(node.phase, Phase::Starting { .. }) {
                    self.init_failed(id, error);
                }
            }
            NodeMsg::Decoded(items) => {
                for item in items {
                    self.on_decoded(id, item);
                }
            }
            NodeMsg::Captured(stream, items) => {
                let attached = !matches!(node.phase, Phase::Leaving);
                for item in items {
                    match item {
                        Captured::Text(text) if attached => {
                            let evaluation_ref = node.capture.as_ref().and_then(|c| c.current(stream).cloned());
                            self.events.send(Event::Output {
                                session,
                                evaluation_ref,
                                stream,
                                text,
                            });
                        }
                        Captured::Text(_) => {}
                        Captured::Message(message) if attached => {
                            let event = match *message {
                                FromAgent::Display {
                                    evaluation_ref,
                                    bundle,
                                    display_id,
                                    update,
                                } => Event::Display {
                                    session,
                                    evaluation_ref,
                                    bundle: Arc::new(bundle),
                                    display_id,
                                    update,
                                },
                                other => Event::Warning {
                                    session,
                                    message: format!("the runtime sent {} in its output pipe", describe(&other)),
                                },
                            };
                            self.events.send(event);
                        }
                        Captured::Message(_) => {}
                        Captured::Bad(error) => {
                            let message = format!("{}: a display in the output was dropped: {error}", node.name);
                            tracing::warn!(%session, "{message}");
                            self.events.send(Event::Warning { session, message });
                        }
                        Captured::Begin(evaluation_ref) => {
                            if let Some(capture) = &mut node.capture {
                                capture.begin(stream, evaluation_ref);
                            }
                        }
                        Captured::End(evaluation_ref) => {
                            if let Some(capture) = &mut node.capture {
                                capture.end(stream, evaluation_ref);
                            }
                        }
                    }
                }
                node.release_held(&self.events);
            }
            NodeMsg::CaptureClosed(stream) => {
                if let Some(capture) = &mut node.capture {
                    capture.close(stream);
                }
                node.release_held(&self.events);
            }
            NodeMsg::StdoutClosed => {
                // A kernel's stdout is not its channel: ZeroMQ is.
                if matches!(node.phase, Phase::Connected) && node.kernel.is_none() {
                    node::after(STDOUT_CLOSED_GRACE, id, NodeMsg::StdoutClosedGraceOver, &self.internal);
                }
            }
            NodeMsg::StdoutClosedGraceOver => {
                node.killed_because.get_or_insert(DownCause::ChannelClosed);
                node.kill();
            }
            NodeMsg::StopGraceOver => node.kill(),
            NodeMsg::QueryTimeout { id } => {
                let pending = node
                    .queries
                    .take(id, QueryKind::Complete)
                    .or_else(|| node.queries.take(id, QueryKind::Inspect));
                if let Some(mut pending) = pending {
                    tracing::debug!(%session, id, "the runtime did not answer a completion request in time");
                    pending.timer = None;
                    self.events.send(pending.empty(session, id));
                }
            }
            NodeMsg::KernelFailed(error) => {
                if matches!(node.phase, Phase::Starting { .. }) {
                    self.fail_handshake(id, error);
                } else {
                    self.warn(session, format!("the kernel bridge stopped: {error}"));
                }
            }
            NodeMsg::Job(job) => self.on_job(id, job),
            NodeMsg::JobUnknown => {
                // squeue cannot say: the init timeout runs from now, as for any start.
                if let Phase::Starting {
                    hello_timer,
                    timeout,
                    armed,
                    ..
                } = &mut node.phase
                    && !*armed
                {
                    *armed = true;
                    *hello_timer = node::after(*timeout, id, NodeMsg::HelloTimeout, &self.internal);
                }
            }
            NodeMsg::HelloTimeout => {
                if let Phase::Starting { timeout, .. } = node.phase {
                    node.kill();
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
            NodeMsg::Exited {
                exit,
                peak_rss,
                supervisor_lost,
            } => {
                // Everything it wrote has been read: what it answered counts.
                if let Some(capture) = &mut node.capture {
                    capture.close(Stream::Stdout);
                    capture.close(Stream::Stderr);
                }
                node.release_held(&self.events);
                let cause = if supervisor_lost {
                    // Nobody is left to clean up below the runtime but us.
                    runtime::kill_group(node.pid);
                    DownCause::SupervisorLost
                } else if let Some(cause) = node.killed_because.clone() {
                    cause
                } else if exit.signal == Some(libc::SIGKILL)
                    && matches!((runtime::oom_kills(), node.oom_kills), (Some(now), Some(then)) if now > then)
                {
                    DownCause::OutOfMemory { peak_rss }
                } else if let Some(cause) = node
                    .remote
                    .as_ref()
                    .and_then(|r| remote::down_cause(&r.launch, r.job.as_ref(), &exit, &node.stderr.text()))
                {
                    cause
                } else {
                    DownCause::Ended
                };
                match node.phase {
                    Phase::Starting { .. }
                        if node.kernel.as_ref().is_some_and(|k| k.attempt + 1 < BIND_RETRIES)
                            && lost_bind_race(&node.stderr.text()) =>
                    {
                        // Another program took one of its ports first: new ports, new start.
                        let attempt = node.kernel.as_ref().map_or(0, |k| k.attempt + 1);
                        if let Phase::Starting { hello_timer, .. } = &node.phase {
                            hello_timer.abort();
                        }
                        tracing::info!(%session, attempt, "the kernel lost the race for its ports; starting it again");
                        let pending = match std::mem::replace(&mut node.phase, Phase::Leaving) {
                            Phase::Starting { pending, .. } => pending,
                            _ => Vec::new(),
                        };
                        let in_flight = std::mem::take(&mut node.in_flight);
                        self.nodes.remove(&id);
                        if self.sessions.get(&session).and_then(|s| s.node) == Some(id) {
                            self.start_attempt(session, attempt);
                            self.carry_over(session, pending, in_flight);
                        }
                        return;
                    }
                    Phase::Starting { .. } => {
                        let error = match &node.agent_init_error {
                            Some((reason, message)) => InitError::Agent {
                                reason: reason.clone(),
                                message: message.clone(),
                                stderr_tail: node.stderr.text(),
                            },
                            None => {
                                let stderr = node.stderr.text();
                                let remote = node
                                    .remote
                                    .as_ref()
                                    .and_then(|r| remote::init_error(&r.launch, r.job.as_ref(), &exit, &stderr));
                                remote.unwrap_or(InitError::ExitedEarly {
                                    status: exit,
                                    stderr_tail: stderr,
                                })
                            }
                        };
                        self.init_failed(id, error);
                    }
                    Phase::Connected => {
                        if let Some(slot) = self.sessions.get_mut(&session) {
                            slot.node = None;
                        }
                        tracing::warn!(%session, node = %node.name, %exit, ?cause, "runtime node down");
                        let crash_dump = node.crash_dump.take().filter(|dump| dump.is_file());
                        let event = Event::NodeDown {
                            session,
                            node: node.name.clone(),
                            exit,
                            cause,
                            stderr_tail: node.stderr.text(),
                            crash_dump,
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

    /// What `squeue` said of a node's job: shown, and while the node starts,
    /// the init timeout is armed once it runs, and a job that waited past its
    /// pending timeout is cancelled.
    fn on_job(&mut self, id: NodeId, job: crate::remote::JobInfo) {
        let Some(node) = self.nodes.get_mut(&id) else { return };
        let session = node.session;
        let Some(remote) = &mut node.remote else { return };
        let pending_timeout = remote.launch.pending_timeout;
        let changed = remote.job.as_ref() != Some(&job);
        remote.job = Some(job.clone());
        match &mut node.phase {
            Phase::Leaving => return,
            Phase::Starting {
                hello_timer,
                timeout,
                armed,
                ..
            } => {
                if job.is_pending() {
                    if let Some(limit) = pending_timeout
                        && job.elapsed >= limit
                    {
                        node.kill();
                        let error = InitError::SlurmPendingTimeout {
                            job_id: job.id.clone(),
                            reason: job.reason.clone(),
                            waited: job.elapsed,
                        };
                        return self.init_failed(id, error);
                    }
                } else if !*armed {
                    *armed = true;
                    *hello_timer = node::after(*timeout, id, NodeMsg::HelloTimeout, &self.internal);
                }
            }
            Phase::Connected => {}
        }
        if changed {
            self.events.send(Event::Job { session, job });
        }
    }

    /// Gives a restarted node what waited for the one it replaces; if the
    /// restart failed, those evaluations end.
    fn carry_over(&mut self, session: SessionId, pending: Vec<ToAgent>, in_flight: VecDeque<String>) {
        let node = self.current(session).and_then(|id| self.nodes.get_mut(&id));
        if let Some(node) = node
            && let Phase::Starting { pending: waiting, .. } = &mut node.phase
        {
            waiting.extend(pending);
            node.in_flight.extend(in_flight);
            return;
        }
        for evaluation_ref in in_flight {
            self.events.send(Event::EvaluationFinished {
                session,
                evaluation_ref,
                outcome: Outcome::Aborted {
                    reason: "the runtime did not start".into(),
                },
                duration: Duration::ZERO,
            });
        }
    }

    /// Reports a failed start and detaches the node without a `Disconnected`.
    fn init_failed(&mut self, id: NodeId, error: InitError) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return tracing::error!(id, %error, "a start failed for a node that is not known");
        };
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
            Decoded::Stray(text) if node.kernel.is_some() => {
                // A kernel's stdout is its console log (ipykernel's "To connect
                // another client…" notice), not cell output: kept with stderr.
                tracing::info!(target: "runyard::runtime_stderr", node = %node.name, "{}", text.trim_end());
                node.stderr.push(&text);
            }
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
        let Some(node) = self.nodes.get_mut(&id) else { return };
        let Phase::Starting {
            token,
            pending,
            hello_timer,
            timeout,
            ..
        } = &mut node.phase
        else {
            return;
        };
        let hello = match message {
            FromAgent::Preparing { message } => {
                // Work before the agent can answer (a first compile): the init
                // timeout starts again, longer, and the user is told why.
                hello_timer.abort();
                *timeout = PREPARE_TIMEOUT.max(*timeout);
                *hello_timer = node::after(*timeout, id, NodeMsg::HelloTimeout, &self.internal);
                tracing::info!(node = %node.name, "{message}");
                let session = node.session;
                return self.events.send(Event::Preparing { session, message });
            }
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
        // The agent answering proves its job runs, whatever squeue said last.
        if let Some(job) = node.remote.as_mut().and_then(|r| r.job.as_mut())
            && job.is_pending()
        {
            job.state = "RUNNING".into();
            job.reason = "None".into();
        }
        let info = node_info(node, hello);
        tracing::info!(session = %node.session, node = %info.name, pid = info.pid, "runtime connected");
        self.events.send(Event::Connected {
            session: node.session,
            info,
        });
    }

    fn fail_handshake(&mut self, id: NodeId, error: InitError) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.kill();
        }
        self.init_failed(id, error);
    }

    fn on_message(&mut self, id: NodeId, message: FromAgent) {
        let Some(node) = self.nodes.get_mut(&id) else { return };
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
            FromAgent::InputRequest {
                evaluation_ref,
                prompt,
                password,
            } => self.events.send(Event::InputRequested {
                session,
                evaluation_ref,
                prompt,
                password,
            }),
            FromAgent::Display {
                evaluation_ref,
                bundle,
                display_id,
                update,
            } => self.events.send(Event::Display {
                session,
                evaluation_ref,
                bundle: Arc::new(bundle),
                display_id,
                update,
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
                let finished = Event::EvaluationFinished {
                    session,
                    evaluation_ref: evaluation_ref.clone(),
                    outcome,
                    duration: Duration::from_micros(duration_us),
                };
                // The answer comes after the last of the output it explains.
                node.held.push_back((evaluation_ref, finished));
                node.release_held(&self.events);
            }
            FromAgent::Memory(usage) => self.events.send(Event::Memory { session, usage }),
            FromAgent::Completions {
                id,
                start,
                end,
                matches,
            } => match node.queries.take(id, QueryKind::Complete) {
                Some(pending) => {
                    let event = queries::completions(session, id, &pending, start, end, matches);
                    self.events.send(event);
                }
                None => tracing::debug!(%session, id, "a late or unknown completion answer was dropped"),
            },
            FromAgent::Documentation { id, found, bundle } => match node.queries.take(id, QueryKind::Inspect) {
                Some(_) => self.events.send(queries::documentation(session, id, found, bundle)),
                None => tracing::debug!(%session, id, "a late or unknown documentation answer was dropped"),
            },
            FromAgent::Log { level, message } => {
                let message = format!("{}: {message}", node.name);
                match level {
                    LogLevel::Debug | LogLevel::Info => tracing::info!(%session, "{message}"),
                    LogLevel::Warn | LogLevel::Error => self.warn(session, message),
                }
            }
            other @ (FromAgent::Hello(_) | FromAgent::InitError { .. } | FromAgent::Preparing { .. }) => {
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
                Ok(Some((id, NodeMsg::Exited { .. }))) => {
                    self.nodes.remove(&id);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        // Closing the lifelines has each supervisor kill what is left.
        for node in self.nodes.values_mut() {
            node.kill();
        }
        self.masters.stop_all();
    }
}

impl Node {
    /// Has the supervisor kill the runtime and everything it started.
    fn kill(&mut self) {
        // Dropping the write half shuts the lifeline down for writing.
        self.lifeline = None;
    }

    /// Sends the results whose output has all been read, in order.
    fn release_held(&mut self, events: &EventSink) {
        while let Some((evaluation_ref, _)) = self.held.front() {
            let leaving = matches!(self.phase, Phase::Leaving);
            if !leaving && self.capture.as_ref().is_some_and(|c| !c.ended(evaluation_ref)) {
                return;
            }
            let Some((evaluation_ref, event)) = self.held.pop_front() else {
                return;
            };
            if let Some(capture) = &mut self.capture {
                capture.forget(&evaluation_ref);
            }
            // A detached node's answers were already aborted for its session.
            if !leaving {
                events.send(event);
            }
        }
    }

    fn send(&self, message: &ToAgent) {
        // A closed writer means the process is going away; its exit is reported.
        match &self.kernel {
            Some(kernel) => {
                let _ = kernel.commands.send(message.clone());
            }
            None => {
                let _ = self.writer.send(protocol::encode(message));
            }
        }
    }

    fn send_or_queue(&mut self, message: ToAgent) {
        match &mut self.phase {
            Phase::Starting { pending, .. } => pending.push(message),
            Phase::Connected => self.send(&message),
            Phase::Leaving => {}
        }
    }
}

/// Which evaluation the output on each of the manager-held pipes belongs
/// to, from the agent's markers (see `protocol::capture`).
#[derive(Debug, Default)]
struct CaptureState {
    current: [Option<String>; 2],
    /// Evaluations whose end marker came through, per stream, not yet answered.
    ended: [Vec<String>; 2],
    closed: [bool; 2],
}

impl CaptureState {
    fn index(stream: Stream) -> usize {
        match stream {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }

    fn current(&self, stream: Stream) -> Option<&String> {
        self.current[Self::index(stream)].as_ref()
    }

    fn begin(&mut self, stream: Stream, evaluation_ref: String) {
        self.current[Self::index(stream)] = Some(evaluation_ref);
    }

    fn end(&mut self, stream: Stream, evaluation_ref: String) {
        let i = Self::index(stream);
        self.current[i] = None;
        // Bounded: markers of evaluations never answered must not pile up.
        if self.ended[i].len() == 64 {
            self.ended[i].remove(0);
        }
        self.ended[i].push(evaluation_ref);
    }

    fn close(&mut self, stream: Stream) {
        let i = Self::index(stream);
        self.closed[i] = true;
        self.current[i] = None;
    }

    /// Whether all output of `evaluation_ref` has been read on both pipes.
    fn ended(&self, evaluation_ref: &str) -> bool {
        (0..2).all(|i| self.closed[i] || self.ended[i].iter().any(|r| r == evaluation_ref))
    }

    fn forget(&mut self, evaluation_ref: &str) {
        for ended in &mut self.ended {
            ended.retain(|r| r != evaluation_ref);
        }
    }
}

/// A process's resident memory in bytes, from `/proc`.
fn resident_memory(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()? as u64;
    Some(pages * page)
}

fn node_info(node: &Node, hello: Hello) -> NodeInfo {
    NodeInfo {
        name: if hello.node.is_empty() {
            node.name.clone()
        } else {
            hello.node
        },
        // A kernel's bridge cannot know it; the supervisor told us.
        pid: if hello.pid == 0 { node.pid } else { hello.pid },
        language: hello.language,
        language_version: hello.language_version,
        executable: hello.executable,
        kind: node.kind.to_string(),
        cookie: hello.cookie,
        host: node.remote.as_ref().and_then(|r| r.launch.host.clone()),
        job: node.remote.as_ref().and_then(|r| r.job.clone()),
    }
}

fn describe(message: &FromAgent) -> &'static str {
    match message {
        FromAgent::Hello(_) => "hello",
        FromAgent::Output { .. } => "output",
        FromAgent::Display { .. } => "a display",
        FromAgent::InputRequest { .. } => "an input request",
        FromAgent::Result { .. } => "a result",
        FromAgent::Memory(_) => "memory",
        FromAgent::Log { .. } => "a log line",
        FromAgent::InitError { .. } => "an init error",
        FromAgent::Preparing { .. } => "a preparing notice",
        FromAgent::Completions { .. } => "completions",
        FromAgent::Documentation { .. } => "documentation",
    }
}
