//! Closing the window: unsaved notebooks are saved or discarded first, and
//! at exit the open sessions are remembered.

use super::RunyardApp;
use crate::manager::SessionId;
use crate::session::Session;

impl RunyardApp {
    /// Save / Discard / Cancel when the window closes with unsaved changes.
    pub(super) fn close_dialog(&mut self, ctx: &egui::Context) {
        let unsaved: Vec<(SessionId, String)> = self
            .sessions
            .iter()
            .filter(|s| s.is_dirty())
            .map(|s| (s.id, s.name.clone()))
            .collect();
        let modal = egui::Modal::new(egui::Id::unique("confirm-close")).show(ctx, |ui| {
            ui.heading("Save changes before closing?");
            for (_, name) in &unsaved {
                ui.label(format!("• {name}"));
            }
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    Some(CloseChoice::Save)
                } else if ui.button("Discard").clicked() {
                    Some(CloseChoice::Discard)
                } else if ui.button("Cancel").clicked() {
                    Some(CloseChoice::Cancel)
                } else {
                    None
                }
            })
            .inner
        });
        let choice = if modal.should_close() {
            Some(CloseChoice::Cancel)
        } else {
            modal.inner
        };
        match choice {
            Some(CloseChoice::Save) => {
                self.confirm_close = false;
                let ids: Vec<SessionId> = unsaved.iter().map(|(id, _)| *id).collect();
                for id in &ids {
                    self.save(*id);
                }
                // Saves run in the background: the window closes when they are done.
                self.close_after_saves = Some(ids);
                self.continue_close(ctx);
            }
            Some(CloseChoice::Discard) => {
                self.confirm_close = false;
                self.close_now(ctx);
            }
            Some(CloseChoice::Cancel) => self.confirm_close = false,
            None => {}
        }
    }

    /// After "Save" at close: closes once every notebook asked for is saved;
    /// stays open if a save failed or Save As was cancelled (the notice says why).
    pub(super) fn continue_close(&mut self, ctx: &egui::Context) {
        let Some(ids) = &self.close_after_saves else { return };
        if ids.iter().any(|id| self.is_saving(*id)) {
            return;
        }
        let all_saved = ids.iter().all(|id| self.session(*id).is_none_or(|s| !s.is_dirty()));
        self.close_after_saves = None;
        if all_saved {
            self.close_now(ctx);
        }
    }

    /// File › Quit and Ctrl+Q: the same as closing the window.
    pub(super) fn quit(&mut self, ctx: &egui::Context) {
        if self.closing || self.confirm_close {
            return;
        }
        if self.sessions.iter().any(Session::is_dirty) {
            self.confirm_close = true;
        } else {
            self.close_now(ctx);
        }
    }

    pub(super) fn close_now(&mut self, ctx: &egui::Context) {
        self.closing = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    /// Holds a close request while notebooks have unsaved changes.
    pub(super) fn intercept_close(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && !self.closing && self.sessions.iter().any(Session::is_dirty)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        }
    }

    /// At exit: remember the open sessions; this run's autosaves are no
    /// longer needed (closing was confirmed).
    pub(super) fn leave(&mut self) {
        self.remember_sessions();
        let ids: Vec<SessionId> = self.sessions.iter().map(|s| s.id).collect();
        for id in ids {
            self.remove_autosave(id);
        }
    }
}

enum CloseChoice {
    Save,
    Discard,
    Cancel,
}
