//! Shared helpers for tests that drive the real manager with real runtimes.
#![allow(dead_code)]

pub mod elixir;
pub mod other_user;
pub mod slurm;
pub mod sshd;
pub mod window;

use std::collections::VecDeque;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use runyard::manager::NodeInfo;
use runyard::protocol::{DisplayOptions, Stream};
use runyard::{Evaluation, Event, Manager, Outcome, RuntimeConfig, SessionId};

/// Generous: tests assert behaviour, never speed.
pub const WAIT: Duration = Duration::from_secs(30);

/// The interpreter tests use: `RUNYARD_TEST_PYTHON`, else `python3` from PATH.
pub fn python_config() -> RuntimeConfig {
    let mut config = RuntimeConfig::python();
    if let Ok(python) = std::env::var("RUNYARD_TEST_PYTHON") {
        config = config.with_executable(python);
    }
    config
}

/// The test venv's interpreter (`$RUNYARD_TEST_VENV/bin/python`, which has
/// matplotlib, pandas, pillow and IPython), for the rich-output tests.
pub fn rich_python_config() -> RuntimeConfig {
    RuntimeConfig::python().with_executable(test_venv_python().to_string_lossy().into_owned())
}

/// The test venv's interpreter (`RUNYARD_TEST_VENV`, with matplotlib,
/// pandas, Pillow, IPython and ipykernel); a clear failure when it is missing.
pub fn test_venv_python() -> PathBuf {
    const HINT: &str = "scripts/test makes it (a venv under target/ with tests/requirements.txt) and sets \
         RUNYARD_TEST_VENV; by hand: python3 -m venv target/test-venv && \
         target/test-venv/bin/python -m pip install -r tests/requirements.txt";
    let Some(venv) = std::env::var_os("RUNYARD_TEST_VENV").filter(|v| !v.is_empty()) else {
        panic!("RUNYARD_TEST_VENV is not set: these tests run on the test venv's python; {HINT}");
    };
    let python = PathBuf::from(venv).join("bin/python");
    assert!(python.exists(), "{} does not exist; {HINT}", python.display());
    python
}

/// A manager plus the events that earlier waits passed over.
pub struct Harness {
    pub manager: Manager,
    backlog: VecDeque<Event>,
}

/// What one evaluation produced.
#[derive(Debug)]
pub struct Evaluated {
    pub outcome: Outcome,
    pub stdout: String,
    pub stderr: String,
    /// Text and displays in the order they came.
    pub items: Vec<Item>,
}

/// One piece of an evaluation's output.
#[derive(Debug, Clone)]
pub enum Item {
    Text(Stream, String),
    Display {
        bundle: std::sync::Arc<runyard::protocol::Bundle>,
        display_id: Option<String>,
        update: bool,
    },
}

