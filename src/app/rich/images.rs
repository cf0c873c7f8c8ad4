//! Images on screen: one entry per display key with its texture, freed when
//! not drawn for a while or over the budget (see `budget`) and decoded again
//! when it comes back. Decoding runs on the `decode` threads; at most a few
//! jobs are in flight, asked for by the images on or near the screen, so a
//! fast scroll through hundreds of images does not queue them all.

use std::collections::HashMap;
use std::sync::Arc;

use egui::{Color32, RichText};
use serde_json::Value;

use super::Request;
use super::budget::{self, Budget, Held};
use super::decode::{self, Decoder, Job, Kind, Purpose};
use super::sizing;
use crate::protocol::Bundle;

/// Decode jobs sent and not yet back.
const MAX_IN_FLIGHT: usize = 4;
/// Entries (sizes, errors) of displays not drawn for this many frames are forgotten.
const FORGET_FRAMES: u64 = 20_000;

struct Texture {
    handle: egui::TextureHandle,
    bytes: usize,
    /// The width it was rasterised for (SVG), in pixels.
    pixels: [usize; 2],
}

#[derive(Default)]
struct Entry {
    /// The image's own size (pixels; an SVG's user units), once known.
    natural: Option<[f32; 2]>,
    texture: Option<Texture>,
    pending: bool,
    error: Option<String>,
    last_drawn: u64,
    /// A copy to the clipboard waits for its decode.
    copying: bool,
}

#[derive(Default)]
pub struct Images {
    entries: HashMap<u64, Entry>,
    decoder: Option<Decoder>,
    in_flight: usize,
    budget: Budget,
    frame: u64,
    /// An image on screen waits for a free decoder: draw again.
    waiting: bool,
}

impl Images {
    /// Takes the decodes that finished: textures for the screen, pixels for the clipboard.
    pub fn drain(&mut self, ctx: &egui::Context, frame: u64) {
        self.frame = frame;
        self.waiting = false;
        let Some(decoder) = &self.decoder else { return };
        while let Some(done) = decoder.try_recv() {
            self.in_flight = self.in_flight.saturating_sub(1);
            let Some(entry) = self.entries.get_mut(&done.key) else {
                continue;
            };
            match (done.purpose, done.result) {
                (Purpose::Show, Ok(decoded)) => {
                    entry.pending = false;
                    entry.natural = Some(decoded.natural);
                    let pixels = decoded.image.size;
                    let handle = ctx.load_texture(
                        format!("display-{}", done.key),
                        decoded.image,
                        egui::TextureOptions::LINEAR,
                    );
                    entry.texture = Some(Texture {
                        handle,
                        bytes: pixels[0] * pixels[1] * 4,
                        pixels,
                    });
                }
                (Purpose::Copy, Ok(decoded)) => {
                    entry.copying = false;
                    ctx.copy_image(decoded.image);
                }
                (purpose, Err(error)) => {
                    entry.pending &= purpose != Purpose::Show;
                    entry.copying = false;
                    entry.error = Some(error);
                }
            }
        }
    }

