//! The manager's part of remote runtimes: the SSH masters it owns, the task
//! that watches a Slurm job, and what a remote node's end means.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::mpsc::UnboundedSender;

use super::events::DownCause;
use super::node::{Internal, NodeId, NodeMsg};
use crate::remote::{RemoteLaunch, SshTarget, slurm, slurm_command, ssh};
use crate::runtime::{ExitInfo, InitError};

/// How often a pending job is looked at (its reason and wait are shown live).
const PENDING_POLL: Duration = Duration::from_secs(1);
/// How often a running job is looked at (its time left).
const RUNNING_POLL: Duration = Duration::from_secs(30);
/// An `squeue` that takes longer than this is given up on, and tried again.
const SQUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// One `ssh -M` per host and config file, shared by every session on it, so
/// that a reconnect pays no handshake. They are children of the manager's
/// thread with a parent-death signal: none outlives Runyard.
#[derive(Default)]
pub(super) struct SshMasters {
    masters: HashMap<(String, Option<PathBuf>), Child>,
}

impl SshMasters {
    /// Starts the master for `target` unless one runs. A start does not wait
    /// for it: a session opened meanwhile connects by itself.
    pub fn ensure(&mut self, target: &SshTarget, connect_timeout_secs: u64) {
        let key = (target.host.clone(), target.config_file.clone());
        if let Some(child) = self.masters.get_mut(&key)
            && matches!(child.try_wait(), Ok(None))
        {
            return;
        }
        let dir = match ssh::control_dir() {
            Ok(dir) => dir,
            Err(err) => return tracing::warn!(%err, "no directory for SSH connection sharing"),
        };
        ssh::remove_stale_socket(&ssh::control_path(target, &dir));
        let mut command = Command::new("ssh");
        // No kill on drop: SIGTERM lets the master remove its socket.
        command
            .args(ssh::master_args(target, &dir, connect_timeout_secs))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let parent = nix::unistd::getpid();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)?;
                if nix::unistd::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        match command.spawn() {
            Ok(child) => {
                tracing::info!(host = %target.host, "SSH master started for connection sharing");
                self.masters.insert(key, child);
            }
            Err(err) => tracing::warn!(host = %target.host, %err, "the SSH master could not be started"),
        }
    }

    /// Ends every master (and with it its connection).
    pub fn stop_all(&mut self) {
        for (_, child) in self.masters.drain() {
            if let Some(pid) = child.id() {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
    }
}

impl Drop for SshMasters {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Watches job `name` with `squeue` (here or through `via`) until the
/// node is gone: every second while it waits, every 30 s while it runs.
/// `JobUnknown` is sent once if `squeue` fails, or has not listed the job
/// after `UNLISTED_POLLS` looks (`srun` submits it a moment after it starts,
/// so a first empty answer means nothing).
pub(super) fn watch_job(
    id: NodeId,
    via: Vec<OsString>,
    name: String,
    internal: UnboundedSender<Internal>,
) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let argv = slurm_command(&via, &slurm::squeue_words(&name));
        let mut unlisted = 0;
        let mut told_unknown = false;
        loop {
            let pending = match squeue(&argv, started.elapsed()).await {
                Ok(Some(job)) => {
                    unlisted = 0;
                    let pending = job.is_pending();
                    if internal.send((id, NodeMsg::Job(job))).is_err() {
                        return;
                    }
                    pending
                }
                answer => {
                    unlisted += 1;
                    let unknown = answer.is_err() || unlisted >= UNLISTED_POLLS;
                    if unknown && !told_unknown {
                        told_unknown = true;
                        if internal.send((id, NodeMsg::JobUnknown)).is_err() {
                            return;
                        }
                    }
                    true
                }
            };
            tokio::time::sleep(if pending { PENDING_POLL } else { RUNNING_POLL }).await;
        }
    })
    .abort_handle()
}

/// How many empty answers of `squeue` make a job unknown.
const UNLISTED_POLLS: u32 = 10;

/// The job `squeue` lists, `Ok(None)` when it lists none, `Err` when it failed.
async fn squeue(argv: &[OsString], waited: Duration) -> Result<Option<slurm::JobInfo>, ()> {
    let (program, args) = argv.split_first().ok_or(())?;
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SQUEUE_TIMEOUT, output)
        .await
        .map_err(|_| ())?
        .map_err(|_| ())?;
    if !output.status.success() {
        return Err(());
    }
    Ok(slurm::parse_squeue(&String::from_utf8_lossy(&output.stdout), waited))
}

/// Why a remote start ended before the agent's hello, when ssh or Slurm can say.
pub(super) fn init_error(
    remote: &RemoteLaunch,
    job: Option<&slurm::JobInfo>,
    exit: &ExitInfo,
    stderr: &str,
) -> Option<InitError> {
    if let Some(host) = &remote.host
        && let Some(error) = ssh::init_error(host, &remote.program, exit, stderr)
    {
        return Some(error);
    }
    remote.job_name.as_ref()?;
    let job_id = job.map(|j| j.id.clone()).unwrap_or_default();
    if let Some(reason) = slurm::down_reason(stderr) {
        return Some(InitError::SlurmCancelled { job_id, reason });
    }
    slurm::srun_error(stderr).map(|detail| {
        if detail.contains("revoked") || detail.contains("cancelled") || detail.contains("canceled") {
            InitError::SlurmCancelled { job_id, reason: detail }
        } else {
            InitError::SlurmRefused { detail }
        }
    })
}

/// Why a connected remote runtime went down, when it was the connection or Slurm.
pub(super) fn down_cause(
    remote: &RemoteLaunch,
    job: Option<&slurm::JobInfo>,
    exit: &ExitInfo,
    stderr: &str,
) -> Option<DownCause> {
    if remote.job_name.is_some()
        && let Some(reason) = slurm::down_reason(stderr)
    {
        let job_id = job.map(|j| j.id.clone()).unwrap_or_default();
        return Some(DownCause::Slurm { job_id, reason });
    }
    let host = remote.host.as_ref()?;
    ssh::connection_lost(exit, stderr).map(|detail| DownCause::ConnectionLost {
        host: host.clone(),
        detail,
    })
}
