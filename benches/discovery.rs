//! How long finding the runtimes takes: a full scan (`runyard::kernels::discover`)
//! of a temporary tree of 20 Python environments (venvs, conda, pyenv, uv)
//! and 10 kernelspecs, warm (the tree in the page cache, as when a dialog
//! opens a second time), printed beside a baseline: `jupyter kernelspec
//! list` on the same kernelspecs, when a `jupyter` is there
//! (`RUNYARD_BENCH_JUPYTER`, else target/test-venv/bin/jupyter, else
//! /work/main/target/test-venv/bin/jupyter). Goal: ≤ 50 ms.
//!
//! ```text
//! cargo bench --bench discovery
//! ```

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use runyard::kernels::{Inputs, discover};

const GOAL: Duration = Duration::from_millis(50);

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn env(prefix: &Path, python: &Path) {
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    symlink(python, prefix.join("bin/python")).unwrap();
    std::fs::create_dir_all(prefix.join("lib/python3.12/site-packages")).unwrap();
}

fn tree(root: &Path) -> Inputs {
    let python = which::which("python3")
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"));
    let home = root.join("home");
    let mut conda_list = String::new();
    for i in 0..5 {
        let venv = home.join(format!("proj{i}/.venv"));
        env(&venv, &python);
        write(
            &venv.join("pyvenv.cfg"),
            &format!("home = /usr/bin\nversion = 3.12.{i}\n"),
        );
        let conda = root.join(format!("conda/envs/c{i}"));
        env(&conda, &python);
        for package in [
            "numpy-1.26.0-py312_0",
            "pandas-2.1.0-py312_0",
            &format!("python-3.11.{i}-h1_0"),
        ] {
            write(&conda.join(format!("conda-meta/{package}.json")), "{}");
        }
        conda_list.push_str(&format!("{}\n", conda.display()));
        env(&root.join(format!("pyenv/versions/3.10.{i}")), &python);
        env(
            &home.join(format!(".local/share/uv/python/cpython-3.13.{i}-linux-x86_64-gnu")),
            &python,
        );
    }
    write(&home.join(".conda/environments.txt"), &conda_list);
    for i in 0..10 {
        let data = if i % 2 == 0 {
            root.join("jupyter-path")
        } else {
            home.join(".local/share/jupyter")
        };
        write(
            &data.join(format!("kernels/k{i}/kernel.json")),
            &format!(
                r#"{{"argv": ["{}", "-m", "ipykernel_launcher", "-f", "{{connection_file}}"], "display_name": "Kernel {i}", "language": "python"}}"#,
                python.display()
            ),
        );
    }
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    symlink(&python, bin.join("python3")).unwrap();
    Inputs {
        home: Some(home.clone()),
        path: Some(std::env::join_paths([bin, PathBuf::from("/usr/bin")]).unwrap()),
        pyenv_root: Some(root.join("pyenv")),
        jupyter_path: Some(root.join("jupyter-path").into_os_string()),
        notebook: Some(home.join("proj0/nb.ipynb")),
        system_data_dirs: vec![],
        ..Default::default()
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn jupyter() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("RUNYARD_BENCH_JUPYTER") {
        return Some(PathBuf::from(path));
    }
    [
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-venv/bin/jupyter"),
        "/work/main/target/test-venv/bin/jupyter",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = tree(dir.path());
    let first = discover(&inputs);
    println!(
        "runtime discovery: {} environments, {} kernelspecs",
        first.environments.len(),
        first.kernels.len()
    );
    let runs = 30;
    let times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(discover(&inputs));
            started.elapsed()
        })
        .collect();
    let scan = median(times);
    let baseline = jupyter().map(|jupyter| {
        let times: Vec<Duration> = (0..5)
            .map(|_| {
                let started = Instant::now();
                let out = std::process::Command::new(&jupyter)
                    .args(["kernelspec", "list"])
                    .env("JUPYTER_PATH", dir.path().join("jupyter-path"))
                    .env("JUPYTER_DATA_DIR", dir.path().join("home/.local/share/jupyter"))
                    .output()
                    .expect("jupyter runs");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                started.elapsed()
            })
            .collect();
        median(times)
    });
    println!(
        "full scan, warm (median of {runs}):   {:>8.2} ms   goal ≤ {} ms   {}",
        scan.as_secs_f64() * 1e3,
        GOAL.as_millis(),
        if scan <= GOAL { "ok" } else { "OVER" }
    );
    match baseline {
        Some(b) => println!(
            "baseline `jupyter kernelspec list` (kernelspecs only, median of 5): {:>8.2} ms",
            b.as_secs_f64() * 1e3
        ),
        None => println!("baseline: no jupyter found (set RUNYARD_BENCH_JUPYTER)"),
    }
    println!(
        "{}",
        serde_json::json!({
            "discovery_scan_ms": scan.as_secs_f64() * 1e3,
            "jupyter_kernelspec_list_ms": baseline.map(|b| b.as_secs_f64() * 1e3),
            "environments": first.environments.len(),
            "kernelspecs": first.kernels.len(),
        })
    );
}
