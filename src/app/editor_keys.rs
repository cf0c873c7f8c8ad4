//! The editing keys of a code cell's editor: Enter, Tab, Shift+Tab,
//! Ctrl+Space and Ctrl+/ do what `editing` says rather than what egui's
//! `TextEdit` does, or ask the runtime (completion, documentation).
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
    /// Ctrl+Space: completion wherever the cursor is.
    Complete,
}

/// What the keys ask the runtime about the code at a cursor (chars).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    Complete(usize),
    Inspect(usize),
}

/// What [`apply`] did: whether the code changed, and what to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    pub changed: bool,
    pub ask: Option<Ask>,
}

/// The editor's keys as Help › Keyboard shortcuts lists them: `take`
/// below and the notebook's `evaluate_shortcut` are what they do.
pub const KEYS: &[(&str, &str)] = &[
    ("Enter", "New line, indented (more after a block opener)"),
    (
        "Tab",
        "After code: complete from the runtime; else indent (the selected lines too)",
    ),
    ("Ctrl+Space", "Complete from the runtime"),
    (
        "Shift+Tab",
        "After a name: its signature and documentation; else dedent",
    ),
    (
        "Up / Down, Enter or Tab, Esc",
        "In the completion list: choose, accept, close",
    ),
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
    take_pressed(ui, |key, modifiers| match key {
        egui::Key::Enter if modifiers.is_none() => Some(EditorKey::Enter),
        egui::Key::Tab if modifiers.is_none() => Some(EditorKey::Tab),
        egui::Key::Tab if modifiers.matches_exact(egui::Modifiers::SHIFT) => Some(EditorKey::ShiftTab),
        egui::Key::Space if modifiers.matches_exact(egui::Modifiers::CTRL) => Some(EditorKey::Complete),
        // Logically: on layouts where "/" needs Shift, Ctrl+Shift+7 is Ctrl+/.
        egui::Key::Slash if modifiers.matches_logically(egui::Modifiers::COMMAND) => Some(EditorKey::ToggleComment),
        _ => None,
    })
}

/// Takes the key presses `pick` wants out of this frame's input, in order,
/// and returns what it made of them; other events stay for the widgets.
pub fn take_pressed<T>(ui: &egui::Ui, mut pick: impl FnMut(egui::Key, egui::Modifiers) -> Option<T>) -> Vec<T> {
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
            match pick(*key, *modifiers) {
                Some(taken) => {
                    keys.push(taken);
                    false
                }
                None => true,
            }
        });
    });
    keys
}

/// Applies `keys` to `code`, the text the editor `id` holds after this
/// frame's `TextEdit`, at its cursor, and puts the cursor where the edit
/// says. Says whether `code` changed (the frame is then drawn again, so that
/// what is shown is the new text) and what the keys ask the runtime. Call
/// [`settle`] after the editor every frame: it completes the undo step.
pub fn apply(ctx: &egui::Context, id: egui::Id, code: &mut String, keys: &[EditorKey], rules: &Rules) -> Applied {
    if keys.is_empty() {
        return Applied::default();
    }
    let state = TextEditState::load(ctx, id).unwrap_or_default();
    let end = CCursorRange::one(CCursor::new(code.chars().count()));
    let before = state.cursor.char_range().unwrap_or(end);
    let original = code.clone();
    let mut selection = Selection::new(before.secondary.index.0, before.primary.index.0);
    let mut ask = None;
    for &key in keys {
        match step(key, code, selection, rules) {
            Step::Edit(edited) => {
                *code = edited.text;
                selection = edited.selection;
            }
            Step::Ask(asked) => ask = Some(asked),
            Step::Nothing => {}
        }
    }
    let changed = *code != original;
    if changed {
        commit(ctx, id, original, before, selection);
    }
    Applied { changed, ask }
}

/// Replaces the editor `id`'s text `code` by an edit made outside its keys
/// (an accepted completion), as one undo step, the cursor where it says.
pub fn replace(ctx: &egui::Context, id: egui::Id, code: &mut String, edited: super::editing::Edited) {
    if *code == edited.text {
        return;
    }
    let state = TextEditState::load(ctx, id).unwrap_or_default();
    let end = CCursorRange::one(CCursor::new(code.chars().count()));
    let before = state.cursor.char_range().unwrap_or(end);
    let original = std::mem::replace(code, edited.text);
    commit(ctx, id, original, before, edited.selection);
}

/// Puts the cursor at `selection` in the edited text, with an undo point
/// before the edit: Ctrl+Z takes back this edit alone, not the typing
/// before it too (egui groups edits less than a second apart).
fn commit(ctx: &egui::Context, id: egui::Id, original: String, before: CCursorRange, selection: Selection) {
    let mut state = TextEditState::load(ctx, id).unwrap_or_default();
    let after = CCursorRange::two(CCursor::new(selection.anchor), CCursor::new(selection.cursor));
    state.cursor.set_char_range(Some(after));
    let mut undoer = state.undoer();
    undoer.add_undo(&(before, original));
    state.set_undoer(undoer);
    state.store(ctx, id);
    ctx.data_mut(|d| d.insert_temp(undo_pending(id), true));
    draw_again(ctx, "an editing key changed the code");
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

enum Step {
    Edit(Edited),
    Ask(Ask),
    Nothing,
}

fn step(key: EditorKey, code: &str, selection: Selection, rules: &Rules) -> Step {
    let asks_about_code = selection.is_empty() && editing::complete::after_code(code, selection.cursor);
    match key {
        EditorKey::Enter => Step::Edit(editing::newline(code, selection, rules)),
        EditorKey::Tab => match editing::tab(code, selection, rules) {
            Tab::Indent(edited) => Step::Edit(edited),
            Tab::Complete { at, .. } => Step::Ask(Ask::Complete(at)),
        },
        EditorKey::Complete => Step::Ask(Ask::Complete(selection.cursor)),
        EditorKey::ShiftTab if asks_about_code => Step::Ask(Ask::Inspect(selection.cursor)),
        EditorKey::ShiftTab => Step::Edit(editing::dedent(code, selection, rules)),
        EditorKey::ToggleComment => editing::toggle_comment(code, selection, rules).map_or(Step::Nothing, Step::Edit),
    }
}
