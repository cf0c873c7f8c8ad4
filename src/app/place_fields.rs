//! "Runs on" in the runtime settings: this computer, an SSH host, or a Slurm
//! job step, as text fields that become a [`Place`]. What the fields cannot
//! say (an unclosed quote, a CPU count that is no number) is refused here;
//! what the place cannot be is [`Place::validate`]'s to say.

use std::path::PathBuf;
use std::time::Duration;

use egui::RichText;

use crate::remote::ssh_hosts::SshHosts;
use crate::remote::{Place, SlurmJob, SshTarget};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunsOn {
    Local,
    Ssh,
    Slurm,
}

/// The fields, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceFields {
    pub runs_on: RunsOn,
    /// The SSH host, or the Slurm login host.
    pub host: String,
    /// Empty: `~/.ssh/config`.
    pub config_file: String,
    pub keepalive_secs: u32,
    /// Slurm: `srun` on the login host rather than here.
    pub srun_on_login: bool,
    pub partition: String,
    pub time_limit: String,
    pub cpus: String,
    pub memory: String,
    pub gpus: String,
    pub account: String,
    pub extra_args: String,
    /// Empty: no limit.
    pub pending_timeout: String,
}

/// What an edit of the fields asks of the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Edited {
    /// Browse… for the SSH config file was clicked.
    pub browse_config: bool,
}

impl PlaceFields {
    pub fn new(place: &Place) -> PlaceFields {
        let ssh = place.ssh().cloned().unwrap_or_default();
        let job = match place {
            Place::Slurm(job) => job.clone(),
            _ => SlurmJob::default(),
        };
        PlaceFields {
            runs_on: match place {
                Place::Local => RunsOn::Local,
                Place::Ssh(_) => RunsOn::Ssh,
                Place::Slurm(_) => RunsOn::Slurm,
            },
            host: ssh.host,
            config_file: ssh.config_file.map(|p| p.display().to_string()).unwrap_or_default(),
            keepalive_secs: ssh.keepalive_secs,
            srun_on_login: job.login.is_some(),
            partition: job.partition,
            time_limit: job.time_limit,
            cpus: job.cpus.map(|c| c.to_string()).unwrap_or_default(),
            memory: job.memory,
            gpus: job.gpus,
            account: job.account,
            // Quoted back, so that what is shown splits into what was kept.
            extra_args: shlex::try_join(job.extra_args.iter().map(String::as_str)).unwrap_or_default(),
            pending_timeout: job.pending_timeout.map(format_timeout).unwrap_or_default(),
        }
    }

    pub fn is_remote(&self) -> bool {
        self.runs_on != RunsOn::Local
    }

    /// Whether an SSH host is asked for (SSH, or Slurm through a login host).
    pub fn uses_ssh(&self) -> bool {
        match self.runs_on {
            RunsOn::Local => false,
            RunsOn::Ssh => true,
            RunsOn::Slurm => self.srun_on_login,
        }
    }

    /// The config file the host suggestions come from: the one given, else
    /// `None` for the user's own.
    pub fn suggestions_config(&self) -> Option<PathBuf> {
        let file = self.config_file.trim();
        (!file.is_empty()).then(|| expand_home(file))
    }

    /// The place the fields describe, or what in them is not readable.
    pub fn place(&self) -> Result<Place, String> {
        let ssh = || SshTarget {
            host: self.host.trim().to_string(),
            config_file: self.suggestions_config(),
            keepalive_secs: self.keepalive_secs,
        };
        Ok(match self.runs_on {
            RunsOn::Local => Place::Local,
            RunsOn::Ssh => Place::Ssh(ssh()),
            RunsOn::Slurm => Place::Slurm(SlurmJob {
                login: self.srun_on_login.then(ssh),
                partition: self.partition.trim().to_string(),
                time_limit: self.time_limit.trim().to_string(),
                cpus: match self.cpus.trim() {
                    "" => None,
                    cpus => Some(
                        cpus.parse()
                            .map_err(|_| format!("CPUs: {cpus:?} is not a whole number"))?,
                    ),
                },
                memory: self.memory.trim().to_string(),
                gpus: self.gpus.trim().to_string(),
                account: self.account.trim().to_string(),
                extra_args: shlex::split(&self.extra_args).ok_or_else(|| {
                    "Extra srun arguments: a quote is not closed (they are split as a shell would)".to_string()
                })?,
                pending_timeout: parse_timeout(&self.pending_timeout)?,
            }),
        })
    }

