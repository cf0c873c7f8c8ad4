//! The window. Every frame drains the manager's events into the sessions,
//! then draws; every user action becomes commands for the manager. Nothing
//! here touches a process, a pipe or a socket, and nothing waits.

mod bars;
mod cell_heights;
mod close;
mod code_marks;
mod command_mode;
mod completion_popup;
mod configure;
mod display_view;
mod editing;
mod editor_keys;
mod files;
mod find_bar;
pub mod highlight;
mod host_suggestions;
mod logs;
mod memory;
mod menu;
mod notebook_view;
mod output_view;
mod overview;
mod palette;
mod place_fields;
mod preview_view;
pub mod quiet_pointer;
mod remote_view;
mod rich;
mod runtimes;
mod schedule;
mod session_view;
mod sessions_panel;
mod settings_window;
mod shortcuts_window;
mod style;
mod title;
mod windows;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::manager::{Command, Event, Manager, ManagerError, SessionId};
use crate::runtime::RuntimeConfig;
use crate::session::Session;
use crate::settings::{self, Dirs, Settings};

pub use configure::ConfigureDialog;

/// What the app needs from outside: where its files live.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub dirs: Dirs,
    /// Notebook files to open (from the command line).
    pub open: Vec<PathBuf>,
    #[doc(hidden)]
    pub test: TestHooks,
}

impl AppOptions {
    pub fn new(dirs: Dirs) -> AppOptions {
        AppOptions {
            dirs,
            open: Vec::new(),
            test: TestHooks::default(),
        }
    }
}

/// Ways for tests to make the window meet what it must cope with.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct TestHooks {
    /// Behave as where no file dialog can open (no portal, no zenity).
    pub no_file_dialogs: bool,
    /// Each notebook save waits this long before writing (a slow disk).
    pub slow_saves: Duration,
    /// A big notebook's open waits this long after showing its first cells.
    pub slow_opens: Duration,
    /// Look for runtimes here rather than in this process's environment.
    pub discovery: Option<crate::kernels::Inputs>,
    /// The home directory whose `.ssh/config` suggests SSH hosts, rather
    /// than the user's.
    pub ssh_home: Option<PathBuf>,
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
    /// Help › Keyboard shortcuts is open.
    show_shortcuts: bool,
    /// Cells copied or cut in command mode, for any notebook.
    cell_clipboard: notebook_view::Clipboard,
    /// The command palette, while open.
    palette: Option<palette::Palette>,
    renaming: Option<(SessionId, String)>,
    /// What each session's notebook view remembers between frames.
    notebooks: HashMap<SessionId, notebook_view::NotebookUi>,
    last_memory_poll: Instant,
    window_size: Option<[f32; 2]>,
    dirs: Dirs,
    files: files::FileState,
    /// File work in the background; finished before the window goes.
    tasks: files::Tasks,
    /// Command-line files, opened once last run's sessions are back.
    open_at_start: Vec<PathBuf>,
    /// The window title last sent, so that it is sent only when it changes.
    title: Option<String>,
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
    /// "Save" was chosen at close: the window closes once these are saved.
    close_after_saves: Option<Vec<SessionId>>,
    was_focused: bool,
    /// Decoded images and parsed tables of rich outputs, for every session.
    rich: rich::Rich,
    /// The notebook column's width in monospace characters, for the runtimes.
    output_chars: u32,
    /// The Python environments and Jupyter kernels found, for the dialogs.
    runtimes: runtimes::Runtimes,
    /// The SSH hosts of the user's config, for the runtime settings.
    ssh_hosts: host_suggestions::HostSuggestions,
}

/// Points scrolled per mouse-wheel notch.
const WHEEL_NOTCH: f32 = 100.0;

