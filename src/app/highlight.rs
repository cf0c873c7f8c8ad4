//! Syntax highlighting for the code editors. Python uses egui_extras'
//! highlighter; egui_extras has no Elixir, so a small lexer here covers it
//! with the same theme colours.

use std::ops::Range;

use egui::Color32;
use egui::text::{ByteIndex, LayoutJob, LayoutSection};
use egui_extras::syntax_highlighting::{CodeTheme, TokenType};

/// A highlighted layout of `code` in `language` ("python", "elixir"; other
/// languages are shown plain).
pub fn highlight(ctx: &egui::Context, style: &egui::Style, code: &str, language: &str) -> LayoutJob {
    let theme = CodeTheme::from_style(style);
    match language {
        "python" => egui_extras::syntax_highlighting::highlight(ctx, style, &theme, code, "py"),
        "elixir" => {
            let mut job = LayoutJob::default();
            for (token, text) in elixir_tokens(code) {
                job.append(text, 0.0, theme.format(token).clone());
            }
            job
        }
        _ => {
            let mut job = LayoutJob::default();
            job.append(code, 0.0, theme.format(TokenType::Literal).clone());
            job
        }
    }
}

/// Gives each of `marks` (char ranges into the job's text) a background: a
/// bracket pair, the matches of a search. The highlighter's sections are
/// split where a mark starts or ends; of marks that overlap, the one that
/// starts first wins, and a mark past the end of the text (from a search
/// of an older text) is cut there.
pub fn mark(job: &mut LayoutJob, marks: &[(Range<usize>, Color32)]) {
    if marks.is_empty() {
        return;
    }
    let marks = byte_ranges(&job.text, marks);
    let mut sections = Vec::with_capacity(job.sections.len() + 2 * marks.len());
    let mut next = 0;
    for section in job.sections.drain(..) {
        let (mut at, end) = (section.byte_range.start.0, section.byte_range.end.0);
        let mut leading_space = section.leading_space;
        let mut piece = |from: usize, to: usize, background: Option<Color32>| {
            let mut format = section.format.clone();
            if let Some(background) = background {
                format.background = background;
            }
            sections.push(LayoutSection {
                leading_space: std::mem::take(&mut leading_space),
                byte_range: ByteIndex(from)..ByteIndex(to),
                format,
            });
        };
        while at < end {
            // The next mark that ends after `at`, if it starts in this section.
            while next < marks.len() && marks[next].0.end <= at {
                next += 1;
            }
            match marks.get(next).filter(|(range, _)| range.start < end) {
                Some((range, colour)) => {
                    if range.start > at {
                        piece(at, range.start, None);
                    }
                    let to = range.end.min(end);
                    piece(range.start.max(at), to, Some(*colour));
                    at = to;
                }
                None => {
                    piece(at, end, None);
                    at = end;
                }
            }
        }
    }
    job.sections = sections;
}

/// The marks' char ranges as byte ranges into `text`, in one pass.
fn byte_ranges(text: &str, marks: &[(Range<usize>, Color32)]) -> Vec<(Range<usize>, Color32)> {
    let mut offsets = text
        .char_indices()
        .map(|(byte, _)| byte)
        .chain([text.len()])
        .enumerate()
        .peekable();
    let mut byte_of = |char_index: usize| {
        while let Some(&(i, byte)) = offsets.peek() {
            if i >= char_index {
                return byte;
            }
            offsets.next();
        }
        text.len()
    };
    let mut sorted: Vec<&(Range<usize>, Color32)> = marks.iter().collect();
    sorted.sort_by_key(|(range, _)| range.start);
    let mut bytes: Vec<(Range<usize>, Color32)> = Vec::with_capacity(sorted.len());
    let mut last_end = 0;
    for (range, colour) in sorted {
        if range.start < last_end || range.is_empty() {
            continue;
        }
        let start = byte_of(range.start);
        let end = byte_of(range.end);
        last_end = range.end;
        bytes.push((start..end, *colour));
    }
    bytes
}