impl Evaluated {
    /// The displays, in order: bundle, display id, update.
    pub fn displays(&self) -> Vec<(runyard::protocol::Bundle, Option<String>, bool)> {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Display {
                    bundle,
                    display_id,
                    update,
                } => Some(((**bundle).clone(), display_id.clone(), *update)),
                Item::Text(..) => None,
            })
            .collect()
    }

    /// The value's `text/plain`.
    pub fn value(&self) -> Option<&str> {
        self.value_bundle()?.data.get("text/plain")?.as_str()
    }

    pub fn value_bundle(&self) -> Option<&runyard::protocol::Bundle> {
        match &self.outcome {
            Outcome::Ok { value } => value.as_ref(),
            other => panic!(
                "expected success, got {other:?} (stdout {:?}, stderr {:?})",
                self.stdout, self.stderr
            ),
        }
    }

    pub fn error(&self) -> &runyard::protocol::EvalError {
        match &self.outcome {
            Outcome::Error(error) => error,
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness {
            manager: Manager::start_headless().expect("manager starts"),
            backlog: VecDeque::new(),
        }
    }

    /// Waits for the first event (from the backlog or new) that `pick` accepts.
    pub fn wait_for<T>(&mut self, what: &str, pick: impl FnMut(&Event) -> Option<T>) -> T {
        self.wait_for_within(what, WAIT, pick)
    }

    /// [`Harness::wait_for`] with another limit, for what takes long by nature.
    pub fn wait_for_within<T>(&mut self, what: &str, within: Duration, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        if let Some(pos) = self.backlog.iter().position(|e| pick(e).is_some()) {
            let event = self.backlog.remove(pos).unwrap();
            return pick(&event).unwrap();
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(event) = self.manager.recv_timeout(left) else {
                panic!("timed out waiting for {what}; passed over: {:#?}", self.backlog);
            };
            if let Some(found) = pick(&event) {
                return found;
            }
            self.backlog.push_back(event);
        }
    }

    /// Events received so far (and within `quiet`) that match, removed from the backlog.
    pub fn drain_matching(&mut self, quiet: Duration, pick: impl Fn(&Event) -> bool) -> Vec<Event> {
        while let Some(event) = self.manager.recv_timeout(quiet) {
            self.backlog.push_back(event);
        }
        let (found, rest): (Vec<_>, Vec<_>) = self.backlog.drain(..).partition(|e| pick(e));
        self.backlog = rest.into();
        found
    }

    pub fn connect(&mut self, session: SessionId, config: RuntimeConfig) -> NodeInfo {
        self.manager.connect(session, config);
        self.wait_connected(session)
    }

    pub fn wait_connected(&mut self, session: SessionId) -> NodeInfo {
        self.wait_for("connected", |e| match e {
            Event::Connected { session: s, info } if *s == session => Some(info.clone()),
            Event::InitFailed { session: s, error, .. } if *s == session => panic!("init failed: {error}"),
            _ => None,
        })
    }

    pub fn wait_init_failed(&mut self, session: SessionId) -> runyard::InitError {
        self.wait_for("init failed", |e| match e {
            Event::InitFailed { session: s, error, .. } if *s == session => Some(error.clone()),
            Event::Connected { session: s, .. } if *s == session => panic!("connected, expected a failure"),
            _ => None,
        })
    }

    /// Sends an evaluation and returns at once.
    pub fn submit(&self, session: SessionId, container: &str, evaluation_ref: &str, prev: Option<&str>, code: &str) {
        self.submit_in(session, container, evaluation_ref, prev, code, None);
    }

    /// [`Harness::submit`] with display options (None: the agent's defaults).
    pub fn submit_in(
        &self,
        session: SessionId,
        container: &str,
        evaluation_ref: &str,
        prev: Option<&str>,
        code: &str,
        options: Option<DisplayOptions>,
    ) {
        self.manager.evaluate(
            session,
            Evaluation {
                container: container.into(),
                evaluation_ref: evaluation_ref.into(),
                prev_evaluation_ref: prev.map(Into::into),
                prev_container: None,
                code: code.into(),
                file: format!("cell {evaluation_ref}"),
                options,
            },
        );
    }

    /// Sends an evaluation in `main` with display options and returns at once.
    pub fn submit_with(
        &self,
        session: SessionId,
        evaluation_ref: &str,
        prev: Option<&str>,
        code: &str,
        options: DisplayOptions,
    ) {
        self.submit_in(session, "main", evaluation_ref, prev, code, Some(options));
    }

    /// Waits for an evaluation to finish, collecting its output.
    pub fn finish(&mut self, session: SessionId, evaluation_ref: &str) -> Evaluated {
        let outcome = self.wait_for(&format!("evaluation {evaluation_ref}"), |e| match e {
            Event::EvaluationFinished {
                session: s,
                evaluation_ref: r,
                outcome,
                ..
            } if *s == session && r == evaluation_ref => Some(outcome.clone()),
            _ => None,
        });
        let mut stdout = String::new();
        let mut stderr = String::new();
        let mut items = Vec::new();
        let outputs = self.drain_matching(Duration::ZERO, |e| match e {
            Event::Output {
                session: s,
                evaluation_ref: Some(r),
                ..
            }
            | Event::Display {
                session: s,
                evaluation_ref: Some(r),
                ..
            } => *s == session && r == evaluation_ref,
            _ => false,
        });
        for event in outputs {
            match event {
                Event::Output { stream, text, .. } => {
                    match stream {
                        Stream::Stdout => stdout.push_str(&text),
                        Stream::Stderr => stderr.push_str(&text),
                    }
                    items.push(Item::Text(stream, text));
                }
                Event::Display {
                    bundle,
                    display_id,
                    update,
                    ..
                } => items.push(Item::Display {
                    bundle,
                    display_id,
                    update,
                }),
                _ => {}
            }
        }
        Evaluated {
            outcome,
            stdout,
            stderr,
            items,
        }
    }

    pub fn eval(&mut self, session: SessionId, evaluation_ref: &str, prev: Option<&str>, code: &str) -> Evaluated {
        self.submit(session, "main", evaluation_ref, prev, code);
        self.finish(session, evaluation_ref)
    }

    /// [`Harness::eval`] with display options.
    pub fn eval_with(
        &mut self,
        session: SessionId,
        evaluation_ref: &str,
        prev: Option<&str>,
        code: &str,
        options: DisplayOptions,
    ) -> Evaluated {
        self.submit_with(session, evaluation_ref, prev, code, options);
        self.finish(session, evaluation_ref)
    }
}