impl RunyardApp {
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Result<RunyardApp, ManagerError> {
        let ctx = cc.egui_ctx.clone();
        let waker_ctx = cc.egui_ctx.clone();
        memory::keep_large_blocks_returnable();
        // A wheel notch moves a notebook as far as a browser moves a page
        // (100 px), not egui's 40 points: two lines, where a plot is 400.
        cc.egui_ctx
            .options_mut(|o| o.input_options.line_scroll_speed = WHEEL_NOTCH);
        let manager = Manager::start(Arc::new(move || ctx.request_repaint()))?;
        let dirs = options.dirs.clone();
        if let Err(err) = dirs.prepare() {
            tracing::warn!(%err, "Runyard's folders could not be made private (0700)");
        }
        let settings_path = options.dirs.settings_file();
        let secrets = Arc::new(crate::secrets::SecretStore::new(&dirs.data));
        let (mut settings, error) = settings::load(&settings_path);
        if let Some(error) = &error {
            tracing::warn!("{error}");
        }
        let fixed = settings.validate();
        style::apply_theme(&cc.egui_ctx, settings.theme);
        // A blinking cursor repaints twice a second forever: on a software
        // renderer that is several percent of a core for an idle window.
        cc.egui_ctx
            .all_styles_mut(|style| style.visuals.text_cursor.blink = false);
        // Scroll handles that appear only while the pointer is over their area
        // would need every pointer move drawn (see `quiet_pointer`): they stay
        // shown, thin, and widen when the pointer is on the bar itself.
        cc.egui_ctx.all_styles_mut(|style| {
            let scroll = &mut style.spacing.scroll;
            scroll.dormant_handle_opacity = scroll.active_handle_opacity;
            scroll.active_background_opacity = scroll.dormant_background_opacity;
        });
        Ok(RunyardApp {
            manager: Some(manager),
            manager_failure: None,
            sessions: Vec::new(),
            selected: None,
            next_session: 1,
            settings,
            settings_path,
            log_path: options.dirs.log_file(),
            notice: error.map(|e| e.to_string()).or(fixed),
            configure: None,
            show_overview: false,
            confirm_shutdown_all: false,
            logs: None,
            show_settings: false,
            show_shortcuts: false,
            palette: None,
            cell_clipboard: Vec::new(),
            renaming: None,
            notebooks: HashMap::new(),
            last_memory_poll: Instant::now(),
            window_size: None,
            // Found by the start task (`start_reading`).
            pending_restore: Vec::new(),
            autosaver: files::Autosaver::start(secrets.clone()),
            instance: files::Instance::start(&dirs),
            secrets,
            dirs,
            files: files::FileState {
                slow_saves: options.test.slow_saves,
                slow_opens: options.test.slow_opens,
                ..Default::default()
            },
            tasks: files::Tasks::new(Arc::new(move || waker_ctx.request_repaint())),
            open_at_start: Vec::new(),
            title: None,
            last_autosave: Instant::now(),
            scroll: HashMap::new(),
            scroll_to: HashMap::new(),
            confirm_close: false,
            closing: false,
            close_after_saves: None,
            was_focused: true,
            rich: rich::Rich::default(),
            output_chars: crate::protocol::DisplayOptions::default().width,
            runtimes: runtimes::Runtimes::new(options.test.discovery.clone()),
            ssh_hosts: host_suggestions::HostSuggestions::new(options.test.ssh_home.clone()),
        }
        .started(options))
    }

