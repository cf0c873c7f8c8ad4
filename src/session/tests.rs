//! The session model without a window or a process: events are built by hand.

use super::*;
use crate::manager::DownCause;
use crate::protocol::Stream;
use crate::session::CellKind;

const ID: SessionId = SessionId(7);

fn info() -> NodeInfo {
    NodeInfo {
        name: "python-abc".into(),
        pid: 42,
        language: "python".into(),
        language_version: "3.11.7".into(),
        executable: "/usr/bin/python3".into(),
        kind: "Python (standalone)".into(),
        cookie: None,
        host: None,
        job: None,
    }
}

fn connected() -> Session {
    let mut s = Session::new(ID, "Notebook", RuntimeConfig::python());
    s.connect();
    s.apply(&Event::Connected {
        session: ID,
        info: info(),
    });
    s
}

fn finished(evaluation_ref: &str, outcome: Outcome) -> Event {
    Event::EvaluationFinished {
        session: ID,
        evaluation_ref: evaluation_ref.into(),
        outcome,
        duration: Duration::from_millis(5),
    }
}

fn ok() -> Outcome {
    Outcome::Ok { value: None }
}

fn evaluations(commands: &[Command]) -> Vec<(String, Option<String>)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Evaluate { evaluation, .. } => Some((
                evaluation.evaluation_ref.clone(),
                evaluation.prev_evaluation_ref.clone(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn buttons_follow_the_runtime_state() {
    let mut s = Session::new(ID, "n", RuntimeConfig::python());
    let enabled = |s: &Session| {
        (
            s.can_connect(),
            s.can_disconnect(),
            s.can_reconnect(),
            s.can_interrupt(),
        )
    };
    assert_eq!(s.status(), Status::Disconnected);
    assert_eq!(enabled(&s), (true, false, false, false));

    s.connect();
    assert_eq!(s.status(), Status::Starting);
    assert_eq!(enabled(&s), (false, true, false, false));

    s.apply(&Event::Connected {
        session: ID,
        info: info(),
    });
    assert_eq!(s.status(), Status::Idle);
    assert_eq!(enabled(&s), (false, true, true, false));

    let cell = s.add_cell("import time; time.sleep(10)");
    s.evaluate(cell);
    assert_eq!(s.status(), Status::Evaluating);
    assert_eq!(enabled(&s), (false, true, true, true));

    s.apply(&Event::NodeDown {
        session: ID,
        node: "python-abc".into(),
        exit: ExitInfo {
            code: None,
            signal: Some(9),
        },
        cause: DownCause::Ended,
        stderr_tail: String::new(),
        crash_dump: None,
    });
    assert_eq!(s.status(), Status::NodeDown);
    // Reconnect brings it back; Connect would be a second button for the same.
    assert_eq!(enabled(&s), (false, false, true, false));

    s.connect();
    s.apply(&Event::InitFailed {
        session: ID,
        error: InitError::ExecutableNotFound {
            name: "python3".into(),
            searched: vec!["/usr/bin".into()],
        },
        command: "python3 -c …".into(),
    });
    assert_eq!(s.status(), Status::InitFailed);
    assert_eq!(enabled(&s), (true, false, false, false));
}

#[test]
fn evaluating_while_disconnected_starts_the_runtime_and_runs_the_queue_once_connected() {
    let mut s = Session::new(ID, "n", RuntimeConfig::python());
    let a = s.add_cell("x = 1");
    let b = s.add_cell("x + 1");
    let commands = s.evaluate(b);
    assert!(matches!(commands.as_slice(), [Command::Connect { .. }]), "{commands:?}");
    assert_eq!(
        s.cell(a).unwrap().state,
        CellState::Queued,
        "the cell above is queued first"
    );
    assert_eq!(s.cell(b).unwrap().state, CellState::Queued);

    let commands = s.apply(&Event::Connected {
        session: ID,
        info: info(),
    });
    assert_eq!(evaluations(&commands), [("c1".into(), None)]);
    let commands = s.apply(&finished("c1", ok()));
    assert_eq!(evaluations(&commands), [("c2".into(), Some("c1".into()))]);
    s.apply(&finished(
        "c2",
        Outcome::Ok {
            value: Some(crate::protocol::Bundle::plain("2")),
        },
    ));
    assert_eq!(
        s.cell(b).unwrap().result,
        Some(CellResult::Value(crate::session::outputs::Display::plain("2")))
    );
    assert_eq!(s.status(), Status::Idle);
}

#[test]
fn reevaluating_a_cell_makes_evaluated_cells_below_stale() {
    let mut s = connected();
    let a = s.add_cell("x = 1");
    let b = s.add_cell("y = x");
    s.evaluate(b);
    s.apply(&finished("c1", ok()));
    s.apply(&finished("c2", ok()));
    let commands = s.evaluate(a);
    assert_eq!(evaluations(&commands), [("c1".into(), None)]);
    assert_eq!(s.cell(b).unwrap().state, CellState::Stale);
    s.apply(&finished("c1", ok()));
    // Evaluating b again needs nothing above: a is up to date.
    assert_eq!(evaluations(&s.evaluate(b)), [("c2".into(), Some("c1".into()))]);
}

#[test]
fn editing_an_evaluated_cell_makes_it_and_the_cells_below_stale() {
    let mut s = connected();
    let a = s.add_cell("x = 1");
    let b = s.add_cell("y = x");
    s.evaluate(b);
    s.apply(&finished("c1", ok()));
    s.apply(&finished("c2", ok()));
    s.set_code(a, "x = 2".into());
    assert_eq!(s.cell(a).unwrap().state, CellState::Stale);
    assert_eq!(s.cell(b).unwrap().state, CellState::Stale);
    // Evaluating b re-runs a first.
    let commands = s.evaluate(b);
    assert_eq!(evaluations(&commands), [("c1".into(), None)]);
}

#[test]
fn interrupt_stops_the_running_cell_and_unqueues_the_rest() {
    let mut s = connected();
    let _a = s.add_cell("sleep");
    let b = s.add_cell("after");
    s.evaluate(b);
    assert_eq!(s.cell(b).unwrap().state, CellState::Queued);
    let commands = s.interrupt();
    assert!(matches!(commands.as_slice(), [Command::Interrupt { .. }]));
    assert_eq!(s.cell(b).unwrap().state, CellState::Fresh, "unqueued at once");
    let commands = s.apply(&finished("c1", Outcome::Interrupted(None)));
    assert!(commands.is_empty(), "nothing else runs: {commands:?}");
    assert_eq!(s.nth_cell(0).unwrap().state, CellState::Interrupted);
    assert_eq!(s.status(), Status::Idle);
}

#[test]
fn node_down_aborts_cells_keeps_outputs_and_shows_a_banner() {
    let mut s = connected();
    let a = s.add_cell("print('hi')");
    let b = s.add_cell("loop");
    s.evaluate(a);
    s.apply(&Event::Output {
        session: ID,
        evaluation_ref: Some("c1".into()),
        stream: Stream::Stdout,
        text: "hi\n".into(),
    });
    s.apply(&finished("c1", ok()));
    s.evaluate(b);
    s.apply(&Event::NodeDown {
        session: ID,
        node: "python-abc".into(),
        exit: ExitInfo {
            code: None,
            signal: Some(9),
        },
        cause: DownCause::Ended,
        stderr_tail: "Killed".into(),
        crash_dump: None,
    });
    assert_eq!(s.cell(a).unwrap().state, CellState::Aborted);
    assert_eq!(s.cell(b).unwrap().state, CellState::Aborted);
    assert_eq!(s.cell(a).unwrap().output.text(), "hi\n", "outputs are kept");
    let banner = s.banner.clone().expect("a banner");
    assert_eq!(banner.kind, BannerKind::NodeDown);
    assert!(banner.message.starts_with("The runtime node terminated unexpectedly"));
    assert!(banner.message.contains("signal 9 (SIGKILL)"));
    assert!(banner.detail.contains("Killed"));
    // Reconnecting replaces nothing until a newer failure; dismissing clears it.
    s.dismiss_banner();
    assert!(s.banner.is_none());
}

#[test]
fn the_node_down_banner_names_the_cause_and_the_crash_dump() {
    let signal9 = ExitInfo {
        code: None,
        signal: Some(9),
    };
    let banner_for = |cause, crash_dump: Option<&str>| {
        let mut s = connected();
        s.apply(&Event::NodeDown {
            session: ID,
            node: "n".into(),
            exit: signal9,
            cause,
            stderr_tail: String::new(),
            crash_dump: crash_dump.map(Into::into),
        });
        s.banner.expect("a banner").message
    };
    let oom = banner_for(
        DownCause::OutOfMemory {
            peak_rss: Some(300 * 1024 * 1024),
        },
        None,
    );
    assert!(oom.contains("OOM killer") && oom.contains("300.0 MiB"), "{oom}");
    let closed = banner_for(DownCause::ChannelClosed, None);
    assert!(closed.contains("closed its protocol channel"), "{closed}");
    assert!(!closed.contains("SIGKILL"), "{closed}");
    let lost = banner_for(DownCause::SupervisorLost, None);
    assert!(lost.contains("supervisor"), "{lost}");
    let dump = banner_for(DownCause::Ended, Some("/cache/crash-dumps/runyard-x.dump"));
    assert!(dump.contains("crash dump: /cache/crash-dumps/runyard-x.dump"), "{dump}");
}

#[test]
fn a_remote_runtime_down_names_the_lost_connection_or_the_slurm_reason() {
    let banner_for = |cause| {
        let mut s = connected();
        let a = s.add_cell("x = 1");
        s.evaluate(a);
        s.apply(&Event::NodeDown {
            session: ID,
            node: "python-abc".into(),
            exit: ExitInfo {
                code: Some(255),
                signal: None,
            },
            cause,
            stderr_tail: String::new(),
            crash_dump: None,
        });
        assert_eq!(s.cell(a).unwrap().state, CellState::Aborted);
        assert!(s.can_reconnect(), "a lost host is reconnected as a dead node is");
        s.banner.expect("a banner")
    };
    let lost = banner_for(DownCause::ConnectionLost {
        host: "gpu-box".into(),
        detail: "3 keep-alives unanswered".into(),
    });
    assert_eq!(lost.kind, BannerKind::NodeDown);
    assert_eq!(lost.message, "Connection to gpu-box lost: 3 keep-alives unanswered.");
    let quiet = banner_for(DownCause::ConnectionLost {
        host: "gpu-box".into(),
        detail: String::new(),
    });
    assert_eq!(quiet.message, "Connection to gpu-box lost.");
    let slurm = banner_for(DownCause::Slurm {
        job_id: "4242".into(),
        reason: "time limit reached".into(),
    });
    assert_eq!(slurm.message, "Slurm ended job 4242: time limit reached.");
    assert!(
        !slurm.message.contains("255"),
        "Slurm's reason, not ssh's status: {}",
        slurm.message
    );
}

#[test]
fn a_changed_host_key_is_an_init_banner_that_says_not_to_connect_and_shows_what_ssh_said() {
    let mut s = Session::new(
        ID,
        "n",
        RuntimeConfig::python().on(crate::remote::Place::Ssh(crate::remote::SshTarget::new("gpu-box"))),
    );
    s.connect();
    s.apply(&Event::InitFailed {
        session: ID,
        error: InitError::SshHostKeyChanged {
            host: "gpu-box".into(),
            detail: "@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @".into(),
        },
        command: "ssh -o BatchMode=yes gpu-box python3 -".into(),
    });
    assert_eq!(s.status(), Status::InitFailed);
    let banner = s.banner.clone().expect("a banner");
    assert_eq!(banner.kind, BannerKind::InitError);
    assert!(
        banner.message.starts_with("The host key of gpu-box has CHANGED"),
        "{}",
        banner.message
    );
    assert!(
        banner.message.contains("Runyard does not connect"),
        "{}",
        banner.message
    );
    assert!(banner.message.contains("ssh-keygen -R gpu-box"), "{}", banner.message);
    assert!(banner.message.ends_with("fingerprint."), "{}", banner.message);
    assert!(
        banner.detail.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "ssh's own words: {}",
        banner.detail
    );
    assert!(!banner.detail.contains("Nothing was written"), "{}", banner.detail);
    assert!(
        banner.detail.contains("ssh -o BatchMode=yes gpu-box"),
        "{}",
        banner.detail
    );
}

#[test]
fn a_pending_job_is_kept_while_starting_and_cancel_disconnects() {
    let mut s = Session::new(
        ID,
        "n",
        RuntimeConfig::python().on(crate::remote::Place::Slurm(Default::default())),
    );
    s.connect();
    let job = crate::remote::JobInfo {
        id: "77".into(),
        state: "PENDING".into(),
        reason: "Priority".into(),
        elapsed: Duration::from_secs(5),
        ..Default::default()
    };
    s.apply(&Event::Job {
        session: ID,
        job: job.clone(),
    });
    assert!(matches!(&s.runtime, RuntimeState::Starting { job: Some(j), .. } if *j == job));
    assert!(s.can_disconnect());
    let commands = s.disconnect();
    assert!(
        matches!(commands.as_slice(), [Command::Disconnect { session: ID }]),
        "{commands:?}"
    );
}

#[test]
fn a_failed_start_unqueues_cells_and_a_newer_banner_replaces_the_older() {
    let mut s = Session::new(ID, "n", RuntimeConfig::python());
    let a = s.add_cell("1");
    s.evaluate(a);
    s.apply(&Event::InitFailed {
        session: ID,
        error: InitError::ExitedEarly {
            status: ExitInfo {
                code: Some(1),
                signal: None,
            },
            stderr_tail: "boom".into(),
        },
        command: "python3 -c <agent>".into(),
    });
    assert_eq!(s.cell(a).unwrap().state, CellState::Fresh);
    let banner = s.banner.clone().unwrap();
    assert_eq!(banner.message, "The runtime exited with status 1 before it was ready.");
    assert!(banner.detail.contains("boom") && banner.detail.contains("python3 -c <agent>"));
    s.connect();
    assert!(s.banner.is_none(), "retrying clears the old banner");
    s.apply(&Event::InitFailed {
        session: ID,
        error: InitError::ExecutableNotFound {
            name: "python3".into(),
            searched: vec!["/usr/bin".into()],
        },
        command: "python3".into(),
    });
    let banner = s.banner.clone().unwrap();
    assert_eq!(banner.message, "Python3 was not found in PATH.");
}

#[test]
fn a_requested_disconnect_shows_no_banner_and_cells_become_stale() {
    let mut s = connected();
    let a = s.add_cell("x = 1");
    s.evaluate(a);
    s.apply(&finished("c1", ok()));
    s.apply(&Event::Disconnected {
        session: ID,
        node: "python-abc".into(),
        reason: DisconnectReason::Requested,
    });
    assert!(s.banner.is_none());
    assert_eq!(s.status(), Status::Disconnected);
    assert_eq!(s.cell(a).unwrap().state, CellState::Stale);
}

#[test]
fn output_without_a_cell_goes_to_the_runtime_output() {
    let mut s = connected();
    s.apply(&Event::StrayOutput {
        session: ID,
        text: "from C\n".into(),
    });
    s.apply(&Event::Output {
        session: ID,
        evaluation_ref: None,
        stream: Stream::Stderr,
        text: "thread\n".into(),
    });
    assert_eq!(s.runtime_output.text(), "from C\nthread\n");
}

fn containers(commands: &[Command]) -> Vec<String> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Evaluate { evaluation, .. } => Some(evaluation.container.clone()),
            _ => None,
        })
        .collect()
}

