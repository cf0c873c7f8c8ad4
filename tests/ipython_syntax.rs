//! IPython syntax in the built-in Python runtime (docs/ipython-syntax.md),
//! with real `python3` runtimes that have no IPython: shell commands,
//! magics, cell magics, and `runyard run` on a Jupyter notebook using them.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use runyard::notebook::{self, CellKind, Output};
use runyard::{Command as Cmd, Event, Outcome, SessionId};

const S: SessionId = SessionId(1);

fn connected() -> Harness {
    let mut h = Harness::new();
    h.connect(S, python_config());
    h
}

/// A Python string literal for `s` (paths in cells).
fn lit(s: &str) -> String {
    format!("{s:?}")
}

#[test]
fn a_cell_without_ipython_syntax_does_not_load_the_magic_machinery() {
    let mut h = connected();
    assert_eq!(h.eval(S, "e1", None, "1 + 1").value(), Some("2"));
    // % and ! in plain Python (operators, strings, continuation lines) compile as they are.
    let code = "import sys, builtins\nx = 5 % 3\ny = (x != 1,\n  '%s' % '!no')\n\
                (hasattr(builtins, '_runyard_magic_'), 'subprocess' in sys.modules, 'timeit' in sys.modules, y)";
    assert_eq!(
        h.eval(S, "e2", Some("e1"), code).value(),
        Some("(False, False, False, (True, '!no'))"),
        "the magic machinery was loaded"
    );
    // A genuine syntax error with a % in it stays Python's own error.
    let e = h.eval(S, "e3", None, "x = 5 %\n");
    assert_eq!((e.error().kind.as_str(), e.error().line), ("SyntaxError", Some(1)));
    h.eval(S, "e4", None, "!true");
    assert_eq!(
        h.eval(S, "e5", None, "import builtins\nhasattr(builtins, '_runyard_magic_')")
            .value(),
        Some("True")
    );
}

#[test]
fn shell_output_lands_in_order_with_prints() {
    let mut h = connected();
    let e = h.eval(
        S,
        "e1",
        None,
        "print('a')\n!echo b\nprint('c')\n!echo err >&2\nprint('d', end='')\n!echo ' e'",
    );
    assert_eq!(e.value(), None);
    assert_eq!(e.stdout, "a\nb\nc\nd e\n");
    assert_eq!(e.stderr, "err\n");
    // The exit code is kept as IPython keeps it; a failing command does not fail the cell.
    let e = h.eval(S, "e2", None, "!exit 3\n_exit_code");
    assert_eq!(e.value(), Some("3"));
}

#[test]
fn an_assigned_shell_command_gives_its_output_lines() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "x = !printf 'l1\\nl2\\n'; echo e >&2\nx");
    assert_eq!(e.value(), Some("['l1', 'l2', 'e']"), "stderr included, as in IPython");
    assert_eq!(e.stdout, "");
    let e = h.eval(S, "e2", None, "a, b = !echo one; echo two\n!!echo three\n(a, b)");
    assert_eq!(e.value(), Some("('one', 'two')"));
    assert_eq!(h.eval(S, "e3", None, "!!echo three").value(), Some("['three']"));
}

#[test]
fn shell_commands_expand_python_values() {
    let mut h = connected();
    let e = h.eval(
        S,
        "e1",
        None,
        "n = 3\nname = 'world'\nclass C: attr = 'at'\n\
         !echo {n * 2} $name $name.txt $C.attr {undefined} '$name' {name!r} $$NOT_PY",
    );
    assert_eq!(e.stdout, "6 world world.txt at {undefined} $name world\n");
    // $NAME that is no Python name reaches the shell.
    let e = h.eval(
        S,
        "e2",
        None,
        "import os\nos.environ['RY_SHELL_VAR'] = 'from env'\n!echo $RY_SHELL_VAR",
    );
    assert_eq!(e.stdout, "from env\n");
}

