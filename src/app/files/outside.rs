//! Files changed by another program: reloaded, or the user is asked.

use super::super::RunyardApp;
use super::modified;
use crate::manager::SessionId;
use crate::notebook;

impl RunyardApp {
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
}
