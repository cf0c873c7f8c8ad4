//! Settings kept between runs, and where Runyard keeps its files.
//!
//! The file is JSON in the platform's config directory. One that cannot be
//! read is kept as a backup (never overwritten) and replaced by defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::runtime::RuntimeConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Light,
    Dark,
    #[default]
    System,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The Python interpreter new sessions use (`None`: `python3` from PATH).
    pub default_python: Option<String>,
    /// Seconds a runtime may take to start.
    pub default_init_timeout: f64,
    pub theme: Theme,
    /// The window's inner size in points, as it was at exit.
    pub window_size: Option<[f32; 2]>,
    /// Notebook files opened or saved lately, the latest first.
    pub recent_files: Vec<std::path::PathBuf>,
    /// Rows of a table a runtime sends (the total count comes with them).
    pub table_rows: u32,
    /// Largest output a runtime sends, in MiB; a larger one becomes a note.
    pub max_output_mib: u32,
    /// Evaluating a cell first evaluates the cells above it that are not up
    /// to date (Livebook); off, only the cell runs (Jupyter).
    pub evaluate_above: bool,
}

/// The range of "Table rows sent": at least one row; at most what a table
/// view stays quick with (rows are parsed and sorted in the window).
pub const TABLE_ROWS: std::ops::RangeInclusive<u32> = 1..=100_000;
/// The range of "Largest output (MiB)": up to the protocol's own limit on a message.
pub const OUTPUT_MIB: std::ops::RangeInclusive<u32> = 1..=(crate::protocol::MAX_OUTPUT_BYTES / (1024 * 1024)) as u32;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_python: None,
            default_init_timeout: crate::runtime::DEFAULT_INIT_TIMEOUT.as_secs_f64(),
            theme: Theme::System,
            window_size: None,
            recent_files: Vec::new(),
            table_rows: crate::protocol::DEFAULT_TABLE_ROWS,
            max_output_mib: (crate::protocol::DEFAULT_OUTPUT_BYTES / (1024 * 1024)) as u32,
            evaluate_above: true,
        }
    }
}

impl Settings {
    /// Brings the output settings into their ranges; says what changed and
    /// why (a file edited by hand, or written by another version).
    pub fn validate(&mut self) -> Option<String> {
        let mut reasons = Vec::new();
        if !TABLE_ROWS.contains(&self.table_rows) {
            let fixed = self.table_rows.clamp(*TABLE_ROWS.start(), *TABLE_ROWS.end());
            reasons.push(format!(
                "\"Table rows sent\" was {}, now {fixed}: between {} and {} rows keep a table quick to show",
                self.table_rows,
                TABLE_ROWS.start(),
                TABLE_ROWS.end()
            ));
            self.table_rows = fixed;
        }
        if !OUTPUT_MIB.contains(&self.max_output_mib) {
            let fixed = self.max_output_mib.clamp(*OUTPUT_MIB.start(), *OUTPUT_MIB.end());
            reasons.push(format!(
                "\"Largest output\" was {} MiB, now {fixed} MiB: the protocol carries at most {} MiB in one message",
                self.max_output_mib,
                OUTPUT_MIB.end()
            ));
            self.max_output_mib = fixed;
        }
        (!reasons.is_empty()).then(|| format!("Settings changed: {}.", reasons.join("; ")))
    }

    /// How runtimes display values for a window `width` characters wide.
    pub fn display_options(&self, width: u32) -> crate::protocol::DisplayOptions {
        crate::protocol::DisplayOptions {
            width: width.clamp(40, 400),
            table_rows: self.table_rows.clamp(*TABLE_ROWS.start(), *TABLE_ROWS.end()),
            max_output_bytes: u64::from(self.max_output_mib.clamp(*OUTPUT_MIB.start(), *OUTPUT_MIB.end()))
                * 1024
                * 1024,
        }
    }

    /// A runtime configuration with the default init timeout applied.
    pub fn with_defaults(&self, mut config: RuntimeConfig) -> RuntimeConfig {
        if let Some(timeout) = self.init_timeout() {
            config.init_timeout = timeout;
        }
        config
    }

    fn init_timeout(&self) -> Option<std::time::Duration> {
        std::time::Duration::try_from_secs_f64(self.default_init_timeout)
            .ok()
            .filter(|t| !t.is_zero())
    }