#[test]
fn magics_work_in_indented_blocks_and_functions() {
    let mut h = connected();
    let e = h.eval(
        S,
        "e1",
        None,
        "for i in range(2):\n    if True:\n        !echo loop $i\n\
         def f(v):\n    r = !echo in function {v}\n    return r\nf(7)",
    );
    assert_eq!(e.stdout, "loop 0\nloop 1\n");
    assert_eq!(e.value(), Some("['in function 7']"));
    // A line starting with % inside a string or a continuation line is Python, not a magic.
    let e = h.eval(
        S,
        "e2",
        None,
        "s = '''\n%notmagic\n!not\n'''\nx = (10\n%3)\n!echo ok\n(s, x)",
    );
    assert_eq!(e.stdout, "ok\n");
    assert_eq!(e.value(), Some("('\\n%notmagic\\n!not\\n', 1)"));
}

#[test]
fn bash_and_sh_cells_run_their_body() {
    let mut h = connected();
    let e = h.eval(
        S,
        "e1",
        None,
        "%%bash\necho from bash\nfor i in 1 2; do echo $i; done\necho e >&2",
    );
    assert_eq!(e.value(), None);
    assert_eq!((e.stdout.as_str(), e.stderr.as_str()), ("from bash\n1\n2\n", "e\n"));
    let e = h.eval(S, "e2", None, "%%sh\necho $0\nexit 3");
    assert_eq!(e.stdout, "sh\n");
    assert_eq!(e.error().kind, "subprocess.CalledProcessError", "{:?}", e.error());
    assert!(e.error().message.contains("exit status 3"), "{:?}", e.error());
    let e = h.eval(S, "e3", None, "%%sh --no-raise-error\nexit 3");
    assert_eq!(e.value(), None);
    let e = h.eval(S, "e4", None, "%%script sh -s\necho script $1");
    assert_eq!(e.stdout, "script\n");
}

#[test]
fn an_interrupt_stops_a_shell_command_and_everything_it_started() {
    let mut h = connected();
    h.eval(S, "a", None, "x = 41");
    // The background sleep ignores SIGINT (a non-interactive shell's jobs do): it must be killed all the same.
    for (r, code) in [
        ("bg", "!sleep 100 & echo $!; wait"),
        ("fg", "!echo $$$$; exec sleep 100"),
    ] {
        h.submit(S, "main", r, Some("a"), code);
        let pid: u32 = h.wait_for("the command's pid", |e| match e {
            Event::Output {
                evaluation_ref: Some(x),
                text,
                ..
            } if x == r => Some(text.trim().parse().expect("a pid")),
            _ => None,
        });
        assert!(alive(pid));
        h.manager.send(Cmd::Interrupt { session: S });
        match h.finish(S, r).outcome {
            Outcome::Interrupted(Some(error)) => assert_eq!(error.kind, "KeyboardInterrupt"),
            other => panic!("{other:?}"),
        }
        assert_eq!(wait_gone(&[pid], WAIT), Vec::<u32>::new(), "the command was stopped");
    }
    assert_eq!(
        h.eval(S, "b", Some("a"), "x + 1").value(),
        Some("42"),
        "the runtime lives on"
    );
}

