//! Between a session and its notebook file: a session opened from a file
//! remembers what the file held that the window does not show (metadata, cell
//! ids and layout, rich outputs), so that saving writes it back; outputs of
//! cells that were not re-run since are written back exactly as they were.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::Session;
use super::cell::{CellId, CellKind, CellResult};
use super::edit::SectionId;
use super::output::{OutputBuffer, Row};
use super::outputs::{Display, OutputItem, Outputs};
use crate::manager::SessionId;
use crate::notebook::{self, Language, Notebook, Output};
use crate::protocol::{Bundle, EvalError, Stream};
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
    /// Boxed: a notebook has thousands, and the table's spare slots stay small.
    cells: HashMap<CellId, Box<FileCell>>,
}

/// A cell as the file had it. The MIME data of its results and displays
/// (base64 images, mostly) is held once: in the bundles the session shows,
/// shared here, and put back into the outputs when the file is written.
#[derive(Debug, Clone)]
struct FileCell {
    /// The cell without its source (the session's is written) and with the
    /// `data` and `metadata` of shared outputs emptied.
    cell: notebook::Cell,
    /// Output index and the bundle holding that output's data and metadata.
    shared: Vec<(usize, Arc<Bundle>)>,
    /// The outputs are written from the session's, which give them exactly:
    /// none are kept here.
    from_session: bool,
}

impl FileCell {
    /// Takes the data and metadata of `cell`'s results and displays out into
    /// bundles.
    fn new(mut cell: notebook::Cell) -> FileCell {
        cell.source = String::new();
        let shared = cell
            .outputs
            .iter_mut()
            .enumerate()
            .filter_map(|(index, output)| match output {
                Output::ExecuteResult { data, metadata, .. } | Output::DisplayData { data, metadata, .. } => {
                    let bundle = Bundle {
                        data: std::mem::take(data),
                        metadata: std::mem::take(metadata),
                    };
                    Some((index, Arc::new(bundle)))
                }
                _ => None,
            })
            .collect();
        FileCell {
            cell,
            shared,
            from_session: false,
        }
    }

    /// Keeps no outputs: they are written from the session's.
    fn forget_outputs(&mut self) {
        self.cell.outputs = Vec::new();
        self.shared = Vec::new();
        self.from_session = true;
    }

    /// Whether `shown` (the session's cell showing these outputs) writes
    /// them back exactly: plain streams, most cells of a big notebook.
    /// Cells with results or displays keep them here, their data shared.
    fn written_exactly_by(&self, shown: &super::Cell, scratch: &mut String) -> bool {
        self.shared.is_empty()
            && shown.result.is_none()
            && streams_written_as(&shown.output, &self.cell.outputs, scratch)
    }

    /// The bundle that holds output `index`'s data, if it is a result or display.
    fn bundle(&self, index: usize) -> Option<&Arc<Bundle>> {
        self.shared.iter().find(|(i, _)| *i == index).map(|(_, bundle)| bundle)
    }

    /// Holds equal bundles through `older`'s copies, so that a save does not
    /// hold a second copy of what the session shows.
    fn share_with(&mut self, older: &FileCell) {
        for (_, bundle) in &mut self.shared {
            if let Some((_, same)) = older.shared.iter().find(|(_, b)| b == bundle) {
                *bundle = same.clone();
            }
        }
    }

