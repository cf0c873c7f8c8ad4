//! Completion from key press to list, in the real window (egui_kittest),
//! on a real Python runtime with pandas imported: Tab after `df.` in a cell,
//! frames stepped until the frame that draws the answer. The runtime is the
//! test venv's python (`RUNYARD_TEST_VENV`, made by scripts/test).

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{Queryable, by};
use runyard::app::{AppOptions, RunyardApp};
use runyard::session::{CellState, Status};
use runyard::settings::{Dirs, Settings};

/// The python with pandas, or why there is none.
fn venv_python() -> Result<String, String> {
    let venv = std::env::var_os("RUNYARD_TEST_VENV")
        .filter(|v| !v.is_empty())
        .ok_or("RUNYARD_TEST_VENV is not set (scripts/test makes the venv with pandas)")?;
    let python = std::path::Path::new(&venv).join("bin/python");
    if !python.exists() {
        return Err(format!("{} is missing", python.display()));
    }
    Ok(python.display().to_string())
}

fn step_until(h: &mut Harness<'static, RunyardApp>, what: &str, done: impl Fn(&RunyardApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn press(h: &mut Harness<'static, RunyardApp>, key: egui::Key) {
    for pressed in [true, false] {
        h.input_mut().events.push(egui::Event::Key {
            key,
            physical_key: None,
            pressed,
            repeat: false,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
}

/// Key press → list drawn, `rounds` times, each after Esc closed the last.
pub fn key_to_list(rounds: usize) -> Result<Vec<Duration>, String> {
    let python = venv_python()?;
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dirs = Dirs::under(home.path());
    let settings = Settings {
        default_python: Some(python),
        ..Default::default()
    };
    runyard::settings::save(&dirs.settings_file(), &settings).map_err(|e| e.to_string())?;
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 860.0))
        .build_eframe(move |cc| RunyardApp::new(cc, AppOptions::new(dirs)).expect("the app starts"));
    let id = h.state_mut().new_python_session();
    let setup = "import pandas as pd\ndf = pd.DataFrame({'a': range(1000), 'b': 0.5, 'c': 'text'})";
    h.state_mut().act(id, |session| {
        let first = session.nth_cell(0).unwrap().id;
        session.set_code(first, setup.into());
        session.add_cell("df.");
        session.evaluate(first)
    });
    step_until(&mut h, "pandas imported", |app| {
        app.sessions[0].status() == Status::Idle
            && matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    h.get(
        by().role(egui::accesskit::Role::MultilineTextInput)
            .predicate(|n| n.value().as_deref() == Some("df.")),
    )
    .focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
    h.step();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds + 3 {
        let started = Instant::now();
        press(&mut h, egui::Key::Tab);
        step_until(&mut h, "the list", |app| app.sessions[0].completions().is_some());
        h.step(); // the frame that draws it
        times.push(started.elapsed());
        let first = h.state().sessions[0].completions().unwrap().matches[0].text.clone();
        let row = format!(" {first}");
        let shown = h
            .query_all(by().predicate(|n| n.label().is_some_and(|l| l.ends_with(row.as_str()))))
            .next()
            .is_some();
        assert!(shown, "the list shows its first row, {first}");
        press(&mut h, egui::Key::Escape);
        h.step();
    }
    // The first answers warm the agent's introspection up.
    Ok(times.split_off(3))
}
