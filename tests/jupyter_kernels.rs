//! Jupyter kernels as runtime nodes, with real kernels: ipykernel from the
//! test venv (`RUNYARD_TEST_VENV`) and R's IRkernel (Debian's
//! r-cran-irkernel). No mocks: the misbehaving kernels are real programs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use runyard::kernels::KernelSpec;
use runyard::manager::Command;
use runyard::{Event, InitError, Outcome, RuntimeConfig, SessionId};

const HOST_ENV: &str = "RUNYARD_KERNEL_HOST";

/// Jupyter's runtime directory for this test process: a fresh one, made
/// by Runyard (so its mode is Runyard's doing), set before any kernel starts.
fn runtime_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("JUPYTER_RUNTIME_DIR").filter(|_| std::env::var_os(HOST_ENV).is_some()) {
            return PathBuf::from(dir);
        }
        let root = tempfile::tempdir().unwrap().keep();
        let dir = root.join("jupyter-runtime");
        // SAFETY: set once, before any manager of this process starts (every
        // test calls this first, and the others wait on the OnceLock).
        unsafe { std::env::set_var("JUPYTER_RUNTIME_DIR", &dir) };
        dir
    })
}

/// Writes `dir/<name>/kernel.json` and reads it as Runyard does.
fn write_spec(dir: &Path, name: &str, kernel_json: serde_json::Value) -> KernelSpec {
    let spec_dir = dir.join(name);
    std::fs::create_dir_all(&spec_dir).unwrap();
    std::fs::write(spec_dir.join("kernel.json"), kernel_json.to_string()).unwrap();
    KernelSpec::read(&spec_dir).unwrap()
}

fn ipykernel_spec(dir: &Path) -> KernelSpec {
    let python = test_venv_python();
    write_spec(
        dir,
        "pyk",
        serde_json::json!({
            "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python (test venv)",
            "language": "python",
        }),
    )
}

