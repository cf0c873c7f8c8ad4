//! Runtime benchmarks: the "Figures to beat" of docs/design, each measured
//! through the public manager API and printed next to a baseline measured in
//! the same run, with its goal. The last line printed is one JSON object with
//! every figure.
//!
//! ```text
//! cargo bench --bench runtime
//! RUNYARD_BENCH_QUICK=1 cargo bench --bench runtime    # smaller counts, 2 s idle window
//! RUNYARD_BENCH_PYTHON=python3.12 cargo bench --bench runtime
//! RUNYARD_BENCH_ELIXIR=/opt/elixir/bin/elixir cargo bench --bench runtime
//! RUNYARD_BENCH_ONLY=6,7,8,9 cargo bench --bench runtime   # the Elixir figures only
//! ```
//!
//! Figures 1–5 are Python's, 6–9 Elixir's (start, 1+1, SIGKILL → NodeDown,
//! idle). The Elixir agent is cached in a fresh temporary directory for the
//! run (unless `RUNYARD_CACHE_DIR` is set), so the first start shows the cost
//! of compiling it and the others that of the cached agent.
//!
//! Figures 12–14 are a Jupyter kernel's (ipykernel from `RUNYARD_TEST_VENV`,
//! started from a temporary kernelspec): start → ready and → first `1+1`
//! result, the `1+1` round trip, and SIGKILL → NodeDown, each beside
//! jupyter_client driving the same kernel in the same run
//! (`benches/jupyter_baseline.py --only kernel`).
//!
//! Figure 15 is completion on the test venv's python with pandas imported:
//! `Command::Complete` sent → `Event::Completions` received, for `pd.` and
//! `df.` (a DataFrame), p50 and p95 over 50 tries each, beside the `1+1`
//! round trip of the same runtime, interleaved with them.
//!
//! Linux only (reads /proc).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command as Proc, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runyard::manager::CompletionRequest;
use runyard::manager::NodeInfo;
use runyard::protocol::{self, Stream, ToAgent};
use runyard::runtime::elixir::{self, Mode};
use runyard::runtime::python;
use runyard::{Command, Event, Manager, Outcome, RuntimeConfig, SessionId};
use serde_json::{Value, json};

#[path = "common/report.rs"]
mod report;
use report::{Row, median, ms, percentile, print_table, round, us};

#[path = "common/manager.rs"]
mod manager;
use manager::{R, evaluation, kill_and_reap, wait_for};

const EVENT_TIMEOUT: Duration = Duration::from_secs(20);
const PRINT_LINES: u32 = 200_000;

struct Settings {
    quick: bool,
    starts: usize,
    evals: usize,
    eval_warmup: usize,
    print_runs: usize,
    kills: usize,
    idle: Duration,
    /// `RUNYARD_BENCH_ONLY=2,4`: run only these figures (for investigating one).
    only: Option<Vec<u32>>,
}

impl Settings {
    fn wants(&self, figure: u32) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&figure))
    }

    fn from_env() -> Self {
        let only = std::env::var("RUNYARD_BENCH_ONLY")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
        let quick = std::env::var("RUNYARD_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        if quick {
            Settings {
                quick,
                starts: 6,
                evals: 200,
                eval_warmup: 20,
                print_runs: 2,
                kills: 5,
                idle: Duration::from_secs(2),
                only,
            }
        } else {
            Settings {
                quick,
                starts: 30,
                evals: 1000,
                eval_warmup: 100,
                print_runs: 5,
                kills: 20,
                idle: Duration::from_secs(10),
                only,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Manager helpers
// ---------------------------------------------------------------------------

fn config(exe: &str) -> RuntimeConfig {
    RuntimeConfig::python().with_executable(exe)
}

/// What differs between the languages' figures: how a runtime is started
/// and what the baselines run. The baselines use the resolved interpreter.
struct Lang {
    /// The runtime settings for each start.
    config: RuntimeConfig,
    /// The real interpreter, as the first start's handshake reported it.
    exe: String,
    /// Start-and-exit baseline: `python -c pass`, `elixir -e ''`.
    bare_start: &'static [&'static str],
    /// A started interpreter that does nothing (kill and idle baselines).
    idle: &'static [&'static str],
    /// Whether the idle interpreter runs as a distributed node (Elixir: with a
    /// unique `--sname` and the agent's `--erl` flags, so that it is the same
    /// kind of BEAM as a runtime node, minus the agent).
    idle_node: bool,
    /// A bare loop evaluating stdin lines and printing the value.
    eval_loop: &'static [&'static str],
    /// The agent's arguments (ending with [`RAW_TOKEN`]), driven without the manager.
    raw_agent: Vec<std::ffi::OsString>,
    /// How long a new runtime is left alone before its idle CPU is measured.
    settle: Duration,
}

impl Lang {
    fn python(exe: &str) -> Lang {
        Lang {
            config: config(exe),
            exe: exe.into(),
            bare_start: &["-c", "pass"],
            idle: &["-c", "import time; time.sleep(100)"],
            idle_node: false,
            eval_loop: &["-c", "import sys\nfor line in sys.stdin: print(eval(line), flush=True)"],
            raw_agent: python::agent_args("python-rawbench", RAW_TOKEN),
            settle: Duration::from_millis(500),
        }
    }

    /// `exe` the real `elixir` script; the agent already in the cache.
    fn elixir(exe: &str) -> R<Lang> {
        let root = elixir::cache_root().ok_or("no cache directory")?;
        let dir = elixir::install_agent(&root).map_err(|e| e.to_string())?;
        let node = format!("runyard-rawbench{}", std::process::id());
        // The agent starts distribution itself, which needs an epmd.
        elixir::ensure_epmd(std::env::var_os("PATH").as_deref(), None, elixir::epmd_port(None))
            .map_err(|e| e.to_string())?;
        Ok(Lang {
            config: RuntimeConfig::elixir().with_executable(exe),
            exe: exe.into(),
            bare_start: &["-e", ""],
            idle: &["-e", "Process.sleep(:infinity)"],
            idle_node: true,
            eval_loop: &[
                "-e",
                "for line <- IO.stream(:stdio, :line), do: IO.puts(elem(Code.eval_string(line), 0))",
            ],
            raw_agent: elixir::agent_args(&node, &dir, Mode::Standalone, RAW_TOKEN, elixir::ERL_FLAGS),
            // A new BEAM does some housekeeping in its first seconds (about
            // 1 ms of CPU in all, measured), then nothing.
            settle: Duration::from_secs(3),
        })
    }

    fn idle_command(&self) -> Proc {
        let mut command = Proc::new(&self.exe);
        if self.idle_node {
            let name = format!("runyard-benchidle-{}", runyard::runtime::short_id().unwrap());
            command.args(["--sname", &name, "--erl", elixir::ERL_FLAGS]);
        }
        command.args(self.idle);
        command
    }
}

/// Sends `Connect` and waits for `Connected`: the node and the time it took.
fn connect(m: &Manager, session: SessionId, exe: &str) -> R<(NodeInfo, Duration)> {
    connect_with(m, session, config(exe))
}

