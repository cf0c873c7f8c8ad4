//! The OpenSSH client's command lines, and what its exit and stderr mean.
//!
//! Runyard uses the system's `ssh` rather than an SSH library so that the
//! user's `~/.ssh/config` (aliases, `ProxyJump`, `IdentityFile`, agents,
//! certificates) applies as in a terminal. `BatchMode` makes it fail rather
//! than ask for a password or a host key; connections are shared through a
//! master the manager owns (`ControlPath` in a 0700 directory of Runyard's).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::SshTarget;
use crate::runtime::{ExitInfo, InitError};

/// `ssh`'s own exit status for its errors (the remote command's otherwise).
pub const SSH_FAILED: i32 = 255;
/// A POSIX shell's status for a command it did not find.
pub const NOT_FOUND: i32 = 127;

/// Where the control sockets live: `$XDG_RUNTIME_DIR/runyard/ssh`, else
/// `/tmp/runyard-UID/ssh`. Created 0700; refused if another user owns it.
pub fn control_dir() -> std::io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && dir.is_dir())
        .map(|dir| dir.join("runyard"))
        .unwrap_or_else(|| {
            let uid = nix::unistd::geteuid().as_raw();
            std::env::temp_dir().join(format!("runyard-{uid}"))
        });
    crate::fsutil::private_dir(&base)?;
    let dir = base.join("ssh");
    crate::fsutil::private_dir(&dir)?;
    Ok(dir)
}

/// The master's socket for `target`: named by Runyard (not ssh's `%C`) so
/// that the manager can find a stale one, left by a master that was killed,
/// and remove it (ssh refuses to replace it, and shares nothing then).
pub fn control_path(target: &SshTarget, control_dir: &Path) -> PathBuf {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(target.host.as_bytes());
    hash.update([0]);
    if let Some(file) = &target.config_file {
        hash.update(file.as_os_str().as_encoded_bytes());
    }
    let digest = hash.finalize();
    let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    control_dir.join(name)
}

/// Removes the socket at `path` if no master listens on it any more.
pub fn remove_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    if is_socket
        && let Err(err) = std::os::unix::net::UnixStream::connect(path)
        && err.kind() == std::io::ErrorKind::ConnectionRefused
    {
        let _ = std::fs::remove_file(path);
    }
}

/// Options common to every `ssh` Runyard runs for `target`.
fn common_args(target: &SshTarget, control_dir: &Path, connect_timeout_secs: u64) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(file) = &target.config_file {
        args.push("-F".into());
        args.push(file.into());
    }
    let path = control_path(target, control_dir);
    let options = [
        "BatchMode=yes".to_string(),
        format!("ConnectTimeout={}", connect_timeout_secs.max(1)),
        format!("ServerAliveInterval={}", target.keepalive_secs.max(1)),
        "ServerAliveCountMax=3".to_string(),
        format!("ControlPath={}", path.display()),
    ];
    for option in options {
        args.push("-o".into());
        args.push(option.into());
    }
    args
}

/// `ssh … HOST COMMAND`: a session that uses the master's connection when
/// there is one, and connects by itself when not (the first start).
pub fn session_args(
    target: &SshTarget,
    control_dir: &Path,
    connect_timeout_secs: u64,
    remote_command: &str,
) -> Vec<OsString> {
    let mut args = session_prefix(target, control_dir, connect_timeout_secs);
    args.push(remote_command.into());
    args
}

/// `session_args` without the remote command (it ends with the host).
pub fn session_prefix(target: &SshTarget, control_dir: &Path, connect_timeout_secs: u64) -> Vec<OsString> {
    let mut args = common_args(target, control_dir, connect_timeout_secs);
    for arg in ["-o", "ControlMaster=no", "-T", "-e", "none", "--"] {
        args.push(arg.into());
    }
    args.push(target.host.clone().into());
    args
}

