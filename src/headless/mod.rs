//! `runyard run`: evaluates a notebook cell by cell in a fresh standalone
//! runtime, with no window. Without `--output` or `--inplace` what each cell
//! prints streams to stdout; with them the outputs are written into the
//! notebook, see [`notebook`]. `--json` writes events instead ([`json`]);
//! `--timeout` and Ctrl-C stop a cell as [`stop`] says.

mod branches;
mod json;
mod notebook;
pub mod parameters;
mod place;
mod progress;
mod stop;
mod timing;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use crate::manager::{Event, Manager, ManagerError, Outcome};
use crate::notebook::{Format, NotebookError};
use crate::protocol::Stream;
use crate::runtime::{InitError, RuntimeConfig};

pub use json::Summary;
pub use notebook::run_notebook;
pub use place::place_from_flags;
use stop::Watch;
pub use stop::{INTERRUPTED_EXIT, KILL_GRACE, on_sigint};

/// What `runyard run` was asked.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The Python interpreter (name in PATH or path); `None`: `python3`.
    pub python: Option<String>,
    /// The `elixir` executable; `None`: `elixir` from PATH.
    pub elixir: Option<String>,
    /// Evaluate in this Jupyter kernel (a kernelspec name) instead of the
    /// notebook language's own runtime.
    pub kernel: Option<String>,
    /// Run on an SSH host or as a Slurm job step ([`place_from_flags`]);
    /// `None`: where the notebook remembers, else here. `python` then names
    /// the interpreter there.
    pub place: Option<crate::remote::Place>,
    pub init_timeout: Duration,
    /// Write the evaluated notebook here (its extension chooses the format).
    pub output: Option<PathBuf>,
    /// Write the evaluated notebook over the one that was read.
    pub inplace: bool,
    /// Show a progress bar (stderr is a terminal) rather than one line per cell.
    pub progress_bar: bool,
    /// Interrupt a cell that runs longer (`--timeout`); `None`: no limit.
    pub timeout: Option<Duration>,
    /// Record a failing cell's error and go on (`--allow-errors`).
    pub allow_errors: bool,
    /// The runtime's working directory (`--cwd`); `None`: the notebook's
    /// own directory, or on an SSH host or Slurm the login directory.
    pub cwd: Option<PathBuf>,
    /// Write JSON events to stdout instead of the cells' output (`--json`).
    pub json: bool,
    /// Set at Ctrl-C ([`on_sigint`]): the running cell is interrupted.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Injected as a cell before the run, as papermill does ([`parameters`]).
    pub parameters: parameters::Parameters,
}

impl RunOptions {
    pub fn new() -> RunOptions {
        RunOptions {
            python: None,
            elixir: None,
            kernel: None,
            place: None,
            init_timeout: crate::runtime::DEFAULT_INIT_TIMEOUT,
            output: None,
            inplace: false,
            progress_bar: false,
            timeout: None,
            allow_errors: false,
            cwd: None,
            json: false,
            interrupt: None,
            parameters: parameters::Parameters::default(),
        }
    }

    /// The runtime's working directory: `--cwd`, else here the notebook's
    /// directory (as `jupyter nbconvert --execute` does), else (on a host)
    /// none, as the notebook's directory is a path on this computer.
    fn working_directory(&self, path: &Path, local: bool) -> Result<Option<PathBuf>, RunError> {
        if let Some(cwd) = &self.cwd {
            // A directory on a host is checked there (the launch `cd`s into it).
            if local && !cwd.is_dir() {
                return Err(RunError::Cwd { path: cwd.clone() });
            }
            return Ok(Some(cwd.clone()));
        }
        if !local {
            return Ok(None);
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Some(std::path::absolute(&dir).unwrap_or(dir)))
    }

