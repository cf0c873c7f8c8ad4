//! The window. Every frame drains the manager's events into the sessions,
//! then draws; every user action becomes commands for the manager. Nothing
//! here touches a process, a pipe or a socket, and nothing waits.

mod configure;
mod files;
pub mod highlight;
mod logs;
mod notebook_view;
mod output_view;
mod overview;
mod session_view;
mod sessions_panel;
mod settings_window;
mod style;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::manager::{Command, Event, Manager, ManagerError, SessionId};
use crate::runtime::RuntimeConfig;
use crate::session::{CellId, CellState, Session, Status};
use crate::settings::{self, Dirs, Settings};

pub use configure::ConfigureDialog;

const OPEN: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
const SAVE: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::S);
const SAVE_AS: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT), egui::Key::S);
/// How often unsaved changes are written to the autosave folder.
const AUTOSAVE: Duration = Duration::from_secs(5);
const EVALUATE_ALL: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT), egui::Key::Enter);
const INTERRUPT: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT), egui::Key::I);

/// How often connected runtimes report their memory (and uptimes refresh).
const MEMORY_REFRESH: Duration = Duration::from_secs(5);
/// How often a running cell's elapsed time is redrawn.
const ELAPSED_REFRESH: Duration = Duration::from_millis(100);

/// What the app needs from outside: where its files live.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub dirs: Dirs,
    /// Notebook files to open (from the command line).
    pub open: Vec<PathBuf>,
}

impl AppOptions {
    pub fn new(dirs: Dirs) -> AppOptions {
        AppOptions { dirs, open: Vec::new() }
    }
}

pub struct RunyardApp {
    manager: Option<Manager>,
    /// Why the manager thread stopped, if it failed: shown until restarted.
    pub manager_failure: Option<String>,
    pub sessions: Vec<Session>,
    pub selected: Option<SessionId>,
    next_session: u64,
    settings: Settings,
    settings_path: PathBuf,
    log_path: PathBuf,
    /// A problem to tell the user once (an unreadable settings file, say).
    pub notice: Option<String>,
    configure: Option<ConfigureDialog>,
    show_overview: bool,
    confirm_shutdown_all: bool,
    logs: Option<logs::LogsView>,
    show_settings: bool,
    renaming: Option<(SessionId, String)>,
    /// What each session's notebook view remembers between frames.
    notebooks: HashMap<SessionId, notebook_view::NotebookUi>,
    last_memory_poll: Instant,
    window_size: Option<[f32; 2]>,
    dirs: Dirs,
    files: files::FileState,
    /// Autosaves of a Runyard that did not exit cleanly, offered for restore.
    pending_restore: Vec<PathBuf>,
    /// Writes autosaves off the UI thread. Declared before `instance`, so
    /// that it finishes before the instance lock is released.
    autosaver: files::Autosaver,
    /// This Runyard's lock on its autosaves.
    instance: files::Instance,
    /// Where an attached node's cookie is kept between runs.
    secrets: Arc<crate::secrets::SecretStore>,
    last_autosave: Instant,
    /// Each session's scroll position, remembered at exit.
    scroll: HashMap<SessionId, f32>,
    /// Scroll positions to restore on the next frame.
    scroll_to: HashMap<SessionId, f32>,
    /// The window was asked to close while notebooks had unsaved changes.
    confirm_close: bool,
    /// Closing was confirmed (or nothing was unsaved).
    closing: bool,
    was_focused: bool,
}

