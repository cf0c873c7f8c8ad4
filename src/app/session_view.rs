//! One session: its banner, its runtime panel and its cells.

use std::time::Instant;

use egui::{Color32, RichText};

use super::notebook_view::{self, NotebookUi};
use super::{output_view, remote_view, style};
use crate::manager::Command;
use crate::protocol::MemoryUsage;
use crate::session::{BannerKind, Session, format_duration};

/// What the view asks of the app beyond manager commands.
#[derive(Default)]
pub struct Wants {
    pub configure: bool,
    /// Where the notebook is scrolled to, to remember at exit.
    pub scroll_offset: f32,
    /// Monospace characters that fit across the notebook column: the
    /// width runtimes format plain values for.
    pub output_chars: u32,
}

/// The notebook column's width in monospace characters (less a cell's
/// frame), within what a runtime is asked for.
fn output_chars(ui: &mut egui::Ui) -> u32 {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let char_width = ui.fonts_mut(|f| f.glyph_width(&font, '0')).max(1.0);
    let width = (ui.available_width() - 24.0).max(0.0);
    ((width / char_width) as u32).clamp(40, 400)
}

pub fn show(
    ui: &mut egui::Ui,
    session: &mut Session,
    notebook: &mut NotebookUi,
    rich: &mut super::rich::Rich,
    clipboard: &mut notebook_view::Clipboard,
    scroll_to: Option<f32>,
) -> (Vec<Command>, Wants) {
    let mut commands = Vec::new();
    let mut wants = Wants::default();
    banner(ui, session, &mut commands, &mut wants);
    runtime_panel(ui, session, &mut commands, &mut wants);
    ui.add_space(6.0);
    // Above the cells, so that it stays in view while they scroll.
    super::find_bar::show(ui, session, &mut notebook.find);
    let mut area = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt(("cells", session.id));
    if let Some(offset) = scroll_to {
        area = area.vertical_scroll_offset(offset);
    }
    let output = area.show(ui, |ui| {
        runtime_output(ui, session);
        wants.output_chars = output_chars(ui);
        commands.extend(notebook_view::show(ui, session, notebook, rich, clipboard));
    });
    wants.scroll_offset = output.state.clamped_offset().y;
    (commands, wants)
}

fn banner(ui: &mut egui::Ui, session: &mut Session, commands: &mut Vec<Command>, wants: &mut Wants) {
    let Some(banner) = session.banner.clone() else { return };
    egui::Frame::new()
        .fill(style::ERROR_FILL)
        .stroke(egui::Stroke::new(1.0, style::ERROR_TEXT))
        .corner_radius(4.0)
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(&banner.message).color(style::ERROR_TEXT).strong());
                if ui.small_button("Dismiss").clicked() {
                    session.dismiss_banner();
                }
            });
            egui::CollapsingHeader::new(RichText::new("Details").color(style::ERROR_TEXT))
                .id_salt(("banner-details", session.id))
                .show(ui, |ui| {
                    ui.label(RichText::new(&banner.detail).monospace().color(Color32::from_gray(40)));
                });
            ui.horizontal(|ui| match banner.kind {
                BannerKind::InitError => {
                    if ui.button("Retry").clicked() {
                        commands.extend(session.connect());
                    }
                    if ui.button("Configure").clicked() {
                        wants.configure = true;
                    }
                }
                BannerKind::NoRuntime => {
                    if ui.button("Choose a runtime…").clicked() {
                        wants.configure = true;
                    }
                }
                BannerKind::NodeDown => {
                    if ui.button("Reconnect").clicked() {
                        commands.extend(session.reconnect());
                    }
                }
            });
        });
    ui.add_space(6.0);
}

