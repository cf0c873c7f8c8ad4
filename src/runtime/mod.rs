//! Runtime kinds and how a runtime node is started: configuration, the
//! command line of each kind, spawning with the lifetime guarantees, and the
//! typed reasons a start can fail.

mod config;
pub mod elixir;
mod error;
mod exit;
mod launch;
pub mod python;
mod spawn;

pub use config::{
    AttachedConfig, DEFAULT_INIT_TIMEOUT, DEFAULT_STOP_GRACE, RuntimeConfig, RuntimeKind, StandaloneConfig,
};
pub use error::{ConfigError, InitError};
pub use exit::ExitInfo;
pub use launch::{Launch, display_unplanned, node_name, plan};
pub use spawn::{SpawnedNode, StderrTail, is_script, kill_group, resolve_executable, spawn_node};

/// A fresh random token (32 hex digits) for handshakes and cookies.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A short id for node names (8 characters of `a-z0-9`).
pub fn short_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 8];
    fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn fill_random(bytes: &mut [u8]) {
    // The OS random source does not fail on any supported platform; if it ever
    // did, a time-seeded value still keeps names unique enough to be useful.
    if getrandom::fill(bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            ^ u128::from(std::process::id());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8;
        }
    }
}
