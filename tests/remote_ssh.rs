//! SSH runtimes against a real sshd on 127.0.0.1 (tests/common/sshd.rs):
//! start, evaluate, outputs, interrupt, memory, connection sharing, every
//! way of dying, and every refusal a user can meet.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::sshd::{Sshd, Variant};
use common::{Harness, WAIT, alive, python_config};
use runyard::manager::DownCause;
use runyard::remote::{Place, SshTarget};
use runyard::{Command, Event, InitError, Outcome, RuntimeConfig, SessionId};

const S: SessionId = SessionId(1);

fn target(sshd: &Sshd, config: std::path::PathBuf) -> SshTarget {
    let mut target = SshTarget::new(sshd.alias);
    target.config_file = Some(config);
    target
}

fn over_ssh(sshd: &Sshd) -> RuntimeConfig {
    python_config().on(Place::Ssh(target(sshd, sshd.config.clone())))
}

/// Connects and returns the local `ssh` client's pid (from `Starting`).
fn connect(h: &mut Harness, config: RuntimeConfig) -> (u32, runyard::manager::NodeInfo) {
    h.manager.connect(S, config);
    let client = h.wait_for("starting", |e| match e {
        Event::Starting { session, pid, .. } if *session == S => Some(*pid),
        Event::InitFailed { error, .. } => panic!("init failed: {error}"),
        _ => None,
    });
    (client, h.wait_connected(S))
}

