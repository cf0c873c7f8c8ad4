//! The supervisor: a small process between the manager and each runtime.
//!
//! The manager starts the Runyard binary in this helper mode
//! (`runyard __supervise …`); it becomes the runtime's parent and a child
//! subreaper, so every process the runtime starts — even one that calls
//! `setsid()` or double-forks — stays below it. It kills all of them when
//! the runtime ends, when its lifeline to the manager closes (the manager
//! stopped it, or died by any means, SIGKILL included), or when it is told to
//! terminate. It runs no user code, so nothing a cell does (a native call
//! holding Python's GIL, say) can keep it from doing that.
//!
//! File descriptors on entry: 0–2 are the runtime's stdin, protocol stdout
//! and stderr, passed through unchanged; 3 is the lifeline (a Unix socket to
//! the manager); with `--capture`, 4 and 5 are the write ends of the pipes
//! the runtime's output goes to, handed to it as its fds 3 and 4. The manager
//! holds their read ends, so what the runtime wrote before it died is read
//! to the last byte whatever happens to the runtime.
//!
//! Reports on the lifeline, one line each: `pid PID` once the runtime runs,
//! `error ERRNO MESSAGE` if it could not be started, `exit CODE SIGNAL
//! PEAK_RSS_KIB` (`-` for a missing field) when it ended. The lifeline
//! closes once everything below the supervisor is gone.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, killpg, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

/// The first argument that selects this mode.
pub const MODE_ARG: &str = "__supervise";
/// In the runtime's environment: the marker key that its output pipes use
/// (see `protocol::capture`), when they are the manager's.
pub const CAPTURE_ENV: &str = "RUNYARD_CAPTURE";

const LIFELINE: RawFd = 3;
const CAPTURE_OUT: RawFd = 4;
const CAPTURE_ERR: RawFd = 5;
/// How long the supervisor keeps killing what is left before it gives up
/// (a process stuck in the kernel cannot be reaped until it leaves it).
const KILL_DEADLINE: Duration = Duration::from_secs(5);
/// How long a runtime with a cleanup command (`srun`) is given to end on
/// SIGTERM before everything is killed. srun ends its job at once on SIGTERM
/// (about 20 ms, measured); SIGKILLed with its helper, it leaves the job to
/// Slurm, which takes about 2.7 s to end it even after `scancel`.
const TERMINATE_GRACE: Duration = Duration::from_secs(1);

/// Where the manager finds the Runyard binary to run in this mode.
static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Names the Runyard binary that supervises runtimes; `runyard` itself
/// registers its own path at start-up. Library users that do not are served
/// by `RUNYARD_BIN` or a `runyard` next to their executable.
pub fn set_program(path: PathBuf) {
    let _ = PROGRAM.set(path);
}

/// The binary to start as a supervisor, or where it was looked for.
pub fn program() -> Result<PathBuf, Vec<PathBuf>> {
    if let Some(path) = PROGRAM.get() {
        return Ok(path.clone());
    }
    let mut searched = Vec::new();
    if let Some(path) = std::env::var_os("RUNYARD_BIN").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        searched.push(path);
    }
    // Next to the executable, or one level up: where Cargo puts the binary
    // beside the test and bench executables in target/<profile>/deps.
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join(format!("runyard{}", std::env::consts::EXE_SUFFIX));
            if candidate.is_file() && candidate != exe {
                return Ok(candidate);
            }
            searched.push(candidate);
        }
    }
    Err(searched)
}

/// The arguments that start the supervisor for `program args…`; with
/// `remove`, a file it removes once everything below it is gone (a
/// kernel's connection file).
pub fn args(
    capture: bool,
    remove: Option<&std::path::Path>,
    cleanup: &[OsString],
    death_signal: Signal,
    program: &std::path::Path,
    rest: &[OsString],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![MODE_ARG.into()];
    if capture {
        args.push("--capture".into());
    }
    if let Some(path) = remove {
        args.push("--remove".into());
        args.push(path.into());
    }
    for arg in cleanup {
        args.push("--cleanup".into());
        args.push(arg.clone());
    }
    args.push((death_signal as i32).to_string().into());
    args.push("--".into());
    args.push(program.into());
    args.extend(rest.iter().cloned());
    args
}

