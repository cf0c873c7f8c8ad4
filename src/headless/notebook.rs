//! `runyard run NOTEBOOK`: evaluates any notebook format top to bottom in a
//! fresh standalone runtime (Python or Elixir, by the notebook's language)
//! and writes the outputs into it, as `jupyter nbconvert --execute` and
//! papermill do.
//!
//! All sections share one container (branching sections aside: see
//! `branches`), and a section's first cell continues
//! from the last code cell of the section above: Livebook's semantics for
//! sections that do not branch. (The runtime protocol looks a `prev`
//! evaluation up in its own container, so chaining across sections needs the
//! one container.) Outputs are cleared first; after a failure the notebook
//! is still written, with the outputs up to the failing cell, as papermill
//! does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::branches;
use super::progress::{Progress, Style};
use super::{Arrived, CellName, RunError, RunOptions, wait_connected, wait_finished};
use crate::manager::{Evaluation, Manager, Outcome, SessionId};
use crate::notebook::{self, CellKind, Format, Language, Notebook, Output};
use crate::protocol::{Bundle, EvalError, Stream};

/// A cell's stream output beyond this is left out (with a note saying how
/// much): a notebook must stay small enough to open.
pub const MAX_KEPT_OUTPUT: usize = 16 * 1024 * 1024;

const CONTAINER: &str = "main";

pub(super) struct Job {
    pub(super) section: usize,
    pub(super) cell: usize,
    pub(super) name: CellName,
    pub(super) skip: Option<String>,
    /// In a branching section: the section it branches from (see `branches`).
    pub(super) branch_of: Option<usize>,
}

/// Evaluates the notebook at `path`. With `--output` or `--inplace` the
/// outputs are saved (atomically) and progress goes to `err`; without, what
/// the cells print goes to `out` as it arrives.
pub fn run_notebook(
    path: &Path,
    options: &RunOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), RunError> {
    let mut nb = notebook::open(path)?;
    let target: Option<PathBuf> = match (&options.output, options.inplace) {
        (Some(output), _) => Some(output.clone()),
        (None, true) => Some(path.to_path_buf()),
        (None, false) => None,
    };
    let target_format = match &target {
        Some(t) => Some(Format::from_path(t).ok_or_else(|| RunError::OutputFormat { path: t.clone() })?),
        None => None,
    };
    // Refused before running, not after minutes of evaluation.
    if let Some(target) = &target {
        notebook::check_writable(target)?;
    }
    let config = options.config(path, &nb.metadata, &nb.language, err)?;
    let jobs = plan(&mut nb, config.language());

    let manager = Manager::start_headless()?;
    let session = SessionId(1);
    manager.connect(session, config);
    wait_connected(&manager)?;

    let echo = target.is_none();
    let style = match (echo, options.progress_bar) {
        (true, _) => Style::Quiet,
        (false, true) => Style::Bar,
        (false, false) => Style::Lines,
    };
    let mut progress = Progress::new(style, jobs.len());
    let (jobs, branch_jobs) = branches::split(jobs);
    let failure = evaluate(&manager, session, &mut nb, &jobs, path, echo, &mut progress, out, err)?;
    let failure = match failure {
        None => branches::run(
            &manager,
            session,
            &mut nb,
            &jobs,
            branch_jobs,
            path,
            echo,
            &mut progress,
            out,
            err,
        )?,
        failed => failed,
    };
    progress.end(err)?;
    manager.shutdown();

    if let (Some(target), Some(format)) = (&target, target_format) {
        if format == Format::Livemd && nb.format == Some(Format::Livemd) {
            // Livebook writes outputs only when the notebook asks it to.
            nb.metadata.insert("persist_outputs".into(), true.into());
        }
        if format == Format::Percent {
            writeln!(err, "runyard: percent scripts do not store outputs")?;
        }
        notebook::save(target, &nb)?;
        writeln!(err, "runyard: wrote {}", target.display())?;
    }
    match failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// Which cells run, clearing every code cell's outputs. Empty cells and
/// cells in another language than the runtime's (Livebook's `erlang` or
/// `pyproject.toml` cells) are skipped. Cells of a branching section say
/// which section they branch from.
fn plan(nb: &mut Notebook, runtime_language: &str) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut number = 0;
    let parents: Vec<Option<usize>> = (0..nb.sections.len())
        .map(|s| notebook::branch::branch_parent(nb, s))
        .collect();
    for (s, section) in nb.sections.iter_mut().enumerate() {
        for (c, cell) in section.cells.iter_mut().enumerate() {
            if cell.kind != CellKind::Code {
                continue;
            }
            cell.outputs.clear();
            cell.execution_count = None;
            number += 1;
            let skip = if cell.source.trim().is_empty() {
                Some("empty".to_string())
            } else {
                cell.language
                    .as_deref()
                    .filter(|l| Language::from_name(l).name() != runtime_language)
                    .map(|l| format!("{l} cell; the runtime is {runtime_language}"))
            };
            jobs.push(Job {
                section: s,
                cell: c,
                name: CellName {
                    number,
                    line: cell.line,
                    id: cell.id.clone(),
                    section: Some(section.title.clone()),
                },
                skip,
                branch_of: parents[s],
            });
        }
    }
    jobs
}

