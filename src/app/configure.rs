//! The runtime settings of one session, edited in a dialog that refuses
//! what cannot work and says why.

use crate::text::capitalise;
use std::path::PathBuf;
use std::time::Duration;

use super::place_fields::PlaceFields;
use crate::kernels::{Discovered, Environment};
use crate::manager::SessionId;
use crate::remote::ssh_hosts::SshHosts;
use crate::runtime::{RuntimeConfig, RuntimeKind};

pub struct ConfigureDialog {
    session: SessionId,
    base: RuntimeConfig,
    executable: String,
    args: String,
    env: String,
    cwd: String,
    init_timeout: f64,
    /// For an attached runtime: the target node and its cookie.
    attached: Option<(String, String)>,
    /// Where it runs.
    place: PlaceFields,
    /// The interpreter and working directory of the other side (this
    /// computer's while a remote place is chosen, and the other way round):
    /// a local path means nothing on a host, so switching swaps them.
    other_side: (String, String),
    /// Why Apply was refused; cleared as soon as a field changes.
    error: Option<String>,
    /// The fields as last checked, and why the executable would not start
    /// then: checked when they change, not on every frame.
    checked: Option<(String, Option<String>)>,
}

pub enum Outcome {
    Open,
    /// Browse… was clicked: the app asks for a path and hands it back.
    Browse(Browse),
    Cancelled,
    Applied {
        session: SessionId,
        config: Box<RuntimeConfig>,
        /// What the notebook remembers of it (an environment, a kernel).
        choice: Option<crate::kernels::Choice>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browse {
    Interpreter,
    WorkingDir,
    SshConfig,
}

impl ConfigureDialog {
    /// The interpreter chosen with Browse….
    pub fn set_executable(&mut self, path: &std::path::Path) {
        self.executable = path.display().to_string();
    }

    /// The working directory chosen with Browse….
    pub fn set_cwd(&mut self, path: &std::path::Path) {
        self.cwd = path.display().to_string();
    }

    /// The SSH config file chosen with Browse….
    pub fn set_ssh_config(&mut self, path: &std::path::Path) {
        self.place.config_file = path.display().to_string();
    }

    /// The SSH config the host suggestions are read from: `None` for the
    /// user's own.
    pub fn suggestions_config(&self) -> Option<PathBuf> {
        self.place.suggestions_config()
    }

    pub fn new(session: SessionId, config: &RuntimeConfig) -> ConfigureDialog {
        let standalone = config.standalone();
        ConfigureDialog {
            session,
            base: config.clone(),
            executable: standalone.executable.clone().unwrap_or_default(),
            args: standalone.args.join(" "),
            env: standalone.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect(),
            cwd: standalone
                .cwd
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            init_timeout: config.init_timeout.as_secs_f64(),
            attached: match &config.kind {
                RuntimeKind::ElixirAttached(attached) => Some((attached.node.clone(), attached.cookie.clone())),
                _ => None,
            },
            place: PlaceFields::new(&config.place),
            other_side: Default::default(),
            error: None,
            checked: None,
        }
    }

    /// Opens for a new session: `place` chosen already, and the remote
    /// default interpreter rather than this computer's.
    pub fn for_new_remote(session: SessionId, config: &RuntimeConfig) -> ConfigureDialog {
        let mut dialog = ConfigureDialog::new(session, config);
        if !dialog.place.is_remote() {
            dialog.place.runs_on = super::place_fields::RunsOn::Ssh;
        }
        dialog.other_side = (std::mem::take(&mut dialog.executable), std::mem::take(&mut dialog.cwd));
        dialog
    }

    /// Between this computer and a host: the interpreter and working
    /// directory of the side left are kept for a switch back.
    fn switch_side(&mut self) {
        let (executable, cwd) = std::mem::take(&mut self.other_side);
        self.other_side = (
            std::mem::replace(&mut self.executable, executable),
            std::mem::replace(&mut self.cwd, cwd),
        );
    }

    fn fields(&self) -> String {
        format!(
            "{:?}",
            (
                &self.executable,
                &self.args,
                &self.env,
                &self.cwd,
                &self.attached,
                &self.place,
                self.init_timeout
            )
        )
    }

    /// Re-checks after an edit: an old refusal no longer applies.
    fn recheck(&mut self) {
        let fields = self.fields();
        if self.checked.as_ref().is_some_and(|(checked, _)| *checked == fields) {
            return;
        }
        self.error = None;
        self.checked = Some((fields, self.executable_warning()));
    }

    /// The configuration the fields describe, or why they cannot work.
    fn fields_config(&self) -> Result<RuntimeConfig, String> {
        let mut config = self.base.clone();
        let standalone = config.standalone_mut();
        let executable = self.executable.trim();
        standalone.executable = (!executable.is_empty()).then(|| executable.to_string());
        standalone.args = self.args.split_whitespace().map(str::to_string).collect();
        standalone.env = parse_env(&self.env)?;
        let cwd = self.cwd.trim();
        standalone.cwd = (!cwd.is_empty()).then(|| PathBuf::from(cwd));
        if let (RuntimeKind::ElixirAttached(attached), Some((node, cookie))) = (&mut config.kind, &self.attached) {
            attached.node = node.trim().to_string();
            attached.cookie = cookie.trim().to_string();
        }
        config.init_timeout = Duration::try_from_secs_f64(self.init_timeout)
            .map_err(|_| format!("{} is not a valid number of seconds", self.init_timeout))?;
        config.place = self.place.place()?;
        config.validate().map_err(|e| capitalise(&e.to_string()))?;
        Ok(config)
    }

    /// What Apply applies: the fields' configuration, whose executable is
    /// there — a path that exists, or a bare name found in PATH (the
    /// configured one, if the environment sets it).
    pub fn config(&self) -> Result<RuntimeConfig, String> {
        let config = self.fields_config()?;
        match self.executable_warning() {
            Some(error) => Err(error),
            None => Ok(config),
        }
    }

    /// Why the executable will not start as things are, if it will not.
    fn executable_warning(&self) -> Option<String> {
        let config = self.fields_config().ok()?;
        if !config.place.is_local() {
            // A remote interpreter is looked for there, when it starts.
            return None;
        }
        crate::runtime::resolve_executable(config.executable(), config.standalone())
            .err()
            .map(|err| capitalise(&err.to_string()))
    }

    /// The runtimes found on this computer, as choices: the built-in Python
    /// agent on an environment's interpreter, or a Jupyter kernel. Choosing
    /// one sets the kind and the interpreter; the other fields stay.
    fn runtime_choices(&mut self, ui: &mut egui::Ui, found: Option<&Discovered>) {
        if self.place.is_remote() {
            return self.remote_runtime_choices(ui);
        }
        let current = match &self.base.kind {
            RuntimeKind::JupyterKernel(k) => format!("Jupyter kernel: {} ({})", k.spec.display_name, k.spec.name),
            RuntimeKind::PythonStandalone(_) => {
                let executable = self.executable.trim();
                found
                    .and_then(|f| f.environments.iter().find(|e| e.interpreter.as_os_str() == executable))
                    .map(Environment::label)
                    .unwrap_or_else(|| {
                        if executable.is_empty() {
                            "Python (default interpreter)".to_string()
                        } else {
                            format!("Python: {executable}")
                        }
                    })
            }
            _ => self.base.kind_label().to_string(),
        };
        let mut picked: Option<RuntimeConfig> = None;
        let mut picked_executable: Option<String> = None;
        egui::ComboBox::from_id_salt(("runtime-choice", self.session))
            .selected_text(current)
            .width(320.0)
            .show_ui(ui, |ui| {
                if ui.selectable_label(false, "Python (default interpreter)").clicked() {
                    picked = Some(RuntimeConfig::python());
                    picked_executable = Some(String::new());
                }
                let Some(found) = found else {
                    ui.label(egui::RichText::new("Looking for environments and kernels…").weak());
                    return;
                };
                for env in &found.environments {
                    let response = ui
                        .selectable_label(false, env.label())
                        .on_hover_text(env.interpreter.display().to_string());
                    if response.clicked() {
                        picked = Some(RuntimeConfig::python());
                        picked_executable = Some(env.interpreter.display().to_string());
                    }
                }
                if !found.kernels.is_empty() {
                    ui.separator();
                }
                for kernel in &found.kernels {
                    match kernel.ok() {
                        Some(spec) if !kernel.missing_program => {
                            let label = format!("Jupyter kernel: {} ({})", spec.display_name, spec.name);
                            let response = ui
                                .selectable_label(false, label)
                                .on_hover_text(kernel.dir.display().to_string());
                            if response.clicked() {
                                picked = Some(RuntimeConfig::jupyter(spec.clone()));
                                picked_executable = Some(String::new());
                            }
                        }
                        _ => {
                            let why = match &kernel.spec {
                                Ok(spec) => format!("{} not found", spec.argv[0]),
                                Err(err) => err.to_string(),
                            };
                            ui.add_enabled(
                                false,
                                egui::Button::new(format!("Jupyter kernel: {} (broken)", kernel.name)),
                            )
                            .on_disabled_hover_text(why);
                        }
                    }
                }
            });
        if let Some(mut config) = picked {
            // The fields the user set carry over to the new kind.
            config.init_timeout = self.base.init_timeout;
            *config.standalone_mut() = self.base.standalone().clone();
            self.base = config;
            self.attached = None;
            if let Some(executable) = picked_executable {
                self.executable = executable;
            }
        }
    }

    /// On another host, the kinds the remote places start: Python, on the
    /// interpreter named below (looked for there).
    fn remote_runtime_choices(&mut self, ui: &mut egui::Ui) {
        let python = matches!(self.base.kind, RuntimeKind::PythonStandalone(_));
        let current = if python { "Python" } else { self.base.kind_label() };
        let mut picked = false;
        egui::ComboBox::from_id_salt(("runtime-choice", self.session))
            .selected_text(current)
            .width(320.0)
            .show_ui(ui, |ui| {
                picked = ui.selectable_label(python, "Python").clicked();
            });
        if picked && !python {
            let mut config = RuntimeConfig::python();
            config.init_timeout = self.base.init_timeout;
            *config.standalone_mut() = self.base.standalone().clone();
            self.base = config;
        }
    }

    pub fn show(&mut self, ctx: &egui::Context, found: Option<&Discovered>, hosts: Option<&SshHosts>) -> Outcome {
        let mut outcome = Outcome::Open;
        let mut open = true;
        egui::Window::new("Runtime settings")
            .id(egui::Id::unique(("configure", self.session)))
            .open(&mut open)
            .collapsible(false)
            .resizable(true)
            .default_width(460.0)
            .show(ctx, |ui| {
                if matches!(self.base.kind, RuntimeKind::ElixirAttached(_)) {
                    ui.label(self.base.kind_label());
                } else {
                    let was_remote = self.place.is_remote();
                    if self.place.show(ui, self.session, hosts).browse_config {
                        outcome = Outcome::Browse(Browse::SshConfig);
                    }
                    if was_remote != self.place.is_remote() {
                        self.switch_side();
                    }
                    ui.horizontal(|ui| {
                        ui.label("Runtime");
                        self.runtime_choices(ui, found);
                    });
                }
                let remote = self.place.is_remote();
                egui::Grid::new("configure-grid")
                    .num_columns(2)
                    .spacing([10.0, 6.0])
                    .show(ui, |ui| {
                        if let Some((node, cookie)) = &mut self.attached {
                            ui.label("Node");
                            ui.add(
                                egui::TextEdit::singleline(node)
                                    .hint_text("test or test@host")
                                    .desired_width(260.0),
                            );
                            ui.end_row();
                            ui.label("Cookie");
                            ui.add(
                                egui::TextEdit::singleline(cookie)
                                    .hint_text("mycookie")
                                    .desired_width(260.0),
                            );
                            ui.end_row();
                            ui.label("");
                            ui.label(
                                egui::RichText::new("Start your node with: iex --sname test --cookie mycookie -S mix")
                                    .weak(),
                            );
                            ui.end_row();
                        }
                        ui.label(if remote { "Remote interpreter" } else { "Executable" });
                        ui.horizontal(|ui| {
                            ui.add(
                                egui::TextEdit::singleline(&mut self.executable)
                                    .hint_text(self.base.default_executable())
                                    .desired_width(260.0),
                            );
                            // A file dialog shows this computer's files, not the host's.
                            if !remote && ui.button("Browse…").clicked() {
                                outcome = Outcome::Browse(Browse::Interpreter);
                            }
                        });
                        ui.end_row();
                        ui.label("Extra arguments");
                        ui.add(
                            egui::TextEdit::singleline(&mut self.args)
                                .hint_text("e.g. -X dev")
                                .desired_width(320.0),
                        );
                        ui.end_row();
                        ui.label("Environment");
                        ui.add(
                            egui::TextEdit::multiline(&mut self.env)
                                .hint_text("NAME=value, one per line")
                                .desired_rows(3)
                                .desired_width(320.0),
                        );
                        ui.end_row();
                        ui.label(if remote {
                            "Remote working directory"
                        } else {
                            "Working directory"
                        });
                        ui.horizontal(|ui| {
                            ui.add(
                                egui::TextEdit::singleline(&mut self.cwd)
                                    .hint_text(if remote { "the login directory" } else { "the app's" })
                                    .desired_width(260.0),
                            );
                            if !remote && ui.button("Browse…").clicked() {
                                outcome = Outcome::Browse(Browse::WorkingDir);
                            }
                        });
                        ui.end_row();
                        ui.label("Init timeout");
                        ui.add(
                            egui::DragValue::new(&mut self.init_timeout)
                                .range(0.5..=600.0)
                                .speed(0.5)
                                .suffix(" s"),
                        );
                        ui.end_row();
                    });
                self.recheck();
                ui.label(egui::RichText::new("Changes apply at the next connect.").weak());
                // Above the messages, so that a message appearing never moves them.
                ui.horizontal(|ui| {
                    if ui.button("Apply").clicked() {
                        match self.config() {
                            Ok(config) => {
                                outcome = Outcome::Applied {
                                    session: self.session,
                                    choice: super::runtimes::choice_of(&config, found),
                                    config: Box::new(config),
                                }
                            }
                            Err(error) => self.error = Some(error),
                        }
                    }
                    if ui.button("Cancel").clicked() {
                        outcome = Outcome::Cancelled;
                    }
                });
                let warning = self.checked.as_ref().and_then(|(_, warning)| warning.clone());
                if let Some(error) = &self.error {
                    ui.colored_label(super::style::ERROR_TEXT, error);
                } else if let Some(warning) = warning {
                    ui.colored_label(super::style::WARNING_TEXT, warning);
                }
            });
        if !open {
            outcome = Outcome::Cancelled;
        }
        outcome
    }
}

fn parse_env(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut env = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!(
                "Environment line {}: expected NAME=value, got {line:?}",
                number + 1
            ));
        };
        env.push((name.trim().to_string(), value.to_string()));
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::place_fields::RunsOn;
    use crate::remote::{Place, SshTarget};
    use crate::runtime::RuntimeKind;

