//! Plans a remote start: the local program (`ssh` or `srun`), the remote
//! command it runs, the preamble that carries the agent, and the cleanup
//! that leaves no job behind.

use std::ffi::OsString;
use std::path::PathBuf;

use nix::sys::signal::Signal;

use super::{Place, SlurmJob, SshTarget, bootstrap, ssh};
use crate::runtime::{InitError, Launch, RuntimeConfig, StandaloneConfig, python, resolve_executable};

/// What the manager keeps of a remote start.
#[derive(Debug, Clone)]
pub struct RemoteLaunch {
    /// The SSH host, for messages and the runtime panel.
    pub host: Option<String>,
    /// The interpreter the remote shell (or `srun`) was asked to run.
    pub program: String,
    /// The SSH connection, whose master the manager keeps for later starts.
    pub ssh: Option<SshTarget>,
    /// The Slurm job's name (`runyard-python-…`), by which it is found and cancelled.
    pub job_name: Option<String>,
    /// How `squeue` and `scancel` are run: locally, or through the login node.
    pub slurm_via: Option<Vec<OsString>>,
    pub pending_timeout: Option<std::time::Duration>,
}

/// Plans `config` at its remote place as node `node` with handshake `token`.
pub fn plan(config: &RuntimeConfig, node: &str, token: &str) -> Result<Launch, InitError> {
    config.validate()?;
    let standalone = config.standalone();
    let interpreter = config.executable().to_string();
    let mut words = vec![interpreter.clone()];
    words.extend(standalone.args.iter().cloned());
    words.extend(["-c".to_string(), bootstrap::BOOTSTRAP.to_string()]);
    let preamble = bootstrap::preamble(node, token, &standalone.env, python::agent_source());
    let timeout = config.init_timeout.as_secs().max(1);
    let control = || {
        ssh::control_dir().map_err(|err| InitError::SpawnFailed {
            path: PathBuf::from("ssh"),
            message: format!("Runyard's directory for SSH connections could not be made: {err}"),
        })
    };
    let local = StandaloneConfig::default();
    let shown_words = |words: &[String]| {
        words
            .iter()
            .map(|w| {
                if w == bootstrap::BOOTSTRAP {
                    "<runyard bootstrap>".into()
                } else {
                    ssh::quote(w)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (program, args, display, remote) = match &config.place {
        Place::Local => unreachable!("local starts are planned by runtime::plan"),
        Place::Ssh(target) => {
            let command = ssh::command_line(standalone.cwd.as_deref(), &words);
            let dir = control()?;
            let args = ssh::session_args(target, &dir, timeout, &command);
            let display = format!("ssh {} {}", target.host, shown_words(&words));
            let remote = RemoteLaunch {
                host: Some(target.host.clone()),
                program: interpreter.clone(),
                ssh: Some(target.clone()),
                job_name: None,
                slurm_via: None,
                pending_timeout: None,
            };
            (resolve_executable("ssh", &local)?, args, display, remote)
        }
        Place::Slurm(job) => {
            let job_name = format!("runyard-{node}");
            let mut srun = vec!["srun".to_string()];
            srun.extend(srun_args(job, &job_name, standalone.cwd.as_deref()));
            srun.extend(words);
            let display = shown_words(&srun);
            let (program, args, slurm_via, display) = match &job.login {
                None => {
                    let program = resolve_executable("srun", &local)?;
                    let args = srun[1..].iter().map(OsString::from).collect();
                    (program, args, Vec::new(), display)
                }
                Some(login) => {
                    let dir = control()?;
                    let command = ssh::command_line(None, &srun);
                    let args = ssh::session_args(login, &dir, timeout, &command);
                    let mut via = vec![OsString::from("ssh")];
                    via.extend(ssh::session_prefix(login, &dir, timeout));
                    let shown = format!("ssh {} {display}", login.host);
                    (resolve_executable("ssh", &local)?, args, via, shown)
                }
            };
            let remote = RemoteLaunch {
                host: job.login.as_ref().map(|l| l.host.clone()),
                program: "srun".to_string(),
                ssh: job.login.clone(),
                job_name: Some(job_name),
                slurm_via: Some(slurm_via),
                pending_timeout: job.pending_timeout,
            };
            (program, args, display, remote)
        }
    };
    let cleanup = remote
        .job_name
        .as_ref()
        .map(|name| scancel_argv(remote.slurm_via.as_deref().unwrap_or(&[]), name))
        .unwrap_or_default();
    Ok(Launch {
        program,
        args,
        // ssh and srun end cleanly on SIGTERM: srun then cancels its step.
        death_signal: Signal::SIGTERM,
        display,
        wrapper: None,
        env: Vec::new(),
        crash_dump: None,
        kernel: None,
        preamble: Some(preamble),
        cleanup,
        remote: Some(remote),
    })
}

/// `srun`'s options for `job`: one task, unbuffered (`-u`), named so that
/// `squeue` and `scancel` find it.
pub fn srun_args(job: &SlurmJob, job_name: &str, cwd: Option<&std::path::Path>) -> Vec<String> {
    let mut args = vec![
        "-u".to_string(),
        format!("--job-name={job_name}"),
        "--nodes=1".to_string(),
        "--ntasks=1".to_string(),
    ];
    let mut option = |name: &str, value: &str| {
        if !value.is_empty() {
            args.push(format!("--{name}={value}"));
        }
    };
    option("partition", &job.partition);
    option("time", &job.time_limit);
    option("mem", &job.memory);
    option("gres", &job.gpus);
    option("account", &job.account);
    if let Some(cpus) = job.cpus {
        option("cpus-per-task", &cpus.to_string());
    }
    if let Some(dir) = cwd {
        option("chdir", &dir.to_string_lossy());
    }
    args.extend(job.extra_args.iter().cloned());
    args
}

/// `scancel --name=JOB`, run here or through the login node (`via` is the
/// `ssh … HOST` prefix, empty for here).
pub fn scancel_argv(via: &[OsString], job_name: &str) -> Vec<OsString> {
    let words = ["scancel".to_string(), format!("--name={job_name}")];
    slurm_command(via, &words)
}

/// A Slurm client command (`squeue`, `scancel`) here, or through `via`.
pub fn slurm_command(via: &[OsString], words: &[String]) -> Vec<OsString> {
    if via.is_empty() {
        return words.iter().map(OsString::from).collect();
    }
    let mut argv = via.to_vec();
    argv.push(ssh::command_line(None, words).into());
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srun_gets_each_option_that_is_set() {
        let job = SlurmJob {
            partition: "gpu".into(),
            time_limit: "1:00:00".into(),
            cpus: Some(4),
            memory: "8G".into(),
            gpus: "gpu:1".into(),
            account: "lab".into(),
            extra_args: vec!["--qos=high".into()],
            ..Default::default()
        };
        let args = srun_args(&job, "runyard-python-x", Some(std::path::Path::new("/scratch/me")));
        assert_eq!(
            args,
            [
                "-u",
                "--job-name=runyard-python-x",
                "--nodes=1",
                "--ntasks=1",
                "--partition=gpu",
                "--time=1:00:00",
                "--mem=8G",
                "--gres=gpu:1",
                "--account=lab",
                "--cpus-per-task=4",
                "--chdir=/scratch/me",
                "--qos=high"
            ]
        );
        assert_eq!(srun_args(&SlurmJob::default(), "j", None).len(), 4);
    }

    #[test]
    fn scancel_runs_here_or_through_the_login_node() {
        assert_eq!(scancel_argv(&[], "runyard-x"), ["scancel", "--name=runyard-x"]);
        let via: Vec<OsString> = ["ssh", "-o", "BatchMode=yes", "--", "login1"]
            .map(OsString::from)
            .to_vec();
        let argv = scancel_argv(&via, "runyard-x");
        assert_eq!(argv.last().unwrap(), "exec scancel --name=runyard-x");
        assert_eq!(argv[..5], via[..]);
    }
}
