//! The code editor's keys in the real window, headless (egui_kittest):
//! Enter, Tab, Shift+Tab, Ctrl+/, undo. No runtime is started.

mod common;

use common::window::Window;
use egui::{Key, Modifiers};

/// A window with a new (disconnected) Python session and `code` typed into
/// its first cell, the editor focused.
fn python_cell(code: &str) -> Window {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, code);
    w
}

#[test]
fn enter_after_def_indents_the_next_line_and_undoes_in_one_step() {
    let mut w = python_cell("def f():");
    w.press(Modifiers::NONE, Key::Enter);
    assert_eq!(w.code(1), "def f():\n    ");
    w.type_text("return 1");
    w.press(Modifiers::NONE, Key::Enter);
    assert_eq!(w.code(1), "def f():\n    return 1\n    ", "the indentation is kept");

    // Undo takes back the last Enter alone, then the typing before it.
    w.press(Modifiers::COMMAND, Key::Z);
    assert_eq!(w.code(1), "def f():\n    return 1");
    w.press(Modifiers::COMMAND, Key::Z);
    assert_eq!(w.code(1), "def f():\n    ");
    w.press(Modifiers::COMMAND, Key::Z);
    assert_eq!(w.code(1), "def f():", "the first Enter was one step too");
}

/// A fast typist's text and Enter in one frame: the text comes first, and
/// the new line is indented for it.
#[test]
fn text_typed_in_the_frame_of_enter_comes_before_the_new_line() {
    let mut w = python_cell("def f()");
    let events = &mut w.harness.input_mut().events;
    events.push(egui::Event::Text(":".into()));
    events.push(egui::Event::Key {
        key: Key::Enter,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: Modifiers::NONE,
    });
    w.harness.step();
    assert_eq!(w.code(1), "def f():\n    ");
    w.type_text("pass");
    assert_eq!(
        w.code(1),
        "def f():\n    pass",
        "the cursor is at the end of the new line"
    );
}

#[test]
fn tab_and_shift_tab_move_the_selected_lines_and_keep_them_selected() {
    let mut w = python_cell("a = 1\nb = 2");
    w.press(Modifiers::COMMAND, Key::A);
    w.press(Modifiers::NONE, Key::Tab);
    assert_eq!(w.code(1), "    a = 1\n    b = 2");
    // Still both lines: a second Tab indents them both again.
    w.press(Modifiers::NONE, Key::Tab);
    assert_eq!(w.code(1), "        a = 1\n        b = 2");
    w.press(Modifiers::SHIFT, Key::Tab);
    w.press(Modifiers::SHIFT, Key::Tab);
    assert_eq!(w.code(1), "a = 1\nb = 2");
    // Typing replaces the selection: it still covers the whole text.
    w.type_text("c");
    assert_eq!(w.code(1), "c");
}

#[test]
fn tab_without_a_selection_inserts_spaces_to_the_next_stop() {
    let mut w = python_cell("x");
    w.press(Modifiers::NONE, Key::Home);
    w.press(Modifiers::NONE, Key::Tab);
    assert_eq!(w.code(1), "    x", "spaces, not a tab character");
    w.press(Modifiers::SHIFT, Key::Tab);
    assert_eq!(w.code(1), "x", "Shift+Tab dedents the current line");
}

#[test]
fn ctrl_slash_twice_restores_the_text() {
    let text = "def f():\n    return 1";
    let mut w = python_cell(text);
    w.press(Modifiers::COMMAND, Key::A);
    w.press(Modifiers::COMMAND, Key::Slash);
    assert_eq!(w.code(1), "# def f():\n#     return 1");
    w.press(Modifiers::COMMAND, Key::Slash);
    assert_eq!(w.code(1), text);
}
