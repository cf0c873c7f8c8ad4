//! Runtime kinds and how a runtime node is started: configuration, the
//! command line of each kind, spawning with the lifetime guarantees, and the
//! typed reasons a start can fail.

mod config;
pub mod elixir;
mod error;
mod exit;
mod launch;
mod oom;
pub mod python;
mod spawn;
pub mod supervisor;

pub use config::{
    AttachedConfig, DEFAULT_INIT_TIMEOUT, DEFAULT_STOP_GRACE, KernelConfig, RuntimeConfig, RuntimeKind,
    StandaloneConfig,
};
pub use error::{ConfigError, InitError};
pub use exit::ExitInfo;
pub use launch::{KernelLaunch, Launch, display_unplanned, node_name, plan};
pub use oom::oom_kills;
pub use spawn::{Capture, SpawnedNode, StderrTail, is_script, kill_group, resolve_executable, spawn_node};

/// A fresh random token (32 hex digits) for handshakes and cookies.
pub fn random_token() -> Result<String, InitError> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A short id for node names (8 characters of `a-z0-9`).
pub fn short_id() -> Result<String, InitError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 8];
    fill_random(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// The OS random source, or a failed start: these bytes become cookies and
/// tokens, so a guessable fallback (the clock) would be a hole.
fn fill_random(bytes: &mut [u8]) -> Result<(), InitError> {
    getrandom::fill(bytes).map_err(|err| InitError::RandomSource {
        message: err.to_string(),
    })
}
