//! The image decoder: a few threads fed by a channel. Base64 decoding,
//! image decoding and SVG rasterising happen here, never on the UI thread;
//! results come back through a channel the window drains each frame, and
//! the egui context's repaint wakes it.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use super::sizing::{self, MAX_PIXELS, MAX_SIDE};
use crate::protocol::Bundle;

/// How long the decoders are idle before the memory they freed is given back.
const GIVE_BACK_AFTER: Duration = Duration::from_millis(500);

/// Whether the decoders are idle: jobs being decoded, and jobs taken in all.
#[derive(Default)]
struct Idle {
    busy: AtomicUsize,
    taken: AtomicU64,
}

/// What a decode is for: the texture on screen, or the clipboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Show,
    Copy,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// PNG, JPEG, GIF or WebP, base64; scaled down to fit `fit` pixels when
    /// larger (the size it is shown at: a texture no larger than drawn),
    /// kept whole with `None` (the clipboard).
    Raster { fit: Option<[u32; 2]> },
    /// SVG text, rasterised at the size it is shown (points × pixels per point).
    Svg { max_width: f32, pixels_per_point: f32 },
}

pub struct Job {
    pub key: u64,
    pub bundle: Arc<Bundle>,
    pub mime: String,
    pub kind: Kind,
    pub purpose: Purpose,
    /// The renderer's largest texture side: larger images are scaled down.
    pub max_side: u32,
}

pub struct Decoded {
    pub image: egui::ColorImage,
    /// The image's own size: pixels, or an SVG's user units.
    pub natural: [f32; 2],
}

pub struct Done {
    pub key: u64,
    pub purpose: Purpose,
    pub result: Result<Decoded, String>,
}

pub struct Decoder {
    jobs: Sender<Job>,
    results: Receiver<Done>,
}

impl Decoder {
    /// Starts `threads` decoder threads; they end when the decoder is dropped.
    pub fn start(threads: usize, waker: Arc<dyn Fn() + Send + Sync>) -> Decoder {
        let (jobs, job_rx) = channel::<Job>();
        let (result_tx, results) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let idle = Arc::new(Idle::default());
        for n in 0..threads.max(1) {
            let (job_rx, result_tx, waker) = (job_rx.clone(), result_tx.clone(), waker.clone());
            let idle = idle.clone();
            let started = std::thread::Builder::new()
                .name(format!("runyard-decode-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        idle.busy.fetch_add(1, Ordering::SeqCst);
                        idle.taken.fetch_add(1, Ordering::SeqCst);
                        let done = run(job);
                        let sent = result_tx.send(done).is_ok();
                        let last_busy = idle.busy.fetch_sub(1, Ordering::SeqCst) == 1;
                        if !sent {
                            // The window dropped its decoder.
                            return;
                        }
                        waker();
                        if last_busy {
                            // The last one busy: if no job comes for a
                            // moment, the images' bytes and the decoders'
                            // buffers go back to the system. Not after each
                            // image: a scroll would fault the pages in again.
                            let seen = idle.taken.load(Ordering::SeqCst);
                            std::thread::sleep(GIVE_BACK_AFTER);
                            if idle.taken.load(Ordering::SeqCst) == seen {
                                crate::app::memory::give_back_freed_memory();
                            }
                        }
                    }
                });
            if let Err(err) = started {
                tracing::error!(%err, "no image decoder thread");
            }
        }
        Decoder { jobs, results }
    }

    pub fn send(&self, job: Job) -> bool {
        self.jobs.send(job).is_ok()
    }

    pub fn try_recv(&self) -> Option<Done> {
        self.results.try_recv().ok()
    }
}

/// Decodes one job. A decoder that panics on hostile data costs that image
/// only: the thread lives on.
fn run(job: Job) -> Done {
    let result = catch_unwind(AssertUnwindSafe(|| match job.kind {
        Kind::Raster { fit } => raster(&job, fit),
        Kind::Svg {
            max_width,
            pixels_per_point,
        } => svg(&job, max_width, pixels_per_point),
    }))
    .unwrap_or_else(|_| Err("the decoder failed on this data".to_string()));
    Done {
        key: job.key,
        purpose: job.purpose,
        result,
    }
}

