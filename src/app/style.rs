//! Colours and small drawing helpers shared by the views.

use egui::{Color32, RichText};

use crate::session::{CellState, Status};
use crate::settings::Theme;

pub const WARNING_FILL: Color32 = Color32::from_rgb(0xff, 0xf4, 0xce);
pub const WARNING_TEXT: Color32 = Color32::from_rgb(0x6b, 0x4f, 0x00);
pub const ERROR_FILL: Color32 = Color32::from_rgb(0xfd, 0xe7, 0xe9);
pub const ERROR_TEXT: Color32 = Color32::from_rgb(0xa4, 0x0e, 0x26);
pub const STDERR_TEXT: Color32 = Color32::from_rgb(0xc2, 0x41, 0x0c);

/// Backgrounds the code editors mark text with, for light and dark themes:
/// never colour alone (a pair is two marks, the current match also has
/// its "N of M").
pub fn bracket_pair(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0x3a, 0x4a, 0x5e)
    } else {
        Color32::from_rgb(0xc8, 0xdc, 0xf0)
    }
}

/// Every match of the notebook search.
pub fn find_match(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0x5c, 0x4e, 0x1c)
    } else {
        Color32::from_rgb(0xff, 0xf0, 0xa8)
    }
}

/// The current match of the notebook search.
pub fn find_current(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0xa3, 0x5c, 0x10)
    } else {
        Color32::from_rgb(0xff, 0xb8, 0x4d)
    }
}

pub fn apply_theme(ctx: &egui::Context, theme: Theme) {
    ctx.set_theme(match theme {
        Theme::Light => egui::ThemePreference::Light,
        Theme::Dark => egui::ThemePreference::Dark,
        Theme::System => egui::ThemePreference::System,
    });
}

pub fn status_color(status: Status) -> Color32 {
    match status {
        Status::Disconnected => Color32::from_gray(140),
        Status::Starting => Color32::from_rgb(0xd9, 0x9a, 0x06),
        Status::Idle => Color32::from_rgb(0x1a, 0x9e, 0x4a),
        Status::Evaluating => Color32::from_rgb(0x25, 0x63, 0xeb),
        Status::NodeDown | Status::InitFailed => Color32::from_rgb(0xdc, 0x26, 0x26),
    }
}

/// A coloured dot followed by the state's word: never colour alone.
pub fn status_badge(ui: &mut egui::Ui, status: Status) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter().circle_filled(rect.center(), 4.5, status_color(status));
        ui.label(RichText::new(status.label()).color(status_color(status)));
    });
}

pub fn cell_state_color(state: &CellState) -> Color32 {
    match state {
        CellState::Fresh => Color32::from_gray(150),
        CellState::Queued => Color32::from_rgb(0xd9, 0x9a, 0x06),
        CellState::Evaluating { .. } => Color32::from_rgb(0x25, 0x63, 0xeb),
        CellState::Evaluated { .. } => Color32::from_rgb(0x1a, 0x9e, 0x4a),
        CellState::Errored { .. } | CellState::Aborted => Color32::from_rgb(0xdc, 0x26, 0x26),
        CellState::Interrupted | CellState::Stale | CellState::NotEvaluated { .. } => {
            Color32::from_rgb(0xb4, 0x53, 0x09)
        }
    }
}

/// "14.2 MiB".
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "42 s", "3 min", "2 h 5 min": coarse, since it is redrawn only every few seconds.
pub fn format_uptime(uptime: std::time::Duration) -> String {
    let secs = uptime.as_secs();
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sizes_and_uptimes() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(14_890_000), "14.2 MiB");
        assert_eq!(format_uptime(std::time::Duration::from_secs(42)), "42 s");
        assert_eq!(format_uptime(std::time::Duration::from_secs(7500)), "2 h 5 min");
    }
}
