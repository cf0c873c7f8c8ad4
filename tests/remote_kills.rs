//! Remote runtimes leave nothing behind however they end, twenty times over:
//! an SSH runtime whose local `ssh` client is SIGKILLed, that is
//! disconnected, or whose manager shuts down (nothing left under the test
//! sshd but the master's connection), and `runyard run --slurm` SIGKILLed,
//! its whole process group SIGKILLed, or SIGTERMed (no job left in squeue).
//!
//! Both tests are ignored in the normal suite (tests/remote_ssh.rs and
//! tests/remote_slurm.rs do each once); scripts/test runs them in its long
//! section.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::sshd::Sshd;
use common::{Harness, WAIT, alive, python_config, slurm, wait_gone};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use runyard::remote::{Place, SshTarget};
use runyard::{Command, Event, SessionId};

const S: SessionId = SessionId(1);
const ROUNDS: usize = 20;

/// Waits until `done` holds, or fails with `what` and the last state.
fn eventually<T: std::fmt::Debug>(what: &str, within: Duration, mut probe: impl FnMut() -> (bool, T)) {
    let deadline = Instant::now() + within;
    loop {
        let (done, state) = probe();
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still {state:?} after {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn summary(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    format!(
        "median {:.0} ms, max {:.0} ms",
        sorted[sorted.len() / 2].as_secs_f64() * 1e3,
        sorted[sorted.len() - 1].as_secs_f64() * 1e3
    )
}

#[derive(Debug, Clone, Copy)]
enum SshEnd {
    /// SIGKILL to the local `ssh` client (`Event::Starting`'s pid).
    KillClient,
    Disconnect,
    /// The manager dropped: `Command::Shutdown`, which also ends the master.
    Shutdown,
}

#[test]
#[ignore = "long (20 rounds, about 5 s): scripts/test runs it"]
fn ssh_kills_leave_nothing_twenty_times() {
    let sshd = Sshd::start();
    let mut target = SshTarget::new(sshd.alias);
    target.config_file = Some(sshd.config.clone());
    let config = python_config().on(Place::Ssh(target));
    let started = Instant::now();
    let mut gone_after = Vec::new();
    let mut harness: Option<Harness> = None;
    for round in 0..ROUNDS {
        // The first kill is of a session on a connection of its own (no master
        // yet), the second of one through the master.
        let end = [
            SshEnd::KillClient,
            SshEnd::Disconnect,
            SshEnd::KillClient,
            SshEnd::Shutdown,
        ][round % 4];
        let h = harness.get_or_insert_with(Harness::new);
        h.manager.connect(S, config.clone());
        let client = h.wait_for("starting", |e| match e {
            Event::Starting { session, pid, .. } if *session == S => Some(*pid),
            Event::InitFailed { error, .. } => panic!("round {round}: init failed: {error}"),
            _ => None,
        });
        let info = h.wait_connected(S);
        // A child in a session of its own: a process group kill would miss it.
        let out = h.eval(
            S,
            &format!("r{round}"),
            None,
            "import subprocess\np = subprocess.Popen(['setsid', 'sleep', '1003'])\np.pid",
        );
        let child: u32 = out.value().unwrap().parse().unwrap();
        assert!(alive(info.pid) && alive(child), "round {round}: agent and child run");

        let t0 = Instant::now();
        match end {
            SshEnd::KillClient => {
                common::kill9(client);
                h.wait_for("node down", |e| match e {
                    Event::NodeDown { session, .. } if *session == S => Some(()),
                    _ => None,
                });
            }
            SshEnd::Disconnect => h.manager.send(Command::Disconnect { session: S }),
            SshEnd::Shutdown => harness.take().unwrap().manager.shutdown(),
        }
        let left = wait_gone(&[info.pid, child], Duration::from_secs(5));
        assert!(
            left.is_empty(),
            "round {round} ({end:?}): still alive after 5 s: {left:?} (agent {}, child {child})",
            info.pid
        );
        gone_after.push(t0.elapsed());
        // Nothing of the session's is left; the master's connection (sshd's
        // own processes) only while the manager runs.
        let keep_master = !matches!(end, SshEnd::Shutdown);
        eventually(&format!("round {round} ({end:?}): processes under sshd"), WAIT, || {
            let sessions = if keep_master { sshd.session_pids() } else { Vec::new() };
            let left: Vec<u32> = sshd
                .started_processes()
                .into_iter()
                .filter(|pid| !sessions.contains(pid))
                .collect();
            (left.is_empty(), left)
        });
    }
    drop(harness);
    eventually("remote processes at the end", WAIT, || {
        let left = sshd.started_processes();
        (left.is_empty(), left)
    });
    assert!(sshd.remote_processes("sleep 1003").is_empty());
    eprintln!(
        "{ROUNDS} rounds in {:.1} s; agent and setsid child gone after the end: {}",
        started.elapsed().as_secs_f64(),
        summary(&gone_after)
    );
}

#[derive(Debug, Clone, Copy)]
enum RunyardEnd {
    Kill,
    /// SIGKILL to `runyard run`'s whole process group (started as its leader).
    KillGroup,
    Term,
}

/// Jobs `squeue` lists with one of `names`.
fn jobs_named(conf: &Path, names: &[String]) -> Vec<String> {
    let out = slurm::command("squeue", conf)
        .args(["--noheader", "--format=%i %j %T"])
        .output()
        .unwrap();
    assert!(out.status.success(), "squeue: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .nth(1)
                .is_some_and(|j| names.iter().any(|n| n == j))
        })
        .map(str::to_string)
        .collect()
}

/// The `--job-name=` of an `srun` below `root`, once there is one.
fn job_name_below(root: u32) -> Option<String> {
    let mut table = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            table.push((pid, ppid));
        }
    }
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &table {
            if ppid != parent {
                continue;
            }
            frontier.push(pid);
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let name = cmdline
                .split(|b| *b == 0)
                .find_map(|arg| arg.strip_prefix(b"--job-name="))
                .map(|name| String::from_utf8_lossy(name).into_owned());
            if name.is_some() {
                return name;
            }
        }
    }
    None
}

