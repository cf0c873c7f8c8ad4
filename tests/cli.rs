//! `runyard run` as a user calls it.

mod common;

use std::process::{Command, Output};

use common::script;

fn runyard(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runyard"));
    command.args(args);
    if let Ok(python) = std::env::var("RUNYARD_TEST_PYTHON") {
        command.env(
            "PATH",
            format!("{}:{}", python_dir(&python), std::env::var("PATH").unwrap()),
        );
    }
    command.output().unwrap()
}

fn python_dir(python: &str) -> String {
    std::path::Path::new(python)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn runs_the_readme_example() {
    let out = runyard(&["run", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.py")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello from Runyard\n'HELLO FROM RUNYARD!'\n");
    assert!(text(&out.stderr).contains("Python 3."));
}

#[test]
fn a_failing_cell_exits_non_zero_with_the_error_at_the_file_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fail.py");
    std::fs::write(
        &file,
        "# %%\nx = 1\nprint('before')\n\n# %%\ny = 2\nraise ValueError('bad value')\n\n# %%\nprint('never')\n",
    )
    .unwrap();
    let out = runyard(&["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "before\n");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("File \"{}\", line 7", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("ValueError: bad value"), "{stderr}");
    assert!(stderr.contains("cell 2 (line 6) failed"), "{stderr}");
}

#[test]
fn a_runtime_that_dies_is_reported_with_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("die.py");
    std::fs::write(&file, "import os\nos._exit(7)\n").unwrap();
    let out = runyard(&["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "the runtime died");
    assert!(
        text(&out.stderr).contains("terminated unexpectedly with status 7"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_arguments_and_unreadable_files_exit_with_2_and_one_clear_line() {
    let out = runyard(&["run", "/no/such/notebook.py"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read /no/such/notebook.py"), "{stderr}");

    let out = runyard(&["run", "x.py", "--timeout-init", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("\"soon\" is not a number of seconds"));

    let out = runyard(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("bin.py");
    std::fs::write(&binary, b"\xff\xfe\x00garbage").unwrap();
    let out = runyard(&["run", binary.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bin.py: line 1: not a text file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn python_and_timeout_options_are_used() {
    let out = runyard(&[
        "run",
        "--python",
        "runyard-no-such-python",
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.py"),
    ]);
    assert_eq!(out.status.code(), Some(3), "the runtime could not start");
    assert!(
        text(&out.stderr).contains("runyard-no-such-python was not found in PATH"),
        "{}",
        text(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let silent = script(dir.path(), "silent-python", "#!/bin/sh\nexec sleep 1000\n");
    let out = runyard(&[
        "run",
        "--python",
        silent.to_str().unwrap(),
        "--timeout-init",
        "0.5",
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.py"),
    ]);
    assert_eq!(out.status.code(), Some(3), "the runtime could not start");
    assert!(
        text(&out.stderr).contains("did not get ready within 0.5 s"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn help_and_version() {
    let out = runyard(&["--version"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), format!("runyard {}\n", env!("CARGO_PKG_VERSION")));
    let out = runyard(&["run", "--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(help.contains("--python") && help.contains("--timeout-init"), "{help}");
}

/// Nobody types into a headless run: a cell that asks for input gets end of
/// input (EOFError), with a note saying so, instead of hanging the run.
#[test]
fn a_cell_asking_for_input_gets_end_of_input_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ask.py");
    std::fs::write(&file, "# %%\nname = input('Name? ')\n").unwrap();
    let out = runyard(&["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("asked for input (\"Name? \")"), "{stderr}");
    assert!(stderr.contains("EOFError"), "{stderr}");
}

/// `--ssh`, `--ssh-config` and `--slurm` that cannot work are refused with
/// status 2 and one clear line, before anything is started: no server is
/// needed to see it.
#[test]
fn remote_flags_that_cannot_work_exit_with_2_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("nb.py");
    std::fs::write(&script, "# %%\nprint('ran')\n").unwrap();
    let script = script.to_str().unwrap();
    let elixir = dir.path().join("nb.livemd");
    std::fs::write(&elixir, "# Elixir\n\n```elixir\nIO.puts(:ran)\n```\n").unwrap();
    let touched = dir.path().join("touched");
    let proxy = format!("--ssh=-oProxyCommand=touch {}", touched.display());
    for (args, says) in [
        (vec!["--ssh", "gpu-box", "--kernel", "python3"], "cannot be used with"),
        (vec!["--slurm", "-p gpu", "--kernel", "python3"], "cannot be used with"),
        (vec!["--slurm", "", "--elixir", "elixir"], "cannot be used with"),
        (vec!["--ssh-config", "/etc/ssh/ssh_config"], "--ssh"),
        (vec!["--slurm", "--comment 'not closed"], "a quote is not closed"),
        (vec![proxy.as_str()], "is not an SSH host"),
        (
            vec!["--ssh", "gpu-box", "--ssh-config", "/no/such/ssh_config"],
            "/no/such/ssh_config does not exist",
        ),
    ] {
        let mut all = vec!["run", script];
        all.extend(&args);
        let out = runyard(&all);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!text(&out.stdout).contains("ran"), "{args:?}: nothing ran");
    }
    assert!(!touched.exists(), "ssh never read the host as an option");
    // A notebook in another language than Python is not run remotely.
    let out = runyard(&["run", elixir.to_str().unwrap(), "--slurm", "-p debug"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("a notebook in elixir runs on this computer only"),
        "{stderr}"
    );

    let out = runyard(&["run", "--help"]);
    let help = text(&out.stdout);
    for flag in ["--ssh <HOST>", "--ssh-config <FILE>", "--slurm <SRUN ARGS>"] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
}
