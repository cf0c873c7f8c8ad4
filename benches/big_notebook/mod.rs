//! The big-notebook figures: a 2,000-cell notebook (code, text outputs, an
//! image every 10th cell) opened from a real `.ipynb` file through the
//! window's own open path, scrolled with wheel steps and typed into; the
//! window's resident memory with it open (each measured in a process of its
//! own); and a 50 MB notebook opened to its first frame.

use std::path::Path;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{Queryable, by};
use runyard::app::RunyardApp;

use super::{FRAMES, frame, harness, median_p95, plot_png, resident_mib};

/// The environment variable that makes the bench binary a child measuring
/// one resident-memory figure: `empty`, or the path of a notebook to open.
pub const CHILD: &str = "RUNYARD_UI_BENCH_RSS";

/// Writes a notebook of `cells` code cells: a few lines of code each, a
/// `lines`-line stdout output, and every `image_every`th cell a plot PNG.
/// Returns the file's size in bytes.
pub fn write_notebook(path: &Path, cells: usize, lines: usize, image_every: usize) -> u64 {
    let pngs: Vec<String> = (0..8).map(|i| plot_png(i as f32)).collect();
    let cells: Vec<serde_json::Value> = (0..cells)
        .map(|i| {
            let source = format!(
                "# step {i}: load, transform, show\nvalues_{i} = [x * {i} for x in range(100)]\ntotal_{i} = sum(values_{i})\nprint(f\"step {i}: {{total_{i}}}\")\n"
            );
            let text: Vec<String> = (0..lines)
                .map(|l| format!("step {i} line {l}: {:>12.4} {:>12.4}\n", i as f64 * 1.5, l as f64 / 7.0))
                .collect();
            let mut outputs = vec![serde_json::json!({
                "output_type": "stream", "name": "stdout", "text": text
            })];
            if image_every > 0 && i % image_every == 0 {
                outputs.push(serde_json::json!({
                    "output_type": "display_data",
                    "data": {
                        "image/png": pngs[i / image_every % pngs.len()],
                        "text/plain": ["<Figure size 640x480 with 1 Axes>"]
                    },
                    "metadata": {"image/png": {"width": 640, "height": 480}}
                }));
            }
            serde_json::json!({
                "cell_type": "code",
                "execution_count": i + 1,
                "metadata": {},
                "source": source.split_inclusive('\n').collect::<Vec<_>>(),
                "outputs": outputs
            })
        })
        .collect();
    let notebook = serde_json::json!({
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 4
    });
    let bytes = serde_json::to_vec(&notebook).expect("serialises");
    std::fs::write(path, &bytes).expect("writes the notebook");
    bytes.len() as u64
}