    fn dialog() -> ConfigureDialog {
        ConfigureDialog::new(SessionId(1), &RuntimeConfig::python())
    }

    #[test]
    fn reads_the_fields_into_a_config() {
        let mut d = dialog();
        d.args = "-X dev  -B".into();
        d.env = "A=1\n\n# comment\nB = two=2\n".into();
        d.init_timeout = 2.5;
        let config = d.config().unwrap();
        assert_eq!(config.standalone().args, ["-X", "dev", "-B"]);
        assert_eq!(
            config.standalone().env,
            [("A".into(), "1".into()), ("B".into(), " two=2".into())]
        );
        assert_eq!(config.init_timeout, Duration::from_millis(2500));
        assert_eq!(config.executable(), "python3");
    }

    #[test]
    fn an_attached_runtime_needs_a_node_and_a_cookie() {
        let mut d = ConfigureDialog::new(SessionId(1), &RuntimeConfig::elixir_attached("", ""));
        assert!(d.config().is_err(), "an empty node is refused");
        d.attached = Some((" test@host ".into(), "secret".into()));
        match d.config().unwrap().kind {
            RuntimeKind::ElixirAttached(attached) => {
                assert_eq!(attached.node, "test@host");
                assert_eq!(attached.cookie, "secret");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_remote_place_takes_a_remote_interpreter_unchecked_here() {
        let mut d = dialog();
        d.executable = "/usr/bin/python3".into();
        d.cwd = "/tmp".into();
        d.place.runs_on = RunsOn::Ssh;
        d.switch_side();
        assert_eq!(
            (d.executable.as_str(), d.cwd.as_str()),
            ("", ""),
            "this computer's paths are kept aside"
        );
        assert!(
            d.config().unwrap_err().contains("is not an SSH host"),
            "the place is validated"
        );
        d.place.host = "gpu-box".into();
        d.executable = "/opt/conda/bin/python3".into();
        d.cwd = "/scratch/me".into();
        let config = d.config().expect("neither path exists here, and need not");
        assert_eq!(config.place, Place::Ssh(SshTarget::new("gpu-box")));
        assert_eq!(config.executable(), "/opt/conda/bin/python3");
        assert_eq!(
            config.standalone().cwd.as_deref(),
            Some(std::path::Path::new("/scratch/me"))
        );
        // Back here, the local ones return.
        d.place.runs_on = RunsOn::Local;
        d.switch_side();
        assert_eq!(d.config().unwrap().executable(), "/usr/bin/python3");
        assert_eq!(d.config().unwrap().place, Place::Local);
    }

    #[test]
    fn only_python_runs_remotely_and_a_new_remote_session_starts_on_ssh() {
        let mut d = ConfigureDialog::new(SessionId(1), &RuntimeConfig::elixir());
        d.place.runs_on = RunsOn::Slurm;
        assert!(d.config().unwrap_err().contains("runs on this machine only"));
        let d = ConfigureDialog::for_new_remote(SessionId(2), &RuntimeConfig::python().with_executable("/x/python"));
        assert_eq!(d.place.runs_on, RunsOn::Ssh);
        assert_eq!(d.executable, "", "the remote default, python3");
    }

    #[test]
    fn refuses_invalid_settings_with_the_reason() {
        let mut d = dialog();
        d.env = "JUSTANAME\n".into();
        assert_eq!(
            d.config().unwrap_err(),
            "Environment line 1: expected NAME=value, got \"JUSTANAME\""
        );
        d.env.clear();
        d.cwd = "/no/such/dir".into();
        assert!(d.config().unwrap_err().contains("/no/such/dir"));
        d.cwd.clear();
        d.executable = "/no/such/python".into();
        assert_eq!(d.config().unwrap_err(), "/no/such/python does not exist");
    }
}
