//! What to run for a runtime kind: the program, its arguments and how it is
//! shown to users. The manager spawns whatever this plans.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;

use super::elixir::{self, Mode};
use super::{InitError, RuntimeConfig, RuntimeKind, is_script, python, resolve_executable};
use crate::kernels::InterruptMode;
use crate::kernels::connection::{self, ConnectionInfo};

/// A start, planned.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Sent to the runtime if the manager's thread ends (Linux).
    pub death_signal: Signal,
    /// The command line as shown to users (the agent's source and secrets elided).
    pub display: String,
    /// A wrapper script started in place of the interpreter: once the agent
    /// says which interpreter it really is, later starts go straight to it.
    pub wrapper: Option<PathBuf>,
    /// Environment for this start only, on top of the configured one: where
    /// secrets go (a process's environment is readable by its owner alone,
    /// its command line by everyone).
    pub env: Vec<(OsString, OsString)>,
    /// Where the runtime writes a crash dump if it dies (Elixir's
    /// `erl_crash.dump`), to name it in the node-down report.
    pub crash_dump: Option<PathBuf>,
    /// A Jupyter kernel: where it listens, for the manager's bridge.
    pub kernel: Option<KernelLaunch>,
    /// Written to the runtime's stdin before any frame: a remote agent's
    /// source and secrets (see `remote::bootstrap`).
    pub preamble: Option<Vec<u8>>,
    /// Run by the supervisor once the runtime is gone (`scancel`).
    pub cleanup: Vec<OsString>,
    /// Where a remote runtime runs, and how its job is found.
    pub remote: Option<crate::remote::RemoteLaunch>,
}

/// A kernel's side of a start: its connection file and how it is interrupted.
#[derive(Debug, Clone)]
pub struct KernelLaunch {
    pub info: ConnectionInfo,
    /// Written 0600 before the start; the supervisor removes it when the
    /// kernel ends (so does the manager, should the supervisor die first).
    pub connection_file: PathBuf,
    pub interrupt_mode: InterruptMode,
}

