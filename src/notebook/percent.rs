//! Percent-format scripts: cells separated by `# %%` lines, as VS Code,
//! Spyder and jupytext write them. `# %% [markdown]` starts a Markdown cell
//! whose lines are comments.

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
}

/// Splits a percent script into cells. Text before the first marker is a
/// code cell of its own unless it is blank; blank cells are kept, so that
/// cell numbers match what an editor shows.
pub fn parse(text: &str) -> Vec<PercentCell> {
    let mut cells = Vec::new();
    let mut current: Option<PercentCell> = None;
    let mut preamble = PercentCell {
        kind: CellKind::Code,
        title: String::new(),
        source: String::new(),
        first_line: 1,
    };
    for (index, line) in text.lines().enumerate() {
        if let Some(rest) = marker(line) {
            cells.extend(current.take());
            let (kind, title) = split_tag(rest);
            current = Some(PercentCell {
                kind,
                title,
                source: String::new(),
                first_line: index + 2,
            });
            continue;
        }
        let cell = current.as_mut().unwrap_or(&mut preamble);
        let line = match cell.kind {
            CellKind::Markdown => line
                .strip_prefix("# ")
                .or_else(|| line.strip_prefix('#'))
                .unwrap_or(line),
            CellKind::Code => line,
        };
        cell.source.push_str(line);
        cell.source.push('\n');
    }
    cells.extend(current);
    for cell in &mut cells {
        trim_trailing_blank_lines(&mut cell.source);
    }
    trim_trailing_blank_lines(&mut preamble.source);
    if !preamble.source.trim().is_empty() {
        cells.insert(0, preamble);
    }
    cells
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
}