fn runtime_panel(ui: &mut egui::Ui, session: &mut Session, commands: &mut Vec<Command>, wants: &mut Wants) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.heading(&session.name);
            style::status_badge(ui, session.status());
        });
        // First, so that rows appearing below (start-up time, memory) never move them.
        ui.horizontal(|ui| {
            if ui
                .add_enabled(session.can_connect(), egui::Button::new("Connect"))
                .clicked()
            {
                commands.extend(session.connect());
            }
            if ui
                .add_enabled(session.can_disconnect(), egui::Button::new("Disconnect"))
                .clicked()
            {
                commands.extend(session.disconnect());
            }
            if ui
                .add_enabled(session.can_reconnect(), egui::Button::new("Reconnect"))
                .clicked()
            {
                commands.extend(session.reconnect());
            }
            if ui
                .add_enabled(session.can_interrupt(), egui::Button::new("Interrupt"))
                .clicked()
            {
                commands.extend(session.interrupt());
            }
            if ui.button("Configure…").clicked() {
                wants.configure = true;
            }
            // Last: appearing, it moves no other button.
            if session.interrupt_unanswered
                && ui
                    .button(RichText::new("Kill runtime").color(style::ERROR_TEXT))
                    .on_hover_text("The evaluation ignores the interrupt: kill the runtime's processes")
                    .clicked()
            {
                commands.extend(session.kill());
            }
        });
        egui::Grid::new(("runtime-grid", session.id))
            .num_columns(4)
            .spacing([16.0, 4.0])
            .show(ui, |ui| {
                let info = session.node_info().cloned();
                ui.label(RichText::new("Runtime").weak());
                ui.label(session.config.kind_label());
                ui.label(RichText::new("Node").weak());
                ui.label(RichText::new(session.node_name().unwrap_or("—")).monospace());
                ui.end_row();

                remote_view::panel_rows(ui, session);

                // A remote runtime's interpreter and process are the host's.
                let remote = !session.config.place.is_local();
                ui.label(RichText::new(if remote { "Remote interpreter" } else { "Executable" }).weak());
                let executable = info
                    .as_ref()
                    .map(|i| i.executable.clone())
                    .unwrap_or_else(|| session.config.executable().to_string());
                ui.label(RichText::new(executable).monospace());
                // An attached session's process is Runyard's bridge node, not the target.
                let attached = matches!(session.config.kind, crate::runtime::RuntimeKind::ElixirAttached(_));
                let pid_label = match (attached, remote) {
                    (true, _) => "Bridge PID",
                    (false, true) => "Remote PID",
                    (false, false) => "PID",
                };
                ui.label(RichText::new(pid_label).weak()).on_hover_text(if attached {
                    "The OS process of Runyard's bridge node, which evaluates on the target node"
                } else if remote {
                    "The runtime's OS process, on the host it runs on"
                } else {
                    "The runtime's OS process"
                });
                ui.label(info.as_ref().map(|i| i.pid.to_string()).unwrap_or_else(|| "—".into()));
                ui.end_row();

                ui.label(RichText::new("Uptime").weak());
                ui.label(
                    session
                        .uptime(Instant::now())
                        .map(style::format_uptime)
                        .unwrap_or_else(|| "—".into()),
                );
                ui.label(RichText::new("Memory").weak());
                ui.label(
                    session
                        .memory()
                        .map(|m| style::format_bytes(m.total))
                        .unwrap_or_else(|| "—".into()),
                );
                ui.end_row();

                if let Some(info) = &info {
                    ui.label(RichText::new("Version").weak());
                    ui.label(format!("{} {}", info.language, info.language_version));
                    if let Some(cookie) = &info.cookie {
                        ui.label(RichText::new("Cookie").weak());
                        ui.label(RichText::new(cookie).monospace());
                    }
                    ui.end_row();
                }
            });
        // The owner's way into the node: the cookie is on no command line of
        // Runyard's, so the panel spells out the one to run.
        if let Some(info) = session.node_info().cloned()
            && let Some(cookie) = &info.cookie
        {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Remote shell").weak());
                let command = crate::runtime::elixir::remsh_command(&info.name, cookie);
                ui.add(egui::Label::new(RichText::new(&command).monospace()).selectable(true))
                    .on_hover_text(
                        "Run this in a terminal for an IEx shell on the node. While it runs, \
                         its --cookie is visible to other users of this machine (ps).",
                    );
                if ui.small_button("Copy").clicked() {
                    ui.ctx().copy_text(command);
                }
            });
        }
        if let crate::runtime::RuntimeKind::JupyterKernel(kernel) = &session.config.kind {
            ui.label(
                RichText::new(format!(
                    "{}: one global namespace, as in Jupyter — every cell sees what any cell defined, \
                     and re-running a cell does not restore the state before it. input() gets an empty line.",
                    kernel.spec.display_name
                ))
                .weak(),
            );
        }
        if let Some(memory) = session.memory().filter(|m| m.parts.len() > 1) {
            memory_bar(ui, memory);
        }
        if let Some(job) = remote_view::pending_job(session).cloned() {
            // Cancelling is disconnecting: the manager cancels the job it started.
            if remote_view::pending(ui, &job) {
                commands.extend(session.disconnect());
            }
        } else if let crate::session::RuntimeState::Starting { since, preparing, .. } = &session.runtime {
            let doing = preparing
                .as_deref()
                .map_or("Starting".to_string(), crate::text::capitalise);
            ui.label(RichText::new(format!("{doing}… ({} so far)", format_duration(since.elapsed()))).weak());
        }
    });
}

/// Memory by part (Elixir's processes, atoms, binaries…) as a stacked bar with a legend.
fn memory_bar(ui: &mut egui::Ui, memory: &MemoryUsage) {
    const COLORS: [Color32; 6] = [
        Color32::from_rgb(0x25, 0x63, 0xeb),
        Color32::from_rgb(0x16, 0xa3, 0x4a),
        Color32::from_rgb(0xd9, 0x77, 0x06),
        Color32::from_rgb(0x93, 0x33, 0xea),
        Color32::from_rgb(0xdb, 0x27, 0x77),
        Color32::from_rgb(0x64, 0x74, 0x8b),
    ];
    let total: u64 = memory.parts.iter().map(|p| p.1).sum::<u64>().max(1);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width().min(480.0), 10.0), egui::Sense::hover());
    let mut x = rect.left();
    for (i, (_, bytes)) in memory.parts.iter().enumerate() {
        let w = rect.width() * (*bytes as f32 / total as f32);
        let part = egui::Rect::from_min_size(egui::pos2(x, rect.top()), egui::vec2(w, rect.height()));
        ui.painter().rect_filled(part, 0.0, COLORS[i % COLORS.len()]);
        x += w;
    }
    ui.horizontal_wrapped(|ui| {
        for (i, (name, bytes)) in memory.parts.iter().enumerate() {
            let (swatch, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(swatch, 2.0, COLORS[i % COLORS.len()]);
            ui.label(format!("{name} {}", style::format_bytes(*bytes)));
        }
    });
}

fn runtime_output(ui: &mut egui::Ui, session: &mut Session) {
    if session.runtime_output.is_empty() && session.warnings.is_empty() {
        return;
    }
    egui::CollapsingHeader::new("Runtime output and warnings")
        .id_salt(("runtime-output", session.id))
        .show(ui, |ui| {
            for warning in &session.warnings {
                ui.colored_label(style::WARNING_TEXT, warning);
            }
            if !session.runtime_output.is_empty() {
                output_view::show(
                    ui,
                    ("runtime-output-lines", session.id.0),
                    &session.runtime_output,
                    false,
                );
            }
        });
}
