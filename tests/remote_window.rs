//! The window and remote runtimes, with no server: choosing an SSH host
//! suggested by an SSH config, a Slurm job's fields, a notebook that
//! remembers its host, and a pending job's line with its Cancel button.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::window::Window;
use egui_kittest::kittest::{Queryable, by};
use runyard::RuntimeConfig;
use runyard::app::TestHooks;
use runyard::manager::Event;
use runyard::remote::{JobInfo, Place, SlurmJob, SshTarget};
use runyard::session::{RuntimeState, Status};

/// A home whose `.ssh/config` names hosts (and a pattern, not offered).
fn ssh_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/config"),
        "Host gpu-box\n  HostName 10.0.0.2\n  User me\nHost login1\n  HostName login1.cluster.example.org\nHost *.internal\n  User x\n",
    )
    .unwrap();
    home
}

fn hooks(ssh_home: &Path) -> TestHooks {
    TestHooks {
        ssh_home: Some(ssh_home.to_path_buf()),
        // No scan of this computer's environments: not what is tested here.
        discovery: Some(runyard::kernels::Inputs {
            home: Some(ssh_home.to_path_buf()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn open(ssh_home: &Path, files: Vec<PathBuf>) -> Window {
    Window::open_hooked(tempfile::tempdir().unwrap(), files, hooks(ssh_home))
}

/// Types `text` into the empty field whose hint is `hint`.
fn fill(w: &mut Window, hint: &'static str, text: &str) {
    w.harness
        .get(by().predicate(move |node| node.placeholder() == Some(hint)))
        .focus();
    w.harness.step();
    w.harness
        .get(by().predicate(move |node| node.placeholder() == Some(hint)))
        .type_text(text);
    w.harness.step();
}

fn wait_for_suggestions(w: &mut Window) {
    w.wait_until("the SSH config's hosts", |app| {
        app.ssh_host_suggestions().is_some_and(|h| !h.hosts.is_empty())
    });
}

#[test]
fn a_host_suggested_by_the_ssh_config_becomes_the_sessions_place() {
    let home = ssh_home();
    let mut w = open(home.path(), Vec::new());
    w.click("New Python session");
    w.click("Configure…");
    w.click("SSH host");
    wait_for_suggestions(&mut w);
    // The config's hosts are offered with what the config says of them; a pattern is not.
    w.harness.get_by_label("me@10.0.0.2");
    w.harness.get_by_label("login1");
    assert!(w.harness.query_by_label("*.internal").is_none());
    w.click("gpu-box");
    w.click("Apply");
    let config = &w.app().sessions[0].config;
    assert_eq!(config.place, Place::Ssh(SshTarget::new("gpu-box")));
    assert_eq!(config.executable(), "python3", "the host's default interpreter");
    // The runtime panel says where it runs and whose pid it will show.
    w.harness.get_by_label("Runs on");
    w.harness.get_by_label("Remote interpreter");
    w.harness.get_by_label("Remote PID");
    assert!(w.app().sessions[0].is_dirty(), "the notebook will remember the host");
}

#[test]
fn a_new_slurm_session_keeps_every_field_in_its_job() {
    let home = ssh_home();
    let mut w = open(home.path(), Vec::new());
    w.click_first("New session on an SSH host or Slurm…");
    w.harness.get_by_label("Runtime settings");
    w.click("Slurm");
    w.click("a login host");
    wait_for_suggestions(&mut w);
    w.click("login1");
    fill(&mut w, "the cluster's default", "gpu");
    fill(&mut w, "e.g. 1:00:00", "2:00:00");
    fill(&mut w, "e.g. 4", "8");
    fill(&mut w, "e.g. 16G", "32G");
    fill(&mut w, "e.g. gpu:1", "gpu:a100:1");
    fill(&mut w, "your default", "proj42");
    fill(
        &mut w,
        "e.g. --qos=high --constraint=a100",
        "--qos=high --comment 'two words'",
    );
    fill(&mut w, "no limit; e.g. 10m", "10m");
    w.click("Apply");
    assert!(
        w.harness.query_by_label("Runtime settings").is_none(),
        "applied and closed"
    );
    let Place::Slurm(job) = &w.app().sessions[0].config.place else {
        panic!("{:?}", w.app().sessions[0].config.place)
    };
    assert_eq!(
        *job,
        SlurmJob {
            login: Some(SshTarget::new("login1")),
            partition: "gpu".into(),
            time_limit: "2:00:00".into(),
            cpus: Some(8),
            memory: "32G".into(),
            gpus: "gpu:a100:1".into(),
            account: "proj42".into(),
            extra_args: vec!["--qos=high".into(), "--comment".into(), "two words".into()],
            pending_timeout: Some(Duration::from_secs(600)),
        }
    );
    w.harness.get_by_label("Slurm via login1");
}

#[test]
fn a_slurm_field_that_cannot_work_is_refused_in_the_dialog() {
    let home = ssh_home();
    let mut w = open(home.path(), Vec::new());
    w.click_first("New session on an SSH host or Slurm…");
    w.click("Slurm");
    fill(&mut w, "the cluster's default", "debug --uid=0");
    w.click("Apply");
    w.harness
        .get_by_label("The Slurm partition \"debug --uid=0\" is not a single word");
    assert_eq!(w.app().sessions[0].config.place, Place::Local, "nothing was applied");
}

#[test]
fn a_notebook_reopens_on_the_host_it_remembers_and_a_malformed_place_runs_here() {
    let home = ssh_home();
    let dir = tempfile::tempdir().unwrap();
    let notebook = |runyard: &str| {
        format!(
            r#"{{"cells": [{{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {{}}, "outputs": [], "source": ["1 + 1"]}}],
 "metadata": {{"runyard": {runyard}, "kernelspec": {{"name": "python3", "language": "python", "display_name": "Python 3"}}}},
 "nbformat": 4, "nbformat_minor": 5}}"#
        )
    };
    let remembered = dir.path().join("remote.ipynb");
    std::fs::write(
        &remembered,
        notebook(r#"{"place": {"on": "ssh", "host": "gpu-box", "keepalive_secs": 15}, "remote_python": "python3.12"}"#),
    )
    .unwrap();
    let malformed = dir.path().join("malformed.ipynb");
    std::fs::write(&malformed, notebook(r#"{"place": {"on": "ssh", "host": ["gpu-box"]}}"#)).unwrap();

    let mut w = open(home.path(), vec![remembered, malformed.clone()]);
    w.wait_until("both notebooks", |app| app.sessions.len() == 2);
    let config = &w.app().sessions[0].config;
    assert_eq!(
        config.place,
        Place::Ssh(SshTarget {
            keepalive_secs: 15,
            ..SshTarget::new("gpu-box")
        })
    );
    assert_eq!(config.executable(), "python3.12");
    assert_eq!(w.app().sessions[1].config.place, Place::Local);
    let notice = w.app().notice.clone().expect("a warning");
    assert!(notice.contains(&malformed.display().to_string()), "{notice}");
    assert!(notice.contains("remembered runtime place"), "{notice}");
    assert!(notice.contains("it runs on this computer"), "{notice}");

    // Its settings offer the same host again.
    let first = w.app().sessions[0].id;
    w.harness.state_mut().selected = Some(first);
    w.harness.run_steps(2);
    w.click("Configure…");
    w.harness.get(
        by().role(egui::accesskit::Role::TextInput)
            .predicate(|node| node.value().as_deref() == Some("gpu-box")),
    );
    w.harness.get(
        by().role(egui::accesskit::Role::TextInput)
            .predicate(|node| node.value().as_deref() == Some("python3.12")),
    );
}

/// A runtime that never says hello: the session stays starting, as while a
/// Slurm job waits (the job's events are the manager's; here they are
/// applied by hand).
fn silent_interpreter(dir: &Path) -> PathBuf {
    let path = dir.join("never-ready");
    std::fs::write(&path, "#!/bin/sh\nexec sleep 60\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_pending_job_shows_why_and_how_long_and_cancel_disconnects() {
    let home = ssh_home();
    let dir = tempfile::tempdir().unwrap();
    let mut w = open(home.path(), Vec::new());
    w.click("New Python session");
    w.harness.state_mut().sessions[0].config = RuntimeConfig::python()
        .with_executable(silent_interpreter(dir.path()).display().to_string())
        .with_init_timeout(Duration::from_secs(60));
    w.click("Connect");
    w.wait_until("the runtime to start", |app| {
        matches!(app.sessions[0].runtime, RuntimeState::Starting { pid: Some(_), .. })
    });
    let session = w.app().sessions[0].id;
    let job = JobInfo {
        id: "123".into(),
        state: "PENDING".into(),
        reason: "Resources".into(),
        partition: "gpu".into(),
        elapsed: Duration::from_secs(42),
        ..Default::default()
    };
    w.harness.state_mut().sessions[0].apply(&Event::Job { session, job });
    w.harness.run_steps(2);
    w.harness.get_by_label("Slurm job 123 pending: Resources — waited 0:42");
    w.click("Cancel");
    w.wait_until("the runtime to be disconnected", |app| {
        app.sessions[0].status() == Status::Disconnected
    });
    assert!(w.harness.query_by_label_contains("pending").is_none());
    assert!(w.app().sessions[0].banner.is_none(), "a cancel is no failure");
}
