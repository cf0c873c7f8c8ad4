//! Livebook's branching sections (`<!-- livebook:{"branch_parent_index":N} -->`
//! before a section's heading) in `runyard run`.
//!
//! A branch starts from the context its parent section left and does not
//! hold up the sections after it: the main flow runs first, without the
//! branches; then every branch starts from its parent's last cell, all of
//! them at once (`Command::EvaluateBranch`: the Elixir agent runs each
//! beside the others), each branch's cells in order. Livebook keeps a branch
//! running for as long as the notebook is open; a headless run must end, so
//! a branch still running [`GRACE`] after the main flow finished is
//! interrupted, its cell keeps its output with a note saying so, and the
//! run still succeeds (a branch that *fails* fails the run, as any cell).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::json::{self, emit};
use super::notebook::{Job, Kept, error_output, error_text};
use super::progress::Progress;
use super::{RunError, Waited};
use crate::manager::{Command, Evaluation, Manager, Outcome, SessionId};
use crate::notebook::{Notebook, Output};
use crate::protocol::Stream;

/// How long branches may go on after the main flow finished.
pub const GRACE: Duration = Duration::from_secs(5);
/// How long an interrupted branch has to answer before the run ends anyway.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// One branching section's cells, in order.
struct Branch {
    parent: usize,
    jobs: Vec<Job>,
    next: usize,
    /// The cell running now: its job index, ref, output so far, start.
    running: Option<(usize, String, Kept, Instant)>,
    prev: Option<(String, String)>,
    done: bool,
}

/// How the run reports and stops: cells' output to stdout/stderr (`echo`),
/// `--json` events, and Ctrl-C's flag.
#[derive(Clone, Copy)]
pub(super) struct How<'a> {
    pub echo: bool,
    pub json: bool,
    pub interrupt: Option<&'a std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// Splits the planned cells into the main flow and the branches' cells.
pub(super) fn split(jobs: Vec<Job>) -> (Vec<Job>, Vec<Job>) {
    jobs.into_iter().partition(|job| job.branch_of.is_none())
}