fn irkernel_spec(dir: &Path) -> KernelSpec {
    let ok = std::process::Command::new("R")
        .args(["--slave", "-e", "library(IRkernel)"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "R with IRkernel is needed: scripts/test installs it (apt-get install r-cran-irkernel)"
    );
    write_spec(
        dir,
        "rk",
        serde_json::json!({
            "argv": ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"],
            "display_name": "R",
            "language": "R",
        }),
    )
}

fn kernel_config(spec: KernelSpec) -> RuntimeConfig {
    // R and a cold ipykernel can take a while on a busy 2-core machine.
    RuntimeConfig::jupyter(spec).with_init_timeout(Duration::from_secs(60))
}

fn connection_file(node: &str) -> PathBuf {
    runtime_dir().join(format!("kernel-{node}.json"))
}

/// What a cell showed as its value: the result's `text/plain` (ipykernel's
/// `execute_result`), else its last display's (IRkernel shows values with
/// `display_data`).
fn shown(evaluated: &Evaluated) -> Option<String> {
    if let Some(value) = evaluated.value() {
        return Some(value.to_string());
    }
    evaluated.items.iter().rev().find_map(|item| match item {
        Item::Display { bundle, .. } => bundle.data.get("text/plain")?.as_str().map(str::to_string),
        _ => None,
    })
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The code each kernel runs for the same checks.
struct Lang {
    two: (&'static str, &'static str),
    print: (&'static str, &'static str),
    error: (&'static str, &'static str),
    plot: &'static str,
    set_x: &'static str,
    x_plus_one: (&'static str, &'static str),
    sleep: &'static str,
}

const PYTHON: Lang = Lang {
    two: ("1+1", "2"),
    print: ("print('hello')", "hello\n"),
    error: ("def f():\n    return 1/0\nf()", "ZeroDivisionError"),
    plot: "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
    set_x: "x = 41",
    x_plus_one: ("x + 1", "42"),
    sleep: "import time\nprint('sleeping', flush=True)\ntime.sleep(120)",
};

const R: Lang = Lang {
    two: ("1+1", "[1] 2"),
    print: ("cat('hello\\n')", "hello\n"),
    error: ("f <- function() stop('boom')\nf()", "boom"),
    plot: "plot(1:10)",
    set_x: "x <- 41",
    x_plus_one: ("x + 1", "[1] 42"),
    sleep: "cat('sleeping\\n'); flush(stdout()); Sys.sleep(120)",
};

/// Everything one kernel must do, in one session, in order.
fn exercise(spec: KernelSpec, lang: &Lang) {
    runtime_dir();
    let mut h = Harness::new();
    let s = SessionId(1);
    let info = h.connect(s, kernel_config(spec));
    assert!(alive(info.pid), "the kernel's pid is a live process");
    assert_eq!(info.kind, "Jupyter kernel");

    // The connection file: 0600, in a 0700 directory, loopback only.
    let file = connection_file(&info.name);
    assert_eq!(mode(&file), 0o600, "{}", file.display());
    assert_eq!(mode(runtime_dir()), 0o700);
    let connection: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(connection["ip"], "127.0.0.1");
    assert_eq!(connection["signature_scheme"], "hmac-sha256");
    assert_eq!(connection["key"].as_str().unwrap().len(), 32);

    let two = h.eval(s, "two", None, lang.two.0);
    assert_eq!(shown(&two).as_deref(), Some(lang.two.1), "{two:?}");

    let printed = h.eval(s, "print", None, lang.print.0);
    assert_eq!(printed.stdout, lang.print.1, "{printed:?}");

    let failed = h.eval(s, "error", None, lang.error.0);
    let error = failed.error();
    let said = format!("{} {} {}", error.kind, error.message, error.formatted);
    assert!(said.contains(lang.error.1), "{error:?}");
    assert!(
        !error.formatted.contains('\u{1b}'),
        "escape sequences are stripped: {error:?}"
    );

    let plotted = h.eval(s, "plot", None, lang.plot);
    let image = plotted.items.iter().any(|item| match item {
        Item::Display { bundle, .. } => bundle
            .data
            .get("image/png")
            .and_then(|v| v.as_str())
            .is_some_and(|png| png.starts_with("iVBOR")),
        _ => false,
    });
    assert!(image, "a display_data with image/png: {plotted:?}");

    // Interrupt a sleep; the kernel keeps its state.
    assert!(matches!(h.eval(s, "set", None, lang.set_x).outcome, Outcome::Ok { .. }));
    h.submit(s, "main", "sleep", None, lang.sleep);
    h.wait_for("the sleep to start", |e| match e {
        Event::Output { text, .. } if text.contains("sleeping") => Some(()),
        _ => None,
    });
    h.manager.send(Command::Interrupt { session: s });
    let slept = h.finish(s, "sleep");
    assert!(matches!(slept.outcome, Outcome::Interrupted(_)), "{slept:?}");
    let kept = h.eval(s, "x1", None, lang.x_plus_one.0);
    assert_eq!(shown(&kept).as_deref(), Some(lang.x_plus_one.1), "{kept:?}");

    // SIGKILL: the node goes down, the file goes.
    kill9(info.pid);
    h.wait_for("node down", |e| match e {
        Event::NodeDown { session, exit, .. } if *session == s => Some(exit.signal),
        _ => None,
    });
    assert!(wait_gone(&[info.pid], WAIT).is_empty());
    wait_removed(&file);

    // Reconnect: a fresh kernel, state gone.
    h.manager.send(Command::Reconnect { session: s });
    let again = h.wait_connected(s);
    assert_ne!(again.pid, info.pid);
    let fresh = h.eval(s, "two-again", None, lang.two.0);
    assert_eq!(shown(&fresh).as_deref(), Some(lang.two.1));
    let gone = h.eval(s, "x-gone", None, lang.x_plus_one.0);
    assert!(matches!(gone.outcome, Outcome::Error(_)), "{gone:?}");

    // Disconnect leaves no process and no file.
    let file = connection_file(&again.name);
    assert!(file.exists());
    let below = descendants(again.pid);
    h.manager.send(Command::Disconnect { session: s });
    h.wait_for("disconnected", |e| match e {
        Event::Disconnected { session, reason, .. } if *session == s => Some(*reason),
        _ => None,
    });
    let mut pids = below;
    pids.push(again.pid);
    let left = wait_gone(&pids, WAIT);
    assert!(left.is_empty(), "still running after disconnect: {left:?}");
    wait_removed(&file);
}

fn wait_removed(file: &Path) {
    let deadline = std::time::Instant::now() + WAIT;
    while file.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} was not removed",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every process below `pid`, from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        let Ok(entries) = std::fs::read_dir("/proc") else { break };
        for entry in entries.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(parent) {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

#[test]
fn ipykernel_runs_cells_like_any_runtime() {
    let dir = tempfile::tempdir().unwrap();
    exercise(ipykernel_spec(dir.path()), &PYTHON);
}

#[test]
fn irkernel_runs_cells_like_any_runtime() {
    let dir = tempfile::tempdir().unwrap();
    exercise(irkernel_spec(dir.path()), &R);
}

/// `input()` asks and gets the line typed in; a
/// display updated by id arrives as an update; the result comes after its output.
#[test]
fn ipykernel_input_updates_and_order() {
    runtime_dir();
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new();
    let s = SessionId(1);
    h.connect(s, kernel_config(ipykernel_spec(dir.path())));
    h.submit(s, "main", "input", None, "input('name? ')");
    let prompt = h.wait_for("the input request", |e| match e {
        Event::InputRequested {
            evaluation_ref: Some(r),
            prompt,
            ..
        } if r == "input" => Some(prompt.clone()),
        _ => None,
    });
    assert_eq!(prompt, "name? ");
    h.manager.send(runyard::Command::Input {
        session: s,
        value: Some("Ada".into()),
    });
    let asked = h.finish(s, "input");
    assert_eq!(asked.value(), Some("'Ada'"), "{asked:?}");

    let code = "from IPython.display import display, update_display\n\
                display('first', display_id='d')\n\
                update_display('second', display_id='d')\n\
                for i in range(2000):\n    print(i)\n\
                'done'";
    let ran = h.eval(s, "displays", None, code);
    assert_eq!(ran.value(), Some("'done'"));
    let expected: String = (0..2000).map(|i| format!("{i}\n")).collect();
    assert_eq!(ran.stdout, expected, "all output arrives before the result");
    let displays: Vec<_> = ran
        .displays()
        .into_iter()
        .map(|(bundle, display_id, update)| (bundle.data["text/plain"].clone(), display_id, update))
        .collect();
    assert_eq!(
        displays,
        vec![
            ("'first'".into(), Some("d".to_string()), false),
            ("'second'".into(), Some("d".to_string()), true)
        ]
    );
}

#[test]
fn a_missing_kernel_program_is_a_typed_error() {
    runtime_dir();
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new();
    let spec = write_spec(
        dir.path(),
        "missing",
        serde_json::json!({"argv": ["runyard-no-such-kernel-program", "-f", "{connection_file}"]}),
    );
    h.manager.connect(SessionId(1), kernel_config(spec));
    match h.wait_init_failed(SessionId(1)) {
        InitError::ExecutableNotFound { name, searched } => {
            assert_eq!(name, "runyard-no-such-kernel-program");
            assert!(!searched.is_empty(), "says where it looked");
        }
        other => panic!("{other:?}"),
    }
    let spec = write_spec(
        dir.path(),
        "missing-path",
        serde_json::json!({"argv": ["/nonexistent/kernel", "{connection_file}"]}),
    );
    h.manager.connect(SessionId(2), kernel_config(spec));
    assert!(matches!(h.wait_init_failed(SessionId(2)), InitError::NoSuchFile { .. }));
}

#[test]
fn a_kernel_that_never_answers_times_out_and_is_gone() {
    runtime_dir();
    let dir = tempfile::tempdir().unwrap();
    let program = script(dir.path(), "silent-kernel", "#!/bin/sh\nexec sleep 1000\n");
    let spec = write_spec(
        dir.path(),
        "silent",
        serde_json::json!({"argv": [program, "-f", "{connection_file}"]}),
    );
    let mut h = Harness::new();
    let s = SessionId(1);
    h.manager.connect(
        s,
        RuntimeConfig::jupyter(spec).with_init_timeout(Duration::from_secs(2)),
    );
    let (pid, node) = h.wait_for("starting", |e| match e {
        Event::Starting { pid, node, .. } => Some((*pid, node.clone())),
        _ => None,
    });
    assert!(connection_file(&node).exists());
    match h.wait_init_failed(s) {
        InitError::Timeout { timeout, .. } => assert_eq!(timeout, Duration::from_secs(2)),
        other => panic!("{other:?}"),
    }
    assert!(wait_gone(&[pid], WAIT).is_empty(), "the silent kernel is killed");
    wait_removed(&connection_file(&node));
}

#[test]
fn a_kernel_that_exits_early_says_why() {
    runtime_dir();
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "bad-kernel",
        "#!/bin/sh\necho 'no such module' >&2\nexit 3\n",
    );
    let spec = write_spec(
        dir.path(),
        "bad",
        serde_json::json!({"argv": [program, "{connection_file}"]}),
    );
    let mut h = Harness::new();
    h.manager.connect(SessionId(1), kernel_config(spec));
    match h.wait_init_failed(SessionId(1)) {
        InitError::ExitedEarly { status, stderr_tail } => {
            assert_eq!(status.code, Some(3));
            assert!(stderr_tail.contains("no such module"), "{stderr_tail:?}");
        }
        other => panic!("{other:?}"),
    }
}

/// A real ipykernel made to announce protocol 4.1 is refused by name.
#[test]
fn a_kernel_older_than_protocol_5_is_refused() {
    runtime_dir();
    let dir = tempfile::tempdir().unwrap();
    let python = test_venv_python();
    let boot = "import ipykernel._version as v\n\
                v.kernel_protocol_version = '4.1'\n\
                from ipykernel import kernelapp\n\
                kernelapp.launch_new_instance()";
    let spec = write_spec(
        dir.path(),
        "old",
        serde_json::json!({"argv": [python, "-c", boot, "-f", "{connection_file}"]}),
    );
    let mut h = Harness::new();
    h.manager.connect(SessionId(1), kernel_config(spec));
    match h.wait_init_failed(SessionId(1)) {
        InitError::KernelProtocol { found } => assert_eq!(found, "4.1"),
        other => panic!("{other:?}"),
    }
}

/// Runs only inside the helper process that `kernels_die_with_their_host`
/// starts: it hosts a manager with an ipykernel (which started a
/// grandchild) and prints their pids.
#[test]
#[ignore = "helper process for kernels_die_with_their_host"]
fn kernel_host() {
    if std::env::var_os(HOST_ENV).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new();
    let info = h.connect(SessionId(1), kernel_config(ipykernel_spec(dir.path())));
    let child = h.eval(
        SessionId(1),
        "spawn",
        None,
        "import subprocess\nsubprocess.Popen(['sleep', '1000']).pid",
    );
    let grandchild: u32 = child.value().unwrap().parse().unwrap();
    h.submit(SessionId(1), "main", "busy", None, "import time\ntime.sleep(1000)");
    println!("RUNYARD_PIDS {} {grandchild}", info.pid);
    std::thread::sleep(Duration::from_secs(3600));
}

#[test]
fn kernels_die_with_their_host() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let (mut host, pids) = start_host(
        "kernel_host",
        &[(HOST_ENV, "1".as_ref()), ("JUPYTER_RUNTIME_DIR", runtime.as_os_str())],
    );
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&p| alive(p)));
    let files = || -> Vec<PathBuf> {
        std::fs::read_dir(&runtime)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    assert_eq!(files().len(), 1, "one connection file while it runs");
    kill9(host.id());
    host.wait().unwrap();
    let survivors = wait_gone(&pids, Duration::from_secs(5));
    assert!(
        survivors.is_empty(),
        "still alive after the host was killed: {survivors:?}"
    );
    let deadline = std::time::Instant::now() + WAIT;
    while !files().is_empty() {
        assert!(std::time::Instant::now() < deadline, "left behind: {:?}", files());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn runyard_run_evaluates_a_notebook_in_a_named_kernel() {
    runtime_dir();
    let dir = tempfile::tempdir().unwrap();
    let kernels = dir.path().join("share/kernels");
    ipykernel_spec(&kernels);
    let notebook = dir.path().join("nb.ipynb");
    let nb = serde_json::json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "pyk", "display_name": "Python", "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [
            {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": null, "outputs": [],
             "source": "import sys\nprint('from', sys.executable)"},
            {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": null, "outputs": [],
             "source": "6 * 7"}
        ]
    });
    std::fs::write(&notebook, nb.to_string()).unwrap();
    let out = dir.path().join("out.ipynb");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_runyard"))
        .arg("run")
        .arg(&notebook)
        .arg("--kernel")
        .arg("pyk")
        .arg("--output")
        .arg(&out)
        .args(["--timeout-init", "60"])
        .env("JUPYTER_PATH", dir.path().join("share"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains(&test_venv_python().display().to_string()), "{written}");
    assert!(written.contains("\"42\""), "{written}");

    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_runyard"))
        .arg("run")
        .arg(&notebook)
        .args(["--kernel", "nope"])
        .env("JUPYTER_PATH", dir.path().join("share"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no Jupyter kernel named \"nope\""));
}

