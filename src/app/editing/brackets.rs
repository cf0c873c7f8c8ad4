//! The bracket pair at the cursor, for the editor to mark both ends.

use super::Rules;
use super::lexis::{self, Kind};

const PAIRS: [(char, char); 3] = [('(', ')'), ('[', ']'), ('{', '}')];

/// The char indices of a bracket next to the cursor and of its partner,
/// in text order. The bracket before the cursor wins over the one after
/// it (`)|(`), as in VS Code. Brackets in strings and comments (as the
/// highlighter sees them) neither match nor count; each kind of bracket
/// is counted apart, so `( ] )` still pairs its parentheses.
pub fn matching_bracket(text: &str, cursor: usize, rules: &Rules) -> Option<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let candidates = [cursor.checked_sub(1), Some(cursor)];
    // Cheap before the lexer: most cursors are next to no bracket at all.
    if !candidates
        .iter()
        .flatten()
        .any(|&i| chars.get(i).is_some_and(|c| is_bracket(*c)))
    {
        return None;
    }
    let kinds = lexis::classify(text, &chars, rules);
    candidates.into_iter().flatten().find_map(|at| {
        let c = *chars.get(at)?;
        if kinds[at] != Kind::Code {
            return None;
        }
        let partner = PAIRS.iter().find_map(|&(open, close)| {
            if c == open {
                scan(&chars, &kinds, at + 1..chars.len(), open, close)
            } else if c == close {
                scan(&chars, &kinds, (0..at).rev(), close, open)
            } else {
                None
            }
        })?;
        Some((at.min(partner), at.max(partner)))
    })
}

/// The first `other` in `order` that balances the `this` just left.
fn scan(chars: &[char], kinds: &[Kind], order: impl Iterator<Item = usize>, this: char, other: char) -> Option<usize> {
    let mut depth = 0usize;
    for i in order {
        if kinds[i] != Kind::Code {
            continue;
        }
        if chars[i] == this {
            depth += 1;
        } else if chars[i] == other {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
    }
    None
}

fn is_bracket(c: char) -> bool {
    PAIRS.iter().any(|&(open, close)| c == open || c == close)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(text: &str, cursor: usize, language: &str) -> Option<(usize, usize)> {
        matching_bracket(text, cursor, &Rules::for_language(language))
    }

    #[test]
    fn brackets_next_to_the_cursor_find_their_partner() {
        assert_eq!(pair("f(a[1])", 1, "python"), Some((1, 6)), "after the cursor");
        assert_eq!(pair("f(a[1])", 2, "python"), Some((1, 6)), "before the cursor");
        assert_eq!(pair("f(a[1])", 7, "python"), Some((1, 6)), "at the end");
        assert_eq!(pair("f(a[1])", 5, "python"), Some((3, 5)));
        assert_eq!(pair("{\n  x\n}", 7, "elixir"), Some((0, 6)));
        assert_eq!(pair("f(a)", 3, "python"), Some((1, 3)), "the bracket after the cursor");
        assert_eq!(
            pair(")(", 1, "python"),
            None,
            "`)` before has no partner, `(` after neither"
        );
    }

    #[test]
    fn no_bracket_or_no_partner() {
        assert_eq!(pair("abc", 1, "python"), None);
        assert_eq!(pair("", 0, "python"), None);
        assert_eq!(pair("f(a", 2, "python"), None);
        assert_eq!(pair("f(", 99, "python"), None);
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        assert_eq!(pair("f(')', x)", 2, "python"), Some((1, 8)));
        assert_eq!(pair("f(x) # )", 2, "python"), Some((1, 3)));
        assert_eq!(pair("s = '('", 6, "python"), None, "inside a string: no mark");
        assert_eq!(pair("f(\")\") # (", 1, "elixir"), Some((1, 5)));
    }

    #[test]
    fn indices_are_chars_not_bytes() {
        assert_eq!(pair("é(ü)", 1, "python"), Some((1, 3)));
        assert_eq!(pair("(\r\n)", 0, "python"), Some((0, 3)));
    }

    #[test]
    fn each_kind_is_counted_apart() {
        assert_eq!(pair("( ] )", 0, "python"), Some((0, 4)));
    }
}
