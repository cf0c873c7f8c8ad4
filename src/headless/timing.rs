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

/// ISO 8601 in UTC with microseconds and `Z`: `2026-12-01T02:11:39.123456Z`.
pub fn iso8601(time: SystemTime) -> String {
    let since = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_micros()
    )
}

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
