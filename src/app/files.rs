//! Notebook files in the window: open, save, save as, recent files, reload
//! after outside changes, autosave and restore, and the sessions open at exit.

use crate::text::capitalise;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::RunyardApp;
use crate::fsutil::{self, LockFile};
use crate::manager::SessionId;
use crate::notebook::atomic::write_private;
use crate::notebook::{self, Format, Language, Notebook};
use crate::runtime::{RuntimeConfig, RuntimeKind};
use crate::session::Session;
use crate::settings::Dirs;

const MAX_RECENT: usize = 10;

/// A session as remembered between runs (its file and runtime settings).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Remembered {
    pub name: String,
    /// The notebook file; for an autosave, the file it belongs to, if any.
    pub file: Option<PathBuf>,
    pub config: RuntimeConfig,
    #[serde(default)]
    pub scroll: f32,
}

/// What the app tracks per open file.
#[derive(Debug, Default)]
pub struct FileState {
    /// When each session's file was last read or written by us.
    pub modified: HashMap<SessionId, SystemTime>,
    /// The revision last autosaved, per session.
    pub autosaved: HashMap<SessionId, u64>,
    /// Files changed on disk while their session has unsaved changes.
    pub conflicts: Vec<SessionId>,
    /// Secrets known to be in the store already (key → value), so that an
    /// autosave every few seconds does not write them again.
    pub secrets_stored: HashMap<String, String>,
    /// The user was told where secrets are kept (the fallback file).
    pub secrets_told: bool,
}

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
pub(super) enum AutosaveJob {
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
}

/// What the autosave thread reports back.
pub(super) enum Report {
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
}

/// Autosaves are written on a thread of their own: a notebook can be tens
/// of megabytes, and the window must not stall every 5 s for it. Secrets
/// are stored there too: the secret store may wait on D-Bus or a prompt.
pub(super) struct Autosaver {
    jobs: Option<std::sync::mpsc::Sender<AutosaveJob>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub(super) reports: std::sync::mpsc::Receiver<Report>,
}

