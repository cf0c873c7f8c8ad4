//! The Elixir runtimes: the agent, embedded at build time, where it is put
//! for the node to load, and the command lines of a standalone node and of an
//! attach bridge (see `assets/agents/README.md`, "What the manager does").

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    let tmp = dir.join(format!("{AGENT_FILE}.tmp{}-{}", std::process::id(), super::short_id()));
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

/// The name switch and value for the node: `--sname runyard-<id>`, or, to
/// reach a target with a long name (a host with a dot), `--name`, since
/// short- and long-named nodes cannot connect to each other.
pub fn name_switch(node: &str, mode: Mode<'_>) -> (&'static str, String) {
    let Mode::Attach { target } = mode else {
        return ("--sname", node.to_string());
    };
    let host = target.split_once('@').map_or("", |(_, host)| host);
    if !host.contains('.') {
        return ("--sname", node.to_string());
    }
    // A target on a loopback address is reached from one; elsewhere Erlang
    // picks this machine's fully qualified name.
    if host.starts_with("127.") {
        ("--name", format!("{node}@127.0.0.1"))
    } else {
        ("--name", node.to_string())
    }
}

/// Arguments after `elixir`, one argv element each:
/// `--sname <node> --cookie <cookie> --erl <flags> -e <boot> -- <dir> standalone <token>`
/// (or `… -- <dir> attach <target> <token>`).
pub fn agent_args(node: &str, cookie: &str, dir: &Path, mode: Mode<'_>, token: &str) -> Vec<OsString> {
    let (switch, name) = name_switch(node, mode);
    let mut args: Vec<OsString> = vec![
        switch.into(),
        name.into(),
        "--cookie".into(),
        cookie.into(),
        "--erl".into(),
        ERL_FLAGS.into(),
        "-e".into(),
        BOOT_SOURCE.into(),
        "--".into(),
        dir.into(),
    ];
    match mode {
        Mode::Standalone => args.push("standalone".into()),
        Mode::Attach { target } => args.extend(["attach".into(), target.into()]),
    }
    args.push(token.into());
    args
}

/// The command line as shown to users: the bootstrap and the token elided,
/// and the cookie too — the runtime panel shows it from the handshake, and a
/// command line ends up in logs and bug reports.
pub fn display_command(
    executable: &str,
    extra_args: &[String],
    node: &str,
    dir: Option<&Path>,
    mode: Mode<'_>,
) -> String {
    let (switch, name) = name_switch(node, mode);
    let mut parts = vec![executable.to_string()];
    parts.extend(extra_args.iter().cloned());
    parts.extend([
        switch.to_string(),
        name,
        "--cookie".into(),
        "<cookie>".into(),
        "--erl".into(),
        format!("\"{ERL_FLAGS}\""),
        "-e".into(),
        "<runyard elixir boot>".into(),
        "--".into(),
        dir.map_or_else(|| "<agent dir>".into(), |d| d.display().to_string()),
    ]);
    match mode {
        Mode::Standalone => parts.push("standalone".into()),
        Mode::Attach { target } => parts.extend(["attach".into(), target.to_string()]),
    }
    parts.push("<token>".into());
    parts.join(" ")
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
    fn argv_is_exactly_the_documented_one() {
        let dir = Path::new("/cache/agents/elixir/k");
        let args = agent_args("runyard-ab12", "c00k1e", dir, Mode::Standalone, "tok");
        let expected: Vec<OsString> = [
            "--sname",
            "runyard-ab12",
            "--cookie",
            "c00k1e",
            "--erl",
            ERL_FLAGS,
            "-e",
            BOOT_SOURCE,
            "--",
            "/cache/agents/elixir/k",
            "standalone",
            "tok",
        ]
        .map(OsString::from)
        .into();
        assert_eq!(args, expected);
        let attach = agent_args("runyard-ab12", "c", dir, Mode::Attach { target: "app@vm" }, "tok");
        assert_eq!(&attach[10..], ["attach", "app@vm", "tok"].map(OsString::from));
    }

    #[test]
    fn a_long_named_target_gets_a_long_named_bridge() {
        let attach = |target| name_switch("runyard-x", Mode::Attach { target });
        assert_eq!(attach("app"), ("--sname", "runyard-x".into()));
        assert_eq!(attach("app@vm"), ("--sname", "runyard-x".into()));
        assert_eq!(attach("app@127.0.0.1"), ("--name", "runyard-x@127.0.0.1".into()));
        assert_eq!(attach("app@host.example.com"), ("--name", "runyard-x".into()));
        assert_eq!(
            name_switch("runyard-x", Mode::Standalone),
            ("--sname", "runyard-x".into())
        );
    }

    #[test]
    fn the_shown_command_hides_the_cookie_boot_code_and_token() {
        let shown = display_command(
            "/usr/bin/elixir",
            &[],
            "runyard-ab12",
            Some(Path::new("/c/k")),
            Mode::Attach { target: "app@vm" },
        );
        assert_eq!(
            shown,
            format!(
                "/usr/bin/elixir --sname runyard-ab12 --cookie <cookie> --erl \"{ERL_FLAGS}\" \
                 -e <runyard elixir boot> -- /c/k attach app@vm <token>"
            )
        );
    }
}