#[test]
fn writefile_writes_overwrites_and_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let p = path.to_str().unwrap();
    let mut h = connected();
    let e = h.eval(S, "e1", None, &format!("%%writefile {p}\nhello\nworld"));
    assert_eq!(e.stdout, format!("Writing {p}\n"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\nworld\n");
    let e = h.eval(S, "e2", None, &format!("%%writefile {p}\nagain\n"));
    assert_eq!(e.stdout, format!("Overwriting {p}\n"));
    let e = h.eval(S, "e3", None, &format!("%%writefile -a {p}\nmore"));
    assert_eq!(e.stdout, format!("Appending to {p}\n"));
    let e = h.eval(S, "e4", None, &format!("open({}).read()", lit(p)));
    assert_eq!(e.value(), Some("'again\\nmore\\n'"));
}

#[test]
fn cd_changes_the_runtimes_directory_and_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = std::fs::canonicalize(dir.path()).unwrap();
    let d = d.to_str().unwrap();
    let mut h = connected();
    let e = h.eval(S, "e1", None, &format!("%cd {d}\nimport os\nos.getcwd()"));
    assert_eq!(e.stdout, format!("{d}\n"));
    assert_eq!(e.value(), Some(lit(d).replace('"', "'").as_str()));
    assert_eq!(
        h.eval(S, "e2", None, "%pwd").value(),
        Some(lit(d).replace('"', "'").as_str())
    );
    let e = h.eval(S, "e3", None, "!pwd");
    assert_eq!(e.stdout, format!("{d}\n"), "commands run there too");
    let e = h.eval(S, "e4", None, "%cd /nonexistent-runyard-dir");
    assert_eq!(e.error().kind, "FileNotFoundError");
}

#[test]
fn env_lists_reads_and_sets_variables() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "%env RY_MAGIC=hello world\n%env RY_MAGIC");
    assert_eq!(e.stdout, "env: RY_MAGIC=hello world\n");
    assert_eq!(e.value(), Some("'hello world'"));
    let e = h.eval(S, "e2", None, "!echo $RY_MAGIC");
    assert_eq!(e.stdout, "hello world\n", "commands see it");
    let e = h.eval(
        S,
        "e3",
        None,
        "%env RY_API_TOKEN=s3cret\nd = %env\n(type(d).__name__, d['RY_MAGIC'], d['RY_API_TOKEN'])",
    );
    assert_eq!(
        e.value(),
        Some("('dict', 'hello world', '<hidden>')"),
        "secrets are hidden"
    );
    let e = h.eval(S, "e4", None, "%env RY_NOT_SET_ANYWHERE");
    assert_eq!(e.error().kind, "UsageError");
    assert!(e.error().message.contains("RY_NOT_SET_ANYWHERE"), "{:?}", e.error());
}

#[test]
fn timeit_prints_ipythons_summary() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "%timeit -n 3 -r 2 sum(range(10))");
    assert_eq!(e.value(), None);
    let line = e.stdout.lines().last().unwrap();
    assert!(
        line.ends_with(" per loop (mean ± std. dev. of 2 runs, 3 loops each)") && line.contains(" ± "),
        "{:?}",
        e.stdout
    );
    // Auto-ranging: as many loops as take 0.2 s, 7 runs.
    let e = h.eval(S, "e2", None, "%timeit pass");
    assert!(
        e.stdout.contains("(mean ± std. dev. of 7 runs, ") && e.stdout.ends_with(" loops each)\n"),
        "{:?}",
        e.stdout
    );
    // The cell form: the first line is setup, the body is timed; -o returns the result.
    let e = h.eval(S, "e3", None, "%%timeit -n 1 -r 1 -o y = 5\ny * 2");
    assert!(
        e.stdout
            .ends_with(" per loop (mean ± std. dev. of 1 run, 1 loop each)\n"),
        "{:?}",
        e.stdout
    );
    assert!(e.value().unwrap().starts_with("<TimeitResult : "), "{:?}", e.value());
    let e = h.eval(
        S,
        "e4",
        None,
        "r = %timeit -q -o -n 2 -r 3 1 + 1\n(r.loops, r.repeat, len(r.all_runs))",
    );
    assert_eq!((e.stdout.as_str(), e.value()), ("", Some("(2, 3, 3)")));
}

fn assert_times(stdout: &str) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.len() >= 2
            && lines[lines.len() - 2].starts_with("CPU times: user ")
            && lines[lines.len() - 2].contains(", sys: ")
            && lines[lines.len() - 2].contains(", total: ")
            && lines[lines.len() - 1].starts_with("Wall time: "),
        "{stdout:?}"
    );
}

