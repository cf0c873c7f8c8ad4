//! Rich outputs leaving the window: an image saved where the user picks
//! (written atomically, as notebooks are), and HTML handed to the system's
//! browser through a private temporary file. The disk and the browser are
//! touched only in background tasks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::super::RunyardApp;
use super::super::rich::{Request, decode};
use super::{Ask, AskKind, Done, Pick};
use crate::protocol::Bundle;
use crate::protocol::bundle::IMAGE_SVG;

/// Temporary HTML files older than this are removed when another is written.
const HTML_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// The file extension for an image type.
fn extension(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        IMAGE_SVG => "svg",
        _ => "png",
    }
}

/// The bytes of an image entry as a file holds them: base64 decoded, or SVG text.
fn image_bytes(bundle: &Bundle, mime: &str) -> Result<Vec<u8>, String> {
    if mime == IMAGE_SVG {
        return bundle
            .text_entry(mime)
            .map(|s| s.into_owned().into_bytes())
            .ok_or_else(|| "it has no data".into());
    }
    let data = bundle.data.get(mime).and_then(|v| v.as_str()).ok_or("it has no data")?;
    decode::decode_base64(data)
}

/// Where HTML outputs are written for the browser: a folder of this user's
/// in the temporary directory, 0700 (refused if someone else made it).
fn html_dir() -> PathBuf {
    let uid = nix::unistd::geteuid().as_raw();
    std::env::temp_dir().join(format!("runyard-{uid}")).join("html")
}

/// Writes `html` there (0600) and returns its path; old ones are removed.
pub(in crate::app) fn write_html(dir: &Path, key: u64, html: &str) -> std::io::Result<PathBuf> {
    crate::fsutil::private_dir(dir.parent().unwrap_or(dir))?;
    crate::fsutil::private_dir(dir)?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > HTML_KEPT);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let path = dir.join(format!("output-{}-{key}.html", std::process::id()));
    crate::notebook::atomic::write_private(&path, html.as_bytes())?;
    Ok(path)
}

impl RunyardApp {
    /// Takes what rich outputs asked for in this frame.
    pub(in crate::app) fn rich_requests(&mut self) {
        for request in self.rich.take_requests() {
            match request {
                Request::SaveImage { bundle, mime } => {
                    let name = format!("image.{}", extension(&mime));
                    let ask = Ask::new(AskKind::SaveFile, "Save image")
                        .file_name(name)
                        .filter("Image", &[extension(&mime)]);
                    self.pick(Pick::SaveImage { bundle, mime }, ask);
                }
                Request::OpenHtml { key, bundle } => self.open_html(key, bundle),
            }
        }
    }

    pub(in crate::app) fn write_image(&mut self, bundle: Arc<Bundle>, mime: String, path: PathBuf) {
        self.tasks.spawn("save-image", move || {
            let error = image_bytes(&bundle, &mime)
                .map_err(|why| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("the image cannot be saved: {why}"),
                    )
                })
                .and_then(|bytes| crate::notebook::atomic::write_atomically(&path, &bytes))
                .err();
            Done::OutputSaved { path, error }
        });
    }

    /// Writes the HTML entry to a private file and opens it with `xdg-open`
    /// (Runyard is Linux-only; xdg-open picks the user's browser as the
    /// desktop does, and needs no new dependency). Detached: xdg-open may
    /// wait for the browser.
    fn open_html(&mut self, key: u64, bundle: Arc<Bundle>) {
        self.tasks.spawn_detached("open-html", move || {
            let Some(html) = bundle.text_entry(crate::protocol::bundle::TEXT_HTML) else {
                return Done::BrowserOpened(Err("the output has no HTML".into()));
            };
            let result = write_html(&html_dir(), key, &html)
                .map_err(|err| format!("cannot write the HTML to a temporary file: {err}"))
                .and_then(|path| {
                    std::process::Command::new("xdg-open")
                        .arg(&path)
                        .stdin(std::process::Stdio::null())
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .status()
                        .map_err(|err| format!("cannot run xdg-open to open {}: {err}", path.display()))
                        .and_then(|status| {
                            if status.success() {
                                Ok(())
                            } else {
                                Err(format!("xdg-open could not open {} ({status})", path.display()))
                            }
                        })
                });
            Done::BrowserOpened(result)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn html_is_written_private_and_images_as_their_bytes() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("runyard-1/html");
        let path = write_html(&dir, 7, "<b>x</b>").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<b>x</b>");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(dir.parent().unwrap()), 0o700);

        let mut bundle = Bundle::plain("img");
        bundle.data.insert("image/png".into(), "aGVsbG8=".into());
        bundle.data.insert(IMAGE_SVG.into(), "<svg/>".into());
        assert_eq!(image_bytes(&bundle, "image/png").unwrap(), b"hello");
        assert_eq!(image_bytes(&bundle, IMAGE_SVG).unwrap(), b"<svg/>");
        assert!(image_bytes(&bundle, "image/gif").is_err());
        assert_eq!(extension("image/jpeg"), "jpg");
    }
}
