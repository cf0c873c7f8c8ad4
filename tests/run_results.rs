//! Results that match Jupyter's (issue #17, point 3), with real runtimes:
//! output in program order, `sys.exit` as a cell's error, a byte-order mark,
//! and Livebook's branching sections evaluated beside the main flow.
//!
//! The Elixir cases fail when `elixir` is missing; `RUNYARD_SKIP_ELIXIR=1`
//! skips them on purpose.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Output as Exit};
use std::time::{Duration, Instant};

use common::*;
use runyard::notebook::{self, CellKind};
use runyard::{Evaluation, Event, Outcome, RuntimeConfig, SessionId};

const S: SessionId = SessionId(1);

/// `print` buffers; `os.write`, `os.system` and subprocesses write to the fd
/// at once. Nothing here flushes by hand.
const ORDER_CODE: &str = "import os, subprocess, sys\n\
                          print('one')\n\
                          os.write(1, b'two\\n')\n\
                          print('three')\n\
                          subprocess.run(['echo', 'four'])\n\
                          print('five')\n\
                          os.system('echo six')\n\
                          print('seven', end='')\n\
                          print()\n\
                          print('e1', file=sys.stderr)\n\
                          os.write(2, b'e2\\n')\n\
                          print('e3', file=sys.stderr)\n\
                          subprocess.run(['sh', '-c', 'echo e4 >&2'])\n\
                          done = True\n";
const ORDER_OUT: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n";
const ORDER_ERR: &str = "e1\ne2\ne3\ne4\n";

fn elixir_config() -> RuntimeConfig {
    RuntimeConfig::elixir().with_executable(common::elixir::elixir_exe())
}

#[test]
fn print_os_write_and_subprocesses_arrive_in_program_order_every_time() {
    let mut h = Harness::new();
    h.connect(S, python_config());
    for run in 0..20 {
        let result = h.eval(S, &format!("o{run}"), None, ORDER_CODE);
        assert!(matches!(result.outcome, Outcome::Ok { .. }), "{result:?}");
        assert_eq!(result.stdout, ORDER_OUT, "run {run}");
        assert_eq!(result.stderr, ORDER_ERR, "run {run}");
    }
    // A multiprocessing-style fork and a user stream whose flush writes to fd 1 (no endless recursion).
    let code = "import os, sys\n\
                print('before fork')\n\
                pid = os.fork()\n\
                if pid == 0:\n    os.write(1, b'child\\n'); os._exit(0)\n\
                os.waitpid(pid, 0)\n\
                class Loud:\n    def write(self, s): return sys.__stdout__.write(s)\n    def flush(self): os.write(1, b'')\n\
                sys.stdout = Loud()\n\
                print('through a user stream')\n\
                os.write(1, b'after\\n')\n\
                sys.stdout = sys.__stdout__\n";
    let result = h.eval(S, "fork", None, code);
    assert!(matches!(result.outcome, Outcome::Ok { .. }), "{result:?}");
    assert_eq!(result.stdout, "before fork\nchild\nthrough a user stream\nafter\n");
}