/// A report line from the supervisor, as the manager reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Started {
        pid: u32,
    },
    SpawnFailed {
        errno: i32,
        message: String,
    },
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        peak_rss: Option<u64>,
    },
}

impl Report {
    /// Parses one line; `None` for anything else (never trusted blindly: the
    /// supervisor is ours, but the line crossed a process boundary).
    pub fn parse(line: &str) -> Option<Report> {
        let mut words = line.trim_end().splitn(3, ' ');
        let field = |w: Option<&str>| -> Option<Option<i64>> {
            match w? {
                "-" => Some(None),
                n => n.parse().ok().map(Some),
            }
        };
        match words.next()? {
            "pid" => Some(Report::Started {
                pid: words.next()?.parse().ok()?,
            }),
            "error" => Some(Report::SpawnFailed {
                errno: words.next()?.parse().ok()?,
                message: words.next().unwrap_or_default().to_string(),
            }),
            "exit" => {
                let code = field(words.next())?;
                let mut rest = words.next()?.split(' ');
                let signal = field(rest.next())?;
                let rss = field(rest.next())?;
                Some(Report::Exited {
                    code: code.and_then(|c| i32::try_from(c).ok()),
                    signal: signal.and_then(|s| i32::try_from(s).ok()),
                    peak_rss: rss.and_then(|r| u64::try_from(r).ok()).map(|kib| kib * 1024),
                })
            }
            _ => None,
        }
    }
}

/// The supervisor's `main`: never returns.
pub fn main(args: &[OsString]) -> ! {
    let code = match Options::parse(args) {
        Ok(options) => run(options),
        Err(message) => {
            eprintln!("runyard {MODE_ARG}: {message}");
            2
        }
    };
    std::process::exit(code)
}

struct Options {
    capture: bool,
    remove: Option<PathBuf>,
    /// A command run once everything is killed (`scancel` of a Slurm job:
    /// killing `srun` does not end its job at once). A runtime that has one
    /// is sent SIGTERM first, and killed only if it has not ended within
    /// `TERMINATE_GRACE`.
    cleanup: Vec<OsString>,
    death_signal: Signal,
    program: OsString,
    args: Vec<OsString>,
}

impl Options {
    fn parse(args: &[OsString]) -> Result<Options, String> {
        let mut args = args.iter();
        let mut capture = false;
        let mut remove = None;
        let mut cleanup = Vec::new();
        let mut signal = None;
        while let Some(arg) = args.next() {
            match arg.to_str() {
                Some("--capture") => capture = true,
                Some("--remove") => remove = Some(PathBuf::from(args.next().ok_or("--remove needs a path")?)),
                Some("--cleanup") => cleanup.push(args.next().ok_or("--cleanup needs an argument")?.clone()),
                Some("--") => break,
                Some(n) if signal.is_none() => {
                    let number: i32 = n.parse().map_err(|_| format!("not a signal number: {n}"))?;
                    signal = Some(Signal::try_from(number).map_err(|e| format!("signal {number}: {e}"))?);
                }
                _ => return Err(format!("unexpected argument {arg:?}")),
            }
        }
        let program = args.next().ok_or("no program to supervise")?.clone();
        Ok(Options {
            capture,
            remove,
            cleanup,
            death_signal: signal.ok_or("no death signal")?,
            program,
            args: args.cloned().collect(),
        })
    }
}