    /// The cell as the file had it; its outputs' rich data put back only
    /// `with_data` (outputs about to be replaced need no copy of it).
    fn to_cell(&self, with_data: bool) -> notebook::Cell {
        let mut cell = self.cell.clone();
        if !with_data {
            return cell;
        }
        for (index, bundle) in &self.shared {
            if let Some(Output::ExecuteResult { data, metadata, .. } | Output::DisplayData { data, metadata, .. }) =
                cell.outputs.get_mut(*index)
            {
                data.clone_from(&bundle.data);
                metadata.clone_from(&bundle.metadata);
            }
        }
        cell
    }
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
        session.document.skeleton = notebook.without_sections();
        let mut section_ids = Vec::new();
        for (index, section) in notebook.sections.iter().enumerate() {
            let section_id = session.add_section(section.title.clone());
            section_ids.push(section_id);
            if let Some(parent) = notebook::branch::branch_parent(notebook, index) {
                session.branch_parents.insert(section_id, section_ids[parent]);
            }
            session.document.sections.insert(section_id, section.without_cells());
            let mut last = None;
            let mut scratch = String::new();
            for file_cell in &section.cells {
                let kind = match file_cell.kind {
                    notebook::CellKind::Code => CellKind::Code,
                    notebook::CellKind::Markdown => CellKind::Markdown,
                    notebook::CellKind::Raw => CellKind::Raw,
                };
                let id = session.insert_cell(section_id, last, kind, file_cell.source.clone());
                last = Some(id);
                let mut kept = Box::new(FileCell::new(file_cell.clone()));
                if let Some(cell) = session.cell_mut(id) {
                    show_saved_outputs(&kept, &mut cell.output, &mut cell.result);
                    cell.execution_count = file_cell.execution_count.map(u64::from);
                    cell.outputs_from_file = true;
                    if kept.written_exactly_by(cell, &mut scratch) {
                        kept.forget_outputs();
                    }
                }
                session.document.cells.insert(id, kept);
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
        let kept = self.document.cells.get(&cell.id);
        let from_session = !cell.outputs_from_file || kept.is_some_and(|kept| kept.from_session);
        let mut file_cell = kept
            .map(|kept| kept.to_cell(cell.is_code() && !from_session))
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
        } else if from_session {
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
        let mut skeleton = notebook.without_sections();
        if self.revision != revision {
            // The title may have been edited meanwhile; the window's is newer.
            skeleton.title = self.document.skeleton.title.take();
        }
        self.document.skeleton = skeleton;
        for ((section, cells), file_section) in layout.iter().zip(&notebook.sections) {
            self.document.sections.insert(*section, file_section.without_cells());
            let mut scratch = String::new();
            for (cell, file_cell) in cells.iter().zip(&file_section.cells) {
                let mut kept = Box::new(FileCell::new(file_cell.clone()));
                match self.cell(*cell) {
                    // Written from the session's outputs each time: no copy needed.
                    Some(c) if !c.is_code() || !c.outputs_from_file || kept.written_exactly_by(c, &mut scratch) => {
                        kept.forget_outputs();
                    }
                    _ => {
                        if let Some(older) = self.document.cells.get(cell) {
                            kept.share_with(older);
                        }
                    }
                }
                self.document.cells.insert(*cell, kept);
            }
        }
        self.mark_saved(revision);
    }
}

/// Shows outputs read from a file as what they are: streams as output lines,
/// displays as displays (a stored PNG is an image), the result as the
/// value, an error as an error.
fn show_saved_outputs(file_cell: &FileCell, output: &mut Outputs, result: &mut Option<CellResult>) {
    for (index, item) in file_cell.cell.outputs.iter().enumerate() {
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
                let Some(bundle) = file_cell.bundle(index) else {
                    continue;
                };
                let display = Display::new(bundle.clone(), None);
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

/// Whether [`outputs_of`] writes `output` (streams only) as `outputs`,
/// compared run by run in `scratch`: the comparison allocates nothing per
/// cell, whose blocks would lie among the session's and keep their pages.
fn streams_written_as(output: &Outputs, outputs: &[Output], scratch: &mut String) -> bool {
    let mut expected = outputs.iter();
    let all_match = output.items().iter().all(|item| {
        let OutputItem::Stream(buffer) = item else {
            return false;
        };
        for_each_run(buffer, scratch, |stream, text| {
            matches!(
                expected.next(),
                Some(Output::Stream { name, text: t, extra }) if name == stream_name(stream) && t == text && extra.is_empty()
            )
        })
    });
    all_match && expected.next().is_none()
}

/// Runs of lines of one stream, as `stream` outputs.
fn stream_outputs(output: &OutputBuffer, outputs: &mut Vec<Output>) {
    for_each_run(output, &mut String::new(), |stream, text| {
        outputs.push(Output::stream(stream_name(stream), text));
        true
    });
}

/// Calls `each` with every run of lines of one stream, as its `stream`
/// output's text (built in `scratch`), until it returns false; returns
/// whether it never did.
fn for_each_run(output: &OutputBuffer, scratch: &mut String, mut each: impl FnMut(Stream, &str) -> bool) -> bool {
    let mut run: Option<Stream> = None;
    scratch.clear();
    for i in 0..output.row_count() {
        let (stream, text) = match output.row(i) {
            Row::Line(line) => (line.stream, Cow::Borrowed(line.text.as_str())),
            Row::Omitted(n) => (Stream::Stdout, Cow::Owned(format!("[… {n} lines left out …]"))),
        };
        if let Some(before) = run.filter(|s| *s != stream) {
            if !each(before, scratch) {
                return false;
            }
            scratch.clear();
        }
        run = Some(stream);
        scratch.push_str(&text);
        scratch.push('\n');
    }
    run.is_none_or(|stream| each(stream, scratch))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notebook::{Format, parse};

    const NOTEBOOK: &str = r##"{"cells": [
      {"cell_type": "code", "execution_count": 3, "metadata": {"tags": ["plot"]}, "source": ["plot()"],
       "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ["drawing\n"]},
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure>"]},
         "metadata": {"image/png": {"width": 640}}},
        {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": ["42"]}, "metadata": {}}
       ]}
     ], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}"##;

