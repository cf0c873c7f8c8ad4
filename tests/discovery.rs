//! Finding Python environments and Jupyter kernels, on a temporary tree of
//! real directories (`pyvenv.cfg`, `conda-meta/*.json`, `python` symlinks to
//! the real python3, `kernel.json` files good and broken), through
//! `runyard kernels --json` run as a user runs it, with the environment set
//! for that child process; and `runyard run` choosing an environment.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The real interpreter (not a pyenv shim, which would not run under the
/// test's HOME and PYENV_ROOT).
fn real_python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let python = std::env::var("RUNYARD_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
            let out = Command::new(python)
                .args(["-c", "import os, sys; print(os.path.realpath(sys.executable))"])
                .output()
                .expect("python3 runs");
            PathBuf::from(text(&out.stdout).trim())
        })
        .clone()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `prefix/bin/python` → the real interpreter.
fn fake_env(prefix: &Path) {
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    symlink(real_python(), prefix.join("bin/python")).unwrap();
}

fn fake_venv(prefix: &Path, cfg_version: &str) {
    fake_env(prefix);
    let home = real_python().parent().unwrap().display().to_string();
    write(
        &prefix.join("pyvenv.cfg"),
        &format!("home = {home}\ninclude-system-site-packages = false\n{cfg_version}\n"),
    );
}

fn kernel(data: &Path, name: &str, json: &str) {
    write(&data.join("kernels").join(name).join("kernel.json"), json);
}

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    notebook: PathBuf,
}

impl Tree {
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn env(&self, command: &mut Command) {
        let path = format!("{}:{}", self.p("venvs/active/bin").display(), self.p("bin").display());
        command
            .env_clear()
            .env("HOME", self.p("home"))
            .env("PATH", path)
            .env("VIRTUAL_ENV", self.p("venvs/active"))
            .env("CONDA_PREFIX", self.p("conda"))
            .env("PYENV_ROOT", self.p("pyenv"))
            .env("JUPYTER_PATH", self.p("jp1"))
            .env("JUPYTER_DATA_DIR", self.p("jdata"));
    }
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let python = real_python();
    // A project with its .venv, the notebook two levels down.
    std::fs::create_dir_all(root.join("home/proj/.git")).unwrap();
    fake_venv(&root.join("home/proj/.venv"), "version = 3.11.7");
    let notebook = root.join("home/proj/notebooks/deep/nb.ipynb");
    write(&notebook, "{}");
    // $VIRTUAL_ENV, written by uv (version_info), also on PATH (activated).
    fake_venv(
        &root.join("venvs/active"),
        "implementation = CPython\nversion_info = 3.12.1.final.0",
    );
    symlink(python.clone(), root.join("venvs/active/bin/python3")).unwrap();
    // Another venv, named by nothing but a script's header.
    fake_venv(&root.join("venvs/other"), "version = 3.12.0");
    // $CONDA_PREFIX, and conda's list (naming it again, and another env).
    fake_env(&root.join("conda"));
    write(&root.join("conda/conda-meta/python-3.10.13-h955ad1f_0.json"), "{}");
    write(&root.join("conda/conda-meta/numpy-1.26.0-py310_0.json"), "{}");
    fake_env(&root.join("conda-envs/ds"));
    write(
        &root.join("conda-envs/ds/conda-meta/python-3.9.18-h1a28f6b_0.json"),
        "{}",
    );
    write(
        &root.join("home/.conda/environments.txt"),
        &format!(
            "{}\n{}\n/no/such/env\n\u{0}\u{1}junk\n",
            root.join("conda").display(),
            root.join("conda-envs/ds").display()
        ),
    );
    // pyenv and uv.
    fake_env(&root.join("pyenv/versions/3.8.18"));
    std::fs::create_dir_all(root.join("pyenv/versions/broken-no-python")).unwrap();
    let uv = root.join("home/.local/share/uv/python/cpython-3.13.0-linux-x86_64-gnu");
    std::fs::create_dir_all(uv.join("bin")).unwrap();
    symlink(&python, uv.join("bin/python3")).unwrap();
    // A system python3 on PATH, and a symlink loop beside it.
    std::fs::create_dir_all(root.join("bin")).unwrap();
    symlink(&python, root.join("bin/python3")).unwrap();
    symlink(root.join("bin/python3.99"), root.join("bin/python3.99")).unwrap();

