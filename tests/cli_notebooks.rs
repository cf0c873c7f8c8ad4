//! `runyard run NOTEBOOK` on each format, with real Python and Elixir
//! runtimes, with and without a failing cell.
//!
//! The Elixir cases fail when `elixir` is missing, so that CI cannot pass
//! without running them; `RUNYARD_SKIP_ELIXIR=1` skips them on purpose.

mod common;

use common::validate_with_jupyter;
use std::path::{Path, PathBuf};
use std::process::{Command, Output as Exit};

use runyard::notebook::{self, CellKind, Notebook, Output};

fn runyard(args: &[&str]) -> Exit {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runyard"));
    command.args(args);
    if let Ok(python) = std::env::var("RUNYARD_TEST_PYTHON") {
        let dir = Path::new(&python)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        command.env("PATH", format!("{dir}:{}", std::env::var("PATH").unwrap()));
    }
    if let Ok(elixir) = std::env::var("RUNYARD_TEST_ELIXIR") {
        command.args(["--elixir", &elixir]);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn skip_elixir() -> bool {
    if std::env::var("RUNYARD_SKIP_ELIXIR").is_ok_and(|v| v == "1") {
        eprintln!("skipped: RUNYARD_SKIP_ELIXIR=1");
        return true;
    }
    let found = std::env::var("RUNYARD_TEST_ELIXIR").is_ok()
        || std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join("elixir").is_file());
    assert!(
        found,
        "elixir was not found: install Elixir (Debian: apt-get install elixir) or set RUNYARD_SKIP_ELIXIR=1"
    );
    false
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn code_cells(nb: &Notebook) -> Vec<&notebook::Cell> {
    nb.sections
        .iter()
        .flat_map(|s| &s.cells)
        .filter(|c| c.kind == CellKind::Code)
        .collect()
}

const PYTHON_NOTEBOOK: &str = r###"{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Run me\n", "\n", "Intro"]},
  {"cell_type": "code", "metadata": {"tags": ["keep"]}, "execution_count": 9, "outputs": [{"output_type": "stream", "name": "stdout", "text": "stale\n"}],
   "source": ["import sys\n", "x = 21\n", "print('héllo')\n", "print('to stderr', file=sys.stderr)"]},
  {"cell_type": "markdown", "metadata": {}, "source": "## Second section"},
  {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": "x * 2"},
  {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": ""},
  {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": "FAILING"}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "mine": 1},
 "nbformat": 4,
 "nbformat_minor": 4
}"###;

#[test]
fn a_jupyter_notebook_runs_into_its_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.ipynb", &PYTHON_NOTEBOOK.replace("FAILING", "x + 1"));
    let before = std::fs::read(&input).unwrap();
    let output = dir.path().join("out.ipynb");
    let out = runyard(&["run", input.to_str().unwrap(), "--output", output.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(std::fs::read(&input).unwrap(), before, "the input is left alone");
    assert_eq!(text(&out.stdout), "", "outputs go into the notebook");
    // Not a terminal: one line per cell.
    assert!(stderr.contains("[1/4] cell 1: ok"), "{stderr}");
    assert!(
        stderr.contains("[2/4] cell 2 (section \"Second section\"): ok"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[3/4] cell 3 (section \"Second section\"): skipped (empty)"),
        "{stderr}"
    );
    assert!(stderr.contains("wrote"), "{stderr}");

    validate_with_jupyter(&output);
    let nb = notebook::open(&output).unwrap();
    assert_eq!(nb.metadata["mine"], 1);
    let cells = code_cells(&nb);
    assert_eq!(cells[0].execution_count, Some(1));
    assert_eq!(cells[0].metadata["tags"][0], "keep");
    // stdout and stderr reach Runyard through two pipes, so which of the two
    // comes first is not kept (nor in Jupyter); each stream's text is.
    assert_eq!(cells[0].outputs.len(), 2, "{:?}", cells[0].outputs);
    for stream in [
        Output::stream("stdout", "héllo\n"),
        Output::stream("stderr", "to stderr\n"),
    ] {
        assert!(cells[0].outputs.contains(&stream), "{:?}", cells[0].outputs);
    }
    assert_eq!(cells[1].outputs, [Output::result("42", Some(2))]);
    assert_eq!(cells[2].execution_count, None);
    assert!(cells[2].outputs.is_empty());
    assert_eq!(cells[3].outputs, [Output::result("22", Some(3))]);
}

#[test]
fn a_failing_cell_is_named_and_its_error_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "fail.ipynb",
        &PYTHON_NOTEBOOK.replace("x * 2", "raise ValueError('bad value')"),
    );
    let out = runyard(&["run", input.to_str().unwrap(), "--inplace"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ValueError: bad value"), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .ends_with("cell 2 (section \"Second section\") failed"),
        "{stderr}"
    );

    validate_with_jupyter(&input);
    let nb = notebook::open(&input).unwrap();
    let cells = code_cells(&nb);
    // Either stream may come first (two pipes).
    assert!(
        cells[0].outputs.contains(&Output::stream("stdout", "héllo\n")),
        "{:?}",
        cells[0].outputs
    );
    let Output::Error {
        ename,
        evalue,
        traceback,
        ..
    } = &cells[1].outputs[0]
    else {
        panic!("{:?}", cells[1].outputs)
    };
    assert_eq!((ename.as_str(), evalue.as_str()), ("ValueError", "bad value"));
    assert!(
        traceback.iter().any(|l| l.contains("raise ValueError")),
        "{traceback:?}"
    );
    assert_eq!(cells[1].execution_count, Some(2));
    assert!(
        cells[3].outputs.is_empty() && cells[3].execution_count.is_none(),
        "later cells did not run"
    );
}

#[test]
fn without_output_options_a_notebook_prints_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "show.ipynb", &PYTHON_NOTEBOOK.replace("FAILING", "'done'"));
    let before = std::fs::read(&input).unwrap();
    let out = runyard(&["run", input.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "héllo\n42\n'done'\n");
    assert!(text(&out.stderr).contains("to stderr"));
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

const SCRIPT: &str =
    "# %% [markdown]\n# # A script\n\n# %%\nx = 1\nprint('one')\n\n# %% [markdown]\n# ## Part\n\n# %%\nx + FAILING\n";

#[test]
fn a_percent_script_runs_into_a_jupyter_notebook() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "script.py", &SCRIPT.replace("FAILING", "41"));
    let output = dir.path().join("script.ipynb");
    let out = runyard(&["run", input.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    validate_with_jupyter(&output);
    let nb = notebook::open(&output).unwrap();
    assert_eq!(nb.title.as_deref(), Some("A script"));
    let cells = code_cells(&nb);
    assert_eq!(cells[0].outputs, [Output::stream("stdout", "one\n")]);
    assert_eq!(cells[1].outputs, [Output::result("42", Some(2))]);

    // A failure names the cell by its line in the script, and so does the traceback.
    let failing = write(dir.path(), "failing.py", &SCRIPT.replace("FAILING", "undefined_name"));
    let out = runyard(&["run", failing.to_str().unwrap(), "--output", output.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("File \"{}\", line 12", failing.display())),
        "{stderr}"
    );
    assert!(stderr.contains("cell 2 (line 12, section \"Part\") failed"), "{stderr}");
    let nb = notebook::open(&output).unwrap();
    assert!(matches!(&code_cells(&nb)[1].outputs[0], Output::Error { ename, .. } if ename == "NameError"));

    // In place: a script keeps its text (the format has no outputs).
    let out = runyard(&["run", input.to_str().unwrap(), "--inplace"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("percent scripts do not store outputs"));
    assert_eq!(
        std::fs::read_to_string(&input).unwrap(),
        SCRIPT.replace("FAILING", "41")
    );
}

const LIVEBOOK: &str = r#"# Elixir run

## Setup

```elixir
x = 20
IO.puts("héllo")
```

## Uses the section above

Text between cells.

```elixir
x + 22
```

```erlang
lists:seq(1, 3).
```

```elixir
FAILING
```
"#;

#[test]
fn a_livebook_notebook_runs_in_elixir_with_sections_chained() {
    if skip_elixir() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "run.livemd",
        &LIVEBOOK.replace("FAILING", "Enum.sum([x, 1])"),
    );
    let out = runyard(&["run", input.to_str().unwrap(), "--inplace"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipped (erlang cell; the runtime is elixir)"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&input).unwrap();
    assert!(
        written.starts_with("<!-- livebook:{\"persist_outputs\":true} -->\n\n# Elixir run\n"),
        "{written}"
    );
    assert!(
        written.contains("```elixir\nx + 22\n```\n\n<!-- livebook:{\"output\":true} -->\n\n```\n42\n```\n"),
        "{written}"
    );
    assert!(written.contains("```\nhéllo\n```"), "{written}");
    let nb = notebook::open(&input).unwrap();
    let cells = code_cells(&nb);
    assert_eq!(cells[3].outputs, [Output::stream("stdout", "21")]);
    assert!(cells[2].outputs.is_empty(), "the erlang cell did not run");
    // Running the written notebook again gives the same file.
    let out = runyard(&["run", input.to_str().unwrap(), "--inplace"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), written);
}

#[test]
fn a_failing_elixir_cell_is_named_by_its_line() {
    if skip_elixir() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "fail.livemd",
        &LIVEBOOK.replace("FAILING", "raise \"boom\""),
    );
    let output = dir.path().join("fail-out.livemd");
    let out = runyard(&["run", input.to_str().unwrap(), "--output", output.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("boom"), "{stderr}");
    assert!(
        stderr.contains("cell 4 (line 23, section \"Uses the section above\") failed"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(
        written.contains("RuntimeError"),
        "the error is in the output file: {written}"
    );
}

#[test]
fn unusable_notebooks_and_outputs_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let broken = write(dir.path(), "broken.ipynb", "{\"cells\": [");
    let out = runyard(&["run", broken.to_str().unwrap(), "--inplace"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("broken.ipynb: line 1, column 11"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "{\"cells\": [",
        "never overwritten"
    );

    let julia = write(
        dir.path(),
        "julia.ipynb",
        r#"{"cells": [], "metadata": {"kernelspec": {"language": "julia", "name": "julia-1.9", "display_name": "Julia"}}, "nbformat": 4, "nbformat_minor": 5}"#,
    );
    let out = runyard(&["run", julia.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("kernel 'julia-1.9' is not installed here"),
        "{}",
        text(&out.stderr)
    );

    let fine = write(dir.path(), "fine.ipynb", &PYTHON_NOTEBOOK.replace("FAILING", "1"));
    let out = runyard(&["run", fine.to_str().unwrap(), "--output", "out.docx"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("out.docx"), "{}", text(&out.stderr));

    let out = runyard(&["run", fine.to_str().unwrap(), "--output", "x.ipynb", "--inplace"]);
    assert_eq!(out.status.code(), Some(2), "--output and --inplace exclude each other");
}