/// Asks the window to open `path` as File › Open does, and steps frames
/// until its session is shown. Returns the time from asking to the end of
/// the first frame that drew the session, and the session's id.
pub fn open(h: &mut Harness<'static, RunyardApp>, path: &Path) -> (Duration, runyard::SessionId) {
    let start = Instant::now();
    h.state_mut().open_files(&[path.to_path_buf()]);
    let deadline = start + Duration::from_secs(300);
    loop {
        h.step();
        let shown = h.state().sessions.iter().find(|s| s.file.as_deref() == Some(path));
        if let Some(session) = shown {
            let id = session.id;
            // The frame that opened it ran before the session existed: one
            // more draws it.
            h.step();
            return (start.elapsed(), id);
        }
        assert!(Instant::now() < deadline, "{} never opened", path.display());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One notch of a mouse wheel, down, over the notebook.
fn wheel_down(h: &mut Harness<'static, RunyardApp>) {
    let input = h.input_mut();
    input.events.push(egui::Event::PointerMoved(egui::pos2(700.0, 600.0)));
    input.events.push(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -1.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
}

/// What the 2,000-cell notebook measured.
pub struct Figures {
    pub scroll: (Duration, Duration),
    /// Points scrolled per wheel notch, on average.
    pub per_notch: f32,
    pub typing: (Duration, Duration),
    pub open: Duration,
}

/// Frame times of a 2,000-cell notebook: scrolled by wheel notches (one
/// per frame, from its top), then typed into in its middle cell.
pub fn frames(home: &Path, notebook: &Path) -> Figures {
    let mut h = harness(home);
    let (open, id) = open(&mut h, notebook);
    super::settle(&mut h);
    let times: Vec<Duration> = (0..FRAMES)
        .map(|_| {
            wheel_down(&mut h);
            frame(&mut h)
        })
        .collect();
    // Let the last notches' scrolling finish before reading how far it went.
    for _ in 0..30 {
        h.step();
    }
    let per_notch = h.state().scrolled(id).unwrap_or(0.0) / FRAMES as f32;
    let scroll = median_p95(times);

    // Down to the middle cell, until its editor is laid out.
    let middle = {
        let session = h.state().sessions.iter().find(|s| s.id == id).unwrap();
        let n = session.cells().count();
        session.nth_cell(n / 2).unwrap().code.clone()
    };
    let editor = || {
        let code = middle.clone();
        by().role(egui::accesskit::Role::MultilineTextInput)
            .predicate(move |node| node.value().as_deref() == Some(code.as_str()))
    };
    let mut offset = 0.0;
    while h.query(editor()).is_none() {
        offset += 400.0;
        h.state_mut().scroll_to(id, offset);
        h.step();
        assert!(
            h.state().scrolled(id).unwrap_or(0.0) + 1.0 >= offset,
            "the middle cell was never laid out"
        );
    }
    // Typed into at its end a character a frame, through the editor's own
    // key handling, as a user types.
    let cell = {
        let session = h.state().sessions.iter().find(|s| s.id == id).unwrap();
        let n = session.cells().count();
        session.nth_cell(n / 2).unwrap().id
    };
    h.get(editor()).focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
    h.step();
    let mut typed = String::new();
    let times: Vec<Duration> = (0..FRAMES)
        .map(|i| {
            let c = if i % 8 == 7 { ' ' } else { 'x' };
            typed.push(c);
            h.input_mut().events.push(egui::Event::Text(c.to_string()));
            frame(&mut h)
        })
        .collect();
    h.step();
    let now = h
        .state()
        .sessions
        .iter()
        .find(|s| s.id == id)
        .and_then(|s| s.cell(cell))
        .map(|c| c.code.clone())
        .unwrap_or_default();
    assert_eq!(
        now,
        format!("{middle}{typed}"),
        "every key reached the middle cell's editor"
    );
    Figures {
        scroll,
        per_notch,
        typing: median_p95(times),
        open,
    }
}

/// In a child process (see [`CHILD`]): the window's VmRSS in MiB, empty or
/// with a notebook open and its first screen drawn, printed for the parent.
pub fn child(what: &str) {
    let home = tempfile::tempdir().expect("temp dir");
    let mut h = harness(home.path());
    if what != "empty" {
        open(&mut h, Path::new(what));
    }
    super::settle(&mut h);
    for _ in 0..20 {
        h.step();
    }
    // Idle for a moment, as a user's window is: the decoders give back what
    // they freed half a second after their last image.
    std::thread::sleep(Duration::from_secs(1));
    println!("rss {}", resident_mib());
    // Nothing to tidy: the parent reads the figure, and exiting here keeps
    // the heap as it was measured for a heap profiler.
    std::process::exit(0);
}

/// Runs this binary again as a child measuring `what`; its VmRSS in MiB.
pub fn rss_of(what: &str) -> f64 {
    let out = std::process::Command::new(std::env::current_exe().expect("the bench's own path"))
        .env(CHILD, what)
        .output()
        .expect("the bench runs itself");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("rss "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no figure from the child: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The times to open a notebook of about `megabytes` MB to the first frame
/// showing its first cells (the preview) and to the first frame showing its
/// session, and the file's size.
pub fn open_big(home: &Path, dir: &Path, megabytes: u64) -> (Duration, Duration, u64) {
    let path = dir.join("big.ipynb");
    // About 7.5 kB a cell on average (60 lines of output; a plot every 10th).
    let cells = (megabytes * 1_000_000 / 7_500) as usize;
    let size = write_notebook(&path, cells, 60, 10);
    let mut h = harness(home);
    // The first frame of the window itself is not the notebook's.
    h.step();
    let start = Instant::now();
    h.state_mut().open_files(std::slice::from_ref(&path));
    let mut preview = None;
    let deadline = start + Duration::from_secs(300);
    let id = loop {
        h.step();
        if preview.is_none() && h.query_by_label_contains("Opening big").is_some() {
            preview = Some(start.elapsed());
        }
        if let Some(session) = h.state().sessions.iter().find(|s| s.file.as_deref() == Some(&*path)) {
            let id = session.id;
            h.step();
            break id;
        }
        assert!(Instant::now() < deadline, "{} never opened", path.display());
        std::thread::sleep(Duration::from_millis(1));
    };
    let took = start.elapsed();
    let first = h
        .state()
        .sessions
        .iter()
        .find(|s| s.id == id)
        .and_then(|s| s.nth_cell(0))
        .map(|c| c.code.clone())
        .expect("the first cell");
    assert!(
        h.query(by().value(&first)).is_some(),
        "the first cell is shown in the first frame"
    );
    (preview.expect("a preview was shown"), took, size)
}

/// Measures and prints the big-notebook figures beside the empty window's
/// frame (`base`, median and p95); returns them as JSON fields.
pub fn figures(home: &Path, base: (Duration, Duration)) -> String {
    let ms = super::ms;
    let files = tempfile::tempdir().expect("temp dir");
    let big = files.path().join("cells-2000.ipynb");
    let small = files.path().join("cells-20.ipynb");
    let text = files.path().join("cells-2000-text.ipynb");
    let big_bytes = write_notebook(&big, 2000, 8, 10);
    let text_bytes = write_notebook(&text, 2000, 8, 0);
    write_notebook(&small, 20, 8, 10);
    let nb = frames(home, &big);
    // Each in a process of its own: none inherits another's heap.
    let rss_empty = rss_of("empty");
    let rss_small = rss_of(&small.to_string_lossy());
    let rss_big = rss_of(&big.to_string_lossy());
    let rss_text = rss_of(&text.to_string_lossy());
    let (preview_50mb, open_50mb, bytes_50mb) = open_big(home, files.path(), 50);

    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    for (name, (median, p95)) in [
        ("frame, scrolling 2,000 cells (a wheel notch each)", nb.scroll),
        ("frame, typing in the middle of 2,000 cells", nb.typing),
    ] {
        println!(
            "{:<48} {:>7.2} ms (p95 {:.2}) {:>10.2} ms (p95 {:.2}) {:>8} {}",
            name,
            ms(median),
            ms(p95),
            ms(base.0),
            ms(base.1),
            "≤ 4 ms",
            verdict(median <= Duration::from_millis(4))
        );
    }
    println!("{:<48} {:>7.0} pt", "scrolled per wheel notch", nb.per_notch);
    for (name, rss) in [
        (
            format!("VmRSS, 2,000 cells, 200 plots ({:.1} MB file)", big_bytes as f64 / 1e6),
            rss_big,
        ),
        (
            format!("VmRSS, 2,000 cells, text only ({:.1} MB file)", text_bytes as f64 / 1e6),
            rss_text,
        ),
    ] {
        println!(
            "{:<48} {:>7.1} MiB {:>26} {:>10} {}",
            name,
            rss,
            format!("{rss_empty:.1} MiB (20 cells: {rss_small:.1} MiB)"),
            "≤ +20 MiB",
            verdict(rss - rss_empty <= 20.0)
        );
    }
    println!(
        "{:<48} {:>7.0} ms {:>27} {:>10} {}",
        format!("open a {:.0} MB .ipynb to its first frame", bytes_50mb as f64 / 1e6),
        ms(open_50mb),
        format!("(2,000 cells: {:.0} ms)", ms(nb.open)),
        "≤ 1 s",
        verdict(open_50mb <= Duration::from_secs(1))
    );
    println!(
        "{:<48} {:>7.0} ms {:>27} {:>10} {}",
        "  its first cells shown, while the rest is read",
        ms(preview_50mb),
        "",
        "< open",
        verdict(preview_50mb < open_50mb)
    );
    format!(
        "\"frame_scroll_2000_cells_ms\":{:.3},\"frame_scroll_2000_cells_p95_ms\":{:.3},\"scroll_per_notch_pt\":{:.0},\"frame_typing_2000_cells_ms\":{:.3},\"frame_typing_2000_cells_p95_ms\":{:.3},\"rss_empty_mib\":{:.1},\"rss_20_cells_mib\":{:.1},\"rss_2000_cells_mib\":{:.1},\"rss_2000_text_cells_mib\":{:.1},\"open_50mb_ms\":{:.0},\"preview_50mb_ms\":{:.0}",
        ms(nb.scroll.0),
        ms(nb.scroll.1),
        nb.per_notch,
        ms(nb.typing.0),
        ms(nb.typing.1),
        rss_empty,
        rss_small,
        rss_big,
        rss_text,
        ms(open_50mb),
        ms(preview_50mb)
    )
}
