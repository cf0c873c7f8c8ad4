//! Finding a kernelspec by name, as `jupyter kernelspec list` would, for
//! `runyard run --kernel NAME`.

use std::path::{Path, PathBuf};

use super::{KernelSpec, SpecError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{0:?} is not a kernel name (letters, digits, `.`, `_`, `-`)")]
    BadName(String),
    #[error("no Jupyter kernel named {name:?} (looked in {})", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound { name: String, searched: Vec<PathBuf> },
    #[error(transparent)]
    Spec(#[from] SpecError),
}

/// The kernelspec named `name` (Jupyter's names are lower case), the first
/// of that name in Jupyter's order, as discovery finds them
/// ([`super::discover`]), with the environments of `notebook`'s project.
pub fn find_kernelspec(name: &str, notebook: Option<&Path>) -> Result<KernelSpec, LookupError> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(LookupError::BadName(name.to_string()));
    }
    let found = super::discover(&super::Inputs::from_env(notebook));
    let spec = found
        .kernel(name)
        .or_else(|| found.kernel(&name.to_lowercase()))
        .ok_or_else(|| LookupError::NotFound {
            name: name.to_string(),
            searched: found.jupyter_path.iter().map(|p| p.join("kernels")).collect(),
        })?;
    Ok(spec.spec.clone()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_climb_out() {
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(
                matches!(find_kernelspec(bad, None), Err(LookupError::BadName(_))),
                "{bad:?}"
            );
        }
    }
}
