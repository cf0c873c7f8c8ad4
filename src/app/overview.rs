//! Every live runtime node across sessions.

use std::collections::BTreeMap;
use std::time::Instant;

use egui::RichText;

use super::style;
use crate::manager::SessionId;
use crate::session::Session;

pub enum Action {
    Disconnect(Vec<SessionId>),
    Select(SessionId),
    ShutDownAll,
}

pub fn show(ctx: &egui::Context, open: &mut bool, sessions: &[Session]) -> Vec<Action> {
    let mut actions = Vec::new();
    // Sessions attached to the same node share a row.
    let mut nodes: BTreeMap<String, Vec<&Session>> = BTreeMap::new();
    for session in sessions.iter().filter(|s| s.is_live()) {
        let name = session.node_name().unwrap_or("(starting)").to_string();
        nodes.entry(name).or_default().push(session);
    }
    egui::Window::new("Runtimes")
        .open(open)
        .default_width(640.0)
        .show(ctx, |ui| {
            if nodes.is_empty() {
                ui.label(RichText::new("No runtime is running.").weak());
                return;
            }
            egui::Grid::new("runtimes-grid")
                .striped(true)
                .num_columns(8)
                .spacing([12.0, 6.0])
                .show(ui, |ui| {
                    for heading in ["Node", "Sessions", "Runs on", "PID", "Memory", "Uptime", "State", ""] {
                        ui.label(RichText::new(heading).strong());
                    }
                    ui.end_row();
                    let now = Instant::now();
                    for (name, users) in &nodes {
                        let first = users[0];
                        ui.label(RichText::new(name).monospace());
                        ui.vertical(|ui| {
                            for s in users {
                                if ui.link(&s.name).clicked() {
                                    actions.push(Action::Select(s.id));
                                }
                            }
                        });
                        ui.label(super::remote_view::where_text(first).unwrap_or_else(|| "this computer".into()));
                        // A remote runtime's pid is the host's.
                        ui.label(
                            first
                                .node_info()
                                .map(|i| i.pid.to_string())
                                .unwrap_or_else(|| "—".into()),
                        );
                        ui.label(
                            first
                                .memory()
                                .map(|m| style::format_bytes(m.total))
                                .unwrap_or_else(|| "—".into()),
                        );
                        ui.label(
                            first
                                .uptime(now)
                                .map(style::format_uptime)
                                .unwrap_or_else(|| "—".into()),
                        );
                        style::status_badge(ui, first.status());
                        if ui
                            .button("Disconnect")
                            .on_hover_text(format!("Disconnect {name}"))
                            .clicked()
                        {
                            actions.push(Action::Disconnect(users.iter().map(|s| s.id).collect()));
                        }
                        ui.end_row();
                    }
                });
            ui.separator();
            if ui.button("Shut down all…").clicked() {
                actions.push(Action::ShutDownAll);
            }
        });
    actions
}
