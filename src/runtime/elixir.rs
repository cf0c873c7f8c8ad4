//! The Elixir runtimes: the agent, embedded at build time, where it is put
//! for the node to load, and the command lines of a standalone node and of an
//! attach bridge (see `assets/agents/README.md`, "What the manager does").

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;

use super::InitError;

/// The agent (standalone runtime and attach bridge in one file). The node
/// compiles it on first use and caches the `.beam` files next to it.
pub const AGENT_SOURCE: &str = include_str!("../../assets/agents/elixir_agent.ex");

/// The bootstrap, passed verbatim as `-e`: loads (or first compiles) the agent.
pub const BOOT_SOURCE: &str = include_str!("../../assets/agents/elixir_boot.exs");

/// `-noinput` keeps the BEAM's own `user` process off fd 0, where the agent
/// reads commands; the `+sbwt` flags stop idle schedulers from busy-waiting.
pub const ERL_FLAGS: &str = "+sbwt none +sbwtdcpu none +sbwtdio none -noinput";

/// SIGKILL, not SIGTERM: the BEAM answers SIGTERM with a graceful
/// `init:stop()`, which waits for applications (and for a process stuck in a
/// long native call) and can take seconds. The parent-death signal only
/// matters when the manager died without a `stop`; then the agent's stdin
/// has closed too, so nothing graceful is left to do. What it costs: OS
/// processes started from Elixir (`System.cmd`, ports) live in sessions of
/// their own and are not killed with the BEAM; they see EOF on their stdin.
pub const DEATH_SIGNAL: Signal = Signal::SIGKILL;

/// Overrides the cache root (the platform's cache directory for `runyard`).
pub const CACHE_DIR_ENV: &str = "RUNYARD_CACHE_DIR";

/// The name of the agent's source in its cache directory.
const AGENT_FILE: &str = "elixir_agent.ex";

/// Names the agent's cache directory: 16 hex digits of a 64-bit FNV-1a hash
/// of the embedded source, computed at compile time. The key only has to
/// change whenever the source does (the compiled code inside is further keyed
/// by Elixir and OTP version by the bootstrap), and it names a cache, not a
/// trust decision: a non-cryptographic hash is enough and needs no dependency.
pub const AGENT_KEY: &str = match std::str::from_utf8(&KEY_HEX) {
    Ok(key) => key,
    Err(_) => panic!("hex digits are ASCII"),
};

const KEY_HEX: [u8; 16] = hex(fnv1a64(AGENT_SOURCE.as_bytes()));

