//! The sessions open at exit, reopened at start; runtime settings as
//! written to disk, with an attached node's cookie in the secret store.
//! Reading them back (and the cookie, which may wait on D-Bus) is a task
//! started with the window; writing them is the autosave writer's.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::super::RunyardApp;
use super::autosave::AutosaveJob;
use super::tasks::Done;
use super::{FileInfo, read};
use crate::notebook::{Notebook, NotebookError};
use crate::runtime::{RuntimeConfig, RuntimeKind};
use crate::secrets::SecretStore;
use crate::settings::Dirs;

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

/// The store key of an attached node's cookie: one per node, as a node has one cookie.
fn cookie_key(node: &str) -> String {
    format!("elixir-cookie:{}", node.trim())
}

/// What reading a cookie back found.
pub(in crate::app) enum Cookie {
    NotNeeded,
    Found { key: String, cookie: String },
    Failed(String),
}

/// Fills in an attached node's cookie from the store (in a task: the store
/// may wait on D-Bus or an unlock prompt).
pub(in crate::app) fn read_cookie(secrets: &SecretStore, mut config: RuntimeConfig) -> (RuntimeConfig, Cookie) {
    let RuntimeKind::ElixirAttached(attached) = &mut config.kind else {
        return (config, Cookie::NotNeeded);
    };
    if !attached.cookie.is_empty() || attached.node.trim().is_empty() {
        return (config, Cookie::NotNeeded);
    }
    let key = cookie_key(&attached.node);
    let found = match secrets.get(&key) {
        Ok(Some(cookie)) => {
            attached.cookie = cookie.clone();
            Cookie::Found { key, cookie }
        }
        Ok(None) => Cookie::NotNeeded,
        Err(err) => Cookie::Failed(err.to_string()),
    };
    (config, found)
}

/// A session of the last run, read back.
pub(in crate::app) struct Reopen {
    entry: Remembered,
    path: PathBuf,
    read: Result<(Notebook, FileInfo), NotebookError>,
    cookie: Cookie,
}

/// What the window finds at start: the sessions open at the last exit, and
/// autosaves of a Runyard that did not exit cleanly.
pub(in crate::app) struct Started {
    reopen: Vec<Reopen>,
    orphans: Vec<PathBuf>,
}

fn sessions_file(dirs: &Dirs) -> PathBuf {
    dirs.data.join("sessions.json")
}

/// Reads the sessions file and what it names (in a task).
fn read_sessions(dirs: &Dirs, secrets: &SecretStore) -> Vec<Reopen> {
    let Ok(bytes) = std::fs::read(sessions_file(dirs)) else {
        return Vec::new();
    };
    let remembered: Vec<Remembered> = match serde_json::from_slice(&bytes) {
        Ok(list) => list,
        Err(err) => {
            tracing::warn!(%err, "the list of sessions from the last run is unreadable");
            return Vec::new();
        }
    };
    let mut reopen: Vec<Reopen> = Vec::new();
    for mut entry in remembered {
        let Some(path) = entry.file.clone() else { continue };
        if reopen.iter().any(|r| r.path == path) {
            continue;
        }
        let read = read(&path);
        let mut cookie = Cookie::NotNeeded;
        if read.is_ok() {
            (entry.config, cookie) = read_cookie(secrets, entry.config);
        }
        reopen.push(Reopen {
            entry,
            path,
            read,
            cookie,
        });
    }
    reopen
}

impl RunyardApp {
    /// The runtime settings as written to disk: an attached node's cookie
    /// goes to the secret store instead and is blank in the file.
    pub(in crate::app) fn config_for_disk(&mut self, config: &RuntimeConfig) -> RuntimeConfig {
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

    /// Takes a cookie read back in a task.
    pub(in crate::app) fn cookie_read(&mut self, cookie: Cookie) {
        match cookie {
            Cookie::NotNeeded => {}
            Cookie::Found { key, cookie } => {
                self.files.secrets_stored.insert(key, cookie);
                self.tell_where_secrets_are();
            }
            Cookie::Failed(err) => {
                tracing::warn!(%err, "the attached node's cookie could not be read");
                self.notice = Some(format!("The attached node's cookie could not be read: {err}"));
            }
        }
    }

    /// Says once, in the window as in the log, where secrets are kept when
    /// it is not the system's store. (Called once the store was used, off
    /// this thread: its first use probes it.)
    pub(in crate::app) fn tell_where_secrets_are(&mut self) {
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

    /// Remembers the sessions that have a file, to reopen them next time
    /// (0600, and without secrets: those go to the secret store). Written by
    /// the autosave writer, which finishes before the window goes.
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
        self.autosaver.send(AutosaveJob::Private {
            path: sessions_file(&self.dirs),
            bytes,
            what: "the list of open sessions",
        });
    }

    /// Starts reading what the last run left: its sessions (reopened,
    /// disconnected) and autosaves to offer; then opens `open`.
    pub(in crate::app) fn start_reading(&mut self, open: Vec<PathBuf>) {
        self.open_at_start = open;
        let (dirs, secrets) = (self.dirs.clone(), Arc::clone(&self.secrets));
        self.tasks.spawn("start", move || {
            Done::Started(Started {
                orphans: RunyardApp::orphaned_autosaves(&dirs),
                reopen: read_sessions(&dirs, &secrets),
            })
        });
    }

    pub(in crate::app) fn started_read(&mut self, started: Started) {
        self.pending_restore = started.orphans;
        for Reopen {
            entry,
            path,
            read,
            cookie,
        } in started.reopen
        {
            if self.sessions.iter().any(|s| s.file.as_deref() == Some(path.as_path())) {
                continue;
            }
            match read {
                Ok((notebook, info)) => {
                    self.cookie_read(cookie);
                    let id = self.open_notebook(&notebook, entry.config, Some((path, info)));
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
        let open = std::mem::take(&mut self.open_at_start);
        self.open_files(&open);
    }
}
