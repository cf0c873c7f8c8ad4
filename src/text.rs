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

#[cfg(test)]
mod tests {
    #[test]
    fn capitalises_the_first_letter_only() {
        assert_eq!(super::capitalise("python3 was not found"), "Python3 was not found");
        assert_eq!(super::capitalise("élan"), "Élan");
        assert_eq!(super::capitalise(""), "");
    }
}