/// Runs the branches once the main flow is done (`main`: its cells, all
/// run). Returns the first failure.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    manager: &Manager,
    session: SessionId,
    nb: &mut Notebook,
    main: &[Job],
    branch_jobs: Vec<Job>,
    path: &Path,
    how: How<'_>,
    progress: &mut Progress,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Option<RunError>, RunError> {
    let How { echo, json, interrupt } = how;
    let ctrl_c = || interrupt.is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst));
    let mut by_section: BTreeMap<usize, Branch> = BTreeMap::new();
    for job in branch_jobs {
        let parent = job.branch_of.unwrap_or_default();
        by_section
            .entry(job.section)
            .or_insert_with(|| Branch {
                parent,
                jobs: Vec::new(),
                next: 0,
                running: None,
                prev: None,
                done: false,
            })
            .jobs
            .push(job);
    }
    let mut branches: Vec<Branch> = by_section.into_values().collect();
    for branch in &mut branches {
        // The parent's context: the last main-flow cell at or above its end.
        branch.prev = main
            .iter()
            .rev()
            .find(|j| j.skip.is_none() && j.section <= branch.parent)
            .map(|j| ("main".to_string(), format!("cell-{}", j.name.number)));
    }
    let mut count = nb
        .sections
        .iter()
        .flat_map(|s| &s.cells)
        .filter_map(|c| c.execution_count)
        .max()
        .unwrap_or(0);
    let mut failure = None;
    for branch in &mut branches {
        start_next(manager, session, nb, branch, path, json, progress, out, err)?;
    }
    let deadline = Instant::now() + GRACE;
    let mut interrupted: Option<Instant> = None;
    while branches.iter().any(|b| !b.done) {
        let now = Instant::now();
        if interrupted.is_none() && (now >= deadline || ctrl_c()) {
            if ctrl_c() {
                failure.get_or_insert(RunError::Interrupted);
            }
            manager.send(Command::Interrupt { session });
            interrupted = Some(now);
        }
        if interrupted.is_some_and(|at| now >= at + INTERRUPT_GRACE) {
            for branch in branches.iter_mut().filter(|b| !b.done) {
                stop(nb, branch, progress, err, "did not answer the interrupt")?;
            }
            break;
        }
        let Some(event) = manager.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        match event {
            crate::Event::Output {
                evaluation_ref: Some(r),
                stream,
                text,
                ..
            } => {
                if let Some((number, kept)) = kept_for(&mut branches, &r) {
                    kept.push(stream, &text);
                    if json {
                        emit(out, json::stream(number, stream, &text))?;
                    } else if echo {
                        let sink: &mut dyn Write = if stream == Stream::Stdout { &mut *out } else { &mut *err };
                        sink.write_all(text.as_bytes())?;
                        sink.flush()?;
                    }
                }
            }
            crate::Event::Display {
                evaluation_ref: Some(r),
                bundle,
                display_id,
                update,
                ..
            } => {
                if let Some((number, kept)) = kept_for(&mut branches, &r) {
                    if json {
                        let id = display_id.as_deref();
                        emit(out, json::display(number, "display_data", &bundle, id, update))?;
                    }
                    if update {
                        kept.update_display(display_id.as_deref(), &bundle);
                    } else {
                        if echo {
                            writeln!(out, "{}", bundle.text())?;
                        }
                        kept.push_display(display_id.as_deref(), &bundle);
                    }
                }
            }
            crate::Event::StrayOutput { text, .. } => err.write_all(text.as_bytes())?,
            crate::Event::InputRequested { session, .. } => manager.send(Command::Input { session, value: None }),
            crate::Event::EvaluationFinished {
                evaluation_ref: r,
                outcome,
                ..
            } => {
                let Some(branch) = branches
                    .iter_mut()
                    .find(|b| b.running.as_ref().is_some_and(|(_, running, ..)| *running == r))
                else {
                    continue;
                };
                let (index, r, kept, started) = branch.running.take().expect("found running");
                let took = started.elapsed();
                let job = &branch.jobs[index];
                let name = job.name.clone();
                let number = name.number;
                let finished = |status: &str, error: Option<&crate::protocol::EvalError>| {
                    json::cell_finished(number, status, Some(took), error)
                };
                count += 1;
                let cell = &mut nb.sections[job.section].cells[job.cell];
                cell.execution_count = Some(count);
                cell.outputs = kept.finish();
                match outcome {
                    Outcome::Ok { value } => {
                        if let Some(value) = value {
                            if json {
                                emit(out, json::display(number, "execute_result", &value, None, false))?;
                            } else if echo {
                                writeln!(out, "{}", value.text())?;
                            }
                            cell.outputs.push(Output::execute_result(&value, Some(count)));
                        }
                        if json {
                            emit(out, finished("ok", None))?;
                        }
                        progress.finish(err, &name, "ok", Some(took))?;
                        branch.prev = Some((container_of(job), r));
                        start_next(manager, session, nb, branch, path, json, progress, out, err)?;
                    }
                    Outcome::Error(error) => {
                        cell.outputs.push(error_output(&error));
                        if json {
                            emit(out, finished("error", Some(&error)))?;
                        }
                        progress.finish(err, &name, "failed", Some(took))?;
                        writeln!(err, "{}", error_text(&error).trim_end())?;
                        failure.get_or_insert(RunError::CellFailed { cell: name });
                        branch.done = true;
                    }
                    Outcome::Interrupted(error) if interrupted.is_some() => {
                        if json {
                            emit(out, finished("interrupted", error.as_ref()))?;
                        }
                        cell.outputs.push(Output::stream("stderr", stopped_note()));
                        progress.finish(err, &name, "stopped (branch still running)", Some(took))?;
                        writeln!(err, "runyard: {name}: {}", stopped_note().trim())?;
                        branch.done = true;
                    }
                    Outcome::Interrupted(error) => {
                        if json {
                            emit(out, finished("interrupted", error.as_ref()))?;
                        }
                        cell.outputs.extend(error.as_ref().map(error_output));
                        progress.finish(err, &name, "interrupted", Some(took))?;
                        failure.get_or_insert(RunError::CellInterrupted {
                            cell: name,
                            killed: false,
                        });
                        branch.done = true;
                    }
                    Outcome::Aborted { reason } => {
                        if json {
                            let mut event = finished("died", None);
                            event["message"] = reason.clone().into();
                            emit(out, event)?;
                        }
                        progress.finish(err, &name, "aborted", Some(took))?;
                        failure.get_or_insert(RunError::Aborted { cell: name, reason });
                        branch.done = true;
                    }
                }
            }
            crate::Event::NodeDown {
                exit,
                cause,
                stderr_tail,
                crash_dump,
                ..
            } => {
                let name = branches
                    .iter()
                    .find_map(|b| b.running.as_ref().map(|(i, ..)| b.jobs[*i].name.clone()));
                let down = Waited::NodeDown(Box::new(super::NodeDown {
                    exit,
                    cause,
                    stderr_tail,
                    crash_dump,
                }));
                return Ok(Some(match name {
                    Some(name) => down.into_run_error(name),
                    None => failure.unwrap_or_else(|| down.into_run_error(main_name(main))),
                }));
            }
            crate::Event::ManagerFailed { message } => {
                return Ok(Some(Waited::ManagerFailed(message).into_run_error(main_name(main))));
            }
            _ => {}
        }
    }
    Ok(failure)
}

