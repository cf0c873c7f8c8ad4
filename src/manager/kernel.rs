//! The kernel bridge: one task per Jupyter kernel node that speaks the
//! Jupyter messaging protocol (5.x) over ZeroMQ and translates it into the
//! agents' own messages, so that the worker, the session model, the window
//! and `runyard run` treat a kernel like any runtime.
//!
//! - `kernel_info_reply` (and a first message on iopub) becomes `hello`;
//! - iopub `stream` → `output`, `display_data` / `update_display_data` →
//!   `display`, `execute_result` → the result's value, `error` → its error;
//! - an execution's `result` is released once both its `execute_reply` and
//!   the iopub `status: idle` whose parent it is have arrived, so all its
//!   output comes first;
//! - `evaluate` → `execute_request`, `interrupt` → `interrupt_request` on
//!   control (message mode; in signal mode the worker sends SIGINT),
//!   `stop` → `shutdown_request` on control, `forget` / `drop_container`:
//!   nothing (a kernel has one namespace), `memory` is the worker's;
//! - `input_request` on stdin becomes the agents' `input_request`; the
//!   answer goes back as `input_reply`;
//! - `complete` → `complete_request` on shell, whose `complete_reply`
//!   (`cursor_start`, `cursor_end`, `matches`, and the kinds and signatures
//!   of `metadata._jupyter_types_experimental` where the kernel sends them)
//!   becomes `completions`; `inspect` → `inspect_request`, whose reply's
//!   `data` bundle becomes `documentation`. A kernel answers shell requests
//!   one at a time, so while it executes these wait; the worker answers
//!   them empty after `QUERY_TIMEOUT` and drops the late reply.
//!
//! Everything from the kernel is untrusted: a message with a bad signature
//! is dropped with a warning, a malformed one never panics.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use zeromq::{DealerSocket, ReqSocket, Socket, SocketOptions, SocketRecv, SocketSend, SubSocket, ZmqMessage};

use super::node::{Internal, NodeId, NodeMsg};
use crate::kernels::connection::ConnectionInfo;
use crate::kernels::wire::{self, Message, Session};
use crate::protocol::{
    Bundle, Completion, CompletionKind, Decoded, EvalError, FromAgent, Hello, LogLevel, ResultStatus, Stream, ToAgent,
};
use crate::runtime::InitError;

/// Between heartbeats.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A heartbeat unanswered this long: the kernel is "not responding".
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);
/// After `kernel_info_reply`, how long to wait for iopub to carry anything
/// before asking again (iopub subscriptions take a moment to reach the
/// kernel: messages published before are lost).
const IOPUB_NUDGE: Duration = Duration::from_millis(300);
/// The agents' bounds, so that a result always fits (docs/protocol.md).
const MAX_TEXT: usize = 1_000_000;
/// Warnings about dropped messages per kernel, before they are only counted in the log.
const MAX_DROP_WARNINGS: u32 = 10;
/// How long a completion or inspection request is remembered: the worker
/// has long answered it empty by then, and its reply is not awaited.
const QUERY_MEMORY: Duration = Duration::from_secs(60);

/// What the bridge needs to know about its kernel.
pub(super) struct KernelStart {
    pub id: NodeId,
    pub node: String,
    pub token: String,
    pub info: ConnectionInfo,
    pub executable: String,
    /// `interrupt_mode: message`: interrupt with `interrupt_request`.
    pub interrupt_by_message: bool,
}

/// Starts the bridge; commands for the kernel go into the returned sender.
pub(super) fn start(
    start: KernelStart,
    internal: UnboundedSender<Internal>,
) -> (UnboundedSender<ToAgent>, tokio::task::AbortHandle) {
    let (tx, rx) = unbounded_channel();
    let task = tokio::spawn(run(start, rx, internal));
    (tx, task.abort_handle())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Shell,
    Control,
    Stdin,
    Iopub,
}

/// One `execute_request` in flight.
struct Execution {
    evaluation_ref: String,
    sent: Instant,
    reply: Option<Map<String, Value>>,
    idle: bool,
    value: Option<Bundle>,
    error: Option<EvalError>,
    interrupted: bool,
}