fn run(options: Options) -> i32 {
    // SAFETY: the manager passes fd 3 (and 4, 5 with --capture) to us alone.
    let lifeline = unsafe { OwnedFd::from_raw_fd(LIFELINE) };
    let mut report = Lifeline(std::fs::File::from(lifeline));
    for fd in [LIFELINE, CAPTURE_OUT, CAPTURE_ERR] {
        // Only the runtime gets the capture pipes, and nothing gets the lifeline.
        let _ = nix::fcntl::fcntl(
            unsafe { BorrowedFd::borrow_raw(fd) },
            nix::fcntl::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    if let Err(err) = nix::sys::prctl::set_child_subreaper(true) {
        report.line(&format!("error {} cannot become a subreaper: {err}", err as i32));
        return 1;
    }
    // Signals arrive through a descriptor, so the loop handles them in turn.
    let mut watched = SigSet::empty();
    for signal in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        watched.add(signal);
    }
    let signals = match sigprocmask(SigmaskHow::SIG_BLOCK, Some(&watched), None)
        .and_then(|()| SignalFd::with_flags(&watched, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK))
    {
        Ok(fd) => fd,
        Err(err) => {
            report.line(&format!("error {} cannot watch signals: {err}", err as i32));
            return 1;
        }
    };

    let child = match spawn(&options) {
        Ok(child) => child,
        Err(err) => {
            let errno = err.raw_os_error().unwrap_or(0);
            report.line(&format!("error {errno} {err}"));
            if let Some(path) = &options.remove {
                let _ = std::fs::remove_file(path);
            }
            return 0;
        }
    };
    let pid = child.id() as i32;
    drop(child); // reaped below with wait4, for its peak memory
    report.line(&format!("pid {pid}"));
    // The runtime's ends of its pipes must close when it does, not when we do.
    release_stdio(options.capture);

    let mut supervisor = Supervisor {
        runtime: Pid::from_raw(pid),
        ended: false,
        report,
    };
    supervisor.watch(&signals);
    if !options.cleanup.is_empty() {
        supervisor.terminate(TERMINATE_GRACE);
    }
    supervisor.kill_all();
    if let Some(path) = &options.remove {
        // Only once nothing that could still read it is left.
        let _ = std::fs::remove_file(path);
    }
    run_cleanup(&options.cleanup);
    0
}

/// How long the cleanup command may take (an `ssh` to a login node whose
/// network is gone would otherwise hold the supervisor for minutes).
const CLEANUP_DEADLINE: Duration = Duration::from_secs(15);

fn run_cleanup(argv: &[OsString]) {
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
    let Ok(mut child) = child else { return };
    let deadline = Instant::now() + CLEANUP_DEADLINE;
    loop {
        match child.try_wait() {
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                let _ = child.wait();
                return;
            }
            _ => return,
        }
    }
}