impl RunyardApp {
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Result<RunyardApp, ManagerError> {
        let ctx = cc.egui_ctx.clone();
        let manager = Manager::start(Arc::new(move || ctx.request_repaint()))?;
        let dirs = options.dirs.clone();
        if let Err(err) = dirs.prepare() {
            tracing::warn!(%err, "Runyard's folders could not be made private (0700)");
        }
        let settings_path = options.dirs.settings_file();
        let secrets = Arc::new(crate::secrets::SecretStore::new(&dirs.data));
        let (settings, error) = settings::load(&settings_path);
        if let Some(error) = &error {
            tracing::warn!("{error}");
        }
        style::apply_theme(&cc.egui_ctx, settings.theme);
        // A blinking cursor repaints twice a second forever: on a software
        // renderer that is several percent of a core for an idle window.
        cc.egui_ctx
            .all_styles_mut(|style| style.visuals.text_cursor.blink = false);
        Ok(RunyardApp {
            manager: Some(manager),
            manager_failure: None,
            sessions: Vec::new(),
            selected: None,
            next_session: 1,
            settings,
            settings_path,
            log_path: options.dirs.log_file(),
            notice: error.map(|e| e.to_string()),
            configure: None,
            show_overview: false,
            confirm_shutdown_all: false,
            logs: None,
            show_settings: false,
            renaming: None,
            notebooks: HashMap::new(),
            last_memory_poll: Instant::now(),
            window_size: None,
            pending_restore: RunyardApp::orphaned_autosaves(&dirs),
            autosaver: files::Autosaver::start(secrets.clone()),
            instance: files::Instance::start(&dirs),
            secrets,
            dirs,
            files: files::FileState::default(),
            last_autosave: Instant::now(),
            scroll: HashMap::new(),
            scroll_to: HashMap::new(),
            confirm_close: false,
            closing: false,
            was_focused: true,
        }
        .started(&options.open))
    }

    /// Reopens last run's sessions, then the files asked for.
    fn started(mut self, open: &[PathBuf]) -> RunyardApp {
        self.reopen_sessions();
        self.open_files(open);
        self
    }

    fn next_session_id(&mut self) -> SessionId {
        let id = SessionId(self.next_session);
        self.next_session += 1;
        id
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn dirs(&self) -> &Dirs {
        &self.dirs
    }

    /// The window is closing (a close was confirmed or nothing was unsaved).
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Opens a new Python session and selects it.
    pub fn new_python_session(&mut self) -> SessionId {
        self.new_session(NewRuntime::Python)
    }

    /// Opens a new session with the chosen runtime and selects it. An attached
    /// runtime needs a node and a cookie first, so its settings open at once.
    pub fn new_session(&mut self, runtime: NewRuntime) -> SessionId {
        let id = self.next_session_id();
        let name = format!("Notebook {}", id.0);
        let config = match runtime {
            NewRuntime::Python => self.settings.python_config(),
            NewRuntime::Elixir => self.settings.with_defaults(RuntimeConfig::elixir()),
            NewRuntime::ElixirAttached => self.settings.with_defaults(RuntimeConfig::elixir_attached("", "")),
        };
        let mut session = Session::new(id, name, config);
        session.add_cell("");
        // An untouched new notebook has nothing to save.
        session.mark_saved(session.revision());
        self.sessions.push(session);
        self.selected = Some(id);
        if runtime == NewRuntime::ElixirAttached {
            self.open_configure(id);
        }
        id
    }

    pub fn session(&self, id: SessionId) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    fn session_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }

    fn send(&self, commands: Vec<Command>) {
        if let Some(manager) = &self.manager {
            for command in commands {
                manager.send(command);
            }
        }
    }

    /// Runs a user action on a session and sends what it asks for.
    pub fn act(&mut self, id: SessionId, action: impl FnOnce(&mut Session) -> Vec<Command>) {
        if let Some(session) = self.session_mut(id) {
            let commands = action(session);
            self.send(commands);
        }
    }

    /// Closes a session, disconnecting its runtime.
    pub fn close_session(&mut self, id: SessionId) {
        self.send(vec![Command::Disconnect { session: id }]);
        self.sessions.retain(|s| s.id != id);
        self.notebooks.remove(&id);
        if self.selected == Some(id) {
            self.selected = self.sessions.first().map(|s| s.id);
        }
    }

