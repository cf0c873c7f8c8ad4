//! Open, save and save as; the recent files.

use crate::text::capitalise;
use std::path::{Path, PathBuf};

use super::super::RunyardApp;
use super::{config_for, modified};
use crate::manager::SessionId;
use crate::notebook::{self, Format, Notebook};
use crate::runtime::RuntimeConfig;
use crate::session::Session;

const MAX_RECENT: usize = 10;

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

    pub(in crate::app) fn open_notebook(
        &mut self,
        notebook: &Notebook,
        config: RuntimeConfig,
        file: Option<PathBuf>,
    ) -> SessionId {
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

    pub(in crate::app) fn remember_recent(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let recent = &mut self.settings.recent_files;
        recent.retain(|p| *p != path);
        recent.insert(0, path);
        recent.truncate(MAX_RECENT);
        self.save_settings();
    }
}