/// A kernelspec with `interrupt_mode: message` is interrupted by an
/// `interrupt_request` on the control channel, and keeps its state.
#[test]
fn a_message_mode_kernel_is_interrupted_on_its_control_channel() {
    runtime_dir();
    let dir = tempfile::tempdir().unwrap();
    let python = test_venv_python();
    let spec = write_spec(
        dir.path(),
        "pyk-message",
        serde_json::json!({
            "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python (interrupted by message)",
            "language": "python",
            "interrupt_mode": "message",
        }),
    );
    assert_eq!(spec.interrupt_mode, runyard::kernels::InterruptMode::Message);
    let mut h = Harness::new();
    let s = SessionId(1);
    h.connect(s, kernel_config(spec));
    assert_eq!(shown(&h.eval(s, "x", None, "x = 41\nx")).as_deref(), Some("41"));
    h.submit(s, "main", "sleep", None, PYTHON.sleep);
    h.wait_for("the sleep to start", |e| match e {
        Event::Output { text, .. } if text.contains("sleeping") => Some(()),
        _ => None,
    });
    h.manager.send(Command::Interrupt { session: s });
    let slept = h.finish(s, "sleep");
    assert!(matches!(slept.outcome, Outcome::Interrupted(_)), "{slept:?}");
    assert_eq!(shown(&h.eval(s, "after", None, "x + 1")).as_deref(), Some("42"));
}

/// A kernel that stops answering its heartbeat (SIGSTOP: hung, not dead) is
/// reported as not responding, and as responding again once it goes on.
#[test]
fn a_hung_kernel_is_reported_by_its_heartbeat() {
    runtime_dir();
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new();
    let s = SessionId(1);
    let info = h.connect(s, kernel_config(ipykernel_spec(dir.path())));
    let pid = nix::unistd::Pid::from_raw(info.pid as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    h.wait_for("the not-responding warning", |e| match e {
        Event::Warning { message, .. } if message.contains("not responding") => Some(()),
        _ => None,
    });
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    h.wait_for("the responding-again notice", |e| match e {
        Event::Warning { message, .. } if message.contains("responding again") => Some(()),
        _ => None,
    });
    assert_eq!(shown(&h.eval(s, "two", None, "1+1")).as_deref(), Some("2"));
}
