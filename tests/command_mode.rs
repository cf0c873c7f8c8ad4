//! Command mode (JupyterLab's), the command palette and Help › Keyboard
//! shortcuts in the real window, headless (egui_kittest). The tests that
//! evaluate start a real `python3` runtime.

mod common;

use common::window::Window;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use runyard::session::{CellId, CellKind, CellState, Status};

/// A window with a new Python session, `code` typed into its first cell,
/// and Esc pressed: the cell is selected, no editor has the focus.
fn command_mode(code: &str) -> Window {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, code);
    w.press(Modifiers::NONE, Key::Escape);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 0)), "Esc keeps the cell selected");
    assert!(!editor_focused(&w), "Esc left the editor");
    w
}

/// Presses a key as a keyboard does: a letter without modifiers also
/// types its text, which must reach no field in command mode.
fn key(w: &mut Window, modifiers: Modifiers, key: Key) {
    let name = key.name();
    if modifiers.is_none() && name.len() == 1 {
        w.harness
            .input_mut()
            .events
            .push(egui::Event::Text(name.to_lowercase()));
    }
    w.press(modifiers, key);
}

fn id(w: &Window, n: usize) -> CellId {
    w.app().sessions[0].nth_cell(n).unwrap().id
}

fn codes(w: &Window) -> Vec<String> {
    w.app().sessions[0].cells().map(|c| c.code.clone()).collect()
}

fn editor_focused(w: &Window) -> bool {
    w.harness.ctx.memory(|m| m.focused().is_some())
}

#[test]
fn a_and_b_insert_cells_dd_deletes_z_brings_it_back() {
    let mut w = command_mode("x = 1");
    key(&mut w, Modifiers::NONE, Key::B);
    assert_eq!(codes(&w), ["x = 1", ""], "B: a cell below");
    assert_eq!(w.app().selected_cell(), Some(id(&w, 1)), "the new cell is selected");
    key(&mut w, Modifiers::NONE, Key::A);
    assert_eq!(codes(&w).len(), 3, "A: a cell above the selected one");
    assert_eq!(w.app().selected_cell(), Some(id(&w, 1)), "between the two");
    assert_eq!(w.code(1), "x = 1", "no letter was typed anywhere");
    assert!(!editor_focused(&w));

    let first = id(&w, 0);
    key(&mut w, Modifiers::NONE, Key::K);
    key(&mut w, Modifiers::NONE, Key::D);
    assert_eq!(codes(&w).len(), 3, "one D does nothing");
    key(&mut w, Modifiers::NONE, Key::D);
    assert_eq!(codes(&w), ["", ""], "D D deleted the selected cell");
    assert!(w.app().sessions[0].cell(first).is_none());
    key(&mut w, Modifiers::NONE, Key::Z);
    assert_eq!(codes(&w), ["x = 1", "", ""], "Z put it back");

    // Enter goes back into the selected cell's editor.
    key(&mut w, Modifiers::NONE, Key::K);
    key(&mut w, Modifiers::NONE, Key::Enter);
    assert!(editor_focused(&w));
    w.type_text("2");
    assert_eq!(codes(&w).len(), 3);
    assert!(w.code(1).contains('2'), "typed into the editor: {:?}", w.code(1));
}

#[test]
fn m_and_y_change_the_kind_and_j_k_and_arrows_move_the_selection() {
    let mut w = command_mode("# Title");
    key(&mut w, Modifiers::NONE, Key::M);
    assert_eq!(w.app().sessions[0].nth_cell(0).unwrap().kind, CellKind::Markdown);
    key(&mut w, Modifiers::NONE, Key::Z);
    assert_eq!(
        w.app().sessions[0].nth_cell(0).unwrap().kind,
        CellKind::Code,
        "Z undid it"
    );
    key(&mut w, Modifiers::NONE, Key::M);
    assert_eq!(w.app().sessions[0].nth_cell(0).unwrap().kind, CellKind::Markdown);
    key(&mut w, Modifiers::NONE, Key::Y);
    assert_eq!(w.app().sessions[0].nth_cell(0).unwrap().kind, CellKind::Code);

    key(&mut w, Modifiers::NONE, Key::B);
    key(&mut w, Modifiers::NONE, Key::B);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 2)));
    key(&mut w, Modifiers::NONE, Key::K);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 1)));
    key(&mut w, Modifiers::NONE, Key::ArrowUp);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 0)));
    key(&mut w, Modifiers::NONE, Key::ArrowUp);
    assert_eq!(
        w.app().selected_cell(),
        Some(id(&w, 0)),
        "the first cell stays selected"
    );
    key(&mut w, Modifiers::NONE, Key::J);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 1)));
    key(&mut w, Modifiers::NONE, Key::ArrowDown);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 2)));
    assert_eq!(codes(&w), ["# Title", "", ""], "no key reached an editor");

    // A click in a cell selects it.
    w.harness.get_by_label("cell 1").click();
    w.harness.run_steps(2);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 0)));
}