/// Processes whose command line holds `needle` (the job's srun, its helper, a supervisor).
fn processes_with(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
                && alive(*pid)
        })
        .collect()
}

#[test]
#[ignore = "long (20 rounds, about 5 s): scripts/test runs it"]
fn runyard_kills_leave_no_job_twenty_times() {
    let Some(conf) = slurm::slurm_conf() else { return };
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut names = Vec::new();
    let mut gone_after = Vec::new();
    for round in 0..ROUNDS {
        let end = [RunyardEnd::Kill, RunyardEnd::KillGroup, RunyardEnd::Term][round % 3];
        let marker = dir.path().join(format!("started-{round}"));
        let notebook = dir.path().join(format!("sleep-{round}.py"));
        std::fs::write(
            &notebook,
            format!("# %%\nimport time\nopen({marker:?}, 'w').write('x')\ntime.sleep(600)\n"),
        )
        .unwrap();
        let mut runyard = std::process::Command::new(env!("CARGO_BIN_EXE_runyard"))
            .arg("run")
            .arg(&notebook)
            .args(["--slurm", ""])
            .env("SLURM_CONF", &conf)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = runyard.id();
        let deadline = Instant::now() + WAIT;
        let job = loop {
            if let Some(job) = job_name_below(pid) {
                break job;
            }
            assert!(Instant::now() < deadline, "round {round}: runyard run started no srun");
            std::thread::sleep(Duration::from_millis(20));
        };
        names.push(job.clone());
        eventually(
            &format!("round {round}: job {job} running, its cell started"),
            WAIT,
            || {
                let jobs = jobs_named(&conf, std::slice::from_ref(&job));
                let running = jobs.iter().any(|l| l.ends_with(" RUNNING"));
                (running && marker.exists(), jobs)
            },
        );

        let t0 = Instant::now();
        let target = Pid::from_raw(pid as i32);
        match end {
            RunyardEnd::Kill => kill(target, Signal::SIGKILL).unwrap(),
            RunyardEnd::KillGroup => killpg(target, Signal::SIGKILL).unwrap(),
            RunyardEnd::Term => kill(target, Signal::SIGTERM).unwrap(),
        }
        eventually(
            &format!("round {round} ({end:?}): job {job} in squeue"),
            Duration::from_secs(10),
            || {
                let jobs = jobs_named(&conf, std::slice::from_ref(&job));
                (jobs.is_empty(), jobs)
            },
        );
        gone_after.push(t0.elapsed());
        runyard.wait().unwrap();
        eventually(&format!("round {round} ({end:?}): processes of {job}"), WAIT, || {
            let left = processes_with(&job);
            (left.is_empty(), left)
        });
    }
    assert_eq!(jobs_named(&conf, &names), Vec::<String>::new(), "jobs left at the end");
    // The supervisor ends srun with SIGTERM, which ends the job at once
    // (tens of ms); an srun SIGKILLed with its helper leaves it to Slurm,
    // which takes about 2.7 s, scancel or not.
    let mut sorted = gone_after.clone();
    sorted.sort();
    assert!(
        sorted[sorted.len() / 2] < Duration::from_secs(2),
        "jobs left squeue slowly: {}",
        summary(&gone_after)
    );
    let left: Vec<u32> = names.iter().flat_map(|n| processes_with(n)).collect();
    assert!(left.is_empty(), "processes of the jobs left at the end: {left:?}");
    eprintln!(
        "{ROUNDS} rounds in {:.1} s; job gone from squeue after the end: {}",
        started.elapsed().as_secs_f64(),
        summary(&gone_after)
    );
}
