//! Secrets kept between runs (an attached node's cookie), out of the files
//! Runyard writes (`sessions.json`, autosave manifests).
//!
//! They go to the platform's secret store through `keyring`: the Secret
//! Service (GNOME Keyring, KWallet) over D-Bus, the macOS Keychain, the
//! Windows Credential Manager. Where there is none (no session bus, a
//! locked-down or headless machine), the fallback is a 0600 file in the 0700
//! data folder — the protection Erlang itself gives `~/.erlang.cookie` — and
//! it is said where and why: once in the log and once in the window. Not
//! persisting the cookie at all was the other choice; it would make every
//! restart of an attached session ask for it again, which users answer by
//! pasting it somewhere less safe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The service name entries are filed under in the platform's store.
pub const SERVICE: &str = "runyard";

/// Set to `file` to use the fallback file even where a secret store exists
/// (for machines whose store prompts or misbehaves).
pub const STORE_ENV: &str = "RUNYARD_SECRET_STORE";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the system's secret store failed: {0}")]
    Keyring(#[from] keyring::Error),
    #[error("cannot read the secrets file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the secrets file {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the secrets file {} is not valid ({reason}); it was left as it is", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// Where secrets are kept, decided on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The platform's secret store.
    Platform,
    /// A 0600 file, and why the platform's store is not used.
    File { path: PathBuf, reason: String },
}

impl Backend {
    /// Where the secrets are, in words for the user.
    pub fn describe(&self) -> String {
        match self {
            Backend::Platform => "the system's secret store".into(),
            Backend::File { path, reason } => format!(
                "{} (readable only by you, 0600), because the system's secret store is not available: {reason}",
                path.display()
            ),
        }
    }
}

/// The secrets of one Runyard. Cheap to create: the platform's store is
/// probed only when a secret is first stored or read, so sessions without
/// secrets never wait on D-Bus.
#[derive(Debug)]
pub struct SecretStore {
    file: PathBuf,
    backend: OnceLock<Backend>,
}

impl SecretStore {
    /// A store whose fallback file is `<data dir>/secrets.json`.
    pub fn new(data_dir: &Path) -> SecretStore {
        SecretStore {
            file: data_dir.join("secrets.json"),
            backend: OnceLock::new(),
        }
    }

    /// The backend, probing the platform's store the first time.
    pub fn backend(&self) -> &Backend {
        self.backend.get_or_init(|| {
            let backend = match probe() {
                Ok(()) => Backend::Platform,
                Err(reason) => Backend::File {
                    path: self.file.clone(),
                    reason,
                },
            };
            match &backend {
                Backend::Platform => tracing::info!("secrets are kept in the system's secret store"),
                Backend::File { .. } => tracing::warn!("secrets are kept in {}", backend.describe()),
            }
            backend
        })
    }

    pub fn set(&self, key: &str, secret: &str) -> Result<(), SecretError> {
        match self.backend() {
            Backend::Platform => Ok(keyring::Entry::new(SERVICE, key)?.set_password(secret)?),
            Backend::File { path, .. } => {
                let mut all = read_file(path)?;
                if all.get(key).map(String::as_str) == Some(secret) {
                    return Ok(());
                }
                all.insert(key.into(), secret.into());
                write_file(path, &all)
            }
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        match self.backend() {
            Backend::Platform => match keyring::Entry::new(SERVICE, key)?.get_password() {
                Ok(secret) => Ok(Some(secret)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(err) => Err(err.into()),
            },
            Backend::File { path, .. } => Ok(read_file(path)?.remove(key)),
        }
    }

    pub fn delete(&self, key: &str) -> Result<(), SecretError> {
        match self.backend() {
            Backend::Platform => match keyring::Entry::new(SERVICE, key)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(err) => Err(err.into()),
            },
            Backend::File { path, .. } => {
                let mut all = read_file(path)?;
                if all.remove(key).is_some() {
                    write_file(path, &all)?;
                }
                Ok(())
            }
        }
    }
}

/// Whether the platform's store answers: a lookup of an entry that need not
/// exist either finds it or says there is none; anything else (no D-Bus, no
/// Secret Service, a locked store that refuses) means it cannot be used.
fn probe() -> Result<(), String> {
    if std::env::var(STORE_ENV).is_ok_and(|v| v == "file") {
        return Err(format!("{STORE_ENV}=file is set"));
    }
    let entry = keyring::Entry::new(SERVICE, "probe").map_err(|e| e.to_string())?;
    match entry.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(err) => Err(err.to_string()),
    }
}

fn read_file(path: &Path) -> Result<BTreeMap<String, String>, SecretError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| SecretError::Invalid {
            path: path.into(),
            reason: err.to_string(),
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(SecretError::Read {
            path: path.into(),
            source,
        }),
    }
}

fn write_file(path: &Path, all: &BTreeMap<String, String>) -> Result<(), SecretError> {
    let bytes = serde_json::to_vec_pretty(all).expect("strings serialise");
    crate::notebook::atomic::write_private(path, &bytes).map_err(|source| SecretError::Write {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file_store(dir: &Path) -> SecretStore {
        let store = SecretStore::new(dir);
        store
            .backend
            .set(Backend::File {
                path: store.file.clone(),
                reason: "test".into(),
            })
            .unwrap();
        store
    }

    #[test]
    fn the_fallback_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(&dir.path().join("data"));
        assert_eq!(store.get("k").unwrap(), None);
        store.set("k", "s3cret").unwrap();
        store.set("other", "x").unwrap();
        assert_eq!(store.get("k").unwrap().as_deref(), Some("s3cret"));
        let file = dir.path().join("data/secrets.json");
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        store.delete("k").unwrap();
        assert_eq!(store.get("k").unwrap(), None);
        assert_eq!(store.get("other").unwrap().as_deref(), Some("x"));
        assert!(store.backend().describe().contains("0600"));
    }

    #[test]
    fn an_unreadable_secrets_file_is_reported_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path());
        std::fs::write(dir.path().join("secrets.json"), b"{not json").unwrap();
        assert!(matches!(store.set("k", "v"), Err(SecretError::Invalid { .. })));
        assert_eq!(std::fs::read(dir.path().join("secrets.json")).unwrap(), b"{not json");
    }
}