fn spawn(options: &Options) -> std::io::Result<std::process::Child> {
    let mut command = Command::new(&options.program);
    command.args(&options.args).process_group(0);
    let (capture, death_signal) = (options.capture, options.death_signal);
    let parent = nix::unistd::getpid();
    // SAFETY: between fork and exec only async-signal-safe calls, no allocation.
    unsafe {
        command.pre_exec(move || {
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            #[cfg(target_os = "linux")]
            nix::sys::prctl::set_pdeathsig(death_signal)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            if capture {
                // The runtime finds its output pipes at 3 and 4 (dup2 clears close-on-exec).
                if libc::dup2(CAPTURE_OUT, 3) < 0 || libc::dup2(CAPTURE_ERR, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Points our own fds 0–2 at /dev/null and closes the capture pipes.
fn release_stdio(capture: bool) {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in 0..=2 {
            // SAFETY: plain descriptor juggling on fds we own.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    if capture {
        for fd in [CAPTURE_OUT, CAPTURE_ERR] {
            // SAFETY: ours, and used by nothing else in this process.
            unsafe { libc::close(fd) };
        }
    }
}

struct Lifeline(std::fs::File);

impl Lifeline {
    fn line(&mut self, text: &str) {
        // A manager that is gone cannot be told; the caller kills all anyway.
        let _ = self.0.write_all(format!("{text}\n").as_bytes());
    }
}

struct Supervisor {
    runtime: Pid,
    ended: bool,
    report: Lifeline,
}

impl Supervisor {
    /// Waits until the runtime ends, the lifeline closes, or a signal says stop.
    fn watch(&mut self, signals: &SignalFd) {
        let lifeline = self.report.0.try_clone();
        loop {
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            if let Ok(file) = &lifeline {
                fds.push(PollFd::new(file.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            }
            let lifeline_ready = fds.get(1).and_then(PollFd::revents).is_some_and(|r| !r.is_empty());
            let signal_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
            if signal_ready {
                while let Ok(Some(info)) = signals.read_signal() {
                    if info.ssi_signo != Signal::SIGCHLD as u32 {
                        return; // SIGTERM (the manager's thread died), SIGHUP, SIGINT
                    }
                }
                self.reap();
                if self.ended {
                    return;
                }
            }
            if lifeline_ready {
                let mut buf = [0u8; 64];
                match nix::unistd::read(self.report.0.as_fd(), &mut buf) {
                    // Nothing is ever sent: data would be a mistake, EOF is the order to stop.
                    Ok(n) if n > 0 => {}
                    Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                    _ => return,
                }
            }
        }
    }

    /// Reaps every child that ended; reports the runtime's end.
    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: rusage is plain data that wait4 fills in.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            let pid = unsafe { libc::wait4(-1, &mut status, libc::WNOHANG, &mut usage) };
            if pid <= 0 {
                return;
            }
            if pid == self.runtime.as_raw() && !self.ended {
                self.ended = true;
                let (code, signal) = if libc::WIFEXITED(status) {
                    (libc::WEXITSTATUS(status).to_string(), "-".to_string())
                } else if libc::WIFSIGNALED(status) {
                    ("-".to_string(), libc::WTERMSIG(status).to_string())
                } else {
                    ("-".to_string(), "-".to_string())
                };
                self.report
                    .line(&format!("exit {code} {signal} {}", usage.ru_maxrss.max(0)));
            }
        }
    }

    /// Sends SIGTERM to the runtime alone (not its group) unless it has
    /// ended, and waits at most `grace` for it to end.
    fn terminate(&mut self, grace: Duration) {
        if self.ended {
            return;
        }
        let _ = nix::sys::signal::kill(self.runtime, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            self.reap();
            if self.ended || Instant::now() > deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Kills the runtime and everything below us, until nothing is left.
    fn kill_all(&mut self) {
        let _ = killpg(self.runtime, Signal::SIGKILL);
        let deadline = Instant::now() + KILL_DEADLINE;
        let me = std::process::id();
        let children_file = format!("/proc/{me}/task/{me}/children");
        loop {
            self.reap();
            let children: Vec<i32> = std::fs::read_to_string(&children_file)
                .map(|text| text.split_whitespace().filter_map(|p| p.parse().ok()).collect())
                .unwrap_or_default();
            if children.is_empty() || Instant::now() > deadline {
                return;
            }
            for child in children {
                // A killed process's own children become ours, for the next round.
                let _ = nix::sys::signal::kill(Pid::from_raw(child), Signal::SIGKILL);
                let _ = killpg(Pid::from_raw(child), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse_and_bad_lines_do_not() {
        assert_eq!(Report::parse("pid 42\n"), Some(Report::Started { pid: 42 }));
        assert_eq!(
            Report::parse("error 2 No such file or directory (os error 2)"),
            Some(Report::SpawnFailed {
                errno: 2,
                message: "No such file or directory (os error 2)".into()
            })
        );
        assert_eq!(
            Report::parse("exit 3 - 10240"),
            Some(Report::Exited {
                code: Some(3),
                signal: None,
                peak_rss: Some(10240 * 1024)
            })
        );
        assert_eq!(
            Report::parse("exit - 9 -"),
            Some(Report::Exited {
                code: None,
                signal: Some(9),
                peak_rss: None
            })
        );
        for bad in ["", "pid", "pid x", "exit 1", "exit a b c", "hello 1", "error x y"] {
            assert_eq!(Report::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn options_take_capture_signal_and_command() {
        let args = args(
            true,
            Some(std::path::Path::new("/run/k.json")),
            &["scancel".into(), "--name=j".into()],
            Signal::SIGTERM,
            std::path::Path::new("/usr/bin/python3"),
            &["-c".into()],
        );
        assert_eq!(args[0], MODE_ARG);
        let options = Options::parse(&args[1..]).unwrap();
        assert!(options.capture);
        assert_eq!(options.remove.as_deref(), Some(std::path::Path::new("/run/k.json")));
        assert_eq!(options.death_signal, Signal::SIGTERM);
        assert_eq!(options.program, "/usr/bin/python3");
        assert_eq!(options.args, ["-c"]);
        assert_eq!(options.cleanup, ["scancel", "--name=j"]);
        assert!(Options::parse(&["x".into()]).is_err());
        assert!(Options::parse(&["15".into(), "--".into()]).is_err());
    }
}