#[test]
fn sys_exit_and_system_exit_are_the_cells_error_and_the_runtime_stays() {
    let mut h = Harness::new();
    h.connect(S, python_config());
    let kept = h.eval(S, "kept", None, "x = 41\nimport os\nos.getpid()");
    let pid = kept.value().unwrap().to_string();
    for (n, (code, message)) in [
        ("import sys\nprint('bye')\nsys.exit(0)", "0"),
        ("import sys\nsys.exit(3)", "3"),
        ("import sys\nsys.exit()", ""),
        ("raise SystemExit", ""),
        ("raise SystemExit('why')", "why"),
        ("exit(5)", "5"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = format!("exit{n}");
        let result = h.eval(S, &r, Some("kept"), code);
        let error = result.error();
        assert_eq!(error.kind, "SystemExit", "{code}: {error:?}");
        assert_eq!(error.message, message, "{code}");
        assert!(error.formatted.contains("SystemExit"), "{code}: {error:?}");
        assert!(error.line.is_some(), "{code}: the line that exited is named: {error:?}");
        if n == 0 {
            assert_eq!(result.stdout, "bye\n");
        }
        // Same process, context intact.
        let after = h.eval(S, &format!("after{n}"), Some("kept"), "x + 1, os.getpid()");
        assert_eq!(after.value(), Some(format!("(42, {pid})").as_str()));
    }
    assert!(
        h.drain_matching(Duration::from_millis(200), |e| matches!(e, Event::NodeDown { .. }))
            .is_empty(),
        "no node down"
    );
}

#[test]
fn a_byte_order_mark_at_the_start_of_a_cell_is_not_code() {
    let mut h = Harness::new();
    h.connect(S, python_config());
    let result = h.eval(S, "bom", None, "\u{feff}x = 1\nx + 1");
    assert_eq!(result.value(), Some("2"));
}

#[test]
fn elixir_puts_and_system_cmd_into_a_stream_keep_their_order() {
    if common::elixir::skip() {
        return;
    }
    let mut h = Harness::new();
    h.connect(S, elixir_config());
    let code = "IO.puts(\"one\")\n\
                System.cmd(\"echo\", [\"two\"], into: IO.stream())\n\
                IO.write(\"three\\n\")\n\
                System.shell(\"echo four; echo five >&2\", into: IO.stream(), stderr_to_stdout: true)\n\
                IO.puts(\"six\")\n\
                :ok";
    for run in 0..10 {
        let result = h.eval(S, &format!("o{run}"), None, code);
        assert_eq!(result.value(), Some(":ok"), "{result:?}");
        assert_eq!(result.stdout, "one\ntwo\nthree\nfour\nfive\nsix\n", "run {run}");
    }
}

fn branch(h: &Harness, container: &str, evaluation_ref: &str, prev: (&str, &str), code: &str) {
    h.manager.evaluate_branch(
        S,
        Evaluation {
            container: container.into(),
            evaluation_ref: evaluation_ref.into(),
            prev_evaluation_ref: Some(prev.1.into()),
            prev_container: Some(prev.0.into()),
            code: code.into(),
            file: format!("cell {evaluation_ref}"),
            options: None,
        },
    );
}

/// The agent runs a branch's evaluation beside the main flow: the main flow
/// goes on while the branch sleeps, each output is tagged with its own
/// evaluation, the branch starts from its parent's bindings, and an
/// interrupt stops the branch with the contexts kept.
#[test]
fn an_elixir_branch_runs_beside_the_main_flow() {
    if common::elixir::skip() {
        return;
    }
    let mut h = Harness::new();
    h.connect(S, elixir_config());
    assert_eq!(h.eval(S, "p", None, "x = 20").value(), Some("20"));
    branch(
        &h,
        "b",
        "b1",
        ("main", "p"),
        "IO.puts(\"branch starts\")\nProcess.sleep(300_000)",
    );
    // Give the branch time to start and print.
    let started = h.wait_for("the branch's output", |e| match e {
        Event::Output {
            evaluation_ref: Some(r),
            text,
            ..
        } if r == "b1" => Some(text.clone()),
        _ => None,
    });
    assert_eq!(started, "branch starts\n");
    let t0 = Instant::now();
    let main = h.eval(S, "m2", Some("p"), "IO.puts(\"main goes on\")\nx + 1");
    assert_eq!(main.value(), Some("21"));
    assert_eq!(
        main.stdout, "main goes on\n",
        "the branch's output is not the main flow's"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    // A second branch from the same parent, finishing on its own.
    branch(&h, "c", "c1", ("main", "p"), "IO.puts(\"c\")\nx * 2");
    let c = h.finish(S, "c1");
    assert_eq!(c.value(), Some("40"));
    assert_eq!(c.stdout, "c\n");
    // Interrupt: the sleeping branch stops; the runtime and contexts stay.
    h.manager.send(runyard::Command::Interrupt { session: S });
    let stopped = h.finish(S, "b1");
    assert!(matches!(stopped.outcome, Outcome::Interrupted(_)), "{stopped:?}");
    assert_eq!(h.eval(S, "m3", Some("m2"), "x").value(), Some("20"));
    // The branch container evaluates again after the interrupt.
    branch(&h, "b", "b2", ("main", "p"), "x + 2");
    assert_eq!(h.finish(S, "b2").value(), Some("22"));
}

// ---------------------------------------------------------------------------
// `runyard run`
// ---------------------------------------------------------------------------

fn runyard(args: &[&str]) -> Exit {
    let mut command = Proc::new(env!("CARGO_BIN_EXE_runyard"));
    command.args(args);
    if let Ok(elixir) = std::env::var("RUNYARD_TEST_ELIXIR") {
        command.args(["--elixir", &elixir]);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn runyard_run_streams_and_saves_output_in_program_order_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "order.py", format!("# %%\n{ORDER_CODE}").as_bytes());
    let out = dir.path().join("order.ipynb");
    let (script, out) = (script.to_str().unwrap(), out.to_str().unwrap());
    for run in 0..20 {
        let streamed = runyard(&["run", script]);
        assert!(streamed.status.success(), "{}", text(&streamed.stderr));
        assert_eq!(text(&streamed.stdout), ORDER_OUT, "run {run}");
        assert!(
            text(&streamed.stderr).contains(ORDER_ERR),
            "run {run}: {}",
            text(&streamed.stderr)
        );

        let saved = runyard(&["run", script, "--output", out]);
        assert!(saved.status.success(), "{}", text(&saved.stderr));
        let nb = notebook::open(Path::new(out)).unwrap();
        let cell = nb
            .sections
            .iter()
            .flat_map(|s| &s.cells)
            .find(|c| c.kind == CellKind::Code)
            .unwrap();
        let texts: Vec<String> = cell.outputs.iter().map(|o| o.display_text()).collect();
        assert_eq!(texts, [ORDER_OUT, ORDER_ERR], "run {run}");
    }
}

#[test]
fn runyard_run_reports_sys_exit_as_a_failed_cell_not_a_dead_runtime() {
    let dir = tempfile::tempdir().unwrap();
    for (code, status) in [("sys.exit(3)", "SystemExit: 3"), ("sys.exit(0)", "SystemExit: 0")] {
        let script = write(
            dir.path(),
            "exit.py",
            format!("# %%\nimport sys\nprint('before')\n{code}\n# %%\nprint('never')\n").as_bytes(),
        );
        let run = runyard(&["run", script.to_str().unwrap()]);
        let (out, err) = (text(&run.stdout), text(&run.stderr));
        assert_eq!(run.status.code(), Some(1), "{code}: {err}");
        assert_eq!(out, "before\n", "{code}");
        assert!(err.contains(status), "{code}: {err}");
        assert!(!err.contains("terminated unexpectedly"), "{code}: {err}");
    }
}

#[test]
fn runyard_run_accepts_a_script_with_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("plain.py", "print('bom ok')\nx = 1\n"),
        ("cells.py", "# %%\nprint('bom ok')\n# %%\nx = 1\n"),
    ] {
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend_from_slice(body.as_bytes());
        let script = write(dir.path(), name, &bytes);
        let run = runyard(&["run", script.to_str().unwrap()]);
        assert!(run.status.success(), "{name}: {}", text(&run.stderr));
        assert_eq!(text(&run.stdout), "bom ok\n", "{name}");
    }
}

