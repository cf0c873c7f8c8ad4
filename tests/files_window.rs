//! Notebook files in the window: open, save, unparsable files, autosave and
//! restore, sessions reopened at start, unsaved changes at close, and files
//! changed by another program.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::other_user::{other_user, run_as_other};
use common::window::Window;
use egui_kittest::kittest::Queryable;
use runyard::notebook::{self, Output};
use runyard::session::{CellState, Status};

const NOTEBOOK: &str = r##"{
 "cells": [
  {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Sums\n"]},
  {"cell_type": "code", "execution_count": 3, "id": "first", "metadata": {"tags": ["keep-me"]},
   "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure>"]}, "metadata": {}}],
   "source": ["total = sum(range(10))"]},
  {"cell_type": "code", "execution_count": null, "id": "second", "metadata": {}, "outputs": [], "source": ["total * 2"]}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "custom": {"unknown": true}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

fn write_notebook(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("sums.ipynb");
    std::fs::write(&path, NOTEBOOK).unwrap();
    path
}

#[test]
fn a_notebook_given_on_the_command_line_opens_evaluates_and_saves_without_losing_what_runyard_does_not_show() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(3);
    let session = &w.app().sessions[0];
    assert_eq!(session.name, "sums");
    assert_eq!(session.status(), Status::Disconnected, "no runtime starts until asked");
    assert_eq!(
        session.cells().count(),
        2,
        "the title heading became the notebook's title"
    );
    // The stored PNG is shown as an image; this one is broken, so with its text.
    w.harness.get_by_label_contains("Cannot show this image/png");
    w.harness.get_by_label("<Figure>");
    let title = egui_kittest::kittest::by()
        .value("Sums")
        .role(egui::accesskit::Role::TextInput);
    w.harness.get(title); // the title, editable

    w.click_nth("Evaluate", 1);
    w.wait_until("evaluated", |app| {
        matches!(app.sessions[0].nth_cell(1).unwrap().state, CellState::Evaluated { .. })
    });
    assert!(w.app().sessions[0].is_dirty());
    w.save_shortcut();
    assert!(!w.app().sessions[0].is_dirty());

    let saved = notebook::open(&path).unwrap();
    assert_eq!(saved.title.as_deref(), Some("Sums"));
    let cells: Vec<&notebook::Cell> = saved.cells().collect();
    assert_eq!(cells[0].id.as_deref(), Some("first"), "cell ids are kept");
    assert_eq!(cells[0].metadata["tags"][0], "keep-me", "unknown cell metadata is kept");
    assert_eq!(
        saved.metadata["custom"]["unknown"], true,
        "unknown notebook metadata is kept"
    );
    // The first cell ran again (it was not up to date), so its output is new.
    assert_eq!(cells[1].outputs, vec![Output::result("90", Some(2))]);
    assert_eq!(cells[1].execution_count, Some(2));
    assert!(
        cells[0].outputs.is_empty(),
        "the first cell ran again and printed nothing"
    );
}

#[test]
fn outputs_of_cells_not_run_again_are_written_back_as_they_were() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(3);
    // An edit to the last cell only.
    w.type_code_append(2, " + 1");
    w.save_shortcut();
    let saved = notebook::open(&path).unwrap();
    let first = saved.cells().next().unwrap();
    let image = first.outputs[0].data().unwrap()["image/png"].clone();
    assert_eq!(image, "iVBORw0KGgo=", "the rich output survives");
    assert_eq!(first.execution_count, Some(3));
    assert_eq!(saved.cells().nth(1).unwrap().source, "total * 2 + 1");
}

