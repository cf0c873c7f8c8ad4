//! The window and the runtimes found on this computer: a notebook whose
//! kernel is not installed says so and starts nothing; choosing a runtime
//! in its settings is remembered in the file.

mod common;

use common::window::Window;
use egui_kittest::kittest::Queryable;
use runyard::app::TestHooks;
use runyard::kernels::Inputs;
use runyard::session::{BannerKind, Status};

const R_NOTEBOOK: &str = r##"{
 "cells": [
  {"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [], "source": ["1 + 1"]}
 ],
 "metadata": {
  "kernelspec": {"display_name": "R", "language": "R", "name": "ir"},
  "language_info": {"name": "R", "version": "4.3.1"},
  "custom": {"kept": true}
 },
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

/// Runtimes are looked for only in `root` (no system kernels, no PATH).
fn hooks(root: &std::path::Path) -> TestHooks {
    TestHooks {
        discovery: Some(Inputs {
            home: Some(root.join("home")),
            jupyter_data_dir: Some(root.join("jupyter")),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn a_notebook_whose_kernel_is_not_installed_says_so_and_starts_nothing() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("analysis.ipynb");
    std::fs::write(&path, R_NOTEBOOK).unwrap();
    let mut w = Window::open_hooked(tempfile::tempdir().unwrap(), vec![path.clone()], hooks(files.path()));
    w.wait_until("the notebook to open", |app| !app.sessions.is_empty());
    let banner = w.app().sessions[0].banner.clone().expect("a banner");
    assert_eq!(banner.kind, BannerKind::NoRuntime);
    assert!(
        banner.message.contains("Kernel 'ir' is not installed here"),
        "{}",
        banner.message
    );
    w.harness.get_by_label(&banner.message);

    // Evaluating starts no runtime of another language.
    w.harness.get_by_label("Connect").click();
    w.harness.run_steps(3);
    assert_eq!(w.status(), Status::Disconnected);
    assert_eq!(
        w.app().sessions[0].banner.as_ref().map(|b| b.kind),
        Some(BannerKind::NoRuntime)
    );

    // The banner offers the choices: the runtime settings.
    w.click("Choose a runtime…");
    w.harness.get_by_label("Runtime settings");
}

#[test]
fn a_kernel_found_in_the_data_dir_is_picked_by_name() {
    let files = tempfile::tempdir().unwrap();
    let spec = files.path().join("jupyter/kernels/ir");
    std::fs::create_dir_all(&spec).unwrap();
    std::fs::write(
        spec.join("kernel.json"),
        r#"{"argv": ["/bin/sh", "{connection_file}"], "display_name": "R", "language": "R"}"#,
    )
    .unwrap();
    let path = files.path().join("analysis.ipynb");
    std::fs::write(&path, R_NOTEBOOK).unwrap();
    let mut w = Window::open_hooked(tempfile::tempdir().unwrap(), vec![path], hooks(files.path()));
    w.wait_until("the notebook to open", |app| !app.sessions.is_empty());
    let session = &w.app().sessions[0];
    assert!(session.banner.is_none(), "{:?}", session.banner);
    assert_eq!(session.config.kind_label(), "Jupyter kernel");
    assert_eq!(session.config.language(), "r");
}
