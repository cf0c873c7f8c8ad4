//! The test servers of the remote-runtime tests, proved with the plain clients: a real sshd
//! (tests/common/sshd.rs) and the Slurm cluster (tests/common/slurm.rs, scripts/slurm-cluster).
//! What ssh says for each failure is asserted on its stable parts (docs/testing-servers.md).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::sshd::{ALIAS, Sshd, Variant, output_within};
use common::{slurm, wait_gone};

/// Generous: never a measure of speed.
const WITHIN: Duration = Duration::from_secs(60);

fn ssh_with(config: &Path) -> Command {
    let mut command = Command::new("ssh");
    command.arg("-F").arg(config).arg(ALIAS);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `echo hi` with a variant's config: exit code 255 (ssh's own failure) and its stderr.
fn fails_with(sshd: &Sshd, variant: Variant, expected: &[&str]) -> Output {
    let out = output_within(ssh_with(&sshd.ssh_config_with(variant)).arg("echo hi"), WITHIN);
    let stderr = text(&out.stderr);
    eprintln!("{variant:?}: exit {:?}, stderr:\n{stderr}", out.status.code());
    assert_eq!(out.status.code(), Some(255), "{variant:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{variant:?} ran the command: {:?}",
        text(&out.stdout)
    );
    for part in expected {
        assert!(
            stderr.contains(part),
            "{variant:?}: expected {part:?} in ssh's stderr:\n{stderr}"
        );
    }
    out
}

/// Kills a client left running when a test fails half-way.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn ssh_runs_a_command() {
    let sshd = Sshd::start();
    let out = output_within(sshd.ssh().arg("echo hi"), WITHIN);
    assert!(out.status.success(), "{out:?}\nsshd's log:\n{}", sshd.log());
    assert_eq!(text(&out.stdout), "hi\n");
    assert_eq!(text(&out.stderr), "", "LogLevel ERROR: nothing on stderr");
    let out = output_within(sshd.ssh().arg("echo $HOME"), WITHIN);
    assert_eq!(text(&out.stdout).trim_end(), sshd.home().to_str().unwrap(), "{out:?}");
    std::fs::write(sshd.home().join(".bashrc"), "echo from-bashrc\n").unwrap();
    let out = output_within(sshd.ssh().arg("echo hi"), WITHIN);
    assert_eq!(
        text(&out.stdout),
        "from-bashrc\nhi\n",
        "the remote's rc file runs: {out:?}"
    );
    std::fs::remove_file(sshd.home().join(".bashrc")).unwrap();
    // The Good variant is the same config.
    let out = output_within(ssh_with(&sshd.ssh_config_with(Variant::Good)).arg("echo hi"), WITHIN);
    assert_eq!(text(&out.stdout), "hi\n", "{out:?}");
    assert!(sshd.log().contains("Accepted publickey for"), "{}", sshd.log());
}

#[test]
fn unknown_host_key_fails() {
    let sshd = Sshd::start();
    fails_with(&sshd, Variant::UnknownHostKey, &["Host key verification failed."]);
}

#[test]
fn changed_host_key_fails() {
    let sshd = Sshd::start();
    fails_with(
        &sshd,
        Variant::ChangedHostKey,
        &[
            "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!",
            &format!("[127.0.0.1]:{}", sshd.port),
            "Host key verification failed.",
        ],
    );
}

#[test]
fn a_key_not_authorised_fails() {
    let sshd = Sshd::start();
    fails_with(&sshd, Variant::NotAuthorised, &["Permission denied (publickey)."]);
}

#[test]
fn an_unknown_host_fails() {
    let sshd = Sshd::start();
    fails_with(
        &sshd,
        Variant::UnknownHost,
        &["Could not resolve hostname runyard-nonexistent.invalid"],
    );
}

#[test]
fn a_refused_connection_fails() {
    let sshd = Sshd::start();
    fails_with(
        &sshd,
        Variant::Refused,
        &["connect to host 127.0.0.1 port", "Connection refused"],
    );
}

