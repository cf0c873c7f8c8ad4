//! Every way a start can fail gives a typed error that names the cause.

mod common;

use std::time::Duration;

use common::*;
use runyard::{Event, InitError, SessionId};

const S: SessionId = SessionId(1);

#[test]
fn a_missing_executable_says_which_name_and_where_it_looked() {
    let mut h = Harness::new();
    h.manager
        .connect(S, python_config().with_executable("runyard-no-such-python"));
    match h.wait_init_failed(S) {
        InitError::ExecutableNotFound { name, searched } => {
            assert_eq!(name, "runyard-no-such-python");
            assert!(!searched.is_empty());
        }
        other => panic!("{other:?}"),
    }
    h.manager
        .connect(S, python_config().with_executable("/no/such/dir/python3"));
    let error = h.wait_init_failed(S);
    assert!(matches!(error, InitError::NoSuchFile { .. }), "{error:?}");
    assert_eq!(error.to_string(), "/no/such/dir/python3 does not exist");
}

#[test]
fn a_file_that_is_not_executable_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("python3");
    std::fs::write(&path, "print('hi')\n").unwrap();
    let mut h = Harness::new();
    h.manager
        .connect(S, python_config().with_executable(path.to_str().unwrap()));
    let error = h.wait_init_failed(S);
    assert!(matches!(error, InitError::NotExecutable { .. }), "{error:?}");
    assert!(error.to_string().ends_with("is not an executable file"));
}

#[test]
fn a_runtime_that_exits_at_once_reports_its_status_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "python3",
        "#!/bin/sh\necho 'line one' >&2\necho 'fatal: no module named encodings' >&2\nexit 3\n",
    );
    let mut h = Harness::new();
    h.manager
        .connect(S, python_config().with_executable(path.to_str().unwrap()));
    match h.wait_init_failed(S) {
        error @ InitError::ExitedEarly { .. } => {
            assert_eq!(
                error.to_string(),
                "the runtime exited with status 3 before it was ready"
            );
            assert_eq!(error.stderr_tail(), Some("line one\nfatal: no module named encodings"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_runtime_that_never_answers_times_out_and_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "python3",
        "#!/bin/sh\necho 'waiting forever' >&2\nexec sleep 1000\n",
    );
    let mut h = Harness::new();
    let config = python_config()
        .with_executable(path.to_str().unwrap())
        .with_init_timeout(Duration::from_millis(500));
    h.manager.connect(S, config);
    let (pid, command) = h.wait_for("starting", |e| match e {
        Event::Starting { pid, command, .. } => Some((*pid, command.clone())),
        _ => None,
    });
    assert!(command.starts_with(path.to_str().unwrap()), "{command}");
    match h.wait_init_failed(S) {
        InitError::Timeout { timeout, stderr_tail } => {
            assert_eq!(timeout, Duration::from_millis(500));
            assert_eq!(stderr_tail, "waiting forever");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        wait_gone(&[pid], Duration::from_secs(5)),
        Vec::<u32>::new(),
        "the silent runtime was killed"
    );
}

#[test]
fn an_incompatible_protocol_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_runtime(dir.path(), 99, "exec sleep 1000");
    let mut h = Harness::new();
    h.manager
        .connect(S, python_config().with_executable(path.to_str().unwrap()));
    let error = h.wait_init_failed(S);
    assert_eq!(
        error,
        InitError::IncompatibleProtocol {
            found: 99,
            expected: runyard::protocol::PROTOCOL_VERSION
        }
    );
}

#[test]
fn a_wrong_token_or_another_message_first_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let wrong_token = script(
        dir.path(),
        "wrong-token",
        &format!(
            "#!/bin/sh\nprintf '\\036{{\"type\":\"hello\",\"token\":\"nope\",\"protocol\":{},\"pid\":1,\"language\":\"python\",\"language_version\":\"3\",\"executable\":\"x\",\"node\":\"x\"}}\\n'\nexec sleep 1000\n",
            runyard::protocol::PROTOCOL_VERSION
        ),
    );
    let output_first = script(
        dir.path(),
        "output-first",
        "#!/bin/sh\nprintf '\\036{\"type\":\"output\",\"ref\":null,\"stream\":\"stdout\",\"text\":\"hi\"}\\n'\nexec sleep 1000\n",
    );
    let mut h = Harness::new();
    for (path, needle) in [(wrong_token, "token"), (output_first, "expected hello first")] {
        h.manager
            .connect(S, python_config().with_executable(path.to_str().unwrap()));
        match h.wait_init_failed(S) {
            InitError::BadHandshake { detail } => assert!(detail.contains(needle), "{detail}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn stray_output_before_hello_does_not_prevent_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let python = real_python();
    // Like a sitecustomize that prints, plus a broken frame.
    let path = script(
        dir.path(),
        "chatty-python",
        &format!("#!/bin/sh\necho 'hello from sitecustomize'\nprintf '\\036{{broken\\n'\nexec {python} \"$@\"\n"),
    );
    let mut h = Harness::new();
    let info = h.connect(S, python_config().with_executable(path.to_str().unwrap()));
    assert_eq!(info.executable, python);
    let stray = h.wait_for("stray output", |e| match e {
        Event::StrayOutput { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(stray, "hello from sitecustomize\n");
    assert_eq!(h.eval(S, "a", None, "6 * 7").value(), Some("42"));
}

#[test]
fn invalid_settings_are_refused_before_anything_starts() {
    let mut h = Harness::new();
    let mut config = python_config();
    config.standalone_mut().cwd = Some("/no/such/dir".into());
    h.manager.connect(S, config);
    let error = h.wait_init_failed(S);
    assert!(matches!(error, InitError::InvalidConfig(_)), "{error:?}");
    assert!(error.to_string().contains("/no/such/dir"));
}
