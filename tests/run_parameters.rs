//! `runyard run -p/-r/-f/-y`: papermill's parameters, injected into real
//! notebooks and run in real Python and Elixir runtimes; the injected cell
//! compared with the one papermill itself writes.
//!
//! The Elixir cases fail when `elixir` is missing (`RUNYARD_SKIP_ELIXIR=1`
//! skips them on purpose); the papermill comparison needs papermill (in
//! `RUNYARD_TEST_VENV`, from tests/requirements.txt) and says so when skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output as Exit};

use runyard::notebook::{self, Cell, CellKind, Notebook};

fn python() -> String {
    std::env::var("RUNYARD_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `runyard run` with the test's Python (and Elixir when given).
fn runyard(args: &[&str]) -> Exit {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runyard"));
    command.arg("run").args(args);
    if !args.contains(&"--python") && !args.contains(&"--elixir") {
        command.args(["--python", &python()]);
        if let Ok(elixir) = std::env::var("RUNYARD_TEST_ELIXIR") {
            command.args(["--elixir", &elixir]);
        }
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn cells(nb: &Notebook) -> Vec<&Cell> {
    nb.sections.iter().flat_map(|s| &s.cells).collect()
}

fn tags(cell: &Cell) -> Vec<String> {
    runyard::headless::parameters::tags(cell)
}

fn stdout_of(cell: &Cell) -> String {
    cell.outputs
        .iter()
        .filter(|o| matches!(o, notebook::Output::Stream { name, .. } if name == "stdout"))
        .map(|o| o.display_text())
        .collect()
}

/// A Jupyter notebook: a title, the `parameters` cell, then a cell that
/// prints each parameter's type and value, one a line.
fn python_notebook(names: &[&str], extra_cells: &str) -> String {
    let printer: String = names
        .iter()
        .map(|n| format!("print('{n}', type({n}).__name__, repr({n}))\\n"))
        .collect();
    format!(
        r###"{{
 "cells": [
  {{"cell_type": "markdown", "metadata": {{}}, "source": "# Report"}},
  {{"cell_type": "code", "metadata": {{"tags": ["parameters"]}}, "execution_count": null, "outputs": [],
    "source": "alpha = 0.5\nn = 1\nflag = False\nnothing = 1\nname = 'default'\nraw = 'x'\nitems = []\nconfig = {{}}"}},
  {extra_cells}
  {{"cell_type": "code", "metadata": {{}}, "execution_count": null, "outputs": [], "source": "{printer}"}}
 ],
 "metadata": {{"kernelspec": {{"display_name": "Python 3", "language": "python", "name": "python3"}},
              "language_info": {{"name": "python"}}}},
 "nbformat": 4,
 "nbformat_minor": 5
}}"###
    )
}

const ALL: [&str; 8] = ["alpha", "n", "flag", "nothing", "name", "raw", "items", "config"];

fn typed_args() -> Vec<&'static str> {
    vec![
        "-p",
        "alpha",
        "0.1",
        "-p",
        "n",
        "42",
        "-p",
        "flag",
        "True",
        "-p",
        "nothing",
        "None",
        "-p",
        "name",
        "café \"q\" \\n",
        "-r",
        "raw",
        "7",
        "-y",
        "{items: [1, two, null], config: {depth: 2.5}}",
    ]
}

const PYTHON_EXPECTED: &str = "alpha float 0.1\nn int 42\nflag bool True\nnothing NoneType None\n\
    name str 'café \"q\" \\\\n'\nraw str '7'\nitems list [1, 'two', None]\nconfig dict {'depth': 2.5}\n";

#[test]
fn python_parameters_of_each_type_reach_the_code_after_the_parameters_cell() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.ipynb", &python_notebook(&ALL, ""));
    let output = dir.path().join("out.ipynb");
    let mut args = vec![input.to_str().unwrap(), "-o", output.to_str().unwrap()];
    args.extend(typed_args());
    let out = runyard(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("warning"), "{}", text(&out.stderr));

    let nb = notebook::open(&output).unwrap();
    let cells = cells(&nb);
    // Parameters, injected, printer (the title is the notebook's, not a cell of a section).
    assert_eq!(cells.len(), 3, "{cells:#?}");
    assert_eq!(tags(cells[0]), ["parameters"]);
    assert_eq!(tags(cells[1]), ["injected-parameters"]);
    assert_eq!(cells[1].kind, CellKind::Code);
    // papermill's precedence: -y, then -p, then -r.
    assert!(
        cells[1]
            .source
            .starts_with("# Parameters\nitems = [1, \"two\", None]\nconfig = {\"depth\": 2.5}\nalpha = 0.1\n"),
        "{}",
        cells[1].source
    );
    assert_eq!(cells[1].execution_count, Some(2));
    assert_eq!(stdout_of(cells[2]), PYTHON_EXPECTED);
    // The saved file has the tag where Jupyter keeps it.
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(
        json["cells"][2]["metadata"]["tags"],
        serde_json::json!(["injected-parameters"])
    );
    assert!(json["cells"][2]["id"].as_str().is_some_and(|id| !id.is_empty()));
    // The input is left as it was.
    assert!(!std::fs::read_to_string(&input).unwrap().contains("injected"));
}

