//! Open, save and save as, a cell's whole output, and the recent files. The
//! reading and writing run as background tasks; their results come back
//! here to become sessions, saved marks or notices.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::super::RunyardApp;
use super::pick::{Ask, AskKind, Pick};
use super::tasks::Done;
use super::{FileInfo, config_for, read};
use crate::app::runtimes::config_for_pick;
use crate::kernels::{Discovered, Pick as RuntimePick};
use crate::manager::SessionId;
use crate::notebook::{self, Format, Notebook, NotebookError};
use crate::remote::remembered::{PlaceError, RemotePlace, remember_place, remembered_place};
use crate::runtime::RuntimeConfig;
use crate::session::document::Layout;
use crate::session::{CellId, Session};
use crate::text::capitalise;

const MAX_RECENT: usize = 10;

/// A file read for File › Open (or the command line, or Open recent).
pub(in crate::app) struct Opened {
    path: PathBuf,
    read: Result<(Notebook, FileInfo), NotebookError>,
    /// The runtimes found for it (its `.venv` included) and the one picked.
    runtime: Option<(Arc<Discovered>, RuntimePick)>,
    /// The SSH host or Slurm job it remembers, checked.
    place: Result<Option<RemotePlace>, PlaceError>,
}

/// Files this big show their first cells while the rest is parsed: from
/// here a parse takes long enough to be seen (about 40 ms).
const PREVIEW_FROM_BYTES: usize = 4_000_000;
/// More than a window shows, little to parse.
const PREVIEW_CELLS: usize = 30;

/// A big notebook's first cells, shown while the rest of it is read.
pub(in crate::app) struct Preview {
    pub path: PathBuf,
    pub bytes: usize,
    pub cells: Vec<notebook::ipynb::PreviewCell>,
}

/// Reads a notebook and picks its runtime (in a task); a big one's first
/// cells go to `preview` first.
fn open_one(path: PathBuf, inputs: &crate::kernels::Inputs, preview: &dyn Fn(Preview), delay: Duration) -> Opened {
    let mut show = |bytes, cells| {
        preview(Preview {
            path: path.clone(),
            bytes,
            cells,
        });
        std::thread::sleep(delay);
    };
    let read = notebook::open_previewing(
        &path,
        Some(notebook::Previewing {
            from_bytes: PREVIEW_FROM_BYTES,
            max_cells: PREVIEW_CELLS,
            show: &mut show,
        }),
    )
    .map(|notebook| (notebook, FileInfo::of(&path)));
    let runtime = read.as_ref().ok().map(|(notebook, _)| {
        let found = crate::kernels::discover(&inputs.for_notebook(Some(&path)));
        let pick = crate::kernels::pick_runtime(Some(&path), &notebook.metadata, &notebook.language, &found);
        (Arc::new(found), pick)
    });
    let place = match &read {
        Ok((notebook, _)) => remembered_place(&notebook.metadata),
        Err(_) => Ok(None),
    };
    Opened {
        path,
        read,
        runtime,
        place,
    }
}

/// A save, done.
pub(in crate::app) struct Saved {
    id: SessionId,
    path: PathBuf,
    revision: u64,
    layout: Layout,
    /// What the format kept (read back), or why nothing was written.
    written: Result<(Notebook, FileInfo), NotebookError>,
}

/// One save in flight, or waiting for one of the same session or file.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::app) struct SaveJob {
    pub id: SessionId,
    pub path: PathBuf,
}

impl RunyardApp {
    /// Opens notebook files as new sessions; a file that cannot be read is
    /// reported (and left as it is).
    pub fn open_files(&mut self, paths: &[PathBuf]) {
        let mut wanted = Vec::new();
        for path in paths {
            match self.sessions.iter().find(|s| s.file.as_deref() == Some(path.as_path())) {
                Some(existing) => self.selected = Some(existing.id),
                None => wanted.push(path.clone()),
            }
        }
        if wanted.is_empty() {
            return;
        }
        // One task for all, so that they open in the order given.
        let inputs = self.runtimes.inputs.clone();
        let reporter = self.tasks.reporter();
        let delay = self.files.slow_opens;
        self.tasks.spawn("open", move || {
            let preview = |preview| reporter.send(Done::Preview(preview));
            Done::Opened(
                wanted
                    .into_iter()
                    .map(|path| open_one(path, &inputs, &preview, delay))
                    .collect(),
            )
        });
    }

