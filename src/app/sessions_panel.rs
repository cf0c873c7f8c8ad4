//! The left side panel: one row per session with its runtime and state.

use egui::RichText;

use super::style;
use crate::manager::SessionId;
use crate::session::Session;

pub enum Action {
    Select(SessionId),
    New(super::NewRuntime),
    /// A new session with a runtime found on this computer.
    NewWith(Box<crate::runtime::RuntimeConfig>, Option<crate::kernels::Choice>),
    /// The New menu opened: the runtimes it lists are looked for again.
    MenuOpened,
    Rename(SessionId, String),
    Close(SessionId),
}

pub fn show(
    ui: &mut egui::Ui,
    sessions: &[Session],
    selected: Option<SessionId>,
    renaming: &mut Option<(SessionId, String)>,
    found: Option<&crate::kernels::Discovered>,
    opening: impl FnOnce(&mut egui::Ui) -> bool,
) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        ui.heading("Sessions");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let menu = ui.menu_button("+ New", |ui| {
                for runtime in super::NewRuntime::ALL {
                    if ui.button(runtime.label()).clicked() {
                        actions.push(Action::New(runtime));
                    }
                }
                new_with_found(ui, found, &mut actions);
            });
            if menu.response.clicked() {
                actions.push(Action::MenuOpened);
            }
        });
    });
    ui.separator();
    // Files being read come first: the list below takes the rest of the height.
    let any_opening = opening(ui);
    if sessions.is_empty() {
        if !any_opening {
            ui.label(RichText::new("No sessions yet.").weak());
        }
        return actions;
    }
    let row_height = ui.text_style_height(&egui::TextStyle::Body) * 3.0 + 12.0;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, sessions.len(), |ui, range| {
            for session in &sessions[range] {
                row(ui, session, selected == Some(session.id), renaming, &mut actions);
            }
        });
    actions
}

/// The environments and kernels found, as submenus of New.
fn new_with_found(ui: &mut egui::Ui, found: Option<&crate::kernels::Discovered>, actions: &mut Vec<Action>) {
    use crate::kernels::Choice;
    use crate::runtime::RuntimeConfig;
    let Some(found) = found else { return };
    if !found.environments.is_empty() {
        ui.menu_button("New Python session in…", |ui| {
            for env in &found.environments {
                if ui.button(env.label()).clicked() {
                    let config = RuntimeConfig::python().with_executable(env.interpreter.display().to_string());
                    actions.push(Action::NewWith(Box::new(config), Some(Choice::environment(env))));
                }
            }
        });
    }
    let kernels: Vec<_> = found
        .kernels
        .iter()
        .filter(|k| !k.missing_program)
        .filter_map(|k| k.ok())
        .collect();
    if !kernels.is_empty() {
        ui.menu_button("New session with a Jupyter kernel", |ui| {
            for spec in kernels {
                if ui.button(format!("{} ({})", spec.display_name, spec.name)).clicked() {
                    actions.push(Action::NewWith(
                        Box::new(RuntimeConfig::jupyter(spec.clone())),
                        Some(Choice::kernel(spec)),
                    ));
                }
            }
        });
    }
}

fn row(
    ui: &mut egui::Ui,
    session: &Session,
    is_selected: bool,
    renaming: &mut Option<(SessionId, String)>,
    actions: &mut Vec<Action>,
) {
    let frame = egui::Frame::new()
        .inner_margin(4.0)
        .corner_radius(4.0)
        .fill(if is_selected {
            ui.visuals().selection.bg_fill.gamma_multiply(0.35)
        } else {
            egui::Color32::TRANSPARENT
        });
    frame.show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            match renaming {
                Some((id, name)) if *id == session.id => {
                    let edit = ui.add(egui::TextEdit::singleline(name).desired_width(140.0));
                    edit.request_focus();
                    if ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                        if !name.trim().is_empty() {
                            actions.push(Action::Rename(session.id, name.trim().to_string()));
                        }
                        *renaming = None;
                    } else if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                        *renaming = None;
                    }
                }
                _ => {
                    if ui
                        .selectable_label(is_selected, RichText::new(&session.name).strong())
                        .clicked()
                    {
                        actions.push(Action::Select(session.id));
                    }
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.menu_button("…", |ui| {
                    if ui.button("Rename").clicked() {
                        *renaming = Some((session.id, session.name.clone()));
                    }
                    if ui.button("Close session").clicked() {
                        actions.push(Action::Close(session.id));
                    }
                })
                .response
                .on_hover_text(format!("Actions for {}", session.name));
            });
        });
        ui.horizontal(|ui| {
            style::status_badge(ui, session.status());
            ui.label(RichText::new(session.config.kind_label()).weak());
        });
        let mut details = session.node_name().unwrap_or("no node").to_string();
        if let Some(place) = super::remote_view::where_text(session) {
            details.push_str(&format!(" · {place}"));
        }
        if let Some(info) = session.node_info() {
            details.push_str(&format!(" · pid {}", info.pid));
            if let Some(memory) = session.memory() {
                details.push_str(&format!(" · {}", style::format_bytes(memory.total)));
            }
        }
        ui.label(RichText::new(details).small().weak());
    });
}
