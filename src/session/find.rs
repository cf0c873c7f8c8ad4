//! Finding text across a notebook's code and Markdown cells: a pure
//! function of the cells and the query, so that the window searches only
//! when one of them changed, never every frame.

use std::ops::Range;

use super::{Cell, CellId, CellKind, Session};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub text: String,
    /// Off by default: "Foo" finds "foo".
    pub match_case: bool,
}

/// Where a query was found: a cell and chars of its source (char indices,
/// as the editors' cursors count them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub cell: CellId,
    pub range: Range<usize>,
}

impl Session {
    /// Every match of `query` in the notebook, in notebook order.
    pub fn find(&self, query: &Query) -> Vec<Match> {
        find(self.cells(), query)
    }
}

/// The matches of `query` in the code and Markdown cells of `cells`, in
/// their order, each cell's from its start and not overlapping (as editors
/// count them: "aa" is found once in "aaa"). Raw cells are left out.
pub fn find<'a>(cells: impl IntoIterator<Item = &'a Cell>, query: &Query) -> Vec<Match> {
    let mut found = Vec::new();
    if query.text.is_empty() {
        return found;
    }
    let needle = if query.match_case {
        query.text.clone()
    } else {
        fold(&query.text)
    };
    let width = needle.chars().count();
    let mut folded = String::new();
    for cell in cells {
        if !matches!(cell.kind, CellKind::Code | CellKind::Markdown) {
            continue;
        }
        let haystack = if query.match_case {
            cell.code.as_str()
        } else {
            folded.clear();
            fold_into(&cell.code, &mut folded);
            folded.as_str()
        };
        // In ASCII, bytes are chars: no counting (most code is ASCII).
        let ascii = haystack.is_ascii();
        let (mut counted_bytes, mut counted_chars) = (0, 0);
        for (byte, _) in haystack.match_indices(needle.as_str()) {
            let start = if ascii {
                byte
            } else {
                counted_chars += haystack[counted_bytes..byte].chars().count();
                counted_bytes = byte;
                counted_chars
            };
            found.push(Match {
                cell: cell.id,
                range: start..start + width,
            });
        }
    }
    found
}

fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    fold_into(text, &mut folded);
    folded
}

/// `text` in lower case, char for char: a char whose lower case is more
/// than one char ('İ') is kept as it is, so that the folded text's char
/// indices are the original's.
fn fold_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        out.push_str(text);
        out.make_ascii_lowercase();
        return;
    }
    out.extend(text.chars().map(|c| {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) => l,
            _ => c,
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(sources: &[(CellKind, &str)]) -> Vec<Cell> {
        sources
            .iter()
            .enumerate()
            .map(|(i, (kind, code))| Cell::new(CellId(i as u64 + 1), *kind, code.to_string()))
            .collect()
    }

    fn query(text: &str) -> Query {
        Query {
            text: text.into(),
            match_case: false,
        }
    }

    fn found(cells: &[Cell], query: &Query) -> Vec<(u64, Range<usize>)> {
        find(cells, query).into_iter().map(|m| (m.cell.0, m.range)).collect()
    }

    #[test]
    fn finds_in_code_and_markdown_in_notebook_order() {
        let cells = cells(&[
            (CellKind::Code, "total = 1"),
            (CellKind::Raw, "total"),
            (CellKind::Markdown, "# Total\nthe total"),
            (CellKind::Code, "print(total, total)"),
        ]);
        assert_eq!(
            found(&cells, &query("total")),
            [(1, 0..5), (3, 2..7), (3, 12..17), (4, 6..11), (4, 13..18)]
        );
    }

    #[test]
    fn case_is_ignored_unless_asked() {
        let cells = cells(&[(CellKind::Code, "Foo foo FOO")]);
        assert_eq!(found(&cells, &query("foo")).len(), 3);
        assert_eq!(found(&cells, &query("FOO")).len(), 3);
        let exact = Query {
            text: "Foo".into(),
            match_case: true,
        };
        assert_eq!(found(&cells, &exact), [(1, 0..3)]);
    }

    #[test]
    fn ranges_are_chars_even_where_cases_differ_in_length() {
        // "İ" lower-cases to two chars; "É" to one ("é"), two bytes each.
        let cells = cells(&[(CellKind::Code, "İ x = 'Élan élan'\r\nélan")]);
        assert_eq!(found(&cells, &query("élan")), [(1, 7..11), (1, 12..16), (1, 19..23)]);
        assert_eq!(found(&cells, &query("x")), [(1, 2..3)]);
    }

    #[test]
    fn nothing_for_an_empty_query_or_no_cells_and_no_overlaps() {
        let cells = cells(&[(CellKind::Code, "aaa"), (CellKind::Code, "")]);
        assert!(found(&cells, &query("")).is_empty());
        assert!(find(&[], &query("a")).is_empty());
        assert_eq!(found(&cells, &query("aa")), [(1, 0..2)]);
    }

    #[test]
    fn a_session_finds_across_its_sections() {
        let mut session = Session::new(crate::SessionId(1), "Notebook", crate::RuntimeConfig::python());
        let first = session.add_cell("x = 1");
        let section = session.add_section("Second");
        let second = session.insert_cell(section, None, CellKind::Markdown, "x marks".into());
        let cells: Vec<CellId> = session.find(&query("X")).into_iter().map(|m| m.cell).collect();
        assert_eq!(cells, [first, second]);
    }

    #[test]
    fn two_thousand_cells_are_searched_quickly() {
        // The find bar searches again when the notebook changes, so a big
        // notebook must cost little: about 0.7 MB here.
        let code = "import numpy as np\nfor i in range(10):\n    values = np.linspace(0, 1, 100)\n    print(i, values.mean())\n";
        let cells: Vec<Cell> = (0..2000)
            .map(|i| Cell::new(CellId(i), CellKind::Code, format!("{code}{code}{code}# cell {i}\n")))
            .collect();
        let start = std::time::Instant::now();
        let matches = find(&cells, &query("VALUES"));
        let elapsed = start.elapsed();
        assert_eq!(matches.len(), 2000 * 6);
        // Milliseconds in a release build; generous for a debug build on a
        // busy machine, and still far from a search that went quadratic.
        assert!(elapsed < std::time::Duration::from_millis(500), "{elapsed:?}");
    }
}