    /// Disconnects every live runtime.
    pub fn shut_down_all(&mut self) {
        let live: Vec<SessionId> = self.sessions.iter().filter(|s| s.is_live()).map(|s| s.id).collect();
        for id in live {
            self.act(id, Session::disconnect);
        }
    }

    /// Applies whatever the manager reported since the last frame.
    pub fn drain_events(&mut self) {
        let Some(manager) = &self.manager else { return };
        let mut commands = Vec::new();
        while let Some(event) = manager.try_recv() {
            if let Event::ManagerFailed { message } = &event {
                for session in &mut self.sessions {
                    session.manager_failed(message);
                }
                self.manager_failure = Some(message.clone());
                continue;
            }
            let Some(id) = event.session() else { continue };
            if let Some(session) = self.sessions.iter_mut().find(|s| s.id == id) {
                commands.extend(session.apply(&event));
            }
        }
        self.send(commands);
    }

    /// Asks for memory every few seconds while runtimes are connected, and
    /// schedules the next frame only when something on screen changes by time.
    fn schedule(&mut self, ctx: &egui::Context) {
        let now = Instant::now();
        // A failed autosave is unmarked first, so it counts as due again.
        self.autosave_results();
        // Unsaved work reaches the autosave folder within a few seconds; once
        // it is there, nothing is scheduled until the next change.
        let autosave_due = self
            .sessions
            .iter()
            .any(|s| s.is_dirty() && self.files.autosaved.get(&s.id) != Some(&s.revision()));
        if autosave_due {
            let since = now.duration_since(self.last_autosave);
            if since >= AUTOSAVE {
                self.last_autosave = now;
                self.autosave();
                ctx.request_repaint_after(AUTOSAVE);
            } else {
                ctx.request_repaint_after(AUTOSAVE - since);
            }
        }
        // Files changed by other programs are noticed when the window gets the focus back.
        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
        if focused && !self.was_focused {
            self.check_outside_changes();
        }
        self.was_focused = focused;
        let connected: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|s| s.node_info().is_some())
            .map(|s| s.id)
            .collect();
        if !connected.is_empty() {
            let since = now.duration_since(self.last_memory_poll);
            if since >= MEMORY_REFRESH {
                self.last_memory_poll = now;
                for id in connected {
                    if let Some(session) = self.session(id) {
                        let commands = session.request_memory();
                        self.send(commands);
                    }
                }
                ctx.request_repaint_after(MEMORY_REFRESH);
            } else {
                ctx.request_repaint_after(MEMORY_REFRESH - since);
            }
        }
        let evaluating = self
            .selected
            .and_then(|id| self.session(id))
            .is_some_and(|s| s.cells().any(|c| matches!(c.state, CellState::Evaluating { .. })));
        // A starting runtime shows how long it has been starting.
        let starting = self
            .selected
            .and_then(|id| self.session(id))
            .is_some_and(|s| s.status() == Status::Starting);
        if evaluating || starting {
            ctx.request_repaint_after(ELAPSED_REFRESH);
        }
    }

    /// Asks where to save a cell's whole output (the lines left out of memory
    /// included) and writes it there.
    fn save_cell_output(&mut self, session: SessionId, cell: CellId) {
        let Some(output) = self
            .session(session)
            .and_then(|s| s.cell(cell))
            .map(|c| c.output.clone())
        else {
            return;
        };
        let Some(path) = rfd::FileDialog::new()
            .set_title("Save output")
            .set_file_name("output.txt")
            .save_file()
        else {
            return;
        };
        let result = std::fs::File::create(&path).and_then(|file| {
            let mut writer = std::io::BufWriter::new(file);
            output.write_all_to(&mut writer)?;
            std::io::Write::flush(&mut writer)
        });
        if let Err(err) = result {
            self.notice = Some(format!("Cannot save the output to {}: {err}", path.display()));
        }
    }

    fn file_menu(&mut self, ui: &mut egui::Ui) {
        let selected = self.selected;
        let ctx = ui.ctx().clone();
        let shortcut = |sc: &egui::KeyboardShortcut| ctx.format_shortcut(sc);
        if ui
            .add(egui::Button::new("Open…").shortcut_text(shortcut(&OPEN)))
            .clicked()
        {
            self.open_dialog();
        }
        ui.menu_button("Open recent", |ui| {
            if self.settings.recent_files.is_empty() {
                ui.label(egui::RichText::new("Nothing yet").weak());
            }
            for path in self.settings.recent_files.clone() {
                if ui.button(path.display().to_string()).clicked() {
                    self.open_files(&[path]);
                }
            }
        });
        ui.separator();
        let save = egui::Button::new("Save").shortcut_text(shortcut(&SAVE));
        if ui.add_enabled(selected.is_some(), save).clicked()
            && let Some(id) = selected
        {
            self.save(id);
        }
        let save_as = egui::Button::new("Save As…").shortcut_text(shortcut(&SAVE_AS));
        if ui.add_enabled(selected.is_some(), save_as).clicked()
            && let Some(id) = selected
        {
            self.save_as(id);
        }
        ui.separator();
        if ui
            .add_enabled(selected.is_some(), egui::Button::new("Close session"))
            .clicked()
            && let Some(id) = selected
        {
            self.close_session(id);
        }
    }

    /// Keyboard shortcuts that act on the selected session, wherever the focus is.
    fn shortcuts(&mut self, ctx: &egui::Context) {
        if ctx.input_mut(|i| i.consume_shortcut(&OPEN)) {
            self.open_dialog();
        }
        if let Some(id) = self.selected {
            if ctx.input_mut(|i| i.consume_shortcut(&SAVE_AS)) {
                self.save_as(id);
            } else if ctx.input_mut(|i| i.consume_shortcut(&SAVE)) {
                self.save(id);
            }
        }
        let Some(id) = self.selected else { return };
        if ctx.input_mut(|i| i.consume_shortcut(&EVALUATE_ALL)) {
            self.act(id, Session::evaluate_all);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&INTERRUPT)) {
            self.act(id, Session::interrupt);
        }
    }

    fn save_settings(&mut self) {
        if let Err(err) = settings::save(&self.settings_path, &self.settings) {
            tracing::error!("{err}");
            self.notice = Some(err.to_string());
        }
    }

    pub fn open_configure(&mut self, id: SessionId) {
        if let Some(session) = self.session(id) {
            self.configure = Some(ConfigureDialog::new(id, &session.config));
        }
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu(ui));
            ui.menu_button("Session", |ui| {
                new_session_buttons(ui, |runtime| self.new_session(runtime));
                ui.separator();
                if ui.button("Settings…").clicked() {
                    self.show_settings = true;
                }
            });
            ui.menu_button("Notebook", |ui| {
                let selected = self.selected;
                let session = selected.and_then(|id| self.session(id));
                let has = session.is_some();
                let can_interrupt = session.is_some_and(Session::can_interrupt);
                let can_undo = session.is_some_and(Session::can_undo_delete);
                let evaluate_all =
                    egui::Button::new("Evaluate all").shortcut_text(ui.ctx().format_shortcut(&EVALUATE_ALL));
                if ui.add_enabled(has, evaluate_all).clicked()
                    && let Some(id) = selected
                {
                    self.act(id, Session::evaluate_all);
                }
                let interrupt = egui::Button::new("Interrupt").shortcut_text(ui.ctx().format_shortcut(&INTERRUPT));
                if ui.add_enabled(can_interrupt, interrupt).clicked()
                    && let Some(id) = selected
                {
                    self.act(id, Session::interrupt);
                }
                ui.separator();
                if ui.add_enabled(has, egui::Button::new("Clear all outputs")).clicked()
                    && let Some(id) = selected
                {
                    self.act(id, |s| {
                        s.clear_all_outputs();
                        Vec::new()
                    });
                }
                if ui.add_enabled(can_undo, egui::Button::new("Undo delete")).clicked()
                    && let Some(id) = selected
                {
                    self.act(id, |s| {
                        s.undo_delete();
                        Vec::new()
                    });
                }
            });
            ui.menu_button("Runtimes", |ui| {
                if ui.button("Runtimes overview").clicked() {
                    self.show_overview = true;
                }
                let any_live = self.sessions.iter().any(Session::is_live);
                if ui.add_enabled(any_live, egui::Button::new("Shut down all…")).clicked() {
                    self.confirm_shutdown_all = true;
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.button("View logs").clicked() {
                    self.logs = Some(logs::LogsView::open(&self.log_path));
                }
                ui.label(format!("Runyard {}", env!("CARGO_PKG_VERSION")));
            });
        });
    }

    /// Questions about files: unsaved work to restore, a file changed on disk.
    fn file_prompts(&mut self, ui: &mut egui::Ui) {
        if !self.pending_restore.is_empty() {
            let n = self.pending_restore.len();
            prompt_frame(ui, |ui| {
                ui.colored_label(
                    style::WARNING_TEXT,
                    format!(
                        "Runyard did not exit cleanly: {n} notebook{} had unsaved changes.",
                        if n == 1 { "" } else { "s" }
                    ),
                );
                if ui.button("Restore").clicked() {
                    self.restore_autosaves();
                }
                if ui.button("Discard").clicked() {
                    self.discard_autosaves();
                }
            });
        }
        let conflict = self.selected.filter(|id| self.files.conflicts.contains(id));
        if let Some(id) = conflict {
            let file = self.session(id).and_then(|s| s.file.clone()).unwrap_or_default();
            prompt_frame(ui, |ui| {
                ui.colored_label(
                    style::WARNING_TEXT,
                    format!(
                        "{} changed on disk, and this notebook has unsaved changes.",
                        file.display()
                    ),
                );
                if ui.button("Reload from disk").clicked() {
                    self.reload(id);
                }
                if ui.button("Keep mine").clicked() {
                    self.keep_mine(id);
                }
            });
        }
    }

    /// The manager thread failed: nothing runs until a new one is started.
    fn failure_bar(&mut self, ui: &mut egui::Ui) {
        let Some(failure) = self.manager_failure.clone() else {
            return;
        };
        egui::Frame::new()
            .fill(style::ERROR_FILL)
            .inner_margin(6.0)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(style::ERROR_TEXT, failure);
                    if ui.button("Restart the runtime manager").clicked() {
                        self.restart_manager(ui.ctx());
                    }
                });
            });
    }

    fn restart_manager(&mut self, ctx: &egui::Context) {
        let ctx = ctx.clone();
        match Manager::start(Arc::new(move || ctx.request_repaint())) {
            Ok(manager) => {
                self.manager = Some(manager);
                self.manager_failure = None;
            }
            Err(err) => self.manager_failure = Some(format!("The runtime manager could not be restarted: {err}")),
        }
    }

    /// Makes the manager thread fail, to test what the user then sees.
    #[doc(hidden)]
    pub fn inject_manager_panic(&self) {
        self.send(vec![Command::InjectPanic]);
    }

    fn notice_bar(&mut self, ui: &mut egui::Ui) {
        let Some(notice) = self.notice.clone() else { return };
        egui::Frame::new()
            .fill(style::WARNING_FILL)
            .inner_margin(6.0)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(style::WARNING_TEXT, notice);
                    if ui.small_button("Dismiss").clicked() {
                        self.notice = None;
                    }
                });
            });
    }

    fn welcome(&mut self, ui: &mut egui::Ui) {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() * 0.25);
            ui.heading("Welcome to Runyard");
            ui.add_space(8.0);
            ui.label("Each session evaluates its code in a runtime process of its own.");
            ui.label("Start a session, write some Python, and press Shift+Enter.");
            ui.add_space(16.0);
            new_session_buttons(ui, |runtime| self.new_session(runtime));
            ui.add_space(4.0);
            if ui.button("Runtimes overview").clicked() {
                self.show_overview = true;
            }
            ui.add_space(4.0);
            if ui.button("Settings…").clicked() {
                self.show_settings = true;
            }
        });
    }

    fn dialogs(&mut self, ctx: &egui::Context) {
        if let Some(dialog) = &mut self.configure {
            match dialog.show(ctx) {
                configure::Outcome::Open => {}
                configure::Outcome::Cancelled => self.configure = None,
                configure::Outcome::Applied { session, config } => {
                    self.configure = None;
                    if let Some(s) = self.session_mut(session) {
                        s.config = config;
                    }
                }
            }
        }
        if self.show_overview {
            let mut open = true;
            let actions = overview::show(ctx, &mut open, &self.sessions);
            self.show_overview = open;
            for action in actions {
                match action {
                    overview::Action::Disconnect(ids) => {
                        for id in ids {
                            self.act(id, Session::disconnect);
                        }
                    }
                    overview::Action::Select(id) => self.selected = Some(id),
                    overview::Action::ShutDownAll => self.confirm_shutdown_all = true,
                }
            }
        }
        if self.confirm_shutdown_all {
            let live = self.sessions.iter().filter(|s| s.is_live()).count();
            let modal = egui::Modal::new(egui::Id::unique("confirm-shutdown-all")).show(ctx, |ui| {
                ui.heading("Shut down all runtimes?");
                ui.label(format!(
                    "{live} runtime{} will be disconnected; their variables are lost.",
                    if live == 1 { "" } else { "s" }
                ));
                ui.horizontal(|ui| {
                    if ui.button("Shut down").clicked() {
                        Some(true)
                    } else if ui.button("Cancel").clicked() {
                        Some(false)
                    } else {
                        None
                    }
                })
                .inner
            });
            if modal.should_close() || modal.inner == Some(false) {
                self.confirm_shutdown_all = false;
            } else if modal.inner == Some(true) {
                self.confirm_shutdown_all = false;
                self.shut_down_all();
            }
        }
        if self.confirm_close {
            self.close_dialog(ctx);
        }
        if let Some(view) = &mut self.logs
            && !view.show(ctx)
        {
            self.logs = None;
        }
        if self.show_settings {
            let mut open = true;
            if settings_window::show(ctx, &mut open, &mut self.settings) {
                style::apply_theme(ctx, self.settings.theme);
                self.save_settings();
            }
            self.show_settings = open;
        }
    }
}

