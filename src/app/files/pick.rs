//! Choosing a path: a native file dialog (rfd's async dialog, driven by a
//! thread of its own), or a path field in the window where no dialog can
//! open (no XDG desktop portal and no zenity). One question at a time; the
//! answer comes back as [`Done::Picked`] and goes where it was asked for.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::super::{RunyardApp, style};
use super::tasks::Done;
use crate::manager::SessionId;
use crate::notebook::Format;
use crate::session::CellId;

/// A dialog that answers "nothing" faster than this did not open at all:
/// no person cancels a dialog this fast.
const FAILED_AT_ONCE: Duration = Duration::from_millis(250);

/// What a path is asked for.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::app) enum Pick {
    Open,
    SaveAs {
        id: SessionId,
        native: Format,
    },
    SaveOutput {
        id: SessionId,
        cell: CellId,
    },
    SaveImage {
        bundle: std::sync::Arc<crate::protocol::Bundle>,
        mime: String,
    },
    Interpreter,
    WorkingDir,
    SshConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::app) enum AskKind {
    OpenFiles,
    OpenFile,
    Folder,
    SaveFile,
}

/// The question, as a dialog or the path field shows it.
#[derive(Debug, Clone)]
pub(in crate::app) struct Ask {
    pub kind: AskKind,
    pub title: String,
    pub file_name: Option<String>,
    /// Name and extensions; the first is the dialog's choice.
    pub filters: Vec<(String, Vec<String>)>,
}

impl Ask {
    pub(in crate::app) fn new(kind: AskKind, title: &str) -> Ask {
        Ask {
            kind,
            title: title.to_string(),
            file_name: None,
            filters: Vec::new(),
        }
    }

    pub(in crate::app) fn file_name(mut self, name: String) -> Ask {
        self.file_name = Some(name);
        self
    }

    pub(in crate::app) fn filter(mut self, name: &str, extensions: &[&str]) -> Ask {
        self.filters
            .push((name.to_string(), extensions.iter().map(|e| e.to_string()).collect()));
        self
    }

    /// Shows the native dialog and waits for it (on a dialog thread).
    async fn run(self) -> Option<Vec<PathBuf>> {
        let mut dialog = rfd::AsyncFileDialog::new().set_title(&self.title);
        if let Some(name) = &self.file_name {
            dialog = dialog.set_file_name(name);
        }
        for (name, extensions) in &self.filters {
            dialog = dialog.add_filter(name, extensions);
        }
        let one = |handle: Option<rfd::FileHandle>| handle.map(|h| vec![h.path().to_path_buf()]);
        match self.kind {
            AskKind::OpenFiles => dialog
                .pick_files()
                .await
                .map(|all| all.iter().map(|h| h.path().to_path_buf()).collect()),
            AskKind::OpenFile => one(dialog.pick_file().await),
            AskKind::Folder => one(dialog.pick_folder().await),
            AskKind::SaveFile => one(dialog.save_file().await),
        }
    }
}

/// A dialog's answer: `paths` is `None` when it was cancelled or never opened.
pub(in crate::app) struct Picked {
    pick: Pick,
    ask: Ask,
    paths: Option<Vec<PathBuf>>,
    failed_at_once: bool,
}

/// Whether a native file dialog can open here.
#[derive(Debug, Default, Clone, PartialEq)]
pub(in crate::app) enum Dialogs {
    /// Not known yet (the check runs at start): a dialog is tried.
    #[default]
    Unknown,
    Available,
    /// Why not: every question is asked with the path field instead.
    Missing(String),
}

/// The path field shown instead of a dialog.
pub(in crate::app) struct PathPrompt {
    pick: Pick,
    ask: Ask,
    text: String,
    why: String,
}

/// The questions asked and waiting.
#[derive(Default)]
pub(in crate::app) struct Picking {
    pub dialogs: Dialogs,
    /// A native dialog is open for this.
    open: Option<Pick>,
    prompt: Option<PathPrompt>,
    queue: VecDeque<(Pick, Ask)>,
}

impl Picking {
    /// A question for this is open or waiting.
    pub(in crate::app) fn asking(&self, matches: impl Fn(&Pick) -> bool) -> bool {
        self.open.as_ref().is_some_and(&matches)
            || self.prompt.as_ref().is_some_and(|p| matches(&p.pick))
            || self.queue.iter().any(|(pick, _)| matches(pick))
    }

    fn busy(&self) -> bool {
        self.open.is_some() || self.prompt.is_some()
    }
}

/// A typed path: `~` is the home folder, and a relative path is taken from it.
fn typed_path(text: &str, home: Option<&Path>) -> PathBuf {
    let text = text.trim();
    let path = match (text.strip_prefix("~"), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => home.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(text),
    };
    match home {
        Some(home) if path.is_relative() => home.join(path),
        _ => path,
    }
}

fn home() -> Option<PathBuf> {
    std::env::home_dir()
}

impl RunyardApp {
    /// Asks for a path: a dialog, or the path field where none can open.
    pub(in crate::app) fn pick(&mut self, pick: Pick, ask: Ask) {
        self.files.picking.queue.push_back((pick, ask));
        self.next_pick();
    }

