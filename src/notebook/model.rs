//! A notebook as a file holds it, independent of the window: title, sections,
//! cells with their outputs, and everything the file says that Runyard does not
//! interpret, kept so that saving writes it back.
//!
//! Metadata and the `*Extras` belong to the format the notebook was read from
//! ([`Notebook::format`]): saving to that format writes them back; saving to
//! another one starts that format's metadata afresh (the language is kept).

use serde_json::{Map, Value};

/// A JSON object, as files keep their metadata.
pub type Object = Map<String, Value>;

/// The file formats Runyard reads and writes, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Jupyter `.ipynb` (nbformat 4).
    Ipynb,
    /// Livebook `.livemd`.
    Livemd,
    /// A percent-format script (`# %%` cells), `.py`.
    Percent,
}

impl Format {
    /// The format for a path's extension (case-insensitive), if Runyard knows it.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "ipynb" => Some(Format::Ipynb),
            "livemd" => Some(Format::Livemd),
            "py" => Some(Format::Percent),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Ipynb => "ipynb",
            Format::Livemd => "livemd",
            Format::Percent => "py",
        }
    }

    /// What a Save As dialog calls it.
    pub fn label(self) -> &'static str {
        match self {
            Format::Ipynb => "Jupyter notebook",
            Format::Livemd => "Livebook notebook",
            Format::Percent => "Python script (# %% cells)",
        }
    }

    pub const ALL: [Format; 3] = [Format::Ipynb, Format::Livemd, Format::Percent];
}

/// The language a notebook's code is written in; it chooses the runtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    Python,
    Elixir,
    /// Any other language, by the name the file gives it (lower case).
    Other(String),
}