    /// Reads last run's sessions and the files asked for, and checks for a
    /// file dialog, all in the background.
    fn started(mut self, options: AppOptions) -> RunyardApp {
        self.start_reading(options.open);
        self.probe_dialogs(!options.test.no_file_dialogs);
        self.refresh_runtimes();
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

    /// Image decodes in flight, and textures held with their bytes (for tests and benches).
    #[doc(hidden)]
    pub fn images_state(&self) -> (usize, usize, usize) {
        let (held, bytes) = self.rich.images.held();
        (self.rich.images.decoding(), held, bytes)
    }

    /// Scrolls a session's notebook to `offset` points on the next frame (benches).
    #[doc(hidden)]
    pub fn scroll_to(&mut self, id: SessionId, offset: f32) {
        self.scroll_to.insert(id, offset);
    }

    /// Where a session's notebook was scrolled to in the last frame.
    #[doc(hidden)]
    pub fn scrolled(&self, id: SessionId) -> Option<f32> {
        self.scroll.get(&id).copied()
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
    /// runtime needs a node and a cookie first, and a remote one its host, so
    /// their settings open at once.
    pub fn new_session(&mut self, runtime: NewRuntime) -> SessionId {
        let id = self.next_session_id();
        let name = format!("Notebook {}", id.0);
        let config = match runtime {
            NewRuntime::Python => self.settings.python_config(),
            NewRuntime::Elixir => self.settings.with_defaults(RuntimeConfig::elixir()),
            NewRuntime::ElixirAttached => self.settings.with_defaults(RuntimeConfig::elixir_attached("", "")),
            // Python until a host is given: the settings' interpreter is this computer's.
            NewRuntime::Remote => self.settings.with_defaults(RuntimeConfig::python()),
        };
        let mut session = Session::new(id, name, config);
        session.add_cell("");
        // An untouched new notebook has nothing to save.
        session.mark_saved(session.revision());
        self.sessions.push(session);
        self.selected = Some(id);
        match runtime {
            NewRuntime::ElixirAttached => self.open_configure(id),
            NewRuntime::Remote => {
                if let Some(session) = self.session(id) {
                    let dialog = ConfigureDialog::for_new_remote(id, &session.config);
                    self.show_configure(dialog);
                }
            }
            _ => {}
        }
        id
    }

    /// The selected cell of the selected session's notebook.
    pub fn selected_cell(&self) -> Option<crate::session::CellId> {
        self.notebooks.get(&self.selected?)?.selected
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

    /// Written by the autosave writer, in the order asked; a failure comes back as a notice.
    fn save_settings(&mut self) {
        self.autosaver.send(files::AutosaveJob::Settings {
            path: self.settings_path.clone(),
            settings: Box::new(self.settings.clone()),
        });
    }

    pub fn open_configure(&mut self, id: SessionId) {
        if let Some(session) = self.session(id) {
            let dialog = ConfigureDialog::new(id, &session.config);
            self.show_configure(dialog);
        }
    }

    fn show_configure(&mut self, dialog: ConfigureDialog) {
        let config = dialog.suggestions_config();
        self.configure = Some(dialog);
        // It lists what is found and the SSH hosts: read again, in the background.
        self.refresh_runtimes();
        self.refresh_ssh_hosts(config, true);
    }

    /// Opens a new session with a runtime found on this computer (an
    /// environment or a kernel) and selects it.
    pub fn new_session_with(&mut self, config: RuntimeConfig, choice: Option<crate::kernels::Choice>) -> SessionId {
        let id = self.next_session_id();
        let mut session = Session::new(id, format!("Notebook {}", id.0), self.settings.with_defaults(config));
        session.runtime_choice = choice;
        session.add_cell("");
        session.mark_saved(session.revision());
        self.sessions.push(session);
        self.selected = Some(id);
        id
    }
}

/// The runtimes a new session can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewRuntime {
    Python,
    Elixir,
    ElixirAttached,
    /// Python on an SSH host or as a Slurm job step.
    Remote,
}

impl NewRuntime {
    pub const ALL: [NewRuntime; 4] = [
        NewRuntime::Python,
        NewRuntime::Elixir,
        NewRuntime::ElixirAttached,
        NewRuntime::Remote,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            NewRuntime::Python => "New Python session",
            NewRuntime::Elixir => "New Elixir session",
            NewRuntime::ElixirAttached => "New session attached to an Elixir node…",
            NewRuntime::Remote => "New session on an SSH host or Slurm…",
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
        self.rich.begin_frame(&ctx);
        self.file_results();
        // Cheap (a Copy field each), so every frame: the next evaluation
        // formats for the window as it is now and the settings as they are.
        let display = self.settings.display_options(self.output_chars);
        for session in &mut self.sessions {
            session.display_options = display;
            session.evaluate_above = self.settings.evaluate_above;
        }
        self.intercept_close(&ctx);
        self.continue_close(&ctx);
        self.update_title(&ctx);
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
                let found = self.runtimes.found.clone();
                let shown = self.shown_preview();
                let mut preview_clicked = None;
                let opening = |ui: &mut egui::Ui| {
                    preview_clicked = preview_view::opening_rows(ui, &self.files.previews, shown);
                    !self.files.previews.is_empty()
                };
                let actions = sessions_panel::show(
                    ui,
                    &self.sessions,
                    self.selected,
                    &mut self.renaming,
                    found.as_deref(),
                    opening,
                );
                if let Some(i) = preview_clicked {
                    self.show_preview(i);
                }
                for action in actions {
                    match action {
                        sessions_panel::Action::Select(id) => {
                            self.selected = Some(id);
                            self.hide_preview();
                        }
                        sessions_panel::Action::New(runtime) => {
                            self.new_session(runtime);
                        }
                        sessions_panel::Action::NewWith(config, choice) => {
                            self.new_session_with(*config, choice);
                        }
                        sessions_panel::Action::MenuOpened => self.refresh_runtimes(),
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
            if let Some(i) = self.shown_preview() {
                preview_view::show(ui, &self.files.previews[i], &mut self.files.preview_markdown);
                return;
            }
            let selected = self.selected.filter(|id| self.session(*id).is_some());
            match selected {
                None => self.welcome(ui),
                Some(id) => {
                    let session = self.sessions.iter_mut().find(|s| s.id == id).expect("selected exists");
                    let notebook = self.notebooks.entry(id).or_default();
                    let scroll_to = self.scroll_to.remove(&id);
                    let (commands, wants) = session_view::show(
                        ui,
                        session,
                        notebook,
                        &mut self.rich,
                        &mut self.cell_clipboard,
                        scroll_to,
                    );
                    self.scroll.insert(id, wants.scroll_offset);
                    self.output_chars = wants.output_chars;
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
        self.path_prompt(&ctx);
        self.rich_requests();
        self.rich.end_frame(&ctx);
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
