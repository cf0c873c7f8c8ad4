//! The menu bar, and the one table of actions that its items, their
//! keyboard shortcuts, the command palette and Help › Keyboard shortcuts
//! are all made from.

use super::{NewRuntime, RunyardApp, logs};
use crate::session::Session;

const fn shortcut(modifiers: egui::Modifiers, key: egui::Key) -> Option<egui::KeyboardShortcut> {
    Some(egui::KeyboardShortcut::new(modifiers, key))
}
const COMMAND_SHIFT: egui::Modifiers = egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT);

/// One thing the menus can do: its name, its shortcut, when it can run,
/// and what it does.
pub(super) struct MenuAction {
    pub menu: &'static str,
    pub name: &'static str,
    pub shortcut: Option<egui::KeyboardShortcut>,
    enabled: fn(&RunyardApp) -> bool,
    run: fn(&mut RunyardApp, &egui::Context),
}

fn always(_: &RunyardApp) -> bool {
    true
}

fn has_session(app: &RunyardApp) -> bool {
    app.selected.and_then(|id| app.session(id)).is_some()
}

fn session_can(app: &RunyardApp, can: fn(&Session) -> bool) -> bool {
    app.selected.and_then(|id| app.session(id)).is_some_and(can)
}

fn on_session(app: &mut RunyardApp, action: impl FnOnce(&mut Session) -> Vec<crate::manager::Command>) {
    if let Some(id) = app.selected {
        app.act(id, action);
    }
}

/// Every action of the menus, in menu order.
pub(super) const ACTIONS: &[MenuAction] = &[
    MenuAction {
        menu: "File",
        name: "Open…",
        shortcut: shortcut(egui::Modifiers::COMMAND, egui::Key::O),
        enabled: always,
        run: |app, _| app.open_dialog(),
    },
    MenuAction {
        menu: "File",
        name: "Save",
        shortcut: shortcut(egui::Modifiers::COMMAND, egui::Key::S),
        enabled: has_session,
        run: |app, _| {
            if let Some(id) = app.selected {
                app.save(id);
            }
        },
    },
    MenuAction {
        menu: "File",
        name: "Save As…",
        shortcut: shortcut(COMMAND_SHIFT, egui::Key::S),
        enabled: has_session,
        run: |app, _| {
            if let Some(id) = app.selected {
                app.save_as(id);
            }
        },
    },
    MenuAction {
        menu: "File",
        name: "Close session",
        shortcut: None,
        enabled: has_session,
        run: |app, _| {
            if let Some(id) = app.selected {
                app.close_session(id);
            }
        },
    },
    MenuAction {
        menu: "File",
        name: "Quit",
        shortcut: shortcut(egui::Modifiers::COMMAND, egui::Key::Q),
        enabled: always,
        run: |app, ctx| app.quit(ctx),
    },
    MenuAction {
        menu: "Session",
        name: NewRuntime::Python.label(),
        shortcut: None,
        enabled: always,
        run: |app, _| {
            app.new_session(NewRuntime::Python);
        },
    },
    MenuAction {
        menu: "Session",
        name: NewRuntime::Elixir.label(),
        shortcut: None,
        enabled: always,
        run: |app, _| {
            app.new_session(NewRuntime::Elixir);
        },
    },
    MenuAction {
        menu: "Session",
        name: NewRuntime::ElixirAttached.label(),
        shortcut: None,
        enabled: always,
        run: |app, _| {
            app.new_session(NewRuntime::ElixirAttached);
        },
    },
    MenuAction {
        menu: "Session",
        name: NewRuntime::Remote.label(),
        shortcut: None,
        enabled: always,
        run: |app, _| {
            app.new_session(NewRuntime::Remote);
        },
    },
    MenuAction {
        menu: "Session",
        name: "Connect",
        shortcut: None,
        enabled: |app| session_can(app, Session::can_connect),
        run: |app, _| on_session(app, Session::connect),
    },
    MenuAction {
        menu: "Session",
        name: "Disconnect",
        shortcut: None,
        enabled: |app| session_can(app, Session::can_disconnect),
        run: |app, _| on_session(app, Session::disconnect),
    },
    MenuAction {
        menu: "Session",
        name: "Reconnect",
        shortcut: None,
        enabled: |app| session_can(app, Session::can_reconnect),
        run: |app, _| on_session(app, Session::reconnect),
    },
    MenuAction {
        menu: "Session",
        name: "Settings…",
        shortcut: None,
        enabled: always,
        run: |app, _| app.show_settings = true,
    },
    MenuAction {
        menu: "Notebook",
        name: "Evaluate all",
        shortcut: shortcut(COMMAND_SHIFT, egui::Key::Enter),
        enabled: has_session,
        run: |app, _| on_session(app, Session::evaluate_all),
    },
    MenuAction {
        menu: "Notebook",
        name: "Interrupt",
        shortcut: shortcut(COMMAND_SHIFT, egui::Key::I),
        enabled: |app| session_can(app, Session::can_interrupt),
        run: |app, _| on_session(app, Session::interrupt),
    },
    MenuAction {
        menu: "Notebook",
        name: "Find…",
        shortcut: shortcut(egui::Modifiers::COMMAND, egui::Key::F),
        enabled: has_session,
        run: |app, _| {
            if let Some(id) = app.selected {
                app.notebooks.entry(id).or_default().find.open();
            }
        },
    },
    MenuAction {
        menu: "Notebook",
        name: "Clear all outputs",
        shortcut: None,
        enabled: has_session,
        run: |app, _| {
            on_session(app, |s| {
                s.clear_all_outputs();
                Vec::new()
            })
        },
    },
    MenuAction {
        menu: "Notebook",
        name: "Undo delete",
        shortcut: None,
        enabled: |app| session_can(app, Session::can_undo_delete),
        run: |app, _| {
            on_session(app, |s| {
                s.undo_delete();
                Vec::new()
            })
        },
    },
    MenuAction {
        menu: "Runtimes",
        name: "Runtimes overview",
        shortcut: None,
        enabled: always,
        run: |app, _| app.show_overview = true,
    },
    MenuAction {
        menu: "Runtimes",
        name: "Shut down all…",
        shortcut: None,
        enabled: |app| app.sessions.iter().any(Session::is_live),
        run: |app, _| app.confirm_shutdown_all = true,
    },
    MenuAction {
        menu: "Help",
        name: "Command palette…",
        shortcut: shortcut(COMMAND_SHIFT, egui::Key::P),
        enabled: always,
        run: |app, _| app.palette = Some(super::palette::Palette::default()),
    },
    MenuAction {
        menu: "Help",
        name: "Keyboard shortcuts",
        shortcut: None,
        enabled: always,
        run: |app, _| app.show_shortcuts = true,
    },
    MenuAction {
        menu: "Help",
        name: "View logs",
        shortcut: None,
        enabled: always,
        run: |app, _| app.logs = Some(logs::LogsView::open(&app.log_path)),
    },
];