/// One connection, several sessions: a master on a ControlPath in a 0700 directory, and a
/// client through it (sshd sees one login).
#[test]
fn control_master_shares_one_connection() {
    let sshd = Sshd::start();
    let control = tempfile::tempdir().unwrap(); // 0700
    let socket = control.path().join("master");
    let path_option = format!("ControlPath={}", socket.display());
    let mut master = Reap(
        sshd.ssh()
            .args([
                "-o",
                "ControlMaster=yes",
                "-o",
                "ControlPersist=no",
                "-o",
                &path_option,
                "-N",
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + WITHIN;
    while !socket.exists() {
        if let Some(status) = master.0.try_wait().unwrap() {
            let mut said = String::new();
            let _ = std::io::Read::read_to_string(&mut master.0.stderr.take().unwrap(), &mut said);
            panic!(
                "the master ended ({status}, stderr {said:?}) before its socket appeared; sshd's log:\n{}",
                sshd.log()
            );
        }
        assert!(Instant::now() < deadline, "no control socket after {WITHIN:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!sshd.session_pids().is_empty(), "the master's connection has its sshd");

    let out = output_within(
        sshd.ssh()
            .args(["-o", "ControlMaster=no", "-o", &path_option, "echo through the master"]),
        WITHIN,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "through the master\n");
    let check = output_within(sshd.ssh().args(["-o", &path_option, "-O", "check"]), WITHIN);
    assert!(check.status.success(), "{check:?}");
    assert!(text(&check.stderr).contains("Master running"), "{check:?}");
    let logins = sshd.log().matches("Accepted publickey for").count();
    assert_eq!(logins, 1, "the second client went through the master:\n{}", sshd.log());

    let exit = output_within(sshd.ssh().args(["-o", &path_option, "-O", "exit"]), WITHIN);
    assert!(exit.status.success(), "{exit:?}");
    // It ends, silently (OpenSSH 9.2's master exits with 255 after -O exit).
    wait_exit(&mut master.0, WITHIN).expect("the master ends after -O exit");
    let left = wait_gone(&sshd.session_pids(), WITHIN);
    assert!(left.is_empty(), "per-connection sshd processes left: {left:?}");
}

/// session_pids are what carries a connection: stopped, the client sees a dead server.
#[test]
fn stopping_the_session_looks_like_a_dead_network() {
    let sshd = Sshd::start();
    let mut client = Reap(
        sshd.ssh()
            .args([
                "-o",
                "ServerAliveInterval=1",
                "-o",
                "ServerAliveCountMax=3",
                "-o",
                "LogLevel=INFO",
            ])
            .arg("echo ready; exec sleep 3141")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(client.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    let remote = sshd.remote_processes("sleep 3141");
    assert_eq!(remote.len(), 1, "the remote command, not the local client: {remote:?}");
    let sessions = sshd.session_pids();
    assert!(!sessions.is_empty());
    for &pid in &sessions {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGSTOP,
        )
        .unwrap();
    }
    let status = wait_exit(&mut client.0, WITHIN).expect("ssh notices the dead server (ServerAliveInterval)");
    let mut said = String::new();
    std::io::Read::read_to_string(&mut client.0.stderr.take().unwrap(), &mut said).unwrap();
    eprintln!("ssh to a stopped server: {status}, stderr {said:?}");
    assert_eq!(status.code(), Some(255), "{said}");
    // At the config's LogLevel ERROR, ssh says nothing.
    assert!(said.contains("Timeout, server 127.0.0.1 not responding."), "{said}");
    // The remote side still runs (frozen sshd, live command) until the server goes.
    assert_eq!(sshd.remote_processes("sleep 3141"), remote);
    drop(sshd);
    assert!(
        wait_gone(&remote, WITHIN).is_empty(),
        "the remote command outlived the server"
    );
    assert!(
        wait_gone(&sessions, WITHIN).is_empty(),
        "per-connection sshd processes outlived the server"
    );
}

/// Dropping the server ends what ran through it, also what a session left in the background.
#[test]
fn dropping_the_server_leaves_nothing() {
    let sshd = Sshd::start();
    let out = output_within(
        sshd.ssh()
            .arg("setsid sleep 2718 </dev/null >/dev/null 2>&1 & echo started"),
        WITHIN,
    );
    assert_eq!(text(&out.stdout), "started\n", "{out:?}");
    let client = Reap(
        sshd.ssh()
            .arg("exec sleep 2719")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()) // "Connection to 127.0.0.1 closed by remote host."
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + WITHIN;
    let (left_behind, running) = loop {
        let (a, b) = (sshd.remote_processes("sleep 2718"), sshd.remote_processes("sleep 2719"));
        if a.len() == 1 && b.len() == 1 {
            break (a, b);
        }
        assert!(Instant::now() < deadline, "remote sleeps not found: {a:?} {b:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let started = sshd.started_processes();
    for pid in left_behind.iter().chain(&running) {
        assert!(started.contains(pid), "{pid} not in started_processes {started:?}");
    }
    let sessions = sshd.session_pids();
    drop(sshd);
    let left = wait_gone(&[left_behind, running, sessions, started].concat(), WITHIN);
    assert!(left.is_empty(), "left after the server: {left:?}");
    drop(client); // its connection is gone: it has ended, or ends now
}

#[test]
fn slurm_runs_a_command() {
    let Some(conf) = slurm::slurm_conf() else {
        return;
    };
    let out = output_within(
        slurm::command("srun", &conf).args(["-u", "echo", "hi"]),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "srun -u echo hi failed (SLURM_CONF={}): {out:?}; scripts/slurm-cluster status shows the cluster",
        conf.display()
    );
    assert_eq!(text(&out.stdout), "hi\n", "{out:?}");
}
