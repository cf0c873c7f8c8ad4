//! Rich outputs in the real window, headless (egui_kittest): images decoded
//! off the UI thread and laid out at their size, tables, Markdown, JSON
//! trees, HTML as text with a way to the browser, and images from a file.

mod common;

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::window::Window;
use egui_kittest::kittest::Queryable;
use runyard::manager::Event;
use runyard::protocol::Bundle;
use serde_json::{Value, json};

/// A PNG of `w`×`h` pixels, base64 (as bundles carry it).
fn png_base64(w: u32, h: u32) -> String {
    let image = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255]));
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn bundle(data: Value, metadata: Value) -> Arc<Bundle> {
    Arc::new(serde_json::from_value(json!({"data": data, "metadata": metadata})).unwrap())
}

/// A window with one session whose first cell shows `bundle` as a display.
fn showing(bundle: Arc<Bundle>) -> Window {
    let mut w = Window::open();
    w.click("New Python session");
    let session = &mut w.harness.state_mut().sessions[0];
    let id = session.id;
    let cell = session.nth_cell(0).unwrap().id;
    session.apply(&Event::Display {
        session: id,
        evaluation_ref: Some(cell.evaluation_ref()),
        bundle,
        display_id: None,
        update: false,
    });
    w.harness.run_steps(2);
    w
}

