//! The runtimes people already have: Jupyter kernels and Python environments.
//! `discovery` finds them, `pick` chooses one for a notebook and remembers
//! the choice in it.

pub mod connection;
pub mod discovery;
pub mod lookup;
pub mod pick;
pub mod spec;
pub mod wire;

pub use discovery::{Discovered, EnvKind, Environment, FoundSpec, Inputs, discover};
pub use lookup::{LookupError, find_kernelspec};
pub use pick::{Choice, Pick, pick_runtime};
pub use spec::{InterruptMode, KernelSpec, SpecError};
