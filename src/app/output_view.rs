//! A cell's output, drawn row by row: only the visible rows are laid out, so
//! a cell with 100,000 lines costs what a screenful does.

use egui::text::LayoutJob;
use egui::{Color32, RichText};

use super::style;
use crate::protocol::Stream;
use crate::session::output::{Color, Line, OutputBuffer, Row, Style};

/// Outputs up to this many rows are shown whole, without a box of their own.
const SHORT_ROWS: usize = 20;
/// A longer output's box starts this tall; its corner resizes it.
const DEFAULT_HEIGHT: f32 = 320.0;

pub fn show(ui: &mut egui::Ui, id: impl egui::AsIdSalt, output: &OutputBuffer, greyed: bool) {
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
    let rows = output.row_count();
    let id = ui.make_persistent_id(id);
    if rows <= SHORT_ROWS {
        egui::ScrollArea::horizontal()
            .id_salt(id)
            .auto_shrink([false, true])
            .show(ui, |ui| show_rows(ui, output, 0..rows, greyed));
        return;
    }
    let collapsed_id = id.with("collapsed");
    let collapsed = ui.data(|d| d.get_temp::<bool>(collapsed_id)).unwrap_or(false);
    let toggle = if collapsed {
        format!("Show output ({rows} lines)")
    } else {
        format!("Hide output ({rows} lines)")
    };
    if ui.small_button(toggle).clicked() {
        ui.data_mut(|d| d.insert_temp(collapsed_id, !collapsed));
    }
    if collapsed {
        return;
    }
    let full = rows as f32 * (row_height + ui.spacing().item_spacing.y);
    egui::Resize::default()
        .id_salt(id.with("resize"))
        .resizable([false, true])
        .default_width(ui.available_width())
        .default_height(DEFAULT_HEIGHT.min(full))
        .min_height(4.0 * row_height)
        .max_height(full + 2.0 * row_height)
        .show(ui, |ui| {
            egui::ScrollArea::both()
                .id_salt(id.with("scroll"))
                .auto_shrink([false, false])
                .stick_to_bottom(true)
                .show_rows(ui, row_height, rows, |ui, range| show_rows(ui, output, range, greyed));
        });
}

fn show_rows(ui: &mut egui::Ui, output: &OutputBuffer, range: std::ops::Range<usize>, greyed: bool) {
    for i in range {
        match output.row(i) {
            Row::Line(line) => {
                let job = line_job(ui, line, greyed);
                ui.add(
                    egui::Label::new(job)
                        .wrap_mode(egui::TextWrapMode::Extend)
                        .selectable(true),
                );
            }
            Row::Omitted(n) => {
                let text = format!("… {n} lines left out (Save output… keeps them all) …");
                ui.label(RichText::new(text).monospace().italics().weak());
            }
        }
    }
}

fn line_job(ui: &egui::Ui, line: &Line, greyed: bool) -> LayoutJob {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let base = match line.stream {
        Stream::Stdout => ui.visuals().text_color(),
        Stream::Stderr => style::STDERR_TEXT,
    };
    let dark = ui.visuals().dark_mode;
    let page = ui.visuals().extreme_bg_color;
    let format = |s: Style| {
        let mut color = s.fg.map(|c| terminal_color(c, dark)).unwrap_or(base);
        let mut background = s.bg.map(|c| terminal_color(c, dark));
        if s.reverse {
            (color, background) = (background.unwrap_or(page), Some(color));
        }
        if s.dim {
            color = color.gamma_multiply(0.6);
        }
        if s.bold {
            // The monospace font has no bold face: strengthen the colour instead.
            color = if dark {
                color.linear_multiply(1.3)
            } else {
                color.linear_multiply(0.7)
            };
        }
        if greyed {
            color = color.gamma_multiply(0.5);
        }
        let mut format = egui::TextFormat::simple(font.clone(), color);
        format.background = background.unwrap_or(Color32::TRANSPARENT);
        format.italics = s.italic;
        if s.underline {
            format.underline = egui::Stroke::new(1.0, color);
        }
        format
    };
    let mut job = LayoutJob::default();
    let mut start = 0;
    let mut current = Style::default();
    for &(offset, next) in &line.styles {
        let offset = offset.min(line.text.len());
        if offset > start {
            job.append(&line.text[start..offset], 0.0, format(current));
        }
        start = offset;
        current = next;
    }
    job.append(&line.text[start..], 0.0, format(current));
    job
}