/// Runs the jobs in order; returns the failure that stopped them, if any.
#[allow(clippy::too_many_arguments)]
fn evaluate(
    manager: &Manager,
    session: SessionId,
    nb: &mut Notebook,
    jobs: &[Job],
    path: &Path,
    echo: bool,
    progress: &mut Progress,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Option<RunError>, RunError> {
    let mut count = 0u32;
    let mut prev: Option<String> = None;
    for job in jobs {
        if let Some(reason) = &job.skip {
            progress.finish(err, &job.name, &format!("skipped ({reason})"), None)?;
            continue;
        }
        progress.start(err, &job.name)?;
        count += 1;
        let cell = &nb.sections[job.section].cells[job.cell];
        let evaluation_ref = format!("cell-{}", job.name.number);
        // Padding with blank lines makes the runtime's line numbers the file's.
        let (code, file) = match cell.line {
            Some(line) => (
                format!("{}{}", "\n".repeat(line.saturating_sub(1)), cell.source),
                path.display().to_string(),
            ),
            None => (
                cell.source.clone(),
                format!("{}, cell {}", path.display(), job.name.number),
            ),
        };
        manager.evaluate(
            session,
            Evaluation {
                container: CONTAINER.into(),
                evaluation_ref: evaluation_ref.clone(),
                prev_evaluation_ref: prev.clone(),
                prev_container: None,
                code,
                file,
                options: None,
            },
        );
        let started = Instant::now();
        let mut kept = Kept::default();
        let waited = wait_finished(manager, &evaluation_ref, &mut |arrived| {
            match arrived {
                Arrived::Output(stream, text) => {
                    kept.push(stream, text);
                    if echo {
                        let sink: &mut dyn Write = if stream == Stream::Stdout { &mut *out } else { &mut *err };
                        sink.write_all(text.as_bytes())?;
                        sink.flush()?;
                    }
                }
                Arrived::Stray(text) => err.write_all(text.as_bytes())?,
                Arrived::Display {
                    bundle,
                    display_id,
                    update,
                } => {
                    if update {
                        kept.update_display(display_id, bundle);
                    } else {
                        if echo {
                            writeln!(out, "{}", bundle.text())?;
                        }
                        kept.push_display(display_id, bundle);
                    }
                }
            }
            Ok(())
        });
        let took = started.elapsed();
        let cell = &mut nb.sections[job.section].cells[job.cell];
        cell.execution_count = Some(count);
        cell.outputs = kept.finish();
        let name = job.name.clone();
        let outcome = match waited {
            Ok(outcome) => outcome,
            Err(waited) => {
                progress.finish(err, &name, "the runtime went down", Some(took))?;
                return Ok(Some(waited.into_run_error(name)));
            }
        };
        match outcome {
            Outcome::Ok { value } => {
                if let Some(value) = value {
                    if echo {
                        writeln!(out, "{}", value.text())?;
                    }
                    cell.outputs.push(Output::execute_result(&value, Some(count)));
                }
                progress.finish(err, &name, "ok", Some(took))?;
            }
            Outcome::Error(error) => {
                cell.outputs.push(error_output(&error));
                progress.finish(err, &name, "failed", Some(took))?;
                progress.end(err)?;
                out.flush()?;
                let text = error_text(&error);
                writeln!(err, "{}", text.trim_end())?;
                return Ok(Some(RunError::CellFailed { cell: name }));
            }
            Outcome::Interrupted(error) => {
                cell.outputs.extend(error.as_ref().map(error_output));
                progress.finish(err, &name, "interrupted", Some(took))?;
                return Ok(Some(RunError::CellInterrupted { cell: name }));
            }
            Outcome::Aborted { reason } => {
                progress.finish(err, &name, "aborted", Some(took))?;
                return Ok(Some(RunError::Aborted { cell: name, reason }));
            }
        }
        prev = Some(evaluation_ref);
    }
    Ok(None)
}

pub(super) fn error_text(error: &EvalError) -> String {
    if error.formatted.trim().is_empty() {
        format!("{}: {}", error.kind, error.message)
    } else {
        error.formatted.clone()
    }
}

/// Jupyter's error output: the traceback as a list of lines.
pub(super) fn error_output(error: &EvalError) -> Output {
    let traceback = error_text(error).trim_end().lines().map(String::from).collect();
    Output::error(&error.kind, &error.message, traceback)
}

/// A cell's stream output, merged per stream as Jupyter does (consecutive
/// writes to the same stream are one output), up to [`MAX_KEPT_OUTPUT`].
/// Displays are kept whole (the agent caps each one), with their ids for updates.
#[derive(Default)]
pub(super) struct Kept {
    outputs: Vec<Output>,
    /// The `display_id` of each output (streams: none).
    ids: Vec<Option<String>>,
    bytes: usize,
    left_out: usize,
}

impl Kept {
    pub(super) fn push_display(&mut self, display_id: Option<&str>, bundle: &Bundle) {
        self.outputs.push(Output::display(bundle));
        self.ids.push(display_id.map(str::to_string));
    }

    /// `update_display_data`: replaces this cell's displays with the id.
    pub(super) fn update_display(&mut self, display_id: Option<&str>, bundle: &Bundle) {
        let Some(id) = display_id else { return };
        for (output, kept_id) in self.outputs.iter_mut().zip(&self.ids) {
            if kept_id.as_deref() == Some(id) {
                *output = Output::display(bundle);
            }
        }
    }

    pub(super) fn push(&mut self, stream: Stream, text: &str) {
        let room = MAX_KEPT_OUTPUT.saturating_sub(self.bytes);
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.left_out += text.len() - end;
        let text = &text[..end];
        if text.is_empty() {
            return;
        }
        self.bytes += text.len();
        let name = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        match self.outputs.last_mut() {
            Some(Output::Stream {
                name: last, text: kept, ..
            }) if last == name => kept.push_str(text),
            _ => {
                self.outputs.push(Output::stream(name, text));
                self.ids.push(None);
            }
        }
    }

    pub(super) fn finish(mut self) -> Vec<Output> {
        if self.left_out > 0 {
            self.outputs.push(Output::stream(
                "stderr",
                format!("\n[runyard: {} more bytes of output were left out]\n", self.left_out),
            ));
        }
        self.outputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_merge_and_are_bounded() {
        let mut kept = Kept::default();
        kept.push(Stream::Stdout, "a");
        kept.push(Stream::Stdout, "b");
        kept.push(Stream::Stderr, "c");
        kept.push(Stream::Stdout, "d");
        let outputs = kept.finish();
        assert_eq!(
            outputs,
            [
                Output::stream("stdout", "ab"),
                Output::stream("stderr", "c"),
                Output::stream("stdout", "d")
            ]
        );
        let mut kept = Kept::default();
        let big = "é".repeat(MAX_KEPT_OUTPUT / 2 + 10);
        kept.push(Stream::Stdout, &big);
        let outputs = kept.finish();
        assert_eq!(outputs.len(), 2);
        assert!(outputs[0].display_text().len() <= MAX_KEPT_OUTPUT);
        assert!(outputs[1].display_text().contains("more bytes of output were left out"));
    }
}
