//! Starting a runtime's child process with Runyard's lifetime guarantees:
//! its own process group (so a kill reaches what user code spawned) and, on
//! Linux, a parent-death signal (so it never outlives the manager).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::{InitError, Launch, StandaloneConfig};

/// A started child, before its handshake.
#[derive(Debug)]
pub struct SpawnedNode {
    pub child: Child,
    pub pid: u32,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
}

/// Finds the executable to run: a path is checked as given, a bare name is
/// looked up in `PATH` (the configured one, if the settings set `PATH`).
pub fn resolve_executable(name: &str, config: &StandaloneConfig) -> Result<PathBuf, InitError> {
    if name.contains('/') {
        let path = match &config.cwd {
            Some(cwd) => cwd.join(name),
            None => PathBuf::from(name),
        };
        let meta = std::fs::metadata(&path).map_err(|_| InitError::NoSuchFile { path: path.clone() })?;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(InitError::NotExecutable { path });
        }
        return Ok(path);
    }
    let path_var: OsString = config
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| OsString::from(v))
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    let cwd = config
        .cwd
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| "/".into());
    which::which_in(name, Some(&path_var), cwd).map_err(|_| InitError::ExecutableNotFound {
        name: name.to_string(),
        searched: std::env::split_paths(&path_var).collect(),
    })
}

/// True when the file is a `#!` script (a pyenv shim, a wrapper) rather than
/// a binary: such a start is worth resolving to the real interpreter once.
pub fn is_script(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head == b"#!")
        .unwrap_or(false)
}

/// Spawns `program args…` with piped stdio, in a new process group, with
/// `death_signal` delivered to it if the spawning thread ends (Linux).
///
/// Must be called from a thread that lives as long as the manager: the
/// parent-death signal fires when the *thread* that forked exits.
pub fn spawn_node(launch: &Launch, config: &StandaloneConfig) -> Result<SpawnedNode, InitError> {
    let program = launch.program.as_path();
    let death_signal = launch.death_signal;
    let mut command = Command::new(program);
    command
        .args(&config.args)
        .args(&launch.args)
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(cwd) = &config.cwd {
        command.current_dir(cwd);
    }
    set_parent_death_signal(&mut command, death_signal);

    let mut child = command.spawn().map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => InitError::NoSuchFile { path: program.into() },
        std::io::ErrorKind::PermissionDenied => InitError::NotExecutable { path: program.into() },
        _ => InitError::SpawnFailed {
            path: program.into(),
            message: err.to_string(),
        },
    })?;
    let pid = child.id().unwrap_or_default();
    let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        unreachable!("all three streams were asked to be piped");
    };
    Ok(SpawnedNode {
        child,
        pid,
        stdin,
        stdout,
        stderr,
    })
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(command: &mut Command, signal: Signal) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls (prctl, getppid).
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(signal)?;
            // The parent may have died before prctl took effect.
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other("the manager exited during start-up"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_command: &mut Command, _signal: Signal) {
    // Elsewhere the agent's stdin EOF is the lifeline.
}

/// Sends SIGKILL to a runtime's whole process group.
pub fn kill_group(pid: u32) {
    if pid == 0 {
        return;
    }
    let pgid = nix::unistd::Pid::from_raw(pid as i32);
    if let Err(err) = nix::sys::signal::killpg(pgid, Signal::SIGKILL)
        && err != nix::errno::Errno::ESRCH
    {
        tracing::warn!(pid, %err, "could not kill the runtime's process group");
    }
}

/// The last lines a runtime wrote to its stderr, kept for error reports.
#[derive(Debug, Clone, Default)]
pub struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl StderrTail {
    const MAX_LINES: usize = 30;
    const MAX_LINE: usize = 2000;

    pub fn push(&self, line: &str) {
        let mut line = line.trim_end_matches(['\n', '\r']).to_string();
        if line.len() > Self::MAX_LINE {
            let mut cut = Self::MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == Self::MAX_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub fn text(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_name_says_where_it_looked() {
        let config = StandaloneConfig {
            env: vec![("PATH".into(), "/nowhere/a:/nowhere/b".into())],
            ..Default::default()
        };
        match resolve_executable("python3", &config) {
            Err(InitError::ExecutableNotFound { name, searched }) => {
                assert_eq!(name, "python3");
                assert_eq!(searched, vec![PathBuf::from("/nowhere/a"), PathBuf::from("/nowhere/b")]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_path_must_exist_and_be_executable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("python");
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        let config = StandaloneConfig::default();
        let name = file.to_str().unwrap();
        assert!(matches!(
            resolve_executable(name, &config),
            Err(InitError::NotExecutable { .. })
        ));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(resolve_executable(name, &config).unwrap(), file);
        assert!(is_script(&file));
        let missing = dir.path().join("nope");
        assert!(matches!(
            resolve_executable(missing.to_str().unwrap(), &config),
            Err(InitError::NoSuchFile { .. })
        ));
        assert!(matches!(
            resolve_executable(dir.path().to_str().unwrap(), &config),
            Err(InitError::NotExecutable { .. })
        ));
    }

    #[test]
    fn the_stderr_tail_keeps_the_last_lines() {
        let tail = StderrTail::default();
        for i in 0..100 {
            tail.push(&format!("line {i}\n"));
        }
        let text = tail.text();
        assert!(text.starts_with("line 70\n"));
        assert!(text.ends_with("line 99"));
    }
}
