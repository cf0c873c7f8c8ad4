//! Frame time of the real window, headless: layout (the app's `ui`) plus
//! tessellation, as a renderer would need it. Each figure is printed with the
//! frame time of an empty window measured in the same run as its baseline.
//!
//! `cargo bench --bench ui`

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use runyard::app::{AppOptions, RunyardApp};
use runyard::manager::{Event, NodeInfo};
use runyard::protocol::{MemoryUsage, Stream};
use runyard::settings::Dirs;

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
    let mut times: Vec<Duration> = (0..FRAMES)
        .map(|_| {
            let start = Instant::now();
            h.step();
            let output = h.output();
            let primitives = h.ctx.tessellate(output.shapes.clone(), output.pixels_per_point);
            std::hint::black_box(primitives);
            start.elapsed()
        })
        .collect();
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
        },
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let home = tempfile::tempdir().expect("temp dir");

    let mut empty = harness(home.path());
    let (base, base_p95) = measure(&mut empty);

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
        "{{\"frame_empty_ms\":{:.3},\"frame_1000_sessions_ms\":{:.3},\"frame_1000_sessions_p95_ms\":{:.3},\"frame_100k_lines_ms\":{:.3},\"frame_100k_lines_p95_ms\":{:.3}}}",
        ms(base),
        ms(sessions),
        ms(sessions_p95),
        ms(output),
        ms(output_p95)
    );
}