/// Livebook's own tutorial waits 300 s in a branch: the main flow must not
/// wait for it, and the run ends soon after with the branch stopped and
/// saying so (tests/fixtures/branching.livemd has the same shape).
#[test]
fn runyard_run_does_not_wait_for_a_branching_section() {
    if common::elixir::skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/branching.livemd");
    let input = dir.path().join("branching.livemd");
    std::fs::copy(&fixture, &input).unwrap();
    let out = dir.path().join("out.livemd");
    let t0 = Instant::now();
    let run = runyard(&["run", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    let took = t0.elapsed();
    let err = text(&run.stderr);
    assert!(run.status.success(), "{err}");
    // Start-up, the main flow, the grace period and the interrupt: far from 300 s.
    assert!(took < Duration::from_secs(40), "{took:?}: {err}");
    let nb = notebook::open(&out).unwrap();
    let outputs = |section: usize, cell: usize| -> Vec<String> {
        let cells: Vec<_> = nb.sections[section]
            .cells
            .iter()
            .filter(|c| c.kind == CellKind::Code)
            .collect();
        cells[cell].outputs.iter().map(|o| o.display_text()).collect()
    };
    assert_eq!(outputs(0, 0), ["\"from the parent\""]);
    assert_eq!(
        outputs(1, 0),
        ["branch sees: from the parent", ":ok"],
        "the branch starts from its parent"
    );
    assert_eq!(outputs(2, 0), ["main flow goes on", "\"from the parent, still\""]);
    assert_eq!(outputs(3, 0), ["\"FROM THE PARENT\""]);
    let stopped = outputs(1, 1);
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert!(
        stopped[0].contains("stopped: this branching section was still running"),
        "{stopped:?}"
    );
    assert!(err.contains("stopped (branch still running)"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&input).unwrap(),
        std::fs::read_to_string(&fixture).unwrap(),
        "the input is untouched"
    );

    // Streaming: the main flow's output, then the branches'.
    let streamed = runyard(&["run", input.to_str().unwrap()]);
    assert!(streamed.status.success(), "{}", text(&streamed.stderr));
    let stdout = text(&streamed.stdout);
    let main_at = stdout.find("main flow goes on").expect(&stdout);
    let branch_at = stdout.find("branch sees: from the parent").expect(&stdout);
    assert!(main_at < branch_at, "{stdout}");

    // --json: the branches' cells have their events too, the stopped one
    // finishing "interrupted", and run_finished is the last line.
    let json = runyard(&["run", input.to_str().unwrap(), "--json"]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let events: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    let finished = |cell: u64| {
        events
            .iter()
            .find(|e| e["event"] == "cell_finished" && e["cell"] == cell)
            .unwrap_or_else(|| panic!("no cell_finished for cell {cell}: {events:?}"))
    };
    // Code cells: 1 Setup, 2–3 the sleeping branch, 4 after it, 5 the short branch.
    for cell in 1..=5 {
        assert!(
            events.iter().any(|e| e["event"] == "cell_started" && e["cell"] == cell),
            "cell {cell} started: {events:?}"
        );
    }
    assert_eq!(finished(2)["status"], "ok");
    assert_eq!(finished(3)["status"], "interrupted", "the 300 s sleep was stopped");
    assert_eq!(finished(5)["status"], "ok");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "output" && e["cell"] == 2 && e["text"] == "branch sees: from the parent\n"),
        "{events:?}"
    );
    assert_eq!(events.last().unwrap()["event"], "run_finished");
}

/// A failing cell in a branch fails the run, as any cell does.
#[test]
fn runyard_run_fails_when_a_branch_fails() {
    if common::elixir::skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "failing.livemd",
        b"# Failing branch\n\n## Main\n\n```elixir\nx = 1\n```\n\n\
          <!-- livebook:{\"branch_parent_index\":0} -->\n\n## Branch\n\n```elixir\nraise \"boom\"\n```\n\n\
          ## After\n\n```elixir\nx + 1\n```\n",
    );
    let run = runyard(&["run", input.to_str().unwrap()]);
    let (out, err) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(1), "{out}{err}");
    assert!(out.contains('2'), "the main flow ran: {out}");
    assert!(err.contains("boom"), "{err}");
}