    pub(in crate::app) fn opened(&mut self, opened: Vec<Opened>) {
        for Opened {
            path,
            read,
            runtime,
            place,
        } in opened
        {
            self.files.previews.retain(|p| p.path != path);
            // Opened twice in a row: the first one counts.
            if let Some(existing) = self.sessions.iter().find(|s| s.file.as_deref() == Some(path.as_path())) {
                self.selected = Some(existing.id);
                continue;
            }
            match read {
                Ok((notebook, info)) => {
                    let picked = runtime.map(|(found, pick)| {
                        self.discovered(found, true);
                        config_for_pick(&self.settings, &pick, &notebook.language)
                    });
                    let (mut config, mut unavailable) = match picked {
                        Some(Ok((config, _))) => (config, None),
                        // Shown as the session's banner; the config is never started.
                        Some(Err(message)) => (config_for(self, &notebook.language).0, Some(message)),
                        None => (config_for(self, &notebook.language).0, None),
                    };
                    match place {
                        Ok(None) => {}
                        Ok(Some(remote)) if notebook.language == crate::notebook::Language::Python => {
                            // Where it ran before: Python there, whatever runs Python here.
                            config = remote.config(self.settings.with_defaults(RuntimeConfig::python()));
                            unavailable = None;
                        }
                        Ok(Some(remote)) => {
                            let warning = format!(
                                "{} remembers running {}, but only Python runs on other hosts yet; it runs on this computer",
                                path.display(),
                                remote.place.label()
                            );
                            tracing::warn!("{warning}");
                            self.notice = Some(capitalise(&warning));
                        }
                        Err(error) => {
                            tracing::warn!(path = %path.display(), "{error}");
                            self.notice = Some(format!("{}: {error}.", path.display()));
                        }
                    }
                    let id = self.open_notebook(&notebook, config, Some((path, info)));
                    if let (Some(message), Some(session)) = (unavailable, self.session_mut(id)) {
                        tracing::warn!("{message}");
                        session.set_unavailable(&message);
                    }
                    self.selected = Some(id);
                }
                Err(err) => {
                    tracing::warn!("{err}");
                    self.notice = Some(capitalise(&err.to_string()));
                }
            }
        }
        // The file's parse and the notebook read from it are gone now.
        crate::app::memory::give_back_freed_memory();
    }

