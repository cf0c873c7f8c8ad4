//! Notebook sessions in the real window with real runtimes: the queue,
//! stale cells, deletion, interrupts, errors and bounded output.

mod common;

use common::window::Window;
use egui_kittest::kittest::Queryable;
use runyard::session::{CellResult, CellState, Status};

fn value(w: &Window, index: usize) -> Option<String> {
    match &w.app().sessions[0].nth_cell(index)?.result {
        Some(CellResult::Value(v)) => Some(v.text()),
        _ => None,
    }
}

fn evaluated(state: &CellState) -> bool {
    matches!(state, CellState::Evaluated { .. })
}

fn error_kind(w: &Window, index: usize) -> Option<String> {
    match &w.app().sessions[0].nth_cell(index)?.result {
        Some(CellResult::Error(e)) => Some(e.kind.clone()),
        _ => None,
    }
}

/// A session whose first cells hold `codes` (typed, not evaluated).
fn notebook(codes: &[&str]) -> Window {
    let mut w = Window::open();
    w.click("New Python session");
    for (i, code) in codes.iter().enumerate() {
        if i > 0 {
            // "+ Code" after the last cell: the bars are one above each cell and one below.
            let bars = w.harness.query_all_by_label("+ Code").count();
            w.click_nth("+ Code", bars - 1);
        }
        w.type_code(i + 1, code);
    }
    w
}

#[test]
fn evaluating_a_cell_runs_the_cells_above_it_first_in_order() {
    let mut w = notebook(&["x = 20", "x * 2 + 2"]);
    w.click_nth("Evaluate", 1);
    w.wait_until("both evaluated", |app| {
        app.sessions[0].cells().all(|c| evaluated(&c.state))
    });
    assert_eq!(value(&w, 1).as_deref(), Some("42"));
    let counts: Vec<Option<u64>> = w.app().sessions[0].cells().map(|c| c.execution_count).collect();
    assert_eq!(counts, [Some(1), Some(2)], "the upper cell ran first");
}

#[test]
fn editing_an_upper_cell_makes_lower_cells_stale_and_reevaluation_uses_the_new_bindings() {
    let mut w = notebook(&["x = 1", "x + 1"]);
    w.click_nth("Evaluate", 1);
    w.wait_until("evaluated", |app| app.sessions[0].cells().all(|c| evaluated(&c.state)));
    assert_eq!(value(&w, 1).as_deref(), Some("2"));
    w.type_code_append(1, "0"); // x = 10
    assert_eq!(w.cell_state(0), CellState::Stale);
    assert_eq!(w.cell_state(1), CellState::Stale);
    assert!(w.harness.query_all_by_label("stale").count() >= 2);
    w.click_nth("Evaluate", 1);
    w.wait_until("re-evaluated", |app| {
        app.sessions[0].cells().all(|c| evaluated(&c.state))
    });
    assert_eq!(value(&w, 1).as_deref(), Some("11"));
}

#[test]
fn deleting_a_cell_forgets_its_bindings_in_the_runtime() {
    let mut w = notebook(&["a = 1", "b = a + 1", "b * 10"]);
    w.click_nth("Evaluate", 2);
    w.wait_until("evaluated", |app| app.sessions[0].cells().all(|c| evaluated(&c.state)));
    assert_eq!(value(&w, 2).as_deref(), Some("20"));
    // The second cell's menu: each cell has one, after the section's.
    w.click_nth("…", 3);
    w.click("Delete");
    assert_eq!(w.app().sessions[0].cells().count(), 2);
    assert_eq!(w.cell_state(1), CellState::Stale);
    w.click_nth("Evaluate", 1);
    w.wait_until("the last cell ran again", |app| {
        matches!(app.sessions[0].nth_cell(1).unwrap().state, CellState::Errored { .. })
    });
    assert_eq!(error_kind(&w, 1).as_deref(), Some("NameError"), "b went with its cell");
    w.click("Undo delete");
    assert_eq!(w.app().sessions[0].cells().count(), 3);
}

