//! The real window, headless (egui_kittest), with the real manager and real
//! `python3` runtimes, driven by labels as a user would.

mod common;

use std::time::Duration;

use common::window::Window;
use common::{alive, kill9, wait_gone};
use egui_kittest::kittest::{Queryable, by};
use runyard::session::{BannerKind, CellResult, CellState, Status};
use runyard::settings::Dirs;

#[test]
fn a_new_user_creates_a_session_and_evaluates_a_cell() {
    let mut w = Window::open();
    w.harness.run();
    // The welcome offers the first step.
    w.harness.get_by_label("Welcome to Runyard");
    w.click("New Python session");
    assert_eq!(w.app().sessions.len(), 1);
    assert_eq!(w.status(), Status::Disconnected);
    assert_eq!(
        w.harness.query_all_by_label("disconnected").count(),
        2,
        "in the list and in the panel"
    );

    // Evaluating in a disconnected session starts its runtime first (lazy start).
    w.evaluate_code(1, "total = sum(range(10))\nprint('the total is', total)\ntotal * 2");
    w.wait_until("the cell to finish", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    assert_eq!(w.status(), Status::Idle);
    w.harness.get_by_label("the total is 45");
    w.harness.get_by_label("90");
    let info = w.app().sessions[0].node_info().unwrap().clone();
    w.harness.get_by_label(&info.name);
    w.harness.get_by_label(&info.pid.to_string());
    assert!(alive(info.pid));
}

#[test]
fn disconnect_then_reconnect() {
    let mut w = Window::open();
    w.click("New Python session");
    w.click("Connect");
    w.wait_until("connected", |app| app.sessions[0].status() == Status::Idle);
    let first = w.app().sessions[0].node_info().unwrap().pid;
    w.click("Disconnect");
    w.wait_until("disconnected", |app| app.sessions[0].status() == Status::Disconnected);
    assert!(
        wait_gone(&[first], Duration::from_secs(5)).is_empty(),
        "the runtime process is gone"
    );
    assert!(
        w.app().sessions[0].banner.is_none(),
        "a disconnect asked for shows no banner"
    );
    w.click("Connect");
    w.wait_until("connected again", |app| app.sessions[0].status() == Status::Idle);
    w.click("Reconnect");
    w.wait_until("reconnected", |app| {
        app.sessions[0].status() == Status::Idle && app.sessions[0].node_info().is_some_and(|i| i.pid != first)
    });
}

#[test]
fn a_killed_runtime_shows_the_node_down_banner_and_reconnect_brings_it_back() {
    let mut w = Window::open();
    w.click("New Python session");
    w.evaluate_code(1, "x = 1\nprint('kept')");
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    let pid = w.app().sessions[0].node_info().unwrap().pid;
    kill9(pid);
    w.wait_until("node down", |app| app.sessions[0].status() == Status::NodeDown);
    let banner = w.app().sessions[0].banner.clone().expect("a banner");
    assert_eq!(banner.kind, BannerKind::NodeDown);
    w.harness
        .get_by_label_contains("The runtime node terminated unexpectedly");
    w.harness.get_by_label_contains("SIGKILL");
    assert_eq!(w.cell_state(0), CellState::Aborted);
    w.harness.get_by_label("kept");
    w.harness.get_by_label("aborted");

    // The banner's Reconnect (the runtime panel has one too, so pick the banner's: the first).
    w.harness.get_all_by_label("Reconnect").next().unwrap().click();
    w.wait_until("reconnected", |app| app.sessions[0].status() == Status::Idle);
    assert!(w.app().sessions[0].banner.is_none(), "reconnecting clears the banner");
}

#[test]
fn a_missing_executable_shows_the_init_error_banner_with_retry_and_configure() {
    // An interpreter that is there when configured and gone by the start
    // (the dialog refuses one that is missing already).
    let dir = tempfile::tempdir().unwrap();
    let python = common::script(dir.path(), "python-soon-gone", "#!/bin/sh\nexit 1\n");
    let path = python.to_str().unwrap().to_string();
    let mut w = Window::open();
    w.click("New Python session");
    w.click("Configure…");
    let executable = w
        .harness
        .get(by().predicate(|node| node.placeholder() == Some("python3")));
    executable.focus();
    w.harness.step();
    w.harness
        .get(by().predicate(|node| node.placeholder() == Some("python3")))
        .type_text(&path);
    w.harness.step();
    w.click("Apply");
    assert_eq!(w.app().sessions[0].config.executable(), path);
    std::fs::remove_file(&python).unwrap();
    w.click("Connect");
    w.wait_until("init failed", |app| app.sessions[0].status() == Status::InitFailed);
    w.harness.get_by_label(&format!("{path} does not exist."));
    w.harness.get_by_label("Retry");
    w.click("Configure");
    w.harness.get_by_label("Runtime settings");
}

#[test]
fn invalid_runtime_settings_are_refused_in_the_dialog() {
    let mut w = Window::open();
    w.click("New Python session");
    w.click("Configure…");
    w.harness
        .get(by().predicate(|node| node.placeholder() == Some("python3")))
        .focus();
    w.harness.step();
    w.harness
        .get(by().predicate(|node| node.placeholder() == Some("python3")))
        .type_text("/no/such/python");
    w.harness.step();
    w.click("Apply");
    w.harness.get_by_label("/no/such/python does not exist");
    assert_eq!(
        w.app().sessions[0].config.executable(),
        "python3",
        "nothing was applied"
    );
    // Edited, the old refusal goes; what is said is about the new text.
    let field = |value: &'static str| {
        by().role(egui::accesskit::Role::TextInput)
            .predicate(move |node| node.value().as_deref() == Some(value))
    };
    w.harness
        .get(field("/no/such/python"))
        .set_text_value_accesskit("/no/such/python3");
    w.harness.run_steps(2);
    assert!(w.harness.query_by_label("/no/such/python does not exist").is_none());
    w.harness.get_by_label("/no/such/python3 does not exist");
    // A bare name is looked up in PATH when applied.
    w.harness
        .get(field("/no/such/python3"))
        .set_text_value_accesskit("no-such-python-anywhere");
    w.harness.run_steps(2);
    w.click("Apply");
    w.harness
        .get_by_label_contains("such-python-anywhere was not found in PATH");
    assert_eq!(w.app().sessions[0].config.executable(), "python3");
}

