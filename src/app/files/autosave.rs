//! Autosaves of unsaved work, written off the UI thread, and restoring
//! those of a Runyard that did not exit cleanly.

use std::path::PathBuf;
use std::sync::Arc;

use super::super::RunyardApp;
use super::remembered::{Cookie, Remembered, read_cookie};
use super::tasks::Done;
use crate::fsutil::{self, LockFile};
use crate::manager::SessionId;
use crate::notebook::atomic::write_private;
use crate::notebook::{self, Format, Notebook};
use crate::settings::{Dirs, Settings};

/// This running Runyard, as its autosaves name it: a random id and an flock
/// on `<autosave dir>/<id>.lock`, held until exit. The kernel drops the lock
/// when the process dies however it dies, so "is its owner still running?"
/// is "can the lock be taken?" — on Linux and macOS alike, and not fooled by
/// a new process that got the dead one's pid.
#[derive(Debug)]
pub struct Instance {
    pub id: String,
    _lock: Option<LockFile>,
}

/// A random id for this window's autosaves: no secret, only unique, so a
/// failing random source falls back to the pid.
fn instance_id() -> String {
    crate::runtime::short_id().unwrap_or_else(|_| format!("pid{}", std::process::id()))
}

impl Instance {
    pub fn start(dirs: &Dirs) -> Instance {
        let dir = RunyardApp::autosave_dir(dirs);
        // Random ids never collide with a dead instance's files; a second
        // try covers the rare lock file swept away while being taken.
        for _ in 0..3 {
            let id = instance_id();
            match LockFile::acquire(&dir.join(format!("{id}.lock"))) {
                Ok(lock) => return Instance { id, _lock: Some(lock) },
                Err(err) => tracing::debug!(%err, "retrying the instance lock"),
            }
        }
        // Autosaves still work; another Runyard started meanwhile may offer them.
        tracing::warn!(dir = %dir.display(), "cannot take an instance lock for autosaves");
        Instance {
            id: instance_id(),
            _lock: None,
        }
    }
}

/// What the autosave writer does, in the order asked (a removal after a
/// write of the same session removes what that write wrote).
pub(in crate::app) enum AutosaveJob {
    Write {
        id: SessionId,
        revision: u64,
        notebook: (PathBuf, Vec<u8>),
        manifest: (PathBuf, Vec<u8>),
    },
    Remove {
        stem: PathBuf,
    },
    /// A secret for the secret store (an attached node's cookie).
    Secret {
        key: String,
        secret: String,
    },
    /// One of Runyard's own files (0600), such as the sessions list.
    Private {
        path: PathBuf,
        bytes: Vec<u8>,
        what: &'static str,
    },
    Settings {
        path: PathBuf,
        settings: Box<Settings>,
    },
}

/// What the autosave thread reports back.
pub(in crate::app) enum Report {
    WriteFailed {
        id: SessionId,
        revision: u64,
        error: std::io::Error,
    },
    SecretStored,
    SecretFailed {
        key: String,
        error: crate::secrets::SecretError,
    },
    SettingsFailed(String),
}

/// Autosaves are written on a thread of their own: a notebook can be tens
/// of megabytes, and the window must not stall every 5 s for it. Secrets
/// are stored there too: the secret store may wait on D-Bus or a prompt.
pub(in crate::app) struct Autosaver {
    jobs: Option<std::sync::mpsc::Sender<AutosaveJob>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub(in crate::app) reports: std::sync::mpsc::Receiver<Report>,
}

