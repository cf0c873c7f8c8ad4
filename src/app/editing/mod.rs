//! What the code editor's keys do to the text, as pure functions: from a
//! text and a selection (char indices, as egui's cursors count them) to the
//! new text and selection. `editor_keys.rs` applies them to a `TextEdit`;
//! here they are tested without a window.

mod brackets;
mod comment;
pub mod complete;
mod indent;
mod lexis;
mod lines;

pub use brackets::matching_bracket;
pub use comment::toggle_comment;
pub use indent::{Tab, dedent, newline, tab};

/// A selection in a text, in chars: `anchor` is where it started (egui's
/// secondary cursor), `cursor` where it moves (the primary). Equal: a caret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub anchor: usize,
    pub cursor: usize,
}

impl Selection {
    pub fn new(anchor: usize, cursor: usize) -> Selection {
        Selection { anchor, cursor }
    }

    pub fn caret(at: usize) -> Selection {
        Selection::new(at, at)
    }

    pub fn start(self) -> usize {
        self.anchor.min(self.cursor)
    }

    pub fn end(self) -> usize {
        self.anchor.max(self.cursor)
    }

    pub fn is_empty(self) -> bool {
        self.anchor == self.cursor
    }

    /// Within a text of `len` chars (a cursor past the end is at the end).
    fn clamped(self, len: usize) -> Selection {
        Selection::new(self.anchor.min(len), self.cursor.min(len))
    }
}

/// A text after a transformation, and where the selection is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    pub selection: Selection,
}

/// How the editor treats a language: its syntax for the block rules and
/// strings/comments, its indent unit, its line comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub syntax: Syntax,
    /// Spaces per indent level.
    pub unit: usize,
    /// The line comment marker, without the space that follows it.
    pub comment: Option<&'static str>,
}

/// The languages whose blocks the editor knows; others keep indentation only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Python,
    Elixir,
    Other,
}

impl Rules {
    /// The rules for a session's language (`RuntimeConfig::language()`: ours
    /// or a kernelspec's, whose spelling varies: "R", "C++17", "javascript").
    pub fn for_language(language: &str) -> Rules {
        let language = language.trim().to_ascii_lowercase();
        let (syntax, unit) = match language.as_str() {
            "python" | "python3" => (Syntax::Python, 4),
            "elixir" => (Syntax::Elixir, 2),
            _ => (Syntax::Other, 4),
        };
        Rules {
            syntax,
            unit,
            comment: line_comment(&language),
        }
    }
}

/// The line comment of the languages Jupyter kernels are commonly written
/// for; `None` for one not known here (Ctrl+/ then does nothing rather than
/// write a marker that may not be a comment).
fn line_comment(language: &str) -> Option<&'static str> {
    if language.starts_with("c++") {
        return Some("//");
    }
    Some(match language {
        "python" | "python3" | "elixir" | "r" | "julia" | "ruby" | "perl" | "raku" | "bash" | "sh" | "shell"
        | "zsh" | "powershell" | "nim" | "crystal" | "coconut" | "tcl" | "yaml" | "sage" | "sagemath" => "#",
        "c" | "cpp" | "java" | "javascript" | "typescript" | "rust" | "go" | "scala" | "kotlin" | "groovy"
        | "csharp" | "c#" | "fsharp" | "f#" | "swift" | "dart" | "php" | "zig" | "d" => "//",
        "haskell" | "lua" | "sql" | "ada" | "idris" | "agda" | "elm" => "--",
        "matlab" | "octave" | "erlang" | "prolog" => "%",
        "clojure" | "scheme" | "racket" | "common-lisp" | "lisp" | "hy" => ";",
        "fortran" => "!",
        _ => return None,
    })
}

/// One change to a text: `remove` chars at `at` replaced by `insert`.
#[derive(Debug)]
struct Splice {
    at: usize,
    remove: usize,
    insert: String,
}

impl Splice {
    fn insert(at: usize, text: impl Into<String>) -> Splice {
        Splice {
            at,
            remove: 0,
            insert: text.into(),
        }
    }

