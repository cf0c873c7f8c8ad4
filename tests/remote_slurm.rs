//! Slurm runtimes on a real one-node cluster (scripts/slurm-cluster, started
//! by scripts/test): a job step that evaluates, a job that waits with its
//! reason and is cancelled, a pending timeout, a time limit reported with
//! Slurm's reason, and no job left behind however Runyard stops.

mod common;

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::slurm;
use common::{Harness, WAIT, python_config};
use runyard::manager::DownCause;
use runyard::remote::{JobInfo, Place, SlurmJob};
use runyard::{Command, Event, InitError, RuntimeConfig, SessionId};

const S: SessionId = SessionId(1);

/// One test at a time: they share one small cluster (a blocker takes every
/// CPU) and count its jobs.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The cluster's config, and the turn to use it. The manager's `srun`
/// inherits this process's environment, so `SLURM_CONF` must be set before
/// the test starts.
fn cluster() -> Option<(PathBuf, std::sync::MutexGuard<'static, ()>)> {
    let turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let conf = slurm::slurm_conf()?;
    assert_eq!(
        std::env::var_os("SLURM_CONF").map(PathBuf::from),
        Some(conf.clone()),
        "export SLURM_CONF={} (scripts/test does) so that Runyard's srun finds the test cluster",
        conf.display()
    );
    Some((conf, turn))
}

fn on_slurm(job: SlurmJob) -> RuntimeConfig {
    python_config().on(Place::Slurm(job))
}

/// Jobs whose name starts with `prefix`, as `squeue` lists them.
fn jobs(conf: &std::path::Path, prefix: &str) -> Vec<String> {
    let out = slurm::command("squeue", conf)
        .args(["--noheader", "--format=%i %j %T"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .nth(1)
                .is_some_and(|name| name.starts_with(prefix))
        })
        .map(str::to_string)
        .collect()
}