fn prev_containers(commands: &[Command]) -> Vec<Option<String>> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Evaluate { evaluation, .. } => Some(evaluation.prev_container.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn each_section_is_a_container_chained_from_the_section_above() {
    let mut s = connected();
    let first = s.add_section("Setup");
    let a = s.insert_cell(first, None, CellKind::Code, "x = 1".into());
    let second = s.add_section("Analysis");
    let md = s.insert_cell(second, None, CellKind::Markdown, "# Notes".into());
    let b = s.insert_cell(second, Some(md), CellKind::Code, "y = x".into());
    let c = s.insert_cell(second, Some(b), CellKind::Code, "y + 1".into());

    // Evaluating c runs a (fresh: the notebook's first code cell), then b, then c.
    let commands = s.evaluate(c);
    assert_eq!(evaluations(&commands), [(a.evaluation_ref(), None)]);
    assert_eq!(containers(&commands), [first.container()]);
    // b starts its section from a's context, in the section above: the
    // Markdown cell between them is skipped.
    let commands = s.apply(&finished(&a.evaluation_ref(), ok()));
    assert_eq!(evaluations(&commands), [(b.evaluation_ref(), Some(a.evaluation_ref()))]);
    assert_eq!(containers(&commands), [second.container()]);
    assert_eq!(prev_containers(&commands), [Some(first.container())]);
    // c chains from b in its own section: no other container named.
    let commands = s.apply(&finished(&b.evaluation_ref(), ok()));
    assert_eq!(evaluations(&commands), [(c.evaluation_ref(), Some(b.evaluation_ref()))]);
    assert_eq!(prev_containers(&commands), [None]);
    s.apply(&finished(&c.evaluation_ref(), ok()));
    assert_eq!(s.cell(md).unwrap().state, CellState::Fresh);
    // Changing the first section makes the second one stale too.
    s.set_code(a, "x = 2".into());
    assert_eq!(s.cell(b).unwrap().state, CellState::Stale);
    assert_eq!(s.cell(c).unwrap().state, CellState::Stale);
}

#[test]
fn evaluate_all_queues_every_stale_or_fresh_code_cell_in_order() {
    let mut s = connected();
    let a = s.add_cell("a");
    let b = s.add_cell("b");
    let other = s.add_section("Two");
    let c = s.insert_cell(other, None, CellKind::Code, "c".into());
    let commands = s.evaluate_all();
    assert_eq!(evaluations(&commands), [(a.evaluation_ref(), None)]);
    assert!(s.is_queued(b) && s.is_queued(c));
    s.apply(&finished(&a.evaluation_ref(), ok()));
    s.apply(&finished(&b.evaluation_ref(), ok()));
    let commands = s.apply(&finished("nothing", ok()));
    assert!(commands.is_empty());
    assert_eq!(s.cell(c).unwrap().state.label(), "evaluating");
}

#[test]
fn unqueue_takes_a_cell_and_those_chained_below_it_off_the_queue() {
    let mut s = connected();
    let a = s.add_cell("sleep");
    let b = s.add_cell("b");
    let c = s.add_cell("c");
    s.evaluate(c);
    assert_eq!(s.running(), Some(a));
    s.unqueue(b);
    assert!(!s.is_queued(b) && !s.is_queued(c));
    assert_eq!(s.cell(b).unwrap().state, CellState::Fresh);
    assert_eq!(s.cell(c).unwrap().state, CellState::Fresh);
}

#[test]
fn deleting_a_section_drops_its_container_and_undo_brings_it_back_stale() {
    let mut s = connected();
    let section = s.add_section("Gone");
    let a = s.insert_cell(section, None, CellKind::Code, "x = 1".into());
    s.evaluate(a);
    s.apply(&finished(&a.evaluation_ref(), ok()));
    let commands = s.delete_section(section);
    assert!(
        matches!(commands.as_slice(), [Command::DropContainer { container, .. }] if *container == section.container()),
        "{commands:?}"
    );
    assert!(s.cell(a).is_none());
    assert!(s.can_undo_delete());
    s.undo_delete();
    assert_eq!(s.cell(a).unwrap().state, CellState::Stale, "its context was dropped");
}

#[test]
fn deleting_an_evaluated_cell_forgets_it_and_marks_the_cells_below_stale() {
    let mut s = connected();
    let a = s.add_cell("x = 1");
    let b = s.add_cell("x");
    s.evaluate(b);
    s.apply(&finished(&a.evaluation_ref(), ok()));
    s.apply(&finished(&b.evaluation_ref(), ok()));
    let commands = s.delete_cell(a);
    assert!(
        matches!(commands.as_slice(), [Command::ForgetEvaluation { evaluation_ref, .. }] if *evaluation_ref == a.evaluation_ref()),
        "{commands:?}"
    );
    assert_eq!(s.cell(b).unwrap().state, CellState::Stale);
    s.undo_delete();
    assert_eq!(s.nth_cell(0).unwrap().id, a, "undo puts it back where it was");
}

#[test]
fn undo_takes_back_deletions_one_by_one_newest_first_up_to_its_depth() {
    let mut s = connected();
    let cells: Vec<_> = (0..3).map(|i| s.add_cell(format!("x{i}"))).collect();
    s.delete_cell(cells[0]);
    s.delete_cell(cells[2]);
    s.undo_delete();
    assert!(
        s.cell(cells[2]).is_some() && s.cell(cells[0]).is_none(),
        "the newest first"
    );
    s.undo_delete();
    assert!(s.cell(cells[0]).is_some(), "then the one before it");
    assert!(!s.can_undo_delete());
    for _ in 0..(crate::session::edit::UNDO_DEPTH + 5) {
        let id = s.add_cell("y");
        s.delete_cell(id);
    }
    let mut undone = 0;
    while s.can_undo_delete() {
        s.undo_delete();
        undone += 1;
    }
    assert_eq!(undone, crate::session::edit::UNDO_DEPTH);
}

#[test]
fn moving_a_cell_changes_chaining_so_evaluated_cells_go_stale() {
    let mut s = connected();
    let a = s.add_cell("a");
    let b = s.add_cell("b");
    s.evaluate(b);
    s.apply(&finished(&a.evaluation_ref(), ok()));
    s.apply(&finished(&b.evaluation_ref(), ok()));
    s.move_cell(b, -1);
    assert_eq!(s.nth_cell(0).unwrap().id, b);
    assert_eq!(s.cell(a).unwrap().state, CellState::Stale);
    assert_eq!(s.cell(b).unwrap().state, CellState::Stale);
    // Evaluating a now chains from b.
    let commands = s.evaluate(a);
    assert_eq!(evaluations(&commands), [(b.evaluation_ref(), None)]);
    s.move_cell(b, -1); // already first: nothing happens
    assert_eq!(s.nth_cell(0).unwrap().id, b);
}

#[test]
fn duplicates_are_fresh_copies() {
    let mut s = connected();
    let a = s.add_cell("x = 1");
    s.evaluate(a);
    s.apply(&finished(&a.evaluation_ref(), ok()));
    let copy = s.duplicate_cell(a).unwrap();
    assert_eq!(s.cell(copy).unwrap().code, "x = 1");
    assert_eq!(s.cell(copy).unwrap().state, CellState::Fresh);
    assert_eq!(s.nth_cell(1).unwrap().id, copy);
}

#[test]
fn a_cell_edited_while_it_runs_is_stale_when_its_result_comes() {
    let mut s = connected();
    let a = s.add_cell("x = 1");
    let sent = evaluations(&s.evaluate(a));
    assert_eq!(sent.len(), 1);
    s.set_code(a, "x = 2".into());
    s.apply(&finished(&a.evaluation_ref(), ok()));
    assert_eq!(s.cell(a).unwrap().state, CellState::Stale, "the result is for `x = 1`");
    // Evaluated again as shown, it is up to date.
    s.evaluate(a);
    s.apply(&finished(&a.evaluation_ref(), ok()));
    assert!(matches!(s.cell(a).unwrap().state, CellState::Evaluated { .. }));
}

#[test]
fn an_agents_init_error_shows_what_it_wrote_to_stderr() {
    let mut s = Session::new(ID, "Notebook", RuntimeConfig::elixir_attached("app@host", "wrong"));
    s.connect();
    s.apply(&Event::InitFailed {
        session: ID,
        error: crate::runtime::InitError::Agent {
            reason: "connect".into(),
            message: "cannot connect to app@host: wrong cookie?".into(),
            stderr_tail: "** Connection attempt from disallowed node".into(),
        },
        command: "elixir …".into(),
    });
    let banner = s.banner.clone().expect("a banner");
    assert!(banner.detail.contains("disallowed node"), "{}", banner.detail);
    assert!(!banner.detail.contains("Nothing was written"), "{}", banner.detail);
}

#[test]
fn a_raw_cell_stays_raw_is_never_evaluated_and_saves_as_raw() {
    let text = r##"{"cells": [
      {"cell_type": "raw", "metadata": {}, "source": ["\\documentclass{article}"]},
      {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [], "source": ["x = 1"]}
     ], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}"##;
    let notebook = crate::notebook::parse(crate::notebook::Format::Ipynb, text).unwrap();
    let mut s = Session::from_notebook(ID, "n", RuntimeConfig::python(), &notebook);
    let raw = s.nth_cell(0).unwrap().id;
    assert_eq!(s.cell(raw).unwrap().kind, CellKind::Raw);
    assert!(s.evaluate(raw).is_empty(), "a raw cell is not run");
    let saved = s.to_notebook();
    let kinds: Vec<_> = saved.sections.iter().flat_map(|x| &x.cells).map(|c| c.kind).collect();
    assert_eq!(kinds[0], crate::notebook::CellKind::Raw);
}

