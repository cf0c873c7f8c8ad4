//! Where a runtime runs: this machine, an SSH host, or a Slurm job step.
//! The kind (Python, Elixir…) says what speaks; the place says how it is
//! started and reached. Both are kept with the session and the notebook.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::runtime::ConfigError;

/// Seconds between SSH keep-alives; three unanswered ones mean the
/// connection is lost.
pub const DEFAULT_KEEPALIVE_SECS: u32 = 5;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Place {
    /// A child process of this machine.
    #[default]
    Local,
    /// Over the system's OpenSSH client, on another host.
    Ssh(SshTarget),
    /// A Slurm job step, via `srun` here or on a login node over SSH.
    Slurm(SlurmJob),
}

/// A host as the OpenSSH client takes it, so that `~/.ssh/config` applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SshTarget {
    /// An alias of `~/.ssh/config`, `host` or `user@host`.
    pub host: String,
    /// Another client config file (`ssh -F FILE`) instead of `~/.ssh/config`.
    pub config_file: Option<PathBuf>,
    /// Seconds between keep-alives (`ServerAliveInterval`).
    pub keepalive_secs: u32,
}

impl Default for SshTarget {
    fn default() -> Self {
        SshTarget {
            host: String::new(),
            config_file: None,
            keepalive_secs: DEFAULT_KEEPALIVE_SECS,
        }
    }
}

impl SshTarget {
    pub fn new(host: impl Into<String>) -> Self {
        SshTarget {
            host: host.into(),
            ..Default::default()
        }
    }

    /// How long a dead network goes unnoticed at most.
    pub fn loss_detection(&self) -> Duration {
        Duration::from_secs(u64::from(self.keepalive_secs.max(1)) * 3)
    }
}

/// What to ask Slurm for. Empty fields are left to the cluster's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlurmJob {
    /// Run `srun` on this login node; `None`: on this machine.
    pub login: Option<SshTarget>,
    pub partition: String,
    /// `--time`: `MM`, `HH:MM:SS` or `D-HH`.
    pub time_limit: String,
    /// `--cpus-per-task`.
    pub cpus: Option<u32>,
    /// `--mem`: `4G`, `500M`…
    pub memory: String,
    /// `--gres`: `gpu:1`, `gpu:a100:2`…
    pub gpus: String,
    pub account: String,
    /// More `srun` arguments, as a shell would split them.
    pub extra_args: Vec<String>,
    /// How long the job may wait for resources; `None`: as long as it takes.
    #[serde(with = "opt_secs")]
    pub pending_timeout: Option<Duration>,
}

impl Place {
    /// The SSH host the runtime (or its `srun`) is reached through, if any.
    pub fn ssh(&self) -> Option<&SshTarget> {
        match self {
            Place::Local => None,
            Place::Ssh(target) => Some(target),
            Place::Slurm(job) => job.login.as_ref(),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Place::Local)
    }

    /// "on gpu-box", "on Slurm via login1", or empty for this machine.
    pub fn label(&self) -> String {
        match self {
            Place::Local => String::new(),
            Place::Ssh(target) => format!("on {}", target.host),
            Place::Slurm(SlurmJob { login: Some(login), .. }) => format!("on Slurm via {}", login.host),
            Place::Slurm(_) => "on Slurm".to_string(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(target) = self.ssh() {
            validate_host(&target.host)?;
            if target.keepalive_secs == 0 || target.keepalive_secs > 3600 {
                return Err(ConfigError::Keepalive(target.keepalive_secs));
            }
            if let Some(file) = &target.config_file
                && !file.is_file()
            {
                return Err(ConfigError::SshConfigFile(file.clone()));
            }
        }
        if let Place::Slurm(job) = self {
            for (what, value) in [
                ("partition", &job.partition),
                ("time limit", &job.time_limit),
                ("memory", &job.memory),
                ("GPUs", &job.gpus),
                ("account", &job.account),
            ] {
                if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(ConfigError::SlurmOption {
                        option: what.to_string(),
                        value: value.clone(),
                    });
                }
            }
            if job.cpus == Some(0) {
                return Err(ConfigError::SlurmOption {
                    option: "CPUs".into(),
                    value: "0".into(),
                });
            }
        }
        Ok(())
    }
}

/// A host `ssh` will take as its destination and never as an option.
fn validate_host(host: &str) -> Result<(), ConfigError> {
    let bad = host.is_empty()
        || host.starts_with('-')
        || host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\'');
    if bad {
        return Err(ConfigError::SshHost(host.to_string()));
    }
    Ok(())
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|secs| Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_ssh_would_read_as_options_are_refused() {
        for bad in ["", "-oProxyCommand=x", "a b", "a\nb", "it's"] {
            let place = Place::Ssh(SshTarget::new(bad));
            assert!(matches!(place.validate(), Err(ConfigError::SshHost(_))), "{bad:?}");
        }
        for good in ["gpu-box", "me@10.0.0.2", "login.cluster.example.org"] {
            assert_eq!(Place::Ssh(SshTarget::new(good)).validate(), Ok(()), "{good}");
        }
    }

    #[test]
    fn slurm_options_are_single_words() {
        let job = SlurmJob {
            partition: "debug --uid=0".into(),
            ..Default::default()
        };
        assert!(matches!(
            Place::Slurm(job).validate(),
            Err(ConfigError::SlurmOption { .. })
        ));
        assert_eq!(Place::Slurm(SlurmJob::default()).validate(), Ok(()));
    }

    #[test]
    fn places_round_trip_through_json_and_default_to_local() {
        let place = Place::Slurm(SlurmJob {
            login: Some(SshTarget::new("login1")),
            partition: "gpu".into(),
            cpus: Some(4),
            pending_timeout: Some(Duration::from_secs(600)),
            extra_args: vec!["--qos=high".into()],
            ..Default::default()
        });
        let json = serde_json::to_string(&place).unwrap();
        assert_eq!(serde_json::from_str::<Place>(&json).unwrap(), place);
        assert_eq!(
            serde_json::from_str::<Place>(r#"{"on":"local"}"#).unwrap(),
            Place::Local
        );
        assert_eq!(place.label(), "on Slurm via login1");
    }
}