impl Language {
    /// `python`, `python3`, `Python` → Python; `elixir` → Elixir; others as they are.
    pub fn from_name(name: &str) -> Language {
        let lower = name.trim().to_ascii_lowercase();
        if lower == "python" || (lower.starts_with("python") && lower[6..].chars().all(|c| c.is_ascii_digit())) {
            Language::Python
        } else if lower == "elixir" {
            Language::Elixir
        } else {
            Language::Other(lower)
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Language::Python => "python",
            Language::Elixir => "elixir",
            Language::Other(name) => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Notebook {
    pub title: Option<String>,
    /// At least one in a notebook read from a file; the first may be untitled
    /// (the cells before the first `##` heading).
    pub sections: Vec<Section>,
    pub language: Language,
    /// Notebook-level metadata as the file had it, kept verbatim: `.ipynb`'s
    /// `metadata`, the `.livemd` metadata comment before the title.
    pub metadata: Object,
    /// The format the notebook was read from (`None`: created in Runyard).
    pub format: Option<Format>,
    pub extras: NotebookExtras,
}

impl Notebook {
    /// An empty notebook made in Runyard: one untitled section, no format yet.
    pub fn new(language: Language) -> Notebook {
        Notebook {
            language,
            sections: vec![Section::default()],
            ..Notebook::default()
        }
    }

    /// A copy of everything but the sections, without copying their cells.
    pub fn without_sections(&self) -> Notebook {
        Notebook {
            title: self.title.clone(),
            sections: Vec::new(),
            language: self.language.clone(),
            metadata: self.metadata.clone(),
            format: self.format,
            extras: self.extras.clone(),
        }
    }

    /// Every cell in order (section headings are not cells here).
    pub fn cells(&self) -> impl Iterator<Item = &Cell> {
        self.sections.iter().flat_map(|s| &s.cells)
    }

    pub fn cells_mut(&mut self) -> impl Iterator<Item = &mut Cell> {
        self.sections.iter_mut().flat_map(|s| &mut s.cells)
    }
}

/// How the file wrote what the model does not carry, so that it is written
/// back the same way.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NotebookExtras {
    /// `.ipynb`, `.py`: the Markdown cell whose `# ` first line is the title.
    pub title_heading: Option<Heading>,
    /// `.ipynb`: top-level keys besides `cells`, `metadata`, `nbformat`, `nbformat_minor`.
    pub ipynb_keys: Object,
    /// `.livemd`: comments before the title (`<!-- … -->`), verbatim.
    pub livemd_leading_comments: Vec<String>,
    /// `.livemd`: the metadata comment as written, reused while `metadata` is unchanged.
    pub livemd_metadata_text: Option<String>,
    /// `.livemd`: Livebook's stamp comment at the end of the file, verbatim.
    pub livemd_stamp: Option<String>,
    /// `.ipynb`: the `nbformat_minor` the file had (4.x), for writing it back as read.
    pub ipynb_minor: Option<u64>,
    /// The file began with a UTF-8 byte order mark: written back with one.
    pub bom: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    /// Empty for the untitled first section.
    pub title: String,
    pub cells: Vec<Cell>,
    /// `.livemd`: the section's metadata comment (e.g. `branch_parent_index`).
    pub metadata: Object,
    pub extras: SectionExtras,
}

impl Section {
    /// A copy of everything but the cells, without copying them.
    pub fn without_cells(&self) -> Section {
        Section {
            title: self.title.clone(),
            cells: Vec::new(),
            metadata: self.metadata.clone(),
            extras: self.extras.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SectionExtras {
    /// `.ipynb`, `.py`: the Markdown cell whose `## ` first line started the section.
    pub heading: Option<Heading>,
    /// `.livemd`: the metadata comment as written.
    pub livemd_metadata_text: Option<String>,
}

/// A heading that formats without sections (`.ipynb`, `.py`) keep in a
/// Markdown cell. Its first line is the heading; if more text followed in the
/// same cell, that text became the section's first cell and `cell` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Heading {
    /// The heading line as written, e.g. `## Results`.
    pub line: String,
    /// What followed the line before the rest of the cell: `\n`, `\n\n`, or nothing.
    pub gap: String,
    /// The heading's own cell (id, metadata, layout) when it held nothing else.
    pub cell: Option<Box<Cell>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellKind {
    Code,
    Markdown,
    /// Jupyter's raw cells: text passed through unrendered and never run.
    Raw,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub kind: CellKind,
    pub source: String,
    pub outputs: Vec<Output>,
    pub execution_count: Option<u32>,
    /// `.ipynb` 4.5 cell id.
    pub id: Option<String>,
    /// Cell metadata as the file had it (`.ipynb` cell metadata, `.livemd`
    /// metadata comment), kept verbatim.
    pub metadata: Object,
    /// The cell's own language when the file names one that may differ from
    /// the notebook's (a Livebook code fence: `elixir`, `erlang`, `python`).
    pub language: Option<String>,
    /// The 1-based line of the cell's first source line in the file it came
    /// from, where the format has lines (`.livemd`, `.py`).
    pub line: Option<usize>,
    pub extras: CellExtras,
}

impl Cell {
    pub fn new(kind: CellKind, source: impl Into<String>) -> Cell {
        Cell {
            kind,
            source: source.into(),
            outputs: Vec::new(),
            execution_count: None,
            id: None,
            metadata: Object::new(),
            language: None,
            line: None,
            extras: CellExtras::default(),
        }
    }

    pub fn code(source: impl Into<String>) -> Cell {
        Cell::new(CellKind::Code, source)
    }

    pub fn markdown(source: impl Into<String>) -> Cell {
        Cell::new(CellKind::Markdown, source)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellExtras {
    /// `.ipynb`: keys of the cell besides the ones modelled (`attachments`, …).
    pub ipynb_keys: Object,
    /// `.livemd`: the metadata comment as written.
    pub livemd_metadata_text: Option<String>,
    /// `.py`: the marker line and spacing.
    pub percent: Option<PercentLayout>,
}

/// How a percent script wrote a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentLayout {
    /// The `# %%` line as written; `None` for the text before the first marker.
    pub marker: Option<String>,
    /// The text after `# %%` (without a `[markdown]` tag).
    pub title: String,
    /// The cell's lines as written (Markdown with its `#` prefixes), reused
    /// while they still say the cell's source.
    pub body: String,
    /// Blank lines after the cell.
    pub blank_lines_after: usize,
}

/// A cell output, as nbformat 4 models it. `extra` keeps keys Runyard does not know.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Text written to `stdout` or `stderr` (`name`).
    Stream { name: String, text: String, extra: Object },
    /// The value of the cell's last expression: a MIME bundle (`text/plain`,
    /// `text/html`, `image/png` base64, …), kept exactly as the file had it.
    ExecuteResult {
        data: Object,
        execution_count: Option<u32>,
        metadata: Object,
        extra: Object,
    },
    DisplayData {
        data: Object,
        metadata: Object,
        extra: Object,
    },
    Error {
        ename: String,
        evalue: String,
        traceback: Vec<String>,
        extra: Object,
    },
}

impl Output {
    pub fn stream(name: &str, text: impl Into<String>) -> Output {
        Output::Stream {
            name: name.into(),
            text: text.into(),
            extra: Object::new(),
        }
    }

    /// An `execute_result` with just a `text/plain` form.
    pub fn result(text: impl Into<String>, execution_count: Option<u32>) -> Output {
        let mut data = Object::new();
        data.insert("text/plain".into(), Value::String(text.into()));
        Output::ExecuteResult {
            data,
            execution_count,
            metadata: Object::new(),
            extra: Object::new(),
        }
    }

    pub fn error(ename: impl Into<String>, evalue: impl Into<String>, traceback: Vec<String>) -> Output {
        Output::Error {
            ename: ename.into(),
            evalue: evalue.into(),
            traceback,
            extra: Object::new(),
        }
    }

    /// A `display_data` of a bundle.
    pub fn display(bundle: &crate::protocol::Bundle) -> Output {
        Output::DisplayData {
            data: bundle.data.clone(),
            metadata: bundle.metadata.clone(),
            extra: Object::new(),
        }
    }

    /// An `execute_result` of a bundle.
    pub fn execute_result(bundle: &crate::protocol::Bundle, execution_count: Option<u32>) -> Output {
        Output::ExecuteResult {
            data: bundle.data.clone(),
            execution_count,
            metadata: bundle.metadata.clone(),
            extra: Object::new(),
        }
    }

    /// The bundle of a result or display.
    pub fn bundle(&self) -> Option<crate::protocol::Bundle> {
        match self {
            Output::ExecuteResult { data, metadata, .. } | Output::DisplayData { data, metadata, .. } => {
                Some(crate::protocol::Bundle {
                    data: data.clone(),
                    metadata: metadata.clone(),
                })
            }
            _ => None,
        }
    }

    /// The MIME bundle of a result or display.
    pub fn data(&self) -> Option<&Object> {
        match self {
            Output::ExecuteResult { data, .. } | Output::DisplayData { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The output as text for a text view: the stream's text, `text/plain`,
    /// the error's traceback, or a placeholder naming the types it has.
    pub fn display_text(&self) -> String {
        match self {
            Output::Stream { text, .. } => text.clone(),
            Output::Error {
                ename,
                evalue,
                traceback,
                ..
            } => {
                if traceback.is_empty() {
                    format!("{ename}: {evalue}")
                } else {
                    traceback.join("\n")
                }
            }
            Output::ExecuteResult { data, .. } | Output::DisplayData { data, .. } => match data.get("text/plain") {
                Some(Value::String(text)) => text.clone(),
                _ => {
                    let types: Vec<&str> = data.keys().map(String::as_str).collect();
                    format!("[{} output]", types.join(", "))
                }
            },
        }
    }
}
