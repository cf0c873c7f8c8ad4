//! Command mode, as in JupyterLab: a cell is selected and no text field has
//! the keyboard focus, so single keys act on cells. The one table of keys,
//! `BINDINGS`, is both what the keys do and what Help › Keyboard shortcuts
//! lists, so the two cannot drift apart.

use egui::{Key, Modifiers};

/// What a command-mode key asks of the notebook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKey {
    /// Back into the selected cell's editor.
    Edit,
    InsertAbove,
    InsertBelow,
    Delete,
    UndoDelete,
    ToMarkdown,
    ToCode,
    SelectNext,
    SelectPrevious,
    Copy,
    Cut,
    Paste,
    EvaluateAndSelectNext,
    EvaluateAndInsert,
    Interrupt,
    Reconnect,
}

pub struct Binding {
    pub key: Key,
    pub modifiers: Modifiers,
    /// Pressed twice in a row (D D), so that one stray press does nothing.
    pub twice: bool,
    pub action: CommandKey,
    pub what: &'static str,
}

const fn key(key: Key, action: CommandKey, what: &'static str) -> Binding {
    Binding {
        key,
        modifiers: Modifiers::NONE,
        twice: false,
        action,
        what,
    }
}

const fn twice(key: Key, action: CommandKey, what: &'static str) -> Binding {
    Binding {
        key,
        modifiers: Modifiers::NONE,
        twice: true,
        action,
        what,
    }
}

const fn with(modifiers: Modifiers, key: Key, action: CommandKey, what: &'static str) -> Binding {
    Binding {
        key,
        modifiers,
        twice: false,
        action,
        what,
    }
}

/// Every command-mode key. Matched with exact modifiers, so Shift+Enter is
/// not Enter.
pub const BINDINGS: &[Binding] = &[
    key(Key::Enter, CommandKey::Edit, "Edit the selected cell"),
    key(Key::A, CommandKey::InsertAbove, "Insert a code cell above"),
    key(Key::B, CommandKey::InsertBelow, "Insert a code cell below"),
    twice(Key::D, CommandKey::Delete, "Delete the selected cell"),
    key(Key::Z, CommandKey::UndoDelete, "Undo the last deletion or kind change"),
    key(Key::M, CommandKey::ToMarkdown, "Make the cell Markdown"),
    key(Key::Y, CommandKey::ToCode, "Make the cell code"),
    key(Key::J, CommandKey::SelectNext, "Select the cell below"),
    key(Key::ArrowDown, CommandKey::SelectNext, "Select the cell below"),
    key(Key::K, CommandKey::SelectPrevious, "Select the cell above"),
    key(Key::ArrowUp, CommandKey::SelectPrevious, "Select the cell above"),
    key(Key::C, CommandKey::Copy, "Copy the cell"),
    key(Key::X, CommandKey::Cut, "Cut the cell"),
    key(Key::V, CommandKey::Paste, "Paste cells below"),
    with(
        Modifiers::SHIFT,
        Key::Enter,
        CommandKey::EvaluateAndSelectNext,
        "Evaluate, select the next cell",
    ),
    with(
        Modifiers::ALT,
        Key::Enter,
        CommandKey::EvaluateAndInsert,
        "Evaluate, insert a cell below",
    ),
    twice(Key::I, CommandKey::Interrupt, "Interrupt the evaluation"),
    twice(Key::Num0, CommandKey::Reconnect, "Reconnect (restart the runtime)"),
];

/// How a binding is written: "D D", "Shift+Enter".
pub fn keys_text(binding: &Binding) -> String {
    let mut text = String::new();
    if binding.modifiers.shift {
        text.push_str("Shift+");
    }
    if binding.modifiers.alt {
        text.push_str("Alt+");
    }
    text.push_str(binding.key.name());
    if binding.twice {
        text = format!("{text} {text}");
    }
    text
}

/// Takes this frame's command-mode key presses out of the input, so that no
/// widget sees them, and returns what they ask. `pending` is the first
/// press of a double key, kept between frames; any other key forgets it.
/// Call only in command mode (no text field focused).
pub fn take(ctx: &egui::Context, pending: &mut Option<Key>) -> Vec<CommandKey> {
    let mut asked = Vec::new();
    ctx.input_mut(|i| {
        i.events.retain(|event| {
            let egui::Event::Key {
                key,
                pressed: true,
                repeat,
                modifiers,
                ..
            } = event
            else {
                return true;
            };
            let Some(binding) = BINDINGS
                .iter()
                .find(|b| b.key == *key && modifiers.matches_exact(b.modifiers))
            else {
                *pending = None;
                return true;
            };
            if !binding.twice {
                *pending = None;
                asked.push(binding.action);
            } else if *repeat {
                // Holding D down is not pressing it twice.
            } else if *pending == Some(*key) {
                *pending = None;
                asked.push(binding.action);
            } else {
                *pending = Some(*key);
            }
            false
        });
    });
    asked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_bound_once_and_written_as_pressed() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                assert!(
                    !(a.key == b.key && a.modifiers == b.modifiers),
                    "{} twice",
                    keys_text(a)
                );
            }
        }
        let dd = BINDINGS.iter().find(|b| b.action == CommandKey::Delete).unwrap();
        assert_eq!(keys_text(dd), "D D");
        let alt = BINDINGS
            .iter()
            .find(|b| b.action == CommandKey::EvaluateAndInsert)
            .unwrap();
        assert_eq!(keys_text(alt), "Alt+Enter");
    }
}
