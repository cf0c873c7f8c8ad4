//! A text as chars and where its lines are, "\n" and "\r\n" alike.

use std::ops::Range;

use super::Selection;

pub(super) struct Lines {
    pub chars: Vec<char>,
    /// Each line's first char and its end (before "\n" or "\r\n").
    spans: Vec<(usize, usize)>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let chars: Vec<char> = text.chars().collect();
        let mut spans = Vec::new();
        let mut start = 0;
        for (i, c) in chars.iter().enumerate() {
            if *c == '\n' {
                let end = if i > start && chars[i - 1] == '\r' { i - 1 } else { i };
                spans.push((start, end));
                start = i + 1;
            }
        }
        spans.push((start, chars.len()));
        Lines { chars, spans }
    }

    /// The line `pos` is on (a position within a "\r\n" is on the line it ends).
    pub fn line_of(&self, pos: usize) -> usize {
        self.spans.partition_point(|(start, _)| *start <= pos).saturating_sub(1)
    }

    pub fn span(&self, line: usize) -> (usize, usize) {
        self.spans[line]
    }

    /// The lines a selection touches; one that it ends at the very start of
    /// is not one of them (selecting two whole lines ends on the third).
    pub fn touched(&self, selection: Selection) -> Range<usize> {
        let first = self.line_of(selection.start());
        let mut last = self.line_of(selection.end());
        if !selection.is_empty() && last > first && selection.end() == self.spans[last].0 {
            last -= 1;
        }
        first..last + 1
    }

    /// Where the line's indentation (spaces and tabs) ends.
    pub fn indent_end(&self, line: usize) -> usize {
        let (start, end) = self.spans[line];
        (start..end).find(|&i| !is_indent(self.chars[i])).unwrap_or(end)
    }

    pub fn is_blank(&self, line: usize) -> bool {
        let (_, end) = self.spans[line];
        self.indent_end(line) == end
    }

    /// What the text ends its lines with: "\r\n" if its first line does.
    pub fn line_ending(&self) -> &'static str {
        match self.spans.first() {
            Some(&(_, end)) if self.chars.get(end) == Some(&'\r') => "\r\n",
            _ => "\n",
        }
    }
}

pub(super) fn is_indent(c: char) -> bool {
    c == ' ' || c == '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_before_lf_and_crlf() {
        let lines = Lines::new("a\r\nbc\n\nd");
        assert_eq!(lines.spans, [(0, 1), (3, 5), (6, 6), (7, 8)]);
        assert_eq!(lines.line_ending(), "\r\n");
        assert_eq!(lines.line_of(0), 0);
        assert_eq!(lines.line_of(2), 0, "between \\r and \\n");
        assert_eq!(lines.line_of(3), 1);
        assert_eq!(lines.line_of(8), 3, "the end of the text");
        assert_eq!(Lines::new("").spans, [(0, 0)]);
        assert_eq!(Lines::new("x\n").line_ending(), "\n");
    }

    #[test]
    fn a_selection_ending_at_a_line_start_does_not_touch_that_line() {
        let lines = Lines::new("ab\ncd\nef");
        assert_eq!(lines.touched(Selection::new(0, 6)), 0..2);
        assert_eq!(lines.touched(Selection::new(6, 1)), 0..2);
        assert_eq!(lines.touched(Selection::new(1, 7)), 0..3);
        assert_eq!(lines.touched(Selection::caret(3)), 1..2);
        assert_eq!(lines.touched(Selection::new(3, 3)), 1..2);
    }

    #[test]
    fn indentation_is_spaces_and_tabs() {
        let lines = Lines::new("  \tx\n   \nz");
        assert_eq!(lines.indent_end(0), 3);
        assert!(lines.is_blank(1));
        assert!(!lines.is_blank(2));
    }
}