/// A node name for a new runtime of this kind: `python-k3j9x2ab`, or
/// `runyard-k3j9x2ab` for an Elixir node (it becomes `runyard-…@host`, which
/// users see in `epmd -names` and `--remsh` into, so it says whose it is).
pub fn node_name(config: &RuntimeConfig) -> Result<String, InitError> {
    let prefix = match config.kind {
        RuntimeKind::PythonStandalone(_) => "python",
        RuntimeKind::ElixirStandalone(_) | RuntimeKind::ElixirAttached(_) => "runyard",
        RuntimeKind::JupyterKernel(_) => "kernel",
    };
    Ok(format!("{prefix}-{}", super::short_id()?))
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
    if !config.place.is_local() {
        return crate::remote::plan(config, node, token);
    }
    let executable = resolve_executable(config.executable(), config.standalone())?;
    let (program, wrapper) = match resolved.get(&executable) {
        Some(real) if real.is_file() && runs_the_same_way(config, real) => (real.clone(), None),
        _ => {
            let wrapper = is_script(&executable).then(|| executable.clone());
            (executable, wrapper)
        }
    };
    let extra = &config.standalone().args;
    let shown = program.to_string_lossy();
    match &config.kind {
        RuntimeKind::JupyterKernel(kernel) => plan_kernel(kernel, node, program),
        RuntimeKind::PythonStandalone(_) => Ok(Launch {
            display: python::display_command(&shown, extra, node),
            args: python::agent_args(node, token),
            death_signal: python::DEATH_SIGNAL,
            program,
            wrapper,
            env: Vec::new(),
            crash_dump: None,
            kernel: None,
            preamble: None,
            cleanup: Vec::new(),
            remote: None,
        }),
        RuntimeKind::ElixirStandalone(_) | RuntimeKind::ElixirAttached(_) => {
            let root = elixir::cache_root().ok_or_else(|| InitError::AgentInstall {
                path: PathBuf::from("~/.cache/runyard"),
                message: format!(
                    "there is no home directory to find a cache directory from; set {}",
                    elixir::CACHE_DIR_ENV
                ),
            })?;
            let dir = elixir::install_agent(&root)?;
            let node_env = |name: &str| {
                config
                    .standalone()
                    .env
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            // The node starts distribution itself and needs epmd for it.
            let path = node_env("PATH")
                .map(OsString::from)
                .or_else(|| std::env::var_os("PATH"));
            elixir::ensure_epmd(
                path.as_deref(),
                program.parent(),
                elixir::epmd_port(node_env("ERL_EPMD_PORT").as_deref()),
            )?;
            let home = node_env("HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(PathBuf::from));
            let erl_flags = elixir::erl_flags(elixir::needs_nocookie(home.as_deref()));
            // A standalone node gets a fresh random cookie: only the manager
            // (and a user who reads it in the runtime panel) can connect.
            let (mode, cookie) = match &config.kind {
                RuntimeKind::ElixirAttached(attached) => {
                    (Mode::Attach { target: &attached.node }, attached.cookie.clone())
                }
                _ => (Mode::Standalone, super::random_token()?),
            };
            let mut env = vec![(OsString::from(elixir::COOKIE_ENV), OsString::from(cookie))];
            let crash_dump = elixir::crash_dump_path(&root, node);
            if let Some(dump) = &crash_dump {
                env.push(("ERL_CRASH_DUMP".into(), dump.into()));
            }
            Ok(Launch {
                display: elixir::display_command(&shown, extra, node, Some(&dir), mode, &erl_flags),
                args: elixir::agent_args(node, &dir, mode, token, &erl_flags),
                death_signal: elixir::DEATH_SIGNAL,
                program,
                wrapper,
                env,
                crash_dump,
                kernel: None,
                preamble: None,
                cleanup: Vec::new(),
                remote: None,
            })
        }
    }
}

/// A kernel's start: a connection file with fresh ports and key in Jupyter's
/// runtime directory, `argv` with `{connection_file}` and `{resource_dir}`
/// filled in, and the kernelspec's `env` with `${VAR}` expanded.
fn plan_kernel(kernel: &super::config::KernelConfig, node: &str, program: PathBuf) -> Result<Launch, InitError> {
    let spec = &kernel.spec;
    let dir = connection::runtime_dir().ok_or_else(|| InitError::ConnectionFile {
        dir: PathBuf::from("~/.local/share/jupyter/runtime"),
        message: "there is no home directory; set JUPYTER_RUNTIME_DIR".into(),
    })?;
    let file_error = |err: std::io::Error| InitError::ConnectionFile {
        dir: dir.clone(),
        message: err.to_string(),
    };
    let info = ConnectionInfo::new(&spec.name, super::random_token()?).map_err(file_error)?;
    let connection_file = connection::write(&dir, node, &info).map_err(file_error)?;
    let file = connection_file.to_string_lossy().into_owned();
    let resource_dir = spec.dir.to_string_lossy().into_owned();
    let fill = |arg: &str| {
        arg.replace("{connection_file}", &file)
            .replace("{resource_dir}", &resource_dir)
    };
    let args: Vec<OsString> = spec.argv[1..].iter().map(|a| OsString::from(fill(a))).collect();
    let configured = &kernel.standalone.env;
    let lookup = |name: &str| {
        configured
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    };
    // The settings' own variables win over the kernelspec's.
    let env = spec
        .env
        .iter()
        .filter(|(name, _)| !configured.iter().any(|(k, _)| k == *name))
        .map(|(name, value)| (OsString::from(name), OsString::from(expand_vars(value, &lookup))))
        .collect();
    let mut display = vec![program.to_string_lossy().into_owned()];
    display.extend(spec.argv[1..].iter().map(|a| fill(a)));
    Ok(Launch {
        display: display.join(" "),
        args,
        // Nothing to save once the supervisor is gone: the kernel goes at once.
        death_signal: Signal::SIGKILL,
        program,
        wrapper: None,
        env,
        crash_dump: None,
        kernel: Some(KernelLaunch {
            info,
            connection_file,
            interrupt_mode: spec.interrupt_mode,
        }),
        preamble: None,
        cleanup: Vec::new(),
        remote: None,
    })
}

/// Expands `${NAME}` from `lookup`, leaving unknown names as written (as
/// jupyter_client's `safe_substitute` does).
fn expand_vars(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match lookup(name) {
                    Some(v) if !name.is_empty() => out.push_str(&v),
                    _ => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether the interpreter an agent reported takes this kind's arguments.
/// The Elixir agent reports the `elixir` script of its installation (which
/// skips a version manager's shim), but falls back to `erl` where there is
/// none: that one would not understand `--erl … -e …`.
fn runs_the_same_way(config: &RuntimeConfig, real: &Path) -> bool {
    match config.kind {
        RuntimeKind::PythonStandalone(_) | RuntimeKind::JupyterKernel(_) => true,
        RuntimeKind::ElixirStandalone(_) | RuntimeKind::ElixirAttached(_) => {
            real.file_name().is_some_and(|name| name == "elixir")
        }
    }
}

/// The command line to show when a start fails before anything is planned.
pub fn display_unplanned(config: &RuntimeConfig, node: &str) -> String {
    let extra = &config.standalone().args;
    if !config.place.is_local() {
        let shown = python::display_command(config.executable(), extra, node);
        return format!("{shown} {}", config.place.label());
    }
    match &config.kind {
        RuntimeKind::PythonStandalone(_) => python::display_command(config.executable(), extra, node),
        RuntimeKind::JupyterKernel(k) => k.spec.argv.join(" "),
        RuntimeKind::ElixirStandalone(_) => elixir::display_command(
            config.executable(),
            extra,
            node,
            None,
            Mode::Standalone,
            elixir::ERL_FLAGS,
        ),
        RuntimeKind::ElixirAttached(attached) => elixir::display_command(
            config.executable(),
            extra,
            node,
            None,
            Mode::Attach { target: &attached.node },
            elixir::ERL_FLAGS,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elixir_nodes_are_named_for_runyard() {
        assert!(node_name(&RuntimeConfig::python()).unwrap().starts_with("python-"));
        let name = node_name(&RuntimeConfig::elixir()).unwrap();
        assert!(
            name.starts_with("runyard-") && name.len() == "runyard-".len() + 8,
            "{name}"
        );
        assert!(
            node_name(&RuntimeConfig::elixir_attached("a", "c"))
                .unwrap()
                .starts_with("runyard-")
        );
    }

    #[test]
    fn a_resolved_elixir_must_be_an_elixir_script() {
        let config = RuntimeConfig::elixir();
        assert!(runs_the_same_way(&config, Path::new("/usr/lib/elixir/bin/elixir")));
        assert!(!runs_the_same_way(&config, Path::new("/usr/lib/erlang/bin/erl")));
        assert!(runs_the_same_way(
            &RuntimeConfig::python(),
            Path::new("/usr/bin/python3.11")
        ));
    }

    #[test]
    fn kernel_env_expands_known_variables_only() {
        let lookup = |name: &str| (name == "HOME").then(|| "/home/u".to_string());
        assert_eq!(
            expand_vars("${HOME}/x:${NOPE}:$HOME:${", &lookup),
            "/home/u/x:${NOPE}:$HOME:${"
        );
    }

    #[test]
    fn an_invalid_attach_target_fails_before_anything_starts() {
        let config = RuntimeConfig::elixir_attached("my app", "c");
        let error = plan(&config, "runyard-x", "t", &HashMap::new()).unwrap_err();
        assert!(matches!(error, InitError::InvalidConfig(_)), "{error:?}");
        assert!(display_unplanned(&config, "runyard-x").contains("attach my app <token>"));
    }
}