    /// The runtime for the notebook at `path` (`metadata` and `language` as
    /// read from it): `--python` / `--elixir` when given, else what
    /// [`crate::kernels::pick_runtime`] picks, as the window does. On a
    /// place given (or, with no runtime flag, one the notebook remembers):
    /// Python there. What is worth knowing about the choice goes to `err`.
    fn config(
        &self,
        path: &Path,
        metadata: &crate::notebook::Object,
        language: &crate::notebook::Language,
        err: &mut dyn Write,
    ) -> Result<RuntimeConfig, RunError> {
        use crate::kernels::Pick;
        use crate::notebook::Language;
        if let Some(place) = self.place.as_ref().filter(|p| !p.is_local()) {
            if self.kernel.is_some() || *language != Language::Python {
                let what = match &self.kernel {
                    Some(kernel) => format!("the Jupyter kernel {kernel}"),
                    None => format!("a notebook in {}", language.name()),
                };
                return Err(RunError::NotRemote { what });
            }
            // The interpreter is the host's: nothing here to look at.
            let mut config = RuntimeConfig::python().on(place.clone());
            config.standalone_mut().executable = self.python.clone();
            return Ok(config.with_init_timeout(self.init_timeout));
        }
        let chosen_here = self.kernel.is_some() || self.python.is_some() || self.elixir.is_some();
        if !chosen_here && *language == Language::Python {
            match crate::remote::remembered::remembered_place(metadata) {
                Ok(Some(remote)) => {
                    writeln!(
                        err,
                        "runyard: runs {}, as the notebook remembers (give --python to run it on this computer)",
                        remote.place.label()
                    )?;
                    return Ok(remote
                        .config(RuntimeConfig::python())
                        .with_init_timeout(self.init_timeout));
                }
                Ok(None) => {}
                Err(error) => writeln!(err, "runyard: warning: {error}")?,
            }
        }
        if let Some(name) = &self.kernel {
            let spec = crate::kernels::find_kernelspec(name, Some(path))?;
            return Ok(RuntimeConfig::jupyter(spec).with_init_timeout(self.init_timeout));
        }
        let config = match (language, &self.python, &self.elixir) {
            (Language::Python, Some(python), _) => RuntimeConfig::python().with_executable(python_arg(python)?),
            (Language::Elixir, _, Some(elixir)) => RuntimeConfig::elixir().with_executable(elixir.clone()),
            _ => {
                let discovered = crate::kernels::discover(&crate::kernels::Inputs::from_env(Some(path)));
                match crate::kernels::pick_runtime(Some(path), metadata, language, &discovered) {
                    Pick::Python { interpreter, .. } => {
                        RuntimeConfig::python().with_executable(interpreter.display().to_string())
                    }
                    Pick::Kernel(spec) => RuntimeConfig::jupyter(spec),
                    Pick::Default if *language == Language::Elixir => {
                        let mut config = RuntimeConfig::elixir();
                        config.standalone_mut().executable = self.elixir.clone();
                        config
                    }
                    Pick::Default => RuntimeConfig::python(),
                    Pick::Missing { message, .. } => return Err(RunError::NoKernel { message }),
                }
            }
        };
        Ok(config.with_init_timeout(self.init_timeout))
    }
}

