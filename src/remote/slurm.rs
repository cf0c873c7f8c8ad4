//! Slurm: the `srun` command line of a job step, and what `squeue` and
//! `srun` say about the job.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the window shows of a runtime's job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Slurm's job id (`123`, or `123_4` for an array task).
    pub id: String,
    /// `PENDING`, `RUNNING`, `COMPLETING`…
    pub state: String,
    /// Why it waits (`Priority`, `Resources`…), or `None`.
    pub reason: String,
    /// The compute node(s), once it runs.
    pub nodes: String,
    pub partition: String,
    /// Time left before the time limit, as Slurm writes it (`1:59:58`,
    /// `UNLIMITED`), when it runs.
    pub time_left: String,
    /// How long it has waited, or run.
    pub elapsed: Duration,
}

impl JobInfo {
    pub fn is_pending(&self) -> bool {
        self.state == "PENDING"
    }
}