/// The runtimes a new session can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewRuntime {
    Python,
    Elixir,
    ElixirAttached,
}

impl NewRuntime {
    pub const ALL: [NewRuntime; 3] = [NewRuntime::Python, NewRuntime::Elixir, NewRuntime::ElixirAttached];

    pub fn label(self) -> &'static str {
        match self {
            NewRuntime::Python => "New Python session",
            NewRuntime::Elixir => "New Elixir session",
            NewRuntime::ElixirAttached => "New session attached to an Elixir node…",
        }
    }
}

fn new_session_buttons(ui: &mut egui::Ui, mut create: impl FnMut(NewRuntime) -> SessionId) {
    for runtime in NewRuntime::ALL {
        if ui.button(runtime.label()).clicked() {
            create(runtime);
        }
    }
}

impl eframe::App for RunyardApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.drain_events();
        self.intercept_close(&ctx);
        self.shortcuts(&ctx);
        self.schedule(&ctx);
        if let Some(rect) = ctx.input(|i| i.viewport().inner_rect) {
            self.window_size = Some([rect.width(), rect.height()]);
        }

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::left("sessions")
            .resizable(true)
            .default_size(270.0)
            .min_size(200.0)
            .show(ui, |ui| {
                let actions = sessions_panel::show(ui, &self.sessions, self.selected, &mut self.renaming);
                for action in actions {
                    match action {
                        sessions_panel::Action::Select(id) => self.selected = Some(id),
                        sessions_panel::Action::New(runtime) => {
                            self.new_session(runtime);
                        }
                        sessions_panel::Action::Rename(id, name) => {
                            if let Some(s) = self.session_mut(id) {
                                s.name = name;
                            }
                        }
                        sessions_panel::Action::Close(id) => self.close_session(id),
                    }
                }
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.failure_bar(ui);
            self.notice_bar(ui);
            self.file_prompts(ui);
            let selected = self.selected.filter(|id| self.session(*id).is_some());
            match selected {
                None => self.welcome(ui),
                Some(id) => {
                    let session = self.sessions.iter_mut().find(|s| s.id == id).expect("selected exists");
                    let notebook = self.notebooks.entry(id).or_default();
                    let scroll_to = self.scroll_to.remove(&id);
                    let (commands, wants) = session_view::show(ui, session, notebook, scroll_to);
                    self.scroll.insert(id, wants.scroll_offset);
                    let save_output = notebook.save_output.take();
                    self.send(commands);
                    if let Some(cell) = save_output {
                        self.save_cell_output(id, cell);
                    }
                    if wants.configure {
                        self.open_configure(id);
                    }
                }
            }
        });
        self.dialogs(&ctx);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.leave();
        if let Some(size) = self.window_size {
            self.settings.window_size = Some(size);
            self.save_settings();
        }
        // Stops every runtime: none outlives the window.
        if let Some(manager) = self.manager.take() {
            manager.shutdown();
        }
    }
}

