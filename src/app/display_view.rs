//! A rich output (a MIME bundle), drawn as its richest entry the window can
//! show: a table, an image, Markdown, a JSON tree, LaTeX or HTML as text
//! (HTML with a way out to the browser), or plain text.

use egui::RichText;
use egui_commonmark::{CommonMarkCache, CommonMarkViewer};

use super::rich::{self, Request, Rich};
use crate::protocol::bundle::Rich as Entry;
use crate::session::outputs::Display;

/// Longest text drawn for one plain value: a huge `repr` stays responsive.
const MAX_PLAIN_CHARS: usize = 20_000;
/// Longest Markdown rendered (it is parsed again every frame it is drawn).
const MAX_MARKDOWN_CHARS: usize = 100_000;

/// What drawing a display needs from the window.
pub struct Cx<'a> {
    pub rich: &'a mut Rich,
    pub markdown: &'a mut CommonMarkCache,
}

pub fn show(ui: &mut egui::Ui, display: &Display, greyed: bool, cx: &mut Cx<'_>) {
    ui.push_id(("display", display.key), |ui| match display.bundle.richest() {
        Entry::Table(value) => {
            let shown = cx.rich.table(display.key, value);
            if !rich::table::show(ui, display.key, shown, greyed) {
                plain(ui, &display.text(), greyed);
            }
        }
        Entry::Image { mime, .. } => cx.rich.image(ui, display.key, &display.bundle, mime, greyed),
        Entry::Svg(_) => cx.rich.image(
            ui,
            display.key,
            &display.bundle,
            crate::protocol::bundle::IMAGE_SVG,
            greyed,
        ),
        Entry::Markdown(text) => {
            CommonMarkViewer::new().show(ui, cx.markdown, bounded(text, MAX_MARKDOWN_CHARS));
        }
        Entry::Json(value) => rich::json::show(ui, display.key, value, greyed),
        Entry::Latex(source) => plain(ui, source, greyed),
        Entry::Html(_) => {
            plain(ui, &display.text(), greyed);
            if ui
                .small_button("Open in browser")
                .on_hover_text("Shows this HTML output in your web browser (from a private temporary file)")
                .clicked()
            {
                cx.rich.request(Request::OpenHtml {
                    key: display.key,
                    bundle: display.bundle.clone(),
                });
            }
        }
        // nbformat's list-of-lines form too.
        Entry::Plain(_) => plain(ui, &display.text(), greyed),
    });
}

/// At most `max` characters of `text` (cut at a character boundary).
fn bounded(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn plain(ui: &mut egui::Ui, text: &str, greyed: bool) {
    let color = if greyed {
        ui.visuals().weak_text_color()
    } else {
        ui.visuals().strong_text_color()
    };
    let shown = bounded(text, MAX_PLAIN_CHARS);
    ui.add(egui::Label::new(RichText::new(shown).monospace().color(color)).selectable(true));
}
