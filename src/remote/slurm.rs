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

/// `squeue`'s output format for `parse_squeue`: id, state, reason, nodes,
/// partition, time left, time used.
pub const SQUEUE_FORMAT: &str = "%i|%T|%r|%N|%P|%L|%M";

/// The `squeue` command that reports job `name` in `SQUEUE_FORMAT`.
pub fn squeue_words(job_name: &str) -> Vec<String> {
    vec![
        "squeue".into(),
        "--noheader".into(),
        format!("--name={job_name}"),
        format!("--format={SQUEUE_FORMAT}"),
    ]
}

/// The job in `squeue`'s output, if it lists one. `waited`: how long the
/// manager has watched it (squeue says nothing of a pending job's wait).
pub fn parse_squeue(output: &str, waited: Duration) -> Option<JobInfo> {
    let line = output.lines().map(str::trim).find(|line| !line.is_empty())?;
    let fields: Vec<&str> = line.split('|').collect();
    let [id, state, reason, nodes, partition, time_left, used] = fields[..] else {
        return None;
    };
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || "_[]-+".contains(c)) {
        return None;
    }
    let elapsed = match state {
        "PENDING" => waited,
        _ => parse_duration(used).unwrap_or_default(),
    };
    let field = |s: &str| s.chars().take(200).collect::<String>();
    Some(JobInfo {
        id: field(id),
        state: field(state),
        reason: field(reason),
        nodes: field(nodes),
        partition: field(partition),
        time_left: field(time_left),
        elapsed,
    })
}

/// Slurm's durations: `SS`, `M:SS`, `H:MM:SS`, `D-HH:MM:SS`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let (days, rest) = match text.split_once('-') {
        Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
        None => (0, text),
    };
    let mut secs = 0u64;
    for part in rest.split(':') {
        secs = secs.checked_mul(60)?.checked_add(part.parse::<u64>().ok()?)?;
    }
    Some(Duration::from_secs(days * 86_400 + secs))
}

/// Why Slurm ended a running job step, from what `srun` and `slurmstepd`
/// wrote: `*** STEP 12.0 ON node1 CANCELLED AT … DUE TO TIME LIMIT ***`,
/// an OOM kill, a node failure. `None` when they did not say.
pub fn down_reason(stderr: &str) -> Option<String> {
    let lower = stderr.to_lowercase();
    if lower.contains("oom-kill") || lower.contains("oom_kill") || lower.contains("exceeded job memory limit") {
        return Some("out of memory (the job's memory limit)".into());
    }
    for line in stderr.lines().rev() {
        let Some(start) = line.find("***") else { continue };
        let inner = line[start + 3..].trim_end().trim_end_matches('*').trim();
        if let Some((_, due)) = inner.split_once(" DUE TO ") {
            return Some(due.trim().to_lowercase());
        }
        if inner.contains("CANCELLED") {
            return Some("the job was cancelled".into());
        }
    }
    if lower.contains("node failure") || lower.contains("node_fail") {
        return Some("node failure".into());
    }
    if lower.contains("preempt") {
        return Some("preemption".into());
    }
    None
}

/// What `srun` said when it gave up before the agent started: the text after
/// its last `srun: error:`, if any.
pub fn srun_error(stderr: &str) -> Option<String> {
    stderr.lines().rev().find_map(|line| {
        let rest = line.trim().strip_prefix("srun: error:")?.trim();
        let rest = rest
            .strip_prefix("Unable to allocate resources:")
            .unwrap_or(rest)
            .trim();
        (!rest.is_empty()).then(|| rest.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_become_jobs() {
        let pending = parse_squeue("42|PENDING|Resources||debug|1:00:00|0:00\n", Duration::from_secs(7)).unwrap();
        assert!(pending.is_pending());
        assert_eq!((pending.id.as_str(), pending.reason.as_str()), ("42", "Resources"));
        assert_eq!(pending.elapsed, Duration::from_secs(7));
        let running = parse_squeue("43|RUNNING|None|node1|debug|59:58|1:02:03", Duration::ZERO).unwrap();
        assert_eq!(running.nodes, "node1");
        assert_eq!(running.elapsed, Duration::from_secs(3723));
        assert_eq!(parse_squeue("", Duration::ZERO), None);
        assert_eq!(parse_squeue("garbage", Duration::ZERO), None);
        assert_eq!(parse_squeue("4;rm|RUNNING|None|n|p|1|1", Duration::ZERO), None);
    }

    #[test]
    fn durations_in_slurms_forms() {
        assert_eq!(parse_duration("59"), Some(Duration::from_secs(59)));
        assert_eq!(parse_duration("1:05"), Some(Duration::from_secs(65)));
        assert_eq!(
            parse_duration("2-01:00:00"),
            Some(Duration::from_secs(2 * 86_400 + 3600))
        );
        assert_eq!(parse_duration("UNLIMITED"), None);
    }

    #[test]
    fn slurms_reasons_are_read_from_its_messages() {
        let limit = "slurmstepd: error: *** STEP 12.0 ON box CANCELLED AT 2026-11-30T12:00:00 DUE TO TIME LIMIT ***";
        assert_eq!(down_reason(limit).as_deref(), Some("time limit"));
        let cancelled = "srun: error: *** STEP 12.0 ON box CANCELLED AT 2026-11-30T12:00:00 ***";
        assert_eq!(down_reason(cancelled).as_deref(), Some("the job was cancelled"));
        let oom = "slurmstepd: error: Detected 1 oom-kill event(s) in StepId=12.0.";
        assert!(down_reason(oom).unwrap().contains("memory"));
        assert_eq!(down_reason("Traceback (most recent call last):"), None);
        assert_eq!(
            srun_error("srun: error: Unable to allocate resources: Invalid partition name specified").as_deref(),
            Some("Invalid partition name specified")
        );
    }
}