    /// Draws the fields; `hosts` are the suggestions (`None` while read).
    pub fn show(&mut self, ui: &mut egui::Ui, id: crate::manager::SessionId, hosts: Option<&SshHosts>) -> Edited {
        let mut edited = Edited::default();
        ui.horizontal(|ui| {
            ui.label("Runs on");
            ui.radio_value(&mut self.runs_on, RunsOn::Local, "This computer");
            ui.radio_value(&mut self.runs_on, RunsOn::Ssh, "SSH host");
            ui.radio_value(&mut self.runs_on, RunsOn::Slurm, "Slurm");
        });
        if !self.is_remote() {
            return edited;
        }
        egui::Grid::new(("place-grid", id))
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                if self.runs_on == RunsOn::Slurm {
                    ui.label("srun on");
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut self.srun_on_login, false, "this computer");
                        ui.radio_value(&mut self.srun_on_login, true, "a login host");
                    });
                    ui.end_row();
                }
                if self.uses_ssh() {
                    ui.label(if self.runs_on == RunsOn::Slurm {
                        "Login host"
                    } else {
                        "Host"
                    });
                    host_field(ui, &mut self.host, hosts);
                    ui.end_row();
                    ui.label("SSH config file");
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut self.config_file)
                                .hint_text("~/.ssh/config")
                                .desired_width(260.0),
                        );
                        if ui
                            .button("Browse…")
                            .on_hover_text("Choose an SSH config file")
                            .clicked()
                        {
                            edited.browse_config = true;
                        }
                    });
                    ui.end_row();
                    ui.label("Keep-alive");
                    ui.add(
                        egui::DragValue::new(&mut self.keepalive_secs)
                            .range(1..=3600)
                            .suffix(" s"),
                    )
                    .on_hover_text(
                        "Seconds between SSH keep-alives; three unanswered ones mean the connection is lost",
                    );
                    ui.end_row();
                }
                if self.runs_on == RunsOn::Slurm {
                    for (label, text, hint) in [
                        ("Partition", &mut self.partition, "the cluster's default"),
                        ("Time limit", &mut self.time_limit, "e.g. 1:00:00"),
                        ("CPUs", &mut self.cpus, "e.g. 4"),
                        ("Memory", &mut self.memory, "e.g. 16G"),
                        ("GPUs (--gres)", &mut self.gpus, "e.g. gpu:1"),
                        ("Account", &mut self.account, "your default"),
                        (
                            "Extra srun arguments",
                            &mut self.extra_args,
                            "e.g. --qos=high --constraint=a100",
                        ),
                        ("Pending timeout", &mut self.pending_timeout, "no limit; e.g. 10m"),
                    ] {
                        ui.label(label);
                        ui.add(egui::TextEdit::singleline(text).hint_text(hint).desired_width(260.0));
                        ui.end_row();
                    }
                }
            });
        edited
    }
}

/// The host field, with the config's hosts that match what is typed under it.
fn host_field(ui: &mut egui::Ui, host: &mut String, hosts: Option<&SshHosts>) {
    ui.vertical(|ui| {
        ui.add(
            egui::TextEdit::singleline(host)
                .hint_text("an alias from ~/.ssh/config, host or user@host")
                .desired_width(260.0),
        );
        let Some(hosts) = hosts else {
            ui.label(RichText::new("Reading the SSH config…").weak());
            return;
        };
        let mut notes = hosts.notes.join("\n");
        if hosts.hosts.is_empty() {
            if notes.is_empty() {
                notes = format!("{} names no hosts", hosts.config.display());
            }
            ui.label(RichText::new("No host suggestions").weak())
                .on_hover_text(notes);
            return;
        }
        // Once the field holds a suggested host, the list has done its job.
        if hosts.hosts.iter().any(|h| h.alias == host.trim()) {
            return;
        }
        let mut picked = None;
        for suggestion in hosts.matching(host).take(8) {
            ui.horizontal(|ui| {
                if ui
                    .small_button(&suggestion.alias)
                    .on_hover_text(format!("From {}", hosts.config.display()))
                    .clicked()
                {
                    picked = Some(suggestion.alias.clone());
                }
                let details = suggestion.details();
                if !details.is_empty() {
                    ui.label(RichText::new(details).weak());
                }
            });
        }
        if let Some(alias) = picked {
            *host = alias;
        }
    });
}