/// `--python`: an interpreter (a name in PATH or a path), or an environment
/// directory, whose `bin/python` it means.
fn python_arg(python: &str) -> Result<String, RunError> {
    let path = Path::new(python);
    if !path.is_dir() {
        return Ok(python.to_string());
    }
    match crate::kernels::discovery::interpreter_in(path) {
        Some(interpreter) => Ok(interpreter.display().to_string()),
        None => Err(RunError::NotAnEnvironment { path: path.into() }),
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `path`, a notebook in a format Runyard reads (a percent script
/// with no `# %%` marker is one cell, as Python would run it); anything else
/// is refused before it is read. Returns what ran; with `--json` the
/// `run_finished` event says how it ended, whatever the result.
pub fn run(path: &Path, options: &RunOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<Summary, RunError> {
    let started = std::time::Instant::now();
    let mut summary = Summary::default();
    let result = match Format::from_path(path) {
        None => Err(RunError::NotANotebook { path: path.into() }),
        Some(_) => run_notebook(path, options, &mut summary, out, err),
    };
    summary.took = started.elapsed();
    if options.json {
        let (status, code, message) = match &result {
            Ok(()) => ("ok", 0, None),
            Err(e) => (e.status(), e.exit_code(), Some(e.to_string())),
        };
        json::emit(out, json::run_finished(status, code, &summary, message))?;
    }
    result.map(|()| summary)
}

/// Refuses an output the run could not save, before anything runs: a
/// read-only file, or a directory that is missing or not writable (the
/// atomic save writes a temporary file beside the target).
fn check_target(target: &Path) -> Result<(), RunError> {
    crate::notebook::check_writable(target)?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(RunError::OutputDir {
            path: target.into(),
            reason: "its directory does not exist",
        });
    }
    let flags = nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK;
    if nix::unistd::faccessat(nix::fcntl::AT_FDCWD, dir, flags, nix::fcntl::AtFlags::AT_EACCESS).is_err() {
        return Err(RunError::OutputDir {
            path: target.into(),
            reason: "its directory is not writable",
        });
    }
    Ok(())
}

/// Names a cell in messages: `cell 3 (line 12, section "Setup")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellName {
    /// 1-based among the notebook's code cells, as an editor numbers runs.
    pub number: usize,
    pub line: Option<usize>,
    pub id: Option<String>,
    pub section: Option<String>,
}

impl std::fmt::Display for CellName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cell {}", self.number)?;
        let mut details = Vec::new();
        if let Some(line) = self.line {
            details.push(format!("line {line}"));
        }
        if let Some(id) = &self.id {
            details.push(format!("id {id}"));
        }
        if let Some(section) = self.section.as_deref().filter(|s| !s.is_empty()) {
            details.push(format!("section {section:?}"));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "{} is not a notebook: runyard run takes .ipynb, .livemd and percent scripts (.py, cells marked `# %%`)",
        path.display()
    )]
    NotANotebook { path: PathBuf },
    #[error(transparent)]
    Notebook(#[from] NotebookError),
    #[error("cannot write {}: {reason}", path.display())]
    OutputDir { path: PathBuf, reason: &'static str },
    #[error("--cwd {}: not a directory", path.display())]
    Cwd { path: PathBuf },
    #[error("--output {} has no notebook format Runyard knows (use .ipynb, .livemd or .py)", path.display())]
    OutputFormat { path: PathBuf },
    #[error(
        "the notebook's language is {language}; Runyard runs Python and Elixir notebooks, and others in a \
         Jupyter kernel given with --kernel NAME"
    )]
    NoRuntime { language: String },
    #[error("--kernel: {0}")]
    Kernel(#[from] crate::kernels::LookupError),
    /// The notebook's kernel is not installed here (and no runtime of its language is).
    #[error("{message}")]
    NoKernel { message: String },
    #[error("--python {}: a directory without bin/python (not a Python environment)", path.display())]
    NotAnEnvironment { path: PathBuf },
    /// `--ssh`, `--ssh-config` and `--slurm` that name no place.
    #[error("{0}")]
    PlaceFlags(String),
    /// The place named cannot work (a host ssh would read as an option).
    #[error("--ssh/--slurm: {0}")]
    Place(crate::runtime::ConfigError),
    #[error("{what} runs on this computer only: on SSH hosts and Slurm Runyard starts Python")]
    NotRemote { what: String },
    #[error(transparent)]
    Manager(#[from] ManagerError),
    #[error("the runtime could not be started: {error}{}", detail(error))]
    Init { error: InitError },
    #[error("{cell} failed")]
    CellFailed { cell: CellName },
    #[error("{cell} was interrupted{}", if *killed { killed_note() } else { String::new() })]
    CellInterrupted { cell: CellName, killed: bool },
    #[error("{cell} timed out after {}{}", stop::seconds(*after), if *killed { killed_note() } else { String::new() })]
    CellTimedOut {
        cell: CellName,
        after: Duration,
        killed: bool,
    },
    /// Ctrl-C while the runtime started or between cells.
    #[error("interrupted")]
    Interrupted,
    #[error("during {cell}: {}{}", down.cause.describe_with_dump(&down.exit, down.crash_dump.as_deref()), tail(&down.stderr_tail))]
    NodeDown { cell: CellName, down: Box<NodeDown> },
    #[error("during {cell}: {message}")]
    ManagerFailed { cell: CellName, message: String },
    #[error("{cell} did not finish: {reason}")]
    Aborted { cell: CellName, reason: String },
    #[error("cannot write output: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Parameters(#[from] parameters::ParameterError),
}

fn killed_note() -> String {
    format!(
        "; it did not stop within {} of the interrupt, so its runtime was killed",
        stop::seconds(KILL_GRACE)
    )
}

impl RunError {
    /// The exit status (README, `runyard run --help`): 1 a cell failed or
    /// timed out, 2 bad usage or input, 3 the runtime could not start or
    /// died, 130 interrupted.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::CellFailed { .. } | RunError::CellTimedOut { .. } => 1,
            RunError::NotANotebook { .. }
            | RunError::Notebook(_)
            | RunError::OutputDir { .. }
            | RunError::Cwd { .. }
            | RunError::OutputFormat { .. }
            | RunError::NoRuntime { .. }
            | RunError::Kernel(_)
            | RunError::NoKernel { .. }
            | RunError::NotAnEnvironment { .. }
            | RunError::PlaceFlags(_)
            | RunError::Place(_)
            | RunError::NotRemote { .. }
            | RunError::Parameters(_) => 2,
            RunError::Manager(_)
            | RunError::Init { .. }
            | RunError::NodeDown { .. }
            | RunError::ManagerFailed { .. }
            | RunError::Aborted { .. } => 3,
            RunError::CellInterrupted { .. } | RunError::Interrupted => INTERRUPTED_EXIT,
            // stdout or stderr cannot be written (a closed pipe).
            RunError::Write(_) => 1,
        }
    }

    /// How the run ended, as `--json`'s `run_finished` says it.
    fn status(&self) -> &'static str {
        match self.exit_code() {
            1 => "failed",
            2 => "refused",
            3 => "runtime_failed",
            _ => "interrupted",
        }
    }
}