impl Drop for RunyardApp {
    fn drop(&mut self) {
        if let Some(manager) = self.manager.take() {
            manager.shutdown();
        }
    }
}

fn prompt_frame(ui: &mut egui::Ui, add: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::new()
        .fill(style::WARNING_FILL)
        .inner_margin(6.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(add);
        });
}

impl RunyardApp {
    /// Save / Discard / Cancel when the window closes with unsaved changes.
    fn close_dialog(&mut self, ctx: &egui::Context) {
        let unsaved: Vec<(SessionId, String)> = self
            .sessions
            .iter()
            .filter(|s| s.is_dirty())
            .map(|s| (s.id, s.name.clone()))
            .collect();
        let modal = egui::Modal::new(egui::Id::unique("confirm-close")).show(ctx, |ui| {
            ui.heading("Save changes before closing?");
            for (_, name) in &unsaved {
                ui.label(format!("• {name}"));
            }
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    Some(CloseChoice::Save)
                } else if ui.button("Discard").clicked() {
                    Some(CloseChoice::Discard)
                } else if ui.button("Cancel").clicked() {
                    Some(CloseChoice::Cancel)
                } else {
                    None
                }
            })
            .inner
        });
        let choice = if modal.should_close() {
            Some(CloseChoice::Cancel)
        } else {
            modal.inner
        };
        match choice {
            Some(CloseChoice::Save) => {
                let all_saved = unsaved.iter().all(|(id, _)| self.save(*id));
                self.confirm_close = false;
                if all_saved {
                    self.close_now(ctx);
                }
            }
            Some(CloseChoice::Discard) => {
                self.confirm_close = false;
                self.close_now(ctx);
            }
            Some(CloseChoice::Cancel) => self.confirm_close = false,
            None => {}
        }
    }

    fn close_now(&mut self, ctx: &egui::Context) {
        self.closing = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    /// Holds a close request while notebooks have unsaved changes.
    fn intercept_close(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && !self.closing && self.sessions.iter().any(Session::is_dirty)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        }
    }

    /// At exit: remember the open sessions; this run's autosaves are no
    /// longer needed (closing was confirmed).
    fn leave(&mut self) {
        self.remember_sessions();
        let ids: Vec<SessionId> = self.sessions.iter().map(|s| s.id).collect();
        for id in ids {
            self.remove_autosave(id);
        }
    }
}

enum CloseChoice {
    Save,
    Discard,
    Cancel,
}
