//! Syntax highlighting for the code editors. Python uses egui_extras'
//! highlighter; egui_extras has no Elixir, so a small lexer here covers it
//! with the same theme colours.

use egui::text::LayoutJob;
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