#[test]
fn interrupt_stops_a_sleeping_cell() {
    let mut w = Window::open();
    w.click("New Python session");
    w.evaluate_code(1, "import time\ntime.sleep(1000)");
    w.wait_until("evaluating", |app| app.sessions[0].status() == Status::Evaluating);
    w.click("Interrupt");
    w.wait_until("interrupted", |app| {
        app.sessions[0].nth_cell(0).unwrap().state == CellState::Interrupted
    });
    assert!(matches!(
        w.app().sessions[0].nth_cell(0).unwrap().result,
        Some(CellResult::Interrupted(_))
    ));
    assert_eq!(w.status(), Status::Idle);
    w.harness.get_by_label("Interrupted");
}

#[test]
fn shut_down_all_asks_first_then_stops_every_runtime() {
    let mut w = Window::open();
    for _ in 0..2 {
        w.new_session_from_list();
        w.click("Connect");
    }
    w.wait_until("both connected", |app| {
        app.sessions.iter().all(|s| s.status() == Status::Idle)
    });
    let pids: Vec<u32> = w.app().sessions.iter().map(|s| s.node_info().unwrap().pid).collect();
    w.click("Runtimes");
    w.click("Runtimes overview");
    assert_eq!(
        w.harness.query_all_by_label("Runtimes").count(),
        2,
        "the menu and the window's title"
    );
    w.click("Shut down all…");
    w.harness.get_by_label("Shut down all runtimes?");
    w.click("Cancel");
    assert!(pids.iter().all(|&p| alive(p)), "cancel changes nothing");
    w.click("Shut down all…");
    w.click("Shut down");
    w.wait_until("all disconnected", |app| {
        app.sessions.iter().all(|s| s.status() == Status::Disconnected)
    });
    assert!(wait_gone(&pids, Duration::from_secs(5)).is_empty());
}

