//! Conversion between notebook formats (`runyard convert`): a notebook read
//! from one file is written in another format, and a [`Report`] says what the
//! target format could not carry.
//!
//! The report is measured, not predicted: the converted text is read back and
//! compared with the notebook it came from, so it names exactly what a later
//! open of the written file will lack (outputs, attachments, metadata…), per
//! kind, with counts.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::model::{Cell, CellKind, Format, Language, Notebook};
use super::{NotebookError, ParseError};

/// What a conversion could not keep, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Loss {
    /// Outputs the target has no place for (all of them in a percent script).
    Outputs,
    /// Outputs kept only in a text form (Livebook keeps text, not images or HTML).
    OutputForms,
    ExecutionCounts,
    CellIds,
    CellMetadata,
    /// `.ipynb` attachments (images pasted into Markdown cells).
    Attachments,
    /// Other `.ipynb` cell fields Runyard keeps but the target cannot.
    CellFields,
    /// Raw cells written as Markdown (percent scripts, Livebook have no raw cells).
    RawCells,
    /// Cells in a language other than the notebook's (Livebook's Erlang cells).
    CellLanguages,
    /// The titles of percent cells (`# %% Title`).
    CellTitles,
    /// Empty Markdown or raw cells (Livebook keeps none).
    EmptyCells,
    /// Sources that changed in writing, besides newlines at their end (a
    /// percent script ends each cell with one and trims blank lines after it).
    Sources,
    /// Livebook section metadata (`branch_parent_index`: a branching section).
    SectionMetadata,
    /// Keys of the notebook's metadata (kernelspec, Livebook settings…).
    NotebookMetadata,
    /// The cells could not be matched one to one after writing (their count changed).
    CellCount,
    /// jupytext's YAML header in a script: its kernelspec is kept, its own
    /// settings (`text_representation`) are not.
    JupytextHeader,
}

impl Loss {
    /// What the count counts, and what happened to them.
    fn describe(self) -> &'static str {
        match self {
            Loss::Outputs => "outputs dropped",
            Loss::OutputForms => "outputs kept as text only (images, HTML and other forms dropped)",
            Loss::ExecutionCounts => "execution counts dropped",
            Loss::CellIds => "cell ids dropped",
            Loss::CellMetadata => "cells' metadata dropped",
            Loss::Attachments => "cells' attachments dropped",
            Loss::CellFields => "cells' other .ipynb fields dropped",
            Loss::RawCells => "raw cells written as Markdown",
            Loss::CellLanguages => "cells' own languages dropped (now the notebook's)",
            Loss::CellTitles => "percent cell titles (# %% Title) dropped",
            Loss::EmptyCells => "empty Markdown/raw cells dropped",
            Loss::Sources => "cell sources changed",
            Loss::SectionMetadata => "sections' metadata dropped (e.g. Livebook branches)",
            Loss::NotebookMetadata => "notebook metadata keys dropped",
            Loss::CellCount => "cells not matched one to one (their count changed)",
            Loss::JupytextHeader => {
                "jupytext header taken out (its kernelspec moved to the notebook metadata, its jupytext settings dropped)"
            }
        }
    }
}

/// How much of one kind was dropped; `names` lists metadata keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dropped {
    pub count: usize,
    pub names: Vec<String>,
}

/// What a conversion dropped. Empty when the target kept everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub dropped: BTreeMap<Loss, Dropped>,
}

impl Report {
    pub fn is_lossless(&self) -> bool {
        self.dropped.is_empty()
    }

    pub fn count(&self, loss: Loss) -> usize {
        self.dropped.get(&loss).map_or(0, |d| d.count)
    }

    fn add(&mut self, loss: Loss, count: usize) {
        if count > 0 {
            self.dropped.entry(loss).or_default().count += count;
        }
    }