#[test]
fn a_file_that_cannot_be_read_is_reported_with_where_and_left_untouched() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("broken.ipynb");
    let broken = "{\n \"cells\": [\n  {\"cell_type\": \"code\",, }\n ]\n}\n";
    std::fs::write(&path, broken).unwrap();
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(3);
    assert!(w.app().sessions.is_empty());
    let notice = w.app().notice.clone().expect("reported");
    assert!(notice.contains("broken.ipynb") && notice.contains("line 3"), "{notice}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn unsaved_work_is_autosaved_and_offered_back_after_a_crash() {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, "precious = 42");
    let home = {
        // Autosave runs within a few seconds of a change.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            w.harness.step();
            if !manifests(&w.app().dirs().data).is_empty() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "nothing was autosaved");
            std::thread::sleep(Duration::from_millis(50));
        }
        w.crash()
    };
    let mut w = Window::open_in(home);
    w.harness.run_steps(2);
    w.harness.get_by_label_contains("did not exit cleanly");
    w.click("Restore");
    w.wait_for_files();
    let session = &w.app().sessions[0];
    assert_eq!(session.nth_cell(0).unwrap().code, "precious = 42");
    assert!(session.is_dirty(), "restored work is still unsaved");
}

#[test]
fn the_sessions_open_at_exit_come_back_disconnected() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.click("Connect");
    w.wait_until("connected", |app| app.sessions[0].status() == Status::Idle);
    let home = w.exit();
    let mut w = Window::open_in(home);
    w.harness.run_steps(2);
    assert_eq!(w.app().sessions.len(), 1);
    let session = &w.app().sessions[0];
    assert_eq!(session.file.as_deref(), Some(path.as_path()));
    assert_eq!(session.status(), Status::Disconnected);
}

#[test]
fn closing_with_unsaved_changes_asks_save_discard_or_cancel() {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, "draft = True");
    w.request_close();
    w.harness.get_by_label("Save changes before closing?");
    w.click("Cancel");
    assert!(w.harness.query_by_label("Save changes before closing?").is_none());
    assert!(!w.app().is_closing(), "cancel keeps the window open");
    w.request_close();
    w.click("Discard");
    assert!(w.app().is_closing());
}

#[test]
fn a_file_changed_on_disk_reloads_when_there_are_no_local_changes_and_asks_otherwise() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(2);
    std::thread::sleep(Duration::from_millis(20));
    let changed = NOTEBOOK.replace("total * 2", "total * 3");
    std::fs::write(&path, &changed).unwrap();
    w.refocus();
    assert_eq!(w.app().sessions[0].nth_cell(1).unwrap().code, "total * 3", "reloaded");

    w.type_code_append(2, " # mine");
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&path, NOTEBOOK.replace("total * 2", "total * 4")).unwrap();
    w.refocus();
    w.harness.get_by_label_contains("changed on disk");
    w.click("Keep mine");
    assert_eq!(w.app().sessions[0].nth_cell(1).unwrap().code, "total * 3 # mine");
}

/// The autosave manifests (one per autosaved notebook) under a data folder.
fn manifests(data: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(data.join("autosave")) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect()
}

/// Steps the window until its unsaved work is autosaved (within seconds).
fn wait_for_autosave(w: &mut Window) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while manifests(&w.app().dirs().data).is_empty() {
        assert!(Instant::now() < deadline, "nothing was autosaved");
        w.harness.step();
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn save_over_a_read_only_notebook_is_refused_and_said_so() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    w.harness.run_steps(3);
    w.type_code_append(1, "\n# edited");
    assert!(w.app().sessions[0].is_dirty());
    w.save_shortcut();
    let notice = w.app().notice.clone().expect("the refusal is shown");
    assert!(
        notice.contains("read-only") && notice.contains("sums.ipynb"),
        "{notice}"
    );
    assert!(w.app().sessions[0].is_dirty(), "still unsaved");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        NOTEBOOK,
        "the file was not replaced"
    );
}

const HELPER_HOME: &str = "RUNYARD_TEST_AUTOSAVING_HOME";