    /// Frees textures not drawn lately or over the budget; forgets long-gone displays.
    pub fn evict(&mut self) {
        let held: Vec<Held> = self
            .entries
            .iter()
            .filter_map(|(key, e)| {
                e.texture.as_ref().map(|t| Held {
                    key: *key,
                    last_drawn: e.last_drawn,
                    bytes: t.bytes,
                })
            })
            .collect();
        for key in budget::to_free(&held, self.frame, self.budget) {
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.texture = None;
            }
        }
        let frame = self.frame;
        self.entries
            .retain(|_, e| e.pending || frame.saturating_sub(e.last_drawn) < FORGET_FRAMES);
    }

    pub fn waiting(&self) -> bool {
        self.waiting || self.in_flight > 0
    }

    /// Textures held and their bytes.
    pub fn held(&self) -> (usize, usize) {
        self.entries
            .values()
            .filter_map(|e| e.texture.as_ref())
            .fold((0, 0), |(n, b), t| (n + 1, b + t.bytes))
    }

    /// Decodes in flight.
    pub fn decoding(&self) -> usize {
        self.in_flight
    }

    fn ask(
        &mut self,
        ctx: &egui::Context,
        key: u64,
        bundle: &Arc<Bundle>,
        mime: &str,
        kind: Kind,
        purpose: Purpose,
    ) -> bool {
        if self.in_flight >= MAX_IN_FLIGHT {
            self.waiting = true;
            return false;
        }
        let decoder = self.decoder.get_or_insert_with(|| {
            let ctx = ctx.clone();
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
            Decoder::start(threads, Arc::new(move || ctx.request_repaint()))
        });
        let job = Job {
            key,
            bundle: bundle.clone(),
            mime: mime.to_string(),
            kind,
            purpose,
            max_side: ctx.input(|i| i.max_texture_side).min(u32::MAX as usize) as u32,
        };
        if decoder.send(job) {
            self.in_flight += 1;
            true
        } else {
            false
        }
    }

    /// Draws the image of display `key` (`mime` names its entry), scaled to
    /// the width there is; a placeholder of its size while it decodes.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        key: u64,
        bundle: &Arc<Bundle>,
        mime: &str,
        greyed: bool,
        requests: &mut Vec<Request>,
    ) {
        let svg = mime == crate::protocol::bundle::IMAGE_SVG;
        let frame = self.frame;
        let entry = self.entries.entry(key).or_default();
        if entry.natural.is_none() && !svg && entry.error.is_none() && !entry.pending && entry.texture.is_none() {
            // Cheap: a few kilobytes of the header, once per display.
            if let Some([w, h]) = bundle
                .data
                .get(mime)
                .and_then(Value::as_str)
                .and_then(decode::header_size)
            {
                entry.natural = Some([w as f32, h as f32]);
                if let Err(error) = sizing::check_dimensions(w, h) {
                    entry.error = Some(error);
                }
            }
        }
        if let Some(error) = &entry.error {
            entry.last_drawn = frame;
            ui.label(RichText::new(format!("Cannot show this {mime}: {error}")).color(super::super::style::ERROR_TEXT));
            // What the image stood for is still worth reading.
            if let Some(text) = bundle.text_entry(crate::protocol::bundle::TEXT_PLAIN) {
                ui.label(RichText::new(text.chars().take(2_000).collect::<String>()).monospace());
            }
            return;
        }
        let max_width = ui.available_width();
        let logical = bundle.size_of(mime);
        let size = sizing::shown_size(entry.natural, logical, max_width).unwrap_or_else(|| {
            let [w, h] = sizing::UNKNOWN;
            [w.min(max_width), h]
        });
        let (rect, response) = ui.allocate_exact_size(egui::vec2(size[0], size[1]), egui::Sense::click());
        // Decoded a screen ahead either way, so that a scroll finds it ready.
        let clip = ui.clip_rect();
        let near = clip.expand2(egui::vec2(0.0, clip.height())).intersects(rect);
        let ppp = ui.ctx().pixels_per_point();
        let max_side = ui.ctx().input(|i| i.max_texture_side).min(u32::MAX as usize) as u32;
        let wanted = sizing::pixel_size(size, ppp, max_side);
        let entry = self.entries.get_mut(&key).expect("inserted above");
        let kind = if svg {
            Kind::Svg {
                max_width,
                pixels_per_point: ppp,
            }
        } else {
            // Until the header gave its size, the shown size is a guess.
            Kind::Raster {
                fit: entry.natural.map(|_| wanted),
            }
        };
        if near {
            entry.last_drawn = frame;
            // An SVG is drawn again at any other width; a raster scaled down
            // is decoded again when shown larger (a wider window, a zoom).
            let stale = entry.texture.as_ref().is_some_and(|t| {
                let wanted = wanted[0] as usize;
                if svg {
                    t.pixels[0].abs_diff(wanted) > 1
                } else {
                    let natural = entry.natural.map_or(0, |[w, _]| w as usize);
                    wanted > t.pixels[0] + 1 && t.pixels[0] < natural
                }
            });
            if (entry.texture.is_none() || stale) && !entry.pending {
                let ctx = ui.ctx().clone();
                let sent = self.ask(&ctx, key, bundle, mime, kind, Purpose::Show);
                if let Some(entry) = self.entries.get_mut(&key) {
                    entry.pending = sent;
                }
            }
        }
        let entry = self.entries.get(&key).expect("inserted above");
        let label = format!("{mime} image");
        match &entry.texture {
            Some(texture) => {
                if ui.is_rect_visible(rect) {
                    let tint = if greyed {
                        Color32::from_gray(150)
                    } else {
                        Color32::WHITE
                    };
                    let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
                    ui.painter().image(texture.handle.id(), rect, uv, tint);
                }
                response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
            }
            None => {
                if ui.is_rect_visible(rect) {
                    let visuals = ui.visuals();
                    ui.painter().rect_filled(rect, 2.0, visuals.faint_bg_color);
                    ui.painter().text(
                        rect.center(),
                        egui::Align2::CENTER_CENTER,
                        "Decoding image…",
                        egui::TextStyle::Body.resolve(ui.style()),
                        visuals.weak_text_color(),
                    );
                }
                response
                    .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, format!("Decoding {mime}…")));
            }
        }
        let copying = entry.copying;
        let mut copy = false;
        response.context_menu(|ui| {
            if ui.add_enabled(!copying, egui::Button::new("Copy image")).clicked() {
                copy = true;
                ui.close();
            }
            if ui.button("Save image…").clicked() {
                requests.push(Request::SaveImage {
                    bundle: bundle.clone(),
                    mime: mime.to_string(),
                });
                ui.close();
            }
        });
        if copy {
            let ctx = ui.ctx().clone();
            // The clipboard gets every pixel the image has.
            let kind = match kind {
                Kind::Raster { .. } => Kind::Raster { fit: None },
                svg => svg,
            };
            if self.ask(&ctx, key, bundle, mime, kind, Purpose::Copy)
                && let Some(entry) = self.entries.get_mut(&key)
            {
                entry.copying = true;
            }
        }
    }
}