fn no_runtime_jobs(conf: &std::path::Path, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left = jobs(conf, "runyard-");
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "jobs left in squeue: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A job that holds every CPU of the cluster until dropped.
struct Blocker {
    child: Child,
    conf: PathBuf,
    name: String,
}

impl Blocker {
    fn start(conf: &std::path::Path, name: &str) -> Blocker {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let child = slurm::command("srun", conf)
            .args([
                format!("--job-name={name}"),
                format!("--cpus-per-task={cpus}"),
                "sleep".into(),
                "600".into(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let blocker = Blocker {
            child,
            conf: conf.to_path_buf(),
            name: name.to_string(),
        };
        let deadline = Instant::now() + WAIT;
        while !jobs(conf, name).iter().any(|line| line.ends_with("RUNNING")) {
            assert!(Instant::now() < deadline, "the blocking job never ran");
            std::thread::sleep(Duration::from_millis(100));
        }
        blocker
    }
}

impl Drop for Blocker {
    fn drop(&mut self) {
        let _ = slurm::command("scancel", &self.conf)
            .arg(format!("--name={}", self.name))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn next_job(h: &mut Harness) -> JobInfo {
    h.wait_for("a job update", |e| match e {
        Event::Job { job, .. } => Some(job.clone()),
        Event::InitFailed { error, .. } => panic!("init failed: {error}"),
        _ => None,
    })
}

#[test]
fn a_job_step_evaluates_and_leaves_no_job() {
    let Some((conf, _turn)) = cluster() else { return };
    let mut h = Harness::new();
    let info = h.connect(S, on_slurm(SlurmJob::default()));
    let out = h.eval(S, "r1", None, "import os\nos.environ['SLURM_JOB_ID']");
    let id = out.value().unwrap().trim_matches('\'').to_string();
    assert!(!id.is_empty());
    // The job as the panel shows it once squeue has seen it run.
    let job = match info.job {
        Some(job) if !job.nodes.is_empty() => job,
        _ => loop {
            let job = next_job(&mut h);
            if !job.nodes.is_empty() {
                break job;
            }
        },
    };
    assert_eq!(job.id, id, "the panel names the job the runtime runs in");
    assert_eq!(job.state, "RUNNING");
    assert!(!job.nodes.is_empty() && !job.partition.is_empty(), "{job:?}");
    assert_eq!(h.eval(S, "r2", Some("r1"), "1+1").value(), Some("2"));
    assert_eq!(jobs(&conf, "runyard-").len(), 1);
    h.manager.send(Command::Disconnect { session: S });
    no_runtime_jobs(&conf, Duration::from_secs(10));
}

#[test]
fn a_pending_job_shows_its_reason_and_can_be_cancelled() {
    let Some((conf, _turn)) = cluster() else { return };
    let _blocker = Blocker::start(&conf, "blocker-pending");
    let mut h = Harness::new();
    // The init timeout starts when the job runs, not while it waits.
    let config = on_slurm(SlurmJob::default()).with_init_timeout(Duration::from_secs(2));
    h.manager.connect(S, config);
    let first = next_job(&mut h);
    assert!(first.is_pending(), "{first:?}");
    assert!(
        ["Resources", "Priority"].contains(&first.reason.as_str()),
        "Slurm's reason: {first:?}"
    );
    let later = loop {
        let job = next_job(&mut h);
        if job.elapsed >= first.elapsed + Duration::from_secs(4) {
            break job;
        }
    };
    assert_eq!(later.id, first.id);
    assert!(later.is_pending());
    // Cancel, as the panel's button does: at once, not after the stop grace.
    h.manager.send(Command::Disconnect { session: S });
    no_runtime_jobs(&conf, Duration::from_secs(5));
}

#[test]
fn a_job_pending_past_its_timeout_is_cancelled_with_its_reason() {
    let Some((conf, _turn)) = cluster() else { return };
    let _blocker = Blocker::start(&conf, "blocker-timeout");
    let mut h = Harness::new();
    let job = SlurmJob {
        pending_timeout: Some(Duration::from_secs(2)),
        ..Default::default()
    };
    h.manager.connect(S, on_slurm(job));
    match h.wait_init_failed(S) {
        InitError::SlurmPendingTimeout { job_id, reason, waited } => {
            assert!(!job_id.is_empty());
            assert!(["Resources", "Priority"].contains(&reason.as_str()), "{reason}");
            assert!(waited >= Duration::from_secs(2));
        }
        other => panic!("{other:?}"),
    }
    no_runtime_jobs(&conf, Duration::from_secs(10));
}

#[test]
fn a_refused_job_says_why() {
    let Some((conf, _turn)) = cluster() else { return };
    let mut h = Harness::new();
    let job = SlurmJob {
        partition: "no-such-partition".into(),
        ..Default::default()
    };
    h.manager.connect(S, on_slurm(job));
    match h.wait_init_failed(S) {
        InitError::SlurmRefused { detail } => assert!(detail.to_lowercase().contains("partition"), "{detail}"),
        other => panic!("{other:?}"),
    }
    no_runtime_jobs(&conf, Duration::from_secs(10));
}

/// Slurm's minimum time limit is a minute: this test takes about that long.
#[test]
fn a_job_ended_by_its_time_limit_is_a_node_down_naming_it() {
    let Some((conf, _turn)) = cluster() else { return };
    let mut h = Harness::new();
    let job = SlurmJob {
        time_limit: "1".into(),
        ..Default::default()
    };
    h.connect(S, on_slurm(job));
    h.submit(S, "main", "r1", None, "import time\ntime.sleep(600)");
    let cause = h.wait_for_within("node down", Duration::from_secs(240), |e| match e {
        Event::NodeDown { cause, .. } => Some(cause.clone()),
        _ => None,
    });
    match &cause {
        DownCause::Slurm { job_id, reason } => {
            assert!(!job_id.is_empty());
            assert_eq!(reason, "time limit");
        }
        other => panic!("{other:?}"),
    }
    no_runtime_jobs(&conf, Duration::from_secs(30));
}

/// A cluster through its login node: `ssh LOGIN srun …`, whose shell finds
/// the cluster as a login node's does (here: its `.bashrc`).
#[test]
fn a_job_step_through_the_login_node() {
    let Some((conf, _turn)) = cluster() else { return };
    let sshd = common::sshd::Sshd::start();
    std::fs::write(
        sshd.home().join(".bashrc"),
        format!("export SLURM_CONF={}\n", conf.display()),
    )
    .unwrap();
    let mut login = runyard::remote::SshTarget::new(sshd.alias);
    login.config_file = Some(sshd.config.clone());
    let mut h = Harness::new();
    let info = h.connect(
        S,
        on_slurm(SlurmJob {
            login: Some(login),
            ..Default::default()
        }),
    );
    assert_eq!(info.host.as_deref(), Some(sshd.alias));
    let out = h.eval(S, "r1", None, "import os\nos.environ['SLURM_JOB_ID']");
    let id = out.value().unwrap().trim_matches('\'').to_string();
    assert_eq!(jobs(&conf, "runyard-").len(), 1);
    assert!(
        jobs(&conf, "runyard-")[0].starts_with(&id),
        "{:?}",
        jobs(&conf, "runyard-")
    );
    h.manager.send(Command::Disconnect { session: S });
    no_runtime_jobs(&conf, Duration::from_secs(10));
}

/// `runyard run --slurm` SIGKILLed while its cell runs: the supervisor
/// cancels the job.
#[test]
fn runyard_sigkilled_leaves_no_job() {
    let Some((conf, _turn)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let notebook = dir.path().join("hang.py");
    std::fs::write(
        &notebook,
        format!("# %%\nimport time\nopen({marker:?}, 'w').write('x')\ntime.sleep(600)\n"),
    )
    .unwrap();
    let mut runyard = std::process::Command::new(env!("CARGO_BIN_EXE_runyard"))
        .arg("run")
        .arg(&notebook)
        .args(["--slurm", ""])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the cell never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(jobs(&conf, "runyard-").len(), 1);
    runyard.kill().unwrap();
    runyard.wait().unwrap();
    no_runtime_jobs(&conf, Duration::from_secs(10));
}
