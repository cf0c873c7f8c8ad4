//! Ctrl+/: line comments on and off, as VS Code and JupyterLab do it.

use super::lines::Lines;
use super::{Edited, Rules, Selection, Splice, splice};

/// Comments the lines the selection touches (the cursor's line without
/// one) when any of their non-blank lines is not commented, else
/// uncomments them all. The marker and a space go at the block's smallest
/// indentation, so the block keeps its shape; blank lines are left alone
/// unless there is nothing else. `None`: the language's comment is not
/// known.
pub fn toggle_comment(text: &str, selection: Selection, rules: &Rules) -> Option<Edited> {
    let marker = rules.comment?;
    let width = marker.chars().count();
    let lines = Lines::new(text);
    let selection = selection.clamped(lines.chars.len());
    let touched = lines.touched(selection);
    let mut block: Vec<usize> = touched.clone().filter(|&line| !lines.is_blank(line)).collect();
    if block.is_empty() {
        block = touched.collect();
    }
    let chars = &lines.chars;
    let commented = |line: usize| {
        let at = lines.indent_end(line);
        chars
            .get(at..at + width)
            .is_some_and(|s| s.iter().copied().eq(marker.chars()))
    };
    let splices: Vec<Splice> = if block.iter().all(|&line| commented(line)) {
        block
            .iter()
            .map(|&line| {
                let at = lines.indent_end(line);
                let space = usize::from(chars.get(at + width) == Some(&' '));
                Splice::remove(at, width + space)
            })
            .collect()
    } else {
        let column = block
            .iter()
            .map(|&line| lines.indent_end(line) - lines.span(line).0)
            .min()
            .unwrap_or(0);
        block
            .iter()
            .map(|&line| Splice::insert(lines.span(line).0 + column, format!("{marker} ")))
            .collect()
    };
    Some(splice(chars, &splices, selection))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toggle(text: &str, selection: Selection, language: &str) -> Edited {
        toggle_comment(text, selection, &Rules::for_language(language)).expect("a known comment")
    }

    #[test]
    fn the_current_line_is_commented_and_uncommented() {
        let edited = toggle("    x = 1", Selection::caret(6), "python");
        assert_eq!(edited.text, "    # x = 1");
        assert_eq!(edited.selection, Selection::caret(8));
        let back = toggle(&edited.text, edited.selection, "python");
        assert_eq!(back.text, "    x = 1");
        assert_eq!(back.selection, Selection::caret(6));
        // Without the space after the marker too.
        assert_eq!(toggle("#x", Selection::caret(0), "python").text, "x");
    }

    #[test]
    fn a_block_is_commented_at_its_smallest_indentation() {
        let text = "def f():\n    return 1\n\n    # done\n";
        // From the middle of the first line to the middle of the fourth.
        let edited = toggle(text, Selection::new(4, 30), "python");
        assert_eq!(edited.text, "# def f():\n#     return 1\n\n#     # done\n");
        assert_eq!(edited.selection, Selection::new(6, 36));
        let back = toggle(&edited.text, edited.selection, "python");
        assert_eq!(back.text, text);
        assert_eq!(back.selection, Selection::new(4, 30));
    }

    #[test]
    fn any_uncommented_line_comments_them_all() {
        let edited = toggle("# a\nb", Selection::new(0, 5), "elixir");
        assert_eq!(edited.text, "# # a\n# b");
        assert_eq!(
            edited.selection,
            Selection::new(0, 9),
            "whole lines stay selected, markers included"
        );
    }

    #[test]
    fn other_languages_use_their_marker() {
        assert_eq!(toggle("  f();", Selection::caret(2), "javascript").text, "  // f();");
        assert_eq!(toggle("x <- 1", Selection::caret(0), "R").text, "# x <- 1");
        assert_eq!(toggle("  // f();", Selection::caret(2), "C++17").text, "  f();");
        assert!(toggle_comment("x", Selection::caret(0), &Rules::for_language("brainfuck")).is_none());
    }

    #[test]
    fn empty_crlf_and_non_ascii_text() {
        let edited = toggle("", Selection::caret(0), "python");
        assert_eq!(
            edited,
            Edited {
                text: "# ".into(),
                selection: Selection::caret(2)
            }
        );
        let edited = toggle("é\r\n  ü\r\n", Selection::new(0, 5), "python");
        assert_eq!(edited.text, "# é\r\n#   ü\r\n");
        assert_eq!(toggle(&edited.text, edited.selection, "python").text, "é\r\n  ü\r\n");
    }
}