#[test]
fn time_prints_cpu_and_wall_times_and_keeps_the_value() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "%%time\nx = 1\nprint('body')\nx + 41");
    assert_times(&e.stdout);
    assert!(e.stdout.starts_with("body\n"));
    assert_eq!(e.value(), Some("42"));
    let e = h.eval(S, "e2", Some("e1"), "%time y = x * 2\ny");
    assert_times(&e.stdout);
    assert_eq!(e.value(), Some("2"), "the statement ran in the cell's namespace");
    let e = h.eval(S, "e3", None, "%time 1 + 1;");
    assert_times(&e.stdout);
    assert_eq!(e.value_bundle(), None, "a trailing ; hides the value, as in IPython");
    assert_eq!(h.eval(S, "e4", None, "x = [1]\nx;").value_bundle(), None);
}

#[test]
fn unknown_and_unsupported_magics_are_the_cells_error_naming_them() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "print(1)\n%foo bar");
    assert_eq!(e.stdout, "1\n", "earlier lines ran");
    let err = e.error();
    assert_eq!((err.kind.as_str(), err.line), ("UsageError", Some(2)));
    assert!(err.message.contains("Line magic function `%foo` not found."), "{err:?}");
    let err = h.eval(S, "e2", None, "%%foo\nbar").error().clone();
    assert_eq!(err.kind, "UsageError");
    assert!(err.message.contains("Cell magic `%%foo` not found."), "{err:?}");
    let err = h.eval(S, "e3", None, "%load_ext autoreload").error().clone();
    assert_eq!(err.kind, "UsageError");
    assert!(
        err.message.contains("%load_ext") && err.message.contains("autoreload"),
        "{err:?}"
    );
    let err = h.eval(S, "e4", None, "x = 1\n%%time\nx").error().clone();
    assert!(
        err.message.contains("%%time") && err.message.contains("first line"),
        "{err:?}"
    );
    // The runtime is fine afterwards.
    assert_eq!(h.eval(S, "e5", None, "1 + 1").value(), Some("2"));
}

#[test]
fn errors_after_magics_keep_the_cells_line_numbers() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "x = 1\n!true\n\ny = (1 +\n  2)\n%time z = 3\n1/0");
    let err = e.error();
    assert_eq!((err.kind.as_str(), err.line), ("ZeroDivisionError", Some(7)));
    let last = err.frames.last().unwrap();
    assert_eq!((last.line, last.text.as_deref()), (Some(7), Some("1/0")));
    // In a cell magic's body.
    let err = h.eval(S, "e2", None, "%%time\na = 1\nb = a / 0").error().clone();
    assert_eq!((err.kind.as_str(), err.line), ("ZeroDivisionError", Some(3)));
    // A syntax error next to a magic.
    let err = h.eval(S, "e3", None, "!true\n\nx = (").error().clone();
    assert_eq!((err.kind.as_str(), err.line), ("SyntaxError", Some(3)));
    // In a %time statement.
    let err = h.eval(S, "e4", None, "x = 1\n%time x / 0").error().clone();
    assert_eq!((err.kind.as_str(), err.line), ("ZeroDivisionError", Some(2)));
}

