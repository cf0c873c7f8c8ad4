//! The app's settings: defaults for new sessions, and the theme.

use crate::settings::{OUTPUT_MIB, Settings, TABLE_ROWS, Theme};

/// Shows the settings; true when something changed (to save and apply).
pub fn show(ctx: &egui::Context, open: &mut bool, settings: &mut Settings) -> bool {
    let mut changed = false;
    egui::Window::new("Settings")
        .open(open)
        .collapsible(false)
        .show(ctx, |ui| {
            egui::Grid::new("settings-grid")
                .num_columns(2)
                .spacing([10.0, 6.0])
                .show(ui, |ui| {
                    ui.label("Default Python");
                    let mut python = settings.default_python.clone().unwrap_or_default();
                    if ui
                        .add(
                            egui::TextEdit::singleline(&mut python)
                                .hint_text("python3")
                                .desired_width(240.0),
                        )
                        .changed()
                    {
                        settings.default_python = (!python.trim().is_empty()).then(|| python.trim().to_string());
                        changed = true;
                    }
                    ui.end_row();
                    ui.label("Default init timeout");
                    changed |= ui
                        .add(
                            egui::DragValue::new(&mut settings.default_init_timeout)
                                .range(0.5..=600.0)
                                .speed(0.5)
                                .suffix(" s"),
                        )
                        .changed();
                    ui.end_row();
                    ui.label("Table rows sent");
                    changed |= ui
                        .add(
                            egui::DragValue::new(&mut settings.table_rows)
                                .range(TABLE_ROWS)
                                .speed(10),
                        )
                        .on_hover_text(format!(
                            "Rows of a table (a DataFrame) a runtime sends; the total count comes with them. \
                             {}–{}: more rows make tables slower to open and sort.",
                            TABLE_ROWS.start(),
                            TABLE_ROWS.end()
                        ))
                        .changed();
                    ui.end_row();
                    ui.label("Largest output (MiB)");
                    changed |= ui
                        .add(egui::DragValue::new(&mut settings.max_output_mib).range(OUTPUT_MIB))
                        .on_hover_text(format!(
                            "A display larger than this (a huge image, say) is replaced by a note. \
                             At most {} MiB: the protocol's limit on one message.",
                            OUTPUT_MIB.end()
                        ))
                        .changed();
                    ui.end_row();
                    ui.label("Evaluating a cell");
                    changed |= ui
                        .checkbox(&mut settings.evaluate_above, "first evaluates the cells above it")
                        .on_hover_text(
                            "On (Livebook): the code cells above that are not up to date run first, so the \
                             cell sees the notebook as written. Off (Jupyter): only the cell runs, from \
                             whatever the cells above left; it is then marked stale if any of them is not \
                             up to date. Either way, when a cell fails the cells queued below it are not \
                             evaluated.",
                        )
                        .changed();
                    ui.end_row();
                    ui.label("Theme");
                    ui.horizontal(|ui| {
                        for (theme, label) in [
                            (Theme::Light, "Light"),
                            (Theme::Dark, "Dark"),
                            (Theme::System, "Follow system"),
                        ] {
                            changed |= ui.radio_value(&mut settings.theme, theme, label).changed();
                        }
                    });
                    ui.end_row();
                });
            ui.label(
                egui::RichText::new(
                    "New sessions use these defaults; table rows and output size apply to the next evaluation.",
                )
                .weak(),
            );
        });
    changed
}