/// The items that a separator puts apart from those above them.
const GROUP_STARTS: &[&str] = &[
    "Save",
    "Close session",
    "Quit",
    "Clear all outputs",
    "Connect",
    "Settings…",
];

impl RunyardApp {
    pub(super) fn can_run(&self, action: &MenuAction) -> bool {
        (action.enabled)(self)
    }

    pub(super) fn run_action(&mut self, action: &MenuAction, ctx: &egui::Context) {
        if (action.enabled)(self) {
            (action.run)(self, ctx);
        }
    }

    /// The items of `menu` from the table, in order.
    fn menu_items(&mut self, ui: &mut egui::Ui, menu: &str) {
        let ctx = ui.ctx().clone();
        for action in ACTIONS.iter().filter(|a| a.menu == menu) {
            if GROUP_STARTS.contains(&action.name) {
                ui.separator();
            }
            let mut button = egui::Button::new(action.name);
            if let Some(sc) = &action.shortcut {
                button = button.shortcut_text(ctx.format_shortcut(sc));
            }
            if ui.add_enabled(self.can_run(action), button).clicked() {
                self.run_action(action, &ctx);
            }
            if action.name == "Open…" {
                self.open_recent(ui);
            }
        }
    }

    fn open_recent(&mut self, ui: &mut egui::Ui) {
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
    }

    /// The table's keyboard shortcuts, wherever the focus is.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        // Those with more modifiers first: Ctrl+Shift+S must not be taken as Ctrl+S.
        let mut keyed: Vec<(&MenuAction, egui::KeyboardShortcut)> =
            ACTIONS.iter().filter_map(|a| Some((a, a.shortcut?))).collect();
        keyed.sort_by_key(|(_, sc)| std::cmp::Reverse(sc.modifiers.shift as u8 + sc.modifiers.alt as u8));
        for (action, sc) in keyed {
            if ctx.input_mut(|i| i.consume_shortcut(&sc)) {
                self.run_action(action, ctx);
            }
        }
    }

    pub(super) fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.menu_items(ui, "File"));
            ui.menu_button("Session", |ui| self.menu_items(ui, "Session"));
            ui.menu_button("Notebook", |ui| self.menu_items(ui, "Notebook"));
            ui.menu_button("Runtimes", |ui| self.menu_items(ui, "Runtimes"));
            ui.menu_button("Help", |ui| {
                self.menu_items(ui, "Help");
                ui.label(format!("Runyard {}", env!("CARGO_PKG_VERSION")));
            });
            if let Some(saving) = self.saving_label() {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.add(egui::Spinner::new());
                    ui.label(saving);
                });
            }
        });
    }
}
