//! Sections for formats that only have a flat list of cells (`.ipynb`, `.py`).
//!
//! A Markdown cell whose first line is a `## ` heading starts a section; a
//! first cell whose first line is a `# ` heading gives the title. Only the
//! first line counts: headings further down a cell stay text. The heading
//! line is taken out of the cell; if the cell had more text, that text stays
//! as the section's first cell (with the cell's id and metadata), otherwise
//! the heading cell is remembered whole. Flattening puts the heading back the
//! way it was written, so the file opens the same in Jupyter.

use super::model::{Cell, CellKind, Heading, Notebook, Section, SectionExtras};

pub(crate) struct Split {
    pub title: Option<String>,
    pub title_heading: Option<Heading>,
    pub sections: Vec<Section>,
}

/// Splits cells into the title and sections. With no `##` heading there is
/// one untitled section.
pub(crate) fn split(cells: Vec<Cell>) -> Split {
    let mut cells = cells.into_iter().peekable();
    let mut title = None;
    let mut title_heading = None;
    let mut rest_of_title_cell = None;
    if let Some(first) = cells.peek()
        && let Some(text) = heading_of(first, 1)
    {
        let first = cells.next().expect("peeked");
        title = Some(text);
        let (heading, rest) = take_heading(first);
        title_heading = Some(heading);
        rest_of_title_cell = rest;
    }

    let mut sections = Vec::new();
    let mut current = Section::default();
    for cell in rest_of_title_cell.into_iter().chain(cells) {
        if let Some(text) = heading_of(&cell, 2) {
            if !current.cells.is_empty() || !current.title.is_empty() || current.extras.heading.is_some() {
                sections.push(std::mem::take(&mut current));
            }
            let (heading, rest) = take_heading(cell);
            current = Section {
                title: text,
                cells: rest.into_iter().collect(),
                extras: SectionExtras {
                    heading: Some(heading),
                    ..SectionExtras::default()
                },
                ..Section::default()
            };
        } else {
            current.cells.push(cell);
        }
    }
    if sections.is_empty() || !current.cells.is_empty() || current.extras.heading.is_some() {
        sections.push(current);
    }
    Split {
        title,
        title_heading,
        sections,
    }
}

/// The cells of the notebook in file order, headings included. `keep_layout`
/// is false when saving to another format than the notebook was read from:
/// headings are then written afresh.
/// `keep_layout`: the notebook is written in the format it was read from;
/// `keep_metadata`: the target holds the cells' metadata (Jupyter's cell
/// metadata goes between `.ipynb` and percent scripts, as jupytext carries it).
pub(crate) fn flatten(notebook: &Notebook, keep_layout: bool, keep_metadata: bool) -> Vec<Cell> {
    // In another format a heading keeps its place (alone in its cell, or
    // first in one), not its cell's metadata.
    let heading_of = |h: Option<&Heading>| {
        h.map(|h| Heading {
            line: h.line.clone(),
            gap: h.gap.clone(),
            cell: h.cell.as_ref().map(|c| Box::new(own(c, keep_layout, keep_metadata))),
        })
    };
    let mut cells = Vec::new();
    for section in &notebook.sections {
        let heading = heading_of(section.extras.heading.as_ref());
        let heading = heading.as_ref();
        if section.title.is_empty() && heading.is_none() {
            // An untitled section after the first has no heading to write: its
            // cells join the section above when the file is opened again.
            cells.extend(section.cells.iter().map(|c| own(c, keep_layout, keep_metadata)));
            continue;
        }
        let mut section_cells: Vec<Cell> = section
            .cells
            .iter()
            .map(|c| own(c, keep_layout, keep_metadata))
            .collect();
        put_heading(&mut section_cells, heading, 2, &section.title);
        cells.extend(section_cells);
    }
    if let Some(title) = &notebook.title {
        let heading = heading_of(notebook.extras.title_heading.as_ref());
        put_heading(&mut cells, heading.as_ref(), 1, title);
    }
    cells
}

/// A cell as written to a format: its layout and metadata only if they are
/// that format's.
fn own(cell: &Cell, keep_layout: bool, keep_metadata: bool) -> Cell {
    let mut cell = cell.clone();
    if !keep_layout {
        cell.extras = Default::default();
    }
    if !keep_metadata {
        cell.metadata.clear();
    }
    cell
}