#[test]
fn a_save_that_finishes_after_more_edits_keeps_them_unsaved_and_matches_cells_by_id() {
    let mut s = Session::new(SessionId(1), "n", RuntimeConfig::python());
    let a = s.add_cell("a = 1");
    let (revision, layout) = (s.revision(), s.layout());
    // What the file held once written: its own id for the cell.
    let mut written = s.to_notebook();
    written.sections[0].cells[0].id = Some("from-file".into());
    // Meanwhile: a cell above it, and a new title.
    let section = s.sections[0].id;
    s.insert_cell(section, None, CellKind::Code, "above = 0".into());
    s.set_title("Edited".into());
    s.saved_as_of("/tmp/n.ipynb".into(), &written, revision, &layout);
    assert!(s.is_dirty(), "the edits made during the save are not saved");
    assert_eq!(s.title(), Some("Edited"));
    let now = s.to_notebook();
    let ids: Vec<(String, Option<String>)> = now.cells().map(|c| (c.source.clone(), c.id.clone())).collect();
    assert!(
        ids.contains(&("a = 1".to_string(), Some("from-file".to_string()))),
        "the file's id went to the cell it was written for: {ids:?} ({a:?})"
    );
}

fn display(evaluation_ref: &str, bundle: crate::protocol::Bundle, display_id: Option<&str>, update: bool) -> Event {
    Event::Display {
        session: ID,
        evaluation_ref: Some(evaluation_ref.into()),
        bundle: std::sync::Arc::new(bundle),
        display_id: display_id.map(str::to_string),
        update,
    }
}

