//! Help › Keyboard shortcuts: every key, read from the tables that the keys
//! themselves are dispatched from (command mode, the menus) or that sit
//! beside their code (the editor's).

use super::{command_mode, editor_keys, menu};

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
                ui.add_space(8.0);
                ui.strong("Menus");
                table(
                    ui,
                    "menus",
                    menu::ACTIONS.iter().filter_map(|a| {
                        let sc = a.shortcut?;
                        Some((ctx.format_shortcut(&sc), format!("{} › {}", a.menu, a.name)))
                    }),
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