#[test]
fn c_x_and_v_copy_cut_and_paste_cells_below() {
    let mut w = command_mode("a = 1");
    key(&mut w, Modifiers::NONE, Key::C);
    key(&mut w, Modifiers::NONE, Key::V);
    assert_eq!(codes(&w), ["a = 1", "a = 1"]);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 1)), "the pasted cell is selected");
    key(&mut w, Modifiers::NONE, Key::B);
    key(&mut w, Modifiers::NONE, Key::K);
    key(&mut w, Modifiers::NONE, Key::K);
    key(&mut w, Modifiers::NONE, Key::X);
    assert_eq!(codes(&w), ["a = 1", ""], "X took the first cell out");
    key(&mut w, Modifiers::NONE, Key::J);
    key(&mut w, Modifiers::NONE, Key::V);
    assert_eq!(codes(&w), ["a = 1", "", "a = 1"], "V pasted it below the selected cell");
}

#[test]
fn typing_a_in_an_editor_inserts_the_letter_and_adds_no_cell() {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, "x");
    assert!(editor_focused(&w));
    key(&mut w, Modifiers::NONE, Key::A);
    key(&mut w, Modifiers::NONE, Key::B);
    key(&mut w, Modifiers::NONE, Key::D);
    key(&mut w, Modifiers::NONE, Key::D);
    assert_eq!(codes(&w), ["xabdd"]);
}

#[test]
fn shift_enter_and_alt_enter_evaluate_and_move_on() {
    let mut w = command_mode("1 + 1");
    key(&mut w, Modifiers::SHIFT, Key::Enter);
    assert_eq!(codes(&w).len(), 2, "a new cell after the last one");
    assert_eq!(w.app().selected_cell(), Some(id(&w, 1)), "the selection moved on");
    assert!(!editor_focused(&w), "still in command mode");
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    w.harness.get_by_label("2");

    key(&mut w, Modifiers::NONE, Key::K);
    key(&mut w, Modifiers::ALT, Key::Enter);
    assert_eq!(codes(&w), ["1 + 1", "", ""], "Alt+Enter inserted a cell below");
    assert_eq!(w.app().selected_cell(), Some(id(&w, 1)));
    w.wait_until("evaluated again", |app| {
        app.sessions[0].nth_cell(0).unwrap().execution_count == Some(2)
    });
}

#[test]
fn ii_interrupts_and_00_reconnects() {
    let mut w = command_mode("import time\ntime.sleep(1000)");
    key(&mut w, Modifiers::SHIFT, Key::Enter);
    w.wait_until("evaluating", |app| app.sessions[0].status() == Status::Evaluating);
    key(&mut w, Modifiers::NONE, Key::I);
    key(&mut w, Modifiers::NONE, Key::I);
    w.wait_until("interrupted", |app| {
        app.sessions[0].nth_cell(0).unwrap().state == CellState::Interrupted
    });
    let first = w.app().sessions[0].node_info().unwrap().pid;
    key(&mut w, Modifiers::NONE, Key::Num0);
    key(&mut w, Modifiers::NONE, Key::Num0);
    w.wait_until("a new runtime", |app| {
        app.sessions[0].status() == Status::Idle && app.sessions[0].node_info().is_some_and(|n| n.pid != first)
    });
}

