//! Percent-format scripts: cells separated by `# %%` lines, as VS Code,
//! Spyder and jupytext write them. `# %% [markdown]` starts a Markdown cell
//! whose lines are comments.

use super::model::{self, Cell, Format, Language, Notebook, NotebookExtras, PercentLayout};
use super::sections;
use crate::kernels::pick::RUNYARD_KEY;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Code,
    Markdown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentCell {
    pub kind: CellKind,
    /// The text after `# %%` on the marker line (without a `[markdown]` tag).
    pub title: String,
    pub source: String,
    /// The 1-based line in the file of the cell's first source line.
    pub first_line: usize,
    /// The marker line as written; `None` for text before the first marker.
    pub marker: Option<String>,
    /// The cell's lines as written (Markdown keeps its `#`), without the
    /// blank lines after it.
    pub body: String,
    pub blank_lines_after: usize,
}

/// Splits a percent script into cells. Text before the first marker is a
/// code cell of its own unless it is blank; blank cells are kept, so that
/// cell numbers match what an editor shows.
pub fn parse(text: &str) -> Vec<PercentCell> {
    // A lone CR ends a line, as Python's universal newlines read it; `lines`
    // alone would keep it in the line and lose it on the next read.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().collect();
    let markers: Vec<usize> = (0..lines.len()).filter(|&i| marker(lines[i]).is_some()).collect();
    let mut cells = Vec::new();
    let preamble_end = markers.first().copied().unwrap_or(lines.len());
    let preamble = cell(CellKind::Code, String::new(), None, &lines[..preamble_end], 1);
    if !preamble.source.trim().is_empty() {
        cells.push(preamble);
    }
    for (k, &at) in markers.iter().enumerate() {
        let end = markers.get(k + 1).copied().unwrap_or(lines.len());
        let (kind, title) = split_tag(marker(lines[at]).expect("a marker line"));
        cells.push(cell(
            kind,
            title,
            Some(lines[at].to_string()),
            &lines[at + 1..end],
            at + 2,
        ));
    }
    cells
}

fn cell(kind: CellKind, title: String, marker: Option<String>, lines: &[&str], first_line: usize) -> PercentCell {
    let blank_lines_after = lines.iter().rev().take_while(|l| l.trim().is_empty()).count();
    let body_lines = &lines[..lines.len() - blank_lines_after];
    let body: String = body_lines.iter().map(|l| format!("{l}\n")).collect();
    PercentCell {
        kind,
        title,
        source: decode(kind, &body),
        first_line,
        marker,
        body,
        blank_lines_after,
    }
}

/// A cell's source from its lines as written: Markdown loses its comment
/// signs; trailing blank lines go.
fn decode(kind: CellKind, body: &str) -> String {
    let mut source = String::new();
    for line in body.lines() {
        let line = match kind {
            CellKind::Markdown => line
                .strip_prefix("# ")
                .or_else(|| line.strip_prefix('#'))
                .unwrap_or(line),
            CellKind::Code => line,
        };
        source.push_str(line);
        source.push('\n');
    }
    trim_trailing_blank_lines(&mut source);
    source
}

/// The lines of a new cell: Markdown as comments (`#` alone on blank lines, as
/// jupytext writes them).
fn encode(kind: CellKind, source: &str) -> String {
    let mut body = String::new();
    for line in source.lines() {
        match kind {
            CellKind::Markdown if line.is_empty() => body.push('#'),
            CellKind::Markdown => {
                body.push_str("# ");
                body.push_str(line);
            }
            CellKind::Code => body.push_str(line),
        }
        body.push('\n');
    }
    body
}

/// Reads a percent script as a notebook (Python, one section per Markdown
/// cell starting with `## `).
pub fn to_notebook(text: &str) -> Notebook {
    let (runyard, text, offset) = match header(text) {
        Some((value, rest)) => (Some(value), rest, 1),
        None => (None, text, 0),
    };
    let cells = parse(text)
        .into_iter()
        .map(|c| {
            let kind = match c.kind {
                CellKind::Code => model::CellKind::Code,
                CellKind::Markdown => model::CellKind::Markdown,
            };
            let mut cell = Cell::new(kind, c.source);
            cell.line = Some(c.first_line + offset);
            cell.extras.percent = Some(PercentLayout {
                marker: c.marker,
                title: c.title,
                body: c.body,
                blank_lines_after: c.blank_lines_after,
            });
            cell
        })
        .collect();
    let split = sections::split(cells);
    Notebook {
        title: split.title,
        sections: split.sections,
        language: Language::Python,
        metadata: runyard
            .map(|value| model::Object::from_iter([(RUNYARD_KEY.to_string(), value)]))
            .unwrap_or_default(),
        format: Some(Format::Percent),
        extras: NotebookExtras {
            title_heading: split.title_heading,
            ..NotebookExtras::default()
        },
    }
}

