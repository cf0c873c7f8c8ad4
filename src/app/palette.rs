//! The command palette (Ctrl+Shift+P): every action of the menus by name,
//! filtered as the user types; Up and Down move the highlight, Enter or a
//! click runs the highlighted or the clicked one, Esc closes it.

use super::menu::{ACTIONS, MenuAction};

#[derive(Default)]
pub struct Palette {
    query: String,
    /// The field has been given the focus once.
    focused: bool,
    /// The highlighted action, among those the query finds.
    highlighted: usize,
}

/// Whether every word of the query starts a word of the name, or is in it:
/// "eval al" finds "Evaluate all".
pub fn matches(name: &str, query: &str) -> bool {
    let name = name.to_lowercase();
    query.to_lowercase().split_whitespace().all(|word| name.contains(word))
}

/// Draws the palette; returns the action chosen, and whether it stays open.
pub fn show(ctx: &egui::Context, palette: &mut Palette) -> (Option<&'static MenuAction>, bool) {
    let mut chosen = None;
    let mut open = true;
    egui::Window::new("Command palette")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 60.0))
        .show(ctx, |ui| {
            let id = ui.make_persistent_id("palette-query");
            // Taken before the field, which would move its cursor with them.
            if ui.memory(|m| m.has_focus(id)) {
                let (down, up) = ui.input_mut(|i| {
                    (
                        i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown),
                        i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp),
                    )
                });
                palette.highlighted = (palette.highlighted + usize::from(down)).saturating_sub(usize::from(up));
            }
            let before = palette.query.clone();
            let field = egui::TextEdit::singleline(&mut palette.query)
                .id(id)
                .hint_text("Type an action's name")
                .desired_width(360.0);
            let response = ui.add(field);
            if palette.query != before {
                palette.highlighted = 0;
            }
            if !palette.focused {
                response.request_focus();
                palette.focused = true;
            }
            let found: Vec<&'static MenuAction> = ACTIONS.iter().filter(|a| matches(a.name, &palette.query)).collect();
            palette.highlighted = palette.highlighted.min(found.len().saturating_sub(1));
            // egui drops the focus on Esc before the field sees the key.
            if response.lost_focus() {
                if ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    chosen = found.get(palette.highlighted).copied();
                }
                open = false;
            }
            for (index, action) in found.iter().enumerate() {
                let mut button = egui::Button::new(action.name)
                    .min_size(egui::vec2(360.0, 0.0))
                    .selected(index == palette.highlighted);
                if let Some(sc) = &action.shortcut {
                    button = button.shortcut_text(ui.ctx().format_shortcut(sc));
                }
                if ui.add(button).clicked() {
                    chosen = Some(action);
                    open = false;
                }
            }
            if found.is_empty() {
                ui.label(egui::RichText::new("No action of that name").weak());
            }
        });
    (chosen, open)
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_of_the_query_match_in_any_case() {
        assert!(super::matches("Evaluate all", "eval al"));
        assert!(super::matches("Evaluate all", ""));
        assert!(!super::matches("Clear all outputs", "eval al"));
    }
}
