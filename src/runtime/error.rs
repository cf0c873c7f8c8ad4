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
    /// `ssh` could not resolve the host's name.
    #[error("the host name of {host} is not known: check its spelling, your ~/.ssh/config and your DNS")]
    SshUnknownHost { host: String, detail: String },
    /// Nothing answered, or the connection was refused or timed out.
    #[error("{host} cannot be reached: {detail}")]
    SshUnreachable { host: String, detail: String },
    /// The host refused every key (and `BatchMode` forbids a password prompt).
    #[error(
        "{host} refused the authentication ({detail}): add your public key to ~/.ssh/authorized_keys there \
         (ssh-copy-id {host}), or load your key into ssh-agent (ssh-add), then connect again"
    )]
    SshAuthentication { host: String, detail: String },
    /// The host's key is not in `known_hosts`: never accepted silently.
    #[error(
        "the host key of {host} is not known: connect once with `ssh {host}` in a terminal, check the \
         fingerprint it shows and accept it, then connect again"
    )]
    SshHostKeyUnknown { host: String, detail: String },
    /// The host's key differs from the one in `known_hosts`: never accepted.
    #[error(
        "the host key of {host} has CHANGED since you last connected: someone may be intercepting the \
         connection. Runyard does not connect. If the change is expected (the host was reinstalled), remove \
         the old key with `ssh-keygen -R {host}` and check the new fingerprint"
    )]
    SshHostKeyChanged { host: String, detail: String },
    /// `ssh` failed another way; `detail` is what it said.
    #[error("ssh to {host} failed: {detail}")]
    SshFailed { host: String, detail: String },
    /// The remote shell could not find the interpreter (or `srun`).
    #[error("{name} was not found on {host}: give its full path in the runtime settings")]
    RemoteCommandNotFound { host: String, name: String },
    /// `srun` refused the job (an unknown partition, an impossible request…).
    #[error("Slurm refused the job: {detail}")]
    SlurmRefused { detail: String },
    /// The job waited for resources longer than the pending timeout.
    #[error(
        "Slurm job {job_id} waited {:.0} s for resources (reason: {reason}) and was cancelled",
        waited.as_secs_f64()
    )]
    SlurmPendingTimeout {
        job_id: String,
        reason: String,
        waited: Duration,
    },
    /// The job was cancelled while it waited (by the user, or by Slurm).
    #[error("Slurm job {job_id} ended before it ran: {reason}")]
    SlurmCancelled { job_id: String, reason: String },
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
    #[error("{0:?} is not an SSH host: give an alias from ~/.ssh/config, `host` or `user@host`")]
    SshHost(String),
    #[error("the SSH keep-alive interval must be between 1 and 3600 seconds, not {0}")]
    Keepalive(u32),
    #[error("the SSH config file {} does not exist", .0.display())]
    SshConfigFile(PathBuf),
    #[error("the Slurm {option} {value:?} is not a single word")]
    SlurmOption { option: String, value: String },
    #[error("a {0} runtime runs on this machine only; on SSH hosts and Slurm Runyard starts Python")]
    NotRemote(String),
    #[error("the cookie is empty: give the cookie the node was started with (`--cookie mycookie`)")]
    EmptyCookie,
}