fn connect_with(m: &Manager, session: SessionId, config: RuntimeConfig) -> R<(NodeInfo, Duration)> {
    let t0 = Instant::now();
    m.connect(session, config);
    wait_for(m, EVENT_TIMEOUT, |e| match e {
        Event::Connected { session: s, info } if s == session => Some(Ok((info, t0.elapsed()))),
        Event::InitFailed {
            session: s,
            error,
            command,
        } if s == session => Some(Err(format!(
            "start failed: {error} ({command}); stderr: {:?}",
            error.stderr_tail()
        ))),
        Event::NodeDown {
            session: s,
            exit,
            stderr_tail,
            ..
        } if s == session => Some(Err(format!("node down during start: {exit}; stderr: {stderr_tail}"))),
        _ => None,
    })
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits until `pid` has been reaped (its /proc entry is gone).
fn wait_gone(pid: u32, timeout: Duration) -> R<()> {
    let deadline = Instant::now() + timeout;
    while alive(pid) {
        if Instant::now() > deadline {
            return Err(format!(
                "process {pid} still there after {:.1} s",
                timeout.as_secs_f64()
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Disconnects the session and waits until its process is reaped, so that
/// the next measurement does not share the CPU with its exit.
fn disconnect(m: &Manager, session: SessionId, pid: u32) -> R<()> {
    m.send(Command::Disconnect { session });
    wait_gone(pid, Duration::from_secs(5))
}

/// Evaluates `code` and waits for its result: (outcome, agent-side duration, round trip).
fn evaluate(m: &Manager, session: SessionId, evaluation_ref: &str, code: &str) -> R<(Outcome, Duration, Duration)> {
    let t0 = Instant::now();
    m.evaluate(session, evaluation(evaluation_ref, code));
    wait_for(m, EVENT_TIMEOUT, |e| match e {
        Event::EvaluationFinished {
            session: s,
            evaluation_ref: r,
            outcome,
            duration,
        } if s == session && r == evaluation_ref => Some(Ok((outcome, duration, t0.elapsed()))),
        Event::NodeDown { session: s, exit, .. } if s == session => Some(Err(format!("node down: {exit}"))),
        _ => None,
    })
}

// ---------------------------------------------------------------------------
// /proc helpers
// ---------------------------------------------------------------------------

fn clk_tck() -> f64 {
    Proc::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime in ticks, from a `stat` file (whole process for /proc/<pid>/stat).
fn stat_ticks(path: &str) -> R<u64> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let after = &text[text.rfind(')').ok_or("bad stat")? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).ok_or("bad utime")?;
    let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).ok_or("bad stime")?;
    Ok(utime + stime)
}

/// Tasks (threads) of a process.
fn tasks(pid: &str) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// CPU time in ns (schedstat, exact) and context switches of one task directory.
fn task_usage(dir: &str) -> (u64, u64) {
    let ns = std::fs::read_to_string(format!("{dir}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()))
        .unwrap_or(0);
    let switches = std::fs::read_to_string(format!("{dir}/status"))
        .map(|s| {
            s.lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches"))
                .filter_map(|l| l.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()))
                .sum()
        })
        .unwrap_or(0);
    (ns, switches)
}

/// Sum of CPU ns and context switches over every thread of a process.
fn process_usage(pid: &str) -> (u64, u64) {
    tasks(pid)
        .iter()
        .map(|t| task_usage(&format!("/proc/{pid}/task/{t}")))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// The manager thread of this process (named `runyard-manager`, truncated by the kernel).
fn manager_task() -> Option<String> {
    tasks("self").into_iter().find(|t| {
        std::fs::read_to_string(format!("/proc/self/task/{t}/comm"))
            .is_ok_and(|c| c.trim().starts_with("runyard-manag"))
    })
}

fn vm_rss_kib(pid: u32) -> R<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    text.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| "no VmRSS".into())
}

// ---------------------------------------------------------------------------
// The figures
// ---------------------------------------------------------------------------

/// Connects once with the configured interpreter (maybe a shim) to learn the
/// real one: every later start, ours and the baseline's, uses that.
fn resolve_interpreter(configured: &str) -> R<(NodeInfo, Duration)> {
    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let session = SessionId(1);
    let (info, took) = connect(&m, session, configured)?;
    disconnect(&m, session, info.pid)?;
    m.shutdown();
    Ok((info, took))
}

struct StartFigures {
    runyard: Vec<f64>,
    baseline: Vec<f64>,
    /// `Connect` and an `Evaluate` of `1+1` sent at once → its result: the
    /// runtime is usable (the agent says hello before it has compiled the
    /// rest of itself, so `Connected` comes a little before that).
    usable: Vec<f64>,
}

/// 1 / 6. Command::Connect → Event::Connected, against `python -c pass` /
/// `elixir -e ''` to exit.
fn bench_start(s: &Settings, lang: &Lang) -> R<StartFigures> {
    let exe = lang.exe.as_str();
    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let bare = || -> R<Duration> {
        let t0 = Instant::now();
        let status = Proc::new(exe)
            .args(lang.bare_start)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("{exe}: {e}"))?;
        let took = t0.elapsed();
        if !status.success() {
            return Err(format!("{exe} {:?}: {status}", lang.bare_start));
        }
        Ok(took)
    };
    let next = std::cell::Cell::new(100);
    let new_session = || {
        next.set(next.get() + 1);
        SessionId(next.get())
    };
    let ours = |m: &Manager| -> R<Duration> {
        let session = new_session();
        let (info, took) = connect_with(m, session, lang.config.clone())?;
        disconnect(m, session, info.pid)?;
        Ok(took)
    };
    let usable = |m: &Manager| -> R<Duration> {
        let session = new_session();
        let t0 = Instant::now();
        m.connect(session, lang.config.clone());
        m.evaluate(session, evaluation("u", "1+1"));
        let mut pid = None;
        let took = wait_for(m, EVENT_TIMEOUT, |e| match e {
            Event::Connected { session: s, info } if s == session => {
                pid = Some(info.pid);
                None
            }
            Event::EvaluationFinished {
                session: s, outcome, ..
            } if s == session => Some(match outcome {
                Outcome::Ok { value: Some(v) } if v.text() == "2" => Ok(t0.elapsed()),
                other => Err(format!("1+1 right after Connect gave {other:?}")),
            }),
            Event::InitFailed { session: s, error, .. } if s == session => Some(Err(format!("start failed: {error}"))),
            _ => None,
        })?;
        disconnect(m, session, pid.ok_or("no Connected before the result")?)?;
        Ok(took)
    };
    // Warm the page cache and the manager's first-use costs on both sides.
    for _ in 0..2 {
        bare()?;
        ours(&m)?;
        usable(&m)?;
    }
    let mut figures = StartFigures {
        runyard: Vec::new(),
        baseline: Vec::new(),
        usable: Vec::new(),
    };
    // Interleaved, so that drift in the machine's load hits all alike.
    for _ in 0..s.starts {
        figures.baseline.push(ms(bare()?));
        figures.runyard.push(ms(ours(&m)?));
        figures.usable.push(ms(usable(&m)?));
    }
    m.shutdown();
    Ok(figures)
}

struct EvalFigures {
    runyard: Vec<f64>,
    agent: Vec<f64>,
    baseline: Vec<f64>,
    /// The same agent driven over raw pipes from this thread, no manager.
    raw_agent: Vec<f64>,
}

/// Reads one protocol frame (RS … \n) as JSON, skipping anything else.
fn read_frame(r: &mut impl BufRead, buf: &mut Vec<u8>) -> R<Value> {
    loop {
        buf.clear();
        if r.read_until(b'\n', buf).map_err(|e| e.to_string())? == 0 {
            return Err("the agent closed its stdout".into());
        }
        if let Some(start) = buf.iter().position(|&b| b == protocol::RS) {
            return serde_json::from_slice(&buf[start + 1..]).map_err(|e| format!("bad frame: {e}"));
        }
    }
}

/// An agent itself, driven over its pipes from this thread without
/// the manager: what the agent costs, so that the rest is the manager's.
struct RawAgent {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    buf: Vec<u8>,
}

const RAW_TOKEN: &str = "0123456789abcdef0123456789abcdef";

impl RawAgent {
    /// Any agent, started as `program args…` (the last argument the token).
    fn spawn(exe: &str, args: Vec<std::ffi::OsString>) -> R<RawAgent> {
        let token = RAW_TOKEN;
        let mut child = Proc::new(exe)
            .args(args)
            // The Elixir agent's cookie (the Python agent ignores it).
            .env(elixir::COOKIE_ENV, runyard::runtime::random_token().unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{exe}: {e}"))?;
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut agent = RawAgent {
            child,
            stdin,
            stdout,
            buf: Vec::new(),
        };
        let hello = read_frame(&mut agent.stdout, &mut agent.buf)?;
        if hello["type"] != "hello" || hello["token"] != token {
            return Err(format!("expected hello, got {hello}"));
        }
        Ok(agent)
    }

    fn round_trip(&mut self, evaluation_ref: &str) -> R<Duration> {
        let frame = protocol::encode(&ToAgent::Evaluate {
            container: "bench".into(),
            evaluation_ref: evaluation_ref.into(),
            prev_evaluation_ref: None,
            prev_container: None,
            code: "1+1".into(),
            file: "cell 1".into(),
            options: None,
            branch: false,
        });
        let t0 = Instant::now();
        self.stdin.write_all(&frame).map_err(|e| e.to_string())?;
        let result = loop {
            let m = read_frame(&mut self.stdout, &mut self.buf)?;
            if m["type"] == "result" {
                break m;
            }
        };
        let took = t0.elapsed();
        if result["ref"] != evaluation_ref || result["value"]["data"]["text/plain"] != "2" {
            return Err(format!("the raw agent answered {result}"));
        }
        Ok(took)
    }

    fn stop(self) {
        drop(self.stdin); // EOF: the agent exits
        let mut child = self.child;
        let _ = child.wait();
    }
}

/// A bare evaluation loop over pipes in a plain child (for Python
/// `for line in sys.stdin: print(eval(line), flush=True)`).
struct EvalLoop {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    line: String,
}

impl EvalLoop {
    fn spawn(exe: &str, args: &[&str]) -> R<EvalLoop> {
        let mut child = Proc::new(exe)
            .args(args)
            // The Elixir agent's cookie (the Python agent ignores it).
            .env(elixir::COOKIE_ENV, runyard::runtime::random_token().unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{exe}: {e}"))?;
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Ok(EvalLoop {
            child,
            stdin,
            stdout,
            line: String::new(),
        })
    }

    fn round_trip(&mut self) -> R<Duration> {
        let t0 = Instant::now();
        self.stdin.write_all(b"1+1\n").map_err(|e| e.to_string())?;
        self.line.clear();
        self.stdout.read_line(&mut self.line).map_err(|e| e.to_string())?;
        let took = t0.elapsed();
        if self.line != "2\n" {
            return Err(format!("the baseline loop answered {:?}", self.line));
        }
        Ok(took)
    }

    fn stop(self) {
        drop(self.stdin);
        let mut child = self.child;
        let _ = child.wait();
    }
}

/// Figure 2: the `1+1` round trip through the manager, against a bare line
/// loop over pipes and against the same agent without the manager. The three
/// are interleaved, so that the machine's load hits all alike.
fn bench_eval(s: &Settings, lang: &Lang) -> R<EvalFigures> {
    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let session = SessionId(1);
    let (info, _) = connect_with(&m, session, lang.config.clone())?;
    let mut raw = RawAgent::spawn(&lang.exe, lang.raw_agent.clone())?;
    let mut bare = EvalLoop::spawn(&lang.exe, lang.eval_loop)?;
    let mut figures = EvalFigures {
        runyard: Vec::with_capacity(s.evals),
        agent: Vec::with_capacity(s.evals),
        baseline: Vec::with_capacity(s.evals),
        raw_agent: Vec::with_capacity(s.evals),
    };
    let result = (|| -> R<()> {
        for i in 0..s.eval_warmup + s.evals {
            let evaluation_ref = format!("e{i}");
            let (outcome, duration, took) = evaluate(&m, session, &evaluation_ref, "1+1")?;
            if outcome
                != (Outcome::Ok {
                    value: Some(runyard::protocol::Bundle::plain("2")),
                })
            {
                return Err(format!("1+1 gave {outcome:?}"));
            }
            let took_raw = raw.round_trip(&evaluation_ref)?;
            let took_bare = bare.round_trip()?;
            if i >= s.eval_warmup {
                figures.runyard.push(us(took));
                figures.agent.push(us(duration));
                figures.raw_agent.push(us(took_raw));
                figures.baseline.push(us(took_bare));
            }
        }
        Ok(())
    })();
    raw.stop();
    bare.stop();
    disconnect(&m, session, info.pid)?;
    m.shutdown();
    result.map(|()| figures)
}

struct PrintFigures {
    runyard: Vec<f64>,
    messages: usize,
    baseline_cold: Vec<f64>,
    baseline_warm: Vec<f64>,
    bytes: usize,
}

fn expected_print_output() -> String {
    let mut s = String::with_capacity(1_300_000);
    for i in 0..PRINT_LINES {
        s.push_str(&i.to_string());
        s.push('\n');
    }
    s
}

fn check_output(got: &str, expected: &str, who: &str) -> R<()> {
    if got == expected {
        return Ok(());
    }
    let at = got
        .bytes()
        .zip(expected.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    let line = expected[..at].matches('\n').count();
    let ctx = |t: &str| t[at.saturating_sub(20).min(t.len())..(at + 20).min(t.len())].to_string();
    Err(format!(
        "{who}: {} bytes received, {} expected; first difference at byte {at} (line {line}): got {:?}, expected {:?}",
        got.len(),
        expected.len(),
        ctx(got),
        ctx(expected)
    ))
}

/// 3. A cell printing 200,000 lines, until `EvaluationFinished`, every byte checked.
fn bench_print(s: &Settings, exe: &str) -> R<PrintFigures> {
    let expected = expected_print_output();
    let code = format!("for i in range({PRINT_LINES}): print(i)");

    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let session = SessionId(1);
    let (info, _) = connect(&m, session, exe)?;
    // Warm the evaluation path once (small output).
    evaluate(&m, session, "warm", "print('x')")?;
    let ours = |run: usize| -> R<(f64, usize)> {
        let evaluation_ref = format!("p{run}");
        let mut got = String::with_capacity(expected.len());
        let mut other = String::new();
        let mut count = 0;
        let t0 = Instant::now();
        m.evaluate(session, evaluation(&evaluation_ref, &code));
        let (outcome, took) = wait_for(&m, Duration::from_secs(60), |e| match e {
            Event::Output {
                session: s,
                evaluation_ref: r,
                stream,
                text,
            } if s == session => {
                if r.as_deref() == Some(&evaluation_ref) && stream == Stream::Stdout {
                    got.push_str(&text);
                    count += 1;
                } else {
                    other.push_str(&text);
                }
                None
            }
            Event::EvaluationFinished {
                session: s,
                evaluation_ref: r,
                outcome,
                ..
            } if s == session && r == evaluation_ref => Some(Ok((outcome, t0.elapsed()))),
            Event::NodeDown { session: s, exit, .. } if s == session => Some(Err(format!("node down: {exit}"))),
            _ => None,
        })?;
        if outcome != (Outcome::Ok { value: None }) {
            return Err(format!("the print cell gave {outcome:?}"));
        }
        if !other.is_empty() {
            return Err(format!("unexpected other output: {:?}", &other[..other.len().min(200)]));
        }
        check_output(&got, &expected, "runyard")?;
        Ok((took.as_secs_f64(), count))
    };

    // Baseline as asked: the interpreter started with the loop, read to EOF.
    let cold = || -> R<f64> {
        let t0 = Instant::now();
        let mut child = Proc::new(exe)
            .args(["-c", &code])
            .env_remove("PYTHONUNBUFFERED")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{exe}: {e}"))?;
        let mut got = String::with_capacity(expected.len());
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut got)
            .map_err(|e| e.to_string())?;
        let _ = child.wait();
        let took = t0.elapsed().as_secs_f64();
        check_output(&got, &expected, "baseline")?;
        Ok(took)
    };
    // And a warm one (interpreter already started, told to go over stdin),
    // which is what the Runyard figure compares with: no start-up inside.
    let warm = || -> R<f64> {
        let mut child = Proc::new(exe)
            .args(["-c", &format!("import sys\nsys.stdin.readline()\n{code}")])
            .env_remove("PYTHONUNBUFFERED")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{exe}: {e}"))?;
        std::thread::sleep(Duration::from_millis(150)); // let it start and block on stdin
        let mut stdin = child.stdin.take().unwrap();
        let mut got = String::with_capacity(expected.len());
        let t0 = Instant::now();
        stdin.write_all(b"go\n").map_err(|e| e.to_string())?;
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut got)
            .map_err(|e| e.to_string())?;
        let took = t0.elapsed().as_secs_f64();
        drop(stdin);
        let _ = child.wait();
        check_output(&got, &expected, "warm baseline")?;
        Ok(took)
    };
    // Interleaved, so that the machine's load hits all alike.
    let mut runyard = Vec::new();
    let mut messages = 0;
    let mut baseline_cold = Vec::new();
    let mut baseline_warm = Vec::new();
    let result = (|| -> R<()> {
        for run in 0..s.print_runs {
            let (took, count) = ours(run)?;
            runyard.push(took);
            messages = count;
            baseline_cold.push(cold()?);
            baseline_warm.push(warm()?);
        }
        Ok(())
    })();
    disconnect(&m, session, info.pid)?;
    m.shutdown();
    result?;
    Ok(PrintFigures {
        runyard,
        messages,
        baseline_cold,
        baseline_warm,
        bytes: expected.len(),
    })
}

struct KillFigures {
    runyard: Vec<f64>,
    baseline: Vec<f64>,
    /// The same for an idle interpreter (`python -c 'time.sleep(100)'`,
    /// `elixir -e 'Process.sleep(:infinity)'`): the kernel's teardown of a
    /// process of that size is in it.
    baseline_python: Vec<f64>,
}

/// SIGKILL a plain child → `wait()` returns in a waiting thread (seen here).
fn kill_plain_child(mut command: Proc, settle: Duration) -> R<Duration> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{command:?}: {e}"))?;
    let pid = Pid::from_raw(child.id() as i32);
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(status);
    });
    std::thread::sleep(settle);
    let t0 = Instant::now();
    kill(pid, Signal::SIGKILL).map_err(|e| format!("kill {pid}: {e}"))?;
    let status = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "child not reaped".to_string())?;
    let took = t0.elapsed();
    let _ = waiter.join();
    status.map_err(|e| e.to_string())?;
    Ok(took)
}

/// 4 / 8. SIGKILL the runtime → `NodeDown`, against `sleep 100` waited on by std.
fn bench_kill(s: &Settings, lang: &Lang) -> R<KillFigures> {
    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let settle = Duration::from_millis(150); // started and idle, on every side
    let ours = |i: usize| -> R<Duration> {
        let session = SessionId(200 + i as u64);
        let (info, _) = connect_with(&m, session, lang.config.clone())?;
        std::thread::sleep(settle);
        let pid = Pid::from_raw(info.pid as i32);
        let t0 = Instant::now();
        kill(pid, Signal::SIGKILL).map_err(|e| format!("kill {pid}: {e}"))?;
        let took = wait_for(&m, Duration::from_secs(10), |e| match e {
            Event::NodeDown { session: s, exit, .. } if s == session => Some(if exit.signal == Some(9) {
                Ok(t0.elapsed())
            } else {
                Err(format!("NodeDown says {exit}, not SIGKILL"))
            }),
            _ => None,
        })?;
        wait_gone(info.pid, Duration::from_secs(5))?;
        Ok(took)
    };

    // Interleaved; the first round warms up.
    let mut runyard = Vec::new();
    let mut baseline = Vec::new();
    let mut baseline_python = Vec::new();
    for i in 0..s.kills + 1 {
        let took_ours = ours(i)?;
        let mut sleep = Proc::new("sleep");
        sleep.arg("100");
        let took = kill_plain_child(sleep, Duration::from_millis(20))?;
        let took_py = kill_plain_child(lang.idle_command(), settle)?;
        if i > 0 {
            runyard.push(ms(took_ours));
            baseline.push(ms(took));
            baseline_python.push(ms(took_py));
        }
    }
    m.shutdown();
    Ok(KillFigures {
        runyard,
        baseline,
        baseline_python,
    })
}

struct IdleFigures {
    window: f64,
    runtime_ticks: u64,
    runtime_cpu_ns: u64,
    runtime_switches: u64,
    process_ticks: u64,
    manager_cpu_ns: Option<u64>,
    manager_switches: Option<u64>,
    runtime_rss_kib: u64,
    runtime_rss_after_eval_kib: u64,
    baseline_rss_kib: u64,
    baseline_ticks: u64,
    ticks_per_s: f64,
}

/// 5 / 9. Idle CPU of a connected runtime and of the manager; the runtime's RSS.
fn bench_idle(s: &Settings, lang: &Lang) -> R<IdleFigures> {
    let ticks_per_s = clk_tck();
    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let session = SessionId(1);
    let (info, _) = connect_with(&m, session, lang.config.clone())?;
    let sleeper = lang
        .idle_command()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", lang.exe))?;
    let sleeper_pid = sleeper.id();
    // Let both settle: the connected runtime as it is right after its start.
    std::thread::sleep(lang.settle);
    let runtime_rss_kib = vm_rss_kib(info.pid)?;

    let result = (|| -> R<IdleFigures> {
        let pid = info.pid.to_string();
        let mtask = manager_task();
        let mdir = mtask.as_ref().map(|t| format!("/proc/self/task/{t}"));
        let rt0 = stat_ticks(&format!("/proc/{pid}/stat"))?;
        let (rns0, rsw0) = process_usage(&pid);
        let pt0 = stat_ticks("/proc/self/stat")?;
        let bt0 = stat_ticks(&format!("/proc/{sleeper_pid}/stat"))?;
        let m0 = mdir.as_deref().map(task_usage);
        let t0 = Instant::now();
        std::thread::sleep(s.idle);
        let window = t0.elapsed().as_secs_f64();
        let rt1 = stat_ticks(&format!("/proc/{pid}/stat"))?;
        let (rns1, rsw1) = process_usage(&pid);
        let pt1 = stat_ticks("/proc/self/stat")?;
        let bt1 = stat_ticks(&format!("/proc/{sleeper_pid}/stat"))?;
        let m1 = mdir.as_deref().map(task_usage);
        let baseline_rss_kib = vm_rss_kib(sleeper_pid)?;

        // RSS once the evaluation machinery has been used (tracebacks aside).
        evaluate(&m, session, "idle", "x = 1+1\nx")?;
        let runtime_rss_after_eval_kib = vm_rss_kib(info.pid)?;
        Ok(IdleFigures {
            window,
            runtime_ticks: rt1 - rt0,
            runtime_cpu_ns: rns1.saturating_sub(rns0),
            runtime_switches: rsw1.saturating_sub(rsw0),
            process_ticks: pt1 - pt0,
            manager_cpu_ns: m0.zip(m1).map(|(a, b)| b.0.saturating_sub(a.0)),
            manager_switches: m0.zip(m1).map(|(a, b)| b.1.saturating_sub(a.1)),
            runtime_rss_kib,
            runtime_rss_after_eval_kib,
            baseline_rss_kib,
            baseline_ticks: bt1 - bt0,
            ticks_per_s,
        })
    })();
    kill_and_reap(sleeper);
    disconnect(&m, session, info.pid)?;
    m.shutdown();
    result
}

// ---------------------------------------------------------------------------
// Elixir (figures 6–9)
// ---------------------------------------------------------------------------

/// The first Elixir start: it fills the agent cache (compiling the agent on
/// a new cache) and tells the real `elixir` script, which the baselines use.
fn elixir_first_start(configured: &str) -> R<(NodeInfo, Duration)> {
    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let session = SessionId(1);
    let (info, took) = connect_with(&m, session, RuntimeConfig::elixir().with_executable(configured))?;
    disconnect(&m, session, info.pid)?;
    m.shutdown();
    Ok((info, took))
}

// ---------------------------------------------------------------------------
// Rows and JSON, shared by Python (figures 1, 2, 4, 5) and Elixir (6–9)
// ---------------------------------------------------------------------------

type Json = serde_json::Map<String, Value>;

/// The printed rows and the JSON figures and goals, filled figure by figure.
struct Report {
    rows: Vec<Row>,
    out: Json,
    goals: Json,
}

impl Report {
    fn put(&mut self, l: &Labels, key: &str, value: Value) {
        self.out.insert(format!("{}{key}", l.key), value);
    }

    fn fail(&mut self, what: &str, goal: &str, err: &str, goal_keys: &[String]) {
        self.rows.push(failed(what, goal, err));
        for g in goal_keys {
            self.goals.insert(g.clone(), json!(false));
        }
    }
}

/// How one language's figures are numbered, labelled and keyed. The README
/// and CI read these rows and keys, so they must not drift.
struct Labels {
    /// Figure numbers of start, evaluate, kill and idle.
    numbers: [u32; 4],
    /// Prefix of every JSON key and goal.
    key: &'static str,
    /// Put before "start", "evaluate" and "SIGKILL" in labels.
    name: &'static str,
    /// What a started runtime is called in the kill and idle labels.
    runtime: &'static str,
    idle_progress: &'static str,
    start_ratio_max: f64,
    start_baseline: &'static str,
    start_baseline_key: &'static str,
    ratio_label: &'static str,
    eval_baseline: &'static str,
    kill_idle_label: &'static str,
    kill_idle_key: &'static str,
    idle_baseline: &'static str,
    rss_max_mib: Option<f64>,
    /// Python's report also has the p99 rows, the usable ratio and the
    /// manager's idle CPU; the Elixir one keeps its earlier, shorter form.
    detailed: bool,
}

const PYTHON: Labels = Labels {
    numbers: [1, 2, 4, 5],
    key: "",
    name: "",
    runtime: "runtime",
    idle_progress: "idle",
    start_ratio_max: 1.25,
    start_baseline: "python -c pass",
    start_baseline_key: "python_c_pass",
    ratio_label: "   ratio",
    eval_baseline: "bare stdin/stdout eval loop",
    kill_idle_label: "   same for an idle `python -c sleep`",
    kill_idle_key: "python",
    idle_baseline: "idle `python -c sleep`",
    rss_max_mib: Some(15.0),
    detailed: true,
};

const ELIXIR: Labels = Labels {
    numbers: [6, 7, 8, 9],
    key: "elixir_",
    name: "Elixir ",
    runtime: "Elixir node",
    idle_progress: "Elixir node idle",
    start_ratio_max: 1.5,
    start_baseline: "elixir -e ''",
    start_baseline_key: "elixir_e",
    ratio_label: "   ratio (cached compiled agent)",
    eval_baseline: "`elixir -e` stdin loop, Code.eval_string",
    kill_idle_label: "   same for an idle node (`elixir --sname … -e 'Process.sleep(:infinity)'`)",
    kill_idle_key: "idle_elixir",
    idle_baseline: "idle `elixir --sname … -e` node",
    rss_max_mib: None,
    detailed: false,
};

impl Labels {
    fn start_goal(&self) -> String {
        let max = self.start_ratio_max.to_string().replace('.', "_");
        format!("{}start_ratio_le_{max}", self.key)
    }

    fn eval_goal(&self) -> String {
        format!("{}eval_median_le_150us", self.key)
    }

    fn kill_goal(&self) -> String {
        format!("{}kill_nodedown_le_5ms", self.key)
    }

    fn idle_goals(&self) -> Vec<String> {
        let mut goals = vec![format!("{}idle_runtime_cpu_about_0", self.key)];
        if self.detailed {
            goals.push(format!("{}idle_manager_cpu_about_0", self.key));
        }
        if let Some(max) = self.rss_max_mib {
            goals.push(format!("{}runtime_rss_le_{max}mib", self.key));
        }
        goals
    }
}

/// Figures 1 / 6.
fn report_start(s: &Settings, l: &Labels, lang: &Lang, rep: &mut Report) {
    let n = l.numbers[0];
    if !s.wants(n) {
        return;
    }
    println!(
        "[{n}/9] {}start → connected ({} starts, interleaved with `{}`)…",
        l.name, s.starts, l.start_baseline
    );
    let what = format!("{n}. {}start → Connected (median)", l.name);
    let max = l.start_ratio_max;
    let goal = format!("ratio ≤ {max}");
    match bench_start(s, lang) {
        Ok(f) => {
            let (r, b) = (median(&f.runyard), median(&f.baseline));
            let ratio = r / b;
            let met = ratio <= max;
            rep.rows.push(Row {
                what,
                figure: format!(
                    "{r:.1} ms (min {:.1}, max {:.1})",
                    percentile(&f.runyard, 0.0),
                    percentile(&f.runyard, 100.0)
                ),
                baseline: format!("{b:.1} ms  `{}` → exit", l.start_baseline),
                goal,
                met: Some(met),
            });
            rep.rows.push(Row {
                what: l.ratio_label.into(),
                figure: format!("{ratio:.2} ×"),
                baseline: "".into(),
                goal: format!("≤ {max}"),
                met: Some(met),
            });
            let u = median(&f.usable);
            rep.rows.push(Row {
                what: "   start → first 1+1 result (usable)".into(),
                figure: format!("{u:.1} ms = {:.2} × baseline", u / b),
                baseline: "".into(),
                goal: "-".into(),
                met: None,
            });
            rep.put(l, "start_usable_median_ms", json!(round(u, 3)));
            if l.detailed {
                rep.put(l, "start_usable_ratio", json!(round(u / b, 3)));
            }
            rep.put(l, "start_connected_median_ms", json!(round(r, 3)));
            rep.put(
                l,
                "start_connected_min_ms",
                json!(round(percentile(&f.runyard, 0.0), 3)),
            );
            let baseline_key = format!("start_baseline_{}_median_ms", l.start_baseline_key);
            rep.put(l, &baseline_key, json!(round(b, 3)));
            rep.put(l, "start_ratio", json!(round(ratio, 3)));
            rep.put(l, "start_samples", json!(f.runyard.len()));
            rep.goals.insert(l.start_goal(), json!(met));
        }
        Err(e) => rep.fail(&what, &goal, &e, &[l.start_goal()]),
    }
}

/// Figures 2 / 7.
fn report_eval(s: &Settings, l: &Labels, lang: &Lang, rep: &mut Report) {
    let n = l.numbers[1];
    if !s.wants(n) {
        return;
    }
    println!(
        "[{n}/9] {}evaluate `1+1` ({} after {} warm-up)…",
        l.name, s.evals, s.eval_warmup
    );
    let what = format!("{n}. {}evaluate 1+1 round trip (median)", l.name);
    let goal = "≤ 150 µs";
    match bench_eval(s, lang) {
        Ok(f) => {
            let (r, p99, b, b99) = (
                median(&f.runyard),
                percentile(&f.runyard, 99.0),
                median(&f.baseline),
                percentile(&f.baseline, 99.0),
            );
            let met = r <= 150.0;
            rep.rows.push(Row {
                what,
                figure: if l.detailed {
                    format!("{r:.0} µs")
                } else {
                    format!("{r:.0} µs (p99 {p99:.0} µs)")
                },
                baseline: format!("{b:.0} µs  {}", l.eval_baseline),
                goal: goal.into(),
                met: Some(met),
            });
            if l.detailed {
                rep.rows.push(Row {
                    what: "   p99".into(),
                    figure: format!("{p99:.0} µs"),
                    baseline: format!("{b99:.0} µs"),
                    goal: "-".into(),
                    met: None,
                });
            }
            let raw = median(&f.raw_agent);
            rep.rows.push(Row {
                what: "   same agent over raw pipes, no manager".into(),
                figure: "".into(),
                baseline: format!("{raw:.0} µs (p99 {:.0} µs)", percentile(&f.raw_agent, 99.0)),
                goal: "-".into(),
                met: None,
            });
            rep.rows.push(Row {
                what: "   of which in the agent (duration_us)".into(),
                figure: format!("{:.0} µs", median(&f.agent)),
                baseline: "".into(),
                goal: "-".into(),
                met: None,
            });
            rep.put(l, "eval_median_us", json!(round(r, 1)));
            rep.put(l, "eval_p99_us", json!(round(p99, 1)));
            rep.put(l, "eval_agent_duration_median_us", json!(round(median(&f.agent), 1)));
            rep.put(l, "eval_baseline_median_us", json!(round(b, 1)));
            rep.put(l, "eval_raw_agent_median_us", json!(round(raw, 1)));
            if l.detailed {
                rep.put(l, "eval_baseline_p99_us", json!(round(b99, 1)));
                let raw99 = percentile(&f.raw_agent, 99.0);
                rep.put(l, "eval_raw_agent_p99_us", json!(round(raw99, 1)));
            }
            rep.put(l, "eval_samples", json!(f.runyard.len()));
            rep.goals.insert(l.eval_goal(), json!(met));
        }
        Err(e) => rep.fail(&what, goal, &e, &[l.eval_goal()]),
    }
}

/// Figures 4 / 8.
fn report_kill(s: &Settings, l: &Labels, lang: &Lang, rep: &mut Report) {
    let n = l.numbers[2];
    if !s.wants(n) {
        return;
    }
    println!("[{n}/9] {} SIGKILLed → NodeDown ({} kills)…", l.runtime, s.kills);
    let what = format!("{n}. {}SIGKILL → NodeDown (median)", l.name);
    let goal = "≤ 5 ms";
    match bench_kill(s, lang) {
        Ok(f) => {
            let (r, b, max) = (median(&f.runyard), median(&f.baseline), percentile(&f.runyard, 100.0));
            let met = r <= 5.0;
            rep.rows.push(Row {
                what,
                figure: format!("{r:.2} ms (max {max:.2})"),
                baseline: format!("{b:.2} ms  `sleep 100` + std wait()"),
                goal: goal.into(),
                met: Some(met),
            });
            let idle = median(&f.baseline_python);
            rep.rows.push(Row {
                what: l.kill_idle_label.into(),
                figure: "".into(),
                baseline: format!("{idle:.2} ms"),
                goal: "-".into(),
                met: None,
            });
            rep.put(l, "kill_nodedown_median_ms", json!(round(r, 3)));
            rep.put(l, "kill_nodedown_max_ms", json!(round(max, 3)));
            rep.put(l, "kill_baseline_median_ms", json!(round(b, 3)));
            let idle_key = format!("kill_baseline_{}_median_ms", l.kill_idle_key);
            rep.put(l, &idle_key, json!(round(idle, 3)));
            rep.goals.insert(l.kill_goal(), json!(met));
        }
        Err(e) => rep.fail(&what, goal, &e, &[l.kill_goal()]),
    }
}

/// Figures 5 / 9.
fn report_idle(s: &Settings, l: &Labels, lang: &Lang, rep: &mut Report) {
    let n = l.numbers[3];
    if !s.wants(n) {
        return;
    }
    println!("[{n}/9] {} for {:.0} s…", l.idle_progress, s.idle.as_secs_f64());
    let what = format!("{n}. idle {} CPU", l.runtime);
    let f = match bench_idle(s, lang) {
        Ok(f) => f,
        Err(e) => {
            let goal = match l.rss_max_mib {
                Some(max) => format!("≈ 0 % / ≤ {max} MiB"),
                None => "≈ 0 %".into(),
            };
            rep.fail(&what, &goal, &e, &l.idle_goals());
            return;
        }
    };
    let pct = |ticks: u64| ticks as f64 / f.ticks_per_s / f.window * 100.0;
    let pct_ns = |ns: u64| ns as f64 / 1e9 / f.window * 100.0;
    let (rt, pt, bt) = (pct(f.runtime_ticks), pct(f.process_ticks), pct(f.baseline_ticks));
    // One tick over the window is the resolution; count ≤ 0.1 % as "≈ 0".
    let runtime_met = pct_ns(f.runtime_cpu_ns) <= 0.1;
    let rss_mib = f.runtime_rss_kib as f64 / 1024.0;
    let rss_eval_mib = f.runtime_rss_after_eval_kib as f64 / 1024.0;
    let base_mib = f.baseline_rss_kib as f64 / 1024.0;
    rep.rows.push(Row {
        what,
        figure: format!(
            "{rt:.2} % ({} ticks; {:.3} ms CPU, {} ctx switches in {:.0} s)",
            f.runtime_ticks,
            f.runtime_cpu_ns as f64 / 1e6,
            f.runtime_switches,
            f.window
        ),
        baseline: format!("{bt:.2} % ({} ticks)  {}", f.baseline_ticks, l.idle_baseline),
        goal: "≈ 0 %".into(),
        met: Some(runtime_met),
    });
    if l.detailed {
        // The manager thread's own CPU (exact, from schedstat) when found; else the process's ticks.
        let manager_met = match f.manager_cpu_ns {
            Some(ns) => pct_ns(ns) <= 0.1,
            None => pt <= 0.1 + 100.0 / f.ticks_per_s / f.window,
        };
        rep.rows.push(Row {
            what: "   idle manager CPU (whole bench process)".into(),
            figure: format!(
                "{pt:.2} % ({} ticks){}",
                f.process_ticks,
                match (f.manager_cpu_ns, f.manager_switches) {
                    (Some(ns), Some(sw)) =>
                        format!("; manager thread {:.3} ms CPU, {sw} ctx switches", ns as f64 / 1e6),
                    _ => "; manager thread not found".into(),
                }
            ),
            baseline: "".into(),
            goal: "≈ 0 %".into(),
            met: Some(manager_met),
        });
        rep.put(l, "idle_window_s", json!(round(f.window, 3)));
        rep.put(l, "idle_manager_process_cpu_pct", json!(round(pt, 3)));
        let thread_ms = f
            .manager_cpu_ns
            .map_or(Value::Null, |ns| json!(round(ns as f64 / 1e6, 3)));
        rep.put(l, "idle_manager_thread_cpu_ms", thread_ms);
        let switches = f.manager_switches.map_or(Value::Null, |n| json!(n));
        rep.put(l, "idle_manager_thread_ctx_switches", switches);
        rep.goals
            .insert(format!("{}idle_manager_cpu_about_0", l.key), json!(manager_met));
    }
    let rss_met = l.rss_max_mib.map(|max| rss_mib <= max);
    rep.rows.push(Row {
        what: format!("   {} RSS (connected, idle)", l.runtime),
        figure: format!("{rss_mib:.1} MiB ({rss_eval_mib:.1} MiB after an evaluation)"),
        baseline: format!("{base_mib:.1} MiB  {}", l.idle_baseline),
        goal: l.rss_max_mib.map_or("-".into(), |max| format!("≤ {max} MiB")),
        met: rss_met,
    });
    rep.put(l, "idle_runtime_cpu_pct", json!(round(rt, 3)));
    rep.put(l, "idle_runtime_cpu_ms", json!(round(f.runtime_cpu_ns as f64 / 1e6, 3)));
    rep.put(l, "idle_runtime_ctx_switches", json!(f.runtime_switches));
    rep.put(l, "idle_baseline_cpu_pct", json!(round(bt, 3)));
    rep.put(l, "runtime_rss_mib", json!(round(rss_mib, 2)));
    rep.put(l, "runtime_rss_after_eval_mib", json!(round(rss_eval_mib, 2)));
    rep.put(l, "baseline_rss_mib", json!(round(base_mib, 2)));
    rep.goals
        .insert(format!("{}idle_runtime_cpu_about_0", l.key), json!(runtime_met));
    if let (Some(max), Some(met)) = (l.rss_max_mib, rss_met) {
        rep.goals
            .insert(format!("{}runtime_rss_le_{max}mib", l.key), json!(met));
    }
}

fn elixir_figures(s: &Settings, rep: &mut Report) {
    if !ELIXIR.numbers.iter().any(|&f| s.wants(f)) {
        return;
    }
    let configured = std::env::var("RUNYARD_BENCH_ELIXIR")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "elixir".into());
    let lang = elixir_first_start(&configured).and_then(|(info, took)| {
        println!(
            "elixir: {configured} -> {} (Elixir {}); first start (compiles the agent into an empty cache): {:.1} ms",
            info.executable,
            info.language_version,
            ms(took)
        );
        rep.out.insert("elixir".into(), json!(info.executable));
        rep.out.insert("elixir_version".into(), json!(info.language_version));
        rep.out
            .insert("elixir_first_start_cold_cache_ms".into(), json!(round(ms(took), 2)));
        Lang::elixir(&info.executable)
    });
    let lang = match lang {
        Ok(lang) => lang,
        Err(e) => {
            let l = &ELIXIR;
            let goals = [vec![l.start_goal(), l.eval_goal(), l.kill_goal()], l.idle_goals()].concat();
            rep.fail(
                "6–9. Elixir runtime",
                "-",
                &format!("cannot start an Elixir runtime: {e}"),
                &goals,
            );
            return;
        }
    };
    report_start(s, &ELIXIR, &lang, rep);
    report_eval(s, &ELIXIR, &lang, rep);
    report_kill(s, &ELIXIR, &lang, rep);
    report_idle(s, &ELIXIR, &lang, rep);
}

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Rich outputs (figures 10-11): on the test venv's python, which has
// matplotlib and pandas (RUNYARD_TEST_VENV, made by scripts/test).
// ---------------------------------------------------------------------------