#[test]
fn the_palette_finds_evaluate_all_and_runs_it() {
    let mut w = command_mode("6 * 7");
    key(&mut w, Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    w.harness.get_by_label("Command palette");
    w.type_text("eval al");
    // The button's label ends with its shortcut.
    w.harness.get_by_label("Evaluate all Ctrl+Shift+Enter");
    assert!(
        w.harness.query_by_label_contains("Clear all outputs").is_none(),
        "filtered out"
    );
    w.press(Modifiers::NONE, Key::Enter);
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    w.harness.get_by_label("42");
    assert!(w.harness.query_by_label("Command palette").is_none(), "closed");

    // Esc closes it without running anything.
    key(&mut w, Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    w.harness.get_by_label("Command palette");
    w.type_text("clear");
    w.press(Modifiers::NONE, Key::Escape);
    assert!(w.harness.query_by_label("Command palette").is_none(), "Esc closed it");
    w.harness.get_by_label("42");

    // Down moves the highlight: "all" finds Evaluate all first, then Clear all outputs.
    key(&mut w, Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    w.type_text("all");
    w.press(Modifiers::NONE, Key::ArrowDown);
    w.press(Modifiers::NONE, Key::Enter);
    assert!(w.harness.query_by_label("42").is_none(), "Clear all outputs ran");
    assert!(w.app().sessions[0].nth_cell(0).unwrap().output.is_empty());
}

#[test]
fn the_palette_also_finds_new_sessions_and_connect() {
    let mut w = command_mode("1");
    key(&mut w, Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    w.type_text("new elixir");
    w.press(Modifiers::NONE, Key::Enter);
    assert_eq!(w.app().sessions.len(), 2, "a new session");
    assert_eq!(w.app().sessions[1].config.language(), "elixir");

    key(&mut w, Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    w.type_text("connect");
    // Connect, Disconnect and Reconnect all match; Connect is offered first.
    w.press(Modifiers::NONE, Key::Enter);
    assert_ne!(
        w.app().sessions[1].status(),
        Status::Disconnected,
        "Connect ran on the selected session"
    );
}

#[test]
fn z_takes_back_several_deletions_newest_first() {
    let mut w = command_mode("x = 1");
    for _ in 0..2 {
        key(&mut w, Modifiers::NONE, Key::B);
    }
    let before = codes(&w);
    assert_eq!(before.len(), 3);
    let ids: Vec<CellId> = (0..3).map(|n| id(&w, n)).collect();
    for _ in 0..2 {
        key(&mut w, Modifiers::NONE, Key::D);
        key(&mut w, Modifiers::NONE, Key::D);
    }
    assert_eq!(codes(&w).len(), 1);
    key(&mut w, Modifiers::NONE, Key::Z);
    key(&mut w, Modifiers::NONE, Key::Z);
    let after: Vec<CellId> = (0..3).map(|n| id(&w, n)).collect();
    assert_eq!(after, ids, "both back, in their places");
}

#[test]
fn the_shortcuts_window_lists_the_command_mode_keys() {
    let mut w = Window::open();
    w.click("Help");
    w.click("Keyboard shortcuts");
    for (keys, what) in [
        ("D D", "Delete the selected cell"),
        ("A", "Insert a code cell above"),
        ("Shift+Enter", "Evaluate, select the next cell"),
        ("0 0", "Reconnect (restart the runtime)"),
        ("Ctrl+/", "Comment or uncomment the lines"),
    ] {
        // Shift+Enter is both a command-mode and an editor key.
        assert!(w.harness.query_all_by_label(keys).count() >= 1, "{keys}");
        w.harness.get_by_label(what);
    }
    w.harness.get_by_label("Notebook › Evaluate all");
}

#[test]
fn cells_copied_in_one_notebook_paste_into_another() {
    let mut w = command_mode("shared = 1");
    key(&mut w, Modifiers::NONE, Key::C);
    w.click("Session");
    w.click("New Python session");
    assert_eq!(w.app().sessions.len(), 2);
    w.type_code(1, "other = 2");
    w.press(Modifiers::NONE, Key::Escape);
    key(&mut w, Modifiers::NONE, Key::V);
    let codes: Vec<String> = w.app().sessions[1].cells().map(|c| c.code.clone()).collect();
    assert_eq!(codes, ["other = 2", "shared = 1"]);
}

#[test]
fn enter_goes_back_into_a_raw_cell_too() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("raw.ipynb");
    let notebook = r#"{"cells": [{"cell_type": "raw", "metadata": {}, "source": "plain"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 4}"#;
    std::fs::write(&path, notebook).unwrap();
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path]);
    w.harness.run_steps(3);
    assert_eq!(w.app().sessions[0].nth_cell(0).unwrap().kind, CellKind::Raw);
    w.harness.get_by_label("cell 1").click();
    w.harness.run_steps(2);
    assert_eq!(w.app().selected_cell(), Some(id(&w, 0)));
    assert!(!editor_focused(&w));
    key(&mut w, Modifiers::NONE, Key::Enter);
    assert!(editor_focused(&w), "Enter focused the raw cell's editor");
    w.type_text("!");
    assert!(w.code(1).contains('!'), "{:?}", w.code(1));
}