#[test]
fn an_old_injected_cell_is_replaced_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let old = r###"{"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "execution_count": 3,
        "outputs": [], "source": "# Parameters\nalpha = 99\nn = 99\n"},
      {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": "between = 1"},"###;
    let input = write(dir.path(), "in.ipynb", &python_notebook(&["alpha", "n"], old));
    let output = dir.path().join("out.ipynb");
    let out = runyard(&[
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "-p",
        "alpha",
        "1e-7",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let nb = notebook::open(&output).unwrap();
    let cells = cells(&nb);
    assert_eq!(cells.len(), 4);
    let injected: Vec<usize> = (0..cells.len())
        .filter(|&i| tags(cells[i]).contains(&"injected-parameters".to_string()))
        .collect();
    assert_eq!(injected, [1], "one injected cell, where the old one was");
    assert_eq!(cells[1].source, "# Parameters\nalpha = 1e-07\n");
    assert_eq!(cells[2].source, "between = 1");
    // n keeps the parameters cell's value: the old injected cell is gone.
    assert_eq!(stdout_of(cells[3]), "alpha float 1e-07\nn int 1\n");
}

#[test]
fn without_a_parameters_cell_the_cell_goes_first_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "plain.py", "# %%\nprint(repr(greeting))\n");
    let out = runyard(&[input.to_str().unwrap(), "-p", "greeting", "hello"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "'hello'\n");
    assert!(
        text(&out.stderr).contains("no cell is tagged \"parameters\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_percent_script_takes_jupytexts_tags_and_keeps_them_in_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "script.py",
        "# %% tags=[\"parameters\"]\nx = 1\n\n# %%\nprint(type(x).__name__, x)\n",
    );
    let out = runyard(&[input.to_str().unwrap(), "-p", "x", "2.5"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "float 2.5\n");

    let output = dir.path().join("out.py");
    let out = runyard(&[input.to_str().unwrap(), "-p", "x", "3", "-o", output.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "# %% tags=[\"parameters\"]\nx = 1\n\n# %% tags=[\"injected-parameters\"]\n# Parameters\nx = 3\n\n# %%\nprint(type(x).__name__, x)\n"
    );
    // Run again with other values: the injected cell is replaced, not added to.
    let out = runyard(&[output.to_str().unwrap(), "--inplace", "-p", "x", "4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = std::fs::read_to_string(&output).unwrap();
    assert_eq!(again.matches("injected-parameters").count(), 1, "{again}");
    assert!(again.contains("# Parameters\nx = 4\n"), "{again}");
}

#[test]
fn parameter_files_in_yaml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.ipynb",
        &python_notebook(&["alpha", "n", "name", "items"], ""),
    );
    let yaml = write(
        dir.path(),
        "params.yaml",
        "# papermill's YAML\nalpha: 0.25\nname: from yaml\nitems:\n  - 1\n  - b\n",
    );
    let json = write(dir.path(), "params.json", r#"{"n": 12, "name": "from json"}"#);
    let output = dir.path().join("out.ipynb");
    let out = runyard(&[
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "-f",
        yaml.to_str().unwrap(),
        "--parameters-file",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let nb = notebook::open(&output).unwrap();
    let cells = cells(&nb);
    assert_eq!(
        cells[1].source,
        "# Parameters\nalpha = 0.25\nname = \"from json\"\nitems = [1, \"b\"]\nn = 12\n"
    );
    assert_eq!(
        stdout_of(cells[2]),
        "alpha float 0.25\nn int 12\nname str 'from json'\nitems list [1, 'b']\n"
    );

    // A file that is not a mapping, or not YAML, is refused before anything runs.
    let list = write(dir.path(), "list.yaml", "- 1\n- 2\n");
    let broken = write(dir.path(), "broken.json", "{\"n\": ");
    for bad in [&list, &broken, &dir.path().join("missing.yaml")] {
        let out = runyard(&[input.to_str().unwrap(), "-f", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&bad.display().to_string()),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_bad_name_is_refused_with_exit_2_before_any_runtime_starts() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.ipynb", &python_notebook(&["alpha"], ""));
    let output = dir.path().join("out.ipynb");
    for name in ["1x", "class", "a-b"] {
        // An interpreter that does not exist: starting a runtime would fail with another message and status.
        let out = runyard(&[
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--python",
            "/nonexistent/python",
            "-p",
            name,
            "1",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("parameter name {name:?} is not a valid Python variable name")),
            "{stderr}"
        );
        assert!(!stderr.contains("could not be started"), "{stderr}");
        assert!(!output.exists());
    }
    let livemd = write(dir.path(), "in.livemd", "# T\n\n```elixir\nIO.puts(:hi)\n```\n");
    let out = runyard(&[
        livemd.to_str().unwrap(),
        "--elixir",
        "/nonexistent/elixir",
        "-p",
        "Alpha",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not a valid Elixir variable name"),
        "{}",
        text(&out.stderr)
    );
    let out = runyard(&[
        livemd.to_str().unwrap(),
        "--elixir",
        "/nonexistent/elixir",
        "-p",
        "x",
        "nan",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Elixir has no literal for NaN"),
        "{}",
        text(&out.stderr)
    );
}

const ELIXIR_NOTEBOOK: &str = r###"# Parameters in Elixir

## Setup

```elixir
# Parameters
alpha = 0.5
n = 1
flag = false
nothing = 1
name = "default"
raw = "x"
items = []
config = %{}
```

## Use

```elixir
for {k, v} <- [alpha: alpha, n: n, flag: flag, nothing: nothing, name: name, raw: raw, items: items, config: config] do
  IO.puts("#{k} #{inspect(v)}")
end
:ok
```
"###;

#[test]
fn elixir_parameters_of_each_type_reach_the_code() {
    if common::elixir::skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.livemd", ELIXIR_NOTEBOOK);
    let output = dir.path().join("out.livemd");
    let mut args = vec![input.to_str().unwrap(), "-o", output.to_str().unwrap()];
    args.extend(typed_args());
    args.extend(["-p", "big", "123456789012345678901234567890", "-p", "tiny", "1e-300"]);
    let out = runyard(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let nb = notebook::open(&output).unwrap();
    let cells: Vec<&Cell> = cells(&nb).into_iter().filter(|c| c.kind == CellKind::Code).collect();
    assert_eq!(cells.len(), 3);
    assert_eq!(tags(cells[1]), ["injected-parameters"]);
    assert_eq!(
        cells[1].source,
        "# Parameters\nitems = [1, \"two\", nil]\nconfig = %{\"depth\" => 2.5}\nalpha = 0.1\nn = 42\nflag = true\n\
         nothing = nil\nname = \"café \\\"q\\\" \\\\n\"\nbig = 123456789012345678901234567890\n\
         tiny = 1.0e-300\nraw = \"7\"\n"
    );
    // Livebook keeps a cell's output as one text (then the cell's value, :ok).
    let printed: String = cells[2].outputs.iter().map(|o| o.display_text()).collect();
    assert_eq!(
        printed.strip_suffix(":ok").unwrap_or(&printed),
        "alpha 0.1\nn 42\nflag true\nnothing nil\nname \"café \\\"q\\\" \\\\n\"\nraw \"7\"\n\
         items [1, \"two\", nil]\nconfig %{\"depth\" => 2.5}"
    );
    // Livebook has no tags: the saved file keeps ours in the cell's metadata comment.
    let saved = std::fs::read_to_string(&output).unwrap();
    assert!(
        saved.contains("<!-- livebook:{\"tags\":[\"injected-parameters\"]} -->\n\n```elixir\n# Parameters\n"),
        "{saved}"
    );
    // A second run over the output replaces that cell.
    let out = runyard(&[output.to_str().unwrap(), "--inplace", "-p", "n", "7"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = notebook::open(&output).unwrap();
    let sources: Vec<&str> = cells_sources(&again);
    assert_eq!(
        sources
            .iter()
            .filter(|s| s.starts_with("# Parameters\nn = 7\n"))
            .count(),
        1
    );
    assert_eq!(sources.iter().filter(|s| s.contains("alpha = 0.1")).count(), 0);
}

fn cells_sources(nb: &Notebook) -> Vec<&str> {
    cells(nb)
        .into_iter()
        .filter(|c| c.kind == CellKind::Code)
        .map(|c| c.source.as_str())
        .collect()
}

/// papermill, from the test venv (tests/requirements.txt) or PATH.
fn papermill() -> Option<PathBuf> {
    let from_venv = std::env::var_os("RUNYARD_TEST_VENV").map(|v| PathBuf::from(v).join("bin/papermill"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let from_path = std::env::split_paths(&path).map(|d| d.join("papermill"));
    from_venv.into_iter().chain(from_path).find(|p| p.is_file())
}

#[test]
fn the_injected_cell_is_the_one_papermill_writes() {
    let Some(papermill) = papermill() else {
        eprintln!(
            "skipped: papermill not found in $RUNYARD_TEST_VENV/bin or PATH (scripts/test installs it from \
             tests/requirements.txt)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.ipynb", &python_notebook(&ALL, ""));
    let ours = dir.path().join("ours.ipynb");
    let theirs = dir.path().join("theirs.ipynb");
    let mut values = typed_args();
    values.extend([
        "-p",
        "huge",
        "1e300",
        "-p",
        "small",
        "0.00001",
        "-p",
        "ws",
        " 12 ",
        "-p",
        "under",
        "1_000",
        "-p",
        "lower",
        "true",
        "-p",
        "null",
        "null",
        "-p",
        "negative",
        "-5",
        "-p",
        "uni",
        "€😀\t'",
        "-y",
        "{nested: {a: [1, {b: null}]}}",
    ]);
    // Papermill runs the notebook in a kernel; only the cell it injects is compared.
    let run = Command::new(&papermill)
        .args([input.to_str().unwrap(), theirs.to_str().unwrap(), "--prepare-only"])
        .args(&values)
        .output()
        .unwrap();
    assert!(run.status.success(), "papermill: {}", text(&run.stderr));
    let mut args = vec![input.to_str().unwrap(), "-o", ours.to_str().unwrap()];
    args.extend(&values);
    let out = runyard(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let injected = |path: &Path| -> (usize, String) {
        let nb = notebook::open(path).unwrap();
        let cells = cells(&nb);
        let at = cells
            .iter()
            .position(|c| tags(c).contains(&"injected-parameters".to_string()))
            .expect("an injected cell");
        (at, cells[at].source.clone())
    };
    let (their_at, their_source) = injected(&theirs);
    let (our_at, our_source) = injected(&ours);
    assert_eq!(our_source, their_source);
    assert_eq!(our_at, their_at);
    assert!(
        their_source.contains("uni = \"\\u20ac\\U0001f600\\t'\""),
        "{their_source}"
    );
}