impl Autosaver {
    pub(in crate::app) fn start(secrets: std::sync::Arc<crate::secrets::SecretStore>) -> Autosaver {
        let (jobs, receive) = std::sync::mpsc::channel::<AutosaveJob>();
        let (report, reports) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("runyard-autosave".into())
            .spawn(move || {
                for job in receive {
                    match job {
                        AutosaveJob::Write {
                            id,
                            revision,
                            notebook,
                            manifest,
                        } => {
                            let written = write_private(&notebook.0, &notebook.1)
                                .and_then(|_| write_private(&manifest.0, &manifest.1));
                            if let Err(error) = written {
                                let _ = report.send(Report::WriteFailed { id, revision, error });
                            }
                        }
                        AutosaveJob::Remove { stem } => {
                            for ext in ["json", "ipynb", "livemd"] {
                                let _ = std::fs::remove_file(stem.with_extension(ext));
                            }
                        }
                        AutosaveJob::Private { path, bytes, what } => {
                            if let Err(err) = write_private(&path, &bytes) {
                                tracing::warn!(%err, "cannot write {what}");
                            }
                        }
                        AutosaveJob::Settings { path, settings } => {
                            if let Err(err) = crate::settings::save(&path, &settings) {
                                tracing::error!("{err}");
                                let _ = report.send(Report::SettingsFailed(err.to_string()));
                            }
                        }
                        AutosaveJob::Secret { key, secret } => {
                            let _ = report.send(match secrets.set(&key, &secret) {
                                Ok(()) => Report::SecretStored,
                                Err(error) => Report::SecretFailed { key, error },
                            });
                        }
                    }
                }
            });
        let thread = match thread {
            Ok(thread) => Some(thread),
            Err(err) => {
                tracing::error!(%err, "the autosave thread could not start; unsaved work is not autosaved");
                None
            }
        };
        Autosaver {
            jobs: thread.as_ref().map(|_| jobs),
            thread,
            reports,
        }
    }

    pub(in crate::app) fn send(&self, job: AutosaveJob) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }
}

impl Drop for Autosaver {
    /// Finishes what was asked (at exit: the removals) before the lock that
    /// marks these autosaves as this instance's is released.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl RunyardApp {
    pub(in crate::app) fn autosave_dir(dirs: &Dirs) -> PathBuf {
        dirs.data.join("autosave")
    }

    pub(in crate::app) fn autosave_stem(&self, id: SessionId) -> PathBuf {
        Self::autosave_dir(&self.dirs).join(format!("{}-{}", self.instance.id, id.0))
    }

