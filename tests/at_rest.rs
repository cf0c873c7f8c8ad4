//! Notebooks and Runyard's own files at rest, probed by a real second Unix
//! user (`runyard-probe`): saving never exposes a private notebook, a
//! killed save leaves nothing behind for long, read-only files are refused,
//! and owners are kept.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::other_user::{other_user, run_as_other};
use runyard::notebook::{self, NotebookError};

const SMALL: &str = r#"{
 "cells": [
  {"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [], "source": ["1 + 1"]}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"#;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A notebook of about `mb` megabytes (one big markdown cell), so that a
/// save takes long enough to be caught in the middle.
fn big_notebook(mb: usize) -> notebook::Notebook {
    let mut nb = notebook::parse(notebook::Format::Ipynb, SMALL).unwrap();
    let line = "secret line of a private notebook, not for other users\n";
    let text = line.repeat(mb * 1024 * 1024 / line.len());
    let mut cell = nb.cells().next().unwrap().clone();
    cell.kind = notebook::CellKind::Markdown;
    cell.source = text;
    nb.sections[0].cells.push(cell);
    nb
}

/// What the other user manages to open in `dir` (every entry, temporaries
/// included) while it lists it over and over for `seconds`; prints
/// `<temporaries seen> <opened names…>`.
const PROBE: &str = r#"
import os, sys, time
d, seconds = sys.argv[1], float(sys.argv[2])
end = time.time() + seconds
seen, opened = set(), set()
while time.time() < end:
    for name in os.listdir(d):
        if ".tmp-" in name:
            seen.add(name)
        try:
            with open(os.path.join(d, name), "rb") as f:
                f.read(1)
            opened.add(name)
        except OSError:
            pass
print(len(seen), *sorted(opened))
"#;

#[test]
fn another_user_cannot_read_a_private_notebook_while_it_is_saved_over_and_over() {
    other_user();
    let dir = tempfile::tempdir().unwrap();
    // The folder is open (the other user may list it); the notebook is not.
    chmod(dir.path(), 0o755);
    let path = dir.path().join("private.ipynb");
    std::fs::write(&path, SMALL).unwrap();
    chmod(&path, 0o600);
    let nb = big_notebook(4);

    let stop = AtomicBool::new(false);
    let (saves, probe) = std::thread::scope(|s| {
        let saver = s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                notebook::save(&path, &nb).unwrap();
                n += 1;
            }
            n
        });
        let probe = run_as_other("python3", &["-c", PROBE, dir.path().to_str().unwrap(), "5"]);
        stop.store(true, Ordering::Relaxed);
        (saver.join().unwrap(), probe)
    });
    let out = String::from_utf8_lossy(&probe.stdout);
    assert!(
        probe.status.success(),
        "probe failed: {out} {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let mut words = out.split_whitespace();
    let temporaries: usize = words.next().unwrap().parse().unwrap();
    let opened: Vec<&str> = words.collect();
    assert!(saves >= 3, "only {saves} saves");
    assert!(
        temporaries > 0,
        "the probe never saw a save in progress; it proves nothing"
    );
    assert!(opened.is_empty(), "the other user read {opened:?} during {saves} saves");
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
}

const HELPER_DIR: &str = "RUNYARD_TEST_SAVE_FOREVER";