    fn remove(at: usize, count: usize) -> Splice {
        Splice {
            at,
            remove: count,
            insert: String::new(),
        }
    }
}

/// Applies `splices` (in order, not overlapping) to `chars` and carries the
/// selection over the same text. A position where text is inserted ends up
/// after it, but the start of a non-empty selection stays before it: lines
/// selected from their first column stay selected whole, indentation and
/// comment marker included, as in VS Code and JupyterLab.
fn splice(chars: &[char], splices: &[Splice], selection: Selection) -> Edited {
    let mut text = String::with_capacity(chars.len() + splices.iter().map(|s| s.insert.len()).sum::<usize>());
    let mut at = 0;
    for s in splices {
        text.extend(&chars[at..s.at]);
        text.push_str(&s.insert);
        at = s.at + s.remove;
    }
    text.extend(&chars[at..]);
    let keep_start = !selection.is_empty();
    let map = |p: usize, stay: bool| {
        let mut delta = 0isize;
        for s in splices {
            if p < s.at || (p == s.at && stay) {
                break;
            }
            if p < s.at + s.remove {
                // Inside what was removed: where it was.
                return (s.at as isize + delta) as usize;
            }
            delta += s.insert.chars().count() as isize - s.remove as isize;
        }
        (p as isize + delta) as usize
    };
    let (start, end) = (selection.start(), selection.end());
    let (new_start, new_end) = (map(start, keep_start), map(end, false));
    let selection = if selection.anchor <= selection.cursor {
        Selection::new(new_start, new_end)
    } else {
        Selection::new(new_end, new_start)
    };
    Edited { text, selection }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_get_their_rules() {
        let python = Rules::for_language("python");
        assert_eq!(
            (python.syntax, python.unit, python.comment),
            (Syntax::Python, 4, Some("#"))
        );
        let elixir = Rules::for_language("elixir");
        assert_eq!(
            (elixir.syntax, elixir.unit, elixir.comment),
            (Syntax::Elixir, 2, Some("#"))
        );
        assert_eq!(Rules::for_language("R").comment, Some("#"));
        assert_eq!(Rules::for_language("julia").comment, Some("#"));
        assert_eq!(Rules::for_language("C++17").comment, Some("//"));
        assert_eq!(Rules::for_language("javascript").comment, Some("//"));
        assert_eq!(Rules::for_language("R").syntax, Syntax::Other);
        assert_eq!(Rules::for_language("brainfuck").comment, None);
    }

    #[test]
    fn splices_carry_the_selection_over_the_same_text() {
        let chars: Vec<char> = "ab\ncd".chars().collect();
        // Insert at both line starts; the selection spans from "b" to "d".
        let splices = [Splice::insert(0, "  "), Splice::insert(3, "  ")];
        let edited = splice(&chars, &splices, Selection::new(1, 4));
        assert_eq!(edited.text, "  ab\n  cd");
        assert_eq!(edited.selection, Selection::new(3, 8));
        // Reversed (selected upwards): the anchor stays the end.
        let edited = splice(&chars, &splices, Selection::new(4, 1));
        assert_eq!(edited.selection, Selection::new(8, 3));
        // From the first column: the start stays before the insertion.
        let edited = splice(&chars, &splices, Selection::new(0, 5));
        assert_eq!(edited.selection, Selection::new(0, 9));
        // A caret at an insertion point moves after it.
        let edited = splice(&chars, &splices, Selection::caret(3));
        assert_eq!(edited.selection, Selection::caret(7));
    }

    #[test]
    fn a_position_inside_removed_text_lands_where_it_was() {
        let chars: Vec<char> = "# ab".chars().collect();
        let edited = splice(&chars, &[Splice::remove(0, 2)], Selection::caret(1));
        assert_eq!(
            edited,
            Edited {
                text: "ab".into(),
                selection: Selection::caret(0)
            }
        );
        let edited = splice(&chars, &[Splice::remove(0, 2)], Selection::caret(3));
        assert_eq!(edited.selection, Selection::caret(1));
    }
}
