//! Enter, Tab and Shift+Tab: new lines keep their indentation (one level
//! more after a line that opens a block), selected lines move by a level.

use super::lexis::{self, Kind};
use super::lines::{Lines, is_indent};
use super::{Edited, Rules, Selection, Splice, Syntax, splice};

/// Enter: the selection becomes a line break and the current line's
/// indentation, one level more when the text before the cursor opens a
/// block (Python: ends in `:` or an open bracket; Elixir: in `do`, `->` or
/// an open bracket; a trailing comment does not count). Other languages
/// keep the indentation only.
pub fn newline(text: &str, selection: Selection, rules: &Rules) -> Edited {
    let lines = Lines::new(text);
    let selection = selection.clamped(lines.chars.len());
    let line = lines.line_of(selection.start());
    let (line_start, line_end) = lines.span(line);
    // A cursor between "\r" and "\n" breaks the line before them.
    let start = selection.start().min(line_end);
    // The cursor may be inside the indentation: only what is left of it.
    let indent_end = lines.indent_end(line).min(start);
    let indent: String = lines.chars[line_start..indent_end].iter().collect();
    let mut insert = format!("{}{indent}", lines.line_ending());
    if opens_block(text, &lines, line_start..start, rules) {
        insert.push_str(&level(&indent, rules));
    }
    let length = insert.chars().count();
    let end = if selection.is_empty() { start } else { selection.end() };
    let splices = [Splice {
        at: start,
        remove: end - start,
        insert,
    }];
    let edited = splice(&lines.chars, &splices, Selection::caret(start));
    Edited {
        selection: Selection::caret(start + length),
        ..edited
    }
}

/// One indent level in the style of `indent`: a tab where it is tabs.
fn level(indent: &str, rules: &Rules) -> String {
    if indent.ends_with('\t') {
        "\t".to_string()
    } else {
        " ".repeat(rules.unit)
    }
}