const PLOT_CELL: &str = "plt.plot(range(10)); plt.show()";

fn venv_python() -> Option<String> {
    let venv = std::env::var_os("RUNYARD_TEST_VENV").filter(|v| !v.is_empty())?;
    let python = Path::new(&venv).join("bin/python");
    python.exists().then(|| python.to_string_lossy().into_owned())
}

/// Evaluates `code`; returns the time from sending it until the first display
/// that `pick` accepts, and that display's bundle size (bytes of JSON).
fn time_to_display(
    m: &Manager,
    session: SessionId,
    evaluation_ref: &str,
    code: &str,
    pick: impl Fn(&protocol::Bundle) -> bool,
) -> R<(Duration, usize)> {
    let t0 = Instant::now();
    // Chained from the setup cell, whose bindings (plt, the frame) it uses.
    let mut cell = evaluation(evaluation_ref, code);
    cell.prev_evaluation_ref = Some("setup".into());
    m.evaluate(session, cell);
    let mut shown = None;
    wait_for(m, EVENT_TIMEOUT, |e| match e {
        Event::Display { session: s, bundle, .. } if s == session && shown.is_none() && pick(&bundle) => {
            let bytes = serde_json::to_vec(&*bundle).map(|v| v.len()).unwrap_or(0);
            shown = Some((t0.elapsed(), bytes));
            None
        }
        Event::EvaluationFinished {
            session: s,
            evaluation_ref: r,
            outcome,
            ..
        } if s == session && r == evaluation_ref => Some(match (&outcome, shown) {
            (Outcome::Ok { .. }, Some(found)) => Ok(found),
            _ => Err(format!("no display from {code:?}: {outcome:?}")),
        }),
        Event::NodeDown { session: s, exit, .. } if s == session => Some(Err(format!("node down: {exit}"))),
        _ => None,
    })
}