fn png(text: &str) -> crate::protocol::Bundle {
    let mut bundle = crate::protocol::Bundle::plain(text);
    bundle.data.insert("image/png".into(), "iVBORw0KGgo=".into());
    bundle
        .metadata
        .insert("image/png".into(), serde_json::json!({"width": 640, "height": 480}));
    bundle
}

#[test]
fn displays_keep_their_place_and_save_as_jupyter_does() {
    use crate::notebook::Output;
    use crate::session::outputs::OutputItem;
    let mut s = connected();
    let a = s.add_cell("plot()");
    s.evaluate(a);
    let r = a.evaluation_ref();
    let out = |text: &str| Event::Output {
        session: ID,
        evaluation_ref: Some(r.clone()),
        stream: Stream::Stdout,
        text: text.into(),
    };
    s.apply(&out("before\n"));
    s.apply(&display(&r, png("<Figure>"), Some("fig"), false));
    s.apply(&out("after\n"));
    s.apply(&display(&r, png("<Figure 2>"), Some("fig"), true));
    s.apply(&finished(
        &r,
        Outcome::Ok {
            value: Some(crate::protocol::Bundle::plain("42")),
        },
    ));
    let cell = s.cell(a).unwrap();
    let kinds: Vec<&str> = cell
        .output
        .items()
        .iter()
        .map(|i| match i {
            OutputItem::Stream(_) => "text",
            OutputItem::Display(_) => "display",
        })
        .collect();
    assert_eq!(kinds, ["text", "display", "text"]);
    assert_eq!(
        cell.output.text(),
        "before\n<Figure 2>\nafter\n",
        "the update replaced the display in place"
    );

    let notebook = s.to_notebook();
    let outputs = &notebook.sections[0].cells[0].outputs;
    assert!(matches!(&outputs[0], Output::Stream { text, .. } if text == "before\n"));
    match &outputs[1] {
        Output::DisplayData { data, metadata, .. } => {
            assert_eq!(data["image/png"], "iVBORw0KGgo=");
            assert_eq!(data["text/plain"], "<Figure 2>");
            assert_eq!(metadata["image/png"]["width"], 640);
        }
        other => panic!("expected display_data, got {other:?}"),
    }
    assert!(matches!(&outputs[2], Output::Stream { text, .. } if text == "after\n"));
    assert!(
        matches!(&outputs[3], Output::ExecuteResult { data, execution_count: Some(1), .. } if data["text/plain"] == "42")
    );
}

