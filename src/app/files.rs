//! Notebook files in the window: open, save, save as, recent files, reload
//! after outside changes, autosave and restore, and the sessions open at exit.

use crate::text::capitalise;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::RunyardApp;
use crate::manager::SessionId;
use crate::notebook::{self, Format, Language, Notebook};
use crate::runtime::RuntimeConfig;
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
        Self::autosave_dir(&self.dirs).join(format!("{}-{}", std::process::id(), id.0))
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
            let remembered = Remembered {
                name: session.name.clone(),
                file: session.file.clone(),
                config: session.config.clone(),
                scroll: 0.0,
            };
            let revision = session.revision();
            let text = notebook::to_string(format, &session.to_notebook());
            let manifest = serde_json::to_vec_pretty(&remembered).expect("serialisable");
            let result = notebook::atomic::write_atomically(&notebook_path, text.as_bytes())
                .and_then(|_| notebook::atomic::write_atomically(&stem.with_extension("json"), &manifest));
            match result {
                Ok(()) => {
                    self.files.autosaved.insert(id, revision);
                }
                Err(err) => tracing::warn!(%err, "autosave failed"),
            }
        }
    }

    pub(super) fn remove_autosave(&mut self, id: SessionId) {
        let stem = self.autosave_stem(id);
        for ext in ["json", "ipynb", "livemd"] {
            let _ = std::fs::remove_file(stem.with_extension(ext));
        }
        self.files.autosaved.remove(&id);
    }

    /// Autosaves left by a Runyard that did not exit cleanly (and is not
    /// running any more).
    pub fn orphaned_autosaves(dirs: &Dirs) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(Self::autosave_dir(dirs)) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter(|p| {
                let pid = p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.split('-').next());
                pid.and_then(|p| p.parse::<u32>().ok())
                    .is_none_or(|pid| !process_is_runyard(pid))
            })
            .collect();
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
                        let id = self.open_notebook(&notebook, remembered.config, None);
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

    /// Remembers the sessions that have a file, to reopen them next time.
    pub fn remember_sessions(&self) {
        let remembered: Vec<Remembered> = self
            .sessions
            .iter()
            .filter_map(|s| {
                s.file.as_ref().map(|file| Remembered {
                    name: s.name.clone(),
                    file: Some(file.clone()),
                    config: s.config.clone(),
                    scroll: self.scroll.get(&s.id).copied().unwrap_or(0.0),
                })
            })
            .collect();
        let bytes = serde_json::to_vec_pretty(&remembered).expect("serialisable");
        if let Err(err) = notebook::atomic::write_atomically(&Self::sessions_file(&self.dirs), &bytes) {
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
                    let id = self.open_notebook(&notebook, entry.config, Some(path));
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

/// Whether `pid` is a running Runyard (so its autosaves are not orphans). A
/// killed one may linger as a zombie until it is reaped: that counts as gone.
fn process_is_runyard(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state …`: comm may hold spaces and parentheses.
    let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
        return false;
    };
    let state = stat[close + 1..].split_whitespace().next();
    stat[open + 1..close].starts_with("runyard") && !matches!(state, Some("Z" | "X"))
}