const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const fn hex(value: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = DIGITS[((value >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

/// Where agents are cached: `$RUNYARD_CACHE_DIR`, else the platform's cache
/// directory for Runyard (`~/.cache/runyard` on Linux). `None` when there is
/// no home directory to find it from.
pub fn cache_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "runyard").map(|dirs| dirs.cache_dir().to_path_buf())
}

/// The agent's directory under a cache root: `<root>/agents/elixir/<key>`.
pub fn agent_dir(root: &Path) -> PathBuf {
    root.join("agents").join("elixir").join(AGENT_KEY)
}

/// Makes sure `<agent dir>/elixir_agent.ex` holds this build's agent and
/// returns the directory, which the node is started with.
///
/// The source is written to a temporary file in the same directory and
/// renamed into place, so a node starting concurrently (another session,
/// another Runyard) reads either nothing or the whole file. An existing file
/// is compared with the embedded source (45 KB, microseconds) and replaced
/// if it differs, so that a damaged cache mends itself.
pub fn install_agent(root: &Path) -> Result<PathBuf, InitError> {
    let dir = agent_dir(root);
    let file = dir.join(AGENT_FILE);
    if std::fs::read(&file).is_ok_and(|bytes| bytes == AGENT_SOURCE.as_bytes()) {
        return Ok(dir);
    }
    let failed = |what: &str, err: std::io::Error| InitError::AgentInstall {
        path: dir.clone(),
        message: format!("{what}: {err}"),
    };
    // 0700 from the cache root down: the cache is Runyard's own.
    crate::fsutil::private_tree(root, &dir).map_err(|e| failed("cannot create the directory", e))?;
    // Unique per process *and* call: managers in one process may race too.
    let tmp = dir.join(format!("{AGENT_FILE}.tmp{}-{}", std::process::id(), super::short_id()?));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(AGENT_SOURCE.as_bytes()))
        .map_err(|e| failed("cannot write the agent", e))
        .and_then(|()| std::fs::rename(&tmp, &file).map_err(|e| failed("cannot move the agent into place", e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else {
        tracing::info!(dir = %dir.display(), "installed the Elixir agent");
    }
    written.map(|()| dir)
}

/// What the node does once started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    /// Evaluate on this node.
    Standalone,
    /// Be a bridge that evaluates on `target` (`name@host` or `name`).
    Attach { target: &'a str },
}

/// The node's naming mode: short- and long-named nodes cannot connect to
/// each other, so a bridge takes its target's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// `name@host.example` or `name@127.0.0.1` (`--name`).
    Long,
    /// `name@host` (`--sname`).
    Short,
}

impl Names {
    /// The `elixir`/`iex` switch that starts a node named this way.
    pub fn switch(self) -> &'static str {
        match self {
            Names::Long => "--name",
            Names::Short => "--sname",
        }
    }

    /// The word the agent's argv carries (`:net_kernel.start/1`'s mode).
    fn word(self) -> &'static str {
        match self {
            Names::Long => "longnames",
            Names::Short => "shortnames",
        }
    }
}

/// How the node is named. A standalone node is `<node>@127.0.0.1`: a long
/// name on the loopback address it listens on, so that no hostname lookup is
/// involved (Debian maps the hostname to 127.0.1.1, where nothing listens).
/// A bridge matches its target: a short name for `app` or `app@vm`, a long
/// one for a target with a dot in its host.
pub fn node_naming(node: &str, mode: Mode<'_>) -> (Names, String) {
    let Mode::Attach { target } = mode else {
        return (Names::Long, format!("{node}@127.0.0.1"));
    };
    let host = target.split_once('@').map_or("", |(_, host)| host);
    if !host.contains('.') {
        return (Names::Short, node.to_string());
    }
    // A target on a loopback address is reached from one; elsewhere Erlang
    // picks this machine's fully qualified name.
    if host.starts_with("127.") {
        (Names::Long, format!("{node}@127.0.0.1"))
    } else {
        (Names::Long, node.to_string())
    }
}

/// The environment variable that carries the cookie to the agent, which
/// removes it from its environment at once (so `System.cmd` children do not
/// inherit it). A process's environment, unlike its command line, is
/// readable by its owner alone.
pub const COOKIE_ENV: &str = "RUNYARD_COOKIE";

/// The `--erl` value. `-nocookie` keeps the BEAM from reading (or creating)
/// `~/.erlang.cookie` when distribution starts; it is used only where there
/// is no home directory to find that file in, because until the agent sets
/// the real cookie (microseconds later) the node would accept the cookie
/// `nocookie`, while with the default it accepts only the owner's own.
pub fn erl_flags(nocookie: bool) -> String {
    if nocookie {
        format!("{ERL_FLAGS} -nocookie")
    } else {
        ERL_FLAGS.to_string()
    }
}

/// Whether the node needs `-nocookie` (see [`erl_flags`]): when `home` (the
/// node's `HOME`) is missing or not a directory, distribution could not
/// start otherwise.
pub fn needs_nocookie(home: Option<&Path>) -> bool {
    !home.is_some_and(Path::is_dir)
}

/// Arguments after `elixir`, one argv element each:
/// `--erl <flags> -e <boot> -- <dir> <longnames|shortnames> <name> standalone <token>`
/// (or `… attach <target> <token>`). No cookie and no `--sname`/`--name`:
/// a command line is readable by every local user, so the agent starts
/// distribution itself, bound to 127.0.0.1, with the cookie from
/// [`COOKIE_ENV`].
pub fn agent_args(node: &str, dir: &Path, mode: Mode<'_>, token: &str, erl_flags: &str) -> Vec<OsString> {
    let (names, name) = node_naming(node, mode);
    let mut args: Vec<OsString> = vec![
        "--erl".into(),
        erl_flags.into(),
        "-e".into(),
        BOOT_SOURCE.into(),
        "--".into(),
        dir.into(),
        names.word().into(),
        name.into(),
    ];
    match mode {
        Mode::Standalone => args.push("standalone".into()),
        Mode::Attach { target } => args.extend(["attach".into(), target.into()]),
    }
    args.push(token.into());
    args
}

/// The command line as shown to users: the real one with the bootstrap and
/// the token elided (the cookie is not on it; the runtime panel shows it
/// from the handshake).
pub fn display_command(
    executable: &str,
    extra_args: &[String],
    node: &str,
    dir: Option<&Path>,
    mode: Mode<'_>,
    erl_flags: &str,
) -> String {
    let (names, name) = node_naming(node, mode);
    let mut parts = vec![executable.to_string()];
    parts.extend(extra_args.iter().cloned());
    parts.extend([
        "--erl".into(),
        format!("\"{erl_flags}\""),
        "-e".into(),
        "<runyard elixir boot>".into(),
        "--".into(),
        dir.map_or_else(|| "<agent dir>".into(), |d| d.display().to_string()),
        names.word().into(),
        name,
    ]);
    match mode {
        Mode::Standalone => parts.push("standalone".into()),
        Mode::Attach { target } => parts.extend(["attach".into(), target.to_string()]),
    }
    parts.push("<token>".into());
    parts.join(" ")
}

/// The command with which the owner opens a remote shell on `node` (as
/// `hello` reported it) with `cookie` (as the runtime panel shows it). The
/// shell's own node is named the same way, since short- and long-named nodes
/// cannot connect; on a loopback node it is on 127.0.0.1 too.
pub fn remsh_command(node: &str, cookie: &str) -> String {
    let (name, host) = node.split_once('@').unwrap_or((node, ""));
    let me = format!("remsh-{}", name.trim_start_matches("runyard-"));
    let (switch, me) = if !host.contains('.') {
        ("--sname", me)
    } else if host.starts_with("127.") {
        ("--name", format!("{me}@127.0.0.1"))
    } else {
        ("--name", me)
    };
    format!("iex {switch} {me} --cookie {cookie} --remsh {node}")
}

/// The port mapper's port: `ERL_EPMD_PORT` as the node will see it, else 4369.
pub fn epmd_port(node_env: Option<&str>) -> u16 {
    node_env
        .map(str::to_owned)
        .or_else(|| std::env::var("ERL_EPMD_PORT").ok())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(4369)
}

/// How long a freshly started epmd gets to answer.
const EPMD_START_WAIT: Duration = Duration::from_secs(5);

/// Makes sure an epmd answers on 127.0.0.1:`port`, which the node needs to
/// start distribution (a node started without `--sname`/`--name` does not
/// start one itself). When none answers, starts `epmd -daemon -address
/// 127.0.0.1`, found in `search_path` (the node's `PATH`) or `extra_dir`
/// (the `elixir` executable's directory), listening on loopback only.
///
/// The daemon is shared by every node of this machine and, by design,
/// outlives them and Runyard, like the one `iex --sname` starts. It is
/// started here, detached in its own session, rather than by the node: a
/// runtime's processes all end with the runtime. Returns whether it was
/// started.
pub fn ensure_epmd(search_path: Option<&OsStr>, extra_dir: Option<&Path>, port: u16) -> Result<bool, InitError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let answers = || TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok();
    if answers() {
        return Ok(false);
    }
    let failed = |message: String| InitError::Epmd { port, message };
    let dirs = search_path
        .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .unwrap_or_default();
    let program = dirs
        .into_iter()
        .chain(extra_dir.map(Path::to_path_buf))
        .map(|dir| dir.join("epmd"))
        .find(|p| p.is_file())
        .ok_or_else(|| failed("epmd was not found in PATH".into()))?;
    let status = std::process::Command::new(&program)
        .args(["-daemon", "-address", "127.0.0.1", "-port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Not in Runyard's process group: a Ctrl-C in its terminal is not for epmd.
        .process_group(0)
        .status()
        .map_err(|e| failed(format!("{}: {e}", program.display())))?;
    // `-daemon` forks and the parent exits at once; another Runyard may have
    // won the race to the port, which is as good.
    let deadline = Instant::now() + EPMD_START_WAIT;
    loop {
        if answers() {
            tracing::info!(program = %program.display(), port, "started epmd on 127.0.0.1");
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Err(failed(format!(
                "{} -daemon exited with {status} and nothing answers",
                program.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many crash dumps are kept (each can be hundreds of megabytes).
pub const CRASH_DUMPS_KEPT: usize = 5;

/// Where node `node` writes a crash dump: `<root>/crash-dumps/<node>.dump`,
/// in a directory only the owner can read (a dump holds the node's memory,
/// its cookie included). Removes all but the newest [`CRASH_DUMPS_KEPT`]
/// `- 1` dumps there, leaving room for this one. `None` (logged) when the
/// directory cannot be made: a start does not fail for want of it.
pub fn crash_dump_path(root: &Path, node: &str) -> Option<PathBuf> {
    let dir = root.join("crash-dumps");
    let made = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        // An existing directory keeps its mode; make sure of it.
        .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)));
    if let Err(error) = made {
        tracing::warn!(dir = %dir.display(), %error, "no crash dump directory");
        return None;
    }
    prune_crash_dumps(&dir, CRASH_DUMPS_KEPT.saturating_sub(1));
    Some(dir.join(format!("{node}.dump")))
}

/// Removes all but the newest `keep` `*.dump` files of `dir`.
fn prune_crash_dumps(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut dumps: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "dump"))
        .filter_map(|e| {
            let meta = e.metadata().ok().filter(std::fs::Metadata::is_file)?;
            Some((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), e.path()))
        })
        .collect();
    dumps.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, path) in dumps.into_iter().skip(keep) {
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!(path = %path.display(), "removed an old crash dump"),
            Err(error) => tracing::debug!(path = %path.display(), %error, "cannot remove a crash dump"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_16_hex_digits_of_fnv1a_over_the_source() {
        assert_eq!(AGENT_KEY.len(), 16);
        assert!(AGENT_KEY.bytes().all(|b| b.is_ascii_hexdigit()));
        // Known FNV-1a 64 values, so the const evaluation is the real thing.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hex(0x0123_4567_89ab_cdef), *b"0123456789abcdef");
        assert_eq!(AGENT_KEY.as_bytes(), hex(fnv1a64(AGENT_SOURCE.as_bytes())));
    }

    #[test]
    fn installs_the_source_once_and_mends_a_damaged_copy() {
        let root = tempfile::tempdir().unwrap();
        let dir = install_agent(root.path()).unwrap();
        assert_eq!(dir, root.path().join("agents/elixir").join(AGENT_KEY));
        let file = dir.join(AGENT_FILE);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), AGENT_SOURCE);
        std::fs::write(&file, "defmodule Half").unwrap();
        install_agent(root.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), AGENT_SOURCE);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [AGENT_FILE], "no temporary files are left");
    }

    #[test]
    fn concurrent_installs_never_expose_a_partial_file() {
        let root = tempfile::tempdir().unwrap();
        let file = agent_dir(root.path()).join(AGENT_FILE);
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        for _ in 0..50 {
                            // Gone again, so that every call writes it anew.
                            let _ = std::fs::remove_file(&file);
                            install_agent(root.path()).unwrap();
                        }
                    })
                })
                .collect();
            for _ in 0..200 {
                if let Ok(text) = std::fs::read_to_string(&file) {
                    assert_eq!(text.len(), AGENT_SOURCE.len());
                }
            }
            for w in writers {
                w.join().unwrap();
            }
        });
    }

    #[test]
    fn an_unwritable_cache_is_an_init_error_naming_the_place() {
        let root = tempfile::tempdir().unwrap();
        let blocker = root.path().join("agents");
        std::fs::write(&blocker, "a file where a directory should be").unwrap();
        match install_agent(root.path()) {
            Err(error @ InitError::AgentInstall { .. }) => {
                assert!(error.to_string().contains("agents/elixir"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn argv_is_exactly_the_documented_one_and_holds_no_cookie() {
        let dir = Path::new("/cache/agents/elixir/k");
        let args = agent_args("runyard-ab12", dir, Mode::Standalone, "tok", ERL_FLAGS);
        let expected: Vec<OsString> = [
            "--erl",
            ERL_FLAGS,
            "-e",
            BOOT_SOURCE,
            "--",
            "/cache/agents/elixir/k",
            "longnames",
            "runyard-ab12@127.0.0.1",
            "standalone",
            "tok",
        ]
        .map(OsString::from)
        .into();
        assert_eq!(args, expected);
        let attach = agent_args("runyard-ab12", dir, Mode::Attach { target: "app@vm" }, "tok", ERL_FLAGS);
        assert_eq!(
            &attach[6..],
            ["shortnames", "runyard-ab12", "attach", "app@vm", "tok"].map(OsString::from)
        );
        assert!(!args.iter().any(|a| a == "--cookie" || a == "--sname" || a == "--name"));
        assert_eq!(erl_flags(true), format!("{ERL_FLAGS} -nocookie"));
        assert!(needs_nocookie(None));
        assert!(needs_nocookie(Some(Path::new("/no/such/home"))));
        assert!(!needs_nocookie(Some(Path::new("/"))));
    }

    #[test]
    fn a_bridge_is_named_as_its_target_and_a_standalone_node_on_loopback() {
        let attach = |target| node_naming("runyard-x", Mode::Attach { target });
        assert_eq!(attach("app"), (Names::Short, "runyard-x".into()));
        assert_eq!(attach("app@vm"), (Names::Short, "runyard-x".into()));
        assert_eq!(attach("app@127.0.0.1"), (Names::Long, "runyard-x@127.0.0.1".into()));
        assert_eq!(attach("app@host.example.com"), (Names::Long, "runyard-x".into()));
        assert_eq!(
            node_naming("runyard-x", Mode::Standalone),
            (Names::Long, "runyard-x@127.0.0.1".into())
        );
    }

    #[test]
    fn the_shown_command_is_the_real_one_without_boot_code_and_token() {
        let shown = display_command(
            "/usr/bin/elixir",
            &[],
            "runyard-ab12",
            Some(Path::new("/c/k")),
            Mode::Attach { target: "app@vm" },
            ERL_FLAGS,
        );
        assert_eq!(
            shown,
            format!(
                "/usr/bin/elixir --erl \"{ERL_FLAGS}\" -e <runyard elixir boot> -- /c/k \
                 shortnames runyard-ab12 attach app@vm <token>"
            )
        );
    }

    #[test]
    fn the_remote_shell_command_matches_the_nodes_naming() {
        assert_eq!(
            remsh_command("runyard-ab12@127.0.0.1", "C"),
            "iex --name remsh-ab12@127.0.0.1 --cookie C --remsh runyard-ab12@127.0.0.1"
        );
        assert_eq!(
            remsh_command("app@vm", "C"),
            "iex --sname remsh-app --cookie C --remsh app@vm"
        );
        assert_eq!(
            remsh_command("app@h.example", "C"),
            "iex --name remsh-app --cookie C --remsh app@h.example"
        );
    }

    #[test]
    fn epmd_port_follows_the_nodes_environment() {
        assert_eq!(epmd_port(Some("4400")), 4400);
        assert_eq!(epmd_port(Some(" 4401\n")), 4401);
    }

    #[test]
    fn crash_dumps_go_to_a_private_directory_and_old_ones_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("crash-dumps");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let base = SystemTime::now() - Duration::from_secs(3600);
        for i in 0..8u64 {
            let file = std::fs::File::create(dir.join(format!("runyard-{i}.dump"))).unwrap();
            file.set_modified(base + Duration::from_secs(i * 60)).unwrap();
        }
        std::fs::write(dir.join("notes.txt"), "not a dump").unwrap();
        let path = crash_dump_path(root.path(), "runyard-new").unwrap();
        assert_eq!(path, dir.join("runyard-new.dump"));
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        // The newest four stay, with room for the fifth; other files are not ours.
        assert_eq!(
            left,
            [
                "notes.txt",
                "runyard-4.dump",
                "runyard-5.dump",
                "runyard-6.dump",
                "runyard-7.dump"
            ]
        );
        let blocked = root.path().join("file");
        std::fs::write(&blocked, "").unwrap();
        assert_eq!(crash_dump_path(&blocked, "n"), None);
    }

    /// Listening sockets on `port` from /proc/net/tcp and tcp6, as
    /// (local address hex, port).
    fn listeners(port: u16) -> Vec<String> {
        let mut found = Vec::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = std::fs::read_to_string(table).unwrap_or_default();
            for line in text.lines().skip(1) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // State 0A is LISTEN.
                if fields.len() > 3 && fields[3] == "0A" {
                    let (addr, p) = fields[1].rsplit_once(':').unwrap();
                    if u16::from_str_radix(p, 16).unwrap() == port {
                        found.push(addr.to_string());
                    }
                }
            }
        }
        found
    }

    #[test]
    fn a_started_epmd_listens_on_loopback_only() {
        let Some(path) = std::env::var_os("PATH") else { return };
        if !std::env::split_paths(&path).any(|d| d.join("epmd").is_file()) {
            eprintln!("skipped: no epmd in PATH");
            return;
        }
        // A free port of our own, so that no shared epmd is touched.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(ensure_epmd(Some(&path), None, port).unwrap(), "it was not running");
        let kill = || {
            std::process::Command::new("epmd")
                .args(["-port", &port.to_string(), "-kill"])
                .output()
        };
        let found = listeners(port);
        let result = std::panic::catch_unwind(|| {
            assert!(!found.is_empty());
            // 127.0.0.1 and ::1 (epmd adds the latter to a loopback address).
            for addr in &found {
                assert!(
                    addr == "0100007F" || addr == "00000000000000000000000001000000",
                    "epmd listens on {addr}: {found:?}"
                );
            }
            assert!(!ensure_epmd(Some(&path), None, port).unwrap(), "it answers now");
        });
        let _ = kill();
        result.unwrap();
        // Nothing listens on a fresh port, and there is no epmd to start.
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let missing = ensure_epmd(Some(OsStr::new("/nowhere")), None, free);
        assert!(matches!(missing, Err(InitError::Epmd { .. })), "{missing:?}");
    }
}
