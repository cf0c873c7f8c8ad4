//! What a code editor marks on its text: both brackets of the pair at the
//! cursor, and the notebook search's matches in the cell.

use std::ops::Range;

use egui::Color32;
use egui::text_edit::TextEditState;

use super::editing::{self, Rules};
use super::style;

/// The cursor (a char index) of the editor `id` while it has the focus: a
/// bracket pair is marked only where the user is typing.
pub fn focused_cursor(ui: &egui::Ui, id: egui::Id) -> Option<usize> {
    if !ui.memory(|m| m.has_focus(id)) {
        return None;
    }
    let range = TextEditState::load(ui.ctx(), id)?.cursor.char_range()?;
    Some(range.primary.index.0)
}

/// The bracket pair at `cursor` in `text`, if any.
pub fn pair(text: &str, cursor: Option<usize>, rules: &Rules) -> Option<(usize, usize)> {
    editing::matching_bracket(text, cursor?, rules)
}

/// The backgrounds for `text`: the bracket `pair`, the search's matches in
/// it (`found`: char ranges and whether it is the current match).
pub fn marks(pair: Option<(usize, usize)>, found: &[(Range<usize>, bool)], dark: bool) -> Vec<(Range<usize>, Color32)> {
    let mut marks: Vec<(Range<usize>, Color32)> = found
        .iter()
        .map(|(range, current)| {
            let colour = if *current {
                style::find_current(dark)
            } else {
                style::find_match(dark)
            };
            (range.clone(), colour)
        })
        .collect();
    if let Some((open, close)) = pair {
        // A bracket inside a match keeps the match's colour (`mark`).
        let colour = style::bracket_pair(dark);
        marks.extend([(open..open + 1, colour), (close..close + 1, colour)]);
    }
    marks
}