    /// The bundles the session's cell shows, in order: displays, then the result.
    fn shown(s: &Session) -> Vec<Arc<Bundle>> {
        let cell = s.nth_cell(0).unwrap();
        let mut bundles: Vec<Arc<Bundle>> = cell
            .output
            .items()
            .iter()
            .filter_map(|item| match item {
                OutputItem::Display(display) => Some(display.bundle.clone()),
                OutputItem::Stream(_) => None,
            })
            .collect();
        if let Some(CellResult::Value(value)) = &cell.result {
            bundles.push(value.bundle.clone());
        }
        bundles
    }

    fn held(s: &Session) -> Vec<Arc<Bundle>> {
        let id = s.nth_cell(0).unwrap().id;
        s.document.cells[&id].shared.iter().map(|(_, b)| b.clone()).collect()
    }

    #[test]
    fn a_files_rich_data_is_held_once_and_written_back_whole() {
        let notebook = parse(Format::Ipynb, NOTEBOOK).unwrap();
        let mut s = Session::from_notebook(SessionId(1), "n", RuntimeConfig::python(), &notebook);
        let (shown_bundles, held_bundles) = (shown(&s), held(&s));
        assert_eq!(shown_bundles.len(), 2);
        assert_eq!(held_bundles.len(), 2);
        for (a, b) in shown_bundles.iter().zip(&held_bundles) {
            assert!(Arc::ptr_eq(a, b), "the document and the session share one copy");
        }
        let written = s.to_notebook();
        assert_eq!(
            written.sections[0].cells[0].outputs,
            notebook.sections[0].cells[0].outputs
        );
        assert_eq!(
            written.sections[0].cells[0].metadata,
            notebook.sections[0].cells[0].metadata
        );

        // A save's own rendering of the file is held through the same copies.
        let (revision, layout) = (s.revision(), s.layout());
        s.saved_as_of("/tmp/n.ipynb".into(), &written, revision, &layout);
        for (a, b) in shown(&s).iter().zip(&held(&s)) {
            assert!(Arc::ptr_eq(a, b), "still one copy after a save");
        }
        assert_eq!(
            s.to_notebook().sections[0].cells[0].outputs,
            notebook.sections[0].cells[0].outputs
        );
    }

    #[test]
    fn plain_outputs_are_written_from_the_session_and_others_kept_as_read() {
        let text = r##"{"cells": [
          {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["print(1)"],
           "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1\n", "2\n"]},
                       {"output_type": "stream", "name": "stderr", "text": "warning\n"}]},
          {"cell_type": "code", "execution_count": 2, "metadata": {}, "source": ["print(red)"],
           "outputs": [{"output_type": "stream", "name": "stdout", "text": ["\u001b[31mred\u001b[0m\n"]}]}
         ], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}"##;
        let notebook = parse(Format::Ipynb, text).unwrap();
        let s = Session::from_notebook(SessionId(1), "n", RuntimeConfig::python(), &notebook);
        let kept = |n: usize| &s.document.cells[&s.nth_cell(n).unwrap().id];
        assert!(
            kept(0).from_session && kept(0).cell.outputs.is_empty(),
            "no second copy"
        );
        assert!(
            !kept(1).from_session,
            "colours are not shown, so the file's text is kept"
        );
        assert_eq!(kept(1).cell.outputs, notebook.sections[0].cells[1].outputs);
        let written = s.to_notebook();
        for n in 0..2 {
            assert_eq!(
                written.sections[0].cells[n].outputs,
                notebook.sections[0].cells[n].outputs
            );
            assert_eq!(
                written.sections[0].cells[n].execution_count,
                notebook.sections[0].cells[n].execution_count
            );
        }
    }

    #[test]
    fn a_cell_run_again_keeps_no_copy_of_what_it_showed_before() {
        let notebook = parse(Format::Ipynb, NOTEBOOK).unwrap();
        let mut s = Session::from_notebook(SessionId(1), "n", RuntimeConfig::python(), &notebook);
        let id = s.nth_cell(0).unwrap().id;
        s.cell_mut(id).unwrap().clear_output();
        let (revision, layout) = (s.revision(), s.layout());
        let written = s.to_notebook();
        assert!(written.sections[0].cells[0].outputs.is_empty());
        s.saved_as_of("/tmp/n.ipynb".into(), &written, revision, &layout);
        assert!(held(&s).is_empty());
        assert!(s.document.cells[&id].cell.outputs.is_empty());
    }
}