/// Waits until `done` holds, or fails with `what` and the last state.
fn eventually<T: std::fmt::Debug>(what: &str, within: Duration, mut probe: impl FnMut() -> (bool, T)) {
    let deadline = Instant::now() + within;
    loop {
        let (done, state) = probe();
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still {state:?} after {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Nothing of the session's is left on the "remote": only sshd's own
/// connection processes (the shared master's) may remain.
fn nothing_left(sshd: &Sshd, within: Duration) {
    eventually("remote processes left", within, || {
        let sessions = sshd.session_pids();
        let left: Vec<u32> = sshd
            .started_processes()
            .into_iter()
            .filter(|pid| !sessions.contains(pid))
            .collect();
        (left.is_empty(), left)
    });
}

#[test]
fn evaluates_on_the_host_with_outputs_memory_and_interrupt() {
    let sshd = Sshd::start();
    let mut h = Harness::new();
    let mut config = over_ssh(&sshd);
    config
        .standalone_mut()
        .env
        .push(("PYTHONPATH".into(), "/opt/runyard-test-lib".into()));
    config
        .standalone_mut()
        .env
        .push(("RUNYARD_TEST_SECRET".into(), "s3cret".into()));
    let (client, info) = connect(&mut h, config);
    assert_eq!(info.host.as_deref(), Some(sshd.alias));
    assert_ne!(info.pid, client, "the panel shows the remote pid, not the ssh client's");
    assert!(
        sshd.started_processes().contains(&info.pid),
        "pid {} runs under sshd",
        info.pid
    );
    assert!(!info.executable.is_empty());

    let out = h.eval(
        S,
        "r1",
        None,
        "import os\nprint('from', os.environ['SSH_CONNECTION'].split()[2])\n1+1",
    );
    assert_eq!(out.value(), Some("2"));
    assert!(out.stdout.contains("from 127.0.0.1"), "{}", out.stdout);
    // Completion travels too: the agent's lazily compiled blocks are packed on the way.
    let request = runyard::manager::CompletionRequest {
        id: 1,
        container: "main".into(),
        prev_evaluation_ref: Some("r1".into()),
        prev_container: None,
        code: "os.pa".into(),
        cursor: 5,
    };
    h.manager.send(runyard::Command::Complete { session: S, request });
    let texts = h.wait_for("completions", |e| match e {
        runyard::Event::Completions { matches, .. } => Some(matches.iter().map(|m| m.text.clone()).collect::<Vec<_>>()),
        _ => None,
    });
    assert!(texts.contains(&"path".to_string()), "{texts:?}");
    let env = h.eval(
        S,
        "env",
        Some("r1"),
        "import sys\n(os.environ['RUNYARD_TEST_SECRET'], '/opt/runyard-test-lib' in sys.path)",
    );
    assert_eq!(env.value(), Some("('s3cret', True)"));
    // The environment came through stdin: no process on the host shows it in its command line.
    for pid in sshd.started_processes() {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains("s3cret"),
            "pid {pid}: {}",
            String::from_utf8_lossy(&cmdline)
        );
    }
    let chained = h.eval(S, "r2", Some("r1"), "os.getpid()");
    assert_eq!(chained.value(), Some(info.pid.to_string().as_str()));
    let shown = h.eval(S, "r3", Some("r2"), "display({'text/markdown': '**hi**'}, raw=True)");
    assert!(matches!(shown.outcome, Outcome::Ok { .. }), "{:?}", shown.outcome);
    assert!(
        shown
            .displays()
            .iter()
            .any(|(b, _, _)| b.data.contains_key("text/markdown")),
        "a rich output travels over ssh: {:?}",
        shown.items
    );

    h.manager.send(Command::Memory { session: S });
    let usage = h.wait_for("memory", |e| match e {
        Event::Memory { usage, .. } => Some(usage.clone()),
        _ => None,
    });
    assert!(usage.total > 1 << 20, "{usage:?}");

    h.submit(
        S,
        "main",
        "r4",
        Some("r3"),
        "import time\nprint('sleeping', flush=True)\ntime.sleep(60)",
    );
    h.wait_for("output", |e| match e {
        Event::Output { text, .. } if text.contains("sleeping") => Some(()),
        _ => None,
    });
    h.manager.send(Command::Interrupt { session: S });
    let interrupted = h.finish(S, "r4");
    assert!(
        matches!(interrupted.outcome, Outcome::Interrupted(_)),
        "{:?}",
        interrupted.outcome
    );
    assert_eq!(
        h.eval(S, "r5", Some("r3"), "'still here'").value(),
        Some("'still here'")
    );

    h.manager.send(Command::Disconnect { session: S });
    nothing_left(&sshd, WAIT);
}

#[test]
fn a_reconnect_shares_the_first_connection() {
    let sshd = Sshd::start();
    let logins = || sshd.log().matches("Accepted publickey").count();
    let mut h = Harness::new();
    connect(&mut h, over_ssh(&sshd));
    // The master connects beside the first session; once it is there, later
    // sessions open no connection of their own.
    eventually("the master's login", WAIT, || (logins() >= 2, logins()));
    // Then its socket, which later sessions connect through.
    let socket = runyard::remote::ssh::control_path(
        &target(&sshd, sshd.config.clone()),
        &runyard::remote::ssh::control_dir().unwrap(),
    );
    eventually("the master's socket", WAIT, || (socket.exists(), socket.clone()));
    let before = logins();
    h.manager.send(Command::Disconnect { session: S });
    let (_, info) = connect(&mut h, over_ssh(&sshd));
    assert_eq!(h.eval(S, "r1", None, "6*7").value(), Some("42"));
    assert_eq!(logins(), before, "the reconnect logged in again:\n{}", sshd.log());
    assert!(sshd.started_processes().contains(&info.pid));
}

#[test]
fn killing_the_ssh_client_leaves_nothing_on_the_host() {
    let sshd = Sshd::start();
    let mut h = Harness::new();
    let (client, info) = connect(&mut h, over_ssh(&sshd));
    // A child in a session of its own: a process group kill would miss it.
    let out = h.eval(
        S,
        "r1",
        None,
        "import subprocess\np = subprocess.Popen(['setsid', 'sleep', '1001'])\np.pid",
    );
    let escaped: u32 = out.value().unwrap().parse().unwrap();
    assert!(alive(escaped));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(client as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let cause = h.wait_for("node down", |e| match e {
        Event::NodeDown { cause, exit, .. } => Some((cause.clone(), *exit)),
        _ => None,
    });
    assert!(matches!(cause.0, DownCause::Ended), "{cause:?}");
    eventually("the agent and its setsid child gone", Duration::from_secs(5), || {
        let left = [info.pid, escaped]
            .into_iter()
            .filter(|p| alive(*p))
            .collect::<Vec<_>>();
        (left.is_empty(), left)
    });
    nothing_left(&sshd, WAIT);
}

#[test]
fn a_dead_network_is_noticed_by_keepalives() {
    let sshd = Sshd::start();
    let mut h = Harness::new();
    let mut target = target(&sshd, sshd.config.clone());
    target.keepalive_secs = 1;
    let (_, info) = connect(&mut h, python_config().on(Place::Ssh(target)));
    assert_eq!(h.eval(S, "r1", None, "1").value(), Some("1"));
    let stopped = sshd.session_pids();
    for pid in &stopped {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGSTOP,
        );
    }
    let started = Instant::now();
    let cause = h.wait_for("node down", |e| match e {
        Event::NodeDown { cause, .. } => Some(cause.clone()),
        _ => None,
    });
    let noticed = started.elapsed();
    for pid in &stopped {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGCONT,
        );
    }
    match &cause {
        DownCause::ConnectionLost { host, .. } => assert_eq!(host, sshd.alias),
        other => panic!("expected a lost connection, got {other:?}"),
    }
    let text = cause.describe(&runyard::runtime::ExitInfo {
        code: Some(255),
        signal: None,
    });
    assert!(text.starts_with("Connection to runyard-test lost"), "{text}");
    assert!(noticed < Duration::from_secs(20), "noticed after {noticed:?}");
    // Revived, sshd finds its session's pipes closed: the agent goes too.
    eventually("the remote agent gone", WAIT, || (!alive(info.pid), info.pid));
}

#[test]
fn each_refusal_is_named() {
    let sshd = Sshd::start();
    let mut h = Harness::new();
    let mut start = |config: RuntimeConfig| {
        h.manager.connect(S, config);
        h.wait_init_failed(S)
    };
    let with = |variant| python_config().on(Place::Ssh(target(&sshd, sshd.ssh_config_with(variant))));
    let changed = start(with(Variant::ChangedHostKey));
    assert!(matches!(changed, InitError::SshHostKeyChanged { .. }), "{changed:?}");
    assert!(changed.to_string().contains("CHANGED"), "{changed}");
    let unknown = start(with(Variant::UnknownHostKey));
    assert!(matches!(unknown, InitError::SshHostKeyUnknown { .. }), "{unknown:?}");
    let refused = start(with(Variant::NotAuthorised));
    assert!(matches!(refused, InitError::SshAuthentication { .. }), "{refused:?}");
    assert!(refused.to_string().contains("publickey"), "{refused}");
    let nowhere = start(with(Variant::UnknownHost));
    assert!(matches!(nowhere, InitError::SshUnknownHost { .. }), "{nowhere:?}");
    let closed = start(with(Variant::Refused));
    assert!(matches!(closed, InitError::SshUnreachable { .. }), "{closed:?}");
    let missing = start(over_ssh(&sshd).with_executable("python-not-installed-here"));
    assert_eq!(
        missing,
        InitError::RemoteCommandNotFound {
            host: sshd.alias.into(),
            name: "python-not-installed-here".into()
        }
    );
    // A changed key was never written anywhere: the next try is refused again.
    let again = start(with(Variant::ChangedHostKey));
    assert!(matches!(again, InitError::SshHostKeyChanged { .. }), "{again:?}");
}

/// `runyard run` on the host, SIGKILLed mid-cell: its supervisor ends the
/// ssh session, the remote watchdog the agent and its setsid child, and the
/// master goes with its parent.
#[test]
fn runyard_sigkilled_leaves_nothing_on_the_host() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let notebook = dir.path().join("hang.py");
    std::fs::write(
        &notebook,
        "# %%\nimport subprocess, time\nsubprocess.Popen(['setsid', 'sleep', '1002'])\ntime.sleep(600)\n",
    )
    .unwrap();
    let mut runyard = std::process::Command::new(env!("CARGO_BIN_EXE_runyard"))
        .arg("run")
        .arg(&notebook)
        .args(["--ssh", sshd.alias, "--ssh-config"])
        .arg(&sshd.config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually("the cell started", WAIT, || {
        let started = sshd.remote_processes("sleep 1002");
        (!started.is_empty(), started)
    });
    runyard.kill().unwrap();
    runyard.wait().unwrap();
    eventually("everything on the host gone", Duration::from_secs(10), || {
        let left = sshd.started_processes();
        (left.is_empty(), left)
    });
    assert!(sshd.remote_processes("sleep 1002").is_empty());
}
