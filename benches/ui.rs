//! Frame time of the real window, headless: layout (the app's `ui`) plus
//! tessellation, as a renderer would need it. Each figure is printed with the
//! frame time of an empty window measured in the same run as its baseline.
//!
//! `cargo bench --bench ui`
//!
//! The completion figure (Tab after `df.` to the frame that draws the list)
//! runs a real Python runtime with pandas: the test venv's
//! (`RUNYARD_TEST_VENV`, made by scripts/test); without it, it is skipped.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;

use egui_kittest::Harness;
use runyard::app::{AppOptions, RunyardApp};
use runyard::manager::{Event, NodeInfo};
use runyard::protocol::{MemoryUsage, Stream};
use runyard::settings::Dirs;

mod big_notebook;
#[path = "common/completion_ui.rs"]
mod completion_ui;

const FRAMES: usize = 200;

fn harness(home: &std::path::Path) -> Harness<'static, RunyardApp> {
    let dirs = Dirs::under(home);
    Harness::builder()
        .with_size(egui::vec2(1280.0, 860.0))
        .build_eframe(move |cc| RunyardApp::new(cc, AppOptions::new(dirs)).expect("the app starts"))
}

/// Median and p95 of one frame: the app's layout plus tessellation.
fn measure(h: &mut Harness<'static, RunyardApp>) -> (Duration, Duration) {
    for _ in 0..10 {
        h.step();
    }
    median_p95((0..FRAMES).map(|_| frame(h)).collect())
}

/// One frame as the benches count it: the app's layout plus tessellation.
fn frame(h: &mut Harness<'static, RunyardApp>) -> Duration {
    let start = Instant::now();
    h.step();
    let output = h.output();
    let primitives = h.ctx.tessellate(output.shapes.clone(), output.pixels_per_point);
    std::hint::black_box(primitives);
    start.elapsed()
}

fn median_p95(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() * 95 / 100])
}

fn connected(id: u64) -> Event {
    Event::Connected {
        session: runyard::SessionId(id),
        info: NodeInfo {
            name: format!("python-{id:08}"),
            pid: 10_000 + id as u32,
            language: "python".into(),
            language_version: "3.11.7".into(),
            executable: "/usr/bin/python3".into(),
            kind: "Python (standalone)".into(),
            cookie: None,
            host: None,
            job: None,
        },
    }
}

