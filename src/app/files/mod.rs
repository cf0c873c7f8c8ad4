//! Notebook files in the window: open and save (`open_save`), files changed
//! by other programs (`outside`), autosave and restore (`autosave`), the
//! sessions open at exit (`remembered`), choosing paths (`pick`, and
//! `probe`: can a dialog open). The disk is touched only by background
//! tasks (`tasks`) and the autosave writer; their results come back to
//! [`RunyardApp::file_results`] each frame.

mod autosave;
mod exports;
mod open_save;
mod outside;
mod pick;
mod probe;
mod remembered;
mod tasks;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::RunyardApp;
use crate::manager::SessionId;
use crate::notebook::{self, Language, Notebook, NotebookError};
use crate::runtime::RuntimeConfig;

pub(super) use autosave::{AutosaveJob, Autosaver, Instance};
pub(super) use open_save::Preview;
pub(super) use pick::{Ask, AskKind, Dialogs, Pick};
pub(super) use tasks::{Done, Tasks};

/// What the app tracks per open file.
#[derive(Default)]
pub struct FileState {
    /// When each session's file was last read or written by us.
    pub modified: HashMap<SessionId, SystemTime>,
    /// The revision last autosaved, per session.
    pub autosaved: HashMap<SessionId, u64>,
    /// Files changed on disk while their session has unsaved changes.
    pub conflicts: Vec<SessionId>,
    /// When those files were changed, for "Keep mine".
    pub(super) changed_on_disk: HashMap<SessionId, SystemTime>,
    /// Secrets known to be in the store already (key → value), so that an
    /// autosave every few seconds does not write them again.
    pub secrets_stored: HashMap<String, String>,
    /// The user was told where secrets are kept (the fallback file).
    pub secrets_told: bool,
    /// Saves being written, and those waiting for one of the same session or file.
    pub(super) saving: Vec<open_save::SaveJob>,
    pub(super) queued_saves: Vec<open_save::SaveJob>,
    pub(super) picking: pick::Picking,
    /// Test hook: each save waits this long before writing.
    pub(super) slow_saves: Duration,
    /// Big files being opened, their first cells read.
    pub(super) previews: Vec<open_save::Preview>,
    /// The preview shown instead of the selected session, while the
    /// selection stays what it was when it was shown.
    pub(super) shown_preview: Option<(PathBuf, Option<SessionId>)>,
    pub(super) preview_markdown: egui_commonmark::CommonMarkCache,
    /// Test hook: an open waits this long after its preview.
    pub(super) slow_opens: Duration,
}

/// What a task learnt about a file besides its notebook.
pub(in crate::app) struct FileInfo {
    pub modified: Option<SystemTime>,
    /// Symlinks and `..` resolved, for the recent files.
    pub canonical: PathBuf,
}

impl FileInfo {
    pub(in crate::app) fn of(path: &Path) -> FileInfo {
        FileInfo {
            modified: modified(path),
            canonical: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        }
    }
}

/// Reads a notebook file (in a task).
pub(in crate::app) fn read(path: &Path) -> Result<(Notebook, FileInfo), NotebookError> {
    let notebook = notebook::open(path)?;
    Ok((notebook, FileInfo::of(path)))
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

impl RunyardApp {
    /// Takes what background file work finished since the last frame.
    pub(super) fn file_results(&mut self) {
        while let Some(done) = self.tasks.next() {
            match done {
                Done::Started(started) => self.started_read(started),
                Done::Preview(preview) => {
                    self.files.shown_preview = Some((preview.path.clone(), self.selected));
                    self.files.previews.push(preview);
                }
                Done::Opened(opened) => self.opened(opened),
                Done::Saved(saved) => self.saved(*saved),
                Done::OutputSaved { path, error } => self.output_saved(&path, error),
                Done::Checked(on_disk) => self.checked(on_disk),
                Done::Reloaded(reloaded) => self.reloaded(*reloaded),
                Done::Restored(restored) => self.restored(restored),
                Done::Picked(picked) => self.picked(picked),
                Done::Dialogs(result) => self.dialogs_probed(result),
                Done::BrowserOpened(result) => {
                    if let Err(why) = result {
                        self.notice = Some(why);
                    }
                }
                Done::Discovered(found) => self.discovered(found, false),
                Done::SshHosts { config, hosts } => self.ssh_hosts_read(config, hosts),
            }
        }
    }

    /// Which preview to show in place of the selected session.
    pub(super) fn shown_preview(&self) -> Option<usize> {
        let (path, selected) = self.files.shown_preview.as_ref()?;
        if *selected != self.selected {
            return None;
        }
        self.files.previews.iter().position(|p| &p.path == path)
    }

    /// The selected session is shown again, not a file being opened.
    pub(super) fn hide_preview(&mut self) {
        self.files.shown_preview = None;
    }

    /// Shows the `i`-th preview (its row in the sessions list was clicked).
    pub(super) fn show_preview(&mut self, i: usize) {
        if let Some(preview) = self.files.previews.get(i) {
            self.files.shown_preview = Some((preview.path.clone(), self.selected));
        }
    }

    /// File work is in flight (reading, saving, reloading).
    pub fn files_busy(&self) -> bool {
        self.tasks.busy()
    }

    /// Checks in the background whether a native file dialog can open.
    pub(super) fn probe_dialogs(&mut self, available: bool) {
        if !available {
            self.files.picking.dialogs = Dialogs::Missing("No file dialog can open here.".into());
            return;
        }
        self.tasks
            .spawn_detached("dialog-probe", || Done::Dialogs(probe::probe()));
    }
}
