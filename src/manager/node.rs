//! The I/O tasks of one runtime process: reading frames from its stdout,
//! writing frames to its stdin, keeping its stderr tail, and waiting for it to
//! end. They report to the worker through one channel, in order.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::protocol::{Decoded, FrameDecoder};
use crate::runtime::{ExitInfo, StderrTail};

pub(super) type NodeId = u64;

/// What a node's tasks tell the worker.
#[derive(Debug)]
pub(super) enum NodeMsg {
    Decoded(Vec<Decoded>),
    StdoutClosed,
    /// The process ended; sent after everything it wrote to stdout was read.
    Exited(ExitInfo),
    HelloTimeout,
    StopGraceOver,
    InterruptGraceOver {
        epoch: u64,
    },
    StdoutClosedGraceOver,
}

pub(super) type Internal = (NodeId, NodeMsg);

/// How long to wait, after the process ended, for its pipes to be read out.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(250);

/// Starts the tasks that watch one process.
pub(super) fn supervise(
    id: NodeId,
    name: String,
    mut child: Child,
    stdout: ChildStdout,
    stderr: ChildStderr,
    tail: StderrTail,
    internal: UnboundedSender<Internal>,
) {
    let reader = tokio::spawn(read_frames(id, stdout, internal.clone()));
    let stderr_reader = tokio::spawn(read_stderr(name.clone(), stderr, tail));
    tokio::spawn(async move {
        let exit = match child.wait().await {
            Ok(status) => ExitInfo::from(status),
            Err(err) => {
                tracing::error!(node = %name, %err, "could not wait for the runtime process");
                ExitInfo {
                    code: None,
                    signal: None,
                }
            }
        };
        for task in [reader, stderr_reader] {
            let abort = task.abort_handle();
            if tokio::time::timeout(DRAIN_TIMEOUT, task).await.is_err() {
                abort.abort();
            }
        }
        let _ = internal.send((id, NodeMsg::Exited(exit)));
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
