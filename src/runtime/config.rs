use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::remote::Place;

pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(2);

/// Everything needed to start (or restart) a session's runtime node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    pub kind: RuntimeKind,
    /// Where it runs: here, on an SSH host, or as a Slurm job step.
    #[serde(default)]
    pub place: Place,
    /// How long the agent may take to say hello.
    #[serde(with = "secs_f64")]
    pub init_timeout: Duration,
    /// How long a stopping runtime may take before its process group is killed.
    #[serde(with = "secs_f64")]
    pub stop_grace: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuntimeKind {
    /// A `python3` child process started for the session.
    PythonStandalone(StandaloneConfig),
    /// An `elixir` node started for the session (Livebook's standalone runtime).
    ElixirStandalone(StandaloneConfig),
    /// A node the user already runs, joined through a small local bridge node
    /// (Livebook's attached runtime). Code is evaluated on that node.
    ElixirAttached(AttachedConfig),
    /// A Jupyter kernel started from its kernelspec (`argv` with
    /// `{connection_file}`), spoken to over ZeroMQ. Boxed: a kernelspec is
    /// large, and configurations travel by value in messages.
    JupyterKernel(Box<KernelConfig>),
}

/// Which kernel to start, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelConfig {
    pub spec: crate::kernels::KernelSpec,
    /// Extra environment and the working directory (`executable` and `args`
    /// are not used: the kernelspec's `argv` says what to run).
    #[serde(default)]
    pub standalone: StandaloneConfig,
}

/// Which running node to attach to. Start one with, for example,
/// `iex --sname test --cookie mycookie -S mix`, then enter `test` (or
/// `test@<host>`) and `mycookie`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachedConfig {
    /// `name@host`, or just `name` for a node on this host.
    pub node: String,
    /// The target node's cookie.
    pub cookie: String,
    /// How to start the local bridge node.
    pub elixir: StandaloneConfig,
}

/// How to start an interpreter as a child process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StandaloneConfig {
    /// A name looked up in `PATH`, or a path; `None` means the kind's default.
    pub executable: Option<String>,
    /// Extra arguments for the interpreter, before the agent's own.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory; `None` inherits the app's.
    pub cwd: Option<PathBuf>,
}

impl RuntimeConfig {
    pub fn python() -> Self {
        Self::new(RuntimeKind::PythonStandalone(StandaloneConfig::default()))
    }

    pub fn elixir() -> Self {
        Self::new(RuntimeKind::ElixirStandalone(StandaloneConfig::default()))
    }

    /// Starts the kernel of `spec`.
    pub fn jupyter(spec: crate::kernels::KernelSpec) -> Self {
        Self::new(RuntimeKind::JupyterKernel(Box::new(KernelConfig {
            spec,
            standalone: StandaloneConfig::default(),
        })))
    }

    /// Attaches to the running node `node` (`name@host` or `name`) with its `cookie`.
    pub fn elixir_attached(node: impl Into<String>, cookie: impl Into<String>) -> Self {
        Self::new(RuntimeKind::ElixirAttached(AttachedConfig {
            node: node.into(),
            cookie: cookie.into(),
            elixir: StandaloneConfig::default(),
        }))
    }

    pub fn new(kind: RuntimeKind) -> Self {
        RuntimeConfig {
            kind,
            place: Place::Local,
            init_timeout: DEFAULT_INIT_TIMEOUT,
            stop_grace: DEFAULT_STOP_GRACE,
        }
    }

    pub fn with_executable(mut self, executable: impl Into<String>) -> Self {
        self.standalone_mut().executable = Some(executable.into());
        self
    }

    /// The same runtime, started at `place`.
    pub fn on(mut self, place: Place) -> Self {
        self.place = place;
        self
    }

    pub fn with_init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    /// How the child process is started (for an attached runtime: its bridge node).
    pub fn standalone(&self) -> &StandaloneConfig {
        match &self.kind {
            RuntimeKind::PythonStandalone(c) | RuntimeKind::ElixirStandalone(c) => c,
            RuntimeKind::ElixirAttached(a) => &a.elixir,
            RuntimeKind::JupyterKernel(k) => &k.standalone,
        }
    }

    pub fn standalone_mut(&mut self) -> &mut StandaloneConfig {
        match &mut self.kind {
            RuntimeKind::PythonStandalone(c) | RuntimeKind::ElixirStandalone(c) => c,
            RuntimeKind::ElixirAttached(a) => &mut a.elixir,
            RuntimeKind::JupyterKernel(k) => &mut k.standalone,
        }
    }

    /// The executable used when none is configured (a kernel: its `argv[0]`).
    pub fn default_executable(&self) -> &str {
        match &self.kind {
            RuntimeKind::PythonStandalone(_) => "python3",
            RuntimeKind::ElixirStandalone(_) | RuntimeKind::ElixirAttached(_) => "elixir",
            RuntimeKind::JupyterKernel(k) => k.spec.argv.first().map(String::as_str).unwrap_or(""),
        }
    }