/// Writes a notebook as a percent script. Cells read from one keep their
/// marker lines, comment style and spacing; new ones get `# %%` and one
/// blank line between cells. Outputs are not part of the format.
pub fn to_string(notebook: &Notebook) -> String {
    let same = notebook.format == Some(Format::Percent);
    let cells = sections::flatten(notebook, same);
    let mut out = String::new();
    if let Some(runyard @ serde_json::Value::Object(_)) = notebook.metadata.get(RUNYARD_KEY) {
        out.push_str(HEADER);
        out.push_str(&super::json::to_compact(runyard));
        out.push('\n');
    }
    let count = cells.len();
    for (i, cell) in cells.iter().enumerate() {
        let kind = match cell.kind {
            model::CellKind::Code => CellKind::Code,
            model::CellKind::Markdown | model::CellKind::Raw => CellKind::Markdown,
        };
        let layout = cell.extras.percent.as_ref();
        let title = layout.map_or("", |l| l.title.as_str());
        let marker_line = match layout.map(|l| &l.marker) {
            Some(None) if i == 0 => None,
            Some(Some(m)) if marker(m).map(split_tag) == Some((kind, title.to_string())) => Some(m.clone()),
            _ => Some(canonical_marker(kind, title)),
        };
        if let Some(m) = marker_line {
            out.push_str(&m);
            out.push('\n');
        }
        match layout {
            Some(l) if decode(kind, &l.body) == cell.source => out.push_str(&l.body),
            _ => out.push_str(&encode(kind, &cell.source)),
        }
        let blanks = layout.map_or(usize::from(i + 1 < count), |l| l.blank_lines_after);
        out.extend(std::iter::repeat_n('\n', blanks));
    }
    out
}

/// Runyard's header line: `# runyard: {"python": ".venv"}`, the runtime
/// chosen for the script (a comment, so Python ignores it).
const HEADER: &str = "# runyard: ";

/// The header's JSON object and the text after its line, if the first line is one.
fn header(text: &str) -> Option<(serde_json::Value, &str)> {
    let (first, rest) = match text.split_once('\n') {
        Some((first, rest)) => (first, rest),
        None => (text, ""),
    };
    let json = first.strip_suffix('\r').unwrap_or(first).strip_prefix(HEADER)?;
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(value @ serde_json::Value::Object(_)) => Some((value, rest)),
        // Not ours after all: an ordinary comment, left in the first cell.
        _ => None,
    }
}

fn canonical_marker(kind: CellKind, title: &str) -> String {
    let mut m = String::from("# %%");
    if !title.is_empty() {
        m.push(' ');
        m.push_str(title);
    }
    if kind == CellKind::Markdown {
        m.push_str(" [markdown]");
    }
    m
}

fn marker(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("#")?.trim_start();
    let rest = rest.strip_prefix("%%")?;
    // `# %%%` or `# %%foo` are not markers.
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        Some(rest.trim())
    } else {
        None
    }
}

fn split_tag(rest: &str) -> (CellKind, String) {
    for tag in ["[markdown]", "[md]"] {
        if let Some(pos) = rest.find(tag) {
            let title = format!("{}{}", &rest[..pos], &rest[pos + tag.len()..]);
            return (CellKind::Markdown, title.trim().to_string());
        }
    }
    (CellKind::Code, rest.to_string())
}

fn trim_trailing_blank_lines(source: &mut String) {
    let kept = source.trim_end().len();
    source.truncate(kept);
    if kept > 0 {
        source.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cells_at_markers_and_remembers_their_lines() {
        let text = "import os\n\n# %% Load\nx = 1\n\n# %% [markdown]\n# # Title\n# text\n#%%\nprint(x)\n";
        let cells = parse(text);
        assert_eq!(cells.len(), 4, "{cells:#?}");
        assert_eq!(cells[0].source, "import os\n");
        assert_eq!(cells[0].first_line, 1);
        assert_eq!(cells[1].title, "Load");
        assert_eq!(cells[1].source, "x = 1\n");
        assert_eq!(cells[1].first_line, 4);
        assert_eq!(cells[2].kind, CellKind::Markdown);
        assert_eq!(cells[2].source, "# Title\ntext\n");
        assert_eq!(cells[3].source, "print(x)\n");
        assert_eq!(cells[3].first_line, 10);
    }

    #[test]
    fn a_file_without_markers_is_one_cell_and_near_misses_are_code() {
        let cells = parse("a = 1\n# %%%\n# %%x\nb = 2");
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].source, "a = 1\n# %%%\n# %%x\nb = 2\n");
        assert!(parse("").is_empty());
        assert!(parse("\n\n").is_empty());
    }

    #[test]
    fn keeps_empty_cells_so_numbers_match_the_editor() {
        let cells = parse("# %%\n# %%\nx = 1\n");
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0].source, "");
        assert_eq!(cells[1].source, "x = 1\n");
    }

    #[test]
    fn saving_gives_back_the_same_text() {
        let texts = [
            "import os\n\n# %% Load\nx = 1\n\n\n# %% [markdown]\n# # Title\n#\n# text\n#%%\nprint(x)\n",
            "# %% [markdown]\n# # Notebook\n\n# %%\na = 1\n\n# %% [markdown]\n# ## Part\n# more\n\n# %%\n\nb = 2\n",
            "# %%\n# %%\nx = 1\n",
        ];
        for text in texts {
            let nb = to_notebook(text);
            assert_eq!(to_string(&nb), text);
        }
        let nb = to_notebook(texts[1]);
        assert_eq!(nb.title.as_deref(), Some("Notebook"));
        assert_eq!(nb.sections.len(), 2);
        assert_eq!(nb.sections[1].title, "Part");
        assert_eq!(nb.sections[1].cells[0].source, "more\n");
    }

    #[test]
    fn edited_and_new_cells_are_written_in_the_usual_style() {
        let mut nb = to_notebook("# %%\nx = 1\n");
        nb.sections[0].cells[0].source = "x = 2\n".into();
        nb.sections[0].cells.push(model::Cell::markdown("Some *text*\n\nmore"));
        nb.sections[0].cells[0].kind = model::CellKind::Code;
        assert_eq!(
            to_string(&nb),
            "# %%\nx = 2\n# %% [markdown]\n# Some *text*\n#\n# more\n"
        );
    }
}