/// Standard base64, padding optional, line breaks and spaces ignored (as
/// notebook files wrap it).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    engine()
        .decode(&clean)
        .map_err(|err| format!("its base64 data is broken ({err})"))
}

fn engine() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// The pixel size in an image's header, from the first bytes of its base64
/// (cheap enough for the UI thread: a few kilobytes at most); `None` when
/// the header is further in (a JPEG with a large EXIF block) or broken.
pub fn header_size(base64: &str) -> Option<[u32; 2]> {
    let prefix: Vec<u8> = base64.bytes().filter(|b| !b.is_ascii_whitespace()).take(4096).collect();
    let whole = prefix.len() / 4 * 4;
    let bytes = engine().decode(&prefix[..whole]).ok()?;
    // A PNG's first chunk is its IHDR: read it directly, as image's PNG
    // reader wants the data up to the first IDAT chunk.
    if let Some(ihdr) = bytes.strip_prefix(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR")
        && ihdr.len() >= 8
    {
        let word = |at: usize| u32::from_be_bytes([ihdr[at], ihdr[at + 1], ihdr[at + 2], ihdr[at + 3]]);
        return Some([word(0), word(4)]);
    }
    let (w, h) = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()?;
    Some([w, h])
}

fn reader<'a>(bytes: &'a [u8], mime: &str) -> Result<image::ImageReader<Cursor<&'a [u8]>>, String> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| err.to_string())?;
    if reader.format().is_none() {
        match image::ImageFormat::from_mime_type(mime) {
            Some(format) => reader.set_format(format),
            None => return Err("its format is not known".into()),
        }
    }
    Ok(reader)
}

fn raster(job: &Job, fit: Option<[u32; 2]>) -> Result<Decoded, String> {
    let data = job
        .bundle
        .data
        .get(&job.mime)
        .and_then(Value::as_str)
        .ok_or("it has no data")?;
    let bytes = decode_base64(data)?;
    let (w, h) = reader(&bytes, &job.mime)?
        .into_dimensions()
        .map_err(|err| format!("it cannot be read ({err})"))?;
    sizing::check_dimensions(w, h)?;
    let mut reader = reader(&bytes, &job.mime)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // The pixels as RGBA, and room for the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut image = reader.decode().map_err(|err| format!("it cannot be decoded ({err})"))?;
    let [mut nw, mut nh] = sizing::pixel_size([w as f32, h as f32], 1.0, job.max_side);
    if let Some([fw, fh]) = fit
        && (fw < nw || fh < nh)
    {
        // A 2× plot shown at 1× holds a quarter of the pixels; a texture
        // scaled down here also looks better than one minified by the GPU.
        let scale = (fw as f32 / nw as f32).min(fh as f32 / nh as f32);
        nw = ((nw as f32 * scale).round() as u32).max(1);
        nh = ((nh as f32 * scale).round() as u32).max(1);
    }
    if [nw, nh] != [w, h] {
        image = image.resize_exact(nw, nh, image::imageops::FilterType::Triangle);
    }
    let rgba = image.into_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Ok(Decoded {
        image: egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw()),
        natural: [w as f32, h as f32],
    })
}