#[test]
fn closing_a_session_or_the_app_stops_its_runtimes() {
    let mut w = Window::open();
    w.new_session_from_list();
    w.click("Connect");
    w.wait_until("connected", |app| app.sessions[0].status() == Status::Idle);
    let first = w.app().sessions[0].node_info().unwrap().pid;
    w.click_first("…"); // the sessions list is drawn first
    w.click("Close session");
    assert!(w.app().sessions.is_empty());
    assert!(
        wait_gone(&[first], Duration::from_secs(5)).is_empty(),
        "closing a session disconnects it"
    );

    w.new_session_from_list();
    w.click("Connect");
    w.wait_until("connected", |app| app.sessions[0].status() == Status::Idle);
    let second = w.app().sessions[0].node_info().unwrap().pid;
    drop(w);
    assert!(
        wait_gone(&[second], Duration::from_secs(5)).is_empty(),
        "no runtime outlives the app"
    );
}

#[test]
fn an_unreadable_settings_file_is_reported_once_and_kept() {
    let home = tempfile::tempdir().unwrap();
    let dirs = Dirs::under(home.path());
    std::fs::create_dir_all(&dirs.config).unwrap();
    std::fs::write(dirs.settings_file(), "{ not json").unwrap();
    let mut w = Window::open_in(home);
    w.harness.run();
    w.harness.get_by_label_contains("is not valid");
    let kept: Vec<_> = std::fs::read_dir(&dirs.config)
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert!(
        kept.iter().any(|e| std::fs::read(e.path()).unwrap() == b"{ not json"),
        "the old file is kept as a backup"
    );
    w.click("Dismiss");
    assert!(w.app().notice.is_none());
}

#[test]
fn rename_a_session() {
    let mut w = Window::open();
    w.click("New Python session");
    w.click_first("…"); // the sessions list is drawn first
    w.click("Rename");
    w.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    w.harness
        .get(by().value("Notebook 1").role(egui::accesskit::Role::TextInput))
        .type_text("Analysis");
    w.harness.step();
    w.harness.key_press(egui::Key::Enter);
    w.harness.step();
    w.harness.step();
    assert_eq!(w.app().sessions[0].name, "Analysis");
}

#[test]
fn an_elixir_session_evaluates_and_shows_its_node_cookie_and_memory_parts() {
    let mut w = Window::open();
    w.click("New Elixir session");
    w.evaluate_code(1, "Enum.sum(1..10)");
    w.wait_until("evaluated", |app| {
        matches!(
            app.sessions[0].nth_cell(0).unwrap().state,
            CellState::Evaluated { .. } | CellState::Errored { .. }
        )
    });
    assert_eq!(
        w.app().sessions[0].nth_cell(0).unwrap().result,
        Some(CellResult::Value(runyard::session::outputs::Display::plain("55")))
    );
    let info = w.app().sessions[0].node_info().unwrap().clone();
    assert!(info.name.starts_with("runyard-"), "{info:?}");
    let cookie = info.cookie.as_deref().expect("a cookie");
    w.harness.get_by_label(cookie);
    // How the owner gets a shell on the node, with its name and cookie.
    w.harness
        .get_by_label(&runyard::runtime::elixir::remsh_command(&info.name, cookie));
    w.wait_until("memory parts", |app| {
        app.sessions[0].memory().is_some_and(|m| m.parts.len() > 1)
    });
    w.harness.get_by_label_contains("processes");
}

#[test]
fn an_attached_session_asks_for_the_node_and_cookie() {
    let mut w = Window::open();
    w.click("New session attached to an Elixir node…");
    w.harness.get_by_label("Runtime settings");
    w.harness
        .get_by_label("Start your node with: iex --sname test --cookie mycookie -S mix");
    w.click("Apply");
    w.harness.get_by_label_contains("node name");
}

#[test]
fn a_failed_manager_shows_a_fatal_bar_and_a_new_one_can_be_started() {
    let mut w = Window::open();
    w.click("New Python session");
    w.evaluate_code(1, "x = 1");
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    let pid = w.app().sessions[0].node_info().unwrap().pid;
    w.app().inject_manager_panic();
    w.wait_until("the failure shown", |app| app.manager_failure.is_some());
    w.harness.get_by_label_contains("every runtime was stopped");
    w.harness
        .get_by_label_contains("The runtime was stopped because Runyard's runtime manager failed");
    assert!(
        wait_gone(&[pid], Duration::from_secs(10)).is_empty(),
        "the runtime was stopped"
    );
    assert_eq!(w.status(), Status::Disconnected);

    w.click("Restart the runtime manager");
    assert!(w.app().manager_failure.is_none());
    w.click("Connect");
    w.wait_until("connected to the new manager", |app| {
        app.sessions[0].status() == Status::Idle
    });
}

