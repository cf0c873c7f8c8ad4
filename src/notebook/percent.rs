//! Percent-format scripts: cells separated by `# %%` lines, as VS Code,
//! Spyder and jupytext write them. `# %% [markdown]` starts a Markdown cell
//! whose lines are comments, `# %% [raw]` a raw one; `key=JSON` options at
//! the end of a marker line are the cell's metadata, as jupytext writes
//! them (`# %% tags=["parameters"]`).

use super::model::{self, Cell, Format, Language, Notebook, NotebookExtras, PercentLayout};
use super::sections;
use crate::kernels::pick::RUNYARD_KEY;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Code,
    Markdown,
    Raw,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentCell {
    pub kind: CellKind,
    /// The text after `# %%` on the marker line (without a `[markdown]` tag
    /// or the options).
    pub title: String,
    /// The marker line's `key=JSON` options.
    pub metadata: model::Object,
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
    // A byte order mark is not text (Python skips it too).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A lone CR ends a line, as Python's universal newlines read it; `lines`
    // alone would keep it in the line and lose it on the next read.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().collect();
    let markers: Vec<usize> = (0..lines.len()).filter(|&i| marker(lines[i]).is_some()).collect();
    let mut cells = Vec::new();
    let preamble_end = markers.first().copied().unwrap_or(lines.len());
    let preamble = cell(
        (CellKind::Code, String::new(), model::Object::new()),
        None,
        &lines[..preamble_end],
        1,
    );
    if !preamble.source.trim().is_empty() {
        cells.push(preamble);
    }
    for (k, &at) in markers.iter().enumerate() {
        let end = markers.get(k + 1).copied().unwrap_or(lines.len());
        cells.push(cell(
            split_tag(marker(lines[at]).expect("a marker line")),
            Some(lines[at].to_string()),
            &lines[at + 1..end],
            at + 2,
        ));
    }
    cells
}

fn cell(
    (kind, title, metadata): (CellKind, String, model::Object),
    marker: Option<String>,
    lines: &[&str],
    first_line: usize,
) -> PercentCell {
    let blank_lines_after = lines.iter().rev().take_while(|l| l.trim().is_empty()).count();
    let body_lines = &lines[..lines.len() - blank_lines_after];
    let body: String = body_lines.iter().map(|l| format!("{l}\n")).collect();
    PercentCell {
        kind,
        title,
        metadata,
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
            CellKind::Markdown | CellKind::Raw => line
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
            CellKind::Markdown | CellKind::Raw if line.is_empty() => body.push('#'),
            CellKind::Markdown | CellKind::Raw => {
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
                CellKind::Raw => model::CellKind::Raw,
            };
            let mut cell = Cell::new(kind, c.source);
            cell.metadata = c.metadata;
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
    let cells = sections::flatten(notebook, same, same || notebook.format == Some(Format::Ipynb));
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
            model::CellKind::Markdown => CellKind::Markdown,
            model::CellKind::Raw => CellKind::Raw,
        };
        let layout = cell.extras.percent.as_ref();
        let title = layout.map_or("", |l| l.title.as_str());
        let said = (kind, title.to_string(), cell.metadata.clone());
        let marker_line = match layout.map(|l| &l.marker) {
            Some(None) if i == 0 && cell.metadata.is_empty() => None,
            Some(Some(m)) if marker(m).map(split_tag).as_ref() == Some(&said) => Some(m.clone()),
            _ => Some(canonical_marker(kind, title, &cell.metadata)),
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

fn canonical_marker(kind: CellKind, title: &str, metadata: &model::Object) -> String {
    let mut m = String::from("# %%");
    if !title.is_empty() {
        m.push(' ');
        m.push_str(title);
    }
    match kind {
        CellKind::Markdown => m.push_str(" [markdown]"),
        CellKind::Raw => m.push_str(" [raw]"),
        CellKind::Code => {}
    }
    // A key that would not read back as an option is left out (and so
    // reported dropped by a conversion) rather than turned into title text.
    for (key, value) in metadata.iter().filter(|(key, _)| option_key(key)) {
        m.push_str(&format!(" {key}={value}"));
    }
    m
}

fn option_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
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

/// The kind, title and options of a marker line's text after `%%`.
fn split_tag(rest: &str) -> (CellKind, String, model::Object) {
    let (rest, metadata) = split_options(rest);
    for (tag, kind) in [
        ("[markdown]", CellKind::Markdown),
        ("[md]", CellKind::Markdown),
        ("[raw]", CellKind::Raw),
    ] {
        if let Some(pos) = rest.find(tag) {
            let title = format!("{}{}", &rest[..pos], &rest[pos + tag.len()..]);
            return (kind, title.trim().to_string(), metadata);
        }
    }
    (CellKind::Code, rest.trim_end().to_string(), metadata)
}

/// Splits `Title key="v" tags=["a"]` into the text before the options and
/// the options: the longest tail of whitespace-separated `key=JSON` pairs.
/// Text that is not wholly such pairs stays in the title.
fn split_options(rest: &str) -> (&str, model::Object) {
    let starts = rest
        .char_indices()
        .filter(|&(i, c)| (c.is_ascii_alphabetic() || c == '_') && (i == 0 || rest[..i].ends_with(char::is_whitespace)))
        .map(|(i, _)| i);
    for start in starts {
        if let Some(options) = parse_options(&rest[start..]) {
            return (&rest[..start], options);
        }
    }
    (rest, model::Object::new())
}

fn parse_options(mut text: &str) -> Option<model::Object> {
    let mut options = model::Object::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Some(options);
        }
        let eq = text.find('=')?;
        let key = &text[..eq];
        if !option_key(key) {
            return None;
        }
        let mut values = serde_json::Deserializer::from_str(&text[eq + 1..]).into_iter::<serde_json::Value>();
        let value = values.next()?.ok()?;
        let end = eq + 1 + values.byte_offset();
        text = &text[end..];
        if !(text.is_empty() || text.starts_with(char::is_whitespace)) {
            return None;
        }
        options.insert(key.to_string(), value);
    }
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
    fn options_are_metadata_and_raw_cells_stay_raw_as_jupytext_writes_them() {
        let text = "\u{feff}# %% Load [markdown] tags=[\"a\"] n=1\n# text\n# %% [raw] raw_mimetype=\"text/x-rst\"\n# .. rst\n# %% x = 1 y=2 z\n";
        let cells = parse(text);
        assert_eq!(cells[0].kind, CellKind::Markdown);
        assert_eq!(cells[0].title, "Load");
        assert_eq!(cells[0].metadata["tags"][0], "a");
        assert_eq!(cells[0].metadata["n"], 1);
        assert_eq!(cells[1].kind, CellKind::Raw);
        assert_eq!(cells[1].source, ".. rst\n");
        assert_eq!(cells[1].metadata["raw_mimetype"], "text/x-rst");
        assert_eq!(cells[2].title, "x = 1 y=2 z", "not all options: a title");
        assert!(cells[2].metadata.is_empty());
        let mut odd = model::Object::new();
        odd.insert("has space".into(), 1.into());
        odd.insert("ok".into(), 2.into());
        assert_eq!(canonical_marker(CellKind::Code, "", &odd), "# %% ok=2");
        let nb = to_notebook(text);
        assert_eq!(nb.sections[0].cells[1].kind, model::CellKind::Raw);
        assert_eq!(to_string(&nb), text.trim_start_matches('\u{feff}'));
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