fn start_venv_runtime(python: &str, setup: &str) -> R<(Manager, SessionId)> {
    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let session = SessionId(1);
    connect(&m, session, python)?;
    match evaluate(&m, session, "setup", setup)?.0 {
        Outcome::Ok { .. } => Ok((m, session)),
        other => Err(format!("{setup:?}: {other:?}")),
    }
}

/// Figure 10: the plot cell's times until its PNG (ms), and the PNG bundle's bytes.
fn bench_plot(s: &Settings, python: &str) -> R<(Vec<f64>, usize)> {
    let (m, session) = start_venv_runtime(python, "import matplotlib.pyplot as plt")?;
    let runs = if s.quick { 10 } else { 30 };
    let (mut times, mut bytes) = (Vec::new(), 0);
    for i in 0..runs + 3 {
        let (t, b) = time_to_display(&m, session, &format!("p{i}"), PLOT_CELL, |b| {
            b.data.contains_key("image/png")
        })?;
        if i >= 3 {
            times.push(ms(t));
            bytes = b;
        }
    }
    Ok((times, bytes))
}

/// Figure 10's baseline: the same cell in ipykernel (benches/jupyter_baseline.py --only plot).
fn ipykernel_plot(s: &Settings, python: &str) -> R<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/jupyter_baseline.py");
    let runs = if s.quick { "10" } else { "30" };
    let out = Proc::new(python)
        .arg(&script)
        .args(["--only", "plot", "--plot-runs", runs, "--python", python])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("JSON "))
        .ok_or_else(|| format!("jupyter_baseline.py printed no JSON line: {text}"))?;
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    v["results"]["plot"]["median_ms"]
        .as_f64()
        .ok_or_else(|| format!("no plot median in {line}"))
}