#[test]
fn a_stored_figure_opens_as_an_image_not_its_text() {
    use crate::session::outputs::OutputItem;
    let mut nb = crate::notebook::Notebook::new(crate::notebook::Language::Python);
    let mut cell = crate::notebook::Cell::code("plt.show()");
    cell.outputs = vec![crate::notebook::Output::display(&png("<Figure size 1x1>"))];
    nb.sections[0].cells.push(cell);
    let s = Session::from_notebook(ID, "n", RuntimeConfig::python(), &nb);
    let cell = s.nth_cell(0).unwrap();
    match cell.output.items() {
        [OutputItem::Display(display)] => assert!(matches!(
            display.bundle.richest(),
            crate::protocol::bundle::Rich::Image { mime: "image/png", .. }
        )),
        other => panic!("expected one display, got {other:?}"),
    }
}

#[test]
fn an_input_request_is_answered_once_echoed_in_the_cell_and_cleared_by_the_end() {
    let mut s = connected();
    let a = s.add_cell("name = input('Name? ')");
    s.evaluate(a);
    s.apply(&Event::InputRequested {
        session: ID,
        evaluation_ref: Some(a.evaluation_ref()),
        prompt: "Name? ".into(),
        password: false,
    });
    assert_eq!(s.input.as_ref().map(|r| r.cell), Some(Some(a)));
    let commands = s.answer_input(Some("Ada".into()));
    assert!(matches!(commands.as_slice(), [Command::Input { value: Some(v), .. }] if v == "Ada"));
    assert_eq!(s.cell(a).unwrap().output.text(), "Name? Ada\n");
    assert!(s.answer_input(Some("again".into())).is_empty(), "answered once");

    s.apply(&Event::InputRequested {
        session: ID,
        evaluation_ref: Some(a.evaluation_ref()),
        prompt: "Password: ".into(),
        password: true,
    });
    s.answer_input(Some("secret".into()));
    assert!(!s.cell(a).unwrap().output.text().contains("secret"));

    s.apply(&Event::InputRequested {
        session: ID,
        evaluation_ref: Some(a.evaluation_ref()),
        prompt: "More? ".into(),
        password: false,
    });
    s.apply(&finished(&a.evaluation_ref(), ok()));
    assert_eq!(s.input, None, "the evaluation ended: nothing to answer");
}

