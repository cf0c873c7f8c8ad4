//! The engine with real `elixir` nodes: Livebook's standalone runtime
//! (evaluation semantics, output, errors, interrupts, memory, lifetime) and
//! its attached runtime (a bridge evaluating on a node the test starts).
//!
//! These tests fail when `elixir` is missing, so that CI cannot pass without
//! running them; set `RUNYARD_SKIP_ELIXIR=1` to skip them on purpose.
//! `RUNYARD_TEST_ELIXIR` picks another `elixir`. The compiled agent is cached
//! where Runyard caches it (`RUNYARD_CACHE_DIR` moves that); the orphan test
//! starts on an empty cache of its own.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use common::elixir::{elixir_exe, skip, which_in_path};
use common::other_user::{other_user, run_as_other};
use common::*;
use runyard::manager::{DisconnectReason, NodeInfo};
use runyard::runtime::elixir;
use runyard::{Command, Event, InitError, Outcome, RuntimeConfig, SessionId};

const S: SessionId = SessionId(1);

fn elixir_config() -> RuntimeConfig {
    RuntimeConfig::elixir().with_executable(elixir_exe())
}

fn attached_config(node: &str, cookie: &str) -> RuntimeConfig {
    RuntimeConfig::elixir_attached(node, cookie).with_executable(elixir_exe())
}

fn connected() -> (Harness, NodeInfo) {
    let mut h = Harness::new();
    let info = h.connect(S, elixir_config());
    (h, info)
}

fn short_host() -> String {
    let out = Proc::new("hostname").arg("-s").output().expect("hostname runs");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A unique, valid node-name part.
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        runyard::runtime::short_id().unwrap()
    )
}

/// A node the test runs, as a user would (`elixir --sname … --cookie …`),
/// killed with its process group when dropped.
struct Target {
    child: Child,
    node: String,
}

impl Target {
    /// Starts `elixir <name_switch> <name> --cookie <cookie>` and waits until
    /// epmd lists it.
    fn start(name_switch: &str, name: &str, cookie: &str) -> Target {
        let mut command = Proc::new(elixir_exe());
        command.args([name_switch, name, "--cookie", cookie, "-e", "Process.sleep(:infinity)"]);
        Self::spawn(command, name)
    }

    /// A plain Erlang node, without Elixir.
    fn start_erlang(name: &str, cookie: &str) -> Target {
        let mut command = Proc::new("erl");
        command.args(["-sname", name, "-setcookie", cookie, "-noinput"]);
        Self::spawn(command, name)
    }