    /// One line per kind, e.g. `12 outputs dropped`.
    pub fn lines(&self) -> Vec<String> {
        self.dropped
            .iter()
            .map(|(loss, d)| {
                let mut line = format!("{} {}", d.count, loss.describe());
                if !d.names.is_empty() {
                    line.push_str(&format!(" ({})", d.names.join(", ")));
                }
                line
            })
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

/// Why a conversion was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Notebook(#[from] NotebookError),
    #[error(
        "{} holds {language} code; a percent script (.py) holds Python only. Convert it to .ipynb or .livemd instead",
        path.display()
    )]
    NotPython { path: PathBuf, language: String },
    #[error("{} already exists; it was not replaced (use --force to replace it)", path.display())]
    Exists { path: PathBuf },
    #[error("{} is not a notebook format Runyard writes (use .ipynb, .livemd or .py, or --to FORMAT)", path.display())]
    UnknownTarget { path: PathBuf },
    #[error("--to {to} does not match the output's extension ({})", path.display())]
    Mismatch { path: PathBuf, to: &'static str },
    #[error("writing to standard output (-o -) needs --to FORMAT")]
    StdoutNeedsFormat,
    #[error("say what to convert to: --to FORMAT (ipynb, livemd, py) or -o OUT")]
    NoTarget,
    /// The converted text did not read back: a bug in a writer, refused
    /// rather than written.
    #[error("the converted notebook does not read back ({error}); nothing was written")]
    Unreadable { error: ParseError },
}

impl ConvertError {
    /// `runyard`'s exit status: every refusal is bad usage or input.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// A format by the name `--to` takes: `ipynb` (or `notebook`), `livemd`,
/// `py` (or `percent`, `py:percent`, as jupytext spells it).
pub fn format_by_name(name: &str) -> Option<Format> {
    match name.trim().to_ascii_lowercase().as_str() {
        "ipynb" | "notebook" | "jupyter" => Some(Format::Ipynb),
        "livemd" | "livebook" => Some(Format::Livemd),
        "py" | "percent" | "py:percent" | "script" => Some(Format::Percent),
        _ => None,
    }
}

/// Where the converted notebook goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    File(PathBuf),
    Stdout,
}

/// The target format and destination for `runyard convert IN [--to F] [-o OUT]`:
/// without `-o`, OUT is IN with the format's extension; `-o -` is standard output.
pub fn plan(input: &Path, to: Option<Format>, output: Option<&Path>) -> Result<(Format, Destination), ConvertError> {
    match (to, output) {
        (None, None) => Err(ConvertError::NoTarget),
        (Some(format), None) => Ok((format, Destination::File(input.with_extension(format.extension())))),
        (to, Some(out)) if out == Path::new("-") => match to {
            Some(format) => Ok((format, Destination::Stdout)),
            None => Err(ConvertError::StdoutNeedsFormat),
        },
        (to, Some(out)) => {
            let by_extension =
                Format::from_path(out).ok_or_else(|| ConvertError::UnknownTarget { path: out.into() })?;
            match to {
                Some(format) if format != by_extension => Err(ConvertError::Mismatch {
                    path: out.into(),
                    to: format.extension(),
                }),
                _ => Ok((by_extension, Destination::File(out.into()))),
            }
        }
    }
}

/// A converted notebook: the target file's text and what it lacks.
#[derive(Debug, Clone)]
pub struct Converted {
    pub text: String,
    pub report: Report,
}

