//! Remote runtimes: the agent travels unchanged over an OpenSSH session or a
//! Slurm job step (its protocol is stdin/stdout, so no ports are opened and
//! nothing is installed on the other side). This module knows hosts, jobs
//! and the commands that reach them; the manager sees one runtime whatever
//! the place.

pub mod bootstrap;
mod config;
mod launch;
pub mod remembered;
pub mod slurm;
pub mod ssh;
pub mod ssh_hosts;

pub use config::{DEFAULT_KEEPALIVE_SECS, Place, SlurmJob, SshTarget};
pub use launch::{RemoteLaunch, plan, scancel_argv, slurm_command, srun_args};
pub use slurm::JobInfo;