    /// The runtime settings as written to disk: an attached node's cookie
    /// Writes every session with unsaved changes to the autosave folder.
    pub fn autosave(&mut self) {
        let dirty: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|s| s.is_dirty() && self.files.autosaved.get(&s.id) != Some(&s.revision()))
            .map(|s| s.id)
            .collect();
        for id in dirty {
            let Some(session) = self.session(id) else { continue };
            let stem = self.autosave_stem(id);
            let format = if session.config.language() == "elixir" {
                Format::Livemd
            } else {
                Format::Ipynb
            };
            let notebook_path = stem.with_extension(format.extension());
            let (name, file, config) = (session.name.clone(), session.file.clone(), session.config.clone());
            let revision = session.revision();
            let text = notebook::to_string(format, &session.to_notebook());
            let remembered = Remembered {
                name,
                file,
                config: self.config_for_disk(&config),
                scroll: 0.0,
            };
            let manifest = serde_json::to_vec_pretty(&remembered).expect("serialisable");
            // Marked at once so that the next frame does not queue it again;
            // a failure reported back unmarks it, so it is tried again.
            self.files.autosaved.insert(id, revision);
            self.autosaver.send(AutosaveJob::Write {
                id,
                revision,
                notebook: (notebook_path, text.into_bytes()),
                manifest: (stem.with_extension("json"), manifest),
            });
        }
    }

    /// Takes the autosave writer's reports: a failed write is tried again.
    pub(in crate::app) fn autosave_results(&mut self) {
        while let Ok(report) = self.autosaver.reports.try_recv() {
            match report {
                Report::WriteFailed { id, revision, error } => {
                    tracing::warn!(%error, "autosave failed");
                    if self.files.autosaved.get(&id) == Some(&revision) {
                        self.files.autosaved.remove(&id);
                    }
                }
                Report::SecretStored => self.tell_where_secrets_are(),
                Report::SettingsFailed(error) => self.notice = Some(error),
                Report::SecretFailed { key, error } => {
                    // Never in plain text instead: it is asked for again after a restart.
                    tracing::warn!(%error, "the attached node's cookie was not stored");
                    self.files.secrets_stored.remove(&key);
                    self.notice = Some(format!(
                        "The attached node's cookie could not be stored ({error}); it will be asked for again next time."
                    ));
                }
            }
        }
    }

    pub(in crate::app) fn remove_autosave(&mut self, id: SessionId) {
        let stem = self.autosave_stem(id);
        self.autosaver.send(AutosaveJob::Remove { stem });
        self.files.autosaved.remove(&id);
    }

    /// Autosaves left by a Runyard that did not exit cleanly: those whose
    /// instance lock (`<instance>.lock`, see [`Instance`]) no one holds. Lock
    /// files of dead instances are swept on the way.
    pub fn orphaned_autosaves(dirs: &Dirs) -> Vec<PathBuf> {
        let dir = Self::autosave_dir(dirs);
        if let Err(err) = fsutil::private_dir(&dir) {
            tracing::warn!(%err, dir = %dir.display(), "the autosave folder cannot be made private");
        }
        notebook::atomic::remove_stale_temporaries_in(&dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        let mut found: Vec<PathBuf> = paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter(|p| {
                let owner = p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.split('-').next());
                owner.is_none_or(|owner| !fsutil::is_locked(&dir.join(format!("{owner}.lock"))))
            })
            .cloned()
            .collect();
        for lock in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "lock")) {
            fsutil::remove_if_unlocked(lock);
        }
        found.sort();
        found
    }

    /// Opens the autosaves found at start as sessions with unsaved changes
    /// (read in the background; see [`RunyardApp::restored`]).
    pub fn restore_autosaves(&mut self) {
        let manifests = std::mem::take(&mut self.pending_restore);
        let secrets = Arc::clone(&self.secrets);
        self.tasks.spawn("restore", move || {
            Done::Restored(manifests.iter().map(|m| restore(m, &secrets)).collect())
        });
    }

    pub(in crate::app) fn restored(&mut self, restored: Vec<Result<Restored, String>>) {
        for result in restored {
            match result {
                Ok(Restored {
                    remembered,
                    notebook,
                    cookie,
                }) => {
                    self.cookie_read(cookie);
                    let id = self.open_notebook(&notebook, remembered.config, None);
                    if let Some(session) = self.session_mut(id) {
                        session.name = remembered.name;
                        session.file = remembered.file;
                        session.mark_unsaved();
                    }
                    self.selected = Some(id);
                }
                Err(message) => self.notice = Some(message),
            }
        }
    }

    pub fn discard_autosaves(&mut self) {
        for manifest in std::mem::take(&mut self.pending_restore) {
            self.autosaver.send(AutosaveJob::Remove {
                stem: manifest.with_extension(""),
            });
        }
    }
}

/// An autosave read back for restoring.
pub(in crate::app) struct Restored {
    remembered: Remembered,
    notebook: Notebook,
    cookie: Cookie,
}

/// Reads one autosave (in a task); once read, its files are removed: the
/// restored session is unsaved, so it is autosaved again within seconds.
fn restore(manifest: &std::path::Path, secrets: &crate::secrets::SecretStore) -> Result<Restored, String> {
    let remembered: Option<Remembered> = std::fs::read(manifest)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let notebook_path = ["ipynb", "livemd"]
        .iter()
        .map(|ext| manifest.with_extension(ext))
        .find(|p| p.exists());
    let (Some(mut remembered), Some(path)) = (remembered, notebook_path) else {
        return Err(format!(
            "An autosave could not be restored: {} is incomplete",
            manifest.display()
        ));
    };
    let notebook = notebook::open(&path).map_err(|err| format!("An autosave could not be restored: {err}"))?;
    let cookie;
    (remembered.config, cookie) = read_cookie(secrets, remembered.config);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(manifest);
    Ok(Restored {
        remembered,
        notebook,
        cookie,
    })
}