fn failed() -> Outcome {
    Outcome::Error(crate::protocol::EvalError {
        kind: "NameError".into(),
        message: "name 'x' is not defined".into(),
        line: Some(1),
        column: None,
        frames: Vec::new(),
        formatted: String::new(),
    })
}

#[test]
fn cells_that_chain_from_a_failed_cell_are_not_evaluated_and_say_which_failed() {
    let mut s = connected();
    let a = s.add_cell("a = 1");
    let b = s.add_cell("x");
    let c = s.add_cell("a + 1");
    let d = s.add_cell("a + 2");
    let commands = s.evaluate(d);
    assert_eq!(evaluations(&commands).len(), 1);
    s.apply(&finished(&a.evaluation_ref(), ok()));
    let commands = s.apply(&finished(&b.evaluation_ref(), failed()));
    assert!(
        evaluations(&commands).is_empty(),
        "nothing below the error runs: {commands:?}"
    );
    for id in [c, d] {
        let cell = s.cell(id).unwrap();
        assert_eq!(cell.state, CellState::NotEvaluated { failed: 2 });
        assert!(!s.is_queued(id));
    }
    assert_eq!(s.cell(b).unwrap().state.label(), "error");
    // Evaluated again, the skipped cells run, chained from the errored one.
    let commands = s.evaluate(d);
    assert_eq!(evaluations(&commands), [(c.evaluation_ref(), Some(b.evaluation_ref()))]);
    assert!(s.is_queued(d));
}