fn detail(error: &InitError) -> String {
    match error {
        InitError::ExecutableNotFound { searched, .. } => format!(
            " (searched {})",
            searched
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":")
        ),
        _ => error.stderr_tail().map(tail).unwrap_or_default(),
    }
}

fn tail(text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("; its last words on stderr:\n{}", text.trim_end())
    }
}

/// Waits for the runtime to be ready; Ctrl-C meanwhile stops the run.
fn wait_connected(manager: &Manager, interrupt: Option<&Arc<AtomicBool>>) -> Result<(), RunError> {
    let poll = if interrupt.is_some() {
        Duration::from_millis(50)
    } else {
        Duration::from_secs(3600)
    };
    loop {
        if interrupt.is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst)) {
            return Err(RunError::Interrupted);
        }
        match manager.recv_event(poll) {
            Ok(Event::Connected { info, .. }) => {
                tracing::info!(node = %info.name, executable = %info.executable, "connected");
                return Ok(());
            }
            Ok(Event::InitFailed { error, .. }) => return Err(RunError::Init { error }),
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(RunError::Init {
                    error: InitError::BadHandshake {
                        detail: "the manager stopped".into(),
                    },
                });
            }
        }
    }
}

/// How the runtime ended under a cell.
#[derive(Debug)]
pub struct NodeDown {
    pub exit: crate::runtime::ExitInfo,
    pub cause: crate::manager::DownCause,
    pub stderr_tail: String,
    pub crash_dump: Option<PathBuf>,
}

enum Waited {
    NodeDown(Box<NodeDown>),
    ManagerFailed(String),
    Io(std::io::Error),
}

impl Waited {
    fn into_run_error(self, cell: CellName) -> RunError {
        match self {
            Waited::NodeDown(down) => RunError::NodeDown { cell, down },
            Waited::ManagerFailed(message) => RunError::ManagerFailed { cell, message },
            Waited::Io(e) => RunError::Write(e),
        }
    }
}

