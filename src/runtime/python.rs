//! The Python runtime: its agent, embedded at build time, and its command line.

use std::ffi::OsString;

use nix::sys::signal::Signal;

/// The agent's source, delivered on the command line (`python3 -c`), so that
/// nothing has to be installed next to the binary.
pub const AGENT_SOURCE: &str = include_str!("../../assets/agents/python_agent.py");

/// The agent kills its own process group on SIGTERM (through a wakeup fd
/// watched by a thread, so a main thread blocked in a call that releases the
/// GIL does not delay it); SIGKILL would leave what user code spawned running.
pub const DEATH_SIGNAL: Signal = Signal::SIGTERM;

/// Arguments after the interpreter: `-c <agent> <node name> <token>`.
pub fn agent_args(node_name: &str, token: &str) -> Vec<OsString> {
    vec!["-c".into(), AGENT_SOURCE.into(), node_name.into(), token.into()]
}

/// The command line as shown to users, with the agent's source elided.
pub fn display_command(executable: &str, extra_args: &[String], node_name: &str) -> String {
    let mut parts = vec![executable.to_string()];
    parts.extend(extra_args.iter().cloned());
    parts.extend([
        "-c".to_string(),
        "<runyard python agent>".to_string(),
        node_name.to_string(),
        "<token>".to_string(),
    ]);
    parts.join(" ")
}
