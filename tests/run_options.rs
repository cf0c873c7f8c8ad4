//! `runyard run`'s options for unattended runs (issue #17): `--timeout`,
//! `--allow-errors`, `--cwd`, Ctrl-C, execution metadata, the summary line,
//! the exit statuses, inputs refused before anything runs, and `--json`.
//! Each runs the real binary with real python3 (and elixir for one case).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{validate_with_jupyter, wait_gone};
use serde_json::Value;

fn runyard() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runyard"));
    if let Ok(python) = std::env::var("RUNYARD_TEST_PYTHON") {
        let dir = Path::new(&python)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        command.env("PATH", format!("{dir}:{}", std::env::var("PATH").unwrap()));
    }
    command
}

fn run(args: &[&str]) -> Output {
    runyard().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A Python notebook (nbformat 4.5) of these code cells.
fn notebook(dir: &Path, name: &str, cells: &[&str]) -> PathBuf {
    let cells: Vec<Value> = cells
        .iter()
        .enumerate()
        .map(|(i, source)| {
            serde_json::json!({
                "cell_type": "code", "id": format!("c{}", i + 1), "metadata": {},
                "execution_count": null, "outputs": [], "source": source,
            })
        })
        .collect();
    let nb = serde_json::json!({
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
        "nbformat": 4, "nbformat_minor": 5,
    });
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&nb).unwrap()).unwrap();
    path
}

fn read_cells(path: &Path) -> Vec<Value> {
    let nb: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    nb["cells"].as_array().unwrap().clone()
}

