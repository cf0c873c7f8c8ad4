use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ExitInfo;

/// Why a runtime could not be started. Each message is one sentence a user
/// understands; details (stderr tail, where we looked) are in the fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum InitError {
    #[error("{name} was not found in PATH")]
    ExecutableNotFound { name: String, searched: Vec<PathBuf> },
    #[error("{} does not exist", path.display())]
    NoSuchFile { path: PathBuf },
    #[error("{} is not an executable file", path.display())]
    NotExecutable { path: PathBuf },
    #[error("{} could not be started: {message}", path.display())]
    SpawnFailed { path: PathBuf, message: String },
    #[error("the runtime exited with {status} before it was ready")]
    ExitedEarly { status: ExitInfo, stderr_tail: String },
    #[error("the runtime did not get ready within {:.1} s", timeout.as_secs_f64())]
    Timeout { timeout: Duration, stderr_tail: String },
    #[error("the runtime speaks protocol version {found}, but this Runyard speaks version {expected}")]
    IncompatibleProtocol { found: u32, expected: u32 },
    #[error("the runtime's handshake was wrong: {detail}")]
    BadHandshake { detail: String },
    /// The agent's files could not be put where the runtime loads them from.
    #[error("the runtime's agent could not be installed in {}: {message}", path.display())]
    AgentInstall { path: PathBuf, message: String },
    /// The agent itself said why it cannot start (an unreachable attached node, say).
    #[error("{message}")]
    Agent {
        reason: String,
        message: String,
        #[serde(default)]
        stderr_tail: String,
    },
    /// The Runyard binary that supervises runtimes was not found.
    #[error(
        "the runyard binary that supervises runtimes was not found (looked at {}); set RUNYARD_BIN to its path",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    SupervisorNotFound { searched: Vec<PathBuf> },
    /// The OS random source failed: no secret can be made for the runtime.
    #[error("the system's random number source failed, so no secret could be made for the runtime: {message}")]
    RandomSource { message: String },
    /// Elixir nodes register with the port mapper on 127.0.0.1, which was
    /// neither running nor startable.
    #[error("epmd (the Erlang port mapper) is not running on 127.0.0.1:{port} and could not be started: {message}")]
    Epmd { port: u16, message: String },
    #[error("the runtime settings are invalid: {0}")]
    InvalidConfig(#[from] ConfigError),
    /// The kernel's connection file could not be written.
    #[error("the kernel's connection file could not be written in {}: {message}", dir.display())]
    ConnectionFile { dir: PathBuf, message: String },
    /// The kernel speaks a Jupyter messaging protocol older than 5.0.
    #[error("the kernel speaks Jupyter protocol {found}, but Runyard needs 5.0 or later")]
    KernelProtocol { found: String },
}

impl InitError {
    /// The last lines the runtime wrote to stderr, where there are any.
    pub fn stderr_tail(&self) -> Option<&str> {
        match self {
            InitError::ExitedEarly { stderr_tail, .. }
            | InitError::Timeout { stderr_tail, .. }
            | InitError::Agent { stderr_tail, .. } => Some(stderr_tail.as_str()).filter(|s| !s.is_empty()),
            _ => None,
        }
    }
}

/// A runtime setting that cannot work, found before anything is started.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum ConfigError {
    #[error("the init timeout must be between 0 and 600 seconds, not {0}")]
    InitTimeout(f64),
    #[error("{0:?} is not a valid environment variable name")]
    EnvName(String),
    #[error("the working directory {} does not exist", .0.display())]
    WorkingDirectory(PathBuf),
    #[error(
        "{0:?} is not a node name: give `name` or `name@host` without spaces, as the node was started \
         with, e.g. `iex --sname test --cookie mycookie -S mix` runs node `test`"
    )]
    NodeName(String),
    #[error("the cookie is empty: give the cookie the node was started with (`--cookie mycookie`)")]
    EmptyCookie,
}