struct Bridge {
    id: NodeId,
    internal: UnboundedSender<Internal>,
    wire: Session,
    shell: zeromq::DealerSendHalf,
    control: zeromq::DealerSendHalf,
    stdin: zeromq::DealerSendHalf,
    executions: HashMap<String, Execution>,
    dropped: u32,
    interrupt_by_message: bool,
    /// The kernel's `input_request` waiting for the user's line.
    pending_input: Option<Message>,
    /// `complete_request` / `inspect_request` msg_ids → the request's id and
    /// when it was sent.
    queries: HashMap<String, (u64, Instant)>,
}

async fn run(start: KernelStart, mut commands: UnboundedReceiver<ToAgent>, internal: UnboundedSender<Internal>) {
    let KernelStart {
        id,
        node,
        token,
        info,
        executable,
        interrupt_by_message,
    } = start;
    let session = match crate::runtime::random_token() {
        Ok(session) => session,
        Err(error) => {
            let _ = internal.send((id, NodeMsg::KernelFailed(error)));
            return;
        }
    };
    // Shell and stdin share an identity: the kernel sends `input_request`
    // to the stdin peer with the identity of the shell request's sender.
    let options = || {
        let mut options = SocketOptions::default();
        // The init timeout (the worker's) bounds how long connecting may take.
        options.no_connect_timeout();
        options
    };
    let identity = zeromq::util::PeerIdentity::try_from(session.clone().into_bytes()).ok();
    let with_identity = || {
        let mut options = options();
        if let Some(identity) = &identity {
            options.peer_identity(identity.clone());
        }
        options
    };
    let mut shell = DealerSocket::with_options(with_identity());
    let mut stdin = DealerSocket::with_options(with_identity());
    let mut control = DealerSocket::with_options(options());
    let mut iopub = SubSocket::with_options(options());
    let mut heartbeat = ReqSocket::with_options(options());
    // Each connect waits for the kernel to bind its port (retrying).
    let connected = async {
        iopub.subscribe("").await?;
        iopub.connect(&info.endpoint(info.iopub_port)).await?;
        shell.connect(&info.endpoint(info.shell_port)).await?;
        control.connect(&info.endpoint(info.control_port)).await?;
        stdin.connect(&info.endpoint(info.stdin_port)).await?;
        heartbeat.connect(&info.endpoint(info.hb_port)).await?;
        Ok::<(), zeromq::ZmqError>(())
    }
    .await;
    if let Err(err) = connected {
        // A kernel that never listens ends in the init timeout or its exit;
        // an error here (an invalid endpoint) is said at once.
        let error = InitError::BadHandshake {
            detail: format!("cannot connect to the kernel's ports: {err}"),
        };
        let _ = internal.send((id, NodeMsg::KernelFailed(error)));
        return;
    }
    let (incoming_tx, mut incoming) = unbounded_channel();
    let (shell_tx, shell_rx) = shell.split();
    let (control_tx, control_rx) = control.split();
    let (stdin_tx, stdin_rx) = stdin.split();
    let readers = [
        tokio::spawn(read(Channel::Shell, shell_rx, incoming_tx.clone())),
        tokio::spawn(read(Channel::Control, control_rx, incoming_tx.clone())),
        tokio::spawn(read(Channel::Stdin, stdin_rx, incoming_tx.clone())),
        tokio::spawn(read(Channel::Iopub, iopub, incoming_tx)),
    ];
    let mut bridge = Bridge {
        id,
        internal: internal.clone(),
        wire: Session::new(&info.key, session),
        shell: shell_tx,
        control: control_tx,
        stdin: stdin_tx,
        executions: HashMap::new(),
        dropped: 0,
        interrupt_by_message,
        pending_input: None,
        queries: HashMap::new(),
    };

    // The handshake: kernel_info until both the reply and some iopub traffic came.
    let mut info_reply: Option<Map<String, Value>> = None;
    let mut iopub_seen = false;
    let mut info_id = bridge.request(Channel::Shell, "kernel_info_request", json!({})).await;
    let mut nudge = Box::pin(tokio::time::sleep(Duration::from_secs(3600)));
    loop {
        if let (Some(reply), true) = (&info_reply, iopub_seen) {
            match hello(reply, &node, &token, &executable) {
                Ok(hello) => bridge.emit(FromAgent::Hello(hello)),
                Err(error) => {
                    let _ = internal.send((id, NodeMsg::KernelFailed(error)));
                    return;
                }
            }
            break;
        }
        tokio::select! {
            Some((channel, frames)) = incoming.recv() => {
                let Some(message) = bridge.decode(channel, &frames) else { continue };
                if channel == Channel::Iopub {
                    iopub_seen = true;
                } else if channel == Channel::Shell
                    && message.msg_type == "kernel_info_reply"
                    && message.parent_id.as_deref() == Some(info_id.as_str())
                {
                    info_reply = Some(message.content);
                    nudge.as_mut().reset(tokio::time::Instant::now() + IOPUB_NUDGE);
                }
            }
            () = &mut nudge => {
                info_reply = None;
                info_id = bridge.request(Channel::Shell, "kernel_info_request", json!({})).await;
                nudge.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(3600));
            }
            command = commands.recv() => match command {
                // The worker queues commands until hello; a stop can still come.
                Some(ToAgent::Stop) => {
                    bridge.request(Channel::Control, "shutdown_request", json!({"restart": false})).await;
                }
                Some(_) => {}
                None => return,
            },
        }
    }

    tokio::spawn(heartbeat_loop(id, heartbeat, internal.clone()));
    loop {
        tokio::select! {
            Some((channel, frames)) = incoming.recv() => {
                if let Some(message) = bridge.decode(channel, &frames) {
                    bridge.on_message(channel, message).await;
                }
            }
            command = commands.recv() => match command {
                Some(command) => bridge.on_command(command).await,
                None => break,
            },
        }
    }
    for reader in readers {
        reader.abort();
    }
}

