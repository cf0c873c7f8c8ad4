//! The engine with real `python3` runtimes: evaluation semantics, output,
//! errors, interrupts, concurrency and failures.

mod common;

use std::time::Duration;

use common::*;
use runyard::manager::DisconnectReason;
use runyard::{Command, Event, Outcome, SessionId};

const S: SessionId = SessionId(1);

fn connected() -> Harness {
    let mut h = Harness::new();
    h.connect(S, python_config());
    h
}

#[test]
fn handshake_reports_the_node_and_the_real_interpreter() {
    let mut h = Harness::new();
    let info = h.connect(S, python_config());
    assert!(info.name.starts_with("python-"), "{info:?}");
    assert_eq!(info.language, "python");
    assert!(info.language_version.starts_with('3'));
    assert!(alive(info.pid));
    let real = real_python();
    assert_eq!(
        info.executable, real,
        "a wrapper such as a pyenv shim is resolved to the real interpreter"
    );
}

#[test]
fn evaluations_chain_from_the_previous_one_and_reevaluation_sees_no_later_bindings() {
    let mut h = connected();
    assert_eq!(h.eval(S, "a", None, "x = 1").value(), None);
    assert_eq!(h.eval(S, "b", Some("a"), "y = x + 1\ny").value(), Some("2"));
    assert_eq!(
        h.eval(S, "c", Some("b"), "x = 100\nlater = True\nx + y").value(),
        Some("102")
    );
    // Re-evaluating b starts from a again: c's bindings are not there.
    let again = h.eval(S, "b", Some("a"), "(x, 'later' in globals())");
    assert_eq!(again.value(), Some("(1, False)"));
    // A fresh start sees nothing.
    let fresh = h.eval(S, "f", None, "x");
    assert_eq!(fresh.error().kind, "NameError");
    // Containers are separate flows.
    h.submit(S, "other", "o1", None, "'x' in globals()");
    assert_eq!(h.finish(S, "o1").value(), Some("False"));
}

#[test]
fn a_function_defined_in_an_earlier_cell_works_in_later_ones() {
    let mut h = connected();
    h.eval(S, "a", None, "base = 10\ndef add(n):\n    return base + n + offset\n");
    h.eval(S, "b", Some("a"), "offset = 5");
    assert_eq!(h.eval(S, "c", Some("b"), "add(1)").value(), Some("16"));
    // Classes and pickling of cell-defined objects work, as in a script's __main__.
    let pickled = h.eval(
        S,
        "d",
        Some("c"),
        "import pickle\nclass P:\n    def __init__(self, v): self.v = v\npickle.loads(pickle.dumps(P(3))).v",
    );
    assert_eq!(pickled.value(), Some("3"));
}

#[test]
fn forget_and_drop_free_stored_contexts() {
    let mut h = connected();
    h.eval(S, "a", None, "x = 1");
    h.eval(S, "b", Some("a"), "y = 2");
    h.manager.send(Command::ForgetEvaluation {
        session: S,
        container: "main".into(),
        evaluation_ref: "a".into(),
    });
    let after_forget = h.eval(S, "c", Some("a"), "x");
    assert_eq!(after_forget.error().kind, "RunyardError");
    assert_eq!(
        h.eval(S, "d", Some("b"), "y").value(),
        Some("2"),
        "forget frees only one context"
    );
    h.manager.send(Command::DropContainer {
        session: S,
        container: "main".into(),
    });
    assert_eq!(h.eval(S, "e", Some("b"), "y").error().kind, "RunyardError");
}

#[test]
fn syntax_errors_point_at_line_and_column() {
    let mut h = connected();
    let result = h.eval(S, "s", None, "x = 1\ny = (1 +\nprint(x)\nz = 2 +* 3\n");
    let error = result.error();
    assert_eq!(error.kind, "SyntaxError");
    assert!(error.line.is_some_and(|l| (2..=4).contains(&l)), "{error:?}");
    assert!(error.column.is_some(), "{error:?}");
    assert!(error.formatted.contains("cell s"), "{}", error.formatted);
    let simple = h.eval(S, "t", None, "a = 1\nb = 2 +* 3\n");
    assert_eq!(simple.error().line, Some(2));
}