    /// The runtime settings a new Python session starts with.
    pub fn python_config(&self) -> RuntimeConfig {
        let mut config = RuntimeConfig::python();
        config.standalone_mut().executable = self.default_python.clone().filter(|p| !p.trim().is_empty());
        self.with_defaults(config)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the settings file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "the settings file {} is not valid ({reason}); it was kept as {} and the defaults are used",
        path.display(),
        backup.display()
    )]
    Invalid {
        path: PathBuf,
        backup: PathBuf,
        reason: String,
    },
    #[error("cannot save the settings to {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// Where settings, logs and caches live. Tests point it at a temporary folder.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Dirs {
    /// The platform's directories (`~/.config/runyard`, `~/.local/share/runyard`
    /// on Linux), or `RUNYARD_HOME/{config,data}` when that is set.
    pub fn platform() -> Dirs {
        if let Some(home) = std::env::var_os("RUNYARD_HOME") {
            return Dirs::under(Path::new(&home));
        }
        match directories::ProjectDirs::from("", "", "runyard") {
            Some(dirs) => Dirs {
                config: dirs.config_dir().to_path_buf(),
                data: dirs.data_dir().to_path_buf(),
            },
            None => Dirs::under(&std::env::temp_dir().join("runyard")),
        }
    }

    pub fn under(root: &Path) -> Dirs {
        Dirs {
            config: root.join("config"),
            data: root.join("data"),
        }
    }

    pub fn settings_file(&self) -> PathBuf {
        self.config.join("settings.json")
    }

    pub fn log_file(&self) -> PathBuf {
        self.data.join("logs").join("runyard.log")
    }

    /// Creates the config and data folders 0700 (narrowing older 0755 ones)
    /// and removes temporaries of saves that died there. Called at start.
    pub fn prepare(&self) -> std::io::Result<()> {
        for dir in [&self.config, &self.data] {
            crate::fsutil::private_dir(dir)?;
            crate::notebook::atomic::remove_stale_temporaries_in(dir);
        }
        Ok(())
    }
}

/// Loads the settings. A missing file gives the defaults; an invalid one is
/// renamed to a backup first, and the error says so (to be shown once).
pub fn load(path: &Path) -> (Settings, Option<SettingsError>) {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return (Settings::default(), None),
        Err(source) => {
            let error = SettingsError::Read {
                path: path.into(),
                source,
            };
            return (Settings::default(), Some(error));
        }
    };
    match serde_json::from_slice::<Settings>(&text) {
        Ok(settings) => (settings, None),
        Err(err) => {
            let backup = backup_path(path);
            let reason = err.to_string();
            let error = match std::fs::rename(path, &backup) {
                Ok(()) => SettingsError::Invalid {
                    path: path.into(),
                    backup,
                    reason,
                },
                Err(source) => SettingsError::Read {
                    path: path.into(),
                    source,
                },
            };
            (Settings::default(), Some(error))
        }
    }
}

fn backup_path(path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    path.with_extension(format!("json.unreadable-{stamp}"))
}

/// Saves atomically: a temporary file in the same folder, then a rename.
/// The file is 0600 in a 0700 folder (it names the user's notebooks).
pub fn save(path: &Path, settings: &Settings) -> Result<(), SettingsError> {
    let json = serde_json::to_vec_pretty(settings).expect("settings always serialise");
    crate::notebook::atomic::write_private(path, &json).map_err(|source| SettingsError::Write {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_missing_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = Dirs::under(dir.path()).settings_file();
        let (settings, error) = load(&path);
        assert_eq!(settings, Settings::default());
        assert!(error.is_none());
        let changed = Settings {
            theme: Theme::Dark,
            default_python: Some("/opt/python3.12".into()),
            window_size: Some([800.0, 600.0]),
            ..Settings::default()
        };
        save(&path, &changed).unwrap();
        let (loaded, error) = load(&path);
        assert!(error.is_none());
        assert_eq!(loaded, changed);
    }

    #[test]
    fn an_unreadable_file_is_kept_as_a_backup_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{ \"theme\": \"purple\" ").unwrap();
        let (settings, error) = load(&path);
        assert_eq!(settings, Settings::default());
        let error = error.expect("reported");
        let SettingsError::Invalid { backup, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(std::fs::read(backup).unwrap(), b"{ \"theme\": \"purple\" ");
        assert!(!path.exists(), "the bad file was moved, not overwritten");
        assert!(error.to_string().contains("kept as"));
    }

    #[test]
    fn unknown_keys_and_missing_keys_are_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, br#"{"theme":"light","from_the_future":1}"#).unwrap();
        let (settings, error) = load(&path);
        assert!(error.is_none());
        assert_eq!(settings.theme, Theme::Light);
        assert_eq!(settings.default_init_timeout, 10.0);
    }

    #[test]
    fn the_python_config_follows_the_settings() {
        let settings = Settings {
            default_python: Some("python3.12".into()),
            default_init_timeout: 3.5,
            ..Settings::default()
        };
        let config = settings.python_config();
        assert_eq!(config.executable(), "python3.12");
        assert_eq!(config.init_timeout, std::time::Duration::from_millis(3500));
    }

    #[test]
    fn output_settings_are_used_and_kept_in_range_with_a_reason() {
        let settings = Settings::default();
        let options = settings.display_options(120);
        assert_eq!(options.table_rows, 1000);
        assert_eq!(options.max_output_bytes, 20 * 1024 * 1024);
        assert_eq!(options.width, 120);
        assert_eq!(settings.display_options(5).width, 40);
        let mut odd = Settings {
            table_rows: 0,
            max_output_mib: 500,
            ..Settings::default()
        };
        let why = odd.validate().expect("a reason");
        assert!(why.contains("Table rows sent") && why.contains("32 MiB"), "{why}");
        assert_eq!((odd.table_rows, odd.max_output_mib), (1, 32));
        assert_eq!(
            odd.display_options(100).max_output_bytes,
            crate::protocol::MAX_OUTPUT_BYTES
        );
        assert!(Settings::default().clone().validate().is_none());
    }
}