#[test]
fn evaluating_only_the_cell_leaves_the_cells_above_alone_and_marks_it_stale() {
    let mut s = connected();
    let a = s.add_cell("a = 1");
    let b = s.add_cell("a + 1");
    s.evaluate_above = false;
    let commands = s.evaluate(b);
    assert_eq!(
        evaluations(&commands),
        [(b.evaluation_ref(), Some(a.evaluation_ref()))],
        "only the cell, from the context the cell above has (none yet)"
    );
    assert_eq!(s.cell(a).unwrap().state, CellState::Fresh);
    s.apply(&finished(&b.evaluation_ref(), ok()));
    assert_eq!(
        s.cell(b).unwrap().state,
        CellState::Stale,
        "the cell above never ran: its result does not match the notebook"
    );
    // Evaluate all still brings everything up to date, in order.
    let commands = s.evaluate_all();
    assert_eq!(evaluations(&commands), [(a.evaluation_ref(), None)]);
    s.apply(&finished(&a.evaluation_ref(), ok()));
    s.apply(&finished(&b.evaluation_ref(), ok()));
    assert_eq!(s.cell(b).unwrap().state.label(), "evaluated");
    // With everything above up to date, a cell run alone is not stale.
    s.evaluate_above = true;
    s.evaluate_only(b);
    s.apply(&finished(&b.evaluation_ref(), ok()));
    assert_eq!(s.cell(b).unwrap().state.label(), "evaluated");
}

#[test]
fn a_kind_change_makes_the_cells_below_stale_and_undo_brings_the_cell_back() {
    let mut s = connected();
    let a = s.add_cell("x = 1");
    let b = s.add_cell("x");
    s.evaluate(b);
    s.apply(&Event::Output {
        session: ID,
        evaluation_ref: Some(a.evaluation_ref()),
        stream: Stream::Stdout,
        text: "hi\n".into(),
    });
    s.apply(&finished(&a.evaluation_ref(), ok()));
    s.apply(&finished(&b.evaluation_ref(), ok()));
    let count = s.cell(a).unwrap().execution_count;
    assert!(count.is_some());
    s.set_kind(a, CellKind::Markdown);
    assert_eq!(s.cell(a).unwrap().kind, CellKind::Markdown);
    assert_eq!(s.cell(a).unwrap().state, CellState::Fresh);
    assert!(s.cell(a).unwrap().output.is_empty(), "a Markdown cell shows no output");
    assert_eq!(s.cell(b).unwrap().state, CellState::Stale);
    assert!(s.can_undo_delete());
    s.undo_delete();
    let back = s.cell(a).unwrap();
    assert_eq!(back.kind, CellKind::Code);
    assert_eq!((back.state.clone(), back.execution_count), (CellState::Stale, count));
    assert_eq!(back.output.text(), "hi\n", "its output is back");
}

