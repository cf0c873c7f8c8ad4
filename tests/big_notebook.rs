//! A big notebook in the real window, headless (egui_kittest): 2,000 cells
//! with text outputs and images, opened from a real `.ipynb` file as from
//! the command line. Only what is near the visible part is laid out; the
//! rest keeps its text and outputs for when it is scrolled to. No runtime is
//! started.

mod common;

use std::io::Cursor;
use std::path::Path;

use base64::Engine as _;
use common::window::Window;
use egui_kittest::kittest::{Queryable, by};
use serde_json::json;

const CELLS: usize = 2000;

fn png_base64(w: u32, h: u32) -> String {
    let image = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn source(i: usize) -> String {
    format!("values_{i} = list(range({i}))\nprint(\"cell {i} printed\", sum(values_{i}))")
}

/// `cells` code cells, each with two lines of output; every 50th shows an image.
fn write_notebook(path: &Path, cells: usize) {
    let png = png_base64(320, 160);
    let cells: Vec<_> = (0..cells)
        .map(|i| {
            let mut outputs = vec![json!({
                "output_type": "stream", "name": "stdout",
                "text": [format!("cell {i} printed {}\n", i * (i.max(1) - 1) / 2), format!("second line of {i}\n")]
            })];
            if i % 50 == 0 {
                outputs.push(json!({
                    "output_type": "display_data",
                    "data": {"image/png": png, "text/plain": ["<Figure>"]},
                    "metadata": {"image/png": {"width": 320, "height": 160}}
                }));
            }
            json!({
                "cell_type": "code", "execution_count": i + 1, "metadata": {},
                "source": source(i), "outputs": outputs
            })
        })
        .collect();
    let notebook = json!({
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 4
    });
    std::fs::write(path, serde_json::to_vec(&notebook).unwrap()).unwrap();
}

/// The window with a 2,000-cell notebook opened as from the command line.
fn big_notebook() -> Window {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("big.ipynb");
    write_notebook(&path, CELLS);
    let mut w = Window::open_with(home, vec![path]);
    w.wait_until("the notebook to open", |app| {
        app.sessions.first().is_some_and(|s| s.cells().count() == CELLS)
    });
    w
}

/// Is the editor holding `code` laid out (in the accessibility tree)?
fn editor_shown(w: &Window, code: &str) -> bool {
    w.harness
        .query(
            by().role(egui::accesskit::Role::MultilineTextInput)
                .predicate(|node| node.value().as_deref() == Some(code)),
        )
        .is_some()
}

fn scroll_to(w: &mut Window, offset: f32) -> f32 {
    let id = w.app().sessions[0].id;
    w.harness.state_mut().scroll_to(id, offset);
    w.harness.run_steps(3);
    w.app().scrolled(id).unwrap_or(0.0)
}

#[test]
fn a_2000_cell_notebook_opens_and_scrolls_to_its_last_cell() {
    let mut w = big_notebook();
    assert!(editor_shown(&w, &source(0)), "the first cell is shown");
    assert!(
        !editor_shown(&w, &source(CELLS / 2)),
        "a cell far below the visible part is not laid out"
    );
    // To the end, a few screens at a time (as when dragging the scroll
    // bar), until egui stops at the end.
    let mut end = 0.0;
    loop {
        let reached = scroll_to(&mut w, end + 2_500.0);
        if reached < end + 2_000.0 {
            break;
        }
        end = reached;
    }
    let end = scroll_to(&mut w, end + 2_500.0);
    assert!(end > 50_000.0, "2,000 cells are tall: {end}");
    assert!(
        editor_shown(&w, &source(CELLS - 1)),
        "the last cell is shown at the end"
    );
    assert!(
        w.harness.query_by_label_contains("second line of 1999").is_some(),
        "with its output"
    );
    assert!(!editor_shown(&w, &source(0)), "the first cell is no longer laid out");
}

#[test]
fn a_cell_far_down_keeps_its_text_and_outputs_after_scrolling_away_and_back() {
    let mut w = big_notebook();
    // Down to about three quarters, a screen at a time, as a reader would.
    let mut offset = 0.0;
    while !editor_shown(&w, &source(1500)) {
        offset += 600.0;
        let reached = scroll_to(&mut w, offset);
        assert!(reached + 1.0 >= offset, "cell 1501 was never reached ({reached})");
    }
    let there = offset;
    assert!(w.harness.query_by_label_contains("cell 1500 printed").is_some());
    scroll_to(&mut w, 0.0);
    assert!(!editor_shown(&w, &source(1500)));
    assert!(editor_shown(&w, &source(0)));
    // Back where it was: the same cell, with its text and its output.
    scroll_to(&mut w, there);
    assert!(editor_shown(&w, &source(1500)), "the cell is where it was");
    assert!(w.harness.query_by_label_contains("cell 1500 printed").is_some());
    assert_eq!(w.app().sessions[0].nth_cell(1500).unwrap().code, source(1500));
}

/// The window draws a frame for a pointer move (eframe asks for one), but
/// over still content nothing in it keeps asking for more: no endless
/// animation or repaint request keeps a computer without a GPU busy. (Over
/// the scroll bar, egui widens it in a few frames.)
#[test]
fn moving_the_pointer_over_a_still_notebook_asks_for_no_further_frames() {
    let mut w = big_notebook();
    w.harness.try_run().expect("the opened notebook comes to rest");
    let mut frames = Vec::new();
    for y in (120..860).step_by(90) {
        for x in (40..1180).step_by(140) {
            let at = egui::pos2(x as f32, y as f32);
            w.harness.input_mut().events.push(egui::Event::PointerMoved(at));
            let steps = w
                .harness
                .try_run()
                .unwrap_or_else(|e| panic!("frames kept coming after the pointer moved to {at:?}: {e}"));
            frames.push((steps, at));
        }
    }
    let (most, at) = frames.iter().max_by_key(|(steps, _)| *steps).unwrap();
    assert!(*most <= 8, "{most} frames after the pointer moved to {at:?}");
}

/// A file of about 6 MB: a Markdown title cell, then code cells with 10 kB
/// of output each.
fn write_big_file(path: &Path) {
    let line = "x".repeat(99) + "\n";
    let mut cells =
        vec![json!({"cell_type": "markdown", "metadata": {}, "source": ["# Survey of results\n", "Read me first."]})];
    cells.extend((0..600).map(|i| {
        json!({
            "cell_type": "code", "execution_count": i + 1, "metadata": {},
            "source": format!("total_{i} = {i} * 2"),
            "outputs": [{"output_type": "stream", "name": "stdout", "text": line.repeat(100)}]
        })
    }));
    let notebook = json!({
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 4
    });
    std::fs::write(path, serde_json::to_vec(&notebook).unwrap()).unwrap();
}

/// A big file shows its first cells while the rest is read (the open is
/// held back by a test hook after the preview, as a slow parse would), then
/// becomes its session.
#[test]
fn a_big_file_shows_its_first_cells_while_the_rest_is_read() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("survey.ipynb");
    write_big_file(&path);
    assert!(std::fs::metadata(&path).unwrap().len() > 5_000_000);
    let hooks = runyard::app::TestHooks {
        slow_opens: std::time::Duration::from_secs(3),
        ..Default::default()
    };
    let mut w = Window::open_hooked(home, Vec::new(), hooks);
    w.harness.state_mut().open_files(std::slice::from_ref(&path));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while w.harness.query_by_label_contains("Opening survey").is_none() {
        assert!(std::time::Instant::now() < deadline, "no preview came");
        w.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    w.harness.step();
    assert!(w.app().sessions.is_empty(), "the session came before its preview");
    assert!(
        w.harness.query_by_label("Survey of results").is_some(),
        "the Markdown title"
    );
    assert!(
        w.harness.query_by_label("total_0 = 0 * 2").is_some(),
        "the first code cell"
    );
    assert!(w.harness.query_by_label("total_28 = 28 * 2").is_some(), "the 30th cell");
    assert!(
        w.harness.query_by_label("total_29 = 29 * 2").is_none(),
        "only the first 30 cells"
    );
    assert!(w.harness.query_by_label_contains("The first 30 cells").is_some());

    w.wait_until("the notebook to open", |app| app.sessions.len() == 1);
    assert_eq!(w.app().sessions[0].cells().count(), 601);
    assert!(w.harness.query_by_label_contains("Opening survey").is_none());
    assert!(w.harness.query_by_label_contains("The first 30 cells").is_none());
}

/// While a big file is read, the user can go back to a session and then
/// to the file's preview again from its row in the sessions list.
#[test]
fn the_sessions_stay_reachable_while_a_big_file_is_read() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("survey.ipynb");
    write_big_file(&path);
    let hooks = runyard::app::TestHooks {
        slow_opens: std::time::Duration::from_secs(4),
        ..Default::default()
    };
    let mut w = Window::open_hooked(home, Vec::new(), hooks);
    w.new_session_from_list();
    let name = w.app().sessions[0].name.clone();
    w.harness.state_mut().open_files(std::slice::from_ref(&path));
    let preview_shown = |w: &Window| w.harness.query_by_label_contains("The first 30 cells").is_some();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !preview_shown(&w) {
        assert!(std::time::Instant::now() < deadline, "no preview came");
        w.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // The session's own row: the preview gives way to the session.
    w.click_first(&name);
    w.harness.step();
    assert!(!preview_shown(&w), "the session was clicked, the preview stayed");
    assert!(w.harness.query_by_label("Connect").is_some(), "the session is shown");
    w.click("Opening survey…");
    w.harness.step();
    assert!(preview_shown(&w), "the file's row brings its preview back");
    w.wait_until("the notebook to open", |app| app.sessions.len() == 2);
    assert_eq!(w.app().selected, Some(w.app().sessions[1].id));
}
