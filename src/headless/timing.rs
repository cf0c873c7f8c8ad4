//! Jupyter's per-cell execution timestamps (`metadata.execution` in
//! `.ipynb`), as nbclient writes them with `record_timing`.

use std::time::SystemTime;

use serde_json::Value;

use crate::notebook::Object;

/// When a cell was sent to the runtime and when its answer came.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    pub started: SystemTime,
    pub finished: SystemTime,
}

impl Timing {
    /// `metadata.execution`: the runtime protocol has no busy/idle messages
    /// of its own, so busy and execute_input are when the cell was sent,
    /// execute_reply and idle when its answer arrived.
    pub fn metadata(&self) -> Value {
        let started = iso8601(self.started);
        let finished = iso8601(self.finished);
        let mut execution = Object::new();
        execution.insert("iopub.execute_input".into(), started.clone().into());
        execution.insert("iopub.status.busy".into(), started.into());
        execution.insert("iopub.status.idle".into(), finished.clone().into());
        execution.insert("shell.execute_reply".into(), finished.into());
        Value::Object(execution)
    }
}

pub use crate::text::iso8601;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_jupyters() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_091_099_000_042);
        assert_eq!(iso8601(at), "2026-12-01T02:11:39.000042Z");
        assert_eq!(iso8601(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        // A leap day.
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000000Z");
    }
}
