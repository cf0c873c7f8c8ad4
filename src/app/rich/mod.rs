//! Rich outputs in the window: what is kept between frames for them
//! (decoded images, parsed tables) and what they ask of the app (a save
//! dialog, a browser). The views themselves are in `display_view`.

pub mod budget;
pub mod decode;
pub mod images;
pub mod json;
pub mod sizing;
pub mod table;

use std::collections::HashMap;
use std::sync::Arc;

use crate::protocol::Bundle;

/// Parsed tables not drawn for this many frames are dropped (parsed again if they come back).
const TABLE_IDLE_FRAMES: u64 = 600;

/// What a rich output asks the app for (file dialogs and tasks live there).
pub enum Request {
    /// "Save image…": the entry `mime` of `bundle`, written as it came.
    SaveImage { bundle: Arc<Bundle>, mime: String },
    /// "Open in browser": the `text/html` entry in a private temporary file.
    OpenHtml { key: u64, bundle: Arc<Bundle> },
}

/// The window's rich-output state, shared by every session's notebook.
#[derive(Default)]
pub struct Rich {
    pub images: images::Images,
    tables: HashMap<u64, table::Shown>,
    frame: u64,
    requests: Vec<Request>,
}

impl Rich {
    /// Before drawing: takes what the decoder finished.
    pub fn begin_frame(&mut self, ctx: &egui::Context) {
        self.frame += 1;
        self.images.drain(ctx, self.frame);
    }

    /// After drawing: frees what was not drawn lately.
    pub fn end_frame(&mut self, ctx: &egui::Context) {
        self.images.evict();
        let frame = self.frame;
        self.tables
            .retain(|_, t| frame.saturating_sub(t.last_drawn) < TABLE_IDLE_FRAMES);
        if self.images.waiting() {
            // Results wake the window themselves; this covers images that
            // wait for a free decoder.
            ctx.request_repaint_after(std::time::Duration::from_millis(30));
        }
    }

    pub fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.requests)
    }

    pub(super) fn request(&mut self, request: Request) {
        self.requests.push(request);
    }

    /// Draws the image entry `mime` of display `key`.
    pub(super) fn image(&mut self, ui: &mut egui::Ui, key: u64, bundle: &Arc<Bundle>, mime: &str, greyed: bool) {
        self.images.show(ui, key, bundle, mime, greyed, &mut self.requests);
    }

    /// The parsed table of display `key`, parsed on first sight.
    pub(super) fn table(&mut self, key: u64, value: &serde_json::Value) -> &mut table::Shown {
        let shown = self.tables.entry(key).or_insert_with(|| table::Shown::new(value));
        shown.last_drawn = self.frame;
        shown
    }
}