/// The window: Evaluate all on a notebook with a branch that sleeps 300 s;
/// the section after the branch is evaluated while the branch still runs,
/// and the branch starts from its parent's bindings.
#[test]
fn the_window_evaluates_later_sections_while_a_branch_runs() {
    use runyard::session::CellState;
    if common::elixir::skip() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("branching.livemd");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/branching.livemd"),
        &path,
    )
    .unwrap();
    let mut w = common::window::Window::open_with(tempfile::tempdir().unwrap(), vec![path]);
    w.harness.run_steps(2);
    let index_of = |w: &common::window::Window, text: &str| {
        w.app().sessions[0].cells().position(|c| c.code.contains(text)).unwrap()
    };
    let (sleeping, after, branch_first) = (
        index_of(&w, "Process.sleep"),
        index_of(&w, "main flow goes on"),
        index_of(&w, "branch sees"),
    );
    let t0 = Instant::now();
    w.harness
        .key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::Enter);
    w.harness.step();
    w.wait_until("the section after the branch to be evaluated", |app| {
        matches!(
            app.sessions[0].nth_cell(after).unwrap().state,
            CellState::Evaluated { .. }
        )
    });
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    assert!(
        matches!(w.cell_state(sleeping), CellState::Evaluating { .. }),
        "the branch still runs: {:?}",
        w.cell_state(sleeping)
    );
    assert!(matches!(w.cell_state(branch_first), CellState::Evaluated { .. }));
    assert_eq!(
        w.app().sessions[0].nth_cell(branch_first).unwrap().result,
        Some(runyard::session::CellResult::Value(
            runyard::session::outputs::Display::plain(":ok")
        )),
        "the branch saw its parent's bindings"
    );
    // Interrupt stops the branch; the runtime stays.
    w.click("Interrupt");
    w.wait_until("the branch to stop", |app| {
        !matches!(
            app.sessions[0].nth_cell(sleeping).unwrap().state,
            CellState::Evaluating { .. }
        )
    });
    assert_eq!(w.status(), runyard::session::Status::Idle);
}
