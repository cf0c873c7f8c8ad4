//! What to run for a runtime kind: the program, its arguments and how it is
//! shown to users. The manager spawns whatever this plans.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use nix::sys::signal::Signal;

use super::{InitError, RuntimeConfig, RuntimeKind, is_script, python, resolve_executable};

/// A start, planned.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Sent to the runtime if the manager's thread ends (Linux).
    pub death_signal: Signal,
    /// The command line as shown to users (the agent's source elided).
    pub display: String,
    /// A wrapper script started in place of the interpreter: once the agent
    /// says which interpreter it really is, later starts go straight to it.
    pub wrapper: Option<PathBuf>,
}

/// A node name for a new runtime of this kind, e.g. `python-k3j9x2ab`.
pub fn node_name(config: &RuntimeConfig) -> String {
    format!("{}-{}", config.language(), super::short_id())
}

/// Plans the start of `config` as node `node` with handshake `token`.
/// `resolved` maps wrapper scripts to the interpreters they ran before.
pub fn plan(
    config: &RuntimeConfig,
    node: &str,
    token: &str,
    resolved: &HashMap<PathBuf, PathBuf>,
) -> Result<Launch, InitError> {
    config.validate()?;
    let executable = resolve_executable(config.executable(), config.standalone())?;
    let (program, wrapper) = match resolved.get(&executable) {
        Some(real) if real.is_file() => (real.clone(), None),
        _ => {
            let wrapper = is_script(&executable).then(|| executable.clone());
            (executable, wrapper)
        }
    };
    let extra = &config.standalone().args;
    match config.kind {
        RuntimeKind::PythonStandalone(_) => Ok(Launch {
            display: python::display_command(&program.to_string_lossy(), extra, node),
            args: python::agent_args(node, token),
            death_signal: python::DEATH_SIGNAL,
            program,
            wrapper,
        }),
    }
}

/// The command line to show when a start fails before anything is planned.
pub fn display_unplanned(config: &RuntimeConfig, node: &str) -> String {
    match config.kind {
        RuntimeKind::PythonStandalone(_) => {
            python::display_command(config.executable(), &config.standalone().args, node)
        }
    }
}
