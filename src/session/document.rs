//! Between a session and its notebook file: a session opened from a file
//! remembers what the file held that the window does not show (metadata, cell
//! ids and layout, rich outputs), so that saving writes it back; outputs of
//! cells that were not re-run since are written back exactly as they were.

use std::borrow::Cow;
use std::collections::HashMap;

use super::Session;
use super::cell::{CellId, CellKind, CellResult};
use super::edit::SectionId;
use super::output::{OutputBuffer, Row};
use super::outputs::{Display, OutputItem, Outputs};
use crate::manager::SessionId;
use crate::notebook::{self, Language, Notebook, Output};
use crate::protocol::{EvalError, Stream};
use crate::runtime::RuntimeConfig;

/// Sections and their cells, in order, by id.
pub type Layout = Vec<(SectionId, Vec<CellId>)>;

/// What a file held besides what the session shows.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// The notebook without its sections: title, language, metadata, format.
    skeleton: Notebook,
    /// Each section's metadata and layout, without its cells.
    sections: HashMap<SectionId, notebook::Section>,
    /// Each cell as the file had it.
    cells: HashMap<CellId, notebook::Cell>,
}

impl Session {
    /// A session showing `notebook`; nothing is evaluated. Saved outputs are
    /// shown (as text) and kept for writing back.
    pub fn from_notebook(
        id: SessionId,
        name: impl Into<String>,
        config: RuntimeConfig,
        notebook: &Notebook,
    ) -> Session {
        let mut session = Session::new(id, name, config);
        let mut skeleton = notebook.clone();
        skeleton.sections.clear();
        session.document.skeleton = skeleton;
        let mut section_ids = Vec::new();
        for (index, section) in notebook.sections.iter().enumerate() {
            let section_id = session.add_section(section.title.clone());
            section_ids.push(section_id);
            if let Some(parent) = notebook::branch::branch_parent(notebook, index) {
                session.branch_parents.insert(section_id, section_ids[parent]);
            }
            let mut bare = section.clone();
            bare.cells.clear();
            session.document.sections.insert(section_id, bare);
            let mut last = None;
            for file_cell in &section.cells {
                let kind = match file_cell.kind {
                    notebook::CellKind::Code => CellKind::Code,
                    notebook::CellKind::Markdown => CellKind::Markdown,
                    notebook::CellKind::Raw => CellKind::Raw,
                };
                let id = session.insert_cell(section_id, last, kind, file_cell.source.clone());
                last = Some(id);
                if let Some(cell) = session.cell_mut(id) {
                    show_saved_outputs(&file_cell.outputs, &mut cell.output, &mut cell.result);
                    cell.execution_count = file_cell.execution_count.map(u64::from);
                    cell.outputs_from_file = true;
                }
                session.document.cells.insert(id, file_cell.clone());
            }
        }
        if session.sections.is_empty() {
            session.add_cell("");
        }
        session.saved_revision = session.revision;
        session
    }

    /// The notebook as it is now, with what the file held kept.
    pub fn to_notebook(&self) -> Notebook {
        let mut notebook = self.document.skeleton.clone();
        if notebook.format.is_none() && notebook.metadata.is_empty() {
            notebook.language = Language::from_name(self.config.language());
        }
        notebook.sections = self
            .sections
            .iter()
            .map(|section| {
                let mut file_section = self.document.sections.get(&section.id).cloned().unwrap_or_default();
                file_section.title = section.title.clone();
                file_section.cells = section.cells.iter().map(|cell| self.file_cell(cell)).collect();
                file_section
            })
            .collect();
        notebook
    }

    fn file_cell(&self, cell: &super::Cell) -> notebook::Cell {
        let mut file_cell = self
            .document
            .cells
            .get(&cell.id)
            .cloned()
            .unwrap_or_else(|| notebook::Cell::new(notebook::CellKind::Code, ""));
        file_cell.kind = match (cell.kind, file_cell.kind) {
            (CellKind::Code, _) => notebook::CellKind::Code,
            (CellKind::Raw, _) => notebook::CellKind::Raw,
            (CellKind::Markdown, _) => notebook::CellKind::Markdown,
        };
        file_cell.source = cell.code.clone();
        if cell.kind != CellKind::Code {
            file_cell.outputs.clear();
            file_cell.execution_count = None;
        } else if !cell.outputs_from_file {
            let count = cell.execution_count.and_then(|n| u32::try_from(n).ok());
            file_cell.outputs = outputs_of(&cell.output, cell.result.as_ref(), count);
            file_cell.execution_count = count;
        }
        file_cell
    }

    /// Takes the file's state as saved: the document becomes `notebook`
    /// (the file's own rendering of it), and nothing is unsaved.
    pub fn saved_as(&mut self, path: std::path::PathBuf, notebook: &Notebook, revision: u64) {
        let layout = self.layout();
        self.saved_as_of(path, notebook, revision, &layout);
    }

    /// The sections and cells in order, by id: what a save in the background
    /// wrote, to match the file's cells with once it is done.
    pub fn layout(&self) -> Layout {
        self.sections
            .iter()
            .map(|s| (s.id, s.cells.iter().map(|c| c.id).collect()))
            .collect()
    }

