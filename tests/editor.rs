//! The code editor's keys (Enter, Tab, Shift+Tab, Ctrl+/, undo) and the
//! find bar (Ctrl+F) in the real window, headless (egui_kittest). No
//! runtime is started.

mod common;

use common::window::Window;
use egui::{Key, Modifiers};
use egui_kittest::kittest::{Queryable, by};

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

/// A window with a new Python session whose cells hold `sources`.
fn notebook(sources: &[&str]) -> Window {
    let mut w = Window::open();
    w.click("New Python session");
    let session = &mut w.harness.state_mut().sessions[0];
    let first = session.nth_cell(0).unwrap().id;
    session.set_code(first, sources[0].to_string());
    for source in &sources[1..] {
        session.add_cell(*source);
    }
    w.harness.run_steps(2);
    w
}

fn find_field_shown(w: &Window) -> bool {
    w.harness
        .query(by().predicate(|node| node.placeholder() == Some("Find in notebook")))
        .is_some()
}

#[test]
fn the_find_bar_finds_a_word_in_the_third_cell_and_moves_between_matches() {
    let mut w = notebook(&["x = 1", "y = 2", "needle = 3\nprint(needle)"]);
    w.press(Modifiers::COMMAND, Key::F);
    assert!(find_field_shown(&w));
    w.type_text("NEEDLE");
    w.harness.get_by_label("1 of 2");
    w.press(Modifiers::NONE, Key::Enter);
    w.harness.get_by_label("2 of 2");
    w.press(Modifiers::NONE, Key::Enter);
    w.harness.get_by_label("1 of 2");
    w.press(Modifiers::SHIFT, Key::Enter);
    w.harness.get_by_label("2 of 2");
    w.click("Next");
    w.harness.get_by_label("1 of 2");
    w.click("Previous");
    w.harness.get_by_label("2 of 2");
    w.click("Match case");
    w.harness.get_by_label("No matches");
    w.click("Match case");
    w.harness.get_by_label("1 of 2");

    // Back in the field (Ctrl+F), Esc closes the bar and leaves the match
    // selected in its cell: typing replaces it.
    w.press(Modifiers::COMMAND, Key::F);
    w.press(Modifiers::NONE, Key::Enter);
    w.harness.get_by_label("2 of 2");
    w.press(Modifiers::NONE, Key::Escape);
    assert!(!find_field_shown(&w), "Esc closed the find bar");
    assert!(w.harness.query_by_label("2 of 2").is_none());
    w.type_text("pin");
    assert_eq!(w.code(3), "needle = 3\nprint(pin)");
    assert_eq!(w.code(1), "x = 1", "nothing else changed");
}

#[test]
fn a_match_far_down_a_long_notebook_is_scrolled_into_view() {
    let filler = "a = 1\nb = 2\nc = 3\nd = 4";
    let mut sources = vec![filler; 80];
    sources.push("the_one = 42");
    let mut w = notebook(&sources);
    assert!(w.harness.query_by_label("cell 81").is_none(), "far below, not drawn");
    w.press(Modifiers::COMMAND, Key::F);
    w.type_text("the_one");
    w.harness.run_steps(3);
    w.harness.get_by_label("1 of 1");
    let rect = w.harness.get_by_label("cell 81").rect();
    assert!(rect.top() > 0.0 && rect.bottom() < 900.0, "in the window: {rect:?}");
}

#[test]
fn a_match_in_a_markdown_cell_is_shown_in_its_source() {
    let mut w = notebook(&["x = 1"]);
    let session = &mut w.harness.state_mut().sessions[0];
    let section = session.sections[0].id;
    let first = session.nth_cell(0).unwrap().id;
    session.insert_cell(
        section,
        Some(first),
        runyard::session::CellKind::Markdown,
        "# Results\nThe **answer** is here".into(),
    );
    w.harness.run_steps(2);
    // Rendered: no editor holds its source.
    let editor_with = |w: &Window, text: &'static str| {
        w.harness
            .query_all(by().predicate(move |node| node.value().is_some_and(|v| v.contains(text))))
            .next()
            .is_some()
    };
    assert!(!editor_with(&w, "**answer**"));
    w.press(Modifiers::COMMAND, Key::F);
    w.type_text("answer");
    w.harness.run_steps(2);
    w.harness.get_by_label("1 of 1");
    assert!(
        editor_with(&w, "**answer**"),
        "shown as source, where the match is marked"
    );
    w.click("Close");
    w.harness.run_steps(2);
    assert!(
        !editor_with(&w, "**answer**"),
        "rendered again once the search is closed"
    );
}