const ELIXIR_KEYWORDS: &[&str] = &[
    "after",
    "alias",
    "and",
    "case",
    "catch",
    "cond",
    "def",
    "defdelegate",
    "defexception",
    "defguard",
    "defimpl",
    "defmacro",
    "defmacrop",
    "defmodule",
    "defp",
    "defprotocol",
    "defstruct",
    "do",
    "else",
    "end",
    "false",
    "fn",
    "for",
    "if",
    "import",
    "in",
    "nil",
    "not",
    "or",
    "quote",
    "raise",
    "receive",
    "require",
    "rescue",
    "true",
    "try",
    "unless",
    "unquote",
    "use",
    "when",
    "with",
];

/// Splits Elixir source into highlighted pieces that cover it exactly.
/// The lexer only ever advances by whole characters, so whatever the user
/// types (it runs on every frame from the editor's layouter) it cannot
/// slice a character in two.
pub fn elixir_tokens(code: &str) -> Vec<(TokenType, &str)> {
    let mut tokens = Vec::new();
    let mut at = Cursor { code, i: 0 };
    while let Some(c) = at.peek(0) {
        let start = at.i;
        let token = if c == '#' {
            at.eat_while(|c| c != '\n');
            TokenType::Comment
        } else if at.rest().starts_with("\"\"\"") || at.rest().starts_with("\'\'\'") {
            let quote = &at.rest()[..3];
            let body = &at.rest()[3..];
            at.i += 3 + body.find(quote).map_or(body.len(), |end| end + 3);
            TokenType::StringLiteral
        } else if c == '"' || c == '\'' {
            at.bump();
            at.quoted(c);
            TokenType::StringLiteral
        } else if c == '~' && at.peek(1).is_some_and(|c| c.is_ascii_alphabetic()) {
            // A sigil: ~r/.../, ~s(...), with any of Elixir's delimiters.
            at.bump();
            at.bump();
            if let Some(open) = at.bump() {
                let close = match open {
                    '(' => ')',
                    '[' => ']',
                    '{' => '}',
                    '<' => '>',
                    other => other,
                };
                at.eat_while(|c| c != close);
                at.bump();
                at.eat_while(|c| c.is_ascii_alphabetic());
            }
            TokenType::StringLiteral
        } else if c == ':' && at.peek(1).is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
            at.bump();
            at.eat_while(is_word);
            TokenType::StringLiteral
        } else if c.is_ascii_digit() {
            at.eat_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            TokenType::Literal
        } else if is_word(c) {
            at.eat_while(is_word);
            let word = &code[start..at.i];
            if at.peek(0) == Some(':') && at.peek(1) != Some(':') {
                at.bump(); // a keyword-list key, `name:`
                TokenType::StringLiteral
            } else if ELIXIR_KEYWORDS.contains(&word) {
                TokenType::Keyword
            } else if at.peek(0) == Some('(') || word.starts_with(|c: char| c.is_ascii_uppercase()) {
                TokenType::Function
            } else {
                TokenType::Literal
            }
        } else if c.is_whitespace() {
            at.eat_while(char::is_whitespace);
            TokenType::Whitespace
        } else {
            at.bump();
            TokenType::Punctuation
        };
        tokens.push((token, &code[start..at.i]));
    }
    tokens
}