/// A colour as a terminal shows it: the 16 basic ones tuned for the theme,
/// the 256-colour palette (6×6×6 cube, then greys), or 24-bit as given.
pub fn terminal_color(color: Color, dark: bool) -> Color32 {
    match color {
        Color::Indexed(n @ 0..=15) => ansi_color(n, dark),
        Color::Indexed(n @ 16..=231) => {
            const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
            let i = n - 16;
            Color32::from_rgb(
                LEVELS[(i / 36) as usize],
                LEVELS[(i / 6 % 6) as usize],
                LEVELS[(i % 6) as usize],
            )
        }
        Color::Indexed(n) => {
            let grey = 8 + 10 * (n - 232);
            Color32::from_gray(grey)
        }
        Color::Rgb(r, g, b) => Color32::from_rgb(r, g, b),
    }
}

/// The 16 basic terminal colours, tuned for light and dark backgrounds.
fn ansi_color(index: u8, dark: bool) -> Color32 {
    const DARK: [Color32; 16] = [
        Color32::from_rgb(0x6b, 0x72, 0x80),
        Color32::from_rgb(0xf8, 0x71, 0x71),
        Color32::from_rgb(0x4a, 0xde, 0x80),
        Color32::from_rgb(0xfa, 0xcc, 0x15),
        Color32::from_rgb(0x60, 0xa5, 0xfa),
        Color32::from_rgb(0xe8, 0x79, 0xf9),
        Color32::from_rgb(0x22, 0xd3, 0xee),
        Color32::from_rgb(0xe5, 0xe7, 0xeb),
        Color32::from_rgb(0x9c, 0xa3, 0xaf),
        Color32::from_rgb(0xfc, 0xa5, 0xa5),
        Color32::from_rgb(0x86, 0xef, 0xac),
        Color32::from_rgb(0xfd, 0xe6, 0x8a),
        Color32::from_rgb(0x93, 0xc5, 0xfd),
        Color32::from_rgb(0xf0, 0xab, 0xfc),
        Color32::from_rgb(0x67, 0xe8, 0xf9),
        Color32::WHITE,
    ];
    const LIGHT: [Color32; 16] = [
        Color32::from_rgb(0x11, 0x18, 0x27),
        Color32::from_rgb(0xb9, 0x1c, 0x1c),
        Color32::from_rgb(0x15, 0x80, 0x3d),
        Color32::from_rgb(0xa1, 0x62, 0x07),
        Color32::from_rgb(0x1d, 0x4e, 0xd8),
        Color32::from_rgb(0xa2, 0x1c, 0xaf),
        Color32::from_rgb(0x0e, 0x74, 0x90),
        Color32::from_rgb(0x6b, 0x72, 0x80),
        Color32::from_rgb(0x37, 0x41, 0x51),
        Color32::from_rgb(0xdc, 0x26, 0x26),
        Color32::from_rgb(0x16, 0xa3, 0x4a),
        Color32::from_rgb(0xca, 0x8a, 0x04),
        Color32::from_rgb(0x25, 0x63, 0xeb),
        Color32::from_rgb(0xc0, 0x26, 0xd3),
        Color32::from_rgb(0x08, 0x91, 0xb2),
        Color32::from_rgb(0x9c, 0xa3, 0xaf),
    ];
    let table = if dark { &DARK } else { &LIGHT };
    table[(index & 15) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_256_colour_palette_and_24_bit_colours_are_a_terminals() {
        assert_eq!(terminal_color(Color::Indexed(31), true), Color32::from_rgb(0, 135, 175));
        assert_eq!(terminal_color(Color::Indexed(16), false), Color32::from_rgb(0, 0, 0));
        assert_eq!(
            terminal_color(Color::Indexed(231), false),
            Color32::from_rgb(255, 255, 255)
        );
        assert_eq!(terminal_color(Color::Indexed(232), false), Color32::from_gray(8));
        assert_eq!(terminal_color(Color::Indexed(255), false), Color32::from_gray(238));
        assert_eq!(terminal_color(Color::Rgb(0, 0, 32), true), Color32::from_rgb(0, 0, 32));
        // The 16 basic ones follow the theme.
        assert_ne!(
            terminal_color(Color::Indexed(1), true),
            terminal_color(Color::Indexed(1), false)
        );
    }
}
