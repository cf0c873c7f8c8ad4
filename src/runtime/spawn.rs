//! Starting a runtime's child process with Runyard's lifetime guarantees:
//! its own process group (so a kill reaches what user code spawned) and, on
//! Linux, a parent-death signal (so it never outlives the manager).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::{InitError, Launch, StandaloneConfig, supervisor};

/// A started supervisor and its runtime, before the handshake.
#[derive(Debug)]
pub struct SpawnedNode {
    /// The supervisor process (see `supervisor`); the runtime is its child,
    /// whose pid arrives as the first report on the lifeline.
    pub supervisor: Child,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
    /// The manager's end of the supervisor's lifeline: reports come in on it,
    /// and closing it for writing kills the runtime and all it started.
    pub lifeline: tokio::net::UnixStream,
    /// Read ends of the pipes the runtime's fds 1 and 2 write to, and the key
    /// its markers carry, when the agent uses them.
    pub capture: Option<Capture>,
}

/// The runtime's output pipes, held by the manager (see `protocol::capture`).
#[derive(Debug)]
pub struct Capture {
    pub key: String,
    pub stdout: tokio::net::unix::pipe::Receiver,
    pub stderr: tokio::net::unix::pipe::Receiver,
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

/// Starts the supervisor that starts `launch` (see `supervisor`), with
/// piped stdio, the lifeline, and (with `capture`) the output pipes.
///
/// Must be called from a thread that lives as long as the manager: the
/// supervisor's parent-death signal fires when the *thread* that forked exits.
pub fn spawn_node(launch: &Launch, config: &StandaloneConfig, capture: bool) -> Result<SpawnedNode, InitError> {
    // A remote runtime's environment and directory are the remote host's
    // (they travel in its preamble and command); `ssh` runs with ours.
    let here = StandaloneConfig::default();
    let config = if launch.remote.is_some() { &here } else { config };
    let supervisor = supervisor::program().map_err(|searched| InitError::SupervisorNotFound { searched })?;
    let failed = |err: std::io::Error| InitError::SpawnFailed {
        path: supervisor.clone(),
        message: err.to_string(),
    };
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(failed)?;
    let pipes = if capture {
        let (out_r, out_w) = std::io::pipe().map_err(failed)?;
        let (err_r, err_w) = std::io::pipe().map_err(failed)?;
        Some((out_r, out_w, err_r, err_w))
    } else {
        None
    };
    let key = capture.then(super::random_token).transpose()?;

    // A kernel's arguments are its kernelspec's alone; a remote runtime's
    // are in its remote command.
    let extra = if launch.kernel.is_some() || launch.remote.is_some() {
        &[][..]
    } else {
        &config.args[..]
    };
    let mut runtime_args = extra.iter().map(OsString::from).collect::<Vec<_>>();
    runtime_args.extend(launch.args.iter().cloned());
    let mut command = Command::new(&supervisor);
    command
        .args(supervisor::args(
            capture,
            launch.kernel.as_ref().map(|k| k.connection_file.as_path()),
            &launch.cleanup,
            launch.death_signal,
            &launch.program,
            &runtime_args,
        ))
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(key) = &key {
        command.env(supervisor::CAPTURE_ENV, key);
    }
    if let Some(cwd) = &config.cwd {
        command.current_dir(cwd);
    }
    let mut handed = vec![theirs.as_raw_fd()];
    if let Some((_, out_w, _, err_w)) = &pipes {
        handed.extend([out_w.as_raw_fd(), err_w.as_raw_fd()]);
    }
    prepare_supervisor(&mut command, handed);

    let mut child = command.spawn().map_err(failed)?;
    drop(theirs);
    let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        unreachable!("all three streams were asked to be piped");
    };
    let lifeline = ours
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(ours))
        .map_err(failed)?;
    let capture = match (pipes, key) {
        (Some((out_r, out_w, err_r, err_w)), Some(key)) => {
            // Our copies of the write ends must go, or the pipes never end.
            drop((out_w, err_w));
            let receiver = |r: std::io::PipeReader| {
                tokio::net::unix::pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(r)).map_err(failed)
            };
            Some(Capture {
                key,
                stdout: receiver(out_r)?,
                stderr: receiver(err_r)?,
            })
        }
        _ => None,
    };
    Ok(SpawnedNode {
        supervisor: child,
        stdin,
        stdout,
        stderr,
        lifeline,
        capture,
    })
}

/// Hands `fds` to the supervisor as its fds 3, 4, 5…, and gives it SIGTERM
/// if the manager's thread ends (Linux), which it answers by killing all.
fn prepare_supervisor(command: &mut Command, fds: Vec<RawFd>) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls (fcntl, dup2, prctl, getppid); it
    // allocates nothing (the errors are plain errnos).
    unsafe {
        command.pre_exec(move || {
            // First out of the way (above any target number), then into place.
            let mut high = [0; 3];
            for (slot, &fd) in high.iter_mut().zip(&fds) {
                *slot = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 16);
                if *slot < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (target, &fd) in (3..).zip(&high[..fds.len()]) {
                if libc::dup2(fd, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            #[cfg(target_os = "linux")]
            {
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
                // The parent may have died before prctl took effect.
                if nix::unistd::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = parent;
            Ok(())
        });
    }
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
