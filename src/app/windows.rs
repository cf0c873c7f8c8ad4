//! The windows over the notebook: runtime settings, the overview, the
//! shut-down-all question, logs and settings.

use super::{RunyardApp, configure, files, overview, settings_window, style};
use crate::session::Session;

impl RunyardApp {
    pub(super) fn dialogs(&mut self, ctx: &egui::Context) {
        if let Some(dialog) = &mut self.configure {
            // The suggestions follow the SSH config file named in the dialog.
            let wanted = dialog.suggestions_config();
            let outcome = dialog.show(ctx, self.runtimes.found.as_deref(), self.ssh_hosts.found.as_deref());
            self.refresh_ssh_hosts(wanted, false);
            match outcome {
                configure::Outcome::Open => {}
                configure::Outcome::Browse(configure::Browse::Interpreter) => self.pick(
                    files::Pick::Interpreter,
                    files::Ask::new(files::AskKind::OpenFile, "Choose the interpreter"),
                ),
                configure::Outcome::Browse(configure::Browse::WorkingDir) => self.pick(
                    files::Pick::WorkingDir,
                    files::Ask::new(files::AskKind::Folder, "Working directory"),
                ),
                configure::Outcome::Browse(configure::Browse::SshConfig) => self.pick(
                    files::Pick::SshConfig,
                    files::Ask::new(files::AskKind::OpenFile, "Choose an SSH config file"),
                ),
                configure::Outcome::Cancelled => self.configure = None,
                configure::Outcome::Applied {
                    session,
                    config,
                    choice,
                } => {
                    self.configure = None;
                    if let Some(s) = self.session_mut(session) {
                        s.choose_runtime(*config, choice);
                    }
                }
            }
        }
        if self.show_shortcuts {
            super::shortcuts_window::show(ctx, &mut self.show_shortcuts);
        }
        if let Some(palette) = &mut self.palette {
            let (chosen, open) = super::palette::show(ctx, palette);
            if !open {
                self.palette = None;
            }
            if let Some(action) = chosen {
                self.run_action(action, ctx);
            }
        }
        if self.show_overview {
            let mut open = true;
            let actions = overview::show(ctx, &mut open, &self.sessions);
            self.show_overview = open;
            for action in actions {
                match action {
                    overview::Action::Disconnect(ids) => {
                        for id in ids {
                            self.act(id, Session::disconnect);
                        }
                    }
                    overview::Action::Select(id) => self.selected = Some(id),
                    overview::Action::ShutDownAll => self.confirm_shutdown_all = true,
                }
            }
        }
        if self.confirm_shutdown_all {
            let live = self.sessions.iter().filter(|s| s.is_live()).count();
            let modal = egui::Modal::new(egui::Id::unique("confirm-shutdown-all")).show(ctx, |ui| {
                ui.heading("Shut down all runtimes?");
                ui.label(format!(
                    "{live} runtime{} will be disconnected; their variables are lost.",
                    if live == 1 { "" } else { "s" }
                ));
                ui.horizontal(|ui| {
                    if ui.button("Shut down").clicked() {
                        Some(true)
                    } else if ui.button("Cancel").clicked() {
                        Some(false)
                    } else {
                        None
                    }
                })
                .inner
            });
            if modal.should_close() || modal.inner == Some(false) {
                self.confirm_shutdown_all = false;
            } else if modal.inner == Some(true) {
                self.confirm_shutdown_all = false;
                self.shut_down_all();
            }
        }
        if self.confirm_close {
            self.close_dialog(ctx);
        }
        if let Some(view) = &mut self.logs
            && !view.show(ctx)
        {
            self.logs = None;
        }
        if self.show_settings {
            let mut open = true;
            if settings_window::show(ctx, &mut open, &mut self.settings) {
                style::apply_theme(ctx, self.settings.theme);
                self.save_settings();
            }
            self.show_settings = open;
        }
    }
}
