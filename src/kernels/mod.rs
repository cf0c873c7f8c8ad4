//! The runtimes people already have: Jupyter kernels and Python environments.

pub mod connection;
pub mod lookup;
pub mod spec;
pub mod wire;

pub use lookup::{LookupError, find_kernelspec};
pub use spec::{InterruptMode, KernelSpec, SpecError};