    /// As [`Session::saved_as`], for a save of `revision` whose cells were
    /// `layout`: edits made while it was written stay unsaved, and cells
    /// added or moved meanwhile are matched by id, not by place.
    pub fn saved_as_of(&mut self, path: std::path::PathBuf, notebook: &Notebook, revision: u64, layout: &Layout) {
        self.file = Some(path);
        let mut skeleton = notebook.clone();
        skeleton.sections.clear();
        if self.revision != revision {
            // The title may have been edited meanwhile; the window's is newer.
            skeleton.title = self.document.skeleton.title.take();
        }
        self.document.skeleton = skeleton;
        for ((section, cells), file_section) in layout.iter().zip(&notebook.sections) {
            let mut bare = file_section.clone();
            bare.cells.clear();
            self.document.sections.insert(*section, bare);
            for (cell, file_cell) in cells.iter().zip(&file_section.cells) {
                self.document.cells.insert(*cell, file_cell.clone());
            }
        }
        self.mark_saved(revision);
    }
}

/// Shows outputs read from a file as what they are: streams as output lines,
/// displays as displays (a stored PNG is an image), the result as the
/// value, an error as an error.
fn show_saved_outputs(outputs: &[Output], output: &mut Outputs, result: &mut Option<CellResult>) {
    for item in outputs {
        match item {
            Output::Stream { name, text, .. } => {
                let stream = if name == "stderr" {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                };
                output.push(stream, text);
            }
            Output::ExecuteResult { .. } | Output::DisplayData { .. } => {
                let Some(bundle) = item.bundle() else { continue };
                let display = Display::new(std::sync::Arc::new(bundle), None);
                if matches!(item, Output::ExecuteResult { .. }) {
                    *result = Some(CellResult::Value(display));
                } else {
                    output.push_display(display);
                }
            }
            Output::Error {
                ename,
                evalue,
                traceback,
                ..
            } => {
                // Jupyter's tracebacks carry ANSI colours: shown as plain text here.
                let mut plain = OutputBuffer::default();
                plain.push(Stream::Stdout, &traceback.join("\n"));
                *result = Some(CellResult::Error(EvalError {
                    kind: ename.clone(),
                    message: evalue.clone(),
                    line: None,
                    column: None,
                    frames: Vec::new(),
                    formatted: plain.text(),
                }));
            }
        }
    }
}

/// A cell's outputs as nbformat models them: runs of lines of one stream and
/// displays in the order they came, then the result or the error.
fn outputs_of(output: &Outputs, result: Option<&CellResult>, count: Option<u32>) -> Vec<Output> {
    let mut outputs = Vec::new();
    for item in output.items() {
        match item {
            OutputItem::Stream(buffer) => stream_outputs(buffer, &mut outputs),
            OutputItem::Display(display) => outputs.push(Output::display(&display.bundle)),
        }
    }
    match result {
        Some(CellResult::Value(value)) => outputs.push(Output::execute_result(&value.bundle, count)),
        Some(CellResult::Error(error)) => {
            let traceback = error.formatted.lines().map(str::to_string).collect();
            outputs.push(Output::error(error.kind.clone(), error.message.clone(), traceback));
        }
        Some(CellResult::Interrupted(_)) => {
            outputs.push(Output::error("KeyboardInterrupt", "interrupted", Vec::new()));
        }
        Some(CellResult::Aborted(_)) | None => {}
    }
    outputs
}

/// Runs of lines of one stream, as `stream` outputs.
fn stream_outputs(output: &OutputBuffer, outputs: &mut Vec<Output>) {
    let mut run: Option<(Stream, String)> = None;
    for i in 0..output.row_count() {
        let (stream, text) = match output.row(i) {
            Row::Line(line) => (line.stream, Cow::Borrowed(line.text.as_str())),
            Row::Omitted(n) => (Stream::Stdout, Cow::Owned(format!("[… {n} lines left out …]"))),
        };
        match &mut run {
            Some((s, buffer)) if *s == stream => {
                buffer.push_str(&text);
                buffer.push('\n');
            }
            _ => {
                if let Some((s, buffer)) = run.take() {
                    outputs.push(Output::stream(stream_name(s), buffer));
                }
                run = Some((stream, format!("{text}\n")));
            }
        }
    }
    if let Some((s, buffer)) = run {
        outputs.push(Output::stream(stream_name(s), buffer));
    }
}

fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    }
}

impl Session {
    /// Replaces the notebook with `notebook` (its file changed on disk). The
    /// runtime stays; the new cells are fresh.
    pub fn replace_notebook(&mut self, notebook: &Notebook) {
        let fresh = Session::from_notebook(self.id, self.name.clone(), self.config.clone(), notebook);
        self.unqueue_all();
        // Cell ids keep counting up, so no new cell reuses an old evaluation ref.
        let offset = self.next_id;
        self.sections = fresh.sections;
        for cell in self.sections.iter_mut().flat_map(|s| s.cells.iter_mut()) {
            cell.id = CellId(cell.id.0 + offset);
        }
        self.next_id = offset + fresh.next_id;
        self.next_section = self.next_section.max(fresh.next_section);
        self.document = fresh.document;
        self.document.cells = std::mem::take(&mut self.document.cells)
            .into_iter()
            .map(|(id, cell)| (CellId(id.0 + offset), cell))
            .collect();
        self.deleted.clear();
        self.revision += 1;
        self.saved_revision = self.revision;
    }

    /// Marks the notebook as having unsaved changes (a restored autosave).
    pub fn mark_unsaved(&mut self) {
        self.saved_revision = self.revision.wrapping_sub(1);
    }
}

impl Session {
    /// The notebook's title (a `# ` heading or Livebook's title), if any.
    pub fn title(&self) -> Option<&str> {
        self.document.skeleton.title.as_deref()
    }

    pub fn set_title(&mut self, title: String) {
        self.revision += 1;
        self.document.skeleton.title = (!title.trim().is_empty()).then_some(title);
    }
}