/// Figure 11: the median time until a 1,000,000-row DataFrame's display arrives, and its bytes.
fn bench_table(s: &Settings, python: &str) -> R<(f64, usize)> {
    let setup = "import pandas as pd\nbig = pd.DataFrame({'a': range(1_000_000), 'b': 0.5, 'c': 'text'})";
    let (m, session) = start_venv_runtime(python, setup)?;
    let (mut times, mut bytes) = (Vec::new(), 0);
    for i in 0..if s.quick { 5 } else { 15 } {
        let (t, b) = time_to_display(&m, session, &format!("t{i}"), "display(big)", |b| {
            b.data.contains_key("application/vnd.dataresource+json")
        })?;
        times.push(ms(t));
        bytes = b;
    }
    Ok((median(&times), bytes))
}

fn rich_figures(s: &Settings, rep: &mut Report) {
    if !s.wants(10) && !s.wants(11) {
        return;
    }
    let Some(python) = venv_python() else {
        println!(
            "[10-11] skipped: RUNYARD_TEST_VENV is not set (scripts/test makes the venv with matplotlib and pandas)"
        );
        return;
    };
    if s.wants(10) {
        println!("[10] `{PLOT_CELL}` until its PNG arrives, vs ipykernel…");
        let what = "10. plt.plot + show() → PNG display (median)";
        let goal = "faster than ipykernel";
        match bench_plot(s, &python) {
            Ok((times, bytes)) => {
                let r = median(&times);
                let baseline = ipykernel_plot(s, &python);
                let met = baseline.as_ref().ok().map(|&b| r < b);
                rep.rows.push(Row {
                    what: what.into(),
                    figure: format!("{r:.1} ms ({bytes} B, 2x)"),
                    baseline: match &baseline {
                        Ok(b) => format!("{b:.1} ms  ipykernel inline (display_data)"),
                        Err(e) => format!("FAILED: {e}"),
                    },
                    goal: goal.into(),
                    met,
                });
                rep.out.insert("plot_png_median_ms".into(), json!(round(r, 2)));
                rep.out.insert("plot_png_bundle_bytes".into(), json!(bytes));
                if let Ok(b) = baseline {
                    rep.out
                        .insert("plot_png_ipykernel_median_ms".into(), json!(round(b, 2)));
                }
                rep.goals
                    .insert("plot_faster_than_ipykernel".into(), json!(met == Some(true)));
            }
            Err(e) => {
                rep.rows.push(failed(what, goal, &e));
                rep.goals.insert("plot_faster_than_ipykernel".into(), json!(false));
            }
        }
    }
    if s.wants(11) {
        println!("[11] display of a 1,000,000-row DataFrame…");
        let what = "11. display(1M-row DataFrame) → display (median)";
        let goal = "≤ 1 MiB sent";
        match bench_table(s, &python) {
            Ok((t, bytes)) => {
                let met = bytes <= 1 << 20;
                rep.rows.push(Row {
                    what: what.into(),
                    figure: format!("{t:.1} ms, {bytes} B"),
                    baseline: "-".into(),
                    goal: goal.into(),
                    met: Some(met),
                });
                rep.out.insert("table_1m_display_median_ms".into(), json!(round(t, 2)));
                rep.out.insert("table_1m_display_bytes".into(), json!(bytes));
                rep.goals.insert("table_1m_le_1mib".into(), json!(met));
            }
            Err(e) => {
                rep.rows.push(failed(what, goal, &e));
                rep.goals.insert("table_1m_le_1mib".into(), json!(false));
            }
        }
    }
}

