//! Completion and documentation in the editor, as a user gets them: Tab
//! after code opens the list from the live runtime, typing narrows it, Up /
//! Down / Enter / Esc work it; Shift+Tab after a name shows its docs. Real
//! python3 and elixir runtimes behind the real window (egui_kittest).

mod common;

use common::window::Window;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use runyard::session::{CellState, Status};

/// A Python session whose first cell defined `value_one`, `value_two` and
/// imported `os`; the second cell's editor is focused and empty.
fn python_with_names() -> Window {
    let mut w = Window::open();
    w.click("New Python session");
    w.evaluate_code(1, "import os\nvalue_one = 1\nvalue_two = 2");
    w.wait_until("the first cell to finish", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    // Shift+Enter made and focused the second cell.
    w.harness.run_steps(3);
    w
}

/// Steps frames until a label containing `text` is shown.
fn wait_for_label(w: &mut Window, text: &str) {
    let wanted = text.to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        w.harness.step();
        let shown = w
            .harness
            .query_all(egui_kittest::kittest::by().predicate(|node| {
                node.label().is_some_and(|l| l.contains(wanted.as_str()))
                    || node.value().is_some_and(|v| v.contains(wanted.as_str()))
            }))
            .next()
            .is_some();
        if shown {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{text:?} was never shown");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Steps frames until the completion list has a row for `name`.
fn wait_for_row(w: &mut Window, name: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !list_row_shown(w, name) {
        assert!(std::time::Instant::now() < deadline, "no row {name:?} in the list");
        w.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn list_row_shown(w: &Window, name: &str) -> bool {
    let name = name.to_string();
    w.harness
        .query_all(egui_kittest::kittest::by().predicate(move |node| {
            node.label()
                .is_some_and(|l| l.split_whitespace().last() == Some(name.as_str()))
        }))
        .next()
        .is_some()
}

#[test]
fn tab_lists_the_runtimes_names_and_down_enter_accepts_the_second() {
    let mut w = python_with_names();
    w.type_text("value_");
    w.press(Modifiers::NONE, Key::Tab);
    wait_for_row(&mut w, "value_two");
    assert!(list_row_shown(&w, "value_one"));
    assert!(list_row_shown(&w, "value_two"));
    assert_eq!(w.code(2), "value_", "Tab after code inserts no spaces");
    w.press(Modifiers::NONE, Key::ArrowDown);
    w.press(Modifiers::NONE, Key::Enter);
    w.harness.run_steps(2);
    assert_eq!(w.code(2), "value_two", "Enter took the chosen row, not a newline");
    assert!(!list_row_shown(&w, "value_one"), "the list closed");
    // The editor kept the keyboard: typing goes on after the name.
    w.type_text(" + 1");
    assert_eq!(w.code(2), "value_two + 1");
}

#[test]
fn typing_narrows_the_list_and_esc_closes_it_without_leaving_the_editor() {
    let mut w = python_with_names();
    w.type_text("value_");
    w.press(Modifiers::NONE, Key::Tab);
    wait_for_row(&mut w, "value_one");
    w.type_text("o");
    w.harness.run_steps(2);
    assert!(list_row_shown(&w, "value_one"));
    assert!(!list_row_shown(&w, "value_two"), "no longer fits what is typed");
    w.press(Modifiers::NONE, Key::Escape);
    w.harness.run_steps(2);
    assert!(!list_row_shown(&w, "value_one"), "Esc closed the list");
    w.type_text("ne");
    assert_eq!(w.code(2), "value_one", "Esc left the focus in the editor");
    // A second Esc, with nothing open, leaves the editor (command mode).
    w.press(Modifiers::NONE, Key::Escape);
    w.type_text("zz");
    assert_eq!(w.code(2), "value_one");
}

#[test]
fn a_single_match_is_typed_at_once_and_tab_in_indentation_still_indents() {
    let mut w = python_with_names();
    w.type_text("os.getpi");
    w.press(Modifiers::NONE, Key::Tab);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while w.code(2) != "os.getpid" {
        assert!(std::time::Instant::now() < deadline, "never completed: {:?}", w.code(2));
        w.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    w.press(Modifiers::NONE, Key::Enter);
    w.press(Modifiers::NONE, Key::Tab);
    assert_eq!(
        w.code(2),
        "os.getpid\n    ",
        "Tab with only indentation left of the cursor indents"
    );
}

#[test]
fn shift_tab_after_a_name_shows_its_documentation_and_esc_hides_it() {
    let mut w = python_with_names();
    w.type_text("len");
    w.press(Modifiers::SHIFT, Key::Tab);
    wait_for_label(&mut w, "Return the number of items");
    assert_eq!(w.code(2), "len", "Shift+Tab after a name does not dedent");
    w.press(Modifiers::NONE, Key::Escape);
    w.harness.run_steps(2);
    assert!(
        w.harness
            .query_by_label_contains("Return the number of items")
            .is_none(),
        "Esc hid the documentation"
    );
    w.type_text("(");
    assert_eq!(w.code(2), "len(", "the editor kept the focus");
}

#[test]
fn completion_answers_while_another_cell_is_evaluating() {
    let mut w = python_with_names();
    w.type_text("import time\ntime.sleep(60)");
    w.press(Modifiers::SHIFT, Key::Enter);
    w.wait_until("evaluating", |app| app.sessions[0].status() == Status::Evaluating);
    // Shift+Enter moved on to a third cell.
    w.harness.run_steps(3);
    w.type_text("value_t");
    let started = std::time::Instant::now();
    w.press(Modifiers::NONE, Key::Tab);
    let deadline = started + std::time::Duration::from_secs(20);
    while w.code(3) != "value_two" {
        assert!(std::time::Instant::now() < deadline, "never completed: {:?}", w.code(3));
        w.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(w.app().sessions[0].status(), Status::Evaluating, "the sleep still runs");
}

#[test]
fn without_a_runtime_tab_says_there_are_no_completions() {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, "pri");
    w.press(Modifiers::NONE, Key::Tab);
    wait_for_label(&mut w, "No completions");
    assert_eq!(w.code(1), "pri");
    w.type_text("nt");
    w.harness.run_steps(2);
    assert!(w.harness.query_by_label("No completions").is_none(), "typing closed it");
    assert_eq!(w.code(1), "print");
}

#[test]
fn an_elixir_session_completes_module_functions() {
    let mut w = Window::open();
    w.click("New Elixir session");
    w.evaluate_code(1, "1");
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    w.harness.run_steps(3);
    w.type_text("Enum.flat_");
    w.press(Modifiers::NONE, Key::Tab);
    wait_for_row(&mut w, "flat_map_reduce");
    assert!(list_row_shown(&w, "flat_map"));
    w.press(Modifiers::NONE, Key::Enter);
    w.harness.run_steps(2);
    assert_eq!(w.code(2), "Enum.flat_map");
}
