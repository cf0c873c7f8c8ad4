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
//! does. With `--allow-errors` a failing cell's error is recorded and the
//! run goes on, as nbconvert's; a timeout stops the run even then, as
//! nbclient's (its `CellTimeoutError` is not a cell error that
//! `allow_errors` lets through).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::branches;
use super::json::{self, Summary, emit};
use super::progress::{Progress, Style};
use super::stop::{self, Stop, Watch};
use super::timing::Timing;
use super::{Arrived, CellName, RunError, RunOptions, Waited, wait_connected, wait_finished};
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
/// the cells print goes to `out` as it arrives (with `--json`, events do).
/// What ran is counted in `summary`, also when it fails.
pub fn run_notebook(
    path: &Path,
    options: &RunOptions,
    summary: &mut Summary,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), RunError> {
    let started = Instant::now();
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
        super::check_target(target)?;
    }
    super::parameters::apply(&mut nb, &options.parameters, err)?;
    let mut config = options.config(path, &nb.metadata, &nb.language, err)?;
    if let Some(cwd) = options.working_directory(path, config.place.is_local())? {
        config.standalone_mut().cwd = Some(cwd);
    }
    let jobs = plan(&mut nb, config.language());
    if options.json {
        emit(out, json::run_started(path, jobs.len(), config.language()))?;
    }

    let manager = Manager::start_headless()?;
    let session = SessionId(1);
    manager.connect(session, config);
    wait_connected(&manager, options.interrupt.as_ref())?;

    let echo = target.is_none() && !options.json;
    let style = match (echo || options.json, options.progress_bar) {
        (true, _) => Style::Quiet,
        (false, true) => Style::Bar,
        (false, false) => Style::Lines,
    };
    let mut progress = Progress::new(style, jobs.len());
    let (jobs, branch_jobs) = branches::split(jobs);
    let mode = Mode {
        echo,
        timing: target_format == Some(Format::Ipynb),
        options,
    };
    let failure = evaluate(
        &manager,
        session,
        &mut nb,
        &jobs,
        path,
        &mode,
        summary,
        &mut progress,
        out,
        err,
    )?;
    let failure = match failure {
        None => branches::run(
            &manager,
            session,
            &mut nb,
            &jobs,
            branch_jobs,
            path,
            branches::How {
                echo: mode.echo,
                json: options.json,
                interrupt: options.interrupt.as_ref(),
            },
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
    summary.took = started.elapsed();
    writeln!(err, "{}", summary.line())?;
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

/// How the cells run and where what they print goes.
struct Mode<'a> {
    /// Cells' output to stdout/stderr as it arrives (no output file, no `--json`).
    echo: bool,
    /// Write Jupyter's `metadata.execution` timestamps (an `.ipynb` output).
    timing: bool,
    options: &'a RunOptions,
}

/// How a cell ended, after any stop the run asked for.
enum Ending {
    Ok(Option<Bundle>),
    Error(EvalError),
    /// Interrupted at its `--timeout` (the error it raised then, if any).
    TimedOut {
        after: Duration,
        error: Option<EvalError>,
        killed: bool,
    },
    /// Interrupted by Ctrl-C.
    Interrupted {
        error: Option<EvalError>,
        killed: bool,
    },
    /// The runtime went down under it, or the manager failed.
    Died(Waited),
    Aborted(String),
}

fn ending(waited: Result<Outcome, Waited>, watch: &Watch) -> Ending {
    let stopped = |error: Option<EvalError>| match watch.stop {
        Some(Stop::Timeout(after)) => Ending::TimedOut {
            after,
            error,
            killed: watch.killed,
        },
        Some(Stop::Interrupt) | None => Ending::Interrupted {
            error,
            killed: watch.killed,
        },
    };
    match waited {
        // It finished before the interrupt took effect.
        Ok(Outcome::Ok { value }) => Ending::Ok(value),
        Ok(Outcome::Error(error)) if watch.stop.is_none() => Ending::Error(error),
        Ok(Outcome::Error(error)) | Ok(Outcome::Interrupted(Some(error))) => stopped(Some(error)),
        Ok(Outcome::Interrupted(None)) => stopped(None),
        // Killed after the grace: the manager aborts what ran.
        Ok(Outcome::Aborted { .. }) | Err(Waited::NodeDown(_)) if watch.killed => stopped(None),
        Ok(Outcome::Aborted { reason }) => Ending::Aborted(reason),
        Err(waited) => Ending::Died(waited),
    }
}

/// Runs the jobs in order; returns the failure that stopped them, if any.
#[allow(clippy::too_many_arguments)]
fn evaluate(
    manager: &Manager,
    session: SessionId,
    nb: &mut Notebook,
    jobs: &[Job],
    path: &Path,
    mode: &Mode,
    summary: &mut Summary,
    progress: &mut Progress,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Option<RunError>, RunError> {
    let (echo, json) = (mode.echo, mode.options.json);
    let mut count = 0u32;
    let mut prev: Option<String> = None;
    for job in jobs {
        let number = job.name.number;
        if let Some(reason) = &job.skip {
            progress.finish(err, &job.name, &format!("skipped ({reason})"), None)?;
            if json {
                let mut event = json::cell_finished(number, "skipped", None, None);
                event["reason"] = reason.as_str().into();
                emit(out, event)?;
            }
            continue;
        }
        // Ctrl-C between two cells: the next one does not start.
        if mode
            .options
            .interrupt
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
        {
            return Ok(Some(RunError::Interrupted));
        }
        progress.start(err, &job.name)?;
        if json {
            emit(out, json::cell_started(&job.name))?;
        }
        count += 1;
        summary.cells += 1;
        let cell = &nb.sections[job.section].cells[job.cell];
        let evaluation_ref = format!("cell-{number}");
        // Padding with blank lines makes the runtime's line numbers the file's.
        let (code, file) = match cell.line {
            Some(line) => (
                format!("{}{}", "\n".repeat(line.saturating_sub(1)), cell.source),
                path.display().to_string(),
            ),
            None => (cell.source.clone(), format!("{}, cell {}", path.display(), number)),
        };
        let sent = SystemTime::now();
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
        let mut watch = Watch::new(session, mode.options.timeout, mode.options.interrupt.clone());
        let waited = wait_finished(manager, &evaluation_ref, &mut watch, &mut |arrived| {
            match arrived {
                Arrived::Output(stream, text) => {
                    kept.push(stream, text);
                    if json {
                        emit(out, json::stream(number, stream, text))?;
                    } else if echo {
                        let sink: &mut dyn Write = if stream == Stream::Stdout { &mut *out } else { &mut *err };
                        sink.write_all(text.as_bytes())?;
                        sink.flush()?;
                    }
                }
                Arrived::Stray(text) if json => emit(out, json::stream(number, Stream::Stderr, text))?,
                Arrived::Stray(text) => err.write_all(text.as_bytes())?,
                Arrived::Display {
                    bundle,
                    display_id,
                    update,
                } => {
                    if json {
                        emit(out, json::display(number, "display_data", bundle, display_id, update))?;
                    }
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
        if mode.timing {
            let timing = Timing {
                started: sent,
                finished: SystemTime::now(),
            };
            cell.metadata.insert("execution".into(), timing.metadata());
        }
        let name = job.name.clone();
        let finished = |status: &str, error: Option<&EvalError>| json::cell_finished(number, status, Some(took), error);
        match ending(waited, &watch) {
            Ending::Ok(value) => {
                if let Some(value) = value {
                    if echo {
                        writeln!(out, "{}", value.text())?;
                    }
                    if json {
                        emit(out, json::display(number, "execute_result", &value, None, false))?;
                    }
                    cell.outputs.push(Output::execute_result(&value, Some(count)));
                }
                progress.finish(err, &name, "ok", Some(took))?;
                if json {
                    emit(out, finished("ok", None))?;
                }
            }
            Ending::Error(error) => {
                cell.outputs.push(error_output(&error));
                summary.failures += 1;
                progress.finish(err, &name, "failed", Some(took))?;
                if json {
                    emit(out, finished("error", Some(&error)))?;
                }
                // nbclient lets a cell tagged `raises-exception` fail without --allow-errors.
                let expected = cell
                    .metadata
                    .get("tags")
                    .and_then(|t| t.as_array())
                    .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some("raises-exception")));
                let stops = !mode.options.allow_errors && !expected;
                // With a bar and --allow-errors the traceback is in the saved notebook.
                if !json && (stops || progress.style() != Style::Bar) {
                    if stops {
                        progress.end(err)?;
                    }
                    out.flush()?;
                    writeln!(err, "{}", error_text(&error).trim_end())?;
                }
                if stops {
                    return Ok(Some(RunError::CellFailed { cell: name }));
                }
            }
            Ending::TimedOut { after, error, killed } => {
                let failure = RunError::CellTimedOut {
                    cell: name.clone(),
                    after,
                    killed,
                };
                let error = timeout_error(error.as_ref(), &failure.to_string());
                cell.outputs.push(error_output(&error));
                summary.failures += 1;
                progress.finish(
                    err,
                    &name,
                    &format!("timed out after {}", stop::seconds(after)),
                    Some(took),
                )?;
                if json {
                    emit(out, finished("timeout", Some(&error)))?;
                }
                return Ok(Some(failure));
            }
            Ending::Interrupted { error, killed } => {
                cell.outputs.extend(error.as_ref().map(error_output));
                progress.finish(err, &name, "interrupted", Some(took))?;
                if json {
                    emit(out, finished("interrupted", error.as_ref()))?;
                }
                return Ok(Some(RunError::CellInterrupted { cell: name, killed }));
            }
            Ending::Died(waited) => {
                summary.failures += 1;
                progress.finish(err, &name, "the runtime went down", Some(took))?;
                let failure = waited.into_run_error(name);
                if json {
                    let mut event = finished("died", None);
                    event["message"] = failure.to_string().into();
                    emit(out, event)?;
                }
                return Ok(Some(failure));
            }
            Ending::Aborted(reason) => {
                summary.failures += 1;
                progress.finish(err, &name, "aborted", Some(took))?;
                if json {
                    let mut event = finished("died", None);
                    event["message"] = reason.as_str().into();
                    emit(out, event)?;
                }
                return Ok(Some(RunError::Aborted { cell: name, reason }));
            }
        }
        prev = Some(evaluation_ref);
    }
    Ok(None)
}

/// The error a timed-out cell records: nbclient's `CellTimeoutError`, after
/// the traceback of the interrupt it raised, if any.
fn timeout_error(interrupted: Option<&EvalError>, message: &str) -> EvalError {
    let before = interrupted.map(error_text).unwrap_or_default();
    let before = before.trim_end();
    let last = format!("CellTimeoutError: {message}");
    EvalError {
        kind: "CellTimeoutError".into(),
        message: message.into(),
        line: None,
        column: None,
        frames: Vec::new(),
        formatted: if before.is_empty() {
            last
        } else {
            format!("{before}\n{last}")
        },
    }
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