/// What figures 12–14 measured through the manager (ms).
struct KernelFigures {
    ready: Vec<f64>,
    first: Vec<f64>,
    rtt: Vec<f64>,
    down: Vec<f64>,
}

fn bench_kernel(s: &Settings, python: &str) -> R<KernelFigures> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let spec_dir = dir.path().join("bench-ipykernel");
    std::fs::create_dir_all(&spec_dir).map_err(|e| e.to_string())?;
    let kernel_json = json!({
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bench", "language": "python",
    });
    std::fs::write(spec_dir.join("kernel.json"), kernel_json.to_string()).map_err(|e| e.to_string())?;
    let spec = runyard::kernels::KernelSpec::read(&spec_dir).map_err(|e| e.to_string())?;
    let config = || RuntimeConfig::jupyter(spec.clone()).with_init_timeout(Duration::from_secs(60));
    let m = Manager::start_headless().map_err(|e| e.to_string())?;
    let starts = if s.quick { 5 } else { 10 };
    let mut figures = KernelFigures {
        ready: Vec::new(),
        first: Vec::new(),
        rtt: Vec::new(),
        down: Vec::new(),
    };
    let mut next = 0u64;
    let mut session = || {
        next += 1;
        SessionId(next)
    };
    // The first start warms the page cache and IPython's profile.
    for i in 0..=starts {
        let sid = session();
        let t0 = Instant::now();
        let (info, ready) = connect_with(&m, sid, config())?;
        let (outcome, _, _) = evaluate(&m, sid, "one", "1+1")?;
        let first = t0.elapsed();
        check_two(&outcome)?;
        if i > 0 {
            figures.ready.push(ms(ready));
            figures.first.push(ms(first));
        }
        disconnect(&m, sid, info.pid)?;
    }
    let sid = session();
    let (info, _) = connect_with(&m, sid, config())?;
    let evals = s.evals / 2;
    for i in 0..s.eval_warmup + evals {
        let (outcome, _, took) = evaluate(&m, sid, &format!("e{i}"), "1+1")?;
        check_two(&outcome)?;
        if i >= s.eval_warmup {
            figures.rtt.push(us(took) / 1000.0);
        }
    }
    disconnect(&m, sid, info.pid)?;
    for _ in 0..s.kills.min(10) {
        let sid = session();
        let (info, _) = connect_with(&m, sid, config())?;
        std::thread::sleep(Duration::from_millis(300));
        let t0 = Instant::now();
        kill(Pid::from_raw(info.pid as i32), Signal::SIGKILL).map_err(|e| e.to_string())?;
        let took = wait_for(&m, EVENT_TIMEOUT, |e| match e {
            Event::NodeDown { session: s, .. } if s == sid => Some(Ok(t0.elapsed())),
            _ => None,
        })?;
        figures.down.push(ms(took));
    }
    m.shutdown();
    Ok(figures)
}

