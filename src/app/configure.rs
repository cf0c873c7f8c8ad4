//! The runtime settings of one session, edited in a dialog that refuses
//! what cannot work and says why.

use crate::text::capitalise;
use std::path::PathBuf;
use std::time::Duration;

use crate::kernels::{Discovered, Environment};
use crate::manager::SessionId;
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
            error: None,
            checked: None,
        }
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
        crate::runtime::resolve_executable(config.executable(), config.standalone())
            .err()
            .map(|err| capitalise(&err.to_string()))
    }

    /// The runtimes found on this computer, as choices: the built-in Python
    /// agent on an environment's interpreter, or a Jupyter kernel. Choosing
    /// one sets the kind and the interpreter; the other fields stay.
    fn runtime_choices(&mut self, ui: &mut egui::Ui, found: Option<&Discovered>) {
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

    pub fn show(&mut self, ctx: &egui::Context, found: Option<&Discovered>) -> Outcome {
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
                    ui.horizontal(|ui| {
                        ui.label("Runtime");
                        self.runtime_choices(ui, found);
                    });
                }
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
                        ui.label("Executable");
                        ui.horizontal(|ui| {
                            ui.add(
                                egui::TextEdit::singleline(&mut self.executable)
                                    .hint_text(self.base.default_executable())
                                    .desired_width(260.0),
                            );
                            if ui.button("Browse…").clicked() {
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
                        ui.label("Working directory");
                        ui.horizontal(|ui| {
                            ui.add(
                                egui::TextEdit::singleline(&mut self.cwd)
                                    .hint_text("the app's")
                                    .desired_width(260.0),
                            );
                            if ui.button("Browse…").clicked() {
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
