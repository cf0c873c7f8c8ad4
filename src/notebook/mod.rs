//! Notebook file formats.

pub mod percent;