/// True while `pid` is a live process (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// Waits until none of `pids` is alive; returns those still alive at the deadline.
pub fn wait_gone(pids: &[u32], within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn kill9(pid: u32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
}

/// Writes an executable script (a real program standing in for an
/// interpreter that misbehaves in a way a real one cannot on demand).
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The path of the real python3, for scripts that wrap it.
pub fn real_python() -> String {
    let config = python_config();
    let name = config.executable().to_string();
    let output = std::process::Command::new(&name)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// A shell script that answers the handshake (with `protocol`), then runs `rest`.
pub fn fake_runtime(dir: &Path, protocol: u32, rest: &str) -> PathBuf {
    let body = format!(
        "#!/bin/sh\nfor last; do :; done\n\
         printf '\\036{{\"type\":\"hello\",\"token\":\"%s\",\"protocol\":{protocol},\"pid\":%d,\"language\":\"python\",\"language_version\":\"3\",\"executable\":\"fake\",\"node\":\"fake\"}}\\n' \"$last\" $$\n\
         {rest}\n"
    );
    script(dir, &format!("fake-runtime-{protocol}"), &body)
}

const NBFORMAT_HINT: &str = "scripts/test installs it (a venv under target/, named by RUNYARD_TEST_VENV), \
     or: python3 -m pip install nbformat";

/// The Python with the test tools: the venv `scripts/test` makes
/// (`RUNYARD_TEST_VENV`), else `python3` from PATH. Runtimes under test use
/// [`python_config`] instead, so they run on the system's interpreter.
pub fn jupyter_python() -> PathBuf {
    match std::env::var_os("RUNYARD_TEST_VENV").filter(|v| !v.is_empty()) {
        Some(venv) => PathBuf::from(venv).join("bin/python"),
        None => PathBuf::from("python3"),
    }
}

/// Checks a file with Jupyter's own validator (the `nbformat` package).
pub fn validate_with_jupyter(path: &Path) {
    let python = jupyter_python();
    let import = std::process::Command::new(&python)
        .args(["-c", "import nbformat"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {NBFORMAT_HINT}", python.display()));
    assert!(
        import.status.success(),
        "Jupyter's nbformat package is needed to validate .ipynb output and {} has none; {NBFORMAT_HINT}\n{}",
        python.display(),
        String::from_utf8_lossy(&import.stderr)
    );
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} is not a valid notebook for Jupyter:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts this test binary again to run the ignored test `host` as a
/// separate process hosting a manager (with `env` set), and waits for the
/// pids it prints on a `RUNYARD_PIDS …` line. A host that never reports fails
/// the test instead of hanging it.
pub fn start_host(host: &str, env: &[(&str, &std::ffi::OsStr)]) -> (std::process::Child, Vec<u32>) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", host, "--ignored", "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let line = stdout
            .lines()
            .map_while(Result::ok)
            // libtest may print "test name ... " on the same line first.
            .find_map(|line| line.split_once("RUNYARD_PIDS ").map(|(_, pids)| pids.to_owned()));
        let _ = tx.send(line);
    });
    let Some(reported) = rx.recv_timeout(Duration::from_secs(120)).ok().flatten() else {
        kill9(child.id());
        panic!("the host {host} did not report its pids");
    };
    (child, reported.split(' ').map(|p| p.parse().unwrap()).collect())
}

/// The Python agent started by hand (no manager, no supervisor), its
/// stdin and stdout piped: the test speaks the protocol itself.
pub fn bare_agent(executable: &str) -> std::process::Child {
    std::process::Command::new(executable)
        .args(runyard::runtime::python::agent_args("python-bare", "tok"))
        .env_remove(runyard::runtime::supervisor::CAPTURE_ENV)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs the Python agent on `executable` without Runyard's supervisor (as
/// behind `ssh`, where no output pipes are handed to it), evaluates `code`
/// as `e1`, and returns the messages it sent up to and including the result.
pub fn bare_agent_messages(executable: &str, code: &str) -> Vec<runyard::protocol::FromAgent> {
    use runyard::protocol::{self, Decoded, FrameDecoder, FromAgent, ToAgent};
    use std::io::{Read, Write};

    let mut agent = bare_agent(executable);
    let evaluate = ToAgent::Evaluate {
        container: "main".into(),
        evaluation_ref: "e1".into(),
        prev_evaluation_ref: None,
        prev_container: None,
        code: code.into(),
        file: "cell 1".into(),
        options: None,
        branch: false,
    };
    let mut stdin = agent.stdin.take().unwrap();
    stdin.write_all(&protocol::encode(&evaluate)).unwrap();
    stdin.flush().unwrap();
    let mut stdout = agent.stdout.take().unwrap();
    let mut decoder = FrameDecoder::default();
    let (mut items, mut buf) = (Vec::new(), [0u8; 65536]);
    let mut messages = Vec::new();
    while !matches!(messages.last(), Some(FromAgent::Result { .. })) {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the agent ended before its result; so far {messages:?}");
        decoder.push(&buf[..n], &mut items);
        messages.extend(items.drain(..).filter_map(|item| match item {
            Decoded::Message(
                message @ (FromAgent::Output { .. } | FromAgent::Display { .. } | FromAgent::Result { .. }),
            ) => Some(message),
            _ => None,
        }));
    }
    drop(stdin); // EOF: the agent exits
    agent.wait().unwrap();
    messages
}
