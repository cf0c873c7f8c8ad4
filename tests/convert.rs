//! `runyard convert` between .ipynb, .livemd and percent scripts, and the
//! readers' refusal of files Jupyter's nbformat schema refuses, through the
//! real `runyard` binary on real files.

mod common;

use common::{jupyter_python, validate_with_jupyter};
use std::path::{Path, PathBuf};
use std::process::{Command, Output as Exit};

use runyard::notebook::{self, CellKind};

fn runyard(args: &[&std::ffi::OsStr]) -> Exit {
    Command::new(env!("CARGO_BIN_EXE_runyard")).args(args).output().unwrap()
}

fn convert(args: &[&str]) -> Exit {
    let mut all = vec![std::ffi::OsStr::new("convert")];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    runyard(&all)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn copy_fixture(dir: &Path, name: &str, as_name: &str) -> PathBuf {
    let path = dir.join(as_name);
    std::fs::copy(fixture(name), &path).unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn an_unchanged_round_trip_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for (name, ext) in [
        ("jupyter-4.5.ipynb", "ipynb"),
        ("jupyter-4.4.ipynb", "ipynb"),
        ("livebook.livemd", "livemd"),
        ("script.py", "py"),
    ] {
        let input = copy_fixture(dir.path(), name, &format!("in-{name}"));
        let out = dir.path().join(format!("out-{name}"));
        let run = convert(&[s(&input), "-o", s(&out)]);
        assert_eq!(run.status.code(), Some(0), "{name}: {}", text(&run.stderr));
        assert_eq!(text(&run.stderr), "", "{name}: nothing is dropped");
        assert!(read(&out) == read(&input), "{name}: the bytes changed");
        // The same through --to (derived name, so --force over the input itself).
        let run = convert(&[s(&input), "--to", ext, "--force"]);
        assert_eq!(run.status.code(), Some(0), "{name}: {}", text(&run.stderr));
        assert!(
            read(&input) == read(&fixture(name)),
            "{name}: rewritten in place, changed"
        );
    }
}

/// Every pair of formats, from the fixtures: the output opens, has the
/// cells, and stderr says what was dropped.
#[test]
fn every_pair_of_formats_converts_and_says_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ipynb = copy_fixture(d, "jupyter-4.5.ipynb", "nb.ipynb");
    let livemd = copy_fixture(d, "livebook.livemd", "lb.livemd");
    let script = copy_fixture(d, "script.py", "sc.py");

    // .ipynb → .py: no outputs in a script, said per kind with counts.
    let run = convert(&[s(&ipynb), "--to", "py"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    for line in [
        "runyard: 8 outputs dropped",
        "runyard: 5 execution counts dropped",
        "runyard: 11 cell ids dropped",
        "runyard: 1 cells' attachments dropped",
        "runyard: 4 notebook metadata keys dropped (custom_tool, kernelspec, language_info, toc)",
    ] {
        assert!(stderr.lines().any(|l| l == line), "missing {line:?} in:\n{stderr}");
    }
    let py = d.join("nb.py");
    let from_py = notebook::open(&py).unwrap();
    let original = notebook::open(&ipynb).unwrap();
    assert_eq!(from_py.cells().count(), original.cells().count());

    // .py → .ipynb: sources and kinds are the original's (raw cells became Markdown).
    let back = d.join("back.ipynb");
    let run = convert(&[s(&py), "-o", s(&back)]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    validate_with_jupyter(&back);
    let cells = |path: &Path| -> Vec<(String, String)> {
        let value: serde_json::Value = serde_json::from_slice(&read(path)).unwrap();
        value["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let source: String = match &c["source"] {
                    serde_json::Value::Array(parts) => parts.iter().map(|p| p.as_str().unwrap()).collect(),
                    other => other.as_str().unwrap().to_string(),
                };
                (c["cell_type"].as_str().unwrap().to_string(), source)
            })
            .collect()
    };
    let (before, after) = (cells(&ipynb), cells(&back));
    // Cell metadata goes through the script as jupytext writes it.
    assert!(!stderr.contains("metadata dropped\n"), "{stderr}");
    assert!(read(&py).windows(14).any(|w| w == b"tags=[\"setup\"]"));
    let meta = |path: &Path| -> Vec<serde_json::Value> {
        let value: serde_json::Value = serde_json::from_slice(&read(path)).unwrap();
        value["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["metadata"].clone())
            .collect()
    };
    assert_eq!(meta(&ipynb), meta(&back));
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b.0 == "raw" {
            // A percent cell ends at its last non-blank line.
            assert_eq!(a.0, "raw");
            assert_eq!(b.1.trim_end(), a.1.trim_end());
        } else {
            assert_eq!(b, a, "a cell changed on the way through a script");
        }
    }

    // .ipynb → .livemd: text outputs kept, the rest said.
    let run = convert(&[s(&ipynb), "--to", "livemd"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("outputs kept as text only"), "{stderr}");
    assert!(stderr.contains("1 empty Markdown/raw cells dropped"), "{stderr}");
    let lb = notebook::open(&d.join("nb.livemd")).unwrap();
    assert_eq!(lb.title.as_deref(), Some("Fixture notebook"));
    assert!(lb.cells().any(|c| !c.outputs.is_empty()));

    // .livemd → .py, for a Python Livebook notebook (the one just written).
    let run = convert(&[s(&d.join("nb.livemd")), "-o", s(&d.join("from-livemd.py"))]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(text(&run.stderr).contains("outputs dropped"), "{}", text(&run.stderr));
    let from_lb_py = notebook::open(&d.join("from-livemd.py")).unwrap();
    assert_eq!(
        from_lb_py.cells().filter(|c| c.kind == CellKind::Code).count(),
        lb.cells().filter(|c| c.kind == CellKind::Code).count()
    );

    // .livemd → .ipynb: a valid notebook; Livebook's branch and cell metadata said.
    let run = convert(&[s(&livemd), "--to", "ipynb"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("1 sections' metadata dropped"), "{stderr}");
    assert!(
        stderr.contains("notebook metadata keys dropped (autosave_interval_s, persist_outputs)"),
        "{stderr}"
    );
    validate_with_jupyter(&d.join("lb.ipynb"));
    let from_lb = notebook::open(&d.join("lb.ipynb")).unwrap();
    assert_eq!(from_lb.language, notebook::Language::Elixir);
    let original = notebook::open(&livemd).unwrap();
    let sources = |nb: &notebook::Notebook| -> Vec<String> {
        nb.cells()
            .filter(|c| c.kind == CellKind::Code)
            .map(|c| c.source.clone())
            .collect()
    };
    assert_eq!(sources(&from_lb), sources(&original));

    // .livemd → .py: refused, a script is Python.
    let run = convert(&[s(&livemd), "--to", "py"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("holds elixir code"), "{}", text(&run.stderr));
    assert!(!d.join("lb.py").exists());

    // .py → .ipynb and .py → .livemd: titles of `# %% Title` cells are said.
    for to in ["ipynb", "livemd"] {
        let run = convert(&[s(&script), "--to", to]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        assert!(
            text(&run.stderr).contains("2 percent cell titles (# %% Title) dropped"),
            "{to}: {}",
            text(&run.stderr)
        );
    }
    validate_with_jupyter(&d.join("sc.ipynb"));
    let from_script = notebook::open(&d.join("sc.livemd")).unwrap();
    assert_eq!(from_script.language, notebook::Language::Python);
    assert_eq!(
        sources(&from_script),
        sources(&notebook::open(&script).unwrap())
            .iter()
            .map(|s| s.strip_suffix('\n').unwrap_or(s).to_string())
            .collect::<Vec<_>>()
    );
}

/// A script jupytext wrote (`jupytext --to py:percent` of jupyter-4.5.ipynb,
/// jupytext 1.19.6) becomes the notebook again: kinds, metadata, the
/// kernelspec from jupytext's YAML header.
#[test]
fn a_script_written_by_jupytext_converts_back_to_its_notebook() {
    let dir = tempfile::tempdir().unwrap();
    let script = copy_fixture(dir.path(), "jupytext-percent.py", "jt.py");
    let out = dir.path().join("jt.ipynb");
    let run = convert(&[s(&script), "--to", "ipynb"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("1 jupytext header taken out"),
        "{}",
        text(&run.stderr)
    );
    validate_with_jupyter(&out);
    let original: serde_json::Value = serde_json::from_slice(&read(&fixture("jupyter-4.5.ipynb"))).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&read(&out)).unwrap();
    assert_eq!(back["metadata"]["kernelspec"], original["metadata"]["kernelspec"]);
    let cells = |v: &serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
        v["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["cell_type"].clone(), c["metadata"].clone()))
            .collect()
    };
    // jupytext itself drops `collapsed`; the rest of every cell's metadata and kind come back.
    let mut expected = cells(&original);
    expected[1].1.as_object_mut().unwrap().remove("collapsed");
    assert_eq!(cells(&back), expected);
}

#[test]
fn an_existing_output_is_kept_unless_forced_and_stdout_takes_dash() {
    let dir = tempfile::tempdir().unwrap();
    let ipynb = copy_fixture(dir.path(), "jupyter-4.5.ipynb", "nb.ipynb");
    let py = dir.path().join("nb.py");
    std::fs::write(&py, "precious = True\n").unwrap();
    let run = convert(&[s(&ipynb), "--to", "py"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("already exists"), "{}", text(&run.stderr));
    assert_eq!(std::fs::read_to_string(&py).unwrap(), "precious = True\n");
    let run = convert(&[s(&ipynb), "--to", "py", "--force"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(
        std::fs::read_to_string(&py)
            .unwrap()
            .starts_with("# %% [markdown]\n# # Fixture notebook")
    );

    let run = convert(&[s(&ipynb), "--to", "py:percent", "-o", "-"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(run.stdout, read(&py), "-o - prints what the file gets");
    let run = convert(&[s(&ipynb), "-o", "-"]);
    assert_eq!(run.status.code(), Some(2), "stdout needs --to");
    let run = convert(&[s(&ipynb), "-o", s(&dir.path().join("x.md"))]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("x.md"), "{}", text(&run.stderr));
    let run = convert(&[s(&ipynb)]);
    assert_eq!(run.status.code(), Some(2), "a target is needed");
    let run = convert(&[s(&ipynb), "--to", "docx"]);
    assert_eq!(run.status.code(), Some(2));
    // No temporary files left beside the outputs.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_byte_order_mark_is_read_and_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(read(&fixture("jupyter-4.5.ipynb")));
    let ipynb = dir.path().join("bom.ipynb");
    std::fs::write(&ipynb, &bytes).unwrap();
    let out = dir.path().join("same.ipynb");
    let run = convert(&[s(&ipynb), "-o", s(&out)]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(read(&out) == bytes, "the BOM is kept with the format");
    let run = convert(&[s(&ipynb), "--to", "py"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(!read(&dir.path().join("bom.py")).starts_with("\u{feff}".as_bytes()));

    let script = dir.path().join("bom-script.py");
    std::fs::write(&script, "\u{feff}# %%\nprint('bom ok')\n").unwrap();
    let run = convert(&[s(&script), "-o", s(&dir.path().join("bom-out.py"))]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(read(&dir.path().join("bom-out.py")), read(&script));
    let nb = notebook::open(&script).unwrap();
    assert_eq!(nb.cells().next().unwrap().source, "print('bom ok')\n");

    // And it runs, as Python runs a script with a BOM.
    let run = runyard(&["run".as_ref(), script.as_os_str()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(text(&run.stdout), "bom ok\n");
    let bom_ipynb = dir.path().join("ran.ipynb");
    let run = runyard(&["run".as_ref(), ipynb.as_os_str(), "-o".as_ref(), bom_ipynb.as_os_str()]);
    assert_ne!(run.status.code(), Some(2), "read fine: {}", text(&run.stderr));
    assert!(read(&ipynb) == bytes, "the input is untouched");
}

/// Runyard's verdict on each file of tests/fixtures/invalid (made by its
/// make.py) against Jupyter's `nbformat.validate`, missing and duplicate cell
/// ids counted as errors (nbformat warns and repairs them, "will become a
/// hard error"). nbformat 2 and 3 files are checked apart: Runyard does not
/// read them and says how to upgrade.
#[test]
fn invalid_notebooks_are_refused_as_jupyter_refuses_them() {
    let python = jupyter_python();
    if python.is_relative()
        && Command::new(&python)
            .args(["-c", "import nbformat"])
            .output()
            .map_or(true, |o| !o.status.success())
    {
        eprintln!("skipped: no Python with nbformat (set RUNYARD_TEST_VENV; scripts/test does)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&source)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .map(|p| {
            let copy = dir.path().join(p.file_name().unwrap());
            std::fs::copy(&p, &copy).unwrap();
            copy
        })
        .collect();
    files.sort();
    assert!(files.len() >= 50, "make.py wrote the files: {}", files.len());

    let script = r#"
import json, sys, warnings, nbformat
out = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    try:
        # Missing and repeated ids: warned about and repaired, as
        # nbformat.reads does (Runyard repairs them too).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
        out[path] = None
    except Exception as e:
        out[path] = type(e).__name__ + ": " + str(e).splitlines()[0]
print(json.dumps(out))
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let jupyter: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();

    let mut disagreements = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let before = read(file);
        let modified = std::fs::metadata(file).unwrap().modified().unwrap();
        let run = convert(&[s(file), "--to", "ipynb", "-o", "-"]);
        let stderr = text(&run.stderr);
        assert_eq!(read(file), before, "{name} was changed");
        assert_eq!(std::fs::metadata(file).unwrap().modified().unwrap(), modified);

        if name.starts_with("old-nbformat-") {
            let major = &name["old-nbformat-".len()..name.len() - ".ipynb".len()];
            assert_eq!(run.status.code(), Some(2), "{name}");
            assert!(stderr.contains(&format!(": nbformat {major}")), "{stderr}");
            assert!(stderr.contains("is not supported"), "{stderr}");
            assert!(
                stderr.contains("jupyter nbconvert --to notebook --nbformat 4"),
                "{stderr}"
            );
            assert!(!stderr.contains("nbformat_minor"), "{stderr}");
            continue;
        }
        let jupyter_ok = jupyter[s(file)].is_null();
        let runyard_ok = run.status.code() == Some(0);
        assert!(matches!(run.status.code(), Some(0 | 2)), "{name}: {stderr}");
        if runyard_ok && name.starts_with("valid-4.5-cell-") {
            // Repaired as nbformat.reads repairs it: every cell has its own id.
            let nb: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
            let ids: Vec<&str> = nb["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().expect("an id"))
                .collect();
            let unique: std::collections::HashSet<_> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "{name}: {ids:?}");
        }
        if jupyter_ok != runyard_ok {
            disagreements.push(format!("{name}: Jupyter {:?}, Runyard {stderr:?}", jupyter[s(file)]));
        }
        assert_eq!(
            name.starts_with("valid-"),
            jupyter_ok,
            "{name}: the file's name says its verdict"
        );
        if !runyard_ok {
            // What and where: the file, then a JSON path.
            assert!(stderr.starts_with(&format!("runyard: {}: ", s(file))), "{stderr}");
            let place = stderr.trim_start_matches(&format!("runyard: {}: ", s(file)));
            assert!(
                place.starts_with("cells[")
                    || place.starts_with("metadata")
                    || place.starts_with("nbformat")
                    || place.starts_with("cells:")
                    || place.starts_with("worksheets"),
                "{name}: no place in {stderr:?}"
            );
        }
    }
    assert!(
        disagreements.is_empty(),
        "verdicts differ:\n{}",
        disagreements.join("\n")
    );
}

/// `runyard run` on a refused file exits 2 before starting any runtime (a
/// Python that would leave a mark shows it never started), and leaves it be.
#[test]
fn run_refuses_invalid_notebooks_before_starting_a_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("started");
    let python = dir.path().join("python");
    std::fs::write(&python, format!("#!/bin/sh\ntouch '{}'\nexit 1\n", mark.display())).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for name in [
        "kernelspec-without-display-name.ipynb",
        "old-nbformat-2.ipynb",
        "old-nbformat-3.ipynb",
        "output-extra-key.ipynb",
    ] {
        let file = dir.path().join(name);
        std::fs::copy(fixture("invalid").join(name), &file).unwrap();
        let before = read(&file);
        let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
        let run = runyard(&[
            "run".as_ref(),
            file.as_os_str(),
            "--inplace".as_ref(),
            "--python".as_ref(),
            python.as_os_str(),
        ]);
        assert_eq!(run.status.code(), Some(2), "{name}: {}", text(&run.stderr));
        assert!(text(&run.stderr).contains(name), "{}", text(&run.stderr));
        assert_eq!(read(&file), before, "{name} was changed");
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), modified);
        assert!(!mark.exists(), "{name}: a runtime was started");
    }
    // The fake Python does leave its mark when a valid notebook is run.
    let valid = dir.path().join("valid.ipynb");
    std::fs::copy(fixture("invalid").join("valid-4.5.ipynb"), &valid).unwrap();
    let run = runyard(&[
        "run".as_ref(),
        valid.as_os_str(),
        "--python".as_ref(),
        python.as_os_str(),
    ]);
    assert_ne!(run.status.code(), Some(0));
    assert!(mark.exists(), "the check above could not fail: {}", text(&run.stderr));
}
