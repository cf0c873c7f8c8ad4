//! Which chars of a text are code and which are inside strings or comments,
//! as the highlighter (`highlight.rs`) sees them: brackets pair and blocks
//! open in code only, and what the editor marks agrees with the colours.

use egui_extras::syntax_highlighting::TokenType;

use super::{Rules, Syntax};
use crate::app::highlight;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Code,
    /// Inside a string, a charlist, a sigil or an atom.
    Literal,
    Comment,
}

/// The kind of each char of `text` (`chars` is the same text as chars).
pub(super) fn classify(text: &str, chars: &[char], rules: &Rules) -> Vec<Kind> {
    match rules.syntax {
        Syntax::Elixir => highlight::elixir_tokens(text)
            .into_iter()
            .flat_map(|(token, piece)| {
                let kind = match token {
                    TokenType::Comment => Kind::Comment,
                    TokenType::StringLiteral => Kind::Literal,
                    _ => Kind::Code,
                };
                std::iter::repeat_n(kind, piece.chars().count())
            })
            .collect(),
        // egui_extras' Python rules: `#` comments, these four delimiters.
        Syntax::Python => scan(chars, Some("#"), &["\"\"\"", "'''", "\"", "'"]),
        // The plain highlighter knows no syntax: the language's comment and
        // double quotes (a single quote is a char, a lifetime, a prime…).
        Syntax::Other => scan(chars, rules.comment, &["\""]),
    }
}

/// A scan as egui_extras' simple highlighter does it: a comment runs to the
/// end of its line; a string to its closing delimiter (a backslash escapes
/// the char after it) or, unterminated, to the end of its line.
fn scan(chars: &[char], comment: Option<&str>, delimiters: &[&str]) -> Vec<Kind> {
    let mut kinds = vec![Kind::Code; chars.len()];
    let line_end = |from: usize| (from..chars.len()).find(|&j| chars[j] == '\n').unwrap_or(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if comment.is_some_and(|marker| starts_with(chars, i, marker)) {
            let end = line_end(i);
            kinds[i..end].fill(Kind::Comment);
            i = end;
        } else if let Some(delimiter) = delimiters.iter().find(|d| starts_with(chars, i, d)) {
            let width = delimiter.chars().count();
            let mut j = i + width;
            let mut end = None;
            while j < chars.len() {
                if chars[j] == '\\' {
                    j += 2;
                } else if starts_with(chars, j, delimiter) {
                    end = Some(j + width);
                    break;
                } else {
                    j += 1;
                }
            }
            let end = end.unwrap_or_else(|| line_end(i)).min(chars.len());
            kinds[i..end].fill(Kind::Literal);
            i = end;
        } else {
            i += 1;
        }
    }
    kinds
}

fn starts_with(chars: &[char], at: usize, pattern: &str) -> bool {
    let mut rest = chars.get(at..).unwrap_or_default().iter();
    pattern.chars().all(|p| rest.next() == Some(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, language: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        classify(text, &chars, &Rules::for_language(language))
            .into_iter()
            .map(|k| match k {
                Kind::Code => 'c',
                Kind::Literal => 's',
                Kind::Comment => '#',
            })
            .collect()
    }

    #[test]
    fn python_strings_and_comments() {
        assert_eq!(kinds("f('(')  # (", "python"), "ccsssccc###");
        assert_eq!(kinds("'a\\'b' x", "python"), "sssssscc");
        assert_eq!(kinds("\"\"\"a\n)\"\"\" (", "python"), "ssssssssscc");
        // Unterminated: to the end of the line, as the highlighter shows it.
        assert_eq!(kinds("x = 'ab\n(", "python"), "ccccssscc");
    }

    #[test]
    fn elixir_follows_its_highlighter() {
        assert_eq!(kinds("f(\"(\") # )", "elixir"), "ccssscc###");
        assert_eq!(kinds(":do do", "elixir"), "sssccc");
    }

    #[test]
    fn other_languages_use_their_comment_and_double_quotes() {
        assert_eq!(kinds("f(\")\") // )", "javascript"), "ccssscc####");
        assert_eq!(kinds("'(' -- x", "sql"), "cccc####");
    }

    #[test]
    fn non_ascii_is_counted_in_chars() {
        assert_eq!(kinds("é'ü' #ä", "python"), "csssc##");
    }
}