/// `ssh -M -N … HOST`: the master that later sessions share. It runs in the
/// foreground as a child of the manager, so it ends with Runyard.
pub fn master_args(target: &SshTarget, control_dir: &Path, connect_timeout_secs: u64) -> Vec<OsString> {
    let mut args = common_args(target, control_dir, connect_timeout_secs);
    for arg in ["-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-N", "-T", "--"] {
        args.push(arg.into());
    }
    args.push(target.host.clone().into());
    args
}

/// Quotes `word` for a POSIX shell on the remote host.
pub fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A shell command line of `words`, prefixed by `cd DIR &&` for a working directory.
pub fn command_line(cwd: Option<&Path>, words: &[String]) -> String {
    let command = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    match cwd {
        Some(dir) => format!("cd {} && exec {command}", quote(&dir.to_string_lossy())),
        None => format!("exec {command}"),
    }
}

/// What a start that ended before the agent's hello means, when `ssh` (or
/// the remote shell) says: `None` when it is not theirs to explain.
/// `program`: what the remote shell was asked to run.
pub fn init_error(host: &str, program: &str, exit: &ExitInfo, stderr: &str) -> Option<InitError> {
    let host = host.to_string();
    match exit.code {
        Some(NOT_FOUND) if mentions_not_found(stderr, program) => Some(InitError::RemoteCommandNotFound {
            host,
            name: program.to_string(),
        }),
        Some(SSH_FAILED) => Some(classify(host, stderr)),
        _ => None,
    }
}

fn mentions_not_found(stderr: &str, program: &str) -> bool {
    stderr
        .lines()
        .any(|line| (line.contains("not found") || line.contains("No such file")) && line.contains(program))
}

fn classify(host: String, stderr: &str) -> InitError {
    let detail = last_line(stderr);
    let has = |needle: &str| stderr.contains(needle);
    if has("REMOTE HOST IDENTIFICATION HAS CHANGED") || has("has changed and you have requested strict checking") {
        InitError::SshHostKeyChanged { host, detail }
    } else if has("Host key verification failed") || has("No ED25519 host key is known") || has("host key is known for")
    {
        InitError::SshHostKeyUnknown { host, detail }
    } else if has("Could not resolve hostname") || has("Name or service not known") {
        InitError::SshUnknownHost { host, detail }
    } else if has("Permission denied") || has("Too many authentication failures") {
        let methods = stderr
            .lines()
            .find_map(|line| line.split_once("Permission denied").map(|(_, rest)| rest.trim()))
            .map(|rest| format!("permission denied {rest}").trim_end_matches('.').to_string())
            .unwrap_or(detail);
        InitError::SshAuthentication { host, detail: methods }
    } else if has("Connection refused")
        || has("No route to host")
        || has("timed out")
        || has("Network is unreachable")
        || has("Connection closed by")
        || has("Connection reset")
    {
        InitError::SshUnreachable { host, detail }
    } else {
        InitError::SshFailed { host, detail }
    }
}

/// Whether a runtime that was running went down because its connection did,
/// and what ssh said of it. Status 255 is ssh's own failure (the remote
/// watchdog never exits with it but when the session is gone); ssh may say
/// nothing more, as with `LogLevel ERROR`, where "Timeout, server not
/// responding" is not printed.
pub fn connection_lost(exit: &ExitInfo, stderr: &str) -> Option<String> {
    if exit.code != Some(SSH_FAILED) {
        return None;
    }
    let ssh_said = stderr.lines().rev().take(5).find(|line| {
        let line = line.trim();
        line.starts_with("Timeout, server")
            || line.starts_with("Connection to ")
            || line.starts_with("client_loop:")
            || line.starts_with("mux_client")
            || line.starts_with("Control socket")
            || line.contains("Broken pipe")
            || line.contains("Connection reset")
            || line.starts_with("ssh:")
    });
    Some(ssh_said.map_or(String::new(), |line| {
        line.trim().trim_end_matches(['.', '\r']).to_string()
    }))
}

fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("ssh ended without saying why")
        .trim_end_matches(['.', '\r'])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(code: i32) -> ExitInfo {
        ExitInfo {
            code: Some(code),
            signal: None,
        }
    }

    #[test]
    fn quoting_survives_a_posix_shell() {
        assert_eq!(quote("python3"), "python3");
        assert_eq!(quote("/opt/my env/bin/python"), "'/opt/my env/bin/python'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        for word in ["a b", "it's", "$HOME", "`id`", "x;y", "\\", "é"] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(word)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), word);
        }
        assert_eq!(
            command_line(
                Some(Path::new("/data/my project")),
                &["python3".into(), "-c".into(), "x".into()]
            ),
            "cd '/data/my project' && exec python3 -c x"
        );
    }

    #[test]
    fn each_failure_of_ssh_is_named() {
        let cases = [
            (
                "ssh: Could not resolve hostname nowhere.invalid: Name or service not known",
                "SshUnknownHost",
            ),
            (
                "ssh: connect to host 127.0.0.1 port 1: Connection refused",
                "SshUnreachable",
            ),
            (
                "ssh: connect to host 10.1.1.1 port 22: Connection timed out",
                "SshUnreachable",
            ),
            ("root@127.0.0.1: Permission denied (publickey).", "SshAuthentication"),
            (
                "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.",
                "SshHostKeyUnknown",
            ),
            (
                "@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@\nHost key verification failed.",
                "SshHostKeyChanged",
            ),
            (
                "kex_exchange_identification: banner line contains invalid characters",
                "SshFailed",
            ),
        ];
        for (stderr, expected) in cases {
            let error = init_error("box", "python3", &exit(255), stderr).unwrap();
            let name = format!("{error:?}");
            assert!(name.starts_with(expected), "{stderr:?} → {name}");
            assert!(error.to_string().contains("box"), "{error}");
        }
        let auth = init_error(
            "box",
            "python3",
            &exit(255),
            "u@box: Permission denied (publickey,password).",
        );
        assert!(auth.unwrap().to_string().contains("ssh-add"));
    }

    #[test]
    fn a_missing_remote_interpreter_is_named() {
        let error = init_error("box", "python9", &exit(127), "bash: line 1: exec: python9: not found").unwrap();
        assert_eq!(
            error,
            InitError::RemoteCommandNotFound {
                host: "box".into(),
                name: "python9".into()
            }
        );
        assert_eq!(init_error("box", "python3", &exit(1), "Traceback…"), None);
    }

    #[test]
    fn a_lost_connection_is_told_from_a_runtime_that_exited() {
        assert_eq!(
            connection_lost(&exit(255), "Timeout, server 127.0.0.1 not responding.\r\n").as_deref(),
            Some("Timeout, server 127.0.0.1 not responding")
        );
        assert!(connection_lost(&exit(255), "Connection to box closed by remote host.").is_some());
        assert_eq!(
            connection_lost(&exit(255), "user code printed this").as_deref(),
            Some("")
        );
        assert_eq!(connection_lost(&exit(1), "Timeout, server x not responding."), None);
    }

    #[test]
    fn sessions_share_the_master_and_never_prompt() {
        let mut target = SshTarget::new("gpu-box");
        target.config_file = Some("/tmp/cfg".into());
        let args = session_args(&target, Path::new("/run/user/1/runyard/ssh"), 10, "exec python3");
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let joined = args.join(" ");
        assert!(joined.starts_with("-F /tmp/cfg "), "{joined}");
        for needle in [
            "BatchMode=yes",
            "ControlMaster=no",
            "ControlPath=/run/user/1/runyard/ssh/",
            "ServerAliveInterval=5",
        ] {
            assert!(joined.contains(needle), "{needle} in {joined}");
        }
        assert_eq!(&args[args.len() - 3..], ["--", "gpu-box", "exec python3"]);
        let other = SshTarget::new("other-box");
        assert_ne!(
            control_path(&target, Path::new("/d")),
            control_path(&other, Path::new("/d"))
        );
        let master = master_args(&target, Path::new("/d"), 10);
        assert!(master.iter().any(|a| a == "ControlMaster=yes") && master.iter().any(|a| a == "-N"));
    }
}
