//! Livebook's branching sections: `<!-- livebook:{"branch_parent_index":N} -->`
//! before a section's heading makes it branch from the `N`th section (0-based
//! among the notebook's sections). A branch starts from the context its
//! parent section left and does not hold up the sections after it.

use super::Notebook;

/// The section that section `section` branches from, if it is a branch
/// Livebook would accept: its parent is an earlier section that is not itself
/// a branch. Otherwise (no key, a bad index) it is a regular section.
pub fn branch_parent(nb: &Notebook, section: usize) -> Option<usize> {
    let declared = |s: usize| {
        nb.sections
            .get(s)?
            .metadata
            .get("branch_parent_index")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
    };
    let parent = declared(section)?;
    (parent < section && declared(parent).is_none()).then_some(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_earlier_regular_sections_are_parents() {
        let text = "# N\n\n## A\n\n```elixir\n1\n```\n\n\
                    <!-- livebook:{\"branch_parent_index\":0} -->\n\n## B\n\n```elixir\n2\n```\n\n\
                    <!-- livebook:{\"branch_parent_index\":1} -->\n\n## C\n\n```elixir\n3\n```\n\n\
                    <!-- livebook:{\"branch_parent_index\":7} -->\n\n## D\n\n```elixir\n4\n```\n";
        let nb = super::super::livemd::parse(text).unwrap();
        let parents: Vec<_> = (0..nb.sections.len()).map(|s| branch_parent(&nb, s)).collect();
        assert_eq!(parents, [None, Some(0), None, None]);
    }
}
