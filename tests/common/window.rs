//! The real window, headless (egui_kittest), driven by labels as a user would.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{Queryable, by};
use runyard::app::{AppOptions, RunyardApp, TestHooks};
use runyard::session::{CellState, Status};
use runyard::settings::Dirs;

pub struct Window {
    pub harness: Harness<'static, RunyardApp>,
    _home: tempfile::TempDir,
}

impl Window {
    pub fn open() -> Window {
        let home = tempfile::tempdir().unwrap();
        Self::open_in(home)
    }

    pub fn open_in(home: tempfile::TempDir) -> Window {
        Self::open_with(home, Vec::new())
    }

    /// Opens the window in `home` with `files` given as on the command line.
    pub fn open_with(home: tempfile::TempDir, files: Vec<std::path::PathBuf>) -> Window {
        Self::open_hooked(home, files, TestHooks::default())
    }

    /// As [`Window::open_with`], with test hooks; returns once what the
    /// window reads at start (last run's sessions, `files`) is read.
    pub fn open_hooked(home: tempfile::TempDir, files: Vec<std::path::PathBuf>, hooks: TestHooks) -> Window {
        let dirs = Dirs::under(home.path());
        if let Ok(python) = std::env::var("RUNYARD_TEST_PYTHON") {
            let settings = runyard::settings::Settings {
                default_python: Some(python),
                ..Default::default()
            };
            runyard::settings::save(&dirs.settings_file(), &settings).unwrap();
        }
        let harness = Harness::builder()
            .with_size(egui::vec2(1200.0, 900.0))
            .build_eframe(move |cc| {
                let mut options = AppOptions::new(dirs);
                options.open = files;
                options.test = hooks;
                RunyardApp::new(cc, options).expect("the app starts")
            });
        let mut window = Window { harness, _home: home };
        window.wait_for_files();
        window
    }

    /// Steps frames until no file work runs in the background.
    pub fn wait_for_files(&mut self) {
        self.wait_until("file work to finish", |app| !app.files_busy());
    }

    pub fn app(&self) -> &RunyardApp {
        self.harness.state()
    }

    /// Steps frames until `done` holds (events arrive from the manager thread).
    pub fn wait_until(&mut self, what: &str, done: impl Fn(&RunyardApp) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.harness.step();
            if done(self.harness.state()) {
                self.harness.step();
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Clicks the first of several widgets with the same label.
    pub fn click_first(&mut self, label: &str) {
        self.harness.get_all_by_label(label).next().unwrap().click();
        self.harness.step();
        self.harness.step();
    }

    pub fn click(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.step();
        self.harness.step();
    }

    /// "+ New" in the sessions list, then the Python runtime from its menu.
    pub fn new_session_from_list(&mut self) {
        self.click("+ New");
        // The welcome page has the same button; the menu's is drawn last.
        self.harness
            .get_all_by_label("New Python session")
            .last()
            .unwrap()
            .click();
        self.harness.step();
        self.harness.step();
    }

    pub fn status(&self) -> Status {
        self.app().sessions[0].status()
    }

    /// Types code into the editor of cell `n` (1-based) and presses Shift+Enter.
    /// Types code into the empty editor of cell `n` (1-based, across sections).
    pub fn type_code(&mut self, n: usize, code: &str) {
        let hint = format!("Code for cell {n}");
        let find = |h: &Harness<'static, RunyardApp>, hint: &str| {
            let hint = hint.to_string();
            h.get(by().predicate(move |node| node.placeholder() == Some(hint.as_str())))
                .focus();
        };
        find(&self.harness, &hint);
        self.harness.step();
        self.harness
            .get(by().predicate(move |node| node.placeholder() == Some(hint.as_str())))
            .type_text(code);
        // The editor grows a frame later; let the layout settle before the next click.
        self.harness.run_steps(3);
    }

    /// Appends to the code of cell `n` as a user typing at its end would.
    pub fn type_code_append(&mut self, n: usize, text: &str) {
        let id = self.app().sessions[0].nth_cell(n - 1).unwrap().id;
        let code = self.app().sessions[0].cell(id).unwrap().code.clone();
        let node_value = code.clone();
        let editor = by().role(egui::accesskit::Role::MultilineTextInput);
        self.harness
            .get(editor.predicate(move |node| node.value().as_deref() == Some(node_value.as_str())))
            .focus();
        self.harness.step();
        self.harness
            .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
        self.harness.step();
        let node_value = code;
        let editor = by().role(egui::accesskit::Role::MultilineTextInput);
        self.harness
            .get(editor.predicate(move |node| node.value().as_deref() == Some(node_value.as_str())))
            .type_text(text);
        self.harness.step();
        self.harness.step();
    }

    /// Types code into cell `n` and presses Shift+Enter (evaluate, move on).
    pub fn evaluate_code(&mut self, n: usize, code: &str) {
        self.type_code(n, code);
        self.harness
            .key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Enter);
        self.harness.step();
    }

    /// Presses `key` with `modifiers` as a keyboard does: the key down in a
    /// frame of its own, then the key up.
    pub fn press(&mut self, modifiers: egui::Modifiers, key: egui::Key) {
        for pressed in [true, false] {
            let events = &mut self.harness.input_mut().events;
            if pressed {
                events.push(egui::Event::ModifiersChanged(modifiers));
            }
            events.push(egui::Event::Key {
                key,
                physical_key: None,
                pressed,
                repeat: false,
                modifiers,
            });
            if !pressed {
                events.push(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
            }
            self.harness.step();
        }
    }

    /// Types `text` where the keyboard focus is, in one frame.
    pub fn type_text(&mut self, text: &str) {
        self.harness
            .input_mut()
            .events
            .push(egui::Event::Text(text.to_string()));
        self.harness.step();
    }

    /// The source of cell `n` (1-based, across sections) of the first session.
    pub fn code(&self, n: usize) -> String {
        self.app().sessions[0].nth_cell(n - 1).unwrap().code.clone()
    }

    /// Clicks the `index`th widget labelled `label` (0-based, in drawing order).
    pub fn click_nth(&mut self, label: &str, index: usize) {
        self.harness.get_all_by_label(label).nth(index).unwrap().click();
        self.harness.step();
        self.harness.step();
    }

    /// Ctrl+S, and the save (in the background) done.
    pub fn save_shortcut(&mut self) {
        self.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
        self.harness.run_steps(2);
        self.wait_for_files();
    }

    /// Asks the window to close, as the window manager's close button does.
    pub fn request_close(&mut self) {
        let root = self
            .harness
            .input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default();
        root.events.push(egui::ViewportEvent::Close);
        self.harness.run_steps(2);
    }

    /// The window loses the focus, then gets it back.
    pub fn refocus(&mut self) {
        for focused in [false, true] {
            self.harness
                .input_mut()
                .viewports
                .entry(egui::ViewportId::ROOT)
                .or_default()
                .focused = Some(focused);
            self.harness.run_steps(2);
        }
        // The check and any reload read the disk in the background.
        self.wait_for_files();
    }

    /// Takes the window apart as a crash would, keeping its home folder.
    pub fn crash(self) -> tempfile::TempDir {
        let Window { harness, _home } = self;
        drop(harness);
        _home
    }

    /// Closes as the user would (the app's exit hook runs), keeping the home.
    pub fn exit(mut self) -> tempfile::TempDir {
        eframe::App::on_exit(self.harness.state_mut(), None);
        self.crash()
    }

    pub fn cell_state(&self, index: usize) -> CellState {
        self.app().sessions[0].nth_cell(index).unwrap().state.clone()
    }
}