/// Writes `notebook` (read from `path`) in `to`, and measures what was lost.
pub fn convert(notebook: &Notebook, path: &Path, to: Format) -> Result<Converted, ConvertError> {
    if to == Format::Percent && notebook.language != Language::Python {
        return Err(ConvertError::NotPython {
            path: path.into(),
            language: notebook.language.name().into(),
        });
    }
    let mut report = Report::default();
    let mut adapted = None;
    if notebook.format == Some(Format::Percent) && to != Format::Percent {
        // A script's cells end with a newline that a notebook's do not (as jupytext reads them).
        let mut notebook = notebook.clone();
        if take_jupytext_header(&mut notebook) {
            report.add(Loss::JupytextHeader, 1);
        }
        for cell in notebook.cells_mut() {
            if cell.source.ends_with('\n') {
                cell.source.pop();
            }
        }
        let headings = std::iter::once(&mut notebook.extras.title_heading)
            .chain(notebook.sections.iter_mut().map(|s| &mut s.extras.heading));
        for heading in headings.flatten() {
            // A heading alone in its cell: its cell ends after the line.
            if heading.cell.is_some() && heading.gap.ends_with('\n') {
                heading.gap.pop();
            }
        }
        adapted = Some(notebook);
    }
    let notebook = adapted.as_ref().unwrap_or(notebook);
    let text = super::to_string_as_read(to, notebook);
    let written = super::parse(to, text.strip_prefix('\u{feff}').unwrap_or(&text))
        .map_err(|error| ConvertError::Unreadable { error })?;
    let measured = compare(notebook, &written, to);
    for (loss, dropped) in measured.dropped {
        report.add(loss, dropped.count);
        report.dropped.get_mut(&loss).expect("added").names = dropped.names;
    }
    Ok(Converted { text, report })
}

/// Takes the YAML header jupytext writes at the top of a script (`# ---`,
/// `# jupyter:` … `# ---`) out of the first cell, if that cell is only the
/// header, and puts the header's `kernelspec` into the notebook metadata.
/// Returns whether there was one. A focused reading of jupytext's layout
/// (two-space indents, `key: value`), not a YAML parser.
fn take_jupytext_header(notebook: &mut Notebook) -> bool {
    let Some(first) = notebook.sections.first().and_then(|s| s.cells.first()) else {
        return false;
    };
    let lines: Vec<&str> = first.source.trim_end().lines().collect();
    let is_header = first.kind == CellKind::Code
        && lines.len() >= 3
        && lines[0] == "# ---"
        && lines[lines.len() - 1] == "# ---"
        && lines.contains(&"# jupyter:")
        && lines.iter().all(|l| l.starts_with('#'));
    if !is_header {
        return false;
    }
    let body: Vec<&str> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    if let Some(at) = body.iter().position(|l| l.trim() == "kernelspec:") {
        let mut spec = super::Object::new();
        for line in body[at + 1..].iter().take_while(|l| indent(l) > indent(body[at])) {
            if let Some((key, value)) = line.trim().split_once(": ") {
                let value = value.trim();
                let unquoted = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(value);
                spec.insert(key.to_string(), Value::String(unquoted.to_string()));
            }
        }
        if spec.contains_key("name") && spec.contains_key("display_name") {
            notebook.metadata.insert("kernelspec".into(), Value::Object(spec));
        }
    }
    notebook.sections[0].cells.remove(0);
    // Without the header cell a `# Title` cell may now come first: split again.
    let split = super::sections::split(super::sections::flatten(notebook, true, true));
    notebook.title = split.title;
    notebook.sections = split.sections;
    notebook.extras.title_heading = split.title_heading;
    true
}

/// Converts the file at `input`. The output is refused if it exists (unless
/// `force`) or may not be written, before anything is written; it is written
/// atomically. For [`Destination::Stdout`] the text is returned for the
/// caller to print.
pub fn convert_file(
    input: &Path,
    to: Format,
    destination: &Destination,
    force: bool,
) -> Result<Converted, ConvertError> {
    let notebook = super::open(input)?;
    if let Destination::File(out) = destination {
        if !force && std::fs::symlink_metadata(out).is_ok() {
            return Err(ConvertError::Exists { path: out.clone() });
        }
        super::check_writable(out)?;
    }
    let converted = convert(&notebook, input, to)?;
    if let Destination::File(out) = destination {
        super::atomic::write_atomically(out, converted.text.as_bytes()).map_err(|source| NotebookError::Write {
            path: out.clone(),
            source,
        })?;
        tracing::info!(from = %input.display(), to = %out.display(), "notebook converted");
    }
    Ok(converted)
}

