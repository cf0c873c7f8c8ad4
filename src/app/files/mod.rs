//! Notebook files in the window: open and save (`open_save`), files changed
//! by other programs (`outside`), autosave and restore (`autosave`), and the
//! sessions open at exit (`remembered`).

mod autosave;
mod open_save;
mod outside;
mod remembered;

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use super::RunyardApp;
use crate::manager::SessionId;
use crate::notebook::Language;
use crate::runtime::RuntimeConfig;

pub(super) use autosave::{Autosaver, Instance};

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

pub(super) fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The runtime a notebook's language asks for.
pub(super) fn config_for(app: &RunyardApp, language: &Language) -> (RuntimeConfig, Option<String>) {
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