/// A position in the source that moves by whole characters only.
struct Cursor<'a> {
    code: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.code[self.i..]
    }

    fn peek(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += c.len_utf8();
        Some(c)
    }

    fn eat_while(&mut self, keep: impl Fn(char) -> bool) {
        let end = self.rest().find(|c: char| !keep(c)).unwrap_or(self.rest().len());
        self.i += end;
    }

    /// After an opening `quote`: through the closing one, skipping escapes.
    fn quoted(&mut self, quote: char) {
        while let Some(c) = self.bump() {
            if c == '\\' {
                self.bump();
            } else if c == quote {
                return;
            }
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '?' || c == '!'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(code: &str) -> Vec<(TokenType, &str)> {
        elixir_tokens(code)
            .into_iter()
            .filter(|(t, _)| *t != TokenType::Whitespace)
            .collect()
    }

    #[test]
    fn marks_split_sections_and_count_chars() {
        // Two formats, or `append` makes one section of both.
        let other = egui::TextFormat {
            color: Color32::GREEN,
            ..Default::default()
        };
        let mut job = LayoutJob::default();
        job.append("é(a", 0.0, egui::TextFormat::default());
        job.append("b)c", 0.0, other.clone());
        // "(" and ")" in different sections; "é" is two bytes.
        mark(&mut job, &[(1..2, Color32::RED), (4..5, Color32::BLUE)]);
        let pieces: Vec<(&str, Color32)> = job
            .sections
            .iter()
            .map(|s| (&job.text[s.byte_range.start.0..s.byte_range.end.0], s.format.background))
            .collect();
        let clear = Color32::TRANSPARENT;
        assert_eq!(
            pieces,
            [
                ("é", clear),
                ("(", Color32::RED),
                ("a", clear),
                ("b", clear),
                (")", Color32::BLUE),
                ("c", clear)
            ]
        );
        // A mark across two sections marks its part of each.
        let mut job = LayoutJob::default();
        job.append("ab", 0.0, egui::TextFormat::default());
        job.append("cd", 0.0, other);
        mark(&mut job, &[(1..3, Color32::RED)]);
        let marked: String = job
            .sections
            .iter()
            .filter(|s| s.format.background == Color32::RED)
            .map(|s| &job.text[s.byte_range.start.0..s.byte_range.end.0])
            .collect();
        assert_eq!(marked, "bc");
        assert_eq!(job.sections.len(), 4);
        // Overlapping, out of order and past the end: no panic, first wins.
        let mut job = LayoutJob::default();
        job.append("abcd", 0.0, egui::TextFormat::default());
        mark(&mut job, &[(2..9, Color32::BLUE), (1..3, Color32::RED)]);
        let pieces: Vec<(&str, Color32)> = job
            .sections
            .iter()
            .map(|s| (&job.text[s.byte_range.start.0..s.byte_range.end.0], s.format.background))
            .collect();
        assert_eq!(
            pieces,
            [
                ("a", Color32::TRANSPARENT),
                ("bc", Color32::RED),
                ("d", Color32::TRANSPARENT)
            ]
        );
        // Side by side.
        let mut job = LayoutJob::default();
        job.append("()", 0.0, egui::TextFormat::default());
        mark(&mut job, &[(0..1, Color32::RED), (1..2, Color32::BLUE)]);
        let pieces: Vec<&str> = job
            .sections
            .iter()
            .map(|s| &job.text[s.byte_range.start.0..s.byte_range.end.0])
            .collect();
        assert_eq!(pieces, ["(", ")"]);
    }

    #[test]
    fn elixir_tokens_cover_the_source_exactly() {
        let code =
            "defmodule Foo do\n  # hi ü\n  def bar(x), do: x <> \"a\\\"b\" <> ~r/é+/i\nend\n:ok; 1_000 \"unterminated";
        let joined: String = elixir_tokens(code).iter().map(|(_, t)| *t).collect();
        assert_eq!(joined, code);
    }

    #[test]
    fn elixir_tokens_are_classified() {
        let tokens = kinds("def f(x), do: :ok # done");
        assert_eq!(tokens[0], (TokenType::Keyword, "def"));
        assert_eq!(tokens[1], (TokenType::Function, "f"));
        assert!(tokens.contains(&(TokenType::StringLiteral, "do:")));
        assert!(tokens.contains(&(TokenType::StringLiteral, ":ok")));
        assert_eq!(tokens.last(), Some(&(TokenType::Comment, "# done")));
        assert_eq!(kinds("Enum.map")[0], (TokenType::Function, "Enum"));
        assert_eq!(kinds("\"\"\"\ndoc\n\"\"\"")[0].0, TokenType::StringLiteral);
    }
}