/// Whether the code in `range` (one line, up to the cursor) ends by opening
/// a block, ignoring trailing whitespace and comments.
fn opens_block(text: &str, lines: &Lines, range: std::ops::Range<usize>, rules: &Rules) -> bool {
    if rules.syntax == Syntax::Other {
        return false;
    }
    let kinds = lexis::classify(text, &lines.chars, rules);
    let chars = &lines.chars;
    let code = |i: usize| kinds[i] == Kind::Code;
    let Some(last) = range
        .clone()
        .rev()
        .find(|&i| kinds[i] != Kind::Comment && !chars[i].is_whitespace())
    else {
        return false;
    };
    if !code(last) {
        return false;
    }
    let at = |offset: usize, c: char| last >= range.start + offset && chars[last - offset] == c;
    match (rules.syntax, chars[last]) {
        (_, '(' | '[' | '{') => true,
        (Syntax::Python, ':') => true,
        (Syntax::Elixir, '>') => at(1, '-') && code(last - 1),
        (Syntax::Elixir, 'o') => {
            // `do` as a word: not `undo`, not the atom `:do`.
            at(1, 'd') && code(last - 1) && (last - 1 == range.start || !is_word(chars[last - 2]))
        }
        _ => false,
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// What Tab does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tab {
    /// Indentation: the selected lines one level in, or spaces to the next
    /// indent stop where only whitespace is left of the cursor.
    Indent(Edited),
    /// Code is left of the cursor: completion opens there.
    Complete { at: usize },
}

/// Tab: with a selection, indents the lines it touches; without, inserts
/// spaces to the next indent stop, or asks for completion after code.
pub fn tab(text: &str, selection: Selection, rules: &Rules) -> Tab {
    let lines = Lines::new(text);
    let selection = selection.clamped(lines.chars.len());
    if !selection.is_empty() {
        return Tab::Indent(indent(text, selection, rules));
    }
    let at = selection.cursor;
    let (line_start, _) = lines.span(lines.line_of(at));
    let column: usize = lines.chars[line_start..at]
        .iter()
        .map(|&c| if c == '\t' { rules.unit } else { 1 })
        .sum();
    if !lines.chars[line_start..at].iter().all(|&c| is_indent(c)) {
        return Tab::Complete { at };
    }
    let spaces = " ".repeat(rules.unit - column % rules.unit);
    Tab::Indent(splice(&lines.chars, &[Splice::insert(at, spaces)], selection))
}

/// Indents every line the selection touches by one level (empty lines
/// stay empty), keeping the selection over the same text.
pub fn indent(text: &str, selection: Selection, rules: &Rules) -> Edited {
    let lines = Lines::new(text);
    let selection = selection.clamped(lines.chars.len());
    let splices: Vec<Splice> = lines
        .touched(selection)
        .filter_map(|line| {
            let (start, end) = lines.span(line);
            let indent: String = lines.chars[start..lines.indent_end(line)].iter().collect();
            (start < end).then(|| Splice::insert(start, level(&indent, rules)))
        })
        .collect();
    splice(&lines.chars, &splices, selection)
}

/// Shift+Tab: dedents every line the selection touches (the cursor's line
/// without one) to the previous indent stop, or by one leading tab.
pub fn dedent(text: &str, selection: Selection, rules: &Rules) -> Edited {
    let lines = Lines::new(text);
    let selection = selection.clamped(lines.chars.len());
    let splices: Vec<Splice> = lines
        .touched(selection)
        .filter_map(|line| {
            let (start, _) = lines.span(line);
            let chars = &lines.chars[start..lines.indent_end(line)];
            let remove = match chars.first()? {
                '\t' => 1,
                _ => {
                    let spaces = chars.iter().take_while(|&&c| c == ' ').count();
                    match spaces % rules.unit {
                        0 => rules.unit.min(spaces),
                        over => over,
                    }
                }
            };
            (remove > 0).then(|| Splice::remove(start, remove))
        })
        .collect();
    splice(&lines.chars, &splices, selection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python() -> Rules {
        Rules::for_language("python")
    }

    fn elixir() -> Rules {
        Rules::for_language("elixir")
    }

    /// Enter at the end of `text`, in `rules`: the new text.
    fn enter_at_end(text: &str, rules: &Rules) -> String {
        let end = text.chars().count();
        let edited = newline(text, Selection::caret(end), rules);
        assert_eq!(edited.selection, Selection::caret(edited.text.chars().count()));
        edited.text
    }

    #[test]
    fn enter_keeps_the_indentation() {
        assert_eq!(enter_at_end("    x = 1", &python()), "    x = 1\n    ");
        assert_eq!(enter_at_end("\tx", &python()), "\tx\n\t");
        assert_eq!(enter_at_end("", &python()), "\n");
        assert_eq!(enter_at_end("  x", &Rules::for_language("R")), "  x\n  ");
    }

    #[test]
    fn enter_after_a_python_block_opener_indents_a_level() {
        assert_eq!(enter_at_end("def f():", &python()), "def f():\n    ");
        assert_eq!(enter_at_end("    if x:   ", &python()), "    if x:   \n        ");
        assert_eq!(enter_at_end("if x:  # why", &python()), "if x:  # why\n    ");
        assert_eq!(enter_at_end("f(", &python()), "f(\n    ");
        assert_eq!(enter_at_end("d = {", &python()), "d = {\n    ");
        assert_eq!(enter_at_end("\tfor x in y:", &python()), "\tfor x in y:\n\t\t");
        // Not in a string or a comment.
        assert_eq!(enter_at_end("s = 'a:'", &python()), "s = 'a:'\n");
        assert_eq!(enter_at_end("x = 1  # note:", &python()), "x = 1  # note:\n");
        // Other languages keep the indentation only.
        assert_eq!(enter_at_end("  if (x) {", &Rules::for_language("R")), "  if (x) {\n  ");
    }

    #[test]
    fn enter_after_an_elixir_block_opener_indents_a_level() {
        assert_eq!(enter_at_end("defmodule A do", &elixir()), "defmodule A do\n  ");
        assert_eq!(
            enter_at_end("  Enum.map(xs, fn x ->", &elixir()),
            "  Enum.map(xs, fn x ->\n    "
        );
        assert_eq!(
            enter_at_end("{:ok, x} ->  # matched", &elixir()),
            "{:ok, x} ->  # matched\n  "
        );
        assert_eq!(enter_at_end("list = [", &elixir()), "list = [\n  ");
        assert_eq!(enter_at_end("do", &elixir()), "do\n  ");
        assert_eq!(enter_at_end("undo", &elixir()), "undo\n");
        assert_eq!(enter_at_end("x = :do", &elixir()), "x = :do\n");
        assert_eq!(enter_at_end("if x, do: 1", &elixir()), "if x, do: 1\n");
        assert_eq!(enter_at_end("x = \"do\"", &elixir()), "x = \"do\"\n");
        assert_eq!(enter_at_end("x > y", &elixir()), "x > y\n");
    }

    #[test]
    fn enter_replaces_the_selection_and_reads_only_left_of_the_cursor() {
        let edited = newline("def f(): pass", Selection::new(8, 13), &python());
        assert_eq!(edited.text, "def f():\n    ");
        let edited = newline("    x = (1)", Selection::caret(9), &python());
        assert_eq!(edited.text, "    x = (\n        1)");
        assert_eq!(edited.selection, Selection::caret(18));
        // Inside the indentation: only the indentation left of the cursor.
        let edited = newline("    x", Selection::caret(2), &python());
        assert_eq!(edited.text, "  \n    x");
    }

    #[test]
    fn enter_in_crlf_and_non_ascii_text() {
        let edited = newline("é = 1\r\nif é:\r\n", Selection::caret(12), &python());
        assert_eq!(edited.text, "é = 1\r\nif é:\r\n    \r\n");
        assert_eq!(edited.selection, Selection::caret(18));
        // A cursor between "\r" and "\n" breaks the line before them.
        let edited = newline("if ü:\r\nx", Selection::caret(6), &python());
        assert_eq!(edited.text, "if ü:\r\n    \r\nx");
    }

    #[test]
    fn tab_without_selection_goes_to_the_next_stop() {
        let edited = match tab("x\n  ", Selection::caret(4), &python()) {
            Tab::Indent(edited) => edited,
            other => panic!("{other:?}"),
        };
        assert_eq!(edited.text, "x\n    ");
        assert_eq!(edited.selection, Selection::caret(6));
        let Tab::Indent(edited) = tab("", Selection::caret(0), &elixir()) else {
            panic!("indent on an empty line")
        };
        assert_eq!(edited.text, "  ");
    }

    #[test]
    fn tab_after_code_asks_for_completion() {
        assert!(matches!(
            tab("ab", Selection::caret(2), &python()),
            Tab::Complete { at: 2 }
        ));
        assert!(matches!(
            tab("x = ab\n  ", Selection::caret(9), &python()),
            Tab::Indent(_)
        ));
    }

    #[test]
    fn tab_and_shift_tab_move_the_selected_lines() {
        // From the middle of the first line into the middle of the third.
        let text = "a = 1\nif b:\n    c\n";
        let Tab::Indent(edited) = tab(text, Selection::new(2, 13), &python()) else {
            panic!("a selection indents")
        };
        assert_eq!(edited.text, "    a = 1\n    if b:\n        c\n");
        assert_eq!(edited.selection, Selection::new(6, 25));
        let back = dedent(&edited.text, edited.selection, &python());
        assert_eq!(back.text, text);
        assert_eq!(back.selection, Selection::new(2, 13));
    }

    #[test]
    fn whole_lines_stay_selected_and_empty_lines_stay_empty() {
        let text = "a\n\nb\nc";
        let edited = indent(text, Selection::new(0, 5), &python());
        assert_eq!(edited.text, "    a\n\n    b\nc");
        assert_eq!(edited.selection, Selection::new(0, 13));
        let back = dedent(&edited.text, edited.selection, &python());
        assert_eq!(
            back,
            Edited {
                text: text.into(),
                selection: Selection::new(0, 5)
            }
        );
    }

    #[test]
    fn shift_tab_dedents_to_the_previous_stop() {
        let dedented = |text: &str, at: usize| dedent(text, Selection::caret(at), &python());
        assert_eq!(dedented("      x", 7).text, "    x");
        assert_eq!(dedented("    x", 5).text, "x");
        assert_eq!(
            dedented("  x", 0),
            Edited {
                text: "x".into(),
                selection: Selection::caret(0)
            }
        );
        assert_eq!(dedented("\t\tx", 3).text, "\tx");
        assert_eq!(dedented("x", 1).text, "x");
        assert_eq!(dedented("", 0).text, "");
        assert_eq!(dedent("    ü", Selection::caret(5), &elixir()).text, "  ü");
    }

    #[test]
    fn crlf_lines_indent_and_dedent() {
        let text = "a\r\nb\r\n";
        let edited = indent(text, Selection::new(0, 4), &elixir());
        assert_eq!(edited.text, "  a\r\n  b\r\n");
        assert_eq!(dedent(&edited.text, edited.selection, &elixir()).text, text);
    }

    #[test]
    fn a_cursor_past_the_end_is_at_the_end() {
        assert_eq!(newline("x", Selection::caret(9), &python()).text, "x\n");
        assert_eq!(
            dedent("  x", Selection::caret(9), &python()).selection,
            Selection::caret(1)
        );
    }
}
