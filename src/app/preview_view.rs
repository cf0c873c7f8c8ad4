//! A big notebook's first cells, shown while the rest of its file is read:
//! read-only, without outputs, until its session replaces them.

use std::path::Path;

use egui::RichText;
use egui_commonmark::{CommonMarkCache, CommonMarkViewer};

use super::files::Preview;
use super::style;
use crate::notebook::CellKind;

/// The file's name as the session will be called.
pub fn name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

pub fn show(ui: &mut egui::Ui, preview: &Preview, markdown: &mut CommonMarkCache) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.heading(name(&preview.path));
        ui.label(RichText::new(format!("reading {}", style::format_bytes(preview.bytes as u64))).weak());
    });
    ui.label(
        RichText::new(format!(
            "The first {} cells, shown while the rest of the file is read. The notebook opens, with its outputs, when the whole file is read; nothing can be edited until then.",
            preview.cells.len()
        ))
        .weak(),
    );
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("preview")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (i, cell) in preview.cells.iter().enumerate() {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    match cell.kind {
                        CellKind::Markdown => {
                            CommonMarkViewer::new().show(ui, markdown, &cell.source);
                        }
                        CellKind::Code | CellKind::Raw => {
                            let what = if cell.kind == CellKind::Raw { "raw" } else { "cell" };
                            ui.label(RichText::new(format!("{what} {}", i + 1)).monospace().weak());
                            ui.label(RichText::new(&cell.source).monospace());
                        }
                    }
                });
                ui.add_space(6.0);
            }
        });
}

/// A row per file being opened, under the sessions; returns the one clicked.
pub fn opening_rows(ui: &mut egui::Ui, previews: &[Preview], shown: Option<usize>) -> Option<usize> {
    let mut clicked = None;
    for (i, preview) in previews.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.spinner();
            let text = format!("Opening {}…", name(&preview.path));
            if ui.selectable_label(shown == Some(i), text).clicked() {
                clicked = Some(i);
            }
        });
    }
    clicked
}