#[test]
fn interrupting_stops_the_running_cell_and_empties_the_queue() {
    let mut w = notebook(&["import time\ntime.sleep(1000)", "after = True"]);
    w.click_nth("Evaluate", 1);
    w.wait_until("running", |app| app.sessions[0].status() == Status::Evaluating);
    assert_eq!(w.cell_state(1), CellState::Queued);
    w.harness.get_by_label("queued");
    w.click("Interrupt");
    w.wait_until("interrupted", |app| {
        app.sessions[0].nth_cell(0).unwrap().state == CellState::Interrupted
    });
    assert_eq!(w.cell_state(1), CellState::Fresh, "the queue was emptied");
    assert_eq!(w.app().sessions[0].status(), Status::Idle);
}

#[test]
fn an_error_shows_its_message_and_traceback() {
    let mut w = notebook(&["def f():\n    return 1 / 0\n\nf()"]);
    w.click("Evaluate");
    w.wait_until("error", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Errored { .. })
    });
    w.harness.get_by_label("ZeroDivisionError: division by zero");
    w.harness.get_by_label("Traceback");
    w.harness.get_by_label_contains("File \"cell 1\", line 2, in f");
}

#[test]
fn a_carriage_return_progress_bar_renders_as_one_line() {
    let code = "import sys, time\nfor i in range(5):\n    sys.stderr.write('\\r%3d%%|%s' % (i * 25, '#' * i))\n    sys.stderr.flush()\n    time.sleep(0.01)\nsys.stderr.write('\\n')";
    let mut w = notebook(&[code]);
    w.click("Evaluate");
    w.wait_until("evaluated", |app| {
        evaluated(&app.sessions[0].nth_cell(0).unwrap().state)
    });
    let output = w.app().sessions[0].nth_cell(0).unwrap().output.text();
    assert_eq!(output, "100%|####\n");
    w.harness.get_by_label("100%|####");
}

#[test]
fn a_million_printed_lines_stay_bounded_with_the_left_out_count_shown() {
    let mut w = notebook(&["for i in range(1_000_000):\n    print(i)"]);
    w.click("Evaluate");
    w.wait_until("evaluated", |app| {
        evaluated(&app.sessions[0].nth_cell(0).unwrap().state)
    });
    let output = &w.app().sessions[0].nth_cell(0).unwrap().output;
    assert_eq!(output.omitted(), 900_000);
    assert_eq!(output.rows(), 100_001);
    let received = (0..1_000_000).map(|i: u32| i.to_string().len() + 1).sum::<usize>();
    assert_eq!(output.bytes_received(), received, "every byte arrived");
    w.harness.get_by_label_contains("900000 lines left out");
}

#[test]
fn markdown_cells_render_and_a_new_section_continues_from_the_one_above() {
    let mut w = notebook(&["shared = 1"]);
    w.click("Evaluate");
    w.wait_until("evaluated", |app| {
        evaluated(&app.sessions[0].nth_cell(0).unwrap().state)
    });
    w.click("+ Section");
    assert_eq!(w.app().sessions[0].sections.len(), 2);
    w.type_code(2, "'shared' in globals()");
    w.click_nth("Evaluate", 1);
    w.wait_until("evaluated", |app| {
        evaluated(&app.sessions[0].nth_cell(1).unwrap().state)
    });
    assert_eq!(
        value(&w, 1).as_deref(),
        Some("True"),
        "a section continues from the one above"
    );
    assert_ne!(
        w.app().sessions[0].sections[0].id.container(),
        w.app().sessions[0].sections[1].id.container(),
        "each section is its own container"
    );

    w.click_nth("+ Markdown", 0);
    w.harness
        .get(egui_kittest::kittest::by().predicate(|n| n.placeholder() == Some("Markdown for cell 1")))
        .focus();
    w.harness.step();
    w.harness
        .get(egui_kittest::kittest::by().predicate(|n| n.placeholder() == Some("Markdown for cell 1")))
        .type_text("## Results\n\nSome **bold** words.");
    w.harness.step();
    w.click("Done");
    w.harness.get_by_label("Results");
    assert!(w.harness.query_by_label("## Results").is_none(), "rendered, not raw");
}