fn main_name(main: &[Job]) -> super::CellName {
    main.last().map(|j| j.name.clone()).unwrap_or(super::CellName {
        number: 0,
        line: None,
        id: None,
        section: None,
    })
}

fn stopped_note() -> String {
    format!(
        "[runyard: stopped: this branching section was still running {} s after the main flow finished]\n",
        GRACE.as_secs()
    )
}

fn container_of(job: &Job) -> String {
    format!("branch-{}", job.section)
}

/// The running cell with evaluation ref `r`: its number and output so far.
fn kept_for<'a>(branches: &'a mut [Branch], r: &str) -> Option<(usize, &'a mut Kept)> {
    branches.iter_mut().find_map(|b| match &mut b.running {
        Some((index, running, kept, _)) if running == r => Some((b.jobs[*index].name.number, kept)),
        _ => None,
    })
}

/// A branch stopped without an answer from the runtime.
fn stop(
    nb: &mut Notebook,
    branch: &mut Branch,
    progress: &mut Progress,
    err: &mut dyn Write,
    why: &str,
) -> std::io::Result<()> {
    if let Some((index, _, kept, started)) = branch.running.take() {
        let job = &branch.jobs[index];
        let cell = &mut nb.sections[job.section].cells[job.cell];
        cell.outputs = kept.finish();
        cell.outputs.push(Output::stream("stderr", stopped_note()));
        progress.finish(err, &job.name, &format!("stopped ({why})"), Some(started.elapsed()))?;
    }
    branch.done = true;
    Ok(())
}

/// Sends the branch's next cell to run, skipping the ones that do not run.
#[allow(clippy::too_many_arguments)]
fn start_next(
    manager: &Manager,
    session: SessionId,
    nb: &Notebook,
    branch: &mut Branch,
    path: &Path,
    json: bool,
    progress: &mut Progress,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    while let Some(job) = branch.jobs.get(branch.next) {
        let index = branch.next;
        branch.next += 1;
        if let Some(reason) = &job.skip {
            if json {
                let mut event = json::cell_finished(job.name.number, "skipped", None, None);
                event["reason"] = reason.clone().into();
                emit(out, event)?;
            }
            progress.finish(err, &job.name, &format!("skipped ({reason})"), None)?;
            continue;
        }
        if json {
            emit(out, json::cell_started(&job.name))?;
        }
        progress.start(err, &job.name)?;
        let cell = &nb.sections[job.section].cells[job.cell];
        let evaluation_ref = format!("cell-{}", job.name.number);
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
        let (prev_container, prev) = branch.prev.clone().unzip();
        manager.evaluate_branch(
            session,
            Evaluation {
                container: container_of(job),
                evaluation_ref: evaluation_ref.clone(),
                prev_evaluation_ref: prev,
                prev_container,
                code,
                file,
                options: None,
            },
        );
        branch.running = Some((index, evaluation_ref, Kept::default(), Instant::now()));
        return Ok(());
    }
    branch.done = true;
    Ok(())
}