fn check_two(outcome: &Outcome) -> R<()> {
    match outcome {
        Outcome::Ok { value: Some(v) } if v.text() == "2" => Ok(()),
        other => Err(format!("1+1 gave {other:?}")),
    }
}

/// The same figures from jupyter_client (benches/jupyter_baseline.py --only kernel).
fn jupyter_kernel_baseline(s: &Settings, python: &str) -> R<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/jupyter_baseline.py");
    let (starts, rtt, kills) = if s.quick {
        ("5", "200", "5")
    } else {
        ("10", "500", "10")
    };
    let out = Proc::new(python)
        .arg(&script)
        .args(["--only", "kernel", "--python", python])
        .args(["--start-runs", starts, "--rtt-runs", rtt, "--kill-runs", kills])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("JSON "))
        .ok_or_else(|| format!("jupyter_baseline.py printed no JSON line: {text}"))?;
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    Ok(v["results"]["kernel"].clone())
}

fn kernel_figures(s: &Settings, rep: &mut Report) {
    if !(12..=14).any(|f| s.wants(f)) {
        return;
    }
    let Some(python) = venv_python() else {
        println!("[12-14] skipped: RUNYARD_TEST_VENV is not set (scripts/test makes the venv with ipykernel)");
        return;
    };
    println!("[12-14] ipykernel as a runtime node: start, 1+1, SIGKILL → NodeDown, vs jupyter_client…");
    let figures = match bench_kernel(s, &python) {
        Ok(f) => f,
        Err(e) => {
            rep.rows.push(failed("12-14. Jupyter kernel (ipykernel)", "-", &e));
            return;
        }
    };
    let base = jupyter_kernel_baseline(s, &python);
    let b = |path: &[&str]| -> String {
        match &base {
            Ok(v) => {
                let mut x = v;
                for key in path {
                    x = &x[*key];
                }
                x.as_f64().map_or("n/a".into(), |m| format!("{m:.1} ms"))
            }
            Err(e) => format!("FAILED: {e}"),
        }
    };
    let rows = [
        (
            "12. kernel start → ready (median)",
            &figures.ready,
            format!(
                "{} first kernel_info_reply | {} wait_for_ready()",
                b(&["first_kernel_info_reply", "median_ms"]),
                b(&["wait_for_ready", "median_ms"])
            ),
            "kernel_start_ready_median_ms",
        ),
        (
            "    start → first `1+1` result (median)",
            &figures.first,
            format!("{} jupyter_client", b(&["first_result", "median_ms"])),
            "kernel_start_first_result_median_ms",
        ),
        (
            "13. kernel `1+1` round trip (median)",
            &figures.rtt,
            format!(
                "{} execute_interactive | {} raw zmq",
                b(&["rtt_execute_interactive", "median_ms"]),
                b(&["rtt_raw_zmq", "median_ms"])
            ),
            "kernel_rtt_median_ms",
        ),
        (
            "14. kernel SIGKILL → NodeDown (median)",
            &figures.down,
            format!("{} is_alive() 10 ms poll", b(&["kill_is_alive_10ms", "median_ms"])),
            "kernel_kill_to_down_median_ms",
        ),
    ];
    for (what, xs, baseline, key) in rows {
        let m = median(xs);
        rep.rows.push(Row {
            what: what.into(),
            figure: format!("{m:.2} ms (n={})", xs.len()),
            baseline,
            goal: "-".into(),
            met: None,
        });
        rep.out.insert(key.into(), json!(round(m, 3)));
    }
    if let Ok(v) = base {
        rep.out.insert("kernel_jupyter_client_baseline".into(), v);
    }
}

// ---------------------------------------------------------------------------
// Completion (figure 15): on the test venv's python, with pandas imported.
// ---------------------------------------------------------------------------

/// What is completed: a module's members and a DataFrame's attributes.
const COMPLETED: [&str; 2] = ["pd.", "df."];

