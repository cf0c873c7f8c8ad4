//! Notebook files in the window: open, save, unparsable files, autosave and
//! restore, sessions reopened at start, unsaved changes at close, and files
//! changed by another program.

mod common;

use std::path::Path;
use std::time::Duration;

use common::window::Window;
use egui_kittest::kittest::Queryable;
use runyard::notebook::{self, Output};
use runyard::session::{CellState, Status};

const NOTEBOOK: &str = r##"{
 "cells": [
  {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Sums\n"]},
  {"cell_type": "code", "execution_count": 3, "id": "first", "metadata": {"tags": ["keep-me"]},
   "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure>"]}, "metadata": {}}],
   "source": ["total = sum(range(10))"]},
  {"cell_type": "code", "execution_count": null, "id": "second", "metadata": {}, "outputs": [], "source": ["total * 2"]}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "custom": {"unknown": true}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

fn write_notebook(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("sums.ipynb");
    std::fs::write(&path, NOTEBOOK).unwrap();
    path
}

#[test]
fn a_notebook_given_on_the_command_line_opens_evaluates_and_saves_without_losing_what_runyard_does_not_show() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(3);
    let session = &w.app().sessions[0];
    assert_eq!(session.name, "sums");
    assert_eq!(session.status(), Status::Disconnected, "no runtime starts until asked");
    assert_eq!(
        session.cells().count(),
        2,
        "the title heading became the notebook's title"
    );
    w.harness.get_by_label("<Figure>");
    let title = egui_kittest::kittest::by()
        .value("Sums")
        .role(egui::accesskit::Role::TextInput);
    w.harness.get(title); // the title, editable

    w.click_nth("Evaluate", 1);
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(1).unwrap().state, CellState::Evaluated { .. })
    });
    assert!(w.app().sessions[0].is_dirty());
    w.save_shortcut();
    assert!(!w.app().sessions[0].is_dirty());

    let saved = notebook::open(&path).unwrap();
    assert_eq!(saved.title.as_deref(), Some("Sums"));
    let cells: Vec<&notebook::Cell> = saved.cells().collect();
    assert_eq!(cells[0].id.as_deref(), Some("first"), "cell ids are kept");
    assert_eq!(cells[0].metadata["tags"][0], "keep-me", "unknown cell metadata is kept");
    assert_eq!(
        saved.metadata["custom"]["unknown"], true,
        "unknown notebook metadata is kept"
    );
    // The first cell ran again (it was not up to date), so its output is new.
    assert_eq!(cells[1].outputs, vec![Output::result("90", Some(2))]);
    assert_eq!(cells[1].execution_count, Some(2));
    assert!(
        cells[0].outputs.is_empty(),
        "the first cell ran again and printed nothing"
    );
}

#[test]
fn outputs_of_cells_not_run_again_are_written_back_as_they_were() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(3);
    // An edit to the last cell only.
    w.type_code_append(2, " + 1");
    w.save_shortcut();
    let saved = notebook::open(&path).unwrap();
    let first = saved.cells().next().unwrap();
    let image = first.outputs[0].data().unwrap()["image/png"].clone();
    assert_eq!(image, "iVBORw0KGgo=", "the rich output survives");
    assert_eq!(first.execution_count, Some(3));
    assert_eq!(saved.cells().nth(1).unwrap().source, "total * 2 + 1");
}

#[test]
fn a_file_that_cannot_be_read_is_reported_with_where_and_left_untouched() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("broken.ipynb");
    let broken = "{\n \"cells\": [\n  {\"cell_type\": \"code\",, }\n ]\n}\n";
    std::fs::write(&path, broken).unwrap();
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(3);
    assert!(w.app().sessions.is_empty());
    let notice = w.app().notice.clone().expect("reported");
    assert!(notice.contains("broken.ipynb") && notice.contains("line 3"), "{notice}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn unsaved_work_is_autosaved_and_offered_back_after_a_crash() {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, "precious = 42");
    let home = {
        // Autosave runs within a few seconds of a change.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            w.harness.step();
            let dir = w.app().dirs().data.join("autosave");
            if std::fs::read_dir(&dir).is_ok_and(|d| d.count() >= 2) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "nothing was autosaved");
            std::thread::sleep(Duration::from_millis(50));
        }
        w.crash()
    };
    let mut w = Window::open_in(home);
    w.harness.run_steps(2);
    w.harness.get_by_label_contains("did not exit cleanly");
    w.click("Restore");
    let session = &w.app().sessions[0];
    assert_eq!(session.nth_cell(0).unwrap().code, "precious = 42");
    assert!(session.is_dirty(), "restored work is still unsaved");
}

#[test]
fn the_sessions_open_at_exit_come_back_disconnected() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.click("Connect");
    w.wait_until("connected", |app| app.sessions[0].status() == Status::Idle);
    let home = w.exit();
    let mut w = Window::open_in(home);
    w.harness.run_steps(2);
    assert_eq!(w.app().sessions.len(), 1);
    let session = &w.app().sessions[0];
    assert_eq!(session.file.as_deref(), Some(path.as_path()));
    assert_eq!(session.status(), Status::Disconnected);
}

#[test]
fn closing_with_unsaved_changes_asks_save_discard_or_cancel() {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, "draft = True");
    w.request_close();
    w.harness.get_by_label("Save changes before closing?");
    w.click("Cancel");
    assert!(w.harness.query_by_label("Save changes before closing?").is_none());
    assert!(!w.app().is_closing(), "cancel keeps the window open");
    w.request_close();
    w.click("Discard");
    assert!(w.app().is_closing());
}

#[test]
fn a_file_changed_on_disk_reloads_when_there_are_no_local_changes_and_asks_otherwise() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(2);
    std::thread::sleep(Duration::from_millis(20));
    let changed = NOTEBOOK.replace("total * 2", "total * 3");
    std::fs::write(&path, &changed).unwrap();
    w.refocus();
    assert_eq!(w.app().sessions[0].nth_cell(1).unwrap().code, "total * 3", "reloaded");

    w.type_code_append(2, " # mine");
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&path, NOTEBOOK.replace("total * 2", "total * 4")).unwrap();
    w.refocus();
    w.harness.get_by_label_contains("changed on disk");
    w.click("Keep mine");
    assert_eq!(w.app().sessions[0].nth_cell(1).unwrap().code, "total * 3 # mine");
}