    // Kernelspecs: JUPYTER_PATH first, then JUPYTER_DATA_DIR, then environments'.
    let py = python.display().to_string();
    kernel(
        &root.join("jp1"),
        "python3",
        &format!(
            r#"{{"argv": ["{py}", "-m", "ipykernel_launcher", "-f", "{{connection_file}}"], "display_name": "Python 3 (first)", "language": "python"}}"#
        ),
    );
    write(
        &root.join("jp1/kernels/garbage/kernel.json"),
        "\u{0}\u{ff}\u{1}not json at all",
    );
    kernel(
        &root.join("jdata"),
        "python3",
        r#"{"argv": ["python3", "{connection_file}"], "display_name": "Python 3 (shadowed)", "language": "python"}"#,
    );
    kernel(
        &root.join("jdata"),
        "ghost",
        r#"{"argv": ["/no/such/ghost-kernel", "{connection_file}"], "display_name": "Ghost", "language": "ghost"}"#,
    );
    std::fs::create_dir_all(root.join("jdata/kernels/fifo")).unwrap();
    nix::unistd::mkfifo(
        &root.join("jdata/kernels/fifo/kernel.json"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("jdata/kernels/loop")).unwrap();
    symlink(
        root.join("jdata/kernels/loop/kernel.json"),
        root.join("jdata/kernels/loop/kernel.json"),
    )
    .unwrap();
    kernel(
        &root.join("conda/share/jupyter"),
        "julia-1.9",
        r#"{"argv": ["/bin/sh", "{connection_file}"], "display_name": "Julia 1.9", "language": "julia"}"#,
    );
    Tree {
        _dir: dir,
        root,
        notebook,
    }
}

fn runyard(tree: &Tree, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runyard"));
    command.args(args);
    tree.env(&mut command);
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn runyard_kernels_lists_environments_and_kernels_in_order_with_broken_ones_marked() {
    let tree = tree();
    let started = std::time::Instant::now();
    let out = runyard(
        &tree,
        &["kernels", "--json", "--notebook", tree.notebook.to_str().unwrap()],
    );
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();

    let envs: Vec<(String, String, String)> = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["version"].as_str().unwrap().to_string(),
                e["prefix"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let p = |rel: &str| tree.p(rel).display().to_string();
    let expected = [
        ("venv", "3.11.7", p("home/proj/.venv")),
        ("venv", "3.12.1", p("venvs/active")),
        ("conda", "3.10.13", p("conda")),
        ("conda", "3.9.18", p("conda-envs/ds")),
        ("pyenv", "3.8.18", p("pyenv/versions/3.8.18")),
        (
            "uv",
            "3.13.0",
            p("home/.local/share/uv/python/cpython-3.13.0-linux-x86_64-gnu"),
        ),
    ];
    for (i, (kind, version, prefix)) in expected.iter().enumerate() {
        assert_eq!(
            (envs[i].0.as_str(), envs[i].1.as_str(), &envs[i].2),
            (*kind, *version, prefix),
            "environment {i} of {envs:#?}"
        );
    }
    // Then PATH: the activated venv's python3 is the venv already (deduplicated),
    // the system python3 is one more, with the version its real name says.
    assert_eq!(envs.len(), expected.len() + 1, "{envs:#?}");
    let system = &envs[expected.len()];
    assert_eq!(
        (system.0.as_str(), system.2.as_str()),
        ("system", p("").trim_end_matches('/'))
    );
    assert!(system.1.starts_with('3'), "{system:?}");
    let real = real_python().display().to_string();
    for env in json["environments"].as_array().unwrap() {
        assert_eq!(env["real_interpreter"], real.as_str(), "symlinks resolved: {env}");
    }

    // Kernels in Jupyter's order; the first python3 wins; broken ones listed.
    let ours: Vec<&Value> = json["kernels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["path"].as_str().unwrap().starts_with(&p("")))
        .collect();
    let names: Vec<&str> = ours.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["garbage", "python3", "fifo", "ghost", "loop", "julia-1.9"],
        "{ours:#?}"
    );
    let by_name = |name: &str| *ours.iter().find(|k| k["name"] == name).unwrap();
    assert_eq!(by_name("python3")["display_name"], "Python 3 (first)");
    assert_eq!(by_name("python3")["ok"], true);
    assert_eq!(by_name("julia-1.9")["language"], "julia");
    for broken in ["garbage", "fifo", "ghost", "loop"] {
        assert_eq!(by_name(broken)["ok"], false, "{broken}");
        assert!(by_name(broken)["error"].as_str().is_some(), "{broken}");
    }
    assert!(by_name("garbage")["error"].as_str().unwrap().contains("not valid JSON"));
    assert!(
        by_name("ghost")["error"]
            .as_str()
            .unwrap()
            .contains("/no/such/ghost-kernel")
    );
    assert!(
        by_name("fifo")["error"]
            .as_str()
            .unwrap()
            .contains("not a regular file")
    );
    let path: Vec<&str> = json["jupyter_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(&path[..3], [p("jp1"), p("jdata"), p("home/proj/.venv/share/jupyter")]);
    assert!(elapsed.as_secs() < 10, "a FIFO or a loop must not hang the scan");

    // The table, as `jupyter kernelspec list` prints it.
    let out = runyard(&tree, &["kernels"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("Jupyter kernels:"), "{table}");
    let ghost = table.lines().find(|l| l.trim_start().starts_with("ghost")).unwrap();
    assert!(ghost.contains("BROKEN"), "{ghost}");
    let julia = table.lines().find(|l| l.trim_start().starts_with("julia-1.9")).unwrap();
    assert!(julia.contains("Julia 1.9") && julia.contains("julia"), "{julia}");
}

#[test]
fn the_scan_as_a_library_call_finds_the_same() {
    let tree = tree();
    let inputs = runyard::kernels::Inputs {
        home: Some(tree.p("home")),
        path: Some(tree.p("bin").into_os_string()),
        conda_prefix: Some(tree.p("conda")),
        pyenv_root: Some(tree.p("pyenv")),
        notebook: Some(tree.notebook.clone()),
        ..Default::default()
    };
    let found = runyard::kernels::discover(&inputs);
    let kinds: Vec<&str> = found.environments.iter().map(|e| e.kind.label()).collect();
    assert_eq!(kinds, ["venv", "conda", "conda", "pyenv", "uv", "system"]);
    // No JUPYTER_PATH, no system dirs: the user's (none here) and the environments'.
    assert_eq!(
        found.kernels.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        ["julia-1.9"]
    );
}

fn run_prefix(tree: &Tree, script: &Path, python: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runyard"));
    command.arg("run").arg(script);
    if let Some(python) = python {
        command.arg("--python").arg(python);
    }
    command.env("HOME", tree.p("home")).env_remove("VIRTUAL_ENV");
    command.output().unwrap()
}

#[test]
fn runyard_run_takes_an_environment_directory_and_finds_the_venv_beside_a_script() {
    let tree = tree();
    let script = tree.p("home/proj/notebooks/prefix.py");
    write(&script, "# %%\nimport sys\nprint(sys.prefix)\n");
    // --python DIR: that environment's bin/python.
    let out = run_prefix(&tree, &script, Some(&tree.p("venvs/active")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), tree.p("venvs/active").display().to_string());
    // No --python: the project's .venv, above the script.
    let out = run_prefix(&tree, &script, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        tree.p("home/proj/.venv").display().to_string()
    );
    // The script's own header wins over the .venv.
    write(
        &script,
        "# runyard: {\"python\":\"../../../venvs/other\"}\n# %%\nimport sys\nprint(sys.prefix)\n",
    );
    let out = run_prefix(&tree, &script, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), tree.p("venvs/other").display().to_string());
    // A directory that is no environment is refused before anything runs.
    let out = run_prefix(&tree, &script, Some(&tree.p("home")));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a Python environment"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn runyard_run_refuses_a_notebook_whose_kernel_is_not_installed() {
    let tree = tree();
    let nb = tree.p("elsewhere/r.ipynb");
    write(
        &nb,
        r#"{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [], "source": "1 + 1"}],
            "metadata": {"kernelspec": {"display_name": "Python 2", "language": "python", "name": "python2"},
                         "language_info": {"name": "python", "version": "2.7.18"}},
            "nbformat": 4, "nbformat_minor": 5}"#,
    );
    let out = runyard(&tree, &["run", nb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("kernel 'python2' is not installed here, and no Python 2 was found"),
        "{}",
        text(&out.stderr)
    );
}

/// A project's `.venv` that is a symlink to a shared environment is still
/// the project's `.venv`: picked, and run as that environment (its
/// `sys.prefix`), not as the interpreter its symlinks end at.
#[test]
fn a_symlinked_venv_beside_a_notebook_is_picked_and_runs_as_a_venv() {
    let tree = tree();
    let shared = tree.p("shared/env-for-many");
    fake_venv(&shared, "version = 3.11.7");
    let project = tree.p("home/linked");
    std::fs::create_dir_all(&project).unwrap();
    symlink(&shared, project.join(".venv")).unwrap();
    let script = project.join("prefix.py");
    write(&script, "# %%\nimport sys\nprint(sys.prefix)\n");
    let out = run_prefix(&tree, &script, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let prefix = text(&out.stdout).trim().to_string();
    assert!(
        prefix == project.join(".venv").display().to_string() || prefix == shared.display().to_string(),
        "ran outside the venv: sys.prefix {prefix}"
    );
}