    /// The configured executable, or the kind's default.
    pub fn executable(&self) -> &str {
        if matches!(self.kind, RuntimeKind::JupyterKernel(_)) {
            return self.default_executable();
        }
        self.standalone()
            .executable
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| self.default_executable())
    }

    /// Short human name of the kind, as the UI lists it.
    pub fn kind_label(&self) -> &'static str {
        match self.kind {
            RuntimeKind::PythonStandalone(_) => "Python (standalone)",
            RuntimeKind::ElixirStandalone(_) => "Elixir (standalone)",
            RuntimeKind::ElixirAttached(_) => "Elixir (attached)",
            RuntimeKind::JupyterKernel(_) => "Jupyter kernel",
        }
    }

    pub fn language(&self) -> &str {
        match &self.kind {
            RuntimeKind::PythonStandalone(_) => "python",
            RuntimeKind::ElixirStandalone(_) | RuntimeKind::ElixirAttached(_) => "elixir",
            RuntimeKind::JupyterKernel(k) => &k.spec.language,
        }
    }

    /// Checks what can be checked without starting anything.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.init_timeout.is_zero() || self.init_timeout > Duration::from_secs(600) {
            return Err(ConfigError::InitTimeout(self.init_timeout.as_secs_f64()));
        }
        let standalone = self.standalone();
        for (name, _) in &standalone.env {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(ConfigError::EnvName(name.clone()));
            }
        }
        self.place.validate()?;
        if !self.place.is_local() && !matches!(self.kind, RuntimeKind::PythonStandalone(_)) {
            return Err(ConfigError::NotRemote(self.kind_label().to_string()));
        }
        // A remote working directory is checked where it is.
        if let Some(cwd) = &standalone.cwd
            && self.place.is_local()
            && !cwd.is_dir()
        {
            return Err(ConfigError::WorkingDirectory(cwd.clone()));
        }
        if let RuntimeKind::ElixirAttached(attached) = &self.kind {
            validate_node(&attached.node)?;
            if attached.cookie.trim().is_empty() {
                return Err(ConfigError::EmptyCookie);
            }
        }
        Ok(())
    }
}

/// A node name as Erlang takes it: `name` or `name@host`, both parts
/// non-empty, no whitespace (it becomes an atom and an argv element).
fn validate_node(node: &str) -> Result<(), ConfigError> {
    let bad = || Err(ConfigError::NodeName(node.to_string()));
    if node.is_empty() || node.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    match node.split_once('@') {
        None => Ok(()),
        Some((name, host)) if !name.is_empty() && !host.is_empty() && !host.contains('@') => Ok(()),
        Some(_) => bad(),
    }
}

mod secs_f64 {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_python3_from_path() {
        let config = RuntimeConfig::python();
        assert_eq!(config.executable(), "python3");
        assert_eq!(config.clone().with_executable("  ").executable(), "python3");
        assert_eq!(
            config.with_executable("/opt/py/bin/python").executable(),
            "/opt/py/bin/python"
        );
    }

    #[test]
    fn refuses_invalid_settings_with_the_reason() {
        let mut config = RuntimeConfig::python().with_init_timeout(Duration::ZERO);
        assert!(matches!(config.validate(), Err(ConfigError::InitTimeout(_))));
        config.init_timeout = Duration::from_secs(5);
        config.standalone_mut().env.push(("A=B".into(), "x".into()));
        assert!(matches!(config.validate(), Err(ConfigError::EnvName(_))));
        config.standalone_mut().env.clear();
        config.standalone_mut().cwd = Some("/definitely/not/here".into());
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("/definitely/not/here")
        );
    }

    #[test]
    fn elixir_kinds_default_to_elixir_from_path() {
        let standalone = RuntimeConfig::elixir();
        assert_eq!(standalone.executable(), "elixir");
        assert_eq!(standalone.language(), "elixir");
        assert_eq!(standalone.kind_label(), "Elixir (standalone)");
        let attached = RuntimeConfig::elixir_attached("app@host", "secret").with_executable("/opt/elixir/bin/elixir");
        assert_eq!(attached.executable(), "/opt/elixir/bin/elixir");
        assert_eq!(
            attached.standalone().executable.as_deref(),
            Some("/opt/elixir/bin/elixir"),
            "an attached runtime's executable is its bridge's"
        );
        assert_eq!(attached.kind_label(), "Elixir (attached)");
        assert_eq!(attached.validate(), Ok(()));
    }

    #[test]
    fn an_attached_node_needs_a_valid_name_and_a_cookie() {
        for good in ["app", "app@host", "app@host.example.com", "my_app-1@127.0.0.1"] {
            assert_eq!(RuntimeConfig::elixir_attached(good, "c").validate(), Ok(()), "{good}");
        }
        for bad in ["", "my app@host", "app@", "@host", "a@b@c", "app\n"] {
            let error = RuntimeConfig::elixir_attached(bad, "c").validate().unwrap_err();
            assert!(matches!(error, ConfigError::NodeName(_)), "{bad:?}: {error:?}");
            assert!(
                error.to_string().contains("iex --sname test --cookie mycookie -S mix"),
                "{error}"
            );
        }
        let error = RuntimeConfig::elixir_attached("app@host", " ").validate().unwrap_err();
        assert_eq!(error, ConfigError::EmptyCookie);
    }

    #[test]
    fn round_trips_through_json() {
        let mut config = RuntimeConfig::python().with_executable("python3.12");
        config.standalone_mut().env.push(("PYTHONHASHSEED".into(), "0".into()));
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<RuntimeConfig>(&json).unwrap(), config);
        for config in [
            RuntimeConfig::elixir(),
            RuntimeConfig::elixir_attached("app@host", "secret"),
        ] {
            let json = serde_json::to_string(&config).unwrap();
            assert_eq!(serde_json::from_str::<RuntimeConfig>(&json).unwrap(), config, "{json}");
        }
    }
}