    pub(in crate::app) fn open_notebook(
        &mut self,
        notebook: &Notebook,
        config: RuntimeConfig,
        file: Option<(PathBuf, FileInfo)>,
    ) -> SessionId {
        let id = self.next_session_id();
        let name = file
            .as_ref()
            .and_then(|(path, _)| path.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .or_else(|| notebook.title.clone())
            .unwrap_or_else(|| format!("Notebook {}", id.0));
        let mut session = Session::from_notebook(id, name, config, notebook);
        if let Some((path, info)) = file {
            session.file = Some(path);
            if let Some(time) = info.modified {
                self.files.modified.insert(id, time);
            }
            self.remember_recent(info.canonical);
        }
        self.sessions.push(session);
        id
    }

    pub fn open_dialog(&mut self) {
        let ask = Ask::new(AskKind::OpenFiles, "Open notebook").filter("Notebooks", &["ipynb", "livemd", "py"]);
        self.pick(Pick::Open, ask);
    }

    /// Saves a session to its file, or asks where.
    pub fn save(&mut self, id: SessionId) {
        match self.session(id).and_then(|s| s.file.clone()) {
            Some(path) => self.save_to(id, &path),
            None => self.save_as(id),
        }
    }

    pub fn save_as(&mut self, id: SessionId) {
        let Some(session) = self.session(id) else { return };
        let native = if session.config.language() == "elixir" {
            Format::Livemd
        } else {
            Format::Ipynb
        };
        let mut ask =
            Ask::new(AskKind::SaveFile, "Save notebook").file_name(format!("{}.{}", session.name, native.extension()));
        // The native format first: a dialog picks its first filter.
        let mut formats = vec![native];
        formats.extend(Format::ALL.into_iter().filter(|f| *f != native));
        for format in formats {
            ask = ask.filter(format.label(), &[format.extension()]);
        }
        self.pick(Pick::SaveAs { id, native }, ask);
    }

    /// Writes the session's notebook to `path` (atomically, in the
    /// background); the format follows the extension. A save of the same
    /// session or file while one runs waits for it, so they never race.
    pub fn save_to(&mut self, id: SessionId, path: &Path) {
        let job = SaveJob {
            id,
            path: path.to_path_buf(),
        };
        let files = &mut self.files;
        if files.saving.iter().any(|s| s.id == id || s.path == path) {
            if !files.queued_saves.contains(&job) {
                files.queued_saves.push(job);
            }
            return;
        }
        let Some(session) = self.session(id) else { return };
        let mut notebook = session.to_notebook();
        let choice = session.runtime_choice.clone();
        let place = session.config.place.clone();
        let remote_python = session.config.standalone().executable.clone();
        let (revision, layout) = (session.revision(), session.layout());
        let delay = self.files.slow_saves;
        self.files.saving.push(job);
        let path = path.to_path_buf();
        self.tasks.spawn("save", move || {
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            if let (Some(choice), Some(format)) = (&choice, Format::from_path(&path)) {
                crate::kernels::pick::remember(&mut notebook, format, &path, choice);
            }
            remember_place(&mut notebook.metadata, &place, remote_python.as_deref());
            let written = notebook::save(&path, &notebook).map(|()| {
                // Read back what the format kept, so the next save starts from it.
                let (written, info) = read(&path).unwrap_or_else(|_| (notebook, FileInfo::of(&path)));
                (written, info)
            });
            Done::Saved(Box::new(Saved {
                id,
                path,
                revision,
                layout,
                written,
            }))
        });
    }

    pub(in crate::app) fn saved(&mut self, saved: Saved) {
        let Saved {
            id,
            path,
            revision,
            layout,
            written,
        } = saved;
        self.files.saving.retain(|s| !(s.id == id && s.path == path));
        match written {
            Ok((written, info)) => {
                if let Some(session) = self.session_mut(id) {
                    let renamed = session.file.as_deref() != Some(path.as_path());
                    session.saved_as_of(path.clone(), &written, revision, &layout);
                    if renamed && let Some(stem) = path.file_stem() {
                        session.name = stem.to_string_lossy().into_owned();
                    }
                }
                if let Some(time) = info.modified {
                    self.files.modified.insert(id, time);
                }
                self.files.conflicts.retain(|c| *c != id);
                self.remove_autosave(id);
                self.remember_recent(info.canonical);
            }
            Err(err) => {
                tracing::error!("{err}");
                self.notice = Some(capitalise(&err.to_string()));
            }
        }
        // Saves that waited for this one.
        for job in std::mem::take(&mut self.files.queued_saves) {
            self.save_to(job.id, &job.path);
        }
    }

    /// A save of this session is running or waiting.
    pub fn is_saving(&self, id: SessionId) -> bool {
        self.files
            .saving
            .iter()
            .chain(&self.files.queued_saves)
            .any(|s| s.id == id)
            || self
                .files
                .picking
                .asking(|pick| matches!(pick, Pick::SaveAs { id: asked, .. } if *asked == id))
    }

    /// What is being saved, for the menu bar: a file name, or how many.
    pub(in crate::app) fn saving_label(&self) -> Option<String> {
        match self.files.saving.as_slice() {
            [] => None,
            [one] => Some(format!(
                "Saving {}…",
                one.path.file_name().unwrap_or_default().to_string_lossy()
            )),
            many => Some(format!("Saving {} notebooks…", many.len())),
        }
    }

    /// Asks where to save a cell's whole output (the lines left out of memory
    /// included) and writes it there.
    pub(in crate::app) fn save_cell_output(&mut self, session: SessionId, cell: CellId) {
        let ask = Ask::new(AskKind::SaveFile, "Save output").file_name("output.txt".into());
        self.pick(Pick::SaveOutput { id: session, cell }, ask);
    }

    pub(in crate::app) fn write_cell_output(&mut self, session: SessionId, cell: CellId, path: PathBuf) {
        let Some(output) = self
            .session(session)
            .and_then(|s| s.cell(cell))
            .map(|c| c.output.clone())
        else {
            return;
        };
        self.tasks.spawn("save-output", move || {
            let result = std::fs::File::create(&path).and_then(|file| {
                let mut writer = std::io::BufWriter::new(file);
                output.write_all_to(&mut writer)?;
                std::io::Write::flush(&mut writer)
            });
            Done::OutputSaved {
                path,
                error: result.err(),
            }
        });
    }

    pub(in crate::app) fn output_saved(&mut self, path: &Path, error: Option<std::io::Error>) {
        if let Some(err) = error {
            self.notice = Some(format!("Cannot save the output to {}: {err}", path.display()));
        }
    }

    /// `path` is canonical (resolved by the task that read or wrote it).
    fn remember_recent(&mut self, path: PathBuf) {
        let recent = &mut self.settings.recent_files;
        recent.retain(|p| *p != path);
        recent.insert(0, path);
        recent.truncate(MAX_RECENT);
        self.save_settings();
    }
}