/// Steps frames until the window holds `n` decoded images (the decoder
/// runs on its own threads).
fn wait_for_images(w: &mut Window, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        w.harness.step();
        let (decoding, held, _) = w.app().images_state();
        if held >= n && decoding == 0 {
            w.harness.run_steps(2);
            return;
        }
        assert!(Instant::now() < deadline, "timed out decoding images");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The top of the label `text` on screen.
fn top_of(w: &Window, text: &str) -> f32 {
    w.harness.get_by_label(text).rect().top()
}

#[test]
fn a_png_display_is_laid_out_as_an_image_at_its_logical_size() {
    // A 2× image: 400×200 pixels shown as 200×100 points.
    let b = bundle(
        json!({"text/plain": "<Figure size 200x100>", "image/png": png_base64(400, 200)}),
        json!({"image/png": {"width": 200, "height": 100}}),
    );
    let mut w = showing(b);
    wait_for_images(&mut w, 1);
    let image = w.harness.get_by_label("image/png image");
    let rect = image.rect();
    assert_eq!((rect.width(), rect.height()), (200.0, 100.0), "{rect:?}");
    assert!(
        w.harness.query_by_label("<Figure size 200x100>").is_none(),
        "shown as an image, not its text"
    );
    // Its texture has the pixels drawn (200×100 at 1 pixel per point), not
    // the four times as many the image has.
    assert_eq!(w.app().images_state().2, 200 * 100 * 4);
    // Zoomed in to 2 pixels a point, it is decoded again at every pixel.
    w.harness.ctx.set_zoom_factor(2.0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.app().images_state().2 != 400 * 200 * 4 {
        assert!(
            Instant::now() < deadline,
            "never decoded at 2×: {:?}",
            w.app().images_state()
        );
        w.harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_png_without_metadata_shows_a_pixel_as_a_point_and_broken_data_says_so() {
    let mut w = showing(bundle(
        json!({"text/plain": "img", "image/png": png_base64(120, 80)}),
        json!({}),
    ));
    wait_for_images(&mut w, 1);
    let rect = w.harness.get_by_label("image/png image").rect();
    assert_eq!((rect.width(), rect.height()), (120.0, 80.0));

    let mut w = showing(bundle(
        json!({"text/plain": "img", "image/png": "not//base64@@"}),
        json!({}),
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while w
        .harness
        .query_by_label_contains("Cannot show this image/png")
        .is_none()
    {
        assert!(Instant::now() < deadline, "no message for broken data");
        w.harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_table_shows_its_header_and_total_and_sorts_by_a_clicked_header() {
    let b = bundle(
        json!({
            "text/plain": "a DataFrame",
            "application/vnd.dataresource+json": {
                "schema": {"fields": [{"name": "animal", "type": "string"}, {"name": "legs", "type": "integer"}]},
                "data": [
                    {"animal": "spider", "legs": 8},
                    {"animal": "bird", "legs": 2},
                    {"animal": "centipede", "legs": 100}
                ],
                "total_rows": 1_000_000
            }
        }),
        json!({}),
    );
    let mut w = showing(b);
    w.harness.get_by_label("3 of 1,000,000 rows");
    w.harness.get_by_label("animal");
    assert!(w.harness.query_by_label("a DataFrame").is_none());
    let order = |w: &Window| {
        let mut rows: Vec<(f32, &str)> = ["spider", "bird", "centipede"]
            .into_iter()
            .map(|a| (top_of(w, a), a))
            .collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        rows.into_iter().map(|(_, a)| a).collect::<Vec<_>>()
    };
    assert_eq!(order(&w), ["spider", "bird", "centipede"], "as sent");
    w.click("legs");
    assert_eq!(
        order(&w),
        ["bird", "spider", "centipede"],
        "2 < 8 < 100: numbers as numbers"
    );
    w.click("legs");
    assert_eq!(order(&w), ["centipede", "spider", "bird"]);
    w.click("animal");
    assert_eq!(order(&w), ["bird", "centipede", "spider"]);
    w.harness.get_by_label("Copy as TSV");
}

#[test]
fn a_malformed_table_falls_back_to_its_text() {
    let b = bundle(
        json!({"text/plain": "the table as text", "application/vnd.dataresource+json": {"schema": 3}}),
        json!({}),
    );
    let w = showing(b);
    w.harness.get_by_label("the table as text");
}

#[test]
fn markdown_renders() {
    let b = bundle(
        json!({"text/plain": "<IPython.core.display.Markdown object>", "text/markdown": "# Results heading\n\nSome *words* here."}),
        json!({}),
    );
    let w = showing(b);
    w.harness.get_by_label("Results heading");
    assert!(w.harness.query_by_label_contains("IPython.core").is_none());
}

#[test]
fn json_is_a_collapsible_tree() {
    let b = bundle(
        json!({"text/plain": "{...}", "application/json": {"alpha": [1, 2, 3], "beta": {"gamma": "deep"}}}),
        json!({}),
    );
    let mut w = showing(b);
    w.harness.get_by_label("{2}");
    w.harness.get_by_label("alpha: [3]");
    assert!(w.harness.query_by_label("gamma: \"deep\"").is_none(), "closed at first");
    w.click("beta: {1}");
    w.harness.get_by_label("gamma: \"deep\"");
}

#[test]
fn html_only_shows_its_text_and_a_way_to_the_browser() {
    let b = bundle(
        json!({"text/plain": "the plain version", "text/html": "<b>the rich version</b>"}),
        json!({}),
    );
    let w = showing(b);
    w.harness.get_by_label("the plain version");
    w.harness.get_by_label("Open in browser");
    assert!(w.harness.query_by_label_contains("<b>").is_none());
}

#[test]
fn a_png_stored_in_an_ipynb_file_is_shown_as_an_image() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("plot.ipynb");
    let notebook = json!({
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"language_info": {"name": "python"}},
        "cells": [{
            "cell_type": "code",
            "id": "a1",
            "metadata": {},
            "execution_count": 1,
            "source": ["plot()"],
            "outputs": [{
                "output_type": "display_data",
                "data": {"text/plain": ["<Figure size 160x90>"], "image/png": png_base64(160, 90)},
                "metadata": {}
            }]
        }]
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&notebook).unwrap()).unwrap();
    let mut w = Window::open_with(home, vec![path]);
    assert_eq!(w.app().sessions.len(), 1, "the file opened");
    wait_for_images(&mut w, 1);
    let rect = w.harness.get_by_label("image/png image").rect();
    assert_eq!((rect.width(), rect.height()), (160.0, 90.0));
}

/// A long notebook lays out what is near the screen only: a cell far below
/// is not drawn (its space is kept), and is drawn again when scrolled to.
#[test]
fn cells_far_off_screen_are_not_laid_out_but_keep_their_place() {
    let mut w = Window::open();
    w.click("New Python session");
    {
        let session = &mut w.harness.state_mut().sessions[0];
        session.set_code(session.nth_cell(0).unwrap().id, "first_cell_marker = 1".into());
        for i in 1..60 {
            let id = session.add_cell(format!("cell_{i} = {i}"));
            if i == 59 {
                session.set_code(id, "last_cell_marker = 59".into());
            }
        }
    }
    // Once to measure every cell, then with the top in view.
    w.harness.run_steps(3);
    let found = |w: &Window, text: &str| {
        w.harness
            .query_all(egui_kittest::kittest::by().value(text))
            .next()
            .is_some()
    };
    assert!(found(&w, "first_cell_marker = 1"));
    assert!(
        !found(&w, "last_cell_marker = 59"),
        "the last cell is far below: not laid out"
    );
    let id = w.app().sessions[0].id;
    w.harness.state_mut().scroll_to(id, 50_000.0);
    // egui eases an overscroll back to the end over a few frames.
    for _ in 0..200 {
        if found(&w, "last_cell_marker = 59") {
            break;
        }
        w.harness.step();
    }
    assert!(
        found(&w, "last_cell_marker = 59"),
        "scrolled to the end: the last cell is drawn"
    );
    assert!(!found(&w, "first_cell_marker = 1"));
    assert!(
        w.app().scrolled(id).unwrap_or(0.0) > 2_000.0,
        "the skipped cells kept their height"
    );
}

/// A running cell's `input()` shows its prompt and a field under the cell;
/// what is typed and sent with Enter answers it, and stays in the output.
#[test]
fn an_input_request_is_answered_from_a_field_in_its_cell() {
    let mut w = Window::open();
    w.click("New Python session");
    {
        let session = &mut w.harness.state_mut().sessions[0];
        let id = session.id;
        let cell = session.nth_cell(0).unwrap().id;
        session.apply(&Event::InputRequested {
            session: id,
            evaluation_ref: Some(cell.evaluation_ref()),
            prompt: "Your name? ".into(),
            password: false,
        });
    }
    w.harness.run_steps(2);
    w.harness.get_by_label("Your name? ");
    w.harness.get_by_label("End of input");
    // The field takes the keyboard focus as it appears.
    w.harness.input_mut().events.push(egui::Event::Text("Ada".into()));
    w.harness.run_steps(1);
    w.harness.key_press(egui::Key::Enter);
    w.harness.run_steps(2);
    let session = &w.app().sessions[0];
    assert_eq!(session.input, None, "answered");
    assert_eq!(session.nth_cell(0).unwrap().output.text(), "Your name? Ada\n");
}