#[test]
fn runtime_errors_carry_only_the_users_frames() {
    let mut h = connected();
    h.eval(S, "a", None, "def inner(d):\n    return 1 / d\n");
    let result = h.eval(S, "b", Some("a"), "x = 0\n\ninner(x)\n");
    let error = result.error();
    assert_eq!(error.kind, "ZeroDivisionError");
    assert_eq!(error.message, "division by zero");
    let files: Vec<&str> = error.frames.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, ["cell b", "cell a"], "{error:#?}");
    assert_eq!(error.frames[0].line, Some(3));
    assert_eq!(error.frames[1].text.as_deref(), Some("return 1 / d"));
    assert_eq!(error.line, Some(3), "the line in this cell");
    assert!(
        error.formatted.starts_with("Traceback (most recent call last):"),
        "{}",
        error.formatted
    );
    assert!(
        error.formatted.contains("File \"cell a\", line 2, in inner"),
        "{}",
        error.formatted
    );
    assert!(
        !error.formatted.contains("<string>") && !error.formatted.contains("agent"),
        "{}",
        error.formatted
    );
    // The runtime carries on, and the errored cell's bindings can be chained from.
    assert_eq!(h.eval(S, "c", Some("b"), "x").value(), Some("0"));
}

#[test]
fn os_write_and_subprocesses_become_output_in_order() {
    let mut h = connected();
    let code = "import os, subprocess, sys\n\
                print('one', flush=True)\n\
                os.write(1, b'two\\n')\n\
                subprocess.run(['echo', 'three'])\n\
                subprocess.run(['sh', '-c', 'echo four >&2'])\n\
                print('five')\n\
                print('err', file=sys.stderr)\n\
                42";
    let result = h.eval(S, "o", None, code);
    assert_eq!(result.value(), Some("42"));
    assert_eq!(result.stdout, "one\ntwo\nthree\nfive\n");
    assert_eq!(result.stderr, "four\nerr\n");
}

#[test]
fn large_output_arrives_whole_and_in_order() {
    let mut h = connected();
    let result = h.eval(S, "big", None, "for i in range(200000):\n    print(i)\n");
    let expected: String = (0..200_000).map(|i| format!("{i}\n")).collect();
    assert!(
        result.stdout == expected,
        "{} bytes, expected {}",
        result.stdout.len(),
        expected.len()
    );
    // Multi-byte characters split across reads survive.
    let unicode = h.eval(S, "u", None, "print('é€😀' * 50000)");
    assert_eq!(unicode.stdout, format!("{}\n", "é€😀".repeat(50_000)));
}

