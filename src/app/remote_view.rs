//! What the window shows of a runtime on another host: where it runs, its
//! process and interpreter there, and its Slurm job — while the job waits
//! for resources, how long it has waited (from the manager's events: the
//! model reads no clock for it) with a way to give up.

use std::time::Duration;

use egui::RichText;

use crate::remote::{JobInfo, Place};
use crate::session::{RuntimeState, Session};

/// The runtime's Slurm job, as last reported (starting or running).
pub fn job(session: &Session) -> Option<&JobInfo> {
    match &session.runtime {
        RuntimeState::Starting { job, .. } => job.as_ref(),
        RuntimeState::Connected { info, .. } => info.job.as_ref(),
        _ => None,
    }
}

/// The job, while the runtime starts and Slurm has not run it yet.
pub fn pending_job(session: &Session) -> Option<&JobInfo> {
    match &session.runtime {
        RuntimeState::Starting { job: Some(job), .. } if job.is_pending() => Some(job),
        _ => None,
    }
}

/// `0:42`, `12:05`, `1:02:03`: a wait as a clock shows it.
pub fn format_waited(waited: Duration) -> String {
    let secs = waited.as_secs();
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// "Slurm job 123 pending: Resources — waited 0:42".
pub fn pending_line(job: &JobInfo) -> String {
    // Slurm says "None" when it has no reason to give.
    let reason = match job.reason.trim() {
        "" | "None" => String::new(),
        reason => format!(": {reason}"),
    };
    format!(
        "Slurm job {} pending{reason} — waited {}",
        job.id,
        format_waited(job.elapsed)
    )
}

/// Where a runtime runs, for a list: `gpu-box`, `Slurm job 123 on node7`,
/// `Slurm via login1`; `None` on this computer.
pub fn where_text(session: &Session) -> Option<String> {
    if let Some(job) = job(session) {
        return Some(if job.is_pending() {
            format!("Slurm job {} pending", job.id)
        } else if job.nodes.is_empty() {
            format!("Slurm job {}", job.id)
        } else {
            format!("Slurm job {} on {}", job.id, job.nodes)
        });
    }
    if let Some(host) = session.node_info().and_then(|i| i.host.as_deref()) {
        return Some(host.to_string());
    }
    match &session.config.place {
        Place::Local => None,
        Place::Ssh(target) => Some(target.host.clone()),
        place => Some(crate::text::capitalise(place.label().trim_start_matches("on "))),
    }
}

/// The runtime panel's rows for a remote runtime (a grid of four columns):
/// where it runs, then its job.
pub fn panel_rows(ui: &mut egui::Ui, session: &Session) {
    let Some(place) = where_text(session).filter(|_| !session.config.place.is_local()) else {
        return;
    };
    ui.label(RichText::new("Runs on").weak());
    ui.label(RichText::new(place).monospace());
    if let Some(job) = job(session) {
        ui.label(RichText::new("Slurm job").weak());
        ui.label(RichText::new(format!("{} ({})", job.id, job.state.to_lowercase())).monospace());
        ui.end_row();
        ui.label(RichText::new("Node(s)").weak());
        ui.label(RichText::new(or_dash(&job.nodes)).monospace());
        ui.label(RichText::new("Partition").weak());
        ui.label(or_dash(&job.partition));
        ui.end_row();
        ui.label(RichText::new("Time left").weak());
        ui.label(or_dash(&job.time_left));
    }
    ui.end_row();
}

fn or_dash(text: &str) -> &str {
    if text.trim().is_empty() { "—" } else { text }
}

/// The pending job's line and its Cancel button; true when Cancel was clicked.
pub fn pending(ui: &mut egui::Ui, job: &JobInfo) -> bool {
    ui.horizontal(|ui| {
        ui.label(RichText::new(pending_line(job)).color(super::style::WARNING_TEXT));
        ui.button("Cancel")
            .on_hover_text("Give up waiting: the job is cancelled")
            .clicked()
    })
    .inner
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::{Event, SessionId};
    use crate::remote::{SlurmJob, SshTarget};
    use crate::runtime::RuntimeConfig;

    fn pending_job() -> JobInfo {
        JobInfo {
            id: "123".into(),
            state: "PENDING".into(),
            reason: "Resources".into(),
            partition: "gpu".into(),
            elapsed: Duration::from_secs(42),
            ..Default::default()
        }
    }

    #[test]
    fn a_pending_job_says_why_and_how_long_from_the_event() {
        assert_eq!(
            pending_line(&pending_job()),
            "Slurm job 123 pending: Resources — waited 0:42"
        );
        let job = JobInfo {
            reason: "None".into(),
            elapsed: Duration::from_secs(3723),
            ..pending_job()
        };
        assert_eq!(pending_line(&job), "Slurm job 123 pending — waited 1:02:03");
        assert_eq!(format_waited(Duration::from_secs(605)), "10:05");
    }

    #[test]
    fn where_a_session_runs_follows_its_place_then_its_job() {
        let id = SessionId(1);
        let mut session = Session::new(id, "n", RuntimeConfig::python());
        assert_eq!(where_text(&session), None);
        session.config = RuntimeConfig::python().on(Place::Ssh(SshTarget::new("gpu-box")));
        assert_eq!(where_text(&session).as_deref(), Some("gpu-box"));
        session.config = RuntimeConfig::python().on(Place::Slurm(SlurmJob {
            login: Some(SshTarget::new("login1")),
            ..Default::default()
        }));
        assert_eq!(where_text(&session).as_deref(), Some("Slurm via login1"));
        let _ = session.connect();
        session.apply(&Event::Job {
            session: id,
            job: pending_job(),
        });
        assert_eq!(super::pending_job(&session).map(|j| j.id.as_str()), Some("123"));
        assert_eq!(where_text(&session).as_deref(), Some("Slurm job 123 pending"));
        let running = JobInfo {
            state: "RUNNING".into(),
            nodes: "node7".into(),
            ..pending_job()
        };
        session.apply(&Event::Job {
            session: id,
            job: running,
        });
        assert_eq!(
            super::pending_job(&session),
            None,
            "running: nothing to cancel but the runtime"
        );
        assert_eq!(where_text(&session).as_deref(), Some("Slurm job 123 on node7"));
    }
}
