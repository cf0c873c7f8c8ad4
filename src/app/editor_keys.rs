//! The editing keys of a code cell's editor: Enter, Tab, Shift+Tab and
//! Ctrl+/ do what `editing` says rather than what egui's `TextEdit` does.
//! The keys are taken out of the input before the `TextEdit` runs and
//! applied after it, so that text typed earlier in the same frame comes
//! first, as it was typed.

use egui::text::{CCursor, CCursorRange};
use egui::text_edit::TextEditState;

use super::editing::{self, Edited, Rules, Selection, Tab};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorKey {
    Enter,
    Tab,
    ShiftTab,
    ToggleComment,
}

/// The editor's keys as Help › Keyboard shortcuts lists them: `take`
/// below and the notebook's `evaluate_shortcut` are what they do.
pub const KEYS: &[(&str, &str)] = &[
    ("Enter", "New line, indented (more after a block opener)"),
    ("Tab", "Indent to the next stop, or the selected lines"),
    ("Shift+Tab", "Dedent the line or the selected lines"),
    ("Ctrl+/", "Comment or uncomment the lines"),
    ("Shift+Enter", "Evaluate, go on to the next cell"),
    ("Ctrl+Enter", "Evaluate the cell"),
    ("Esc", "Leave the editor: command mode"),
];

/// Takes this frame's editing keys out of the input, in order, while the
/// editor `id` has the keyboard focus (elsewhere they mean something else).
/// Enter and Tab count only without modifiers: Shift+Enter and Ctrl+Enter
/// evaluate (taken earlier), Alt+Enter is left for others.
pub fn take(ui: &egui::Ui, id: egui::Id) -> Vec<EditorKey> {
    if !ui.memory(|m| m.has_focus(id)) {
        return Vec::new();
    }
    let mut keys = Vec::new();
    ui.input_mut(|input| {
        input.events.retain(|event| {
            let egui::Event::Key {
                key,
                pressed: true,
                modifiers,
                ..
            } = event
            else {
                return true;
            };
            let taken = match key {
                egui::Key::Enter if modifiers.is_none() => EditorKey::Enter,
                egui::Key::Tab if modifiers.is_none() => EditorKey::Tab,
                egui::Key::Tab if modifiers.matches_exact(egui::Modifiers::SHIFT) => EditorKey::ShiftTab,
                // Logically: on layouts where "/" needs Shift, Ctrl+Shift+7 is Ctrl+/.
                egui::Key::Slash if modifiers.matches_logically(egui::Modifiers::COMMAND) => EditorKey::ToggleComment,
                _ => return true,
            };
            keys.push(taken);
            false
        });
    });
    keys
}

/// Applies `keys` to `code`, the text the editor `id` holds after this
/// frame's `TextEdit`, at its cursor, and puts the cursor where the edit
/// says. Returns whether `code` changed; the frame is then drawn again, so
/// that what is shown is the new text. Call [`settle`] after the editor
/// every frame: it completes the undo step.
pub fn apply(ctx: &egui::Context, id: egui::Id, code: &mut String, keys: &[EditorKey], rules: &Rules) -> bool {
    if keys.is_empty() {
        return false;
    }
    let mut state = TextEditState::load(ctx, id).unwrap_or_default();
    let end = CCursorRange::one(CCursor::new(code.chars().count()));
    let before = state.cursor.char_range().unwrap_or(end);
    let original = code.clone();
    let mut selection = Selection::new(before.secondary.index.0, before.primary.index.0);
    for &key in keys {
        if let Some(edited) = edit(key, code, selection, rules) {
            *code = edited.text;
            selection = edited.selection;
        }
    }
    if *code == original {
        return false;
    }
    let after = CCursorRange::two(CCursor::new(selection.anchor), CCursor::new(selection.cursor));
    state.cursor.set_char_range(Some(after));
    // An undo point before the edit: Ctrl+Z takes back this edit alone, not
    // the typing before it too (egui groups edits less than a second apart).
    let mut undoer = state.undoer();
    undoer.add_undo(&(before, original));
    state.set_undoer(undoer);
    state.store(ctx, id);
    ctx.data_mut(|d| d.insert_temp(undo_pending(id), true));
    draw_again(ctx, "an editing key changed the code");
    true
}

/// This frame shows the editor as it was before what was just done: draw
/// it again at once (or, when egui has no pass left this frame, next).
pub fn draw_again(ctx: &egui::Context, reason: &'static str) {
    ctx.request_discard(reason);
    if !ctx.will_discard() {
        ctx.request_repaint();
    }
}

/// After the editor `id` is drawn: the undo point after an edit [`apply`]
/// made, so that typing after it is a step of its own. It is taken from the
/// editor's own state once it has shown the new text, because egui compares
/// undo points exactly and adjusts a cursor to the layout when it shows it.
pub fn settle(ctx: &egui::Context, id: egui::Id, code: &str) {
    if !ctx.data_mut(|d| d.remove_temp::<bool>(undo_pending(id)).unwrap_or(false)) {
        return;
    }
    let Some(state) = TextEditState::load(ctx, id) else {
        return;
    };
    let Some(range) = state.cursor.char_range() else { return };
    let mut undoer = state.undoer();
    undoer.add_undo(&(range, code.to_string()));
    let mut state = state;
    state.set_undoer(undoer);
    state.store(ctx, id);
}

fn undo_pending(id: egui::Id) -> egui::Id {
    id.with("undo point pending")
}

fn edit(key: EditorKey, code: &str, selection: Selection, rules: &Rules) -> Option<Edited> {
    match key {
        EditorKey::Enter => Some(editing::newline(code, selection, rules)),
        EditorKey::Tab => match editing::tab(code, selection, rules) {
            Tab::Indent(edited) => Some(edited),
            // Issue #16, point 4: completion opens here instead, e.g.
            // `Tab::Complete { at, .. } => { completion.open(at); None }`.
            Tab::Complete { spaces, .. } => Some(spaces),
        },
        EditorKey::ShiftTab => Some(editing::dedent(code, selection, rules)),
        EditorKey::ToggleComment => editing::toggle_comment(code, selection, rules),
    }
}
