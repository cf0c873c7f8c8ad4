//! Runyard: notebook sessions whose code runs in separate, supervised runtime
//! processes — Livebook's runtime design, on the desktop and for more languages.
//!
//! - [`protocol`]: the wire protocol spoken with every runtime agent.
//! - [`runtime`]: runtime kinds, their configuration and how they start.
//! - [`manager`]: the background thread that owns every runtime process.
//! - [`notebook`]: notebook file formats.

// The supervisor and the runtimes' lifetime rest on Linux (PR_SET_PDEATHSIG,
// a child subreaper, signalfd, /proc); nothing else is built or tested. Say
// so here rather than in a hundred errors from the Unix-only code.
#[cfg(not(target_os = "linux"))]
compile_error!("Runyard builds and runs on Linux only (see README.md, \"Platforms\")");

pub mod app;
pub mod fsutil;
pub mod headless;
pub mod kernels;
pub mod manager;
pub mod notebook;
pub mod protocol;
pub mod remote;
pub mod runtime;
pub mod secrets;
pub mod session;
pub mod settings;
pub mod text;

pub use manager::{Command, Evaluation, Event, Manager, Outcome, SessionId};
pub use runtime::{InitError, RuntimeConfig};