/// What `before` had that `after` (the written file read back) lacks.
fn compare(before: &Notebook, after: &Notebook, to: Format) -> Report {
    let mut report = Report::default();

    let lost_keys: Vec<String> = before
        .metadata
        .keys()
        .filter(|k| !after.metadata.contains_key(*k))
        .cloned()
        .collect();
    if !lost_keys.is_empty() {
        report.add(Loss::NotebookMetadata, lost_keys.len());
        report.dropped.get_mut(&Loss::NotebookMetadata).expect("added").names = lost_keys;
    }

    if before.sections.len() == after.sections.len() {
        let lost = before
            .sections
            .iter()
            .zip(&after.sections)
            .filter(|(b, a)| !b.metadata.is_empty() && b.metadata != a.metadata)
            .count();
        report.add(Loss::SectionMetadata, lost);
        let headings = |nb: &Notebook| -> Vec<Option<Cell>> {
            std::iter::once(nb.extras.title_heading.as_ref())
                .chain(nb.sections.iter().map(|s| s.extras.heading.as_ref()))
                .map(|h| h.and_then(|h| h.cell.as_deref().cloned()))
                .collect()
        };
        for (b, a) in headings(before).into_iter().zip(headings(after)) {
            if let Some(b) = b {
                compare_cell_keys(&mut report, &b, a.as_ref());
            }
        }
    } else {
        let lost = before.sections.iter().filter(|s| !s.metadata.is_empty()).count();
        report.add(Loss::SectionMetadata, lost);
    }

    let mut cells: Vec<&Cell> = before.cells().collect();
    let written: Vec<&Cell> = after.cells().collect();
    if cells.len() != written.len() {
        let empty = |c: &&Cell| c.kind != CellKind::Code && c.source.trim().is_empty();
        let before_len = cells.len();
        cells.retain(|c| !empty(c));
        report.add(Loss::EmptyCells, before_len - cells.len());
    }
    if cells.len() != written.len() {
        report.add(Loss::CellCount, cells.len().abs_diff(written.len()));
        report.add(Loss::Outputs, cells.iter().map(|c| c.outputs.len()).sum::<usize>());
        return report;
    }
    for (b, a) in cells.into_iter().zip(written) {
        compare_cell_keys(&mut report, b, Some(a));
        if b.kind == CellKind::Raw && a.kind != CellKind::Raw {
            report.add(Loss::RawCells, 1);
        }
        if b.source.trim_end_matches('\n') != a.source.trim_end_matches('\n') {
            report.add(Loss::Sources, 1);
        }
        let language = |c: &Cell, nb: &Notebook| c.language.clone().unwrap_or_else(|| nb.language.name().to_string());
        if b.kind == CellKind::Code && b.language.is_some() && language(b, before) != language(a, after) {
            report.add(Loss::CellLanguages, 1);
        }
        if to != Format::Percent
            && b.extras.percent.as_ref().is_some_and(|l| !l.title.is_empty())
            && a.extras.percent.is_none()
        {
            report.add(Loss::CellTitles, 1);
        }
        if b.execution_count.is_some() && a.execution_count != b.execution_count {
            report.add(Loss::ExecutionCounts, 1);
        }
        report.add(Loss::Outputs, b.outputs.len().saturating_sub(a.outputs.len()));
        let reduced = b
            .outputs
            .iter()
            .zip(&a.outputs)
            .filter(|(bo, ao)| match (bo.data(), ao.data()) {
                (Some(bd), Some(ad)) => bd.keys().any(|k| !ad.contains_key(k)),
                (Some(_), None) => true,
                _ => false,
            })
            .count();
        report.add(Loss::OutputForms, reduced);
    }
    report
}

