#!/usr/bin/env python3
"""`runyard run` against `jupyter nbconvert --execute` and papermill.

The same three notebooks (a trivial one, one printing 200,000 lines, one
showing 20 matplotlib plots), each run by the three tools on the same
interpreter, wall-clock from the command's start to its exit, median of
--runs (default 5) after one warm-up run. Printed side by side, then once
more with the options a CI job would give: parameters (`-p alpha 0.1`, which
nbconvert has not) and Runyard's --timeout/--allow-errors/--json where
`runyard run --help` lists them (nbconvert gets its own --allow-errors and
timeout).

Usage (from the repository, after `cargo build --release` and with the test
venv of scripts/test, which has ipykernel, nbconvert, papermill and matplotlib):

    target/test-venv/bin/python benches/headless_vs_jupyter.py

Options: --runyard PATH (default target/release/runyard), --python PATH (the
interpreter all three run the notebooks in; default the one running this
script), --runs N. The kernel for nbconvert and papermill comes from a
private kernelspec whose argv[0] is --python, and IPython's profile lives in
a temporary directory, so nothing of the user's is measured. Prints a table
and one JSON line (prefixed with "JSON ").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KERNEL = "runyard-bench-python"

NOTEBOOKS = {
    "trivial": ["1 + 1"],
    "200,000 printed lines": ["for i in range(200_000):\n    print(i)"],
    "20 matplotlib plots": [
        "import matplotlib.pyplot as plt",
        "for i in range(20):\n    plt.figure()\n    plt.plot(range(10 + i))\n    plt.show()",
    ],
}


def notebook(cells: list[str]) -> dict:
    """An nbformat 4.5 notebook: a `parameters` cell, then the cells."""
    code = [("alpha = 0.5", ["parameters"])] + [(c, []) for c in cells]
    return {
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell-{i}",
                "metadata": {"tags": tags},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
            for i, (source, tags) in enumerate(code)
        ],
        "metadata": {
            "kernelspec": {"name": KERNEL, "display_name": "Python (bench)", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def runyard_flags(runyard: str) -> list[str]:
    """Runyard's CI options that this build has (others add them in parallel)."""
    help_text = subprocess.run([runyard, "run", "--help"], capture_output=True, text=True).stdout
    flags = []
    if "--timeout " in help_text or "--timeout <" in help_text:
        flags += ["--timeout", "600"]
    if "--allow-errors" in help_text:
        flags.append("--allow-errors")
    if "--json" in help_text:
        flags.append("--json")
    return flags


def commands(tool: str, args, nb: Path, out: Path, options: bool, extra: list[str]) -> list[str]:
    py = args.tools_python
    if tool == "runyard":
        cmd = [args.runyard, "run", str(nb), "--output", str(out), "--python", args.python]
        if options:
            cmd += ["-p", "alpha", "0.1"] + extra
        return cmd
    if tool == "nbconvert":
        cmd = [py, "-m", "nbconvert", "--execute", "--to", "notebook", "--output", str(out), str(nb),
               f"--ExecutePreprocessor.kernel_name={KERNEL}"]
        if options:
            cmd += ["--allow-errors", "--ExecutePreprocessor.timeout=600"]
        return cmd
    cmd = [py, "-m", "papermill", str(nb), str(out), "-k", KERNEL, "--no-progress-bar"]
    if options:
        cmd += ["-p", "alpha", "0.1", "--execution-timeout", "600"]
    return cmd


def timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return took


def main() -> None:
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runyard", default=str(repo / "target/release/runyard"))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    args.python = os.path.abspath(args.python)
    # nbconvert and papermill run from the interpreter running this script.
    args.tools_python = sys.executable
    if not Path(args.runyard).is_file():
        sys.exit(f"{args.runyard} not found: cargo build --release (or give --runyard)")
    for module in ("nbconvert", "papermill", "ipykernel"):
        probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
        if probe.returncode != 0:
            sys.exit(f"{module} is not installed for {sys.executable} (tests/requirements.txt has it)")

    tmp = Path(tempfile.mkdtemp(prefix="runyard-bench-"))
    spec = tmp / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [args.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (bench)",
        "language": "python",
    }))
    env = dict(os.environ, JUPYTER_PATH=str(tmp / "jupyter"), IPYTHONDIR=str(tmp / "ipython"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), PYDEVD_DISABLE_FILE_VALIDATION="1")
    extra = runyard_flags(args.runyard)

    tools = ["runyard", "nbconvert", "papermill"]
    results = []
    for options in (False, True):
        for name, cells in NOTEBOOKS.items():
            nb = tmp / f"{len(results)}.ipynb"
            nb.write_text(json.dumps(notebook(cells)))
            row = {"notebook": name, "options": options}
            for tool in tools:
                out = tmp / f"{len(results)}-{tool}.out.ipynb"
                cmd = commands(tool, args, nb, out, options, extra)
                timed(cmd, env)  # warm-up: the page cache, compiled bytecode, font caches
                row[tool] = statistics.median(timed(cmd, env) for _ in range(args.runs))
            results.append(row)

    version = subprocess.run([args.python, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version} ({args.python}); median of {args.runs} runs, wall clock, seconds")
    print(f"Runyard's options: -p alpha 0.1 {' '.join(extra)}".rstrip())
    header = f"{'notebook':<24} {'options':<8} {'runyard':>8} {'nbconvert':>10} {'papermill':>10}  lead"
    print(header)
    print("-" * len(header))
    for row in results:
        lead = min(row["nbconvert"], row["papermill"]) / row["runyard"]
        print(f"{row['notebook']:<24} {'on' if row['options'] else 'off':<8} {row['runyard']:>8.3f} "
              f"{row['nbconvert']:>10.3f} {row['papermill']:>10.3f}  {lead:.1f}x")
    print("JSON " + json.dumps({"python": version, "runs": args.runs, "runyard_options": extra, "results": results}))


if __name__ == "__main__":
    main()