async fn read<S: SocketRecv>(channel: Channel, mut socket: S, out: UnboundedSender<(Channel, ZmqMessage)>) {
    while let Ok(message) = socket.recv().await {
        if out.send((channel, message)).is_err() {
            return;
        }
    }
}

/// Pings the heartbeat port; warns once when the kernel stops answering,
/// and again when it answers again. Node death is the supervisor's to
/// report: this only catches a kernel that hangs (stopped, deadlocked).
async fn heartbeat_loop(id: NodeId, mut socket: ReqSocket, internal: UnboundedSender<Internal>) {
    let warn = |message: String| {
        let log = FromAgent::Log {
            level: LogLevel::Warn,
            message,
        };
        internal
            .send((id, NodeMsg::Decoded(vec![Decoded::Message(log)])))
            .is_ok()
    };
    let mut silent = false;
    loop {
        tokio::time::sleep(HEARTBEAT_EVERY).await;
        if socket.send(ZmqMessage::from(b"ping".to_vec())).await.is_err() {
            return;
        }
        let answered = match tokio::time::timeout(HEARTBEAT_TIMEOUT, socket.recv()).await {
            Ok(answer) => answer.is_ok(),
            Err(_) => {
                if !silent {
                    silent = true;
                    let seconds = HEARTBEAT_TIMEOUT.as_secs();
                    if !warn(format!("the kernel is not responding (no heartbeat for {seconds} s)")) {
                        return;
                    }
                }
                // A REQ socket waits for the answer to its ping before the next.
                socket.recv().await.is_ok()
            }
        };
        if !answered {
            return;
        }
        if silent {
            silent = false;
            if !warn("the kernel is responding again".into()) {
                return;
            }
        }
    }
}

impl Bridge {
    fn emit(&self, message: FromAgent) {
        let _ = self
            .internal
            .send((self.id, NodeMsg::Decoded(vec![Decoded::Message(message)])));
    }

    fn warn(&self, message: String) {
        self.emit(FromAgent::Log {
            level: LogLevel::Warn,
            message,
        });
    }

    /// Sends a request; returns its msg_id.
    async fn request(&mut self, channel: Channel, msg_type: &str, content: Value) -> String {
        let (frames, msg_id) = self.wire.encode(msg_type, content);
        self.send(channel, frames).await;
        msg_id
    }

