//! The bars above the notebook: the manager's failure, a notice, questions
//! about files; and the welcome page when no session is selected.

use std::sync::Arc;

use super::{RunyardApp, new_session_buttons, style};
use crate::manager::{Command, Manager};

impl RunyardApp {
    /// Questions about files: unsaved work to restore, a file changed on disk.
    pub(super) fn file_prompts(&mut self, ui: &mut egui::Ui) {
        if !self.pending_restore.is_empty() {
            let n = self.pending_restore.len();
            prompt_frame(ui, |ui| {
                ui.colored_label(
                    style::WARNING_TEXT,
                    format!(
                        "Runyard did not exit cleanly: {n} notebook{} had unsaved changes.",
                        if n == 1 { "" } else { "s" }
                    ),
                );
                if ui.button("Restore").clicked() {
                    self.restore_autosaves();
                }
                if ui.button("Discard").clicked() {
                    self.discard_autosaves();
                }
            });
        }
        let conflict = self.selected.filter(|id| self.files.conflicts.contains(id));
        if let Some(id) = conflict {
            let file = self.session(id).and_then(|s| s.file.clone()).unwrap_or_default();
            prompt_frame(ui, |ui| {
                ui.colored_label(
                    style::WARNING_TEXT,
                    format!(
                        "{} changed on disk, and this notebook has unsaved changes.",
                        file.display()
                    ),
                );
                if ui.button("Reload from disk").clicked() {
                    self.reload(id);
                }
                if ui.button("Keep mine").clicked() {
                    self.keep_mine(id);
                }
            });
        }
    }

    /// The manager thread failed: nothing runs until a new one is started.
    pub(super) fn failure_bar(&mut self, ui: &mut egui::Ui) {
        let Some(failure) = self.manager_failure.clone() else {
            return;
        };
        egui::Frame::new()
            .fill(style::ERROR_FILL)
            .inner_margin(6.0)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(style::ERROR_TEXT, failure);
                    if ui.button("Restart the runtime manager").clicked() {
                        self.restart_manager(ui.ctx());
                    }
                });
            });
    }

    pub(super) fn restart_manager(&mut self, ctx: &egui::Context) {
        let ctx = ctx.clone();
        match Manager::start(Arc::new(move || ctx.request_repaint())) {
            Ok(manager) => {
                self.manager = Some(manager);
                self.manager_failure = None;
            }
            Err(err) => self.manager_failure = Some(format!("The runtime manager could not be restarted: {err}")),
        }
    }

    /// Makes the manager thread fail, to test what the user then sees.
    #[doc(hidden)]
    pub fn inject_manager_panic(&self) {
        self.send(vec![Command::InjectPanic]);
    }

    pub(super) fn notice_bar(&mut self, ui: &mut egui::Ui) {
        let Some(notice) = self.notice.clone() else { return };
        egui::Frame::new()
            .fill(style::WARNING_FILL)
            .inner_margin(6.0)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(style::WARNING_TEXT, notice);
                    if ui.small_button("Dismiss").clicked() {
                        self.notice = None;
                    }
                });
            });
    }

    pub(super) fn welcome(&mut self, ui: &mut egui::Ui) {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() * 0.25);
            ui.heading("Welcome to Runyard");
            ui.add_space(8.0);
            ui.label("Each session evaluates its code in a runtime process of its own.");
            ui.label("Start a session, write some Python, and press Shift+Enter.");
            ui.add_space(16.0);
            new_session_buttons(ui, |runtime| self.new_session(runtime));
            ui.add_space(4.0);
            if ui.button("Runtimes overview").clicked() {
                self.show_overview = true;
            }
            ui.add_space(4.0);
            if ui.button("Settings…").clicked() {
                self.show_settings = true;
            }
        });
    }
}

fn prompt_frame(ui: &mut egui::Ui, add: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::new()
        .fill(style::WARNING_FILL)
        .inner_margin(6.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(add);
        });
}
