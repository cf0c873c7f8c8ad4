//! The runtimes people already have: Jupyter kernels and Python environments.

pub mod spec;

pub use spec::{InterruptMode, KernelSpec, SpecError};
