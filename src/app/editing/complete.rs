//! Completion in the editor, as pure functions: which matches of an answer
//! still fit what was typed since it was asked, and the text once one is
//! accepted. Positions are chars, as the runtime's `start` / `end` are.

use super::{Edited, Selection};

/// What was typed of the name being completed: the chars from the answer's
/// `start` to the cursor. `None` once the completion no longer applies: the
/// cursor went before `start`, or a char that cannot be part of a name (a
/// space, a bracket, an operator) was typed. A `.` ends a name too: the
/// attributes after it are another question.
pub fn typed(text: &str, start: usize, cursor: usize) -> Option<String> {
    if cursor < start {
        return None;
    }
    let typed: String = text.chars().skip(start).take(cursor - start).collect();
    if typed.chars().count() != cursor - start {
        return None; // the text got shorter than the cursor
    }
    typed.chars().all(is_name_char).then_some(typed)
}

/// Chars of names in Python and Elixir (`?` and `!` end Elixir functions,
/// `@` starts a module attribute, `:` an atom), and of paths in strings.
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '?' | '!' | '@' | ':' | '/' | '-' | '~')
}

/// The indices of `matches` that fit `typed`: a case-sensitive prefix first,
/// as the runtime ordered them, then case-insensitive ones.
pub fn fitting<'a>(matches: impl Iterator<Item = &'a str> + Clone, typed: &str) -> Vec<usize> {
    let exact = matches.clone().enumerate().filter(|(_, m)| m.starts_with(typed));
    let lower = typed.to_lowercase();
    let loose = matches
        .enumerate()
        .filter(|(_, m)| !m.starts_with(typed) && m.to_lowercase().starts_with(&lower));
    exact.chain(loose).map(|(i, _)| i).collect()
}

/// `text` with the chars from `start` to `cursor` replaced by `choice`
/// (the runtime's match, which includes what was typed), the cursor after it.
pub fn accept(text: &str, start: usize, cursor: usize, choice: &str) -> Edited {
    let chars: Vec<char> = text.chars().collect();
    let start = start.min(chars.len());
    let cursor = cursor.clamp(start, chars.len());
    let mut out: String = chars[..start].iter().collect();
    out.push_str(choice);
    let at = out.chars().count();
    out.extend(&chars[cursor..]);
    Edited {
        text: out,
        selection: Selection::caret(at),
    }
}

/// Whether there is code left of `cursor` on its line: Tab and Shift+Tab
/// then ask the runtime (completion, documentation) instead of indenting.
pub fn after_code(text: &str, cursor: usize) -> bool {
    let before: Vec<char> = text.chars().take(cursor).collect();
    before
        .iter()
        .rev()
        .take_while(|&&c| c != '\n')
        .any(|c| !c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_is_the_name_since_start() {
        assert_eq!(typed("df.hea", 3, 6).as_deref(), Some("hea"));
        assert_eq!(typed("df.", 3, 3).as_deref(), Some(""));
        assert_eq!(typed("Enum.ma", 5, 7).as_deref(), Some("ma"));
    }

    #[test]
    fn typed_ends_where_a_name_cannot_go_on() {
        assert_eq!(typed("df.head(", 3, 8), None, "a bracket");
        assert_eq!(typed("pri nt", 0, 6), None, "a space");
        assert_eq!(typed("df.head", 3, 2), None, "the cursor went back past the start");
        assert_eq!(typed("ab", 0, 5), None, "the text got shorter");
        assert_eq!(typed("a.b", 0, 3), None, "a dot starts another question");
    }

    #[test]
    fn fitting_keeps_the_runtimes_order_exact_first() {
        let matches = ["head", "hist", "Head", "tail"];
        assert_eq!(fitting(matches.iter().copied(), "h"), vec![0, 1, 2]);
        assert_eq!(fitting(matches.iter().copied(), "He"), vec![2, 0]);
        assert_eq!(fitting(matches.iter().copied(), ""), vec![0, 1, 2, 3]);
        assert!(fitting(matches.iter().copied(), "x").is_empty());
    }

    #[test]
    fn accept_replaces_what_was_typed() {
        let edited = accept("x = df.he + 1", 7, 9, "head");
        assert_eq!(edited.text, "x = df.head + 1");
        assert_eq!(edited.selection, Selection::caret(11));
        // Multi-byte chars count as one, as egui's cursors do.
        let edited = accept("é.ab", 2, 4, "abc");
        assert_eq!(edited.text, "é.abc");
        assert_eq!(edited.selection, Selection::caret(5));
    }

    #[test]
    fn after_code_looks_at_the_cursors_line_only() {
        assert!(after_code("x = pri", 7));
        assert!(!after_code("if x:\n    ", 10));
        assert!(!after_code("", 0));
        assert!(after_code("    os.path", 11));
    }
}
