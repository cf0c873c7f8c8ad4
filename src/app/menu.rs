//! The menu bar and the keyboard shortcuts that do what its items do.

use super::{RunyardApp, logs, new_session_buttons};
use crate::session::Session;

const OPEN: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
const SAVE: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::S);
const SAVE_AS: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT), egui::Key::S);
const QUIT: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Q);
const EVALUATE_ALL: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT), egui::Key::Enter);
const FIND: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::F);
const INTERRUPT: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT), egui::Key::I);
impl RunyardApp {
    pub(super) fn file_menu(&mut self, ui: &mut egui::Ui) {
        let selected = self.selected;
        let ctx = ui.ctx().clone();
        let shortcut = |sc: &egui::KeyboardShortcut| ctx.format_shortcut(sc);
        if ui
            .add(egui::Button::new("Open…").shortcut_text(shortcut(&OPEN)))
            .clicked()
        {
            self.open_dialog();
        }
        ui.menu_button("Open recent", |ui| {
            if self.settings.recent_files.is_empty() {
                ui.label(egui::RichText::new("Nothing yet").weak());
            }
            for path in self.settings.recent_files.clone() {
                if ui.button(path.display().to_string()).clicked() {
                    self.open_files(&[path]);
                }
            }
        });
        ui.separator();
        let save = egui::Button::new("Save").shortcut_text(shortcut(&SAVE));
        if ui.add_enabled(selected.is_some(), save).clicked()
            && let Some(id) = selected
        {
            self.save(id);
        }
        let save_as = egui::Button::new("Save As…").shortcut_text(shortcut(&SAVE_AS));
        if ui.add_enabled(selected.is_some(), save_as).clicked()
            && let Some(id) = selected
        {
            self.save_as(id);
        }
        ui.separator();
        if ui
            .add_enabled(selected.is_some(), egui::Button::new("Close session"))
            .clicked()
            && let Some(id) = selected
        {
            self.close_session(id);
        }
        ui.separator();
        if ui
            .add(egui::Button::new("Quit").shortcut_text(shortcut(&QUIT)))
            .clicked()
        {
            self.quit(&ctx);
        }
    }

    /// Keyboard shortcuts that act on the selected session, wherever the focus is.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        if ctx.input_mut(|i| i.consume_shortcut(&QUIT)) {
            self.quit(ctx);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&OPEN)) {
            self.open_dialog();
        }
        if let Some(id) = self.selected {
            if ctx.input_mut(|i| i.consume_shortcut(&SAVE_AS)) {
                self.save_as(id);
            } else if ctx.input_mut(|i| i.consume_shortcut(&SAVE)) {
                self.save(id);
            }
        }
        let Some(id) = self.selected else { return };
        if ctx.input_mut(|i| i.consume_shortcut(&EVALUATE_ALL)) {
            self.act(id, Session::evaluate_all);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&INTERRUPT)) {
            self.act(id, Session::interrupt);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&FIND)) {
            self.notebooks.entry(id).or_default().find.open();
        }
    }

    pub(super) fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu(ui));
            ui.menu_button("Session", |ui| {
                new_session_buttons(ui, |runtime| self.new_session(runtime));
                ui.separator();
                if ui.button("Settings…").clicked() {
                    self.show_settings = true;
                }
            });
            ui.menu_button("Notebook", |ui| {
                let selected = self.selected;
                let session = selected.and_then(|id| self.session(id));
                let has = session.is_some();
                let can_interrupt = session.is_some_and(Session::can_interrupt);
                let can_undo = session.is_some_and(Session::can_undo_delete);
                let evaluate_all =
                    egui::Button::new("Evaluate all").shortcut_text(ui.ctx().format_shortcut(&EVALUATE_ALL));
                if ui.add_enabled(has, evaluate_all).clicked()
                    && let Some(id) = selected
                {
                    self.act(id, Session::evaluate_all);
                }
                let interrupt = egui::Button::new("Interrupt").shortcut_text(ui.ctx().format_shortcut(&INTERRUPT));
                if ui.add_enabled(can_interrupt, interrupt).clicked()
                    && let Some(id) = selected
                {
                    self.act(id, Session::interrupt);
                }
                let find = egui::Button::new("Find…").shortcut_text(ui.ctx().format_shortcut(&FIND));
                if ui.add_enabled(has, find).clicked()
                    && let Some(id) = selected
                {
                    self.notebooks.entry(id).or_default().find.open();
                }
                ui.separator();
                if ui.add_enabled(has, egui::Button::new("Clear all outputs")).clicked()
                    && let Some(id) = selected
                {
                    self.act(id, |s| {
                        s.clear_all_outputs();
                        Vec::new()
                    });
                }
                if ui.add_enabled(can_undo, egui::Button::new("Undo delete")).clicked()
                    && let Some(id) = selected
                {
                    self.act(id, |s| {
                        s.undo_delete();
                        Vec::new()
                    });
                }
            });
            ui.menu_button("Runtimes", |ui| {
                if ui.button("Runtimes overview").clicked() {
                    self.show_overview = true;
                }
                let any_live = self.sessions.iter().any(Session::is_live);
                if ui.add_enabled(any_live, egui::Button::new("Shut down all…")).clicked() {
                    self.confirm_shutdown_all = true;
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.button("Keyboard shortcuts").clicked() {
                    self.show_shortcuts = true;
                }
                if ui.button("View logs").clicked() {
                    self.logs = Some(logs::LogsView::open(&self.log_path));
                }
                ui.label(format!("Runyard {}", env!("CARGO_PKG_VERSION")));
            });
            if let Some(saving) = self.saving_label() {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.add(egui::Spinner::new());
                    ui.label(saving);
                });
            }
        });
    }
}