    fn spawn(mut command: Proc, name: &str) -> Target {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("elixir starts");
        let short = name.split('@').next().unwrap();
        let node = if name.contains('@') {
            name.to_string()
        } else {
            format!("{name}@{}", short_host())
        };
        let target = Target { child, node };
        let deadline = Instant::now() + WAIT;
        loop {
            let names = Proc::new("epmd")
                .arg("-names")
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default();
            if String::from_utf8_lossy(&names).contains(&format!("name {short} at port")) {
                return target;
            }
            assert!(
                Instant::now() < deadline,
                "the target node {name} never registered with epmd"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Evaluates `expr` on `node` from a throwaway node: what is there,
/// independently of Runyard.
fn probe(node: &str, cookie: &str, expr: &str) -> String {
    let code = format!(
        "true = Node.connect(:\"{node}\")\n\
         {{value, _}} = :rpc.call(:\"{node}\", Code, :eval_string, [{expr:?}])\n\
         IO.puts(inspect(value))"
    );
    // A long-named node (runyard-…@127.0.0.1) is reached from a long-named one.
    let long = node.split_once('@').is_some_and(|(_, host)| host.contains('.'));
    let (switch, name) = if long {
        ("--name", format!("{}@127.0.0.1", unique("probe")))
    } else {
        ("--sname", unique("probe"))
    };
    let out = Proc::new(elixir_exe())
        .args([switch, &name, "--cookie", cookie, "-e", &code])
        .stdin(Stdio::null())
        .output()
        .expect("elixir runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

fn output_texts(h: &mut Harness, quiet: Duration) -> String {
    h.drain_matching(quiet, |e| matches!(e, Event::Output { .. }))
        .into_iter()
        .map(|e| match e {
            Event::Output { text, .. } => text,
            _ => unreachable!(),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Standalone
// ---------------------------------------------------------------------------

#[test]
fn a_missing_elixir_is_an_init_error_that_says_so() {
    let mut h = Harness::new();
    let mut config = RuntimeConfig::elixir();
    config.standalone_mut().env.push(("PATH".into(), "/nowhere".into()));
    h.manager.connect(S, config);
    let error = h.wait_init_failed(S);
    assert!(matches!(error, InitError::ExecutableNotFound { .. }), "{error:?}");
    assert_eq!(error.to_string(), "elixir was not found in PATH");
}

#[test]
fn the_node_is_a_real_distributed_node_with_its_name_and_cookie_shown() {
    if skip() {
        return;
    }
    let (mut h, info) = connected();
    assert!(
        info.name.starts_with("runyard-") && info.name.ends_with("@127.0.0.1"),
        "{info:?}"
    );
    assert_eq!(info.language, "elixir");
    assert_eq!(info.kind, "Elixir (standalone)");
    assert!(info.language_version.starts_with("1."), "{info:?}");
    assert!(Path::new(&info.executable).is_file(), "{info:?}");
    assert!(alive(info.pid), "the pid is the BEAM's own");
    let cookie = info.cookie.clone().expect("the hello carries the cookie");
    assert_eq!(cookie.len(), 32, "a random cookie: {cookie}");
    assert_eq!(
        h.eval(S, "n", None, "node()").value(),
        Some(format!(":\"{}\"", info.name).as_str())
    );
    // A user can reach the node with what the runtime panel shows.
    assert_eq!(probe(&info.name, &cookie, "1 + 2"), "3");
    // Nothing outside the protocol's frames, nothing to warn about.
    let noise = h.drain_matching(Duration::from_millis(100), |e| {
        matches!(e, Event::Warning { .. } | Event::StrayOutput { .. })
    });
    assert!(noise.is_empty(), "{noise:?}");
    // The command line shown does not give the cookie away.
    let command = h.drain_matching(Duration::ZERO, |e| matches!(e, Event::Starting { .. }));
    match command.as_slice() {
        [Event::Starting { command, .. }] => {
            assert!(!command.contains(&cookie), "{command}");
            assert!(!command.contains("--cookie"), "{command}");
            assert!(
                command.contains(&format!("longnames {} standalone", info.name)),
                "{command}"
            );
            assert!(command.contains(elixir::AGENT_KEY), "{command}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bindings_and_aliases_chain_across_cells_as_in_livebook() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    let first = h.eval(
        S,
        "a",
        None,
        "alias Enum, as: E\nimport String, only: [upcase: 1]\nx = 1",
    );
    assert_eq!(first.value(), Some("1"));
    assert_eq!(
        h.eval(
            S,
            "b",
            Some("a"),
            "y = x + 1\n{E.count([1, 2, 3]), upcase(\"a\"), x, y}"
        )
        .value(),
        Some("{3, \"A\", 1, 2}")
    );
    h.eval(S, "c", Some("b"), "x = 100\nlater = true");
    // Re-evaluating b starts from a again: c's bindings are not there.
    assert_eq!(
        h.eval(S, "b", Some("a"), "binding() |> Keyword.keys()").value(),
        Some("[:x]")
    );
    // A fresh start has neither bindings nor aliases.
    assert_eq!(h.eval(S, "f", None, "x").error().kind, "CompileError");
    assert_eq!(
        h.eval(S, "g", None, "E.count([1])").error().kind,
        "UndefinedFunctionError"
    );
    // An empty cell, and nil, have no value.
    assert_eq!(h.eval(S, "e", None, "").value(), None);
    assert_eq!(h.eval(S, "nil", None, "nil").value(), Some("nil"));
    // Containers are separate flows.
    h.submit(S, "other", "o1", None, "binding()");
    assert_eq!(h.finish(S, "o1").value(), Some("[]"));
}

#[test]
fn a_sections_first_cell_chains_from_the_section_above() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    h.submit(S, "section-1", "a", None, "alias String, as: Str\nx = 41");
    h.finish(S, "a");
    h.manager.evaluate(
        S,
        runyard::Evaluation {
            container: "section-2".into(),
            evaluation_ref: "b".into(),
            prev_evaluation_ref: Some("a".into()),
            prev_container: Some("section-1".into()),
            code: "{x + 1, Str.upcase(\"a\")}".into(),
            file: "cell b".into(),
            options: None,
        },
    );
    assert_eq!(h.finish(S, "b").value(), Some("{42, \"A\"}"), "binding and aliases");
    // Without naming the other container, `a` is not found in section-2.
    h.submit(S, "section-2", "c", Some("a"), "x");
    assert_eq!(h.finish(S, "c").error().kind, "RunyardError");
    // What b left is stored in its own container.
    h.submit(S, "section-2", "d", Some("b"), "x");
    assert_eq!(h.finish(S, "d").value(), Some("41"));
}

#[test]
fn modules_defined_in_a_cell_work_later_and_are_replaced_quietly() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    let define = |n: u32| format!("defmodule Greeter do\n  def hello, do: {n}\nend");
    let mut noise = String::new();
    let defined = h.eval(S, "m1", None, &define(1));
    noise.push_str(&defined.stderr);
    let used = h.eval(S, "m2", Some("m1"), "Greeter.hello()");
    assert_eq!(used.value(), Some("1"));
    for n in 2..=4 {
        let again = h.eval(S, "m1", None, &define(n));
        assert!(matches!(again.outcome, Outcome::Ok { .. }), "{again:?}");
        noise.push_str(&again.stdout);
        noise.push_str(&again.stderr);
    }
    assert_eq!(h.eval(S, "m2", Some("m1"), "Greeter.hello()").value(), Some("4"));
    noise.push_str(&output_texts(&mut h, Duration::from_millis(200)));
    assert!(!noise.contains("redefining"), "redefinition warnings: {noise}");
    assert_eq!(noise, "", "nothing is written while modules are redefined");
}

#[test]
fn forget_and_drop_free_stored_contexts() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    h.eval(S, "a", None, "x = 1");
    h.eval(S, "b", Some("a"), "y = 2");
    h.manager.send(Command::ForgetEvaluation {
        session: S,
        container: "main".into(),
        evaluation_ref: "a".into(),
    });
    assert_eq!(h.eval(S, "c", Some("a"), "x").error().kind, "RunyardError");
    assert_eq!(
        h.eval(S, "d", Some("b"), "y").value(),
        Some("2"),
        "forget frees one context"
    );
    h.manager.send(Command::DropContainer {
        session: S,
        container: "main".into(),
    });
    assert_eq!(h.eval(S, "e", Some("b"), "y").error().kind, "RunyardError");
}

#[test]
fn each_error_kind_comes_back_formatted_with_the_cells_frames() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    // Runtime errors: kind, message, the line in this cell, the cell's frames.
    for (r, code, kind, message, line) in [
        (
            "raise",
            "x = 1\nraise ArgumentError, \"bad\"",
            "ArgumentError",
            "bad",
            2,
        ),
        ("throw", "throw :ball", "throw", ":ball", 1),
        ("exit", "\nexit(:boom)", "exit", ":boom", 2),
    ] {
        let result = h.eval(S, r, None, code);
        let error = result.error();
        assert_eq!(
            (error.kind.as_str(), error.message.as_str(), error.line),
            (kind, message, Some(line)),
            "{error:#?}"
        );
        let file = format!("cell {r}");
        assert!(error.frames.iter().any(|f| f.file == file), "{error:#?}");
        assert!(
            error.formatted.contains(&format!("{file}:{line}")),
            "{}",
            error.formatted
        );
        assert!(!error.formatted.contains("RunyardAgent"), "{}", error.formatted);
    }
    // A function defined in an earlier cell shows up as a frame of that cell.
    h.eval(S, "d", None, "defmodule D do\n  def f(x), do: 1 / x\nend");
    let arith = h.eval(S, "call", Some("d"), "D.f(0)");
    let error = arith.error();
    assert_eq!(error.kind, "ArithmeticError");
    let files: Vec<&str> = error.frames.iter().map(|f| f.file.as_str()).collect();
    assert!(files.contains(&"cell d") && files.contains(&"cell call"), "{error:#?}");
    assert!(
        error.formatted.starts_with("** (ArithmeticError)"),
        "{}",
        error.formatted
    );

    let compile = h.eval(S, "compile", None, "1 + 1\nundefined_thing + 1");
    let error = compile.error();
    assert_eq!(
        (error.kind.as_str(), error.line),
        ("CompileError", Some(2)),
        "{error:#?}"
    );
    assert!(error.message.contains("undefined_thing"), "{error:#?}");
    assert!(!error.formatted.is_empty());

    let syntax = h.eval(S, "syntax", None, "1 +\n(");
    let error = syntax.error();
    assert!(
        ["SyntaxError", "TokenMissingError"].contains(&error.kind.as_str()),
        "{error:#?}"
    );
    assert!(error.line.is_some() && error.column.is_some(), "{error:#?}");
    assert!(error.formatted.contains("cell syntax"), "{}", error.formatted);

    assert_eq!(
        h.eval(S, "after", None, "1 + 1").value(),
        Some("2"),
        "the runtime carries on"
    );
}

#[test]
fn output_from_spawned_processes_logger_and_stderr() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    let spawned = h.eval(
        S,
        "spawn",
        None,
        "spawn(fn -> IO.puts(\"from child\") end)\nProcess.sleep(50)\n:ok",
    );
    assert_eq!(spawned.value(), Some(":ok"));
    assert_eq!(spawned.stdout, "from child\n");
    let logged = h.eval(
        S,
        "log",
        None,
        "require Logger\nLogger.warning(\"careful\")\nIO.puts(:stderr, \"to stderr\")\nIO.puts(\"to stdout\")",
    );
    assert_eq!(logged.stdout, "to stdout\n", "Logger is not on stdout");
    assert!(
        logged.stderr.contains("[warning] careful") && logged.stderr.contains("to stderr\n"),
        "{logged:?}"
    );
    // Streamed while the cell runs, not only at its end.
    h.submit(S, "main", "live", None, "IO.puts(\"first\")\nProcess.sleep(:infinity)");
    let text = h.wait_for("streamed output", |e| match e {
        Event::Output {
            evaluation_ref: Some(r),
            text,
            ..
        } if r == "live" => Some(text.clone()),
        _ => None,
    });
    assert_eq!(text, "first\n");
    h.manager.send(Command::Interrupt { session: S });
    assert!(matches!(h.finish(S, "live").outcome, Outcome::Interrupted(_)));
}

// What the agent's former stand-alone driver (drive_elixir_agent.py) checked
// and the tests above did not.
#[test]
fn io_protocol_unicode_latin1_and_get_line_at_eof() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    h.submit(
        S,
        "main",
        "io",
        None,
        "IO.write(\"é\"); :io.put_chars(:standard_io, 'ü'); IO.binwrite(\"x\"); IO.gets(\"prompt\")",
    );
    h.wait_for("the input request", |e| {
        matches!(e, Event::InputRequested { prompt, .. } if prompt == "prompt").then_some(())
    });
    h.manager.send(Command::Input {
        session: S,
        value: None,
    });
    let io = h.finish(S, "io");
    assert_eq!(io.value(), Some(":eof"), "end of input");
    assert_eq!(io.stdout, "éüx");
    // Characters outside the BMP travel as JSON surrogate pairs, both ways.
    let emoji = h.eval(S, "uni", None, "IO.puts(\"😀 é\")\n\"😀\"");
    assert_eq!(emoji.value(), Some("\"😀\""));
    assert_eq!(emoji.stdout, "😀 é\n");
    let huge = h.eval(S, "huge", None, "String.duplicate(\"a\", 2_000_000)");
    assert_eq!(huge.value().map(str::len), Some(1_000_000), "values are cut");
    // A spawned process's crash report and the compiler's warnings are stderr.
    let crash = h.eval(
        S,
        "crash",
        None,
        "spawn(fn -> raise \"crash in a child\" end)\nProcess.sleep(100)\n\
         defmodule W do\n  def f(x), do: 1\nend\n:ok",
    );
    assert!(
        crash.stderr.contains("crash in a child") && crash.stderr.contains("unused"),
        "{crash:?}"
    );
}

#[test]
fn output_after_its_cell_ended_belongs_to_no_evaluation() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    h.eval(
        S,
        "bg",
        None,
        "spawn(fn -> Process.sleep(100); IO.puts(\"late\") end)\n:ok",
    );
    let (evaluation_ref, text) = h.wait_for("the late output", |e| match e {
        Event::Output {
            evaluation_ref, text, ..
        } => Some((evaluation_ref.clone(), text.clone())),
        _ => None,
    });
    assert_eq!((evaluation_ref, text.as_str()), (None, "late\n"));
}

#[test]
fn interrupt_stops_busy_loops_sleeps_and_receives_and_keeps_contexts() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    h.eval(S, "a", None, "keep = 41");
    // (ref, code, the line it is stopped on, counting the `IO.puts` before it)
    for (r, code, line) in [
        ("busy", "f = fn f -> f.(f) end\nf.(f)", 3),
        ("sleep", "Process.sleep(:infinity)", 2),
        ("receive", "receive do\n  :never -> 1\nend", 2),
    ] {
        h.submit(S, "main", r, Some("a"), &format!("IO.puts(\"go\")\n{code}"));
        h.wait_for("the cell to start", |e| {
            matches!(e, Event::Output { evaluation_ref: Some(x), .. } if x == r).then_some(())
        });
        let t0 = Instant::now();
        h.manager.send(Command::Interrupt { session: S });
        match h.finish(S, r).outcome {
            Outcome::Interrupted(Some(error)) => {
                assert_eq!(error.kind, "interrupt", "{error:?}");
                assert_eq!(error.line, Some(line), "where it stopped: {error:?}");
            }
            other => panic!("{r}: {other:?}"),
        }
        // The goal is 100 ms (measured by the driver); this only catches a
        // fallback to the manager's grace period.
        assert!(t0.elapsed() < Duration::from_secs(1), "{r}: {:?}", t0.elapsed());
    }
    assert_eq!(
        h.eval(S, "b", Some("a"), "keep + 1").value(),
        Some("42"),
        "contexts survive"
    );
    let unanswered = h.drain_matching(Duration::from_millis(100), |e| {
        matches!(e, Event::InterruptUnanswered { .. })
    });
    assert!(unanswered.is_empty(), "{unanswered:?}");
}

#[test]
fn memory_usage_has_livebooks_parts() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    h.manager.send(Command::Memory { session: S });
    let usage = h.wait_for("memory", |e| match e {
        Event::Memory { usage, .. } => Some(usage.clone()),
        _ => None,
    });
    let names: Vec<&str> = usage.parts.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["processes", "atom", "binary", "code", "ets", "other"]);
    assert_eq!(usage.total, usage.parts.iter().map(|(_, n)| n).sum::<u64>());
    assert!(usage.total > 5_000_000 && usage.total < 1_000_000_000, "{usage:?}");
}

#[test]
fn disconnect_stops_the_node_and_a_killed_node_is_node_down() {
    if skip() {
        return;
    }
    let (mut h, info) = connected();
    h.manager.send(Command::Disconnect { session: S });
    let reason = h.wait_for("disconnected", |e| match e {
        Event::Disconnected { reason, .. } => Some(*reason),
        _ => None,
    });
    assert_eq!(reason, DisconnectReason::Requested);
    assert_eq!(wait_gone(&[info.pid], Duration::from_secs(5)), Vec::<u32>::new());

    h.manager.send(Command::Reconnect { session: S });
    let info = h.wait_connected(S);
    h.submit(
        S,
        "main",
        "sleep",
        None,
        "IO.puts(\"asleep\")\nProcess.sleep(:infinity)",
    );
    h.wait_for("the cell to start", |e| matches!(e, Event::Output { .. }).then_some(()));
    kill9(info.pid);
    let exit = h.wait_for("node down", |e| match e {
        Event::NodeDown { exit, .. } => Some(*exit),
        _ => None,
    });
    assert_eq!(exit.signal, Some(9));
    assert!(matches!(h.finish(S, "sleep").outcome, Outcome::Aborted { .. }));
    let downs = h.drain_matching(Duration::from_millis(200), |e| matches!(e, Event::NodeDown { .. }));
    assert!(downs.is_empty(), "one NodeDown only: {downs:?}");
}

#[test]
fn a_crashed_node_leaves_its_crash_dump_in_the_cache_and_says_where() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    h.submit(S, "main", "halt", None, ":erlang.halt('runyard test crash')");
    let (cause, dump) = h.wait_for("node down", |e| match e {
        Event::NodeDown { cause, crash_dump, .. } => Some((cause.clone(), crash_dump.clone())),
        _ => None,
    });
    assert_eq!(cause, runyard::manager::DownCause::Ended);
    let dump = dump.expect("the crash dump is named");
    let cache = elixir::cache_root().unwrap();
    assert!(dump.starts_with(cache.join("crash-dumps")), "{}", dump.display());
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(text.contains("runyard test crash"), "the dump is the node's");
    let _ = std::fs::remove_file(&dump);
}