#[test]
fn output_streams_while_the_cell_runs() {
    let mut h = connected();
    h.submit(
        S,
        "main",
        "live",
        None,
        "import time\nprint('first', flush=True)\ntime.sleep(1000)",
    );
    let text = h.wait_for("streamed output", |e| match e {
        Event::Output { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(text, "first\n");
    h.manager.send(Command::Interrupt { session: S });
    assert!(matches!(h.finish(S, "live").outcome, Outcome::Interrupted(_)));
}

#[test]
fn stray_bytes_and_garbage_on_the_channel_are_survived() {
    let mut h = connected();
    // User code that finds the agent's protocol descriptor and scribbles on it.
    let code = "import gc, os\n\
                fd = next(d['PROTO'] for d in gc.get_objects() if type(d) is dict and 'PROTO' in d and 'CMD' in d)\n\
                os.write(fd, b'stray bytes\\n\\x1e{this is not json}\\n\\x1e{\"type\":\"launch\"}\\n')\n\
                'still here'";
    assert_eq!(h.eval(S, "g", None, code).value(), Some("'still here'"));
    let stray = h.wait_for("stray output", |e| match e {
        Event::StrayOutput { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(stray, "stray bytes\n");
    let warnings = h.drain_matching(Duration::from_millis(200), |e| matches!(e, Event::Warning { .. }));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(h.eval(S, "after", Some("g"), "1 + 1").value(), Some("2"));
}

#[test]
fn interrupt_stops_busy_loops_and_sleeps_and_keeps_contexts() {
    let mut h = connected();
    h.eval(S, "a", None, "x = 41");
    for (r, code) in [
        ("busy", "print('go', flush=True)\nwhile True:\n    pass\n"),
        ("sleep", "import time\nprint('go', flush=True)\ntime.sleep(1000)\n"),
    ] {
        h.submit(S, "main", r, Some("a"), code);
        h.wait_for("the cell to start", |e| {
            matches!(e, Event::Output { evaluation_ref: Some(x), .. } if x == r).then_some(())
        });
        h.manager.send(Command::Interrupt { session: S });
        match h.finish(S, r).outcome {
            Outcome::Interrupted(Some(error)) => {
                assert_eq!(error.kind, "KeyboardInterrupt");
                assert!(error.frames.iter().all(|f| f.file.starts_with("cell ")), "{error:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        h.eval(S, "b", Some("a"), "x + 1").value(),
        Some("42"),
        "contexts survive interrupts"
    );
    // An interrupt with nothing running changes nothing.
    h.manager.send(Command::Interrupt { session: S });
    assert_eq!(h.eval(S, "c", Some("a"), "x").value(), Some("41"));
}

#[test]
fn ten_sessions_evaluate_concurrently_while_another_runtime_hangs() {
    let mut h = Harness::new();
    let hung = SessionId(100);
    h.connect(hung, python_config());
    // Hangs in C code with signals blocked: no interrupt, no output, nothing.
    h.submit(
        hung,
        "main",
        "hang",
        None,
        "import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])\ntime.sleep(1000)",
    );
    let sessions: Vec<SessionId> = (1..=10).map(SessionId).collect();
    for &s in &sessions {
        h.manager.connect(s, python_config());
    }
    for &s in &sessions {
        h.wait_connected(s);
        h.submit(s, "main", "sum", None, &format!("sum(range({}))", s.0 * 1000));
    }
    for &s in &sessions {
        let n = s.0 * 1000;
        assert_eq!(h.finish(s, "sum").value(), Some((n * (n - 1) / 2).to_string().as_str()));
    }
    // The hung runtime is still evaluating, and an interrupt it ignores is reported.
    h.manager.send(Command::Interrupt { session: hung });
    let unanswered = h.wait_for("interrupt unanswered", |e| match e {
        Event::InterruptUnanswered {
            session,
            evaluation_ref,
        } if *session == hung => Some(evaluation_ref.clone()),
        _ => None,
    });
    assert_eq!(unanswered, "hang");
    h.manager.send(Command::Kill { session: hung });
    match h.finish(hung, "hang").outcome {
        Outcome::Aborted { reason } => assert!(reason.contains("killed"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_flood_of_output_in_one_session_does_not_delay_another() {
    let mut h = Harness::new();
    let (flood, quiet) = (SessionId(1), SessionId(2));
    h.connect(flood, python_config());
    h.connect(quiet, python_config());
    h.submit(flood, "main", "flood", None, "while True:\n    print('x' * 1000)\n");
    h.wait_for("the flood", |e| {
        matches!(e, Event::Output { session, .. } if *session == flood).then_some(())
    });
    for i in 0..20 {
        let r = format!("q{i}");
        h.submit(quiet, "main", &r, None, &format!("{i} * 2"));
        assert_eq!(h.finish(quiet, &r).value(), Some((i * 2).to_string().as_str()));
    }
    h.manager.send(Command::Interrupt { session: flood });
    assert!(matches!(h.finish(flood, "flood").outcome, Outcome::Interrupted(_)));
}

#[test]
fn memory_usage_is_reported() {
    let mut h = connected();
    h.manager.send(Command::Memory { session: S });
    let usage = h.wait_for("memory", |e| match e {
        Event::Memory { usage, .. } => Some(usage.clone()),
        _ => None,
    });
    assert!(usage.total > 1_000_000 && usage.total < 1_000_000_000, "{usage:?}");
    assert_eq!(usage.parts.first().map(|p| p.0.as_str()), Some("rss"));
}

#[test]
fn evaluations_sent_while_starting_run_once_connected() {
    let mut h = Harness::new();
    h.manager.connect(S, python_config());
    h.submit(S, "main", "a", None, "x = 2");
    h.submit(S, "main", "b", Some("a"), "x * 21");
    assert_eq!(h.finish(S, "b").value(), Some("42"));
}

#[test]
fn evaluating_without_a_runtime_is_refused_not_lost() {
    let mut h = Harness::new();
    match h.eval(S, "a", None, "1").outcome {
        Outcome::Aborted { reason } => assert!(reason.contains("connect"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn node_down_is_reported_when_the_runtime_is_killed() {
    let mut h = Harness::new();
    let info = h.connect(S, python_config());
    h.submit(
        S,
        "main",
        "sleep",
        None,
        "import time\nprint('asleep', flush=True)\ntime.sleep(1000)",
    );
    h.wait_for("the cell to start", |e| matches!(e, Event::Output { .. }).then_some(()));
    kill9(info.pid);
    let (exit, node) = h.wait_for("node down", |e| match e {
        Event::NodeDown { exit, node, .. } => Some((*exit, node.clone())),
        _ => None,
    });
    assert_eq!(exit.signal, Some(9));
    assert_eq!(node, info.name);
    match h.finish(S, "sleep").outcome {
        Outcome::Aborted { reason } => assert!(reason.contains("terminated unexpectedly"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // The session can start again.
    h.manager.send(Command::Reconnect { session: S });
    h.wait_connected(S);
}

#[test]
fn node_down_is_reported_for_os_exit() {
    // `sys.exit` is a cell's error (tests/run_results.rs); `os._exit` ends the process.
    let mut h = Harness::new();
    h.connect(S, python_config());
    h.submit(
        S,
        "main",
        "exit",
        None,
        "import os\nprint('bye', flush=True)\nos._exit(3)",
    );
    let exit = h.wait_for("node down", |e| match e {
        Event::NodeDown { session: s, exit, .. } if *s == S => Some(*exit),
        _ => None,
    });
    assert_eq!(exit.code, Some(3));
    let finished = h.finish(S, "exit");
    assert!(matches!(finished.outcome, Outcome::Aborted { .. }), "{finished:?}");
    assert_eq!(finished.stdout, "bye\n", "output written before os._exit is delivered");
}

#[test]
fn reconnect_starts_a_fresh_runtime_and_old_contexts_are_gone() {
    let mut h = connected();
    h.eval(S, "a", None, "x = 1");
    let old_pid: u32 = h
        .eval(S, "p", None, "import os\nos.getpid()")
        .value()
        .unwrap()
        .parse()
        .unwrap();
    h.manager.send(Command::Reconnect { session: S });
    let reason = h.wait_for("disconnected", |e| match e {
        Event::Disconnected { reason, .. } => Some(*reason),
        _ => None,
    });
    assert_eq!(reason, DisconnectReason::Reconnect);
    let info = h.wait_connected(S);
    assert_ne!(info.pid, old_pid);
    assert!(
        wait_gone(&[old_pid], Duration::from_secs(5)).is_empty(),
        "the old runtime is gone"
    );
    assert_eq!(h.eval(S, "b", Some("a"), "x").error().kind, "RunyardError");
    assert_eq!(h.eval(S, "c", None, "1 + 1").value(), Some("2"));
}

#[test]
fn disconnect_stops_the_runtime_and_what_it_spawned() {
    let mut h = connected();
    let pids = h.eval(
        S,
        "p",
        None,
        "import os, subprocess\nchild = subprocess.Popen(['sleep', '1000'])\n(os.getpid(), child.pid)",
    );
    let pids: Vec<u32> = pids
        .value()
        .unwrap()
        .trim_matches(['(', ')'])
        .split(", ")
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(pids.iter().all(|&p| alive(p)));
    h.manager.send(Command::Disconnect { session: S });
    let reason = h.wait_for("disconnected", |e| match e {
        Event::Disconnected { reason, .. } => Some(*reason),
        _ => None,
    });
    assert_eq!(reason, DisconnectReason::Requested);
    assert_eq!(wait_gone(&pids, Duration::from_secs(5)), Vec::<u32>::new());
    // Nothing was reported as a crash.
    let downs = h.drain_matching(Duration::from_millis(300), |e| matches!(e, Event::NodeDown { .. }));
    assert!(downs.is_empty(), "{downs:?}");
}

#[test]
fn disconnect_kills_a_runtime_that_ignores_stop_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    // A runtime that says hello, then ignores `stop`, EOF and SIGTERM.
    let deaf = fake_runtime(
        dir.path(),
        runyard::protocol::PROTOCOL_VERSION,
        "trap '' TERM HUP\nexec sleep 1000",
    );
    let mut h = Harness::new();
    let mut config = python_config().with_executable(deaf.to_str().unwrap());
    config.stop_grace = Duration::from_millis(300);
    let info = h.connect(S, config);
    assert!(alive(info.pid));
    h.manager.send(Command::Disconnect { session: S });
    assert_eq!(wait_gone(&[info.pid], Duration::from_secs(10)), Vec::<u32>::new());
}

#[test]
fn stderr_and_stdout_are_told_apart() {
    let mut h = connected();
    h.submit(
        S,
        "main",
        "e",
        None,
        "import sys\nsys.stderr.write('warn\\n')\nsys.stderr.flush()\nprint('out')",
    );
    let result = h.finish(S, "e");
    assert_eq!(result.stdout, "out\n");
    assert_eq!(result.stderr, "warn\n");
}

#[test]
fn an_evaluation_can_start_from_a_context_in_another_container() {
    let mut h = connected();
    h.submit(S, "section-1", "a", None, "x = 41");
    h.finish(S, "a");
    h.manager.evaluate(
        S,
        runyard::Evaluation {
            container: "section-2".into(),
            evaluation_ref: "b".into(),
            prev_evaluation_ref: Some("a".into()),
            prev_container: Some("section-1".into()),
            code: "x + 1".into(),
            file: "cell b".into(),
            options: None,
        },
    );
    assert_eq!(h.finish(S, "b").value(), Some("42"));
    // Without naming the other container, `a` is not found in section-2.
    h.submit(S, "section-2", "c", Some("a"), "x");
    assert_eq!(h.finish(S, "c").error().kind, "RunyardError");
}

// What the agent's former stand-alone driver (assets/agents/drive_python_agent.py)
// checked and the tests above did not, now through the manager as the app
// uses it. Its timings are benchmarks (benches/runtime.rs).

#[test]
fn a_cell_sees_no_arguments_and_an_empty_stdin() {
    let mut h = connected();
    let result = h.eval(S, "io", None, "import sys, os\nsys.argv, os.read(0, 10)");
    assert_eq!(result.value(), Some("([''], b'')"));
}

#[test]
fn library_errors_chained_errors_and_a_failing_repr_are_reported_whole() {
    let mut h = connected();
    let library = h.eval(S, "j", None, "import json\n\njson.loads('{')");
    let error = library.error();
    assert_eq!(error.kind, "json.decoder.JSONDecodeError", "the qualified name");
    assert_eq!(error.line, Some(3));
    assert_eq!(error.frames[0].file, "cell j");
    assert!(error.frames[1..].iter().any(|f| f.file.contains("json")), "{error:#?}");

    let chained = h.eval(
        S,
        "c",
        None,
        "class E(Exception): pass\ntry:\n    1/0\nexcept Exception as x:\n    raise E('boom') from x",
    );
    let formatted = &chained.error().formatted;
    assert!(formatted.contains("ZeroDivisionError"), "{formatted}");
    assert!(formatted.contains("direct cause"), "{formatted}");
    assert!(formatted.trim_end().ends_with("E: boom"), "{formatted}");

    let repr = h.eval(
        S,
        "r",
        None,
        "class R:\n    def __repr__(self):\n        raise ValueError('bad repr')\nR()",
    );
    let error = repr.error();
    assert_eq!(error.kind, "ValueError");
    assert_eq!(
        error.frames.last().map(|f| f.name.as_str()),
        Some("__repr__"),
        "{error:#?}"
    );
}

#[test]
fn huge_values_messages_and_tracebacks_are_bounded() {
    let mut h = connected();
    let value = h.eval(S, "v", None, "'x' * 3000000");
    let value = value.value().unwrap();
    assert!(
        value.len() <= 1_000_000 && value.starts_with("'xxx"),
        "{} chars",
        value.len()
    );

    let message = h.eval(S, "m", None, "raise ValueError('m' * 5000000)");
    let error = message.error();
    assert!(error.message.len() <= 1_000_000, "{} chars", error.message.len());
    assert!(error.formatted.len() <= 1_000_000, "{} chars", error.formatted.len());

    let deep = h.eval(S, "d", None, "def r(n): return r(n + 1)\nr(0)");
    let error = deep.error();
    assert_eq!(error.kind, "RecursionError");
    assert!(error.frames.len() <= 200, "{} frames", error.frames.len());
    // The runtime carries on.
    assert_eq!(h.eval(S, "after", None, "1 + 1").value(), Some("2"));
}

#[test]
fn output_from_a_thread_after_its_cell_ended_belongs_to_no_evaluation() {
    let mut h = connected();
    h.eval(
        S,
        "bg",
        None,
        "import threading, time\ndef bg():\n    time.sleep(0.2)\n    print('from thread')\nthreading.Thread(target=bg).start()",
    );
    let (evaluation_ref, text) = h.wait_for("the thread's output", |e| match e {
        Event::Output {
            evaluation_ref, text, ..
        } => Some((evaluation_ref.clone(), text.clone())),
        _ => None,
    });
    assert_eq!((evaluation_ref, text.as_str()), (None, "from thread\n"));
}

#[test]
fn an_interrupt_at_any_moment_of_a_cells_start_stops_it_and_an_idle_one_is_harmless() {
    let mut h = connected();
    h.eval(S, "k", None, "keep = 42");
    // The SIGINT may land before time.sleep starts: the agent must repeat it.
    // A lost interrupt leaves the cell asleep, and `finish` times out.
    for i in 0..40 {
        h.submit(S, "main", "race", Some("k"), "import time\ntime.sleep(1000)");
        std::thread::sleep(Duration::from_micros(i * 100));
        h.manager.send(Command::Interrupt { session: S });
        let finished = h.finish(S, "race");
        assert!(
            matches!(finished.outcome, Outcome::Interrupted(_)),
            "round {i}: {finished:?}"
        );
    }
    h.manager.send(Command::Interrupt { session: S });
    std::thread::sleep(Duration::from_millis(50));
    let slept = h.eval(S, "s", Some("k"), "import time\ntime.sleep(0.2)\n(keep, 'slept')");
    assert_eq!(slept.value(), Some("(42, 'slept')"));
}

#[test]
fn a_segfault_is_node_down_with_pythons_traceback_in_the_stderr_tail() {
    let mut h = connected();
    h.submit(S, "main", "x", None, "import ctypes\nctypes.string_at(0)");
    let (exit, stderr_tail) = h.wait_for("node down", |e| match e {
        Event::NodeDown { exit, stderr_tail, .. } => Some((*exit, stderr_tail.clone())),
        _ => None,
    });
    assert_eq!(exit.signal, Some(11), "SIGSEGV");
    assert!(stderr_tail.contains("File \"cell x\", line 2"), "{stderr_tail}");
}

#[test]
fn sigterm_or_sighup_to_a_blocked_runtime_ends_it_and_what_it_spawned() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    for signal in [Signal::SIGTERM, Signal::SIGHUP] {
        let mut h = Harness::new();
        let info = h.connect(S, python_config());
        let spawned = h.eval(
            S,
            "p",
            None,
            "import subprocess\nsubprocess.Popen(['sleep', '1000']).pid",
        );
        let child: u32 = spawned.value().unwrap().parse().unwrap();
        h.submit(S, "main", "z", None, "import time\ntime.sleep(1000)");
        std::thread::sleep(Duration::from_millis(200));
        kill(Pid::from_raw(info.pid as i32), signal).expect("kill");
        h.wait_for("node down", |e| matches!(e, Event::NodeDown { .. }).then_some(()));
        let left = wait_gone(&[info.pid, child], Duration::from_secs(5));
        assert!(left.is_empty(), "{signal}: still alive: {left:?}");
    }
}

/// Started without Runyard's supervisor (as behind `ssh`, where no output
/// pipes are handed to it), the agent makes its own and sends what they
/// carry as output frames, in order, before the result.
#[test]
fn without_the_supervisors_pipes_the_agent_forwards_output_as_frames() {
    use runyard::protocol::FromAgent;
    let code = "import os, sys\nprint('to stdout')\nos.write(2, b'to fd 2\\n')\n40 + 2";
    let (mut output, mut value) = (String::new(), None);
    for message in bare_agent_messages(python_config().executable(), code) {
        match message {
            FromAgent::Output {
                evaluation_ref, text, ..
            } => {
                assert_eq!(evaluation_ref.as_deref(), Some("e1"));
                output.push_str(&text);
            }
            FromAgent::Result { value: v, .. } => value = Some(v),
            _ => {}
        }
    }
    assert_eq!(value, Some(Some(runyard::protocol::Bundle::plain("42"))));
    assert!(
        output.contains("to stdout\n") && output.contains("to fd 2\n"),
        "{output:?}"
    );
}

/// `input()` asks through the manager: the line typed comes back to the
/// cell, end of input is `EOFError`, and an interrupt ends the wait with the
/// runtime kept.
#[test]
fn input_asks_the_user_and_eof_and_interrupt_end_the_wait() {
    let mut h = Harness::new();
    h.connect(S, python_config());
    let asked = |h: &mut Harness, r: &str| {
        h.wait_for("the input request", |e| match e {
            Event::InputRequested {
                evaluation_ref: Some(er),
                prompt,
                password,
                ..
            } if er == r => Some((prompt.clone(), *password)),
            _ => None,
        })
    };
    h.submit(
        S,
        "main",
        "e1",
        None,
        "print('before')\nname = input('Name? ')\nprint('hi', name)",
    );
    assert_eq!(asked(&mut h, "e1"), ("Name? ".to_string(), false));
    h.manager.send(Command::Input {
        session: S,
        value: Some("Ada Lovelace".into()),
    });
    let done = h.finish(S, "e1");
    assert_eq!(done.stdout, "before\nhi Ada Lovelace\n");

    h.submit(S, "main", "e2", None, "input()");
    asked(&mut h, "e2");
    h.manager.send(Command::Input {
        session: S,
        value: None,
    });
    assert_eq!(h.finish(S, "e2").error().kind, "EOFError");

    h.submit(S, "main", "e3", None, "input('wait: ')");
    asked(&mut h, "e3");
    h.manager.send(Command::Interrupt { session: S });
    let interrupted = h.finish(S, "e3");
    assert!(
        matches!(interrupted.outcome, Outcome::Interrupted(_)),
        "{:?}",
        interrupted.outcome
    );
    assert_eq!(
        h.eval(S, "e4", None, "6 * 7").value(),
        Some("42"),
        "the runtime is kept"
    );
}