/// `~/x` under `$HOME` (read from the environment: no disk is touched).
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// `600`, `90s`, `10m`, `2h` (empty: no limit).
fn parse_timeout(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let multiplier = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 && multiplier > 0 => Ok(Some(Duration::from_secs(n.saturating_mul(multiplier)))),
        _ => Err(format!(
            "Pending timeout: {text:?} is not a duration (give seconds, or e.g. 90s, 10m, 2h; empty for no limit)"
        )),
    }
}

fn format_timeout(timeout: Duration) -> String {
    let secs = timeout.as_secs();
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

impl Default for PlaceFields {
    fn default() -> Self {
        PlaceFields::new(&Place::Local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::DEFAULT_KEEPALIVE_SECS;

    #[test]
    fn slurm_fields_become_a_job_and_back() {
        let mut fields = PlaceFields::new(&Place::Local);
        fields.runs_on = RunsOn::Slurm;
        fields.srun_on_login = true;
        fields.host = " login1 ".into();
        fields.partition = "gpu".into();
        fields.time_limit = "2:00:00".into();
        fields.cpus = "8".into();
        fields.memory = "32G".into();
        fields.gpus = "gpu:a100:2".into();
        fields.account = "proj42".into();
        fields.extra_args = r#"--qos=high --comment "two words" --x='a b'"#.into();
        fields.pending_timeout = "10m".into();
        let place = fields.place().unwrap();
        let Place::Slurm(job) = &place else { panic!("{place:?}") };
        assert_eq!(job.login.as_ref().map(|l| l.host.as_str()), Some("login1"));
        assert_eq!(job.login.as_ref().unwrap().keepalive_secs, DEFAULT_KEEPALIVE_SECS);
        assert_eq!((job.partition.as_str(), job.time_limit.as_str()), ("gpu", "2:00:00"));
        assert_eq!(job.cpus, Some(8));
        assert_eq!((job.memory.as_str(), job.gpus.as_str()), ("32G", "gpu:a100:2"));
        assert_eq!(job.account, "proj42");
        assert_eq!(job.extra_args, ["--qos=high", "--comment", "two words", "--x=a b"]);
        assert_eq!(job.pending_timeout, Some(Duration::from_secs(600)));
        // Shown again, the same job comes out.
        assert_eq!(PlaceFields::new(&place).place().unwrap(), place);
        // srun here: no login host.
        fields.srun_on_login = false;
        assert!(matches!(
            fields.place().unwrap(),
            Place::Slurm(SlurmJob { login: None, .. })
        ));
    }

    #[test]
    fn unreadable_fields_say_which_and_why() {
        let mut fields = PlaceFields {
            runs_on: RunsOn::Slurm,
            ..PlaceFields::default()
        };
        fields.cpus = "four".into();
        assert_eq!(fields.place().unwrap_err(), "CPUs: \"four\" is not a whole number");
        fields.cpus.clear();
        fields.extra_args = "--comment 'unclosed".into();
        assert!(fields.place().unwrap_err().contains("a quote is not closed"));
        fields.extra_args.clear();
        for bad in ["soon", "0", "5d", "-3"] {
            fields.pending_timeout = bad.into();
            assert!(fields.place().unwrap_err().starts_with("Pending timeout"), "{bad}");
        }
        for (good, secs) in [("45", 45), ("90s", 90), ("10 m", 600), ("2h", 7200)] {
            fields.pending_timeout = good.into();
            assert!(
                matches!(fields.place().unwrap(), Place::Slurm(SlurmJob { pending_timeout: Some(t), .. }) if t.as_secs() == secs),
                "{good}"
            );
        }
        fields.pending_timeout.clear();
        assert!(matches!(
            fields.place().unwrap(),
            Place::Slurm(SlurmJob {
                pending_timeout: None,
                ..
            })
        ));
    }

    #[test]
    fn an_ssh_host_with_its_config_file() {
        let mut fields = PlaceFields::new(&Place::Ssh(SshTarget::new("gpu-box")));
        assert_eq!(fields.runs_on, RunsOn::Ssh);
        assert_eq!(fields.suggestions_config(), None, "the user's own config");
        fields.config_file = "/etc/ssh/other_config".into();
        fields.keepalive_secs = 15;
        assert_eq!(
            fields.place().unwrap(),
            Place::Ssh(SshTarget {
                host: "gpu-box".into(),
                config_file: Some("/etc/ssh/other_config".into()),
                keepalive_secs: 15,
            })
        );
        fields.runs_on = RunsOn::Local;
        assert_eq!(
            fields.place().unwrap(),
            Place::Local,
            "the SSH fields are kept, not used"
        );
        assert_eq!(fields.host, "gpu-box");
    }
}