/// Not a test by itself: a Runyard window in another process, with unsaved
/// work autosaved, that the test below SIGKILLs.
#[test]
#[ignore = "a helper process for autosaves_of_a_live_runyard_are_not_offered_and_those_of_a_killed_one_are"]
fn helper_autosaving_window() {
    let Some(parent) = std::env::var_os(HELPER_HOME) else {
        return;
    };
    let mut w = Window::open_in(tempfile::tempdir_in(parent).unwrap());
    w.click("New Python session");
    w.type_code(1, "from_the_killed_one = 1");
    wait_for_autosave(&mut w);
    println!("\nHOME={}", w.app().dirs().data.parent().unwrap().display());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn autosaves_of_a_live_runyard_are_not_offered_and_those_of_a_killed_one_are() {
    use std::io::BufRead;
    let parent = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_autosaving_window",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_HOME, parent.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Libtest's own lines come first; then the helper names its home.
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let home = loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("HOME=") => break PathBuf::from(&line[5..]),
            Some(Ok(_)) => continue,
            other => {
                let _ = child.kill();
                panic!("the helper window ended before autosaving: {other:?}");
            }
        }
    };
    let dirs = runyard::settings::Dirs::under(&home);
    assert_eq!(manifests(&dirs.data).len(), 1);

    // Alive: its autosave is its own, not offered to another window.
    let live = runyard::app::RunyardApp::orphaned_autosaves(&dirs);
    assert_eq!(live, Vec::<PathBuf>::new(), "a live Runyard's autosave was offered");
    // Another Runyard started meanwhile (this process) leaves it alone too.
    let other = tempfile::tempdir_in(parent.path()).unwrap();
    let mut w = Window::open_in(other);
    w.harness.run_steps(2);
    assert!(runyard::app::RunyardApp::orphaned_autosaves(&dirs).is_empty());
    drop(w);

    child.kill().unwrap(); // SIGKILL: no exit hook, no cleanup
    child.wait().unwrap();
    drop(lines);
    let orphans = runyard::app::RunyardApp::orphaned_autosaves(&dirs);
    assert_eq!(
        orphans,
        manifests(&dirs.data),
        "the killed Runyard's autosave is offered"
    );
    assert_eq!(orphans.len(), 1);
}

/// What the other user manages to list or open among `paths`; prints them.
const PROBE: &str = r#"
import os, sys
for p in sys.argv[1:]:
    try:
        if os.path.isdir(p):
            os.listdir(p)
        else:
            with open(p, "rb") as f:
                f.read(1)
        print(p)
    except OSError:
        pass
"#;

const COOKIE: &str = "cookie-9f2c41d7e6ab53-not-for-files";

/// Turns session 0 into an attached Elixir session with [`COOKIE`], edits
/// it and waits for its autosave, remembers the open sessions (as at exit)
/// and crashes, so that every file Runyard writes is there.
fn attached_session_autosaved_and_remembered(
    home: tempfile::TempDir,
    notebook: &Path,
) -> (tempfile::TempDir, Option<String>) {
    let mut w = Window::open_with(home, vec![notebook.to_path_buf()]);
    w.harness.run_steps(3);
    w.harness.state_mut().sessions[0].config = runyard::RuntimeConfig::elixir_attached("probe@localhost", COOKIE);
    w.type_code_append(1, "\n# edited");
    wait_for_autosave(&mut w);
    // The cookie was stored (off the UI thread) before the manifest was
    // written; a frame takes the report.
    w.harness.run_steps(2);
    w.harness.state_mut().remember_sessions();
    let notice = w.app().notice.clone();
    (w.crash(), notice)
}

/// Every file under `root` (as root sees it), folders included.
fn everything_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            found.push(path);
        }
    }
    found
}

fn files_containing(root: &Path, needle: &str) -> Vec<PathBuf> {
    everything_under(root)
        .into_iter()
        .filter(|p| p.is_file() && String::from_utf8_lossy(&std::fs::read(p).unwrap()).contains(needle))
        .collect()
}

