//! The sessions open at exit, reopened at start; runtime settings as
//! written to disk, with an attached node's cookie in the secret store.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::super::RunyardApp;
use super::autosave::AutosaveJob;
use crate::notebook::{self, atomic::write_private};
use crate::runtime::{RuntimeConfig, RuntimeKind};
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

impl RunyardApp {
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

    /// The runtime settings read from disk, with the cookie from the store.
    pub(in crate::app) fn config_from_disk(&mut self, mut config: RuntimeConfig) -> RuntimeConfig {
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

    pub(in crate::app) fn sessions_file(dirs: &Dirs) -> PathBuf {
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