// ---------------------------------------------------------------------------
// Lifetime: the manager's host SIGKILLed
// ---------------------------------------------------------------------------

const HOST_ENV: &str = "RUNYARD_ELIXIR_ORPHAN_HOST";

/// Children of a process (Linux), e.g. the BEAM's `erl_child_setup`.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Runs only inside the helper process that
/// `elixir_nodes_die_with_their_host_even_mid_evaluation` starts: on an empty
/// agent cache, it starts two nodes at once (both compile the agent), puts
/// one to sleep in a cell and prints the pids to watch.
#[test]
#[ignore = "helper process for elixir_nodes_die_with_their_host_even_mid_evaluation"]
fn elixir_orphan_host() {
    if std::env::var_os(HOST_ENV).is_none() {
        return;
    }
    let mut h = Harness::new();
    let (a, b) = (SessionId(1), SessionId(2));
    h.manager.connect(a, elixir_config());
    h.manager.connect(b, elixir_config());
    let mut pids = vec![h.wait_connected(a).pid, h.wait_connected(b).pid];
    for pid in pids.clone() {
        pids.extend(children(pid));
    }
    h.submit(
        a,
        "main",
        "sleep",
        None,
        "IO.puts(\"asleep\")\nProcess.sleep(:infinity)",
    );
    h.wait_for("the cell to start", |e| matches!(e, Event::Output { .. }).then_some(()));
    h.submit(b, "main", "busy", None, "f = fn f -> f.(f) end\nf.(f)");
    println!(
        "RUNYARD_PIDS {}",
        pids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
    );
    std::thread::sleep(Duration::from_secs(3600));
}

