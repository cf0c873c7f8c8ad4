//! File work off the UI thread. Each task runs on a thread of its own and
//! its result comes back as a [`Done`] through one channel that the window
//! drains every frame; the egui context's repaint is the waker, as for the
//! manager's events. Nothing here waits on the UI thread except `Drop`.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::autosave::Restored;
use super::open_save::{Opened, Saved};
use super::outside::{OnDisk, Reloaded};
use super::pick::Picked;
use super::remembered::Started;

/// Wakes the window when a result is waiting.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// What a task reports back.
pub(in crate::app) enum Done {
    Started(Started),
    /// A big file's first cells, while the rest of it is parsed.
    Preview(super::open_save::Preview),
    Opened(Vec<Opened>),
    Saved(Box<Saved>),
    OutputSaved {
        path: std::path::PathBuf,
        error: Option<std::io::Error>,
    },
    Checked(Vec<OnDisk>),
    Reloaded(Box<Reloaded>),
    Restored(Vec<Result<Restored, String>>),
    Picked(Picked),
    /// Whether a native file dialog can open here, and if not, why.
    Dialogs(Result<(), String>),
    /// An HTML output went to the browser, or why not.
    BrowserOpened(Result<(), String>),
    /// The runtimes found on this computer (a refresh of the cache).
    Discovered(std::sync::Arc<crate::kernels::Discovered>),
    /// The hosts an SSH config names (`config`: `None` is the user's own).
    SshHosts {
        config: Option<std::path::PathBuf>,
        hosts: std::sync::Arc<crate::remote::ssh_hosts::SshHosts>,
    },
}

/// Whether the window waits for a task at exit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// File work: finished before the window goes (a save at exit is not cut short).
    Joined,
    /// A file dialog or a probe: it may wait on the user, so exit does not wait for it.
    Detached,
}

pub(in crate::app) struct Tasks {
    send: Sender<(Kind, Done)>,
    receive: Receiver<(Kind, Done)>,
    waker: Waker,
    running: Vec<JoinHandle<()>>,
    /// File work started and not yet taken back.
    pending: usize,
}

impl Tasks {
    pub(in crate::app) fn new(waker: Waker) -> Tasks {
        let (send, receive) = channel();
        Tasks {
            send,
            receive,
            waker,
            running: Vec::new(),
            pending: 0,
        }
    }

    /// Runs file work on a thread of its own.
    pub(in crate::app) fn spawn(&mut self, name: &str, work: impl FnOnce() -> Done + Send + 'static) {
        self.running.retain(|t| !t.is_finished());
        if let Some(thread) = self.start(Kind::Joined, name, work) {
            self.running.push(thread);
        }
        self.pending += 1;
    }

    /// Runs work that may wait on the user (a file dialog).
    pub(in crate::app) fn spawn_detached(&mut self, name: &str, work: impl FnOnce() -> Done + Send + 'static) {
        self.start(Kind::Detached, name, work);
    }

    fn start(&self, kind: Kind, name: &str, work: impl FnOnce() -> Done + Send + 'static) -> Option<JoinHandle<()>> {
        // The work is shared with the fallback below, as `spawn` consumes its closure.
        let slot = Arc::new(Mutex::new(Some(work)));
        let (send, waker, theirs) = (self.send.clone(), self.waker.clone(), slot.clone());
        let started = std::thread::Builder::new()
            .name(format!("runyard-{name}"))
            .spawn(move || {
                let work = theirs.lock().ok().and_then(|mut w| w.take());
                if let Some(work) = work {
                    let _ = send.send((kind, work()));
                    waker();
                }
            });
        match started {
            Ok(thread) => Some(thread),
            Err(err) => {
                // Late is better than never: a save the user asked for still happens.
                tracing::error!(%err, "no thread for {name}; running it on the UI thread");
                let work = slot.lock().ok().and_then(|mut w| w.take());
                if let Some(work) = work {
                    let _ = self.send.send((kind, work()));
                }
                None
            }
        }
    }

    /// For a task to send what it has before it ends (not counted as its result).
    pub(in crate::app) fn reporter(&self) -> Reporter {
        Reporter {
            send: self.send.clone(),
            waker: self.waker.clone(),
        }
    }

    /// The next result, if one is waiting.
    pub(in crate::app) fn next(&mut self) -> Option<Done> {
        let (kind, done) = self.receive.try_recv().ok()?;
        if kind == Kind::Joined {
            self.pending = self.pending.saturating_sub(1);
        }
        Some(done)
    }

    /// File work is in flight.
    pub(in crate::app) fn busy(&self) -> bool {
        self.pending > 0
    }
}

/// Sends a task's intermediate results to the window.
pub(in crate::app) struct Reporter {
    send: Sender<(Kind, Done)>,
    waker: Waker,
}

impl Reporter {
    pub(in crate::app) fn send(&self, done: Done) {
        if self.send.send((Kind::Detached, done)).is_ok() {
            (self.waker)();
        }
    }
}

impl Drop for Tasks {
    /// A save or a write started before exit completes (atomic writes leave
    /// no half file either way, but the user asked for it).
    fn drop(&mut self) {
        for thread in self.running.drain(..) {
            let _ = thread.join();
        }
    }
}