#[test]
fn matplotlib_pip_and_conda_magics() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "%matplotlib inline\n%matplotlib qt\n1");
    assert_eq!((e.stdout.as_str(), e.value()), ("", Some("1")));
    // %pip runs this runtime's own interpreter's pip.
    let e = h.eval(S, "e2", None, "%pip --version");
    assert!(
        e.stdout
            .ends_with("Note: you may need to restart the runtime to use updated packages.\n"),
        "{e:?}"
    );
    assert!(format!("{}{}", e.stdout, e.stderr).contains("pip"), "{e:?}");
    // %conda: into this runtime's prefix, without prompting (a stand-in conda echoes its arguments).
    let dir = tempfile::tempdir().unwrap();
    let conda = script(dir.path(), "conda", "#!/bin/sh\necho conda \"$@\"\n");
    let e = h.eval(
        S,
        "e3",
        None,
        &format!(
            "import os, sys\nos.environ['CONDA_EXE'] = {}\n%conda install numpy\nsys.prefix",
            lit(conda.to_str().unwrap())
        ),
    );
    let prefix = e.value().unwrap().trim_matches('\'').to_string();
    assert!(
        e.stdout
            .starts_with(&format!("conda install --prefix {prefix} --yes numpy\n")),
        "{e:?}"
    );
    let e = h.eval(
        S,
        "e4",
        None,
        "import os\nos.environ.pop('CONDA_EXE', None)\nos.environ['PATH'] = '/nonexistent'\n%conda install numpy",
    );
    assert_eq!(e.error().kind, "UsageError");
    assert!(e.error().message.contains("conda was not found"), "{:?}", e.error());
}

#[test]
fn display_cell_magics_show_their_body() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "%%html\n<b>hi</b>");
    let html: Vec<_> = e
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Display { bundle, .. } => bundle.data.get("text/html").and_then(|v| v.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(html, ["<b>hi</b>"]);
}

fn stdout_of(cell: &notebook::Cell) -> String {
    cell.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Stream { name, text, .. } if name == "stdout" => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn runyard_run_runs_a_jupyter_notebook_with_ipython_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("magic.ipynb");
    let cell = |source: &str| {
        format!(
            r#"{{"cell_type": "code", "metadata": {{}}, "execution_count": null, "outputs": [], "source": {source:?}}}"#
        )
    };
    let cells = [
        "%matplotlib inline",
        "!echo hi",
        "%timeit -n 3 -r 2 sum(range(10))",
        "%%bash\necho from bash\necho $((6 * 7))",
        "x = !echo done\nx",
    ]
    .map(cell)
    .join(",\n");
    std::fs::write(
        &input,
        format!(
            r#"{{"cells": [{cells}], "metadata": {{"kernelspec": {{"display_name": "Python 3", "language": "python", "name": "python3"}}}}, "nbformat": 4, "nbformat_minor": 4}}"#
        ),
    )
    .unwrap();
    let output = dir.path().join("out.ipynb");
    let mut command = Command::new(env!("CARGO_BIN_EXE_runyard"));
    command.args(["run", input.to_str().unwrap(), "--output", output.to_str().unwrap()]);
    if let Ok(python) = std::env::var("RUNYARD_TEST_PYTHON") {
        let bin = Path::new(&python).parent().unwrap().display().to_string();
        command.env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap()));
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("[5/5] cell 5: ok"), "{stderr}");

    let nb = notebook::open(&output).unwrap();
    let cells: Vec<_> = nb
        .sections
        .iter()
        .flat_map(|s| &s.cells)
        .filter(|c| c.kind == CellKind::Code)
        .collect();
    assert!(cells[0].outputs.is_empty(), "{:?}", cells[0].outputs);
    assert_eq!(stdout_of(cells[1]), "hi\n");
    assert!(
        stdout_of(cells[2]).ends_with(" per loop (mean ± std. dev. of 2 runs, 3 loops each)\n"),
        "{:?}",
        cells[2].outputs
    );
    assert_eq!(stdout_of(cells[3]), "from bash\n42\n");
    assert_eq!(cells[4].outputs, [Output::result("['done']", Some(5))]);
}

#[test]
fn the_agent_source_never_looks_like_a_pip_command_line() {
    // pyenv's shim runs (instead of exec'ing) a python whose arguments hold
    // ` -m pip `; the agent's source is an argument, and the runtime's pid
    // must be python's.
    for source in [
        runyard::runtime::python::AGENT_SOURCE,
        runyard::runtime::python::agent_source(),
    ] {
        let words: Vec<&str> = source.split_whitespace().collect();
        assert!(
            !words.windows(2).any(|w| w == ["-m", "pip"]),
            "the agent source holds ` -m pip `"
        );
    }
}