/// Not a test by itself: the child process that `a_killed_save…` kills in
/// the middle of a save.
#[test]
#[ignore = "a helper process for a_killed_saves_temporary_is_removed_by_the_next_save"]
fn helper_saves_forever() {
    let Some(dir) = std::env::var_os(HELPER_DIR) else {
        return;
    };
    let path = PathBuf::from(dir).join("big.ipynb");
    let nb = big_notebook(32);
    let text = notebook::to_string(notebook::Format::Ipynb, &nb);
    loop {
        notebook::atomic::write_atomically(&path, text.as_bytes()).unwrap();
    }
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// Starts a process that saves `dir/big.ipynb` forever and SIGKILLs it
/// while a temporary exists; returns once one was left behind.
fn kill_a_save_midway(dir: &Path) {
    // A private notebook: what a killed save leaves must be private too.
    let path = dir.join("big.ipynb");
    std::fs::write(&path, SMALL).unwrap();
    chmod(&path, 0o600);
    for _ in 0..20 {
        // No pipes: a child writing to a closed one would die of it before being killed.
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "helper_saves_forever",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_DIR, dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while temporaries(dir).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if !temporaries(dir).is_empty() {
            return;
        }
    }
    panic!("no save was ever caught in the middle");
}

#[test]
fn a_killed_saves_temporary_is_removed_by_the_next_save() {
    let dir = tempfile::tempdir().unwrap();
    kill_a_save_midway(dir.path());
    let left = temporaries(dir.path());
    assert_eq!(left.len(), 1, "{left:?}");
    // What it left of the 0600 notebook is not readable by others either.
    let mode = std::fs::metadata(dir.path().join(&left[0])).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o600, "a killed save's temporary is {mode:o}");

    let path = dir.path().join("big.ipynb");
    let nb = notebook::parse(notebook::Format::Ipynb, SMALL).unwrap();
    notebook::save(&path, &nb).unwrap();
    assert_eq!(temporaries(dir.path()), Vec::<String>::new());
    assert_eq!(notebook::open(&path).unwrap().cells().count(), 1);
}

#[test]
fn a_killed_saves_temporary_in_runyards_folders_is_removed_at_start() {
    let home = tempfile::tempdir().unwrap();
    let dirs = runyard::settings::Dirs::under(home.path());
    std::fs::create_dir_all(&dirs.data).unwrap();
    kill_a_save_midway(&dirs.data);
    assert_eq!(temporaries(&dirs.data).len(), 1);
    dirs.prepare().unwrap();
    assert_eq!(temporaries(&dirs.data), Vec::<String>::new());
}

fn runyard_as_other(args: &[&str]) -> std::process::Output {
    run_as_other(env!("CARGO_BIN_EXE_runyard"), args)
}

#[test]
fn run_inplace_and_output_refuse_a_file_the_user_may_not_write() {
    let (uid, gid) = other_user();
    let dir = tempfile::tempdir().unwrap();
    // Writable by all, not sticky: the rename alone would succeed.
    chmod(dir.path(), 0o777);

    // A 0444 notebook of the other user's own.
    let readonly = dir.path().join("readonly.ipynb");
    std::fs::write(&readonly, SMALL).unwrap();
    std::os::unix::fs::chown(&readonly, Some(uid), Some(gid)).unwrap();
    chmod(&readonly, 0o444);
    let out = runyard_as_other(&["run", readonly.to_str().unwrap(), "--inplace"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("read-only") && stderr.contains("readonly.ipynb"),
        "{stderr}"
    );

    // Root's notebook, readable by all: access(2) says the other user may not write it.
    let roots = dir.path().join("roots.ipynb");
    std::fs::write(&roots, SMALL).unwrap();
    chmod(&roots, 0o644);
    let out = runyard_as_other(&["run", roots.to_str().unwrap(), "--inplace"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("you may not write") && stderr.contains("roots.ipynb"),
        "{stderr}"
    );
    let out = runyard_as_other(&["run", readonly.to_str().unwrap(), "--output", roots.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    for (path, owner) in [(&readonly, uid), (&roots, 0)] {
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            SMALL,
            "{} untouched",
            path.display()
        );
        assert_eq!(std::fs::metadata(path).unwrap().uid(), owner);
    }
}

#[test]
fn save_refuses_a_read_only_notebook_even_for_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.ipynb");
    std::fs::write(&path, SMALL).unwrap();
    chmod(&path, 0o444);
    let nb = big_notebook(1);
    let err = notebook::save(&path, &nb).unwrap_err();
    assert!(matches!(err, NotebookError::ReadOnly { .. }), "{err:?}");
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), SMALL);
}

#[test]
fn saving_another_users_notebook_keeps_its_owner_group_and_mode() {
    let (uid, gid) = other_user();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.ipynb");
    std::fs::write(&path, SMALL).unwrap();
    std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    chmod(&path, 0o640);
    notebook::save(&path, &big_notebook(1)).unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (uid, gid, 0o640));
    // And the other user can still use their notebook.
    let out = run_as_other("head", &["-c", "1", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