    fn next_pick(&mut self) {
        if self.files.picking.busy() {
            return;
        }
        let Some((pick, ask)) = self.files.picking.queue.pop_front() else {
            return;
        };
        if let Dialogs::Missing(why) = &self.files.picking.dialogs {
            let why = why.clone();
            self.prompt_path(pick, ask, why);
            return;
        }
        self.files.picking.open = Some(pick.clone());
        self.tasks.spawn_detached("dialog", move || {
            let started = Instant::now();
            let paths = pollster::block_on(ask.clone().run());
            let failed_at_once = paths.is_none() && started.elapsed() < FAILED_AT_ONCE;
            Done::Picked(Picked {
                pick,
                ask,
                paths,
                failed_at_once,
            })
        });
    }

    fn prompt_path(&mut self, pick: Pick, ask: Ask, why: String) {
        let home = home();
        let text = match (ask.kind, &home) {
            (AskKind::SaveFile, Some(home)) => home
                .join(ask.file_name.clone().unwrap_or_default())
                .display()
                .to_string(),
            (AskKind::OpenFiles, Some(home)) => format!("{}/", home.display()),
            _ => String::new(),
        };
        self.files.picking.prompt = Some(PathPrompt { pick, ask, text, why });
    }

    pub(in crate::app) fn picked(&mut self, picked: Picked) {
        self.files.picking.open = None;
        if picked.failed_at_once {
            let why = "No file dialog opened (it needs an XDG desktop portal or zenity).".to_string();
            tracing::warn!("{why}");
            self.files.picking.dialogs = Dialogs::Missing(why.clone());
            self.prompt_path(picked.pick, picked.ask, why);
            return;
        }
        self.answer(picked.pick, picked.paths);
        self.next_pick();
    }

    pub(in crate::app) fn dialogs_probed(&mut self, result: Result<(), String>) {
        if self.files.picking.dialogs != Dialogs::Unknown {
            return;
        }
        self.files.picking.dialogs = match result {
            Ok(()) => Dialogs::Available,
            Err(why) => {
                tracing::warn!("{why}");
                Dialogs::Missing(why)
            }
        };
    }

    /// Takes a chosen path where it was asked for; `None` is a cancel.
    fn answer(&mut self, pick: Pick, paths: Option<Vec<PathBuf>>) {
        let Some(paths) = paths.filter(|p| !p.is_empty()) else {
            return;
        };
        match pick {
            Pick::Open => self.open_files(&paths),
            Pick::SaveAs { id, native } => {
                let path = &paths[0];
                let path = if Format::from_path(path).is_none() {
                    path.with_extension(native.extension())
                } else {
                    path.clone()
                };
                self.save_to(id, &path);
            }
            Pick::SaveOutput { id, cell } => self.write_cell_output(id, cell, paths[0].clone()),
            Pick::SaveImage { bundle, mime } => self.write_image(bundle, mime, paths[0].clone()),
            Pick::Interpreter => {
                if let Some(dialog) = &mut self.configure {
                    dialog.set_executable(&paths[0]);
                }
            }
            Pick::WorkingDir => {
                if let Some(dialog) = &mut self.configure {
                    dialog.set_cwd(&paths[0]);
                }
            }
            Pick::SshConfig => {
                if let Some(dialog) = &mut self.configure {
                    dialog.set_ssh_config(&paths[0]);
                }
            }
        }
    }

    /// The path field, while a question is asked without a dialog.
    pub(in crate::app) fn path_prompt(&mut self, ctx: &egui::Context) {
        let Some(prompt) = &mut self.files.picking.prompt else {
            return;
        };
        let confirm = match prompt.ask.kind {
            AskKind::OpenFiles | AskKind::OpenFile => "Open",
            AskKind::SaveFile => "Save",
            AskKind::Folder => "Choose",
        };
        let modal = egui::Modal::new(egui::Id::unique("path-prompt")).show(ctx, |ui| {
            ui.heading(&prompt.ask.title);
            ui.colored_label(style::WARNING_TEXT, &prompt.why);
            ui.label("Type the path instead (absolute, or from your home folder):");
            let field = ui
                .horizontal(|ui| {
                    let label = ui.label("Path");
                    ui.add(egui::TextEdit::singleline(&mut prompt.text).desired_width(440.0))
                        .labelled_by(label.id)
                })
                .inner;
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                let ok = ui
                    .add_enabled(!prompt.text.trim().is_empty(), egui::Button::new(confirm))
                    .clicked();
                if ok || (entered && !prompt.text.trim().is_empty()) {
                    Some(true)
                } else if ui.button("Cancel").clicked() {
                    Some(false)
                } else {
                    None
                }
            })
            .inner
        });
        let choice = if modal.should_close() { Some(false) } else { modal.inner };
        let Some(chosen) = choice else { return };
        let Some(prompt) = self.files.picking.prompt.take() else {
            return;
        };
        let paths = chosen.then(|| vec![typed_path(&prompt.text, home().as_deref())]);
        self.answer(prompt.pick, paths);
        self.next_pick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_path_is_taken_from_the_home_folder_unless_absolute() {
        let home = Path::new("/home/ada");
        assert_eq!(typed_path(" /tmp/a.ipynb ", Some(home)), Path::new("/tmp/a.ipynb"));
        assert_eq!(typed_path("~/a.ipynb", Some(home)), Path::new("/home/ada/a.ipynb"));
        assert_eq!(typed_path("~", Some(home)), Path::new("/home/ada"));
        assert_eq!(typed_path("work/a.py", Some(home)), Path::new("/home/ada/work/a.py"));
        assert_eq!(typed_path("~bob/a.py", Some(home)), Path::new("/home/ada/~bob/a.py"));
        assert_eq!(typed_path("a.py", None), Path::new("a.py"));
    }
}
