//! Small text helpers shared by the views.

/// The text with its first letter in upper case: error messages are written
/// lower-case to read well inside sentences, and start a banner or notice.
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The text without terminal escape sequences (CSI and OSC): IPython's
/// coloured tracebacks, outputs written to a format that keeps plain text.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            // CSI: parameters and intermediates, then one final byte.
            Some('[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ST.
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn capitalises_the_first_letter_only() {
        assert_eq!(super::capitalise("python3 was not found"), "Python3 was not found");
        assert_eq!(super::capitalise("élan"), "Élan");
        assert_eq!(super::capitalise(""), "");
    }

    #[test]
    fn ansi_goes_and_text_stays() {
        use super::strip_ansi;
        assert_eq!(
            strip_ansi("\u{1b}[0;31mZeroDivisionError\u{1b}[0m: division by zero"),
            "ZeroDivisionError: division by zero"
        );
        assert_eq!(strip_ansi("a\u{1b}]8;;http://x\u{7}b\u{1b}"), "ab");
        assert_eq!(strip_ansi("\u{1b}[34m:ok\u{1b}[0m x"), ":ok x");
    }
}
