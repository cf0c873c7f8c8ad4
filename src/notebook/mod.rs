//! Notebook files: `.ipynb` (Jupyter), `.livemd` (Livebook) and percent
//! scripts (`.py`), read into one [`Notebook`] model and written back.
//!
//! [`open`] and [`save`] choose the format by extension. Saving is atomic (a
//! temporary file in the same directory, fsync, rename): a crash at any
//! moment leaves the old file or the new one, whole. `save` refuses a file
//! the user may not write (as nbconvert and papermill do), but not one it
//! cannot parse: callers must not save over a file that [`open`] could not
//! read, or the user's unreadable file is replaced.

pub mod atomic;
pub mod branch;
pub mod convert;
pub mod error;
pub mod ipynb;
mod json;
pub mod livemd;
pub mod model;
pub mod percent;
mod schema;
mod sections;

use std::io::Read;
use std::path::Path;

pub use error::{NotebookError, ParseError};
pub use model::{Cell, CellKind, Format, Heading, Language, Notebook, Object, Output, Section};

/// Files larger than this are refused before they are read: a notebook that
/// big is most likely not one, and reading it would take the memory of many.
pub const MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;

/// Opens a notebook; the format follows the extension.
pub fn open(path: &Path) -> Result<Notebook, NotebookError> {
    open_previewing(path, None)
}

/// When a big `.ipynb`'s first cells are shown before the rest is parsed.
pub struct Previewing<'a> {
    /// Files of this many bytes or more.
    pub from_bytes: usize,
    pub max_cells: usize,
    /// Gets the file's size and its first cells.
    pub show: &'a mut dyn FnMut(usize, Vec<ipynb::PreviewCell>),
}

/// As [`open`]; a big `.ipynb`'s first cells go to `preview` as soon as
/// the file is read, before the whole of it is parsed.
pub fn open_previewing(path: &Path, preview: Option<Previewing<'_>>) -> Result<Notebook, NotebookError> {
    let format = Format::from_path(path).ok_or_else(|| NotebookError::UnknownFormat { path: path.into() })?;
    let (text, bom) = read_text_and_bom(path)?;
    if let Some(preview) = preview
        && format == Format::Ipynb
        && text.len() >= preview.from_bytes
    {
        (preview.show)(text.len(), ipynb::first_cells(&text, preview.max_cells));
    }
    let mut notebook = parse(format, &text).map_err(|error| NotebookError::Parse {
        path: path.into(),
        error,
    })?;
    notebook.extras.bom = bom;
    Ok(notebook)
}

/// Reads a notebook of `format` from text.
pub fn parse(format: Format, text: &str) -> Result<Notebook, ParseError> {
    match format {
        Format::Ipynb => ipynb::parse(text),
        Format::Livemd => livemd::parse(text),
        Format::Percent => Ok(percent::to_notebook(text)),
    }
}

/// The file's text for `format` (with the byte order mark the file was read
/// with, if it is written in the format it was read from).
pub fn to_string(format: Format, notebook: &Notebook) -> String {
    let text = match format {
        Format::Ipynb => ipynb::to_string(notebook),
        Format::Livemd => livemd::to_string(notebook),
        Format::Percent => percent::to_string(notebook),
    };
    with_bom(format, notebook, text)
}

/// [`to_string`], but an `.ipynb` keeps the nbformat minor version it was
/// read in (see [`ipynb::to_string_as_read`]): what conversion writes.
pub fn to_string_as_read(format: Format, notebook: &Notebook) -> String {
    match format {
        Format::Ipynb => with_bom(format, notebook, ipynb::to_string_as_read(notebook)),
        _ => to_string(format, notebook),
    }
}

fn with_bom(format: Format, notebook: &Notebook, text: String) -> String {
    if notebook.extras.bom && notebook.format == Some(format) {
        format!("\u{feff}{text}")
    } else {
        text
    }
}

/// Saves a notebook atomically, in the format its extension names. An
/// existing file the user may not write is refused (see [`check_writable`]).
pub fn save(path: &Path, notebook: &Notebook) -> Result<(), NotebookError> {
    let format = Format::from_path(path).ok_or_else(|| NotebookError::UnknownFormat { path: path.into() })?;
    check_writable(path)?;
    let text = to_string(format, notebook);
    atomic::write_atomically(path, text.as_bytes()).map_err(|source| NotebookError::Write {
        path: path.into(),
        source,
    })?;
    tracing::info!(path = %path.display(), bytes = text.len(), "notebook saved");
    Ok(())
}

/// Refuses an existing file that this user may not write, or that no one
/// may (no write bit: read-only on purpose, refused even for root). The
/// atomic rename needs only the directory's permission, so without this a
/// read-only notebook would be silently replaced.
pub fn check_writable(path: &Path) -> Result<(), NotebookError> {
    use atomic::NotWritable;
    match atomic::check_writable(path) {
        Ok(()) => Ok(()),
        Err(NotWritable::ReadOnly) => Err(NotebookError::ReadOnly { path: path.into() }),
        Err(NotWritable::Denied) => Err(NotebookError::NotPermitted { path: path.into() }),
    }
}

/// Reads a file as UTF-8 text, refusing files over [`MAX_FILE_SIZE`] before
/// reading them and binary content with the line where it shows. A byte
/// order mark is not part of the text.
pub fn read_text(path: &Path) -> Result<String, NotebookError> {
    read_text_and_bom(path).map(|(text, _)| text)
}

/// [`read_text`], and whether the file began with a byte order mark.
fn read_text_and_bom(path: &Path) -> Result<(String, bool), NotebookError> {
    let read_error = |source| NotebookError::Read {
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    let too_large = |size| NotebookError::TooLarge {
        path: path.into(),
        size,
        limit: MAX_FILE_SIZE,
    };
    if size > MAX_FILE_SIZE {
        return Err(too_large(size));
    }
    // The size can change (or lie, for special files): read one byte past the limit at most.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large(bytes.len() as u64));
    }
    decode(bytes).map_err(|error| NotebookError::Parse {
        path: path.into(),
        error,
    })
}

fn decode(bytes: Vec<u8>) -> Result<(String, bool), ParseError> {
    if let Some(nul) = bytes.iter().position(|b| *b == 0) {
        return Err(ParseError::Binary {
            line: position(&bytes, nul).0,
        });
    }
    match String::from_utf8(bytes) {
        // A byte order mark is not part of the text.
        Ok(text) => Ok(match text.strip_prefix('\u{feff}') {
            Some(rest) => (rest.to_string(), true),
            None => (text, false),
        }),
        Err(err) => {
            let (line, column) = position(err.as_bytes(), err.utf8_error().valid_up_to());
            Err(ParseError::NotUtf8 { line, column })
        }
    }
}

/// 1-based line and column (in bytes) of a byte offset.
fn position(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = offset - before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
    (line, column)
}
