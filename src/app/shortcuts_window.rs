//! Help › Keyboard shortcuts: every key, read from the table that the keys
//! themselves are dispatched from (command mode) or that sits beside their
//! code (the editor's).

use super::{command_mode, editor_keys};

pub fn show(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .default_width(420.0)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.strong("Command mode (a cell selected, no editor focused)");
                table(
                    ui,
                    "command",
                    command_mode::BINDINGS
                        .iter()
                        .map(|b| (command_mode::keys_text(b), b.what.to_string())),
                );
                ui.add_space(8.0);
                ui.strong("Editor");
                table(
                    ui,
                    "editor",
                    editor_keys::KEYS.iter().map(|(k, w)| (k.to_string(), w.to_string())),
                );
            });
        });
}

fn table(ui: &mut egui::Ui, id: &str, rows: impl Iterator<Item = (String, String)>) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        for (keys, what) in rows {
            ui.monospace(keys);
            ui.label(what);
            ui.end_row();
        }
    });
}