/// A plot-like PNG (a white page, axes, a curve) of 1280×960 pixels: a
/// 640×480 figure at 2×, as matplotlib sends on HiDPI. `phase` varies it.
fn plot_png(phase: f32) -> String {
    let (w, h) = (1280u32, 960u32);
    let mut image = image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    for x in 80..w - 40 {
        for t in 0..3 {
            image.put_pixel(x, h - 80 + t, image::Rgb([0, 0, 0]));
        }
        let y = (h as f32 / 2.0) * (1.0 + 0.8 * ((x as f32 / 90.0) + phase).sin());
        for t in 0..4 {
            let y = (y as u32 + t).min(h - 1);
            image.put_pixel(x, y, image::Rgb([31, 119, 180]));
        }
    }
    for y in 40..h - 80 {
        for t in 0..3 {
            image.put_pixel(80 + t, y, image::Rgb([0, 0, 0]));
        }
    }
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("encodes");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The process's resident memory in MiB (VmRSS).
fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Steps frames until no image decode is in flight.
fn settle(h: &mut Harness<'static, RunyardApp>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        h.step();
        if h.state().images_state().0 == 0 {
            h.step();
            if h.state().images_state().0 == 0 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "decodes never finished");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// 200 cells, each showing a 2× plot-sized PNG. Returns the median and p95
/// frame while scrolling over decoded images, and VmRSS (MiB) after
/// scrolling through all of it, with the textures then held.
fn images(home: &std::path::Path) -> ((Duration, Duration), f64, (usize, usize)) {
    let pngs: Vec<String> = (0..8).map(|i| plot_png(i as f32)).collect();
    let mut h = harness(home);
    let id = h.state_mut().new_python_session();
    {
        let session = h.state_mut().sessions.iter_mut().find(|s| s.id == id).unwrap();
        session.apply(&connected(id.0));
        for i in 0..200 {
            let cell = if i == 0 {
                session.nth_cell(0).unwrap().id
            } else {
                session.add_cell(format!("plot({i})"))
            };
            let bundle: runyard::protocol::Bundle = serde_json::from_value(serde_json::json!({
                "data": {"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": pngs[i % pngs.len()]},
                "metadata": {"image/png": {"width": 640, "height": 480}}
            }))
            .unwrap();
            session.apply(&Event::Display {
                session: id,
                evaluation_ref: Some(cell.evaluation_ref()),
                bundle: Arc::new(bundle),
                display_id: None,
                update: false,
            });
        }
    }
    settle(&mut h);
    // Through all of it, a screen at a time, each screen decoded before the next.
    let step = 700.0;
    let mut offset = 0.0;
    loop {
        h.state_mut().scroll_to(id, offset);
        settle(&mut h);
        let reached = h.state().scrolled(id).unwrap_or(0.0);
        if reached + 1.0 < offset {
            break; // the end: egui clamped the offset
        }
        offset += step;
    }
    let offset = h.state().scrolled(id).unwrap_or(0.0);
    let rss = resident_mib();
    let (_, held, bytes) = h.state().images_state();
    // Back up over the last screens (decoded, within the texture budget),
    // 40 points a frame, as a wheel scrolls.
    let end = offset;
    h.state_mut().scroll_to(id, end);
    settle(&mut h);
    let mut times = Vec::new();
    let mut at = end;
    for _ in 0..FRAMES {
        at -= 40.0;
        h.state_mut().scroll_to(id, at);
        times.push(frame(&mut h));
    }
    (median_p95(times), rss, (held, bytes))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    if let Ok(what) = std::env::var(big_notebook::CHILD) {
        big_notebook::child(&what);
        return;
    }
    let home = tempfile::tempdir().expect("temp dir");

    let mut empty = harness(home.path());
    let (base, base_p95) = measure(&mut empty);
    if std::env::var_os("RUNYARD_UI_BENCH_BIG_ONLY").is_some() {
        println!(
            "{{\"frame_empty_ms\":{:.3},{}}}",
            ms(base),
            big_notebook::figures(home.path(), (base, base_p95))
        );
        return;
    }

    // 1,000 sessions in the list, 100 of them connected with memory figures.
    let mut many = harness(home.path());
    for i in 0..1000u64 {
        let id = many.state_mut().new_python_session();
        if i % 10 == 0 {
            let session = many.state_mut().sessions.iter_mut().find(|s| s.id == id).unwrap();
            session.apply(&connected(id.0));
            session.apply(&Event::Memory {
                session: id,
                usage: MemoryUsage {
                    total: 14_000_000 + i,
                    parts: vec![("rss".into(), 14_000_000 + i)],
                },
            });
        }
    }
    let (sessions, sessions_p95) = measure(&mut many);

    // One cell showing 100,000 lines of output.
    let mut long = harness(home.path());
    let id = long.state_mut().new_python_session();
    {
        let session = long.state_mut().sessions.iter_mut().find(|s| s.id == id).unwrap();
        session.apply(&connected(id.0));
        let cell = session.nth_cell(0).unwrap().id;
        let chunk: String = (0..1000)
            .map(|i| format!("output line {i:>6} of a long-running cell\n"))
            .collect();
        for _ in 0..100 {
            session.apply(&Event::Output {
                session: id,
                evaluation_ref: Some(cell.evaluation_ref()),
                stream: Stream::Stdout,
                text: chunk.clone(),
            });
        }
        assert_eq!(session.nth_cell(0).unwrap().output.rows(), 100_000);
    }
    let (output, output_p95) = measure(&mut long);
    drop(long);
    drop(many);

    let rss_before = resident_mib();
    let ((scroll, scroll_p95), rss_after, (held, held_bytes)) = images(home.path());

    println!(
        "{:<48} {:>16} {:>22} {:>8}",
        "figure", "runyard", "baseline (empty window)", "goal"
    );
    for (name, (median, p95)) in [
        ("frame, 1,000 sessions (100 connected)", (sessions, sessions_p95)),
        ("frame, a cell with 100,000 output lines", (output, output_p95)),
    ] {
        println!(
            "{:<48} {:>7.2} ms (p95 {:.2}) {:>10.2} ms (p95 {:.2}) {:>8} {}",
            name,
            ms(median),
            ms(p95),
            ms(base),
            ms(base_p95),
            "≤ 4 ms",
            if median <= Duration::from_millis(4) {
                "ok"
            } else {
                "MISSED"
            }
        );
    }
    println!(
        "{:<48} {:>7.2} ms (p95 {:.2}) {:>10.2} ms (p95 {:.2}) {:>8} {}",
        "frame, scrolling 200 decoded 2× PNGs",
        ms(scroll),
        ms(scroll_p95),
        ms(base),
        ms(base_p95),
        "≤ 8 ms",
        if scroll <= Duration::from_millis(8) {
            "ok"
        } else {
            "MISSED"
        }
    );
    println!(
        "{:<48} {:>7.0} MiB (before the notebook: {:.0} MiB; {} textures held, {:.0} MiB of pixels)",
        "VmRSS after scrolling through 200 PNGs",
        rss_after,
        rss_before,
        held,
        held_bytes as f64 / (1024.0 * 1024.0)
    );
    let big = big_notebook::figures(home.path(), (base, base_p95));
    let completion = match completion_ui::key_to_list(50) {
        Ok(times) => {
            let (median, p95) = median_p95(times);
            println!(
                "{:<48} {:>7.2} ms (p95 {:.2}) {:>10.2} ms (p95 {:.2}) {:>8} {}",
                "completion, Tab → list drawn (pandas, `df.`)",
                ms(median),
                ms(p95),
                ms(base),
                ms(base_p95),
                "p95 ≤ 50 ms",
                if p95 <= Duration::from_millis(50) {
                    "ok"
                } else {
                    "MISSED"
                }
            );
            format!("{:.3}", ms(p95))
        }
        Err(why) => {
            println!("completion, Tab → list drawn: skipped: {why}");
            "null".into()
        }
    };
    println!(
        "{{\"completion_key_to_list_p95_ms\":{completion},\"frame_empty_ms\":{:.3},\"frame_1000_sessions_ms\":{:.3},\"frame_1000_sessions_p95_ms\":{:.3},\"frame_100k_lines_ms\":{:.3},\"frame_100k_lines_p95_ms\":{:.3},\"frame_scroll_200_png_ms\":{:.3},\"frame_scroll_200_png_p95_ms\":{:.3},\"rss_after_200_png_mib\":{:.1},{big}}}",
        ms(base),
        ms(sessions),
        ms(sessions_p95),
        ms(output),
        ms(output_p95),
        ms(scroll),
        ms(scroll_p95),
        rss_after,
    );
}