/// What a completion request for `cell` asks in, next to what the queue
/// sends when it evaluates the cell: they must be the same context.
fn completion_chain(s: &mut Session, cell: CellId) -> (String, Option<String>, Option<String>) {
    match s.complete(cell, 0) {
        Some(Command::Complete { request, .. }) => {
            (request.container, request.prev_evaluation_ref, request.prev_container)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn completion_asks_in_the_context_an_evaluation_of_the_cell_would_start_from() {
    let mut s = connected();
    let first = s.add_section("Setup");
    let a = s.insert_cell(first, None, CellKind::Code, "import os".into());
    let second = s.add_section("Analysis");
    let md = s.insert_cell(second, None, CellKind::Markdown, "# Notes".into());
    let b = s.insert_cell(second, Some(md), CellKind::Code, "os.pa".into());
    let c = s.insert_cell(second, Some(b), CellKind::Code, "y".into());
    assert!(s.complete(md, 0).is_none(), "Markdown is not completed");
    for cell in [a, b, c] {
        let asked = completion_chain(&mut s, cell);
        let commands = s.evaluate_only(cell);
        let sent = commands.iter().find_map(|command| match command {
            Command::Evaluate { evaluation, .. } => Some((
                evaluation.container.clone(),
                evaluation.prev_evaluation_ref.clone(),
                evaluation.prev_container.clone(),
            )),
            _ => None,
        });
        assert_eq!(Some(asked), sent, "cell {cell:?}");
        s.apply(&finished(&cell.evaluation_ref(), ok()));
    }
    // The cursor is in characters and clamped to the code.
    match s.complete(b, 99) {
        Some(Command::Complete { request, .. }) => assert_eq!((request.code.as_str(), request.cursor), ("os.pa", 5)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_the_answer_to_the_latest_request_is_kept() {
    use crate::manager::{Completion, CompletionKind};
    let mut s = connected();
    let section = s.add_section("S");
    let cell = s.insert_cell(section, None, CellKind::Code, "pri".into());
    let id_of = |command: Option<Command>| match command {
        Some(Command::Complete { request, .. } | Command::Inspect { request, .. }) => request.id,
        other => panic!("{other:?}"),
    };
    let older = id_of(s.complete(cell, 3));
    let newer = id_of(s.complete(cell, 3));
    assert!(newer > older, "ids increase");
    let answer = |id: u64, text: &str| Event::Completions {
        session: ID,
        id,
        start: 0,
        end: 3,
        matches: vec![Completion {
            text: text.into(),
            kind: CompletionKind::Function,
            signature: None,
        }],
    };
    s.apply(&answer(newer, "print"));
    s.apply(&answer(older, "stale"));
    let kept = s.completions().expect("the latest answer is kept");
    assert_eq!(
        (kept.id, kept.cell, kept.matches[0].text.as_str()),
        (newer, cell, "print")
    );
    s.dismiss_completions();
    s.apply(&answer(newer, "print"));
    assert!(s.completions().is_none(), "an answer after the popup closed is dropped");

    let asked = id_of(s.inspect(cell, 1, 0));
    s.apply(&Event::Documentation {
        session: ID,
        id: asked,
        found: true,
        bundle: crate::protocol::Bundle::plain("print(*args)"),
    });
    assert!(
        s.documentation()
            .is_some_and(|d| d.found && d.bundle.text() == "print(*args)")
    );
}

/// Livebook's branching sections: a branch chains from its parent section
/// and runs beside the main flow, which skips it and is never held up by it.
#[test]
fn a_branch_runs_beside_the_main_flow_and_chains_from_its_parent() {
    let text = "# N\n\n## A\n\n```elixir\na = 1\n```\n\n\
                <!-- livebook:{\"branch_parent_index\":0} -->\n\n## B\n\n```elixir\nb1\n```\n\n```elixir\nb2\n```\n\n\
                ## C\n\n```elixir\nc1\n```\n";
    let notebook = crate::notebook::parse(crate::notebook::Format::Livemd, text).unwrap();
    let mut s = Session::from_notebook(ID, "n", RuntimeConfig::elixir(), &notebook);
    s.connect();
    s.apply(&Event::Connected {
        session: ID,
        info: info(),
    });
    let ids: Vec<CellId> = s.cells().map(|c| c.id).collect();
    let (a, b1, b2, c1) = (ids[0], ids[1], ids[2], ids[3]);
    let sent = |commands: &[Command]| -> Vec<(CellId, bool, Option<String>, Option<String>)> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Evaluate { evaluation, .. } | Command::EvaluateBranch { evaluation, .. } => Some((
                    CellId::from_ref(&evaluation.evaluation_ref).unwrap(),
                    matches!(c, Command::EvaluateBranch { .. }),
                    evaluation.prev_evaluation_ref.clone(),
                    evaluation.prev_container.clone(),
                )),
                _ => None,
            })
            .collect()
    };
    let container = |i: usize| s.sections[i].id.container();
    let (ca, cb) = (container(0), container(1));
    // Everything queued; only the parent's cell can start.
    assert_eq!(sent(&s.evaluate_all()), [(a, false, None, None)]);
    // The parent done: the branch and the section after it start together, both from the parent.
    let next = sent(&s.apply(&finished(&a.evaluation_ref(), ok())));
    assert_eq!(
        next,
        [
            (b1, true, Some(a.evaluation_ref()), Some(ca.clone())),
            (c1, false, Some(a.evaluation_ref()), Some(ca.clone()))
        ]
    );
    assert_eq!(s.status(), Status::Evaluating);
    // The main flow finishes while the branch runs.
    assert!(sent(&s.apply(&finished(&c1.evaluation_ref(), ok()))).is_empty());
    assert!(matches!(s.cell(c1).unwrap().state, CellState::Evaluated { .. }));
    assert_eq!(s.status(), Status::Evaluating, "the branch still runs");
    assert!(s.can_interrupt());
    // The branch's next cell chains from its first, in its own container.
    let next = sent(&s.apply(&finished(&b1.evaluation_ref(), ok())));
    assert_eq!(next, [(b2, true, Some(b1.evaluation_ref()), None)]);
    assert_eq!(s.chain_of(b2).container, cb);
    assert!(sent(&s.apply(&finished(&b2.evaluation_ref(), ok()))).is_empty());
    assert_eq!(s.status(), Status::Idle);
    // Evaluating the main flow's cell does not queue the branch above it.
    s.set_code(c1, "c1 + 1".into());
    assert_eq!(sent(&s.evaluate(c1)), [(c1, false, Some(a.evaluation_ref()), Some(ca))]);
}
