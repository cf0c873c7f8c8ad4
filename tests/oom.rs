//! A runtime killed by the kernel's OOM killer is reported as such, not as
//! a bare SIGKILL: `runyard run` runs in a memory cgroup with a small limit
//! and a cell allocates past it.
//!
//! Making a memory cgroup needs root (the test command and CI run as root);
//! elsewhere this test fails saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

const LIMIT: u64 = 300 * 1024 * 1024;

/// A memory cgroup with a limit, removed when dropped.
struct Cgroup {
    dir: PathBuf,
}

impl Cgroup {
    fn new() -> Cgroup {
        let name = format!("runyard-oom-test-{}", std::process::id());
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let (dir, limit_files) = if v1.join("memory.limit_in_bytes").exists() {
            // Without swap accounting the limit also needs memsw, where there is one.
            (
                v1.join(&name),
                vec!["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
            )
        } else {
            let root = Path::new("/sys/fs/cgroup");
            let controllers = std::fs::read_to_string(root.join("cgroup.subtree_control")).unwrap_or_default();
            if !controllers.split_whitespace().any(|c| c == "memory") {
                let _ = std::fs::write(root.join("cgroup.subtree_control"), "+memory");
            }
            (root.join(&name), vec!["memory.max", "memory.swap.max"])
        };
        if let Err(err) = std::fs::create_dir(&dir) {
            panic!(
                "this test needs a memory cgroup and could not make {}: {err}; run it as root \
                 (scripts/test does) on a Linux with the memory controller",
                dir.display()
            );
        }
        let cgroup = Cgroup { dir };
        for file in limit_files {
            let path = cgroup.dir.join(file);
            if path.exists() {
                std::fs::write(&path, LIMIT.to_string())
                    .unwrap_or_else(|e| panic!("cannot set {}: {e}", path.display()));
            }
        }
        cgroup
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Empty once the run is over: every process in it has exited.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

#[test]
fn an_oom_kill_is_reported_as_one() {
    let cgroup = Cgroup::new();
    let dir = tempfile::tempdir().unwrap();
    let notebook = dir.path().join("hungry.py");
    std::fs::write(
        &notebook,
        "# %%\nprint('allocating')\nblocks = []\nwhile True:\n    blocks.append(b'x' * (16 << 20))\n",
    )
    .unwrap();
    // The shell moves itself into the cgroup, then becomes runyard: the
    // runtime it starts is born there.
    let out = Command::new("sh")
        .arg("-c")
        .arg("echo $$ > \"$1/cgroup.procs\" && exec \"$2\" run \"$3\"")
        .arg("sh")
        .arg(&cgroup.dir)
        .arg(env!("CARGO_BIN_EXE_runyard"))
        .arg(&notebook)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 3: the runtime died (README's exit statuses).
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(
        stderr.contains("ran out of memory") && stderr.contains("OOM killer"),
        "the error names the OOM killer: {stderr}"
    );
    assert!(stderr.contains("MiB"), "and the memory it had: {stderr}");
}