impl Autosaver {
    pub(super) fn start(secrets: std::sync::Arc<crate::secrets::SecretStore>) -> Autosaver {
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

    pub(super) fn send(&self, job: AutosaveJob) {
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

/// The store key of an attached node's cookie: one per node, as a node has one cookie.
fn cookie_key(node: &str) -> String {
    format!("elixir-cookie:{}", node.trim())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The runtime a notebook's language asks for.
fn config_for(app: &RunyardApp, language: &Language) -> (RuntimeConfig, Option<String>) {
    match language {
        Language::Python => (app.settings.python_config(), None),
        Language::Elixir => (app.settings.with_defaults(RuntimeConfig::elixir()), None),
        Language::Other(name) => (
            app.settings.python_config(),
            Some(format!(
                "This notebook's language is {name}, which Runyard cannot run yet; it opens with Python."
            )),
        ),
    }
}

impl RunyardApp {
    /// Opens notebook files as new sessions; a file that cannot be read is
    /// reported (and left as it is).
    pub fn open_files(&mut self, paths: &[PathBuf]) {
        for path in paths {
            if let Some(existing) = self.sessions.iter().find(|s| s.file.as_deref() == Some(path.as_path())) {
                self.selected = Some(existing.id);
                continue;
            }
            match notebook::open(path) {
                Ok(notebook) => {
                    let (config, warning) = config_for(self, &notebook.language);
                    let id = self.open_notebook(&notebook, config, Some(path.clone()));
                    if let Some(warning) = warning {
                        self.notice = Some(warning);
                    }
                    self.selected = Some(id);
                }
                Err(err) => {
                    tracing::warn!("{err}");
                    self.notice = Some(capitalise(&err.to_string()));
                }
            }
        }
    }

    fn open_notebook(&mut self, notebook: &Notebook, config: RuntimeConfig, file: Option<PathBuf>) -> SessionId {
        let id = self.next_session_id();
        let name = file
            .as_deref()
            .and_then(Path::file_stem)
            .map(|s| s.to_string_lossy().into_owned())
            .or_else(|| notebook.title.clone())
            .unwrap_or_else(|| format!("Notebook {}", id.0));
        let mut session = Session::from_notebook(id, name, config, notebook);
        if let Some(path) = &file {
            session.file = Some(path.clone());
            if let Some(time) = modified(path) {
                self.files.modified.insert(id, time);
            }
            self.remember_recent(path);
        }
        self.sessions.push(session);
        id
    }

    pub fn open_dialog(&mut self) {
        let dialog = rfd::FileDialog::new()
            .set_title("Open notebook")
            .add_filter("Notebooks", &["ipynb", "livemd", "py"]);
        if let Some(paths) = dialog.pick_files() {
            self.open_files(&paths);
        }
    }

    /// Saves a session to its file, or asks where. False if it was not saved.
    pub fn save(&mut self, id: SessionId) -> bool {
        match self.session(id).and_then(|s| s.file.clone()) {
            Some(path) => self.save_to(id, &path),
            None => self.save_as(id),
        }
    }

    pub fn save_as(&mut self, id: SessionId) -> bool {
        let Some(session) = self.session(id) else { return false };
        let native = if session.config.language() == "elixir" {
            Format::Livemd
        } else {
            Format::Ipynb
        };
        let mut dialog = rfd::FileDialog::new().set_title("Save notebook").set_file_name(format!(
            "{}.{}",
            session.name,
            native.extension()
        ));
        // The native format first: a dialog picks its first filter.
        let mut formats = vec![native];
        formats.extend(Format::ALL.into_iter().filter(|f| *f != native));
        for format in formats {
            dialog = dialog.add_filter(format.label(), &[format.extension()]);
        }
        match dialog.save_file() {
            Some(path) => {
                let path = if Format::from_path(&path).is_none() {
                    path.with_extension(native.extension())
                } else {
                    path
                };
                self.save_to(id, &path)
            }
            None => false,
        }
    }

    /// Writes the session's notebook to `path` (atomically); the format
    /// follows the extension.
    pub fn save_to(&mut self, id: SessionId, path: &Path) -> bool {
        let Some(session) = self.session(id) else { return false };
        let notebook = session.to_notebook();
        let revision = session.revision();
        match notebook::save(path, &notebook) {
            Ok(()) => {
                // Read back what the format kept, so the next save starts from it.
                let written = notebook::open(path).unwrap_or(notebook);
                if let Some(session) = self.session_mut(id) {
                    let renamed = session.file.as_deref() != Some(path);
                    session.saved_as(path.to_path_buf(), &written, revision);
                    if renamed && let Some(stem) = path.file_stem() {
                        session.name = stem.to_string_lossy().into_owned();
                    }
                }
                if let Some(time) = modified(path) {
                    self.files.modified.insert(id, time);
                }
                self.files.conflicts.retain(|c| *c != id);
                self.remove_autosave(id);
                self.remember_recent(path);
                true
            }
            Err(err) => {
                tracing::error!("{err}");
                self.notice = Some(capitalise(&err.to_string()));
                false
            }
        }
    }

    fn remember_recent(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let recent = &mut self.settings.recent_files;
        recent.retain(|p| *p != path);
        recent.insert(0, path);
        recent.truncate(MAX_RECENT);
        self.save_settings();
    }

    /// Reloads files changed on disk by another program: at once when their
    /// session has no unsaved changes, otherwise the user is asked.
    pub fn check_outside_changes(&mut self) {
        let mut reload = Vec::new();
        for session in &self.sessions {
            let Some(path) = &session.file else { continue };
            let (Some(now), Some(known)) = (modified(path), self.files.modified.get(&session.id)) else {
                continue;
            };
            if now != *known && !self.files.conflicts.contains(&session.id) {
                if session.is_dirty() {
                    self.files.conflicts.push(session.id);
                } else {
                    reload.push(session.id);
                }
            }
        }
        for id in reload {
            self.reload(id);
        }
    }

    /// Replaces a session's notebook with its file's contents.
    pub fn reload(&mut self, id: SessionId) {
        let Some(path) = self.session(id).and_then(|s| s.file.clone()) else {
            return;
        };
        match notebook::open(&path) {
            Ok(notebook) => {
                if let Some(session) = self.session_mut(id) {
                    session.replace_notebook(&notebook);
                }
                if let Some(time) = modified(&path) {
                    self.files.modified.insert(id, time);
                }
                self.files.conflicts.retain(|c| *c != id);
            }
            Err(err) => self.notice = Some(format!("{} changed on disk and cannot be read: {err}", path.display())),
        }
    }

    /// Keeps the version in the window; the next save overwrites the file.
    pub fn keep_mine(&mut self, id: SessionId) {
        if let Some(path) = self.session(id).and_then(|s| s.file.clone())
            && let Some(time) = modified(&path)
        {
            self.files.modified.insert(id, time);
        }
        self.files.conflicts.retain(|c| *c != id);
    }

    // --- Autosave and restore. ---

    fn autosave_dir(dirs: &Dirs) -> PathBuf {
        dirs.data.join("autosave")
    }

    fn autosave_stem(&self, id: SessionId) -> PathBuf {
        Self::autosave_dir(&self.dirs).join(format!("{}-{}", self.instance.id, id.0))
    }

    /// The runtime settings as written to disk: an attached node's cookie
    /// goes to the secret store instead and is blank in the file.
    fn config_for_disk(&mut self, config: &RuntimeConfig) -> RuntimeConfig {
        let mut config = config.clone();
        let RuntimeKind::ElixirAttached(attached) = &mut config.kind else {
            return config;
        };
        let cookie = std::mem::take(&mut attached.cookie);
        if cookie.is_empty() {
            return config;
        }
        let key = cookie_key(&attached.node);
        if self.files.secrets_stored.get(&key) != Some(&cookie) {
            // Stored off the UI thread (D-Bus, perhaps an unlock prompt);
            // marked at once, unmarked if it fails (see `autosave_results`).
            self.files.secrets_stored.insert(key.clone(), cookie.clone());
            self.autosaver.send(AutosaveJob::Secret { key, secret: cookie });
        }
        config
    }

    /// The runtime settings read from disk, with the cookie from the store.
    fn config_from_disk(&mut self, mut config: RuntimeConfig) -> RuntimeConfig {
        let RuntimeKind::ElixirAttached(attached) = &mut config.kind else {
            return config;
        };
        if !attached.cookie.is_empty() || attached.node.trim().is_empty() {
            return config;
        }
        let key = cookie_key(&attached.node);
        match self.secrets.get(&key) {
            Ok(Some(cookie)) => {
                attached.cookie = cookie.clone();
                self.files.secrets_stored.insert(key, cookie);
                self.tell_where_secrets_are();
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(%err, "the attached node's cookie could not be read");
                self.notice = Some(format!("The attached node's cookie could not be read: {err}"));
            }
        }
        config
    }

    /// Says once, in the window as in the log, where secrets are kept when
    /// it is not the system's store.
    fn tell_where_secrets_are(&mut self) {
        if self.files.secrets_told {
            return;
        }
        self.files.secrets_told = true;
        if let crate::secrets::Backend::File { .. } = self.secrets.backend() {
            self.notice = Some(format!(
                "The attached node's cookie is kept in {}.",
                self.secrets.backend().describe()
            ));
        }
    }

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
    pub(super) fn autosave_results(&mut self) {
        while let Ok(report) = self.autosaver.reports.try_recv() {
            match report {
                Report::WriteFailed { id, revision, error } => {
                    tracing::warn!(%error, "autosave failed");
                    if self.files.autosaved.get(&id) == Some(&revision) {
                        self.files.autosaved.remove(&id);
                    }
                }
                Report::SecretStored => self.tell_where_secrets_are(),
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

    pub(super) fn remove_autosave(&mut self, id: SessionId) {
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

    /// Opens the autosaves found at start as sessions with unsaved changes.
    pub fn restore_autosaves(&mut self) {
        for manifest in std::mem::take(&mut self.pending_restore) {
            let remembered: Option<Remembered> = std::fs::read(&manifest)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let notebook_path = ["ipynb", "livemd"]
                .iter()
                .map(|ext| manifest.with_extension(ext))
                .find(|p| p.exists());
            match (remembered, notebook_path) {
                (Some(remembered), Some(path)) => match notebook::open(&path) {
                    Ok(notebook) => {
                        let config = self.config_from_disk(remembered.config);
                        let id = self.open_notebook(&notebook, config, None);
                        if let Some(session) = self.session_mut(id) {
                            session.name = remembered.name;
                            session.file = remembered.file;
                            session.mark_unsaved();
                        }
                        self.selected = Some(id);
                        let _ = std::fs::remove_file(&path);
                        let _ = std::fs::remove_file(&manifest);
                    }
                    Err(err) => self.notice = Some(format!("An autosave could not be restored: {err}")),
                },
                _ => {
                    self.notice = Some(format!(
                        "An autosave could not be restored: {} is incomplete",
                        manifest.display()
                    ))
                }
            }
        }
    }

    pub fn discard_autosaves(&mut self) {
        for manifest in std::mem::take(&mut self.pending_restore) {
            for ext in ["json", "ipynb", "livemd"] {
                let _ = std::fs::remove_file(manifest.with_extension(ext));
            }
        }
    }

    // --- The sessions open at exit. ---

    fn sessions_file(dirs: &Dirs) -> PathBuf {
        dirs.data.join("sessions.json")
    }

    /// Remembers the sessions that have a file, to reopen them next time
    /// (0600, and without secrets: those go to the secret store).
    pub fn remember_sessions(&mut self) {
        let with_files: Vec<(String, PathBuf, RuntimeConfig, f32)> = self
            .sessions
            .iter()
            .filter_map(|s| {
                let scroll = self.scroll.get(&s.id).copied().unwrap_or(0.0);
                s.file
                    .clone()
                    .map(|file| (s.name.clone(), file, s.config.clone(), scroll))
            })
            .collect();
        let remembered: Vec<Remembered> = with_files
            .into_iter()
            .map(|(name, file, config, scroll)| Remembered {
                name,
                file: Some(file),
                config: self.config_for_disk(&config),
                scroll,
            })
            .collect();
        let bytes = serde_json::to_vec_pretty(&remembered).expect("serialisable");
        if let Err(err) = write_private(&Self::sessions_file(&self.dirs), &bytes) {
            tracing::warn!(%err, "cannot remember the open sessions");
        }
    }

    /// Reopens the sessions open at the last exit, disconnected.
    pub fn reopen_sessions(&mut self) {
        let Ok(bytes) = std::fs::read(Self::sessions_file(&self.dirs)) else {
            return;
        };
        let remembered: Vec<Remembered> = match serde_json::from_slice(&bytes) {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(%err, "the list of sessions from the last run is unreadable");
                return;
            }
        };
        for entry in remembered {
            let Some(path) = entry.file else { continue };
            if self.sessions.iter().any(|s| s.file.as_deref() == Some(path.as_path())) {
                continue;
            }
            match notebook::open(&path) {
                Ok(notebook) => {
                    let config = self.config_from_disk(entry.config);
                    let id = self.open_notebook(&notebook, config, Some(path));
                    if entry.scroll > 0.0 {
                        self.scroll_to.insert(id, entry.scroll);
                    }
                    if let Some(session) = self.session_mut(id) {
                        session.name = entry.name;
                    }
                }
                Err(err) => tracing::warn!("not reopened: {err}"),
            }
        }
        if self.selected.is_none() {
            self.selected = self.sessions.first().map(|s| s.id);
        }
    }
}
