//! Files changed by another program: reloaded, or the user is asked. The
//! check and the reload read the disk in background tasks.

use std::path::PathBuf;
use std::time::SystemTime;

use super::super::RunyardApp;
use super::tasks::Done;
use super::{FileInfo, modified, read};
use crate::manager::SessionId;
use crate::notebook::{Notebook, NotebookError};

/// A session's file as the check found it.
pub(in crate::app) struct OnDisk {
    id: SessionId,
    path: PathBuf,
    modified: Option<SystemTime>,
}

/// A file read again for its session.
pub(in crate::app) struct Reloaded {
    id: SessionId,
    path: PathBuf,
    /// The session's revision when the reload was asked for.
    revision: u64,
    read: Result<(Notebook, FileInfo), NotebookError>,
}

impl RunyardApp {
    /// Looks (in the background) for files changed on disk by another program.
    pub fn check_outside_changes(&mut self) {
        let files: Vec<(SessionId, PathBuf)> = self
            .sessions
            .iter()
            .filter_map(|s| s.file.clone().map(|f| (s.id, f)))
            .collect();
        if files.is_empty() {
            return;
        }
        self.tasks.spawn("check-files", move || {
            Done::Checked(
                files
                    .into_iter()
                    .map(|(id, path)| OnDisk {
                        id,
                        modified: modified(&path),
                        path,
                    })
                    .collect(),
            )
        });
    }

    /// Reloads files changed on disk: at once when their session has no
    /// unsaved changes, otherwise the user is asked.
    pub(in crate::app) fn checked(&mut self, on_disk: Vec<OnDisk>) {
        let mut reload = Vec::new();
        for OnDisk { id, path, modified } in on_disk {
            let Some(session) = self.sessions.iter().find(|s| s.id == id) else {
                continue;
            };
            // Our own save may have changed it; its result sets the time.
            if session.file.as_ref() != Some(&path) || self.files.saving.iter().any(|s| s.id == id) {
                continue;
            }
            let (Some(now), Some(known)) = (modified, self.files.modified.get(&id)) else {
                continue;
            };
            if now != *known && !self.files.conflicts.contains(&id) {
                if session.is_dirty() {
                    self.files.conflicts.push(id);
                    self.files.changed_on_disk.insert(id, now);
                } else {
                    reload.push(id);
                }
            }
        }
        for id in reload {
            self.reload(id);
        }
    }

    /// Replaces a session's notebook with its file's contents (read in the background).
    pub fn reload(&mut self, id: SessionId) {
        let Some(session) = self.session(id) else { return };
        let Some(path) = session.file.clone() else { return };
        let revision = session.revision();
        self.tasks.spawn("reload", move || {
            Done::Reloaded(Box::new(Reloaded {
                id,
                read: read(&path),
                path,
                revision,
            }))
        });
    }

    pub(in crate::app) fn reloaded(&mut self, reloaded: Reloaded) {
        let Reloaded {
            id,
            path,
            revision,
            read,
        } = reloaded;
        let Some(session) = self.session_mut(id) else { return };
        if session.file.as_ref() != Some(&path) {
            return;
        }
        match read {
            // Edited while the file was read: the edits are not thrown away unasked.
            Ok((_, info)) if session.revision() != revision => {
                if !self.files.conflicts.contains(&id) {
                    self.files.conflicts.push(id);
                }
                if let Some(time) = info.modified {
                    self.files.changed_on_disk.insert(id, time);
                }
            }
            Ok((notebook, info)) => {
                session.replace_notebook(&notebook);
                if let Some(time) = info.modified {
                    self.files.modified.insert(id, time);
                }
                self.files.conflicts.retain(|c| *c != id);
                self.files.changed_on_disk.remove(&id);
            }
            Err(err) => self.notice = Some(format!("{} changed on disk and cannot be read: {err}", path.display())),
        }
    }

    /// Keeps the version in the window; the next save overwrites the file.
    pub fn keep_mine(&mut self, id: SessionId) {
        if let Some(time) = self.files.changed_on_disk.remove(&id) {
            self.files.modified.insert(id, time);
        }
        self.files.conflicts.retain(|c| *c != id);
    }
}