/// Text typed in the same frame as Shift+Enter (a fast typist) is part of
/// what runs: the code sent is the editor's text at the key press.
#[test]
fn text_typed_in_the_frame_of_shift_enter_is_evaluated() {
    let mut w = Window::open();
    w.click("New Python session");
    // Connected first, so that the evaluation is sent at once.
    w.evaluate_code(1, "x = 1");
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    let editor = || by().predicate(|node| node.placeholder() == Some("Code for cell 2"));
    w.harness.get(editor()).focus();
    w.harness.step();
    // Both in one frame's input, as a fast typist's events arrive (the
    // harness's own event queue would give each event a frame).
    let shift = egui::Modifiers::SHIFT;
    let events = &mut w.harness.input_mut().events;
    events.push(egui::Event::Text("print('typed fast, all of it')".into()));
    events.push(egui::Event::Key {
        key: egui::Key::Enter,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: shift,
    });
    w.harness.step();
    w.wait_until("evaluated", |app| {
        let cell = app.sessions[0].nth_cell(1).unwrap();
        !matches!(
            cell.state,
            CellState::Queued | CellState::Evaluating { .. } | CellState::Fresh
        )
    });
    let cell = w.app().sessions[0].nth_cell(1).unwrap();
    assert_eq!(cell.code, "print('typed fast, all of it')");
    assert_eq!(cell.output.text(), "typed fast, all of it\n", "state {:?}", cell.state);
    assert!(matches!(cell.state, CellState::Evaluated { .. }), "{:?}", cell.state);
}

/// A long output gets a box of its own that can be collapsed; a short one
/// is shown whole.
#[test]
fn a_long_output_can_be_collapsed_and_shown_again() {
    let mut w = Window::open();
    w.click("New Python session");
    w.evaluate_code(1, "for i in range(2000):\n    print(i)");
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(0).unwrap().state, CellState::Evaluated { .. })
    });
    w.harness.run_steps(2);
    w.click("Hide output (2000 lines)");
    assert!(w.harness.query_by_label("Show output (2000 lines)").is_some());
    w.click("Show output (2000 lines)");
    assert!(w.harness.query_by_label("Hide output (2000 lines)").is_some());
}

/// Livebook's rule: the cells queued below a failing cell are not evaluated,
/// and say which cell they wait for; "Evaluate only this cell" runs one alone.
#[test]
fn cells_below_a_failure_are_not_evaluated_and_one_cell_can_run_alone() {
    let mut w = Window::open();
    w.harness.run();
    w.click("New Python session");
    w.type_code(1, "a = 1");
    {
        let session = &mut w.harness.state_mut().sessions[0];
        session.add_cell("a + undefined_name");
        session.add_cell("a + 1");
    }
    w.harness.run_steps(2);
    w.harness
        .key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::Enter);
    w.harness.step();
    w.wait_until("the queue to settle", |app| {
        let s = &app.sessions[0];
        s.running().is_none() && matches!(s.nth_cell(1).unwrap().state, CellState::Errored { .. })
    });
    assert_eq!(w.cell_state(2), CellState::NotEvaluated { failed: 2 });
    w.harness.get_by_label("not evaluated: cell 2 above failed");

    // Run the third cell alone: its context comes from the failed cell's.
    // The last cell's actions menu is the last "…" drawn.
    let menus = w.harness.get_all_by_label("…").count();
    w.click_nth("…", menus - 1);
    w.click("Evaluate only this cell");
    w.wait_until("cell 3 to finish", |app| {
        matches!(
            app.sessions[0].nth_cell(2).unwrap().state,
            CellState::Evaluated { .. } | CellState::Stale
        )
    });
    w.harness.get_by_label("2");
}
