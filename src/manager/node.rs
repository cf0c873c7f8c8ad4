//! The I/O tasks of one runtime process: reading frames from its stdout,
//! writing frames to its stdin, keeping its stderr tail, and waiting for it to
//! end. They report to the worker through one channel, in order.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedReadHalf;
use tokio::net::unix::pipe::Receiver;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::protocol::capture::{CaptureDecoder, Captured};
use crate::protocol::{Decoded, FrameDecoder, Stream};
use crate::runtime::supervisor::Report;
use crate::runtime::{Capture, ExitInfo, StderrTail};

pub(super) type NodeId = u64;

/// What a node's tasks tell the worker.
#[derive(Debug)]
pub(super) enum NodeMsg {
    /// The supervisor started the runtime.
    Started {
        pid: u32,
    },
    /// The supervisor could not start the runtime.
    SpawnFailed {
        errno: i32,
        message: String,
    },
    Decoded(Vec<Decoded>),
    Captured(Stream, Vec<Captured>),
    CaptureClosed(Stream),
    StdoutClosed,
    /// The runtime ended; sent after everything it wrote was read.
    Exited {
        exit: ExitInfo,
        peak_rss: Option<u64>,
        /// The supervisor ended without reporting the runtime's end: `exit`
        /// is the supervisor's.
        supervisor_lost: bool,
    },
    HelloTimeout,
    /// What `squeue` says of a Slurm node's job.
    Job(crate::remote::JobInfo),
    /// `squeue` could not say (it failed, or does not list the job).
    JobUnknown,
    /// A kernel's bridge cannot go on (it cannot connect, or the kernel
    /// speaks a protocol older than 5.0).
    KernelFailed(crate::runtime::InitError),
    StopGraceOver,
    /// A `complete` or `inspect` went unanswered for `QUERY_TIMEOUT`.
    QueryTimeout {
        id: u64,
    },
    InterruptGraceOver {
        epoch: u64,
    },
    StdoutClosedGraceOver,
}

pub(super) type Internal = (NodeId, NodeMsg);

/// How long to wait, after the runtime ended, for its pipes to be read out.
/// Its supervisor kills what it left, so they close at once unless a process
/// is stuck in the kernel.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(250);
/// A report line longer than this is not one of the supervisor's.
const MAX_REPORT: u64 = 4096;

/// The streams of one started node, for `supervise`.
pub(super) struct Streams {
    pub supervisor: Child,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
    pub reports: OwnedReadHalf,
    pub capture: Option<Capture>,
}

/// Starts the tasks that watch one node.
pub(super) fn supervise(
    id: NodeId,
    name: String,
    streams: Streams,
    tail: StderrTail,
    internal: UnboundedSender<Internal>,
) {
    let Streams {
        mut supervisor,
        stdout,
        stderr,
        reports,
        capture,
    } = streams;
    let mut readers = vec![
        tokio::spawn(read_frames(id, stdout, internal.clone())),
        tokio::spawn(read_stderr(name.clone(), stderr, tail)),
    ];
    if let Some(capture) = capture {
        for (stream, pipe) in [(Stream::Stdout, capture.stdout), (Stream::Stderr, capture.stderr)] {
            let decoder = CaptureDecoder::new(&capture.key);
            readers.push(tokio::spawn(read_capture(id, stream, pipe, decoder, internal.clone())));
        }
    }
    tokio::spawn(async move {
        let mut ended = None;
        let mut reports = BufReader::new(reports).take(MAX_REPORT);
        let mut line = String::new();
        loop {
            line.clear();
            reports.set_limit(MAX_REPORT);
            match reports.read_line(&mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let msg = match Report::parse(&line) {
                Some(Report::Started { pid }) => NodeMsg::Started { pid },
                Some(Report::SpawnFailed { errno, message }) => NodeMsg::SpawnFailed { errno, message },
                Some(Report::Exited { code, signal, peak_rss }) => {
                    ended = Some((ExitInfo { code, signal }, peak_rss));
                    break;
                }
                None => {
                    tracing::warn!(node = %name, "unexpected report from the supervisor: {line:?}");
                    continue;
                }
            };
            let _ = internal.send((id, msg));
        }
        for task in readers {
            let abort = task.abort_handle();
            if tokio::time::timeout(DRAIN_TIMEOUT, task).await.is_err() {
                abort.abort();
            }
        }
        let status = match supervisor.wait().await {
            Ok(status) => ExitInfo::from(status),
            Err(err) => {
                tracing::error!(node = %name, %err, "could not wait for the supervisor");
                ExitInfo {
                    code: None,
                    signal: None,
                }
            }
        };
        let msg = match ended {
            Some((exit, peak_rss)) => NodeMsg::Exited {
                exit,
                peak_rss,
                supervisor_lost: false,
            },
            None => NodeMsg::Exited {
                exit: status,
                peak_rss: None,
                supervisor_lost: true,
            },
        };
        let _ = internal.send((id, msg));
    });
}

async fn read_frames(id: NodeId, mut stdout: ChildStdout, internal: UnboundedSender<Internal>) {
    let mut decoder = FrameDecoder::default();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match stdout.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut items = Vec::new();
        decoder.push(&buf[..n], &mut items);
        if !items.is_empty() && internal.send((id, NodeMsg::Decoded(items))).is_err() {
            return;
        }
    }
    let mut items = Vec::new();
    decoder.finish(&mut items);
    if !items.is_empty() {
        let _ = internal.send((id, NodeMsg::Decoded(items)));
    }
    let _ = internal.send((id, NodeMsg::StdoutClosed));
}

async fn read_capture(
    id: NodeId,
    stream: Stream,
    mut pipe: Receiver,
    mut decoder: CaptureDecoder,
    internal: UnboundedSender<Internal>,
) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut items = Vec::new();
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        decoder.push(&buf[..n], &mut items);
        if !items.is_empty()
            && internal
                .send((id, NodeMsg::Captured(stream, std::mem::take(&mut items))))
                .is_err()
        {
            return;
        }
    }
    decoder.finish(&mut items);
    if !items.is_empty() {
        let _ = internal.send((id, NodeMsg::Captured(stream, items)));
    }
    let _ = internal.send((id, NodeMsg::CaptureClosed(stream)));
}

async fn read_stderr(name: String, stderr: ChildStderr, tail: StderrTail) {
    // Lines are capped so that a runtime writing one endless line cannot grow
    // this buffer without bound.
    let mut reader = BufReader::new(stderr).take(u64::MAX);
    let mut line = Vec::new();
    loop {
        line.clear();
        reader.set_limit(64 * 1024);
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                tracing::info!(target: "runyard::runtime_stderr", node = %name, "{}", text.trim_end());
                tail.push(&text);
            }
        }
    }
}

/// Writes queued frames to the process's stdin, coalescing what is waiting.
pub(super) async fn write_frames(mut stdin: ChildStdin, mut frames: UnboundedReceiver<Vec<u8>>) {
    while let Some(mut batch) = frames.recv().await {
        while let Ok(more) = frames.try_recv() {
            batch.extend_from_slice(&more);
        }
        if stdin.write_all(&batch).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
    // Dropping stdin closes it: the agent sees EOF and exits.
}

/// Sends `msg` about node `id` to the worker after `delay`.
pub(super) fn after(
    delay: Duration,
    id: NodeId,
    msg: NodeMsg,
    internal: &UnboundedSender<Internal>,
) -> tokio::task::AbortHandle {
    let internal = internal.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _ = internal.send((id, msg));
    })
    .abort_handle()
}