#[test]
fn another_user_can_read_none_of_runyards_files() {
    other_user();
    let files = tempfile::tempdir().unwrap();
    let notebook = write_notebook(files.path());
    let home = tempfile::tempdir().unwrap();
    // Open to all: only Runyard's own modes may protect what is inside.
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (home, _) = attached_session_autosaved_and_remembered(home, &notebook);
    let dirs = runyard::settings::Dirs::under(home.path());
    // The log and the Elixir agent cache, created as the app creates them.
    use std::io::Write;
    writeln!(
        runyard::fsutil::open_private_append(&dirs.log_file()).unwrap(),
        "a log line"
    )
    .unwrap();
    let cache = home.path().join("cache");
    runyard::runtime::elixir::install_agent(&cache).unwrap();

    let all = everything_under(home.path());
    let names: Vec<String> = all
        .iter()
        .map(|p| p.strip_prefix(home.path()).unwrap().display().to_string())
        .collect();
    for expected in [
        "config/settings.json",
        "data/sessions.json",
        "data/logs/runyard.log",
        "data/autosave",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("data/autosave/") && n.ends_with(".json")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with("elixir_agent.ex")), "{names:?}");

    let mut args = vec!["-c", PROBE];
    let paths: Vec<String> = all.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let out = run_as_other("python3", &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read = String::from_utf8_lossy(&out.stdout);
    assert!(read.trim().is_empty(), "the other user could read:\n{read}");

    for dir in [
        &dirs.config,
        &dirs.data,
        &cache,
        &dirs.data.join("autosave"),
        &dirs.data.join("logs"),
    ] {
        let mode = std::fs::metadata(dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }
    for file in all.iter().filter(|p| p.is_file() && !p.starts_with(&cache)) {
        let mode = std::fs::metadata(file).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

const COOKIE_HOME: &str = "RUNYARD_TEST_COOKIE_HOME";
const EXPECT_STORE: &str = "RUNYARD_TEST_EXPECT_STORE";

/// Not a test by itself: the attached-cookie scenario, run in a child
/// process whose environment decides whether a secret store exists.
#[test]
#[ignore = "a helper process for the two cookie tests below"]
fn helper_attached_cookie() {
    let (Some(parent), Ok(expect)) = (std::env::var_os(COOKIE_HOME), std::env::var(EXPECT_STORE)) else {
        return;
    };
    let files = tempfile::tempdir_in(&parent).unwrap();
    let notebook = write_notebook(files.path());
    let home = tempfile::tempdir_in(&parent).unwrap();
    let dirs = runyard::settings::Dirs::under(home.path());
    let (home, notice) = attached_session_autosaved_and_remembered(home, &notebook);
    let secrets = dirs.data.join("secrets.json");
    let holding = files_containing(home.path(), COOKIE);
    match expect.as_str() {
        "file" => {
            assert_eq!(
                holding,
                vec![secrets.clone()],
                "only the fallback file holds the cookie"
            );
            assert_eq!(std::fs::metadata(&secrets).unwrap().mode() & 0o777, 0o600);
            let notice = notice.expect("the window says where the cookie is");
            assert!(
                notice.contains(&secrets.display().to_string()) && notice.contains("0600"),
                "{notice}"
            );
        }
        "platform" => {
            assert_eq!(holding, Vec::<PathBuf>::new(), "the cookie is in no file");
            assert!(!secrets.exists());
            assert!(notice.is_none(), "{notice:?}");
        }
        other => panic!("{EXPECT_STORE}={other}"),
    }
    // The cookie comes back with the session at the next start.
    let w = Window::open_in(home);
    let restored: Vec<String> = w
        .app()
        .sessions
        .iter()
        .filter_map(|s| match &s.config.kind {
            runyard::runtime::RuntimeKind::ElixirAttached(a) => Some(a.cookie.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(restored, vec![COOKIE.to_string()]);
    println!("helper passed");
}

fn run_cookie_helper(command: &mut Command, expect: &str) {
    let parent = tempfile::tempdir().unwrap();
    let out = command
        .args([
            "--exact",
            "helper_attached_cookie",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(COOKIE_HOME, parent.path())
        .env(EXPECT_STORE, expect)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("helper passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_a_secret_store_the_cookie_is_kept_in_one_private_file_and_said_so() {
    // No session bus at all: the Secret Service cannot be reached.
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove(runyard::secrets::STORE_ENV);
    run_cookie_helper(&mut command, "file");
}

#[test]
fn with_a_secret_service_the_cookie_is_in_no_file() {
    // A real Secret Service: gnome-keyring-daemon on a private session bus,
    // with a login keyring of its own under a temporary HOME.
    let keyring_home = tempfile::tempdir().unwrap();
    let runtime_dir = keyring_home.path().join("run");
    std::fs::create_dir(&runtime_dir).unwrap();
    std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let test = std::env::current_exe().unwrap();
    let mut command = Command::new("dbus-run-session");
    command
        .args(["--", "sh", "-c"])
        .arg(
            "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 97; \
             exec \"$@\"",
        )
        .arg("sh")
        .arg(&test)
        .env("HOME", keyring_home.path())
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .env_remove(runyard::secrets::STORE_ENV);
    run_cookie_helper(&mut command, "platform");
    // The keyring's own file holds it encrypted, not in plain text.
    assert_eq!(files_containing(keyring_home.path(), COOKIE), Vec::<PathBuf>::new());
}

#[test]
fn a_slow_save_holds_no_frame_says_saving_and_a_second_save_waits_for_it() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let hooks = runyard::app::TestHooks {
        slow_saves: Duration::from_millis(1500),
        ..Default::default()
    };
    let mut w = Window::open_hooked(tempfile::tempdir().unwrap(), vec![path.clone()], hooks);
    w.type_code_append(2, " + 1");
    w.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    w.harness.step();
    let started = Instant::now();
    let (mut frames, mut saw_saving, mut saved_again) = (0, false, false);
    while w.app().files_busy() {
        let frame = Instant::now();
        w.harness.step();
        assert!(
            frame.elapsed() < Duration::from_millis(500),
            "a frame waited for the save"
        );
        frames += 1;
        saw_saving |= w.harness.query_by_label_contains("Saving sums.ipynb").is_some();
        assert!(
            w.harness.query_by_label_contains("Saving 2 notebooks").is_none(),
            "two saves of one file ran at once"
        );
        // Never half a file: the old one until the rename, then the new one.
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert!(on_disk == NOTEBOOK || notebook::open(&path).is_ok(), "{on_disk}");
        if !saved_again && started.elapsed() > Duration::from_millis(300) {
            // An edit and a second save while the first is being written.
            w.type_code_append(2, " + 2");
            w.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
            saved_again = true;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the save never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        started.elapsed() >= Duration::from_millis(3000),
        "both saves ran, one after the other"
    );
    assert!(frames >= 20, "only {frames} frames while saving");
    assert!(saw_saving, "no \"Saving…\" was shown");
    w.harness.run_steps(2);
    assert!(w.harness.query_by_label_contains("Saving").is_none());
    assert!(!w.app().sessions[0].is_dirty());
    let saved = notebook::open(&path).unwrap();
    assert_eq!(saved.cells().nth(1).unwrap().source, "total * 2 + 1 + 2");
}

/// A menu item's label has its shortcut after its name.
fn click_menu_item(w: &mut Window, name: &str) {
    w.harness.get_by_label_contains(name).click();
    w.harness.run_steps(2);
}

/// Replaces the text of the path field (shown where no file dialog can open).
fn type_path(w: &mut Window, path: &Path) {
    let field = || {
        egui_kittest::kittest::by()
            .label("Path")
            .role(egui::accesskit::Role::TextInput)
    };
    w.harness.get(field()).focus();
    w.harness.step();
    w.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    w.harness.step();
    w.harness.get(field()).type_text(&path.display().to_string());
    w.harness.run_steps(2);
}

fn without_dialogs() -> runyard::app::TestHooks {
    runyard::app::TestHooks {
        no_file_dialogs: true,
        ..Default::default()
    }
}

#[test]
fn where_no_file_dialog_can_open_save_as_and_open_take_a_typed_path() {
    let files = tempfile::tempdir().unwrap();
    let mut w = Window::open_hooked(tempfile::tempdir().unwrap(), Vec::new(), without_dialogs());
    w.click("New Python session");
    w.type_code(1, "typed = 1");
    w.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    w.harness.run_steps(2);
    w.harness.get_by_label_contains("No file dialog can open here");
    let target = files.path().join("typed.ipynb");
    type_path(&mut w, &target);
    w.click("Save");
    w.wait_for_files();
    let session = &w.app().sessions[0];
    assert_eq!(session.file.as_deref(), Some(target.as_path()));
    assert_eq!(session.name, "typed");
    assert!(!session.is_dirty());
    let saved = notebook::open(&target).unwrap();
    assert_eq!(saved.cells().next().unwrap().source, "typed = 1");

    let other = tempfile::tempdir().unwrap();
    let sums = write_notebook(other.path());
    w.click("File");
    click_menu_item(&mut w, "Open…");
    w.harness.get_by_label_contains("No file dialog can open here");
    type_path(&mut w, &sums);
    w.click("Open");
    w.wait_for_files();
    assert_eq!(w.app().sessions.len(), 2);
    let opened = w.app().session(w.app().selected.unwrap()).unwrap();
    assert_eq!(opened.file.as_deref(), Some(sums.as_path()));
    assert!(
        w.harness.query_by_label_contains("No file dialog").is_none(),
        "the field is gone"
    );
}

#[test]
fn save_at_close_closes_once_the_background_save_is_done() {
    let files = tempfile::tempdir().unwrap();
    let hooks = runyard::app::TestHooks {
        slow_saves: Duration::from_millis(500),
        ..without_dialogs()
    };
    let mut w = Window::open_hooked(tempfile::tempdir().unwrap(), Vec::new(), hooks);
    w.click("New Python session");
    w.type_code(1, "kept = True");
    w.request_close();
    w.click("Save");
    let target = files.path().join("kept.ipynb");
    type_path(&mut w, &target);
    w.click("Save");
    assert!(!w.app().is_closing(), "closed before the save was written");
    w.wait_until("closing", |app| app.is_closing());
    assert!(!w.app().sessions[0].is_dirty());
    assert_eq!(
        notebook::open(&target).unwrap().cells().next().unwrap().source,
        "kept = True"
    );
}

/// Steps `n` frames and returns the window titles they sent.
fn titles_sent(w: &mut Window, n: usize) -> Vec<String> {
    let mut titles = Vec::new();
    for _ in 0..n {
        w.harness.step();
        let root = &w.harness.output().viewport_output[&egui::ViewportId::ROOT];
        titles.extend(root.commands.iter().filter_map(|c| match c {
            egui::ViewportCommand::Title(t) => Some(t.clone()),
            _ => None,
        }));
    }
    titles
}

#[test]
fn the_window_title_names_the_notebook_and_marks_unsaved_changes_only_when_it_changes() {
    let files = tempfile::tempdir().unwrap();
    let path = write_notebook(files.path());
    let mut w = Window::open_with(tempfile::tempdir().unwrap(), vec![path.clone()]);
    assert_eq!(w.app().window_title(), "sums.ipynb — Runyard");
    assert_eq!(
        titles_sent(&mut w, 3),
        Vec::<String>::new(),
        "sent once, not every frame"
    );
    w.type_code_append(2, " + 1");
    assert_eq!(w.app().window_title(), "sums.ipynb • — Runyard");
    w.save_shortcut();
    let titles = titles_sent(&mut w, 3);
    assert!(titles.is_empty() || titles == ["sums.ipynb — Runyard"], "{titles:?}");
    assert_eq!(w.app().window_title(), "sums.ipynb — Runyard");
    // An edit: the mark is sent in the next frame, once.
    w.harness.state_mut().sessions[0].set_title("Sums, edited".into());
    assert_eq!(titles_sent(&mut w, 3), ["sums.ipynb • — Runyard"]);
}

#[test]
fn quit_goes_through_the_close_flow() {
    let mut w = Window::open();
    w.click("New Python session");
    w.type_code(1, "draft = True");
    w.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Q);
    w.harness.run_steps(2);
    w.harness.get_by_label("Save changes before closing?");
    w.click("Cancel");
    assert!(!w.app().is_closing());
    w.click("File");
    click_menu_item(&mut w, "Quit");
    w.click("Discard");
    assert!(w.app().is_closing());

    // Nothing unsaved: Quit closes at once.
    let mut w = Window::open();
    w.click("New Python session");
    w.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Q);
    w.harness.run_steps(2);
    assert!(w.harness.query_by_label("Save changes before closing?").is_none());
    assert!(w.app().is_closing());
}