/// What figure 15 measured (ms): the first request (which compiles the
/// agent's completion code), each code's tries with its match count, and the
/// `1+1` round trips interleaved with them.
struct CompletionFigures {
    first: f64,
    tries: Vec<(&'static str, Vec<f64>, usize)>,
    one_plus_one: Vec<f64>,
}

/// Sends one `Complete` at the end of `code`, in the setup cell's context,
/// and waits for its answer: (time, matches).
fn complete_once(m: &Manager, session: SessionId, id: u64, code: &str) -> R<(Duration, usize)> {
    let request = CompletionRequest {
        id,
        container: "bench".into(),
        prev_evaluation_ref: Some("setup".into()),
        prev_container: None,
        code: code.into(),
        cursor: code.chars().count(),
    };
    let t0 = Instant::now();
    m.send(Command::Complete { session, request });
    wait_for(m, EVENT_TIMEOUT, |e| match e {
        Event::Completions {
            session: s,
            id: i,
            matches,
            ..
        } if s == session && i == id => Some(if matches.is_empty() {
            Err(format!("no completions for {code:?}"))
        } else {
            Ok((t0.elapsed(), matches.len()))
        }),
        Event::NodeDown { session: s, exit, .. } if s == session => Some(Err(format!("node down: {exit}"))),
        _ => None,
    })
}

fn bench_completion(s: &Settings, python: &str) -> R<CompletionFigures> {
    let setup = "import pandas as pd\ndf = pd.DataFrame({'a': range(1000), 'b': 0.5, 'c': 'text'})";
    let (m, session) = start_venv_runtime(python, setup)?;
    let tries = if s.quick { 20 } else { 50 };
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    let first = ms(complete_once(&m, session, next(), COMPLETED[0])?.0);
    let mut figures = CompletionFigures {
        first,
        tries: COMPLETED.iter().map(|&code| (code, Vec::new(), 0)).collect(),
        one_plus_one: Vec::new(),
    };
    for i in 0..tries {
        for (code, times, count) in &mut figures.tries {
            let (t, n) = complete_once(&m, session, next(), code)?;
            times.push(ms(t));
            *count = n;
        }
        let (outcome, _, rtt) = evaluate(&m, session, &format!("e{i}"), "1+1")?;
        check_two(&outcome)?;
        figures.one_plus_one.push(ms(rtt));
    }
    Ok(figures)
}

fn completion_figures(s: &Settings, rep: &mut Report) {
    if !s.wants(15) {
        return;
    }
    let Some(python) = venv_python() else {
        println!("[15] skipped: RUNYARD_TEST_VENV is not set (scripts/test makes the venv with pandas)");
        return;
    };
    println!("[15] completion with pandas imported (`pd.`, `df.`), beside 1+1…");
    let goal = "p95 ≤ 50 ms";
    match bench_completion(s, &python) {
        Ok(f) => {
            let (b50, b95) = (percentile(&f.one_plus_one, 50.0), percentile(&f.one_plus_one, 95.0));
            let mut all_met = true;
            for (code, times, count) in &f.tries {
                let (p50, p95) = (percentile(times, 50.0), percentile(times, 95.0));
                let met = p95 <= 50.0;
                all_met &= met;
                rep.rows.push(Row {
                    what: format!("15. completion `{code}` → list (p50 / p95)"),
                    figure: format!("{p50:.2} / {p95:.2} ms ({count} matches)"),
                    baseline: format!("{b50:.2} / {b95:.2} ms  1+1 round trip, same runtime"),
                    goal: goal.into(),
                    met: Some(met),
                });
                let key = code.trim_end_matches('.');
                rep.out.insert(format!("completion_{key}_p50_ms"), json!(round(p50, 3)));
                rep.out.insert(format!("completion_{key}_p95_ms"), json!(round(p95, 3)));
                rep.out.insert(format!("completion_{key}_matches"), json!(count));
            }
            rep.rows.push(Row {
                what: "   first request (compiles the completion code)".into(),
                figure: format!("{:.1} ms", f.first),
                baseline: "".into(),
                goal: "-".into(),
                met: None,
            });
            rep.out.insert("completion_first_ms".into(), json!(round(f.first, 2)));
            rep.out
                .insert("completion_baseline_1p1_p50_ms".into(), json!(round(b50, 3)));
            rep.out
                .insert("completion_baseline_1p1_p95_ms".into(), json!(round(b95, 3)));
            rep.goals.insert("completion_p95_le_50ms".into(), json!(all_met));
        }
        Err(e) => {
            rep.rows.push(failed("15. completion → list", goal, &e));
            rep.goals.insert("completion_p95_le_50ms".into(), json!(false));
        }
    }
}

fn failed(what: &str, goal: &str, err: &str) -> Row {
    eprintln!("{what}: FAILED: {err}");
    Row {
        what: what.into(),
        figure: format!("FAILED: {err}"),
        baseline: "-".into(),
        goal: goal.into(),
        met: Some(false),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let s = Settings::from_env();
    // The Elixir agent's cache: a fresh one per run, so that the first start
    // is the cold one (compiling the agent) and what is measured is the same
    // on every run and machine.
    let _cache = if std::env::var_os(elixir::CACHE_DIR_ENV).is_none() && (6..=9).any(|f| s.wants(f)) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // SAFETY: no other thread exists yet (no manager has been started).
        unsafe { std::env::set_var(elixir::CACHE_DIR_ENV, dir.path()) };
        Some(dir)
    } else {
        None
    };
    let configured = std::env::var("RUNYARD_BENCH_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    println!(
        "runyard runtime benchmarks{} — {} CPUs",
        if s.quick {
            " (QUICK: smaller counts, short idle window)"
        } else {
            ""
        },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );

    let unbuffered = std::env::var_os("PYTHONUNBUFFERED").is_some_and(|v| !v.is_empty());
    let mut rep = Report {
        rows: Vec::new(),
        out: Json::new(),
        goals: Json::new(),
    };
    rep.out.insert("quick".into(), json!(s.quick));
    if let Some(only) = &s.only {
        rep.out.insert("only".into(), json!(only));
    }
    // Python is started (and must start) only when a Python figure is wanted.
    let mut exe = configured.clone();
    if (1..=5).any(|f| s.wants(f)) {
        let (info, first_start) = match resolve_interpreter(&configured) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("cannot start a Python runtime with {configured:?}: {e}");
                println!(
                    "{}",
                    json!({ "error": format!("cannot start a Python runtime with {configured:?}: {e}") })
                );
                std::process::exit(1);
            }
        };
        exe = info.executable.clone();
        println!(
            "interpreter: {configured} -> {exe} (Python {}); first start through it: {:.1} ms",
            info.language_version,
            ms(first_start)
        );
        rep.out.insert("python_configured".into(), json!(configured));
        rep.out.insert("python".into(), json!(exe));
        rep.out.insert("python_version".into(), json!(info.language_version));
        rep.out.insert("env_pythonunbuffered".into(), json!(unbuffered));
        rep.out
            .insert("first_start_via_configured_ms".into(), json!(round(ms(first_start), 2)));
    }

    let python = Lang::python(&exe);
    report_start(&s, &PYTHON, &python, &mut rep);
    report_eval(&s, &PYTHON, &python, &mut rep);

    // 3. 200,000 print lines
    if s.wants(3) {
        println!("[3/9] a cell printing {PRINT_LINES} lines ({} runs)…", s.print_runs);
        let what = "3. print 200,000 lines until done (median)";
        let goal = "≤ 0.15 s";
        match bench_print(&s, &exe) {
            Ok(f) => {
                let r = median(&f.runyard);
                let (bc, bw) = (median(&f.baseline_cold), median(&f.baseline_warm));
                let met = r <= 0.15;
                rep.rows.push(Row {
                    what: what.into(),
                    figure: format!(
                        "{r:.3} s ({:.1} MB/s, {} output msgs)",
                        f.bytes as f64 / r / 1e6,
                        f.messages
                    ),
                    baseline: format!("{bc:.3} s  `python -c <loop>` | pipe → EOF*"),
                    goal: goal.into(),
                    met: Some(met),
                });
                rep.rows.push(Row {
                    what: "   warm baseline (interpreter already up)".into(),
                    figure: "".into(),
                    baseline: format!("{bw:.3} s"),
                    goal: "-".into(),
                    met: None,
                });
                rep.rows.push(Row {
                    what: "   bytes, checked in order".into(),
                    figure: format!("{} ✓", f.bytes),
                    baseline: format!("{} ✓", f.bytes),
                    goal: "all, in order".into(),
                    met: Some(true),
                });
                rep.out.insert("print200k_median_s".into(), json!(round(r, 4)));
                rep.out.insert("print200k_output_messages".into(), json!(f.messages));
                rep.out.insert("print200k_bytes".into(), json!(f.bytes));
                rep.out
                    .insert("print200k_baseline_cold_median_s".into(), json!(round(bc, 4)));
                rep.out
                    .insert("print200k_baseline_warm_median_s".into(), json!(round(bw, 4)));
                rep.goals.insert("print200k_le_0_15s".into(), json!(met));
            }
            Err(e) => {
                rep.rows.push(failed(what, goal, &e));
                rep.goals.insert("print200k_le_0_15s".into(), json!(false));
            }
        }
    }

    report_kill(&s, &PYTHON, &python, &mut rep);
    report_idle(&s, &PYTHON, &python, &mut rep);

    elixir_figures(&s, &mut rep);
    rich_figures(&s, &mut rep);
    kernel_figures(&s, &mut rep);
    completion_figures(&s, &mut rep);

    print_table(&rep.rows);
    if s.wants(3) {
        println!(
            "* the print baselines run with PYTHONUNBUFFERED removed from their environment (it is{} set here): a",
            if unbuffered { "" } else { " not" }
        );
        println!("  default interpreter block-buffers a pipe; the agent sets its own buffering either way.");
    }
    let all = rep.goals.values().all(|v| v == &json!(true));
    rep.out.insert("goals".into(), Value::Object(rep.goals));
    rep.out.insert("all_goals_met".into(), json!(all));
    println!("{}", Value::Object(rep.out));
}
