//! A rich output (a MIME bundle), drawn as its richest entry the window can show.

use egui::RichText;

use crate::session::outputs::Display;

/// Longest text drawn for one plain value: a huge `repr` stays responsive.
const MAX_PLAIN_CHARS: usize = 20_000;

pub fn show(ui: &mut egui::Ui, display: &Display, greyed: bool) {
    let color = if greyed {
        ui.visuals().weak_text_color()
    } else {
        ui.visuals().strong_text_color()
    };
    let text = display.text();
    let shown: String = text.chars().take(MAX_PLAIN_CHARS).collect();
    ui.add(egui::Label::new(RichText::new(shown).monospace().color(color)).selectable(true));
}