/// Id, metadata and `.ipynb` fields of one cell against its written form.
fn compare_cell_keys(report: &mut Report, before: &Cell, after: Option<&Cell>) {
    if before.id.is_some() && after.and_then(|a| a.id.as_ref()) != before.id.as_ref() {
        report.add(Loss::CellIds, 1);
    }
    if !before.metadata.is_empty() && after.map(|a| &a.metadata) != Some(&before.metadata) {
        report.add(Loss::CellMetadata, 1);
    }
    let keys = |c: Option<&Cell>| c.map(|c| c.extras.ipynb_keys.clone()).unwrap_or_default();
    let (b, a) = (keys(Some(before)), keys(after));
    if b.contains_key("attachments") && a.get("attachments") != b.get("attachments") {
        report.add(Loss::Attachments, 1);
    }
    let other = |m: &super::Object| -> Vec<(String, Value)> {
        m.iter()
            .filter(|(k, _)| *k != "attachments")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let lost = other(&b).iter().filter(|(k, v)| a.get(k) != Some(v)).count();
    if lost > 0 {
        report.add(Loss::CellFields, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_flags() {
        let nb = Path::new("dir/nb.ipynb");
        assert_eq!(
            plan(nb, Some(Format::Percent), None).unwrap(),
            (Format::Percent, Destination::File("dir/nb.py".into()))
        );
        assert_eq!(
            plan(nb, None, Some(Path::new("x.livemd"))).unwrap(),
            (Format::Livemd, Destination::File("x.livemd".into()))
        );
        assert_eq!(
            plan(nb, Some(Format::Ipynb), Some(Path::new("-"))).unwrap(),
            (Format::Ipynb, Destination::Stdout)
        );
        assert!(matches!(
            plan(nb, None, Some(Path::new("-"))),
            Err(ConvertError::StdoutNeedsFormat)
        ));
        assert!(matches!(
            plan(nb, None, Some(Path::new("x.md"))),
            Err(ConvertError::UnknownTarget { .. })
        ));
        assert!(matches!(
            plan(nb, Some(Format::Ipynb), Some(Path::new("x.py"))),
            Err(ConvertError::Mismatch { .. })
        ));
        assert!(matches!(plan(nb, None, None), Err(ConvertError::NoTarget)));
        assert_eq!(format_by_name("py:percent"), Some(Format::Percent));
        assert_eq!(format_by_name("md"), None);
    }

    #[test]
    fn a_percent_script_keeps_no_outputs_and_says_so() {
        let text = r#"{"cells": [
            {"cell_type": "code", "id": "a", "metadata": {"tags": ["x"]}, "source": "1", "execution_count": 1,
             "outputs": [{"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": "1"}, "metadata": {}}]},
            {"cell_type": "raw", "id": "b", "metadata": {}, "source": "raw"}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "toc": {}},
            "nbformat": 4, "nbformat_minor": 5}"#;
        let nb = super::super::parse(Format::Ipynb, text).unwrap();
        let converted = convert(&nb, Path::new("nb.ipynb"), Format::Percent).unwrap();
        let r = &converted.report;
        assert_eq!(r.count(Loss::Outputs), 1, "{r}");
        assert_eq!(r.count(Loss::ExecutionCounts), 1, "{r}");
        assert_eq!(r.count(Loss::CellIds), 2, "{r}");
        assert_eq!(r.count(Loss::CellMetadata), 0, "tags go as jupytext writes them: {r}");
        assert_eq!(r.count(Loss::RawCells), 0, "{r}");
        assert!(converted.text.contains("# %% tags=[\"x\"]\n1\n"), "{}", converted.text);
        assert!(converted.text.contains("# %% [raw]\n# raw\n"), "{}", converted.text);
        assert_eq!(r.dropped[&Loss::NotebookMetadata].names, ["kernelspec", "toc"], "{r}");
        let same = convert(&nb, Path::new("nb.ipynb"), Format::Ipynb).unwrap();
        assert!(same.report.is_lossless(), "{}", same.report);
    }
}
