//! What can go wrong opening or saving a notebook, and where.

use std::path::PathBuf;

/// Opening or saving a notebook failed. The message names the file and, for
/// contents that cannot be read, the place: a line, or a JSON path such as
/// `cells[3].source`.
#[derive(Debug, thiserror::Error)]
pub enum NotebookError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot save {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "{} is read-only (no one may write it); it was not replaced. Save under another name, or make it writable first",
        path.display()
    )]
    ReadOnly { path: PathBuf },
    #[error(
        "you may not write {}; it was not replaced. Save under another name, or ask its owner",
        path.display()
    )]
    NotPermitted { path: PathBuf },
    #[error("{} is {size} bytes; notebooks over {limit} bytes are not opened", path.display())]
    TooLarge { path: PathBuf, size: u64, limit: u64 },
    #[error("{} is not a notebook Runyard knows (use .ipynb, .livemd or .py)", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("{}: {error}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        error: ParseError,
    },
}

impl NotebookError {
    /// Where in the file the problem is, for contents that could not be read.
    pub fn location(&self) -> Option<String> {
        match self {
            NotebookError::Parse { error, .. } => error.location(),
            _ => None,
        }
    }
}

/// Why the contents of a file are not a notebook of its format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("line {line}: not a text file (it has a NUL byte)")]
    Binary { line: usize },
    #[error("line {line}, column {column}: not UTF-8 text")]
    NotUtf8 { line: usize, column: usize },
    #[error("line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
    #[error("nbformat {found} is not supported: {}", version_advice(*major))]
    UnsupportedVersion { major: u64, found: String },
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
}

/// What to do about a notebook of another nbformat major version.
fn version_advice(major: u64) -> &'static str {
    if major < 4 {
        "Runyard reads nbformat 4 (4.0 to 4.5). Upgrade the file with Jupyter: \
         `jupyter nbconvert --to notebook --nbformat 4 FILE` writes FILE.nbconvert.ipynb"
    } else {
        "it is newer than the nbformat 4 (4.0 to 4.5) that Runyard reads"
    }
}

impl ParseError {
    pub fn location(&self) -> Option<String> {
        match self {
            ParseError::Binary { line } | ParseError::Line { line, .. } => Some(format!("line {line}")),
            ParseError::NotUtf8 { line, column } | ParseError::Json { line, column, .. } => {
                Some(format!("line {line}, column {column}"))
            }
            ParseError::Invalid { at, .. } => Some(at.clone()),
            ParseError::UnsupportedVersion { .. } => Some("nbformat".into()),
        }
    }

    pub(crate) fn invalid(at: impl Into<String>, message: impl Into<String>) -> ParseError {
        ParseError::Invalid {
            at: at.into(),
            message: message.into(),
        }
    }
}