    async fn send(&mut self, channel: Channel, frames: Vec<Vec<u8>>) {
        let mut frames = frames.into_iter();
        let Some(first) = frames.next() else { return };
        let mut message = ZmqMessage::from(first);
        for frame in frames {
            message.push_back(frame.into());
        }
        let socket = match channel {
            Channel::Shell => &mut self.shell,
            Channel::Control => &mut self.control,
            Channel::Stdin => &mut self.stdin,
            Channel::Iopub => return,
        };
        if let Err(err) = socket.send(message).await {
            // The kernel is going away; its exit is reported by the supervisor.
            tracing::debug!(node = self.id, %err, "a message to the kernel was not sent");
        }
    }

    fn decode(&mut self, channel: Channel, frames: &ZmqMessage) -> Option<Message> {
        let parts: Vec<&[u8]> = frames.iter().map(|b| b.as_ref()).collect();
        match self.wire.decode(&parts) {
            Ok(message) => Some(message),
            Err(err) => {
                self.dropped += 1;
                tracing::warn!(node = self.id, ?channel, %err, "a message from the kernel was dropped");
                if self.dropped <= MAX_DROP_WARNINGS {
                    self.warn(format!("a message from the kernel was dropped: {err}"));
                }
                None
            }
        }
    }

    async fn on_command(&mut self, command: ToAgent) {
        match command {
            ToAgent::Evaluate {
                evaluation_ref, code, ..
            } => {
                let content = json!({
                    "code": code,
                    "silent": false,
                    "store_history": true,
                    "user_expressions": {},
                    "allow_stdin": true,
                    "stop_on_error": false,
                });
                let msg_id = self.request(Channel::Shell, "execute_request", content).await;
                self.executions.insert(
                    msg_id,
                    Execution {
                        evaluation_ref,
                        sent: Instant::now(),
                        reply: None,
                        idle: false,
                        value: None,
                        error: None,
                        interrupted: false,
                    },
                );
            }
            ToAgent::Interrupt => {
                // ipykernel ends a pending input() with KeyboardInterrupt.
                self.pending_input = None;
                // In signal mode the worker has sent SIGINT to the kernel's group.
                for execution in self.executions.values_mut() {
                    execution.interrupted = true;
                }
                if self.interrupt_by_message {
                    self.request(Channel::Control, "interrupt_request", json!({})).await;
                }
            }
            ToAgent::Stop => {
                self.request(Channel::Control, "shutdown_request", json!({"restart": false}))
                    .await;
            }
            ToAgent::InputReply { value } => {
                // Jupyter has no end of input: an empty line stands for it.
                if let Some(request) = self.pending_input.take() {
                    let value = value.unwrap_or_default();
                    let frames = self
                        .wire
                        .encode_reply("input_reply", json!({ "value": value }), &request);
                    self.send(Channel::Stdin, frames).await;
                }
            }
            // One global namespace: `container` and `prev` do not apply.
            ToAgent::Complete(request) => {
                let content = json!({"code": request.code, "cursor_pos": request.cursor});
                let msg_id = self.request(Channel::Shell, "complete_request", content).await;
                self.remember_query(msg_id, request.id);
            }
            ToAgent::Inspect { request, detail } => {
                let content = json!({
                    "code": request.code,
                    "cursor_pos": request.cursor,
                    "detail_level": detail.min(1),
                });
                let msg_id = self.request(Channel::Shell, "inspect_request", content).await;
                self.remember_query(msg_id, request.id);
            }
            // One global namespace: there are no per-evaluation contexts to free.
            ToAgent::Forget { .. } | ToAgent::DropContainer { .. } | ToAgent::Memory => {}
        }
    }

    fn remember_query(&mut self, msg_id: String, id: u64) {
        // Replies that never came (a kernel that crashed mid-request) must not pile up.
        self.queries.retain(|_, (_, sent)| sent.elapsed() < QUERY_MEMORY);
        self.queries.insert(msg_id, (id, Instant::now()));
    }