/// What a runtime wrote while an evaluation ran.
enum Arrived<'a> {
    Output(Stream, &'a str),
    /// A rich output; with `update`, a replacement for the ones with its id.
    Display {
        bundle: &'a crate::protocol::Bundle,
        display_id: Option<&'a str>,
        update: bool,
    },
    /// Bytes outside the protocol's frames.
    Stray(&'a str),
}

/// Waits for an evaluation's end, passing what the runtime writes to
/// `on_output` as it arrives; `watch` interrupts it at its deadline or at
/// Ctrl-C, and kills the runtime if that does not stop it.
fn wait_finished(
    manager: &Manager,
    evaluation_ref: &str,
    watch: &mut Watch,
    on_output: &mut dyn FnMut(Arrived) -> std::io::Result<()>,
) -> Result<Outcome, Waited> {
    loop {
        watch.check(manager);
        let event = match manager.recv_event(watch.next_wait()) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Err(Waited::ManagerFailed("the manager stopped".into())),
        };
        match event {
            Event::Output { stream, text, .. } => on_output(Arrived::Output(stream, &text)).map_err(Waited::Io)?,
            Event::StrayOutput { text, .. } => on_output(Arrived::Stray(&text)).map_err(Waited::Io)?,
            // Nobody types into a headless run: end of input, as `< /dev/null` gives
            // (Python's input() raises EOFError, IO.gets returns :eof).
            Event::InputRequested { session, prompt, .. } => {
                manager.send(crate::manager::Command::Input { session, value: None });
                let note = format!("runyard: the cell asked for input ({prompt:?}): end of input given\n");
                on_output(Arrived::Stray(&note)).map_err(Waited::Io)?;
            }
            Event::Display {
                bundle,
                display_id,
                update,
                ..
            } => on_output(Arrived::Display {
                bundle: &bundle,
                display_id: display_id.as_deref(),
                update,
            })
            .map_err(Waited::Io)?,
            Event::EvaluationFinished {
                evaluation_ref: r,
                outcome,
                ..
            } if r == evaluation_ref => return Ok(outcome),
            Event::NodeDown {
                exit,
                cause,
                stderr_tail,
                crash_dump,
                ..
            } => {
                return Err(Waited::NodeDown(Box::new(NodeDown {
                    exit,
                    cause,
                    stderr_tail,
                    crash_dump,
                })));
            }
            Event::ManagerFailed { message } => return Err(Waited::ManagerFailed(message)),
            Event::Warning { message, .. } => tracing::warn!("{message}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_starts_in_the_notebooks_directory_unless_told() {
        let options = RunOptions::new();
        let here = options.working_directory(Path::new("nb.ipynb"), true).unwrap().unwrap();
        assert!(here.is_absolute(), "{here:?}");
        assert_eq!(
            here.canonicalize().unwrap(),
            std::env::current_dir().unwrap().canonicalize().unwrap()
        );
        let nb = Path::new("/srv/reports/nb.ipynb");
        assert_eq!(
            options.working_directory(nb, true).unwrap(),
            Some("/srv/reports".into())
        );
        // On a host the notebook's directory here means nothing.
        assert_eq!(options.working_directory(nb, false).unwrap(), None);
        let options = RunOptions {
            cwd: Some("/on/the/host/only".into()),
            ..RunOptions::new()
        };
        assert_eq!(
            options.working_directory(nb, false).unwrap(),
            Some("/on/the/host/only".into())
        );
        assert!(matches!(options.working_directory(nb, true), Err(RunError::Cwd { .. })));
    }

    #[test]
    fn exit_statuses() {
        let cell = CellName {
            number: 1,
            line: None,
            id: None,
            section: None,
        };
        let timed_out = RunError::CellTimedOut {
            cell: cell.clone(),
            after: Duration::from_secs(2),
            killed: false,
        };
        assert_eq!(timed_out.to_string(), "cell 1 timed out after 2 s");
        assert_eq!(timed_out.exit_code(), 1);
        assert_eq!(RunError::CellFailed { cell: cell.clone() }.exit_code(), 1);
        assert_eq!(
            RunError::NotANotebook {
                path: "README.md".into()
            }
            .exit_code(),
            2
        );
        let init = RunError::Init {
            error: InitError::BadHandshake { detail: "x".into() },
        };
        assert_eq!(init.exit_code(), 3);
        assert_eq!(
            RunError::Aborted {
                cell: cell.clone(),
                reason: "gone".into()
            }
            .exit_code(),
            3
        );
        assert_eq!(RunError::CellInterrupted { cell, killed: true }.exit_code(), 130);
        assert_eq!(RunError::Interrupted.exit_code(), 130);
    }
}