#[test]
fn elixir_nodes_die_with_their_host_even_mid_evaluation() {
    if skip() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let (mut host, pids) = start_host(
        "elixir_orphan_host",
        &[
            (HOST_ENV, "1".as_ref()),
            (elixir::CACHE_DIR_ENV, cache.path().as_os_str()),
        ],
    );
    assert!(pids.len() >= 2, "{pids:?}");
    assert!(pids.iter().all(|&p| alive(p)), "all running before the kill");
    kill9(host.id());
    host.wait().unwrap();
    let survivors = wait_gone(&pids, Duration::from_secs(2));
    assert!(
        survivors.is_empty(),
        "still alive 2 s after the host was killed: {survivors:?}"
    );

    // Both first starts compiled into the same place, without leftovers.
    let dir = elixir::agent_dir(cache.path());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[1], "elixir_agent.ex");
    assert!(names[0].starts_with("beam-") && !names[0].contains(".tmp"), "{names:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join(&names[1])).unwrap(),
        elixir::AGENT_SOURCE
    );
}

// ---------------------------------------------------------------------------
// Attached
// ---------------------------------------------------------------------------

#[test]
fn attached_sessions_evaluate_on_the_target_and_leave_it_running() {
    if skip() {
        return;
    }
    let cookie = format!("secret{}", runyard::runtime::short_id().unwrap());
    let mut target = Target::start("--sname", &unique("target"), &cookie);
    let node = target.node.clone();
    let (a, b) = (SessionId(1), SessionId(2));
    let mut h = Harness::new();
    h.manager.connect(a, attached_config(&node, &cookie));
    h.manager.connect(b, attached_config(&node, &cookie));
    let info_a = h.wait_connected(a);
    let info_b = h.wait_connected(b);
    for info in [&info_a, &info_b] {
        assert_eq!(info.name, node, "NodeInfo names the target");
        assert_eq!(info.cookie.as_deref(), Some(cookie.as_str()));
        assert_eq!(info.kind, "Elixir (attached)");
        assert_ne!(info.pid, target.pid(), "the pid is the bridge's");
    }
    let on_target = format!(":\"{node}\"");
    for s in [a, b] {
        let here = h.eval(s, "where", None, "IO.puts(\"hi from #{node()}\")\nnode()");
        assert_eq!(here.value(), Some(on_target.as_str()));
        assert_eq!(here.stdout, format!("hi from {node}\n"));
    }
    // Each session has its own contexts on the shared node.
    h.eval(a, "x", None, "x = :from_a");
    h.eval(b, "x", None, "x = :from_b");
    assert_eq!(h.eval(a, "get", Some("x"), "x").value(), Some(":from_a"));
    assert_eq!(h.eval(b, "get", Some("x"), "x").value(), Some(":from_b"));
    h.eval(
        b,
        "proc",
        None,
        "Process.register(spawn(fn -> Process.sleep(:infinity) end), :runyard_test_proc)",
    );
    // Completion runs on the target too: the bridge loads its module there at
    // the first request (and it goes with the rest, below).
    let request = runyard::manager::CompletionRequest {
        id: 1,
        container: "main".into(),
        prev_evaluation_ref: Some("x".into()),
        prev_container: None,
        code: "x = Enum.ma".into(),
        cursor: 11,
    };
    h.manager.send(Command::Complete { session: b, request });
    let texts = h.wait_for("completions", |e| match e {
        Event::Completions { session, matches, .. } if *session == b => {
            Some(matches.iter().map(|m| m.text.clone()).collect::<Vec<_>>())
        }
        _ => None,
    });
    assert!(texts.contains(&"map".to_string()), "{texts:?}");

    // Disconnecting one leaves the other, its processes and the target alone.
    h.manager.send(Command::Disconnect { session: a });
    assert_eq!(wait_gone(&[info_a.pid], Duration::from_secs(5)), Vec::<u32>::new());
    assert_eq!(h.eval(b, "still", Some("x"), "x").value(), Some(":from_b"));
    assert!(alive(target.pid()), "disconnect never stops the target");
    assert_eq!(
        probe(&node, &cookie, "is_pid(Process.whereis(:runyard_test_proc))"),
        "true"
    );

    // A wrong cookie is told apart from an unreachable node, within 5 s.
    let t0 = Instant::now();
    h.manager.connect(a, attached_config(&node, "not-the-cookie"));
    match h.wait_init_failed(a) {
        InitError::Agent { reason, message, .. } => {
            assert_eq!(reason, "wrong_cookie");
            assert!(message.contains("cookie"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());

    // Reconnect attaches again; the old bridge's contexts are gone.
    h.manager.send(Command::Reconnect { session: b });
    let info_b2 = h.wait_connected(b);
    assert_eq!(info_b2.name, node);
    assert_eq!(h.eval(b, "gone", Some("x"), "x").error().kind, "RunyardError");

    // The last session leaving takes Runyard's processes and modules along.
    h.manager.send(Command::Disconnect { session: b });
    assert_eq!(wait_gone(&[info_b2.pid], Duration::from_secs(5)), Vec::<u32>::new());
    // Evaluated on the target, retrying there for up to 5 s: cleaning up
    // follows the bridge's disconnection, a moment after its exit.
    let leftovers = probe(
        &node,
        &cookie,
        "Enum.reduce_while(1..50, nil, fn _, _ ->\n\
           left = {Process.whereis(:runyard_test_proc),\n\
             (for {m, _} <- :code.all_loaded(), String.contains?(Atom.to_string(m), \"Runyard\"), do: m)}\n\
           if left == {nil, []}, do: {:halt, left}, else: (Process.sleep(100); {:cont, left})\n\
         end)",
    );
    assert_eq!(leftovers, "{nil, []}", "the node is left as it was found");

    // The target going down is node down for every session on it.
    h.manager.connect(a, attached_config(&node, &cookie));
    h.manager.connect(b, attached_config(&node, &cookie));
    let bridges = [h.wait_connected(a).pid, h.wait_connected(b).pid];
    assert_eq!(h.eval(b, "one", None, "1").value(), Some("1"));
    target.kill();
    for s in [a, b] {
        let (exit, tail) = h.wait_for("node down", |e| match e {
            Event::NodeDown {
                session,
                exit,
                stderr_tail,
                ..
            } if *session == s => Some((*exit, stderr_tail.clone())),
            _ => None,
        });
        assert_eq!(exit.code, Some(3), "{s}: {exit}: {tail}");
        assert!(tail.contains("went down"), "{tail}");
    }
    assert_eq!(wait_gone(&bridges, Duration::from_secs(5)), Vec::<u32>::new());
}

#[test]
fn a_long_named_target_is_reached_by_a_long_named_bridge() {
    if skip() {
        return;
    }
    let cookie = "long-name-cookie";
    let target = Target::start("--name", &format!("{}@127.0.0.1", unique("lt")), cookie);
    let mut h = Harness::new();
    let info = h.connect(S, attached_config(&target.node, cookie));
    assert_eq!(info.name, target.node);
    let on_target = format!(":\"{}\"", target.node);
    assert_eq!(h.eval(S, "n", None, "node()").value(), Some(on_target.as_str()));
}

#[test]
fn an_unreachable_or_unsuitable_node_fails_quickly_with_the_reason() {
    if skip() {
        return;
    }
    let mut h = Harness::new();
    for (node, reason) in [
        (unique("nosuchnode"), "unreachable"),
        (format!("{}@{}", unique("nosuchnode"), short_host()), "unreachable"),
        ("app@no-such-host-runyard-test".to_string(), "no_host"),
    ] {
        let t0 = Instant::now();
        h.manager.connect(S, attached_config(&node, "cookie"));
        match h.wait_init_failed(S) {
            InitError::Agent {
                reason: got, message, ..
            } => {
                assert_eq!(got, reason, "{node}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{node}: {other:?}"),
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{node}: {:?}", t0.elapsed());
    }
    // A node without Elixir cannot host Runyard's evaluator.
    let erlang = Target::start_erlang(&unique("erlang"), "cookie");
    h.manager.connect(S, attached_config(&erlang.node, "cookie"));
    match h.wait_init_failed(S) {
        InitError::Agent { reason, message, .. } => {
            assert_eq!(reason, "incompatible", "{message}");
            assert!(message.contains("Elixir"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A name that cannot be a node never starts anything.
    h.manager.connect(S, attached_config("my app", "cookie"));
    let error = h.wait_init_failed(S);
    assert!(matches!(error, InitError::InvalidConfig(_)), "{error:?}");
    assert!(
        error.to_string().contains("iex --sname test --cookie mycookie -S mix"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// Security: what another local user can see and reach (issue 10)
// ---------------------------------------------------------------------------

/// The pid the manager spawned, from the `Starting` event.
fn spawned_pid(h: &mut Harness) -> u32 {
    match h
        .drain_matching(Duration::ZERO, |e| matches!(e, Event::Starting { .. }))
        .as_slice()
    {
        [Event::Starting { pid, .. }] => *pid,
        other => panic!("{other:?}"),
    }
}

/// `pid` and every process below it.
fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let p = all[i];
        for task in std::fs::read_dir(format!("/proc/{p}/task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            all.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
        i += 1;
    }
    all
}

fn pids_named(comm: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm))
        .collect()
}

/// The TCP sockets process `pid` listens on, as (local address in hex as
/// in /proc/net/tcp*, port).
fn listening_sockets(pid: u32) -> Vec<(String, u16)> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|l| {
            l.to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_owned)
        })
        .collect();
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // State 0A is LISTEN; field 9 is the inode.
            if fields.len() > 9 && fields[3] == "0A" && inodes.iter().any(|i| i == fields[9]) {
                let (addr, port) = fields[1].rsplit_once(':').unwrap();
                found.push((addr.to_string(), u16::from_str_radix(port, 16).unwrap()));
            }
        }
    }
    found
}

fn is_loopback_hex(addr: &str) -> bool {
    // 127.0.0.1 (little-endian hex) or ::1.
    addr == "0100007F" || addr == "00000000000000000000000001000000"
}

/// This machine's addresses other than loopback (`hostname -I`).
fn outside_addresses() -> Vec<std::net::IpAddr> {
    let out = Proc::new("hostname")
        .arg("-I")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .filter_map(|a| a.parse().ok())
        .filter(|a: &std::net::IpAddr| !a.is_loopback())
        .collect()
}

#[test]
fn another_user_can_neither_read_a_cookie_nor_reach_a_node_from_outside() {
    if skip() {
        return;
    }
    other_user();
    let mut h = Harness::new();
    let info = h.connect(S, elixir_config());
    let standalone_pid = spawned_pid(&mut h);
    let cookie = info.cookie.clone().expect("a cookie");

    // An attach bridge carries the user's own cookie.
    let user_cookie = format!("user-cookie-{}", runyard::runtime::short_id().unwrap());
    let target = Target::start("--sname", &unique("sec"), &user_cookie);
    let b = SessionId(2);
    let bridge = h.connect(b, attached_config(&target.node, &user_cookie));
    assert_eq!(bridge.cookie.as_deref(), Some(user_cookie.as_str()));
    let bridge_pid = spawned_pid(&mut h);

    // A child of the runtime, started from a cell: its command line and
    // environment carry nothing either, and the cookie is not inherited.
    h.eval(S, "child", None, "Port.open({:spawn, \"sleep 60\"}, [])")
        .value();
    let env = h.eval(
        S,
        "env",
        None,
        "{System.get_env(\"RUNYARD_COOKIE\"), elem(System.cmd(\"env\", []), 0)}",
    );
    let env = env.value().unwrap().to_string();
    assert!(env.starts_with("{nil,"), "{env}");
    assert!(!env.contains(&cookie), "the cookie is inherited: {env}");

    // The port's `sh -c` becomes `sleep` when it execs: wait for that.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (pids, names) = loop {
        let mut pids = tree(standalone_pid);
        pids.extend(tree(bridge_pid));
        pids.extend(pids_named("epmd"));
        let names: Vec<String> = pids
            .iter()
            .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).ok())
            .map(|c| c.trim().to_string())
            .collect();
        if names.iter().any(|n| n == "sleep") || std::time::Instant::now() > deadline {
            break (pids, names);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    for expected in ["beam.smp", "erl_child_setup", "sleep", "epmd"] {
        assert!(names.iter().any(|n| n == expected), "no {expected} among {names:?}");
    }

    // What the other user reads: every runtime process's command line and
    // environment, and `ps` of everything.
    let files: Vec<String> = pids
        .iter()
        .flat_map(|p| [format!("/proc/{p}/cmdline"), format!("/proc/{p}/environ")])
        .collect();
    let script = "for f in \"$@\"; do cat \"$f\" 2>/dev/null; echo; done; ps -eo args";
    let mut args = vec!["-c", script, "sh"];
    args.extend(files.iter().map(String::as_str));
    let seen = run_as_other("sh", &args);
    let seen = String::from_utf8_lossy(&seen.stdout).into_owned();
    // The probe did read the runtimes' command lines (they name the nodes)…
    let short = info.name.split('@').next().unwrap();
    assert!(seen.contains(short), "the other user saw none of the runtime: {seen}");
    assert!(seen.contains("runyard-"), "{seen}");
    // …and found neither cookie in them.
    assert!(
        !seen.contains(&cookie),
        "the standalone cookie is readable by another user"
    );
    // The target is the test's own node, started with --cookie; only
    // Runyard's processes are examined for the user's cookie.
    let runyard_only: String = pids
        .iter()
        .filter(|p| !tree(target.pid()).contains(p))
        .map(|p| String::from_utf8_lossy(&std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default()).into_owned())
        .collect();
    assert!(!runyard_only.contains(&user_cookie), "{runyard_only}");
    assert!(!seen.contains("RUNYARD_COOKIE="), "an environment was readable");

    // Distribution listens on loopback only, for the standalone node and the
    // bridge; so does an epmd Runyard started (one started by someone else,
    // say a test's `elixir --sname` target, is not Runyard's to judge).
    let mut ports = Vec::new();
    for beam in [standalone_pid, bridge_pid] {
        let sockets = listening_sockets(beam);
        assert!(!sockets.is_empty(), "the node {beam} does not listen");
        assert!(
            sockets.iter().all(|(a, _)| is_loopback_hex(a)),
            "{beam} listens on {sockets:?}"
        );
        ports.extend(sockets.iter().map(|(_, p)| *p));
    }
    for epmd in pids_named("epmd") {
        let cmdline = std::fs::read(format!("/proc/{epmd}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("-address\x00127.0.0.1") {
            let sockets = listening_sockets(epmd);
            assert!(
                sockets.iter().all(|(a, _)| is_loopback_hex(a)),
                "epmd listens on {sockets:?}"
            );
        }
    }
    // From another address of this machine, the nodes cannot be reached at all.
    for addr in outside_addresses() {
        for port in &ports {
            let reached = std::net::TcpStream::connect_timeout(&(addr, *port).into(), Duration::from_secs(2));
            assert!(reached.is_err(), "{addr}:{port} accepts connections");
        }
    }
    // And the other user, with the cookies it could know (its own default
    // and the one a `-nocookie` node starts with), is refused on loopback.
    for guess in ["nocookie", "runyard"] {
        let code = format!("IO.puts(Node.ping(:\"{}\"))", info.name);
        let out = run_as_other(
            &which_in_path(&elixir_exe())
                .unwrap_or_else(|| PathBuf::from(elixir_exe()))
                .to_string_lossy(),
            &[
                "--name",
                &format!("{}@127.0.0.1", unique("intruder")),
                "--cookie",
                guess,
                "-e",
                &code,
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim(),
            "pang",
            "{guess}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The same probe with the real cookie gets in, so the refusals above are
    // about the cookie, not about the probe (the owner's way in, below).
    assert_eq!(probe(&info.name, &cookie, "1 + 1"), "2");
}

/// `beam-<Elixir>-otp<OTP>`, the compiled agent's directory name.
fn beams_dir_name() -> String {
    let out = Proc::new(elixir_exe())
        .args([
            "-e",
            "IO.write(\"beam-#{System.version()}-otp#{System.otp_release()}\")",
        ])
        .output()
        .expect("elixir runs");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn eight_parallel_first_starts_on_an_empty_cache_all_connect() {
    if skip() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let notebook = root.path().join("n.livemd");
    std::fs::write(&notebook, "# Parallel\n\n```elixir\nIO.puts(\"node #{node()}\")\n```\n").unwrap();
    let cache = root.path().join("cache");
    // A compile lock left by a compiler that died: it must not stop anyone.
    let agent = cache.join("agents/elixir").join(elixir::AGENT_KEY);
    let lock = agent.join(format!("{}.lock", beams_dir_name()));
    std::fs::create_dir_all(&lock).unwrap();
    let mut dead = Proc::new("true").spawn().unwrap();
    dead.wait().unwrap();
    std::fs::write(lock.join("pid"), dead.id().to_string()).unwrap();

    let runs: Vec<Child> = (0..8)
        .map(|_| {
            // The default 10 s init timeout, as `runyard run` has it.
            Proc::new(env!("CARGO_BIN_EXE_runyard"))
                .arg("run")
                .arg(&notebook)
                .env("RUNYARD_CACHE_DIR", &cache)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let pids: Vec<u32> = runs.iter().map(Child::id).collect();
    // Never hang: whatever is left after a generous while is killed.
    let watchdog = std::thread::spawn(move || {
        let left = wait_gone(&pids, Duration::from_secs(240));
        for pid in &left {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        left
    });
    for run in runs {
        let out = run.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stdout} {stderr}", out.status);
        assert!(stdout.contains("node runyard-"), "{stdout} {stderr}");
    }
    assert_eq!(watchdog.join().unwrap(), Vec::<u32>::new(), "runs had to be killed");
    // One compiled agent, no lock, no half-written copies.
    let mut left: Vec<String> = std::fs::read_dir(&agent)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, [beams_dir_name(), "elixir_agent.ex".into()]);
}

#[test]
fn the_owner_gets_a_remote_shell_with_the_command_the_panel_shows() {
    if skip() {
        return;
    }
    if which_in_path("script").is_none() {
        // iex --remsh needs a terminal; util-linux's `script` gives it one.
        panic!("this test needs `script` (util-linux) in PATH");
    }
    let (mut h, info) = connected();
    let command = elixir::remsh_command(&info.name, info.cookie.as_deref().expect("a cookie"));
    let mut shell = Proc::new("script")
        .args(["-qc", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdin = shell.stdin.take().unwrap();
    let mut stdout = shell.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut seen = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            let _ = tx.send(seen.clone());
        }
    });
    let wait_for = |what: &str| -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(seen) if seen.contains(what) => return seen,
                Ok(_) => {}
                Err(_) => panic!("no {what:?} from `{command}`"),
            }
        }
    };
    // The prompt names the node the shell evaluates on: Runyard's.
    wait_for(&format!("iex({})", info.name));
    use std::io::Write;
    stdin
        .write_all(b"IO.puts(\"remote:\" <> Atom.to_string(node()))\n")
        .unwrap();
    wait_for(&format!("remote:{}", info.name));
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(shell.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = shell.wait();
    // The runtime lives on, undisturbed.
    assert_eq!(h.eval(S, "after", None, "1 + 1").value(), Some("2"));
}

/// `IO.gets` asks through the manager as Python's `input()` does: the line
/// typed comes back with its newline, end of input is `:eof`.
#[test]
fn io_gets_asks_the_user_and_end_of_input_is_eof() {
    if skip() {
        return;
    }
    let (mut h, _) = connected();
    let asked = |h: &mut Harness, r: &str| {
        h.wait_for("the input request", |e| match e {
            Event::InputRequested {
                evaluation_ref: Some(er),
                prompt,
                ..
            } if er == r => Some(prompt.clone()),
            _ => None,
        })
    };
    h.submit(S, "main", "e1", None, "IO.puts(\"before\")\nIO.gets(\"Name? \")");
    assert_eq!(asked(&mut h, "e1"), "Name? ");
    h.manager.send(Command::Input {
        session: S,
        value: Some("Ada".into()),
    });
    let done = h.finish(S, "e1");
    assert_eq!(done.value(), Some("\"Ada\\n\""));
    assert_eq!(done.stdout, "before\n");

    h.submit(S, "main", "e2", None, "IO.gets(\"more? \")");
    asked(&mut h, "e2");
    h.manager.send(Command::Input {
        session: S,
        value: None,
    });
    assert_eq!(h.finish(S, "e2").value(), Some(":eof"));
}
