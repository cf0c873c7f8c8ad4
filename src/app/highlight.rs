//! Syntax highlighting for the code editors. Python uses egui_extras'
//! highlighter; egui_extras has no Elixir, so a small lexer here covers it
//! with the same theme colours.

use egui::text::LayoutJob;
use egui_extras::syntax_highlighting::{CodeTheme, TokenType};

/// A highlighted layout of `code` in `language` ("python", "elixir"; other
/// languages are shown plain).
pub fn highlight(ui: &egui::Ui, code: &str, language: &str) -> LayoutJob {
    let theme = CodeTheme::from_style(ui.style());
    match language {
        "python" => egui_extras::syntax_highlighting::highlight(ui.ctx(), ui.style(), &theme, code, "py"),
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
pub fn elixir_tokens(code: &str) -> Vec<(TokenType, &str)> {
    let bytes = code.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let token = if c == b'#' {
            i = find(bytes, i, |b| b == b'\n');
            TokenType::Comment
        } else if code[i..].starts_with("\"\"\"") || code[i..].starts_with("'''") {
            let quote = &code[i..i + 3];
            i = code[i + 3..].find(quote).map_or(bytes.len(), |end| i + 3 + end + 3);
            TokenType::StringLiteral
        } else if c == b'"' || c == b'\'' {
            i = end_of_quoted(bytes, i);
            TokenType::StringLiteral
        } else if c == b'~' && bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            // A sigil: ~r/.../, ~s(...), with any of Elixir's delimiters.
            i += 2;
            if let Some(&open) = bytes.get(i) {
                let close = match open {
                    b'(' => b')',
                    b'[' => b']',
                    b'{' => b'}',
                    b'<' => b'>',
                    other => other,
                };
                i = (find(bytes, i + 1, |b| b == close) + 1).min(bytes.len());
                i = find(bytes, i, |b| !b.is_ascii_alphabetic());
            }
            TokenType::StringLiteral
        } else if c == b':' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
            i = find(bytes, i + 1, |b| !is_word(b));
            TokenType::StringLiteral
        } else if c.is_ascii_digit() {
            i = find(bytes, i, |b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.'));
            TokenType::Literal
        } else if is_word(c) {
            i = find(bytes, i, |b| !is_word(b));
            let word = &code[start..i];
            if bytes.get(i) == Some(&b':') && bytes.get(i + 1) != Some(&b':') {
                i += 1; // a keyword-list key, `name:`
                TokenType::StringLiteral
            } else if ELIXIR_KEYWORDS.contains(&word) {
                TokenType::Keyword
            } else if bytes.get(i) == Some(&b'(') || word.starts_with(|c: char| c.is_ascii_uppercase()) {
                TokenType::Function
            } else {
                TokenType::Literal
            }
        } else if c.is_ascii_whitespace() {
            i = find(bytes, i, |b| !b.is_ascii_whitespace());
            TokenType::Whitespace
        } else {
            // One character, kept whole if it is multi-byte.
            i += code[i..].chars().next().map_or(1, char::len_utf8);
            TokenType::Punctuation
        };
        tokens.push((token, &code[start..i]));
    }
    tokens
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'?' || b == b'!' || b >= 0x80
}

/// The index of the first byte from `from` on that matches, or the end.
fn find(bytes: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| stop(b))
        .map_or(bytes.len(), |p| from + p)
}

fn end_of_quoted(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
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
