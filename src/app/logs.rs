//! "View logs": the last lines of the log file, as Livebook shows them.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How much of the end of the log file is shown.
const TAIL_BYTES: u64 = 128 * 1024;

pub struct LogsView {
    path: PathBuf,
    text: String,
}

impl LogsView {
    pub fn open(path: &Path) -> LogsView {
        LogsView {
            path: path.to_path_buf(),
            text: read_tail(path),
        }
    }

    /// Shows the window; false once it is closed.
    pub fn show(&mut self, ctx: &egui::Context) -> bool {
        let mut open = true;
        egui::Window::new("Logs")
            .open(&mut open)
            .default_size([720.0, 420.0])
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(self.path.display().to_string()).monospace().weak());
                    if ui.button("Refresh").clicked() {
                        self.text = read_tail(&self.path);
                    }
                    if ui.button("Copy").clicked() {
                        ui.ctx().copy_text(self.text.clone());
                    }
                });
                ui.separator();
                egui::ScrollArea::both()
                    .stick_to_bottom(true)
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        ui.add(egui::Label::new(egui::RichText::new(&self.text).monospace()).selectable(true));
                    });
            });
        open
    }
}

fn read_tail(path: &Path) -> String {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) => return format!("No log yet ({err})."),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(TAIL_BYTES);
    let mut bytes = Vec::new();
    if file
        .seek(SeekFrom::Start(start))
        .and_then(|_| file.read_to_end(&mut bytes))
        .is_err()
    {
        return "The log could not be read.".into();
    }
    let text = String::from_utf8_lossy(&bytes);
    // Start at a whole line.
    match (start > 0, text.find('\n')) {
        (true, Some(i)) => text[i + 1..].to_string(),
        _ => text.into_owned(),
    }
}
