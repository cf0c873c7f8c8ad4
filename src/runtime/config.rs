use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(2);

/// Everything needed to start (or restart) a session's runtime node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    pub kind: RuntimeKind,
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

    pub fn new(kind: RuntimeKind) -> Self {
        RuntimeConfig {
            kind,
            init_timeout: DEFAULT_INIT_TIMEOUT,
            stop_grace: DEFAULT_STOP_GRACE,
        }
    }

    pub fn with_executable(mut self, executable: impl Into<String>) -> Self {
        self.standalone_mut().executable = Some(executable.into());
        self
    }

    pub fn with_init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    pub fn standalone(&self) -> &StandaloneConfig {
        match &self.kind {
            RuntimeKind::PythonStandalone(c) => c,
        }
    }

    pub fn standalone_mut(&mut self) -> &mut StandaloneConfig {
        match &mut self.kind {
            RuntimeKind::PythonStandalone(c) => c,
        }
    }

    /// The executable used when none is configured.
    pub fn default_executable(&self) -> &'static str {
        match self.kind {
            RuntimeKind::PythonStandalone(_) => "python3",
        }
    }

    /// The configured executable, or the kind's default.
    pub fn executable(&self) -> &str {
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
        }
    }

    pub fn language(&self) -> &'static str {
        match self.kind {
            RuntimeKind::PythonStandalone(_) => "python",
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
        if let Some(cwd) = &standalone.cwd
            && !cwd.is_dir()
        {
            return Err(ConfigError::WorkingDirectory(cwd.clone()));
        }
        Ok(())
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
    fn round_trips_through_json() {
        let mut config = RuntimeConfig::python().with_executable("python3.12");
        config.standalone_mut().env.push(("PYTHONHASHSEED".into(), "0".into()));
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<RuntimeConfig>(&json).unwrap(), config);
    }
}