fn output_types(cell: &Value) -> Vec<String> {
    cell["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["output_type"].as_str().unwrap().to_string())
        .collect()
}

/// A cell that writes the runtime's pid to `file`, so a test can check it
/// is gone. Written beside it and renamed: the file appears whole, never
/// empty between its creation and the write.
fn pid_cell(file: &Path) -> String {
    let file = file.display().to_string();
    format!(
        "import os\nwith open({tmp:?}, 'w') as f:\n    f.write(str(os.getpid()))\nos.replace({tmp:?}, {file:?})\nprint('first')",
        tmp = format!("{file}.part"),
    )
}

fn read_pid(file: &Path) -> u32 {
    std::fs::read_to_string(file).unwrap().trim().parse().unwrap()
}

/// Waits until `file` exists (a cell wrote it).
fn wait_for_file(file: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", file.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigint(child: &std::process::Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
}

/// Waits for the child, failing (and killing it) past `within`.
fn wait_within(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("runyard run did not end within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_cell_past_its_timeout_is_interrupted_and_the_run_stops() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("third-ran");
    let input = notebook(
        dir.path(),
        "slow.ipynb",
        &[
            "print('before')",
            "import time\ntime.sleep(30)",
            &format!("open({:?}, 'w')", marker.display().to_string()),
        ],
    );
    let output = dir.path().join("out.ipynb");
    let started = Instant::now();
    let out = run(&[
        "run",
        input.to_str().unwrap(),
        "--timeout",
        "1",
        "-o",
        output.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cell 2 (id c2) timed out after 1 s"), "{stderr}");
    assert!(
        took < Duration::from_secs(10),
        "interrupted, not killed after the grace: {took:?}"
    );
    assert!(!marker.exists(), "the cells after a timeout do not run");
    let cells = read_cells(&output);
    assert_eq!(output_types(&cells[0]), ["stream"]);
    assert_eq!(output_types(&cells[1]), ["error"]);
    assert_eq!(cells[1]["outputs"][0]["ename"], "CellTimeoutError");
    let traceback = cells[1]["outputs"][0]["traceback"].to_string();
    assert!(traceback.contains("KeyboardInterrupt"), "{traceback}");
    assert!(cells[2]["outputs"].as_array().unwrap().is_empty());
    assert!(cells[2]["execution_count"].is_null());
    validate_with_jupyter(&output);
}

#[test]
fn a_cell_that_ignores_the_interrupt_has_its_runtime_killed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let input = notebook(
        dir.path(),
        "stubborn.ipynb",
        &[
            &pid_cell(&pid_file),
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)",
            "print('never')",
        ],
    );
    let output = dir.path().join("out.ipynb");
    let started = Instant::now();
    let out = run(&[
        "run",
        input.to_str().unwrap(),
        "--timeout",
        "1",
        "-o",
        output.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    // A timeout is the cell's failure, also when its runtime had to be killed.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "cell 2 (id c2) timed out after 1 s; it did not stop within 5 s of the interrupt, so its runtime was killed"
        ),
        "{stderr}"
    );
    assert!(took >= Duration::from_secs(6), "killed only after the grace: {took:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert_eq!(
        wait_gone(&[read_pid(&pid_file)], Duration::from_secs(5)),
        [] as [u32; 0]
    );
    let cells = read_cells(&output);
    assert_eq!(cells[1]["outputs"][0]["ename"], "CellTimeoutError");
    assert!(cells[2]["outputs"].as_array().unwrap().is_empty());
}

#[test]
fn allow_errors_runs_every_cell_and_records_the_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = notebook(
        dir.path(),
        "errors.ipynb",
        &[
            "x = 1\n1/0",
            "print('second', x)",
            "raise ValueError('bad')",
            "print('last')",
        ],
    );
    let output = dir.path().join("out.ipynb");
    let out = run(&[
        "run",
        input.to_str().unwrap(),
        "--allow-errors",
        "-o",
        output.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let cells = read_cells(&output);
    assert_eq!(output_types(&cells[0]), ["error"]);
    assert_eq!(cells[0]["outputs"][0]["ename"], "ZeroDivisionError");
    assert_eq!(cells[1]["outputs"][0]["text"], serde_json::json!(["second 1\n"]));
    assert_eq!(cells[2]["outputs"][0]["ename"], "ValueError");
    assert_eq!(cells[3]["outputs"][0]["text"], serde_json::json!(["last\n"]));
    assert_eq!(cells[3]["execution_count"], 4);
    // The summary line.
    let summary = stderr.lines().find(|l| l.starts_with("runyard: 4 cells, 2 failed, "));
    assert!(summary.is_some(), "{stderr}");

    // Jupyter's execution metadata, valid for nbformat.
    let stamp = |v: &Value| {
        let s = v.as_str().unwrap_or_default().to_string();
        assert!(
            s.len() == 27 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.',
            "{s:?}"
        );
        s
    };
    for cell in &cells {
        let execution = &cell["metadata"]["execution"];
        let busy = stamp(&execution["iopub.status.busy"]);
        let input = stamp(&execution["iopub.execute_input"]);
        let reply = stamp(&execution["shell.execute_reply"]);
        let idle = stamp(&execution["iopub.status.idle"]);
        assert!(busy <= input && input <= reply && reply <= idle, "{execution}");
    }
    validate_with_jupyter(&output);

    // Without --allow-errors the first error stops the run.
    let out = run(&["run", input.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let cells = read_cells(&output);
    assert!(cells[1]["outputs"].as_array().unwrap().is_empty());
    assert!(
        text(&out.stderr).contains("runyard: 1 cell, 1 failed, "),
        "{}",
        text(&out.stderr)
    );

    // A cell tagged `raises-exception` may fail without --allow-errors, as in nbclient.
    let mut nb: Value = serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
    nb["cells"][0]["metadata"]["tags"] = serde_json::json!(["raises-exception"]);
    std::fs::write(&input, nb.to_string()).unwrap();
    let out = run(&["run", input.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cell 3 (id c3) failed"),
        "{}",
        text(&out.stderr)
    );
    let cells = read_cells(&output);
    assert_eq!(cells[1]["outputs"][0]["text"], serde_json::json!(["second 1\n"]));
    assert!(cells[3]["outputs"].as_array().unwrap().is_empty());
}

#[test]
fn the_working_directory_is_the_notebooks_unless_cwd_says_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(project.join("data.txt"), "beside the notebook").unwrap();
    std::fs::write(elsewhere.join("data.txt"), "from --cwd").unwrap();
    let input = notebook(&project, "reads.ipynb", &["print(open('data.txt').read())"]);

    // Run from another directory, with a relative path to the notebook.
    let out = runyard()
        .current_dir(dir.path())
        .args(["run", "project/reads.ipynb"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "beside the notebook\n");

    let out = run(&["run", input.to_str().unwrap(), "--cwd", elsewhere.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "from --cwd\n");

    let out = run(&["run", input.to_str().unwrap(), "--cwd", "/no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--cwd /no/such/dir: not a directory"));

    // Elixir too (the runtime's cwd is set where it is spawned).
    if common::elixir::skip() {
        return;
    }
    let livemd = project.join("reads.livemd");
    std::fs::write(
        &livemd,
        "# Reads\n\n```elixir\nIO.puts(File.read!(\"data.txt\"))\n```\n",
    )
    .unwrap();
    let out = runyard()
        .current_dir(dir.path())
        .args(["run", "project/reads.livemd", "--elixir", &common::elixir::elixir_exe()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Then the cell's value, IO.puts's :ok.
    assert_eq!(text(&out.stdout), "beside the notebook\n:ok\n");
}

#[test]
fn ctrl_c_interrupts_the_cell_saves_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let input = notebook(
        dir.path(),
        "sleepy.ipynb",
        &[
            &format!("open({:?}, 'w')\nprint('first')", started.display().to_string()),
            "import time\ntime.sleep(60)",
            "print('never')",
        ],
    );
    let output = dir.path().join("out.ipynb");
    let mut child = runyard()
        .args(["run", input.to_str().unwrap(), "-o", output.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&started);
    std::thread::sleep(Duration::from_millis(500));
    sigint(&child);
    let status = wait_within(&mut child, Duration::from_secs(15));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("cell 2 (id c2) was interrupted"), "{stderr}");
    let cells = read_cells(&output);
    assert_eq!(cells[0]["outputs"][0]["text"], serde_json::json!(["first\n"]));
    assert_eq!(cells[1]["outputs"][0]["ename"], "KeyboardInterrupt");
    assert!(cells[2]["outputs"].as_array().unwrap().is_empty(), "the run stopped");
    validate_with_jupyter(&output);
}

#[test]
fn a_second_ctrl_c_stops_at_once_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let input = notebook(
        dir.path(),
        "stubborn.ipynb",
        &[
            &pid_cell(&pid_file),
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)",
        ],
    );
    let output = dir.path().join("out.ipynb");
    let mut child = runyard()
        .args(["run", input.to_str().unwrap(), "-o", output.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&pid_file);
    let pid = read_pid(&pid_file);
    std::thread::sleep(Duration::from_millis(500));
    sigint(&child);
    std::thread::sleep(Duration::from_millis(300));
    let second = Instant::now();
    sigint(&child);
    // Well before the 5 s grace that a single Ctrl-C waits for.
    let status = wait_within(&mut child, Duration::from_secs(3));
    assert!(second.elapsed() < Duration::from_secs(2), "{:?}", second.elapsed());
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        wait_gone(&[pid], Duration::from_secs(5)),
        [] as [u32; 0],
        "the runtime is gone"
    );
}

#[test]
fn every_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let ok = notebook(dir.path(), "ok.ipynb", &["1"]);
    let failing = notebook(dir.path(), "failing.ipynb", &["1/0"]);
    let dies = notebook(dir.path(), "dies.ipynb", &["import os\nos._exit(0)"]);
    let status = |args: &[&str]| {
        let out = run(args);
        (out.status.code(), text(&out.stderr))
    };
    let (code, stderr) = status(&["run", ok.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = status(&["run", failing.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let (code, stderr) = status(&["run", failing.to_str().unwrap(), "--allow-errors"]);
    assert_eq!(code, Some(0), "{stderr}");
    // Bad usage: clap's own, and a bad --timeout.
    let (code, stderr) = status(&["run", ok.to_str().unwrap(), "--no-such-flag"]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, stderr) = status(&["run", ok.to_str().unwrap(), "--timeout", "0"]);
    assert_eq!(code, Some(2), "{stderr}");
    // The runtime died under a cell, or could not start.
    let (code, stderr) = status(&["run", dies.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("during cell 1"), "{stderr}");
    let quits = common::script(dir.path(), "quits", "#!/bin/sh\nexit 0\n");
    let (code, stderr) = status(&["run", ok.to_str().unwrap(), "--python", quits.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("could not be started"), "{stderr}");
    // 130: see ctrl_c_interrupts_the_cell_saves_and_exits_130.
}

#[test]
fn a_file_that_is_not_a_notebook_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let readme = dir.path().join("README.md");
    // Valid Python: it would create the marker if it were run.
    let content = format!("open({:?}, 'w')\n", marker.display().to_string());
    std::fs::write(&readme, &content).unwrap();
    for args in [vec![], vec!["--inplace"]] {
        let mut all = vec!["run", readme.to_str().unwrap()];
        all.extend(&args);
        let out = run(&all);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("README.md is not a notebook"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert!(!marker.exists(), "nothing ran");
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), content);
}

#[test]
fn an_output_that_cannot_be_written_is_refused_before_anything_runs() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let input = notebook(
        dir.path(),
        "nb.ipynb",
        &[&format!("open({:?}, 'w')", marker.display().to_string())],
    );
    let before = std::fs::read_to_string(&input).unwrap();
    let missing_dir = dir.path().join("no/such/dir/out.ipynb");
    let read_only = dir.path().join("read-only.ipynb");
    std::fs::write(&read_only, "{}").unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut cases = vec![
        (
            vec!["-o", missing_dir.to_str().unwrap()],
            "its directory does not exist",
        ),
        (vec!["-o", read_only.to_str().unwrap()], "read-only"),
    ];
    // --inplace on a read-only notebook.
    let locked = dir.path().join("locked.ipynb");
    std::fs::copy(&input, &locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).unwrap();
    // A directory this user cannot write (root may write anywhere: not tested as root).
    let shut = dir.path().join("shut");
    std::fs::create_dir(&shut).unwrap();
    std::fs::set_permissions(&shut, std::fs::Permissions::from_mode(0o555)).unwrap();
    let shut_out = shut.join("out.ipynb");
    if !nix::unistd::geteuid().is_root() {
        cases.push((vec!["-o", shut_out.to_str().unwrap()], "its directory is not writable"));
    }
    for (args, says) in cases {
        let mut all = vec!["run", input.to_str().unwrap()];
        all.extend(&args);
        let out = run(&all);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!marker.exists(), "{args:?}: no runtime started");
    }
    let out = run(&["run", locked.to_str().unwrap(), "--inplace"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(!marker.exists(), "--inplace on a read-only file: no runtime started");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), before);
    assert_eq!(std::fs::read_to_string(&read_only).unwrap(), "{}");
}

#[test]
fn json_events_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = notebook(
        dir.path(),
        "events.ipynb",
        &[
            "import sys\nprint('hello')\nprint('warn', file=sys.stderr)",
            "display(40)\n42",
            "",
            "1/0",
            "import time\ntime.sleep(30)",
            "print('never')",
        ],
    );
    let output = dir.path().join("out.ipynb");
    let out = run(&[
        "run",
        input.to_str().unwrap(),
        "--json",
        "--allow-errors",
        "--timeout",
        "1",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let events: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"run_started"), "{stdout}");
    assert_eq!(kinds.last(), Some(&"run_finished"), "{stdout}");
    let find = |pick: &dyn Fn(&Value) -> bool| -> Value {
        events
            .iter()
            .find(|e| pick(e))
            .cloned()
            .unwrap_or_else(|| panic!("no such event in {stdout}"))
    };
    let started = &events[0];
    assert_eq!(started["cells"], 6);
    assert_eq!(started["notebook"], input.to_str().unwrap());
    let cell_started = find(&|e| e["event"] == "cell_started" && e["cell"] == 1);
    assert_eq!(cell_started["id"], "c1");
    let stdout_event = find(&|e| e["event"] == "output" && e["stream"] == "stdout");
    assert_eq!(
        (stdout_event["cell"].clone(), stdout_event["text"].clone()),
        (1.into(), "hello\n".into())
    );
    find(&|e| e["event"] == "output" && e["stream"] == "stderr" && e["text"] == "warn\n");
    let display = find(&|e| e["event"] == "output" && e["output_type"] == "display_data");
    assert_eq!(display["data"]["text/plain"], "40");
    let result = find(&|e| e["event"] == "output" && e["output_type"] == "execute_result");
    assert_eq!(
        (result["cell"].clone(), result["data"]["text/plain"].clone()),
        (2.into(), "42".into())
    );
    let status = |cell: u64| find(&|e| e["event"] == "cell_finished" && e["cell"] == cell);
    assert_eq!(status(1)["status"], "ok");
    assert!(status(1)["duration_ms"].is_u64());
    assert_eq!(status(3)["status"], "skipped");
    assert_eq!(status(4)["status"], "error");
    assert_eq!(status(4)["error"]["ename"], "ZeroDivisionError");
    assert_eq!(status(5)["status"], "timeout");
    assert_eq!(status(5)["error"]["ename"], "CellTimeoutError");
    assert!(
        !kinds.is_empty() && events.iter().all(|e| e["cell"] != 6),
        "the run stopped at the timeout"
    );
    let finished = events.last().unwrap();
    assert_eq!(finished["status"], "failed");
    assert_eq!(finished["exit_code"], 1);
    assert_eq!(finished["cells"], 4);
    assert_eq!(finished["failures"], 2);
    assert!(finished["duration_ms"].as_u64().unwrap() >= 1000);

    // A refused input still ends with run_finished, and nothing else on stdout.
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, "# Title\n").unwrap();
    let out = run(&["run", readme.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", text(&out.stdout));
    assert_eq!(lines[0]["event"], "run_finished");
    assert_eq!(lines[0]["exit_code"], 2);
    assert_eq!(lines[0]["status"], "refused");
}

/// On an SSH host the notebook's directory here means nothing: the runtime
/// starts in the login directory, and `--cwd` names a directory there.
#[test]
fn on_an_ssh_host_cwd_is_a_directory_there() {
    let sshd = common::sshd::Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let there = dir.path().join("on-the-host");
    std::fs::create_dir(&there).unwrap();
    let script = dir.path().join("where.py");
    std::fs::write(&script, "# %%\nimport os\nprint(os.getcwd())\n").unwrap();
    let ssh = |extra: &[&str]| {
        let mut command = runyard();
        command
            .arg("run")
            .arg(&script)
            .args(["--ssh", sshd.alias, "--ssh-config"])
            .arg(&sshd.config)
            .args(extra);
        let out = command.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    };
    let login = ssh(&[]);
    assert_ne!(Path::new(&login), dir.path(), "not the notebook's directory here");
    assert_eq!(ssh(&["--cwd", there.to_str().unwrap()]), there.to_str().unwrap());
}

/// The Elixir runtime is interrupted at the timeout as well.
#[test]
fn an_elixir_cell_past_its_timeout_is_interrupted() {
    if common::elixir::skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("slow.livemd");
    std::fs::write(
        &input,
        "# Slow\n\n```elixir\nIO.puts(\"before\")\n```\n\n```elixir\nProcess.sleep(30_000)\n```\n\n```elixir\nIO.puts(\"never\")\n```\n",
    )
    .unwrap();
    let started = Instant::now();
    let out = run(&[
        "run",
        input.to_str().unwrap(),
        "--timeout",
        "1",
        "--elixir",
        &common::elixir::elixir_exe(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cell 2 (line 8) timed out after 1 s"), "{stderr}");
    assert!(!stderr.contains("killed"), "interrupted, not killed: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(text(&out.stdout), "before\n:ok\n", "the cell after it did not run");
}