    async fn on_message(&mut self, channel: Channel, message: Message) {
        let evaluation_ref = message
            .parent_id
            .as_ref()
            .and_then(|p| self.executions.get(p))
            .map(|e| e.evaluation_ref.clone());
        let content = &message.content;
        match (channel, message.msg_type.as_str()) {
            (Channel::Iopub, "stream") => {
                let stream = match content.get("name").and_then(Value::as_str) {
                    Some("stderr") => Stream::Stderr,
                    _ => Stream::Stdout,
                };
                let text = text_of(content.get("text"));
                if !text.is_empty() {
                    self.emit(FromAgent::Output {
                        evaluation_ref,
                        stream,
                        text,
                    });
                }
            }
            (Channel::Iopub, kind @ ("display_data" | "update_display_data")) => {
                let display_id = content
                    .get("transient")
                    .and_then(|t| t.get("display_id"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let update = kind == "update_display_data";
                if update && display_id.is_none() {
                    return self.warn("the kernel sent update_display_data without a display_id".into());
                }
                self.emit(FromAgent::Display {
                    evaluation_ref,
                    bundle: bundle(content),
                    display_id,
                    update,
                });
            }
            (Channel::Iopub, "execute_result") => {
                if let Some(execution) = self.execution(&message) {
                    execution.value = Some(bundle(content));
                }
            }
            (Channel::Iopub, "error") => {
                if let Some(execution) = self.execution(&message) {
                    execution.error = Some(eval_error(content));
                }
            }
            (Channel::Iopub, "status") => {
                if content.get("execution_state").and_then(Value::as_str) == Some("idle")
                    && let Some(execution) = self.execution(&message)
                {
                    execution.idle = true;
                    self.finish(message.parent_id.as_deref());
                }
            }
            (Channel::Shell, "execute_reply") => {
                if let Some(execution) = self.execution(&message) {
                    execution.reply = Some(message.content.clone());
                    self.finish(message.parent_id.as_deref());
                }
            }
            (Channel::Stdin, "input_request") => {
                let evaluation_ref = self.execution(&message).map(|e| e.evaluation_ref.clone());
                let prompt = message.content["prompt"].as_str().unwrap_or_default().to_string();
                let password = message.content["password"].as_bool().unwrap_or(false);
                self.pending_input = Some(message);
                self.emit(FromAgent::InputRequest {
                    evaluation_ref,
                    prompt,
                    password,
                });
            }
            (Channel::Shell, kind @ ("complete_reply" | "inspect_reply")) => {
                let Some((id, _)) = message.parent_id.as_ref().and_then(|p| self.queries.remove(p)) else {
                    return;
                };
                self.emit(if kind == "complete_reply" {
                    completions(id, content)
                } else {
                    documentation(id, content)
                });
            }
            (_, other) => tracing::debug!(node = self.id, ?channel, "kernel message {other} not used"),
        }
    }

    fn execution(&mut self, message: &Message) -> Option<&mut Execution> {
        self.executions.get_mut(message.parent_id.as_deref()?)
    }

    /// Releases the result of `msg_id` once its reply and its idle are in.
    fn finish(&mut self, msg_id: Option<&str>) {
        let Some(msg_id) = msg_id else { return };
        let ready = self.executions.get(msg_id).is_some_and(|e| e.idle && e.reply.is_some());
        if !ready {
            return;
        }
        let Some(execution) = self.executions.remove(msg_id) else {
            return;
        };
        let reply = execution.reply.unwrap_or_default();
        let status = reply.get("status").and_then(Value::as_str).unwrap_or("error");
        let duration_us = execution.sent.elapsed().as_micros().min(u64::MAX as u128) as u64;
        let (status, value, error) = match status {
            "ok" => (ResultStatus::Ok, execution.value, None),
            "abort" | "aborted" if execution.interrupted => (ResultStatus::Interrupted, None, None),
            "abort" | "aborted" => (
                ResultStatus::Error,
                None,
                Some(plain_error("Aborted", "the kernel aborted this execution")),
            ),
            _ => {
                let error = execution.error.unwrap_or_else(|| eval_error(&reply));
                let status = if execution.interrupted {
                    ResultStatus::Interrupted
                } else {
                    ResultStatus::Error
                };
                (status, None, Some(error))
            }
        };
        self.emit(FromAgent::Result {
            evaluation_ref: execution.evaluation_ref,
            status,
            value,
            error,
            duration_us,
        });
    }
}

/// The agents' `hello` from a `kernel_info_reply`, or why the kernel cannot be used.
fn hello(reply: &Map<String, Value>, node: &str, token: &str, executable: &str) -> Result<Hello, InitError> {
    let version = reply
        .get("protocol_version")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match wire::parse_version(&version) {
        Some((major, _)) if major >= 5 => {}
        _ => return Err(InitError::KernelProtocol { found: version }),
    }
    let language = reply.get("language_info");
    let field = |key: &str| {
        language
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Ok(Hello {
        token: token.to_string(),
        protocol: crate::protocol::PROTOCOL_VERSION,
        // The worker knows the pid from the supervisor.
        pid: 0,
        language: field("name").to_lowercase(),
        language_version: field("version"),
        executable: executable.to_string(),
        node: node.to_string(),
        cookie: None,
        otp_release: None,
    })
}

/// The agents' `completions` from a `complete_reply`. The kinds and
/// signatures come from IPython's `_jupyter_types_experimental` where it
/// is there (matched by text), else every match is `other`.
fn completions(id: u64, content: &Map<String, Value>) -> FromAgent {
    let position = |key: &str| content.get(key).and_then(Value::as_u64).map(|n| n as usize);
    let (Some(start), Some(end)) = (position("cursor_start"), position("cursor_end")) else {
        return FromAgent::Completions {
            id,
            start: 0,
            end: 0,
            matches: Vec::new(),
        };
    };
    let ok = content.get("status").and_then(Value::as_str) == Some("ok");
    let mut described: HashMap<&str, (CompletionKind, Option<String>)> = HashMap::new();
    let types = content
        .get("metadata")
        .and_then(|m| m.get("_jupyter_types_experimental"))
        .and_then(Value::as_array);
    for entry in types.into_iter().flatten() {
        let Some(text) = entry.get("text").and_then(Value::as_str) else {
            continue;
        };
        let kind = kernel_kind(entry.get("type").and_then(Value::as_str).unwrap_or(""));
        let signature = entry
            .get("signature")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        described.entry(text).or_insert((kind, signature));
    }
    let matches = match content.get("matches").and_then(Value::as_array) {
        Some(matches) if ok => matches
            .iter()
            .filter_map(Value::as_str)
            .take(crate::protocol::MAX_MATCHES)
            .map(|text| {
                let (kind, signature) = described.get(text).cloned().unwrap_or((CompletionKind::Other, None));
                Completion {
                    text: text.to_string(),
                    kind,
                    signature,
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    FromAgent::Completions {
        id,
        start,
        end,
        matches,
    }
}

/// IPython's (jedi's) completion types as Runyard's kinds.
fn kernel_kind(kind: &str) -> CompletionKind {
    match kind {
        "instance" | "statement" => CompletionKind::Variable,
        "param" => CompletionKind::Parameter,
        other => serde_json::from_value(Value::String(other.to_string())).unwrap_or(CompletionKind::Other),
    }
}

/// The agents' `documentation` from an `inspect_reply`: its `data` bundle,
/// with the ANSI colours IPython puts in `text/plain` taken out.
fn documentation(id: u64, content: &Map<String, Value>) -> FromAgent {
    let ok = content.get("status").and_then(Value::as_str) == Some("ok");
    let found = ok && content.get("found").and_then(Value::as_bool).unwrap_or(false);
    let mut bundle = bundle(content);
    if let Some(Value::String(plain)) = bundle.data.get_mut(crate::protocol::bundle::TEXT_PLAIN) {
        *plain = crate::text::strip_ansi(plain);
    }
    FromAgent::Documentation { id, found, bundle }
}

/// A kernel's text field: a string, or (nbformat style) a list of strings.
fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// A MIME bundle from `data` and `metadata`, with `text/plain` always there.
fn bundle(content: &Map<String, Value>) -> Bundle {
    let object = |key: &str| match content.get(key) {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let mut data = object("data");
    // nbformat allows text as a list of lines; Runyard's bundles hold strings.
    for value in data.values_mut() {
        if let Value::Array(items) = value
            && items.iter().all(Value::is_string)
        {
            *value = Value::String(text_of(Some(value)));
        }
    }
    if !data.get("text/plain").is_some_and(Value::is_string) {
        let kinds: Vec<&str> = data.keys().map(String::as_str).collect();
        let plain = format!("<{}>", kinds.join(", "));
        data.insert("text/plain".into(), Value::String(plain));
    }
    Bundle {
        data,
        metadata: object("metadata"),
    }
}

fn eval_error(content: &Map<String, Value>) -> EvalError {
    let text = |key: &str| cut(content.get(key).and_then(Value::as_str).unwrap_or("").to_string());
    let traceback: Vec<String> = match content.get("traceback") {
        Some(Value::Array(lines)) => lines
            .iter()
            .filter_map(Value::as_str)
            .map(crate::text::strip_ansi)
            .collect(),
        _ => Vec::new(),
    };
    let kind = text("ename");
    let message = text("evalue");
    let mut formatted = cut(traceback.join("\n"));
    if formatted.trim().is_empty() {
        formatted = if message.is_empty() {
            kind.clone()
        } else {
            format!("{kind}: {message}")
        };
    }
    if !formatted.ends_with('\n') {
        formatted.push('\n');
    }
    EvalError {
        kind: if kind.is_empty() { "Error".into() } else { kind },
        message,
        line: None,
        column: None,
        frames: Vec::new(),
        formatted,
    }
}

fn plain_error(kind: &str, message: &str) -> EvalError {
    EvalError {
        kind: kind.into(),
        message: message.into(),
        line: None,
        column: None,
        frames: Vec::new(),
        formatted: format!("{kind}: {message}\n"),
    }
}

/// At most [`MAX_TEXT`] characters.
fn cut(mut text: String) -> String {
    if let Some((at, _)) = text.char_indices().nth(MAX_TEXT) {
        text.truncate(at);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_always_have_plain_text() {
        let content = json!({"data": {"image/png": "iVBO"}, "metadata": 3});
        let bundle = bundle(content.as_object().unwrap());
        assert_eq!(bundle.data["text/plain"], "<image/png>");
        assert!(bundle.metadata.is_empty());
        let content = json!({"data": {"text/plain": ["a\n", "b"]}});
        assert_eq!(bundle_of(&content).data["text/plain"], "a\nb");
    }

    fn bundle_of(value: &Value) -> Bundle {
        bundle(value.as_object().unwrap())
    }

    #[test]
    fn completion_replies_take_kinds_from_ipythons_types_and_survive_garbage() {
        let reply = json!({
            "status": "ok", "cursor_start": 3, "cursor_end": 5,
            "matches": ["print", "prop", 7, "pow"],
            "metadata": {"_jupyter_types_experimental": [
                {"text": "print", "type": "function", "signature": "(*args)"},
                {"text": "prop", "type": "instance", "signature": ""},
                {"text": "pow", "type": "something new"},
            ]},
        });
        let FromAgent::Completions {
            start, end, matches, ..
        } = completions(9, reply.as_object().unwrap())
        else {
            panic!("not completions");
        };
        assert_eq!((start, end), (3, 5));
        let kinds: Vec<_> = matches.iter().map(|m| (m.text.as_str(), m.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("print", CompletionKind::Function),
                ("prop", CompletionKind::Variable),
                ("pow", CompletionKind::Other)
            ]
        );
        assert_eq!(matches[0].signature.as_deref(), Some("(*args)"));
        assert_eq!(matches[1].signature, None);
        let broken = json!({"status": "ok", "matches": "nope"});
        let FromAgent::Completions { matches, .. } = completions(9, broken.as_object().unwrap()) else {
            panic!("not completions");
        };
        assert!(matches.is_empty());
        let docs = json!({"status": "ok", "found": true, "data": {"text/plain": "\u{1b}[31mSignature:\u{1b}[0m f()"}});
        let FromAgent::Documentation { found, bundle, .. } = documentation(2, docs.as_object().unwrap()) else {
            panic!("not documentation");
        };
        assert!(found);
        assert_eq!(bundle.data["text/plain"], "Signature: f()");
    }

    #[test]
    fn errors_read_whatever_the_kernel_sent() {
        let error = eval_error(json!({"ename": 1, "traceback": [2, "x"]}).as_object().unwrap());
        assert_eq!(error.kind, "Error");
        assert_eq!(error.formatted, "x\n");
        let old = json!({"protocol_version": "4.1"});
        assert!(matches!(
            hello(old.as_object().unwrap(), "n", "t", "e"),
            Err(InitError::KernelProtocol { .. })
        ));
    }
}