fn svg(job: &Job, max_width: f32, pixels_per_point: f32) -> Result<Decoded, String> {
    let text = job.bundle.text_entry(&job.mime).ok_or("it has no data")?;
    let tree = resvg::usvg::Tree::from_str(&text, &resvg::usvg::Options::default())
        .map_err(|err| format!("it cannot be read ({err})"))?;
    let natural = [tree.size().width(), tree.size().height()];
    let shown = sizing::shown_size(Some(natural), job.bundle.size_of(&job.mime), max_width).ok_or("it is empty")?;
    let [pw, ph] = sizing::pixel_size(shown, pixels_per_point, job.max_side);
    sizing::check_dimensions(pw, ph)?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(pw, ph).ok_or("it is too large")?;
    let transform = resvg::tiny_skia::Transform::from_scale(pw as f32 / natural[0], ph as f32 / natural[1]);
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    Ok(Decoded {
        image: egui::ColorImage::from_rgba_premultiplied([pw as usize, ph as usize], pixmap.data()),
        natural,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn png(w: u32, h: u32) -> String {
        let image = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 10, 10, 255]));
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .unwrap();
        STANDARD.encode(bytes)
    }

    fn job(mime: &str, data: &str, kind: Kind) -> Job {
        let mut bundle = Bundle::plain("img");
        bundle.data.insert(mime.into(), Value::String(data.into()));
        Job {
            key: 1,
            bundle: Arc::new(bundle),
            mime: mime.into(),
            kind,
            purpose: Purpose::Show,
            max_side: 2048,
        }
    }

    #[test]
    fn a_png_decodes_and_its_header_tells_its_size_early() {
        let data = png(30, 20);
        assert_eq!(header_size(&data), Some([30, 20]));
        // Wrapped as notebook files wrap base64.
        let wrapped: String = data
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        let done = run(job("image/png", &wrapped, Kind::Raster { fit: None }));
        let decoded = done.result.unwrap();
        assert_eq!(decoded.image.size, [30, 20]);
        assert_eq!(decoded.natural, [30.0, 20.0]);
    }

    #[test]
    fn a_raster_larger_than_shown_is_scaled_down_to_fit_and_a_smaller_one_kept() {
        let data = png(1280, 960);
        let fitted = run(job("image/png", &data, Kind::Raster { fit: Some([640, 480]) }));
        let decoded = fitted.result.unwrap();
        assert_eq!(decoded.image.size, [640, 480]);
        assert_eq!(decoded.natural, [1280.0, 960.0], "its own size is still known");
        // The aspect ratio is the image's, whatever box it must fit in.
        let narrow = run(job("image/png", &data, Kind::Raster { fit: Some([320, 900]) }));
        assert_eq!(narrow.result.unwrap().image.size, [320, 240]);
        // Never scaled up.
        let small = run(job("image/png", &png(30, 20), Kind::Raster { fit: Some([640, 480]) }));
        assert_eq!(small.result.unwrap().image.size, [30, 20]);
        let whole = run(job("image/png", &data, Kind::Raster { fit: None }));
        assert_eq!(whole.result.unwrap().image.size, [1280, 960]);
    }

    #[test]
    fn broken_data_gives_a_message_not_a_panic() {
        let err = run(job("image/png", "not base64!!", Kind::Raster { fit: None }))
            .result
            .err()
            .unwrap();
        assert!(err.contains("base64"), "{err}");
        let err = run(job(
            "image/png",
            &STANDARD.encode(b"\x89PNG\r\n\x1a\nxx"),
            Kind::Raster { fit: None },
        ))
        .result
        .err()
        .unwrap();
        assert!(err.contains("cannot"), "{err}");
        assert_eq!(header_size("@@@@"), None);
    }

    #[test]
    fn a_huge_header_is_refused_before_any_allocation() {
        // A PNG header claiming 100000×100000 pixels, and nothing after it.
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        let ihdr = [
            &100_000u32.to_be_bytes()[..],
            &100_000u32.to_be_bytes()[..],
            &[8, 6, 0, 0, 0],
        ]
        .concat();
        let mut crc_input = b"IHDR".to_vec();
        crc_input.extend(&ihdr);
        bytes.extend(&ihdr);
        bytes.extend(crc32(&crc_input).to_be_bytes());
        for chunk in [&b"IDAT"[..], &b"IEND"[..]] {
            bytes.extend(0u32.to_be_bytes());
            bytes.extend(chunk);
            bytes.extend(crc32(chunk).to_be_bytes());
        }
        let data = STANDARD.encode(&bytes);
        assert_eq!(header_size(&data), Some([100_000, 100_000]));
        let err = run(job("image/png", &data, Kind::Raster { fit: None }))
            .result
            .err()
            .unwrap();
        assert!(err.contains("100000×100000"), "{err}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn an_svg_is_rasterised_at_the_shown_size_times_the_scale() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect width="200" height="100" fill="red"/></svg>"#;
        let kind = Kind::Svg {
            max_width: 100.0,
            pixels_per_point: 2.0,
        };
        let decoded = run(job("image/svg+xml", svg, kind)).result.unwrap();
        assert_eq!(decoded.natural, [200.0, 100.0]);
        assert_eq!(decoded.image.size, [200, 100], "shown 100×50 points at 2×");
        let err = run(job("image/svg+xml", "<svg", kind)).result.err().unwrap();
        assert!(err.contains("cannot be read"), "{err}");
    }
}
