//! Finding a kernelspec by name, as `jupyter kernelspec list` would, for
//! `runyard run --kernel NAME`. Minimal on purpose: the discovery of every
//! environment and kernel (and the choosing UI) lives elsewhere and may
//! replace this.

use std::path::PathBuf;

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

/// The `kernels` folders searched, first match wins: each `$JUPYTER_PATH`
/// entry, the user's data dir (`$JUPYTER_DATA_DIR`, else
/// `~/.local/share/jupyter`), the active virtualenv (`$VIRTUAL_ENV`), then
/// `/usr/local/share/jupyter` and `/usr/share/jupyter`.
pub fn kernel_dirs() -> Vec<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(path) = var("JUPYTER_PATH") {
        roots.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(dir) = var("JUPYTER_DATA_DIR") {
        roots.push(dir.into());
    } else if let Some(data) = var("XDG_DATA_HOME") {
        roots.push(PathBuf::from(data).join("jupyter"));
    } else if let Some(home) = var("HOME") {
        roots.push(PathBuf::from(home).join(".local/share/jupyter"));
    }
    if let Some(venv) = var("VIRTUAL_ENV") {
        roots.push(PathBuf::from(venv).join("share/jupyter"));
    }
    roots.push("/usr/local/share/jupyter".into());
    roots.push("/usr/share/jupyter".into());
    roots.into_iter().map(|root| root.join("kernels")).collect()
}

/// The kernelspec named `name` (its folder's name, case-insensitive as
/// Jupyter's are lower case), from the first folder of [`kernel_dirs`] that has it.
pub fn find_kernelspec(name: &str) -> Result<KernelSpec, LookupError> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(LookupError::BadName(name.to_string()));
    }
    let searched = kernel_dirs();
    for dir in &searched {
        for candidate in [name.to_string(), name.to_lowercase()] {
            let spec_dir = dir.join(&candidate);
            if spec_dir.join("kernel.json").is_file() {
                return Ok(KernelSpec::read(&spec_dir)?);
            }
        }
    }
    Err(LookupError::NotFound {
        name: name.to_string(),
        searched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_climb_out() {
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(matches!(find_kernelspec(bad), Err(LookupError::BadName(_))), "{bad:?}");
        }
    }
}
