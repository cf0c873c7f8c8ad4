//! `runyard run`: evaluates a notebook cell by cell in a fresh standalone
//! runtime, with no window. A percent script alone streams what each cell
//! prints to stdout; with `--output` or `--inplace` (and for every notebook
//! format) the outputs are written into the notebook, see [`notebook`].

mod branches;
mod notebook;
mod place;
mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::manager::{Evaluation, Event, Manager, ManagerError, Outcome, SessionId};
use crate::notebook::percent::{self, CellKind};
use crate::notebook::{Format, NotebookError};
use crate::protocol::Stream;
use crate::runtime::{InitError, RuntimeConfig};

pub use notebook::run_notebook;
pub use place::place_from_flags;

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
        }
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

/// Runs `path`: a percent script (or any file not named as a notebook) with
/// neither `--output` nor `--inplace` streams its output as before; anything
/// else is evaluated into a notebook.
pub fn run(path: &Path, options: &RunOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), RunError> {
    let notebook = matches!(Format::from_path(path), Some(Format::Ipynb | Format::Livemd));
    if !notebook && options.output.is_none() && !options.inplace {
        // The script's `# runyard:` header, if any, says which Python.
        let metadata = std::fs::read(path)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(|text| percent::to_notebook(&text).metadata)
            .unwrap_or_default();
        let config = options.config(path, &metadata, &crate::notebook::Language::Python, err)?;
        return run_script(path, config, out, err).map(|_| ());
    }
    run_notebook(path, options, out, err)
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
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not UTF-8 text", path.display())]
    NotText { path: PathBuf },
    #[error(transparent)]
    Notebook(#[from] NotebookError),
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
    #[error("{cell} was interrupted")]
    CellInterrupted { cell: CellName },
    #[error("during {cell}: {}{}", down.cause.describe_with_dump(&down.exit, down.crash_dump.as_deref()), tail(&down.stderr_tail))]
    NodeDown { cell: CellName, down: Box<NodeDown> },
    #[error("during {cell}: {message}")]
    ManagerFailed { cell: CellName, message: String },
    #[error("{cell} did not finish: {reason}")]
    Aborted { cell: CellName, reason: String },
    #[error("cannot write output: {0}")]
    Write(#[from] std::io::Error),
}

impl RunError {
    /// Errors in what was asked (a missing file) exit with 2, failures of the
    /// notebook or its runtime with 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Read { .. }
            | RunError::NotText { .. }
            | RunError::Notebook(_)
            | RunError::OutputFormat { .. }
            | RunError::NoRuntime { .. }
            | RunError::Kernel(_)
            | RunError::NoKernel { .. }
            | RunError::NotAnEnvironment { .. }
            | RunError::PlaceFlags(_)
            | RunError::Place(_)
            | RunError::NotRemote { .. } => 2,
            _ => 1,
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

/// Runs a percent-format script, writing cell output to `out` / `err`.
pub fn run_script(
    path: &Path,
    config: RuntimeConfig,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<usize, RunError> {
    let bytes = std::fs::read(path).map_err(|source| RunError::Read {
        path: path.into(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| RunError::NotText { path: path.into() })?;
    // A byte-order mark (Notepad writes one) is not code: Python skips it too.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let cells: Vec<_> = percent::parse(text)
        .into_iter()
        .filter(|c| c.kind == CellKind::Code)
        .collect();

    let manager = Manager::start_headless()?;
    let session = SessionId(1);
    manager.connect(session, config);
    wait_connected(&manager)?;

    let file = path.display().to_string();
    let mut prev: Option<String> = None;
    for (index, cell) in cells.iter().enumerate() {
        let number = index + 1;
        if cell.source.trim().is_empty() {
            continue;
        }
        let evaluation_ref = format!("cell-{number}");
        // Padding with blank lines makes the runtime's line numbers the file's.
        let code = format!("{}{}", "\n".repeat(cell.first_line - 1), cell.source);
        manager.evaluate(
            session,
            Evaluation {
                container: "main".into(),
                evaluation_ref: evaluation_ref.clone(),
                prev_evaluation_ref: prev.clone(),
                prev_container: None,
                code,
                file: file.clone(),
                options: None,
            },
        );
        let name = CellName {
            number,
            line: Some(cell.first_line),
            id: None,
            section: None,
        };
        let outcome = wait_finished(&manager, &evaluation_ref, &mut |arrived| {
            let display;
            let (sink, text): (&mut dyn Write, _) = match arrived {
                Arrived::Output(Stream::Stdout, text) => (&mut *out, text),
                Arrived::Output(Stream::Stderr, text) | Arrived::Stray(text) => (&mut *err, text),
                // A terminal shows a display's text; an update adds nothing new to scroll back to.
                Arrived::Display { update: true, .. } => return Ok(()),
                Arrived::Display { bundle, .. } => {
                    display = format!("{}\n", bundle.text());
                    (&mut *out, display.as_str())
                }
            };
            sink.write_all(text.as_bytes()).and_then(|_| sink.flush())
        })
        .map_err(|e| e.into_run_error(name.clone()))?;
        match outcome {
            Outcome::Ok { value } => {
                if let Some(value) = value {
                    writeln!(out, "{}", value.text())?;
                }
            }
            Outcome::Error(error) => {
                out.flush()?;
                let text = if error.formatted.is_empty() {
                    format!("{}: {}", error.kind, error.message)
                } else {
                    error.formatted.clone()
                };
                write!(err, "{}", text)?;
                if !text.ends_with('\n') {
                    writeln!(err)?;
                }
                return Err(RunError::CellFailed { cell: name });
            }
            Outcome::Interrupted(_) => return Err(RunError::CellInterrupted { cell: name }),
            Outcome::Aborted { reason } => return Err(RunError::Aborted { cell: name, reason }),
        }
        prev = Some(evaluation_ref);
    }
    out.flush()?;
    manager.shutdown();
    Ok(cells.len())
}

fn wait_connected(manager: &Manager) -> Result<(), RunError> {
    loop {
        match manager.recv_timeout(Duration::from_secs(3600)) {
            Some(Event::Connected { info, .. }) => {
                tracing::info!(node = %info.name, executable = %info.executable, "connected");
                return Ok(());
            }
            Some(Event::InitFailed { error, .. }) => return Err(RunError::Init { error }),
            Some(_) => {}
            None => {
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
/// `on_output` as it arrives.
fn wait_finished(
    manager: &Manager,
    evaluation_ref: &str,
    on_output: &mut dyn FnMut(Arrived) -> std::io::Result<()>,
) -> Result<Outcome, Waited> {
    loop {
        let Some(event) = manager.recv_timeout(Duration::from_secs(3600)) else {
            continue;
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
