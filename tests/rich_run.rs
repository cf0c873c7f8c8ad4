//! `runyard run` on a notebook of plots, tables, images and `display()`,
//! compared cell by cell with what `jupyter nbconvert --execute` (ipykernel)
//! makes of the same notebook, on the test venv's real matplotlib, pandas,
//! Pillow and IPython.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

/// Cells whose outputs Jupyter and Runyard both make, one kind each.
const CELLS: &[&str] = &[
    "import matplotlib\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()",
    "fig, ax = plt.subplots()\n_ = ax.plot([3, 2, 1])",
    "import pandas as pd\ndf = pd.DataFrame({'a': range(5), 'b': list('vwxyz')})\ndf",
    "from IPython.display import display, HTML, Markdown\ndisplay(HTML('<b>bold</b>'))\ndisplay(Markdown('**md**'))",
    "print('a')\ndisplay({'k': 1})\nprint('b')",
    "from PIL import Image\nImage.new('RGB', (4, 3), 'red')",
    "class R:\n    def _repr_html_(self):\n        return '<i>r</i>'\n    def __repr__(self):\n        return 'R()'\nR()",
    "1 + 1",
];

fn notebook_of(sources: &[&str]) -> Value {
    let cells: Vec<Value> = sources
        .iter()
        .enumerate()
        .map(|(i, source)| {
            json!({"cell_type": "code", "execution_count": null, "id": format!("c{i}"),
                   "metadata": {}, "outputs": [], "source": source})
        })
        .collect();
    json!({
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5
    })
}

/// Per cell: each output's type and (for bundles) its MIME types.
fn shapes(path: &Path) -> Vec<Vec<(String, Vec<String>)>> {
    let nb: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    nb["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            cell["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    let kind = o["output_type"].as_str().unwrap().to_string();
                    let mut mimes: Vec<String> = o["data"]
                        .as_object()
                        .map(|d| d.keys().cloned().collect())
                        .unwrap_or_default();
                    mimes.sort();
                    (kind, mimes)
                })
                .collect()
        })
        .collect()
}

/// Runs `sources` as a notebook with `runyard run --output` and with
/// `jupyter nbconvert --execute`; checks Runyard's file with nbformat and
/// that each cell has the output types Jupyter's has, with at least its MIME
/// types. Returns Runyard's file.
fn compare_with_nbconvert(dir: &std::path::Path, sources: &[&str]) -> Value {
    let input = dir.join("nb.ipynb");
    std::fs::write(&input, serde_json::to_string_pretty(&notebook_of(sources)).unwrap()).unwrap();
    let python = common::jupyter_python();

    let ours = dir.join("ours.ipynb");
    let run = Command::new(env!("CARGO_BIN_EXE_runyard"))
        .arg("run")
        .arg(&input)
        .arg("--output")
        .arg(&ours)
        .arg("--python")
        .arg(&python)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "runyard run failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    common::validate_with_jupyter(&ours);

    let theirs = dir.join("theirs.ipynb");
    let nbconvert = Command::new(&python)
        .args(["-m", "nbconvert", "--to", "notebook", "--execute", "--output"])
        .arg(&theirs)
        .arg(&input)
        .env("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; scripts/test installs the test venv",
                python.display()
            )
        });
    assert!(
        nbconvert.status.success(),
        "jupyter nbconvert --execute failed (ipykernel and nbconvert come from tests/requirements.txt):\n{}",
        String::from_utf8_lossy(&nbconvert.stderr)
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&ours).unwrap()).unwrap();
    let ours = shapes(&ours);
    let theirs = shapes(&theirs);
    assert_eq!(ours.len(), theirs.len());
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        let kinds = |outputs: &[(String, Vec<String>)]| outputs.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(kinds(o), kinds(t), "cell {i} ({:?}): output types differ", sources[i]);
        for ((kind, our_mimes), (_, their_mimes)) in o.iter().zip(t) {
            for mime in their_mimes {
                assert!(
                    our_mimes.contains(mime),
                    "cell {i} ({:?}): Jupyter's {kind} has {mime}, Runyard's only {our_mimes:?}",
                    sources[i]
                );
            }
        }
    }
    written
}

#[test]
fn runyard_run_writes_the_outputs_jupyter_writes_cell_by_cell() {
    let dir = tempfile::tempdir().unwrap();
    let written = compare_with_nbconvert(dir.path(), CELLS);
    // What the comparison alone would let pass: the plots are real PNGs, the
    // table is capped data with its count.
    let figure = &written["cells"][0]["outputs"][0];
    assert!(figure["data"]["image/png"].as_str().unwrap().starts_with("iVBORw0KGgo"));
    assert!(figure["metadata"]["image/png"]["width"].as_f64().unwrap() > 0.0);
    let table = &written["cells"][2]["outputs"][0]["data"]["application/vnd.dataresource+json"];
    assert_eq!(table["data"].as_array().unwrap().len(), 5, "{table}");
}

/// Jupyter notebooks as people write them, with IPython's syntax: they run
/// to the end in the built-in agent (no IPython needed there) and give the
/// output types ipykernel gives.
#[test]
fn notebooks_with_magics_run_as_jupyter_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("written.txt");
    let writefile = format!("%%writefile {}\nhello from a cell\n", file.display());
    let cells = [
        "%matplotlib inline\nimport matplotlib.pyplot as plt",
        "!echo from the shell",
        "%timeit -n 3 -r 2 sum(range(10))",
        "%%bash\necho from bash",
        "%%time\nsum(range(1000))",
        writefile.as_str(),
        "%env RUNYARD_TEST_VALUE=42",
        "files = !ls /\nlen(files) > 0",
        "plt.plot([1, 2]);",
    ];
    let written = compare_with_nbconvert(dir.path(), &cells);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello from a cell\n");
    let text = written["cells"][1]["outputs"][0]["text"].to_string();
    assert!(text.contains("from the shell"), "{text}");
    let outputs = |i: usize| written["cells"][i]["outputs"].as_array().unwrap().len();
    assert!(
        (1..cells.len()).all(|i| outputs(i) > 0),
        "every cell but the import shows something"
    );
    let plot = &written["cells"][8]["outputs"][0];
    assert!(plot["data"]["image/png"].is_string(), "the figure left open: {plot}");
}
