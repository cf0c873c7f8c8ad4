//! The session model without a window or a process: events are built by hand.

use super::*;
use crate::protocol::Stream;

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
        stderr_tail: String::new(),
    });
    assert_eq!(s.status(), Status::NodeDown);
    assert_eq!(enabled(&s), (true, false, true, false));

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
            value: Some("2".into()),
        },
    ));
    assert_eq!(s.cell(b).unwrap().result, Some(CellResult::Value("2".into())));
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
    assert_eq!(s.cells[0].state, CellState::Interrupted);
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
        stderr_tail: "Killed".into(),
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
