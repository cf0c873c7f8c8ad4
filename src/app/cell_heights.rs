//! The height of each cell of a notebook, so that a cell far from the
//! visible part takes its space without being laid out: a long notebook
//! costs what a screenful does, in time and in memory. A cell drawn before
//! keeps the height it had; one never drawn (a notebook just opened) gets an
//! estimate from its text and outputs, replaced by its real height once it
//! comes near the visible part.

use std::collections::HashMap;

use crate::protocol::bundle::{IMAGE_SVG, Rich as Entry};
use crate::session::outputs::{Display, OutputItem};
use crate::session::{Cell, CellId, CellKind, CellResult};

/// Outputs up to this many rows are drawn whole (as `output_view` does);
/// longer ones in a box this tall.
const SHORT_ROWS: usize = 20;
const LONG_OUTPUT_HEIGHT: f32 = 320.0;
/// An image whose size nothing tells (as `rich::sizing::UNKNOWN`).
const UNKNOWN_IMAGE_HEIGHT: f32 = 240.0;

#[derive(Default)]
pub struct CellHeights {
    /// Per cell: the width it was measured (or estimated) at and its
    /// height with the insert bar below it.
    heights: HashMap<CellId, Known>,
}

#[derive(Clone, Copy)]
struct Known {
    width: f32,
    height: f32,
}

impl CellHeights {
    /// The space to leave for `cell`, whose top would be at `top`, if it is
    /// more than a screen away from the visible part; `None`: draw it.
    pub fn off_screen(&mut self, ui: &egui::Ui, top: f32, cell: &Cell, width: f32) -> Option<f32> {
        let visible = ui.clip_rect();
        let margin = visible.height().max(200.0);
        // Near the visible part, whatever its height: drawn.
        if top <= visible.bottom() + margin && top >= visible.top() - margin {
            return None;
        }
        let known = match self.heights.get(&cell.id) {
            Some(known) if (known.width - width).abs() <= 0.5 => *known,
            _ => {
                let known = Known {
                    width,
                    height: estimate(ui, cell, width),
                };
                self.heights.insert(cell.id, known);
                known
            }
        };
        (top > visible.bottom() + margin || top + known.height < visible.top() - margin).then_some(known.height)
    }

    /// The height `cell` took when drawn at `width`.
    pub fn measured(&mut self, cell: CellId, width: f32, height: f32) {
        self.heights.insert(cell, Known { width, height });
    }
}

/// About the height a cell will take when drawn (with its insert bar):
/// close is enough, as it is measured before it is seen.
fn estimate(ui: &egui::Ui, cell: &Cell, width: f32) -> f32 {
    let row = ui.text_style_height(&egui::TextStyle::Monospace);
    let body = ui.text_style_height(&egui::TextStyle::Body);
    let spacing = ui.spacing().item_spacing.y;
    let button = ui.spacing().interact_size.y;
    // The frame's margins, its toolbar, and the insert bar below.
    let mut height = 16.0 + button + spacing + button + spacing;
    let lines = cell.code.lines().count().max(1) as f32;
    match cell.kind {
        CellKind::Code => {
            height += lines * row + 6.0 + spacing;
            for item in cell.output.items() {
                height += match item {
                    OutputItem::Stream(buffer) => match buffer.row_count() {
                        0 => 0.0,
                        rows if rows <= SHORT_ROWS => rows as f32 * (row + spacing) + spacing,
                        _ => button + LONG_OUTPUT_HEIGHT + 2.0 * spacing,
                    },
                    OutputItem::Display(display) => display_height(display, width, row) + spacing,
                };
            }
            height += match &cell.result {
                None => 0.0,
                Some(CellResult::Value(display)) => display_height(display, width, row) + spacing,
                Some(CellResult::Error(error)) => body + (error.formatted.lines().count() as f32 + 1.0) * row,
                Some(_) => 2.0 * body,
            };
        }
        // Rendered Markdown: headings and paragraphs are a little taller.
        CellKind::Markdown => height += lines * body * 1.4,
        CellKind::Raw => height += lines * row + 6.0,
    }
    height
}

fn display_height(display: &Display, width: f32, row: f32) -> f32 {
    let image = |mime: &str| {
        let logical = display.bundle.size_of(mime);
        super::rich::sizing::shown_size(None, logical, width).map_or(UNKNOWN_IMAGE_HEIGHT, |[_, h]| h)
    };
    match display.bundle.richest() {
        Entry::Image { mime, .. } => image(mime),
        Entry::Svg(_) => image(IMAGE_SVG),
        _ => display.text().lines().count().clamp(1, 40) as f32 * row,
    }
}