fn put_heading(cells: &mut Vec<Cell>, heading: Option<&Heading>, level: usize, title: &str) {
    let line = match heading {
        Some(h) if parse_heading(&h.line, level).as_deref() == Some(title.trim()) => h.line.clone(),
        _ => format!("{} {}", "#".repeat(level), title),
    };
    match heading {
        Some(Heading {
            cell: Some(cell), gap, ..
        }) => {
            let mut cell = (**cell).clone();
            cell.source = format!("{line}{gap}");
            cells.insert(0, cell);
        }
        Some(Heading { cell: None, gap, .. }) if cells.first().is_some_and(|c| c.kind == CellKind::Markdown) => {
            let first = &mut cells[0];
            let gap = if gap.is_empty() { "\n\n" } else { gap };
            first.source = format!("{line}{gap}{}", first.source);
        }
        _ => cells.insert(0, Cell::markdown(line)),
    }
}

/// The heading text if the cell is Markdown and its first line is a heading
/// of exactly `level`.
fn heading_of(cell: &Cell, level: usize) -> Option<String> {
    if cell.kind != CellKind::Markdown {
        return None;
    }
    parse_heading(cell.source.split('\n').next().unwrap_or(""), level)
}

/// `## Title` → `Title` for level 2 (ATX: the hashes, then a space or the end).
pub(crate) fn parse_heading(line: &str, level: usize) -> Option<String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let rest = line.strip_prefix(&"#".repeat(level))?;
    if rest.is_empty() {
        return Some(String::new());
    }
    if rest.starts_with([' ', '\t']) {
        Some(rest.trim().to_string())
    } else {
        None
    }
}

/// Takes the heading line (and the blank lines after it) out of a cell.
/// Returns the heading and what is left of the cell, if anything.
fn take_heading(mut cell: Cell) -> (Heading, Option<Cell>) {
    let source = std::mem::take(&mut cell.source);
    let line_end = source.find('\n').unwrap_or(source.len());
    let line = source[..line_end].to_string();
    let rest = &source[line_end..];
    let mut gap_end = 0;
    loop {
        match rest[gap_end..].find('\n') {
            Some(nl) if rest[gap_end..gap_end + nl].trim().is_empty() => gap_end += nl + 1,
            _ => break,
        }
    }
    if rest[gap_end..].trim().is_empty() {
        cell.source = source;
        let gap = cell.source[line_end..].to_string();
        (
            Heading {
                line,
                gap,
                cell: Some(Box::new(cell)),
            },
            None,
        )
    } else {
        let gap = rest[..gap_end].to_string();
        cell.source = rest[gap_end..].to_string();
        (Heading { line, gap, cell: None }, Some(cell))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(s: &str) -> Cell {
        Cell::markdown(s)
    }

    fn notebook(split: Split) -> Notebook {
        Notebook {
            title: split.title,
            sections: split.sections,
            extras: crate::notebook::model::NotebookExtras {
                title_heading: split.title_heading,
                ..Default::default()
            },
            ..Notebook::default()
        }
    }

    #[test]
    fn headings_start_sections_and_flatten_back_the_same() {
        let cells = vec![
            md("# Title\n\nIntro"),
            Cell::code("x = 1"),
            md("## First\n"),
            Cell::code("y = 2"),
            md("## Second\n\n\nText ## not a heading\n## nor this"),
            md("### Sub"),
        ];
        let split = split(cells.clone());
        assert_eq!(split.title.as_deref(), Some("Title"));
        let titles: Vec<_> = split.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["", "First", "Second"]);
        assert_eq!(split.sections[0].cells[0].source, "Intro");
        assert_eq!(split.sections[1].cells.len(), 1);
        assert_eq!(split.sections[2].cells[0].source, "Text ## not a heading\n## nor this");
        let nb = notebook(split);
        assert_eq!(flatten(&nb, true, true), cells);
    }

    #[test]
    fn no_headings_is_one_untitled_section() {
        let split = split(vec![Cell::code("1"), md("text")]);
        assert_eq!(split.title, None);
        assert_eq!(split.sections.len(), 1);
        assert_eq!(split.sections[0].title, "");
        let empty = super::split(Vec::new());
        assert_eq!(empty.sections.len(), 1);
    }

    #[test]
    fn renamed_and_new_sections_get_headings() {
        let mut nb = notebook(split(vec![md("## Old\n\nbody"), Cell::code("1")]));
        nb.sections[0].title = "New".into();
        nb.sections.push(Section {
            title: "Added".into(),
            cells: vec![Cell::code("2")],
            ..Section::default()
        });
        nb.title = Some("T".into());
        let flat = flatten(&nb, true, true);
        let sources: Vec<_> = flat.iter().map(|c| c.source.as_str()).collect();
        assert_eq!(sources, ["# T", "## New\n\nbody", "1", "## Added", "2"]);
    }
}
