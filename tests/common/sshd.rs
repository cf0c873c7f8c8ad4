//! A real OpenSSH server (Debian's `/usr/sbin/sshd`) for one test: on
//! 127.0.0.1 and a free port, with a fresh host key, a fresh client key and a
//! client config (`ssh -F`) whose `Host runyard-test` reaches it. The remote
//! machine is this one, as the user running the test.
//!
//! ```ignore
//! let sshd = Sshd::start();
//! let out = sshd.ssh().arg("echo hi").output().unwrap();   // ssh -F CONFIG runyard-test echo hi
//! let bad = sshd.ssh_config_with(Variant::ChangedHostKey);  // ssh -F bad runyard-test … fails
//! ```
//!
//! Dropping it kills the server, every per-connection sshd and whatever ran
//! through it (also what a session left behind in the background).

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

/// Debian's sshd (`openssh-server`); sshd re-executes itself, so by absolute path.
pub const SSHD: &str = "/usr/sbin/sshd";
/// The `Host` every client config of [`Sshd`] defines.
pub const ALIAS: &str = "runyard-test";
/// A name that never resolves (RFC 6761's `.invalid`), for [`Variant::UnknownHost`].
pub const UNKNOWN_HOST: &str = "runyard-nonexistent.invalid";

const HINT: &str = "scripts/test installs OpenSSH (Debian: apt-get install openssh-server openssh-client)";

/// A running sshd; see the module's doc.
pub struct Sshd {
    /// 0700; holds the keys, `sshd_config`, `sshd.log`, the client configs and known_hosts files.
    pub dir: TempDir,
    pub port: u16,
    /// The client config for `ssh -F`: `Host runyard-test` → 127.0.0.1:port as this user, with this
    /// server's host key known, the client key, `BatchMode yes`, `LogLevel ERROR`.
    pub config: PathBuf,
    /// [`ALIAS`].
    pub alias: &'static str,
    child: Child,
}

/// How a client config made by [`Sshd::ssh_config_with`] differs from the good one. With every
/// variant but `Good`, `ssh` exits with 255 (stderr texts: tests/ssh_servers.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The same as [`Sshd::config`].
    Good,
    /// An empty known_hosts: "Host key verification failed."
    UnknownHostKey,
    /// known_hosts holds another ed25519 key for `[127.0.0.1]:PORT`:
    /// "REMOTE HOST IDENTIFICATION HAS CHANGED!", then "Host key verification failed."
    ChangedHostKey,
    /// A client key that is not in authorized_keys: "Permission denied (publickey)."
    NotAuthorised,
    /// `HostName` [`UNKNOWN_HOST`]: "Could not resolve hostname …"
    UnknownHost,
    /// A port nothing listens on: "connect to host 127.0.0.1 port N: Connection refused"
    Refused,
}

impl Sshd {
    /// Starts sshd and waits until it listens; panics with its log's tail when it cannot start.
    pub fn start() -> Sshd {
        assert!(Path::new(SSHD).is_file(), "{SSHD} is missing; {HINT}");
        ensure_privsep_dir();
        let dir = tempfile::Builder::new().prefix("runyard-sshd-").tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let d = dir.path();
        for key in ["host_key", "other_host_key", "id_ed25519", "other_id_ed25519"] {
            keygen(&d.join(key));
        }
        fs::copy(d.join("id_ed25519.pub"), d.join("authorized_keys")).unwrap();
        fs::create_dir(d.join("home")).unwrap();
        fs::set_permissions(d.join("authorized_keys"), fs::Permissions::from_mode(0o600)).unwrap();

        // A free port can be taken between finding and binding it: then sshd says so and the
        // next one is tried.
        let mut attempts = 0;
        let (child, port) = loop {
            attempts += 1;
            let port = free_port();
            fs::write(d.join("sshd_config"), server_config(d, port)).unwrap();
            match spawn_and_wait(d, port) {
                Ok(child) => break (child, port),
                Err(log) if attempts < 5 && log.contains("Bind to port") => continue,
                Err(log) => panic!(
                    "sshd did not start (port {port}); the tail of {}:\n{}\n{HINT}",
                    d.join("sshd.log").display(),
                    tail(&log, 30)
                ),
            }
        };

        let host_key = public_key(&d.join("host_key.pub"));
        let other_host_key = public_key(&d.join("other_host_key.pub"));
        fs::write(d.join("known_hosts"), format!("[127.0.0.1]:{port} {host_key}\n")).unwrap();
        fs::write(d.join("known_hosts.empty"), "").unwrap();
        fs::write(
            d.join("known_hosts.changed"),
            format!("[127.0.0.1]:{port} {other_host_key}\n"),
        )
        .unwrap();
        let config = d.join("ssh_config");
        fs::write(
            &config,
            client_config(d, "127.0.0.1", port, "id_ed25519", "known_hosts"),
        )
        .unwrap();
        Sshd {
            dir,
            port,
            config,
            alias: ALIAS,
            child,
        }
    }

    /// Another client config in [`Sshd::dir`] (`ssh_config.VARIANT`), the same `Host runyard-test`
    /// with one thing wrong.
    pub fn ssh_config_with(&self, variant: Variant) -> PathBuf {
        let d = self.dir.path();
        let (host, port, key, known) = match variant {
            Variant::Good => ("127.0.0.1", self.port, "id_ed25519", "known_hosts"),
            Variant::UnknownHostKey => ("127.0.0.1", self.port, "id_ed25519", "known_hosts.empty"),
            Variant::ChangedHostKey => ("127.0.0.1", self.port, "id_ed25519", "known_hosts.changed"),
            Variant::NotAuthorised => ("127.0.0.1", self.port, "other_id_ed25519", "known_hosts"),
            Variant::UnknownHost => (UNKNOWN_HOST, self.port, "id_ed25519", "known_hosts"),
            Variant::Refused => ("127.0.0.1", free_port(), "id_ed25519", "known_hosts"),
        };
        let path = d.join(format!("ssh_config.{variant:?}"));
        fs::write(&path, client_config(d, host, port, key, known)).unwrap();
        path
    }

    /// `ssh -F CONFIG runyard-test`, for the test to add options (they may follow the host) and a
    /// remote command.
    pub fn ssh(&self) -> Command {
        let mut command = Command::new("ssh");
        command.arg("-F").arg(&self.config).arg(self.alias);
        command
    }

    /// The server's log (`LogLevel VERBOSE`: "Accepted publickey for USER from 127.0.0.1 port …"
    /// per connection, the failures, the per-connection sshd's errors).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The sessions' `HOME` (`SetEnv HOME=DIR/home`), empty: the shell that runs a remote
    /// command reads no rc file of the real user (bash reads ~/.bashrc under sshd). Write a
    /// `.bashrc` here to play a remote whose rc files print or slow things. The working
    /// directory stays the passwd home (sshd changes to it).
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The pid of the listening sshd.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Pids whose command line (arguments joined by spaces) contains `pattern`: `pgrep -f` on the
    /// "remote" machine, which is this one. Leaves out this test's own processes (the test, and
    /// its children that are not under sshd, such as the `ssh` clients whose command lines carry
    /// the remote command), so it finds the far side only.
    pub fn remote_processes(&self, pattern: &str) -> Vec<u32> {
        let table = process_table();
        let me = std::process::id();
        let listener = self.child.id();
        let local = |mut pid: u32| loop {
            if pid == listener {
                return false;
            }
            if pid == me {
                return true;
            }
            match table.get(&pid) {
                Some(p) if p.ppid > 1 => pid = p.ppid,
                _ => return false,
            }
        };
        let mut pids: Vec<u32> = table
            .iter()
            .filter(|(pid, p)| p.cmdline.contains(pattern) && !local(**pid))
            .map(|(pid, _)| *pid)
            .collect();
        pids.sort_unstable();
        pids
    }

    /// The per-connection sshd processes under the listener. Logged in as root, a connection has
    /// one (`sshd: root`, then `sshd: root@notty` once a session runs); as another user, two:
    /// the monitor (`sshd: USER [priv]`) and its child that speaks to the network
    /// (`sshd: USER@notty`). SIGSTOP them all to make the connections look dead to their
    /// clients (no reply, no FIN; one test, one client: `ServerAliveInterval` notices); SIGCONT
    /// revives them.
    pub fn session_pids(&self) -> Vec<u32> {
        let table = process_table();
        let mut pids: Vec<u32> = descendants(&table, self.child.id())
            .into_iter()
            .filter(|pid| table[pid].comm == "sshd")
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Everything running through this server: its per-connection sshd processes, what their
    /// sessions started, and what those left behind after the session ended (found by the
    /// `SSH_CONNECTION` sshd gives every session: "… 127.0.0.1 PORT"). A test that checks that
    /// nothing is left on the remote side asserts this is only [`Sshd::session_pids`] (or empty
    /// once the clients are gone).
    pub fn started_processes(&self) -> Vec<u32> {
        let table = process_table();
        let mut pids = descendants(&table, self.child.id());
        pids.extend(self.marked(&table));
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    fn marked(&self, table: &HashMap<u32, Proc>) -> Vec<u32> {
        let marker = format!(" 127.0.0.1 {}", self.port);
        table
            .keys()
            .copied()
            .filter(|pid| {
                let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
                    return false;
                };
                environ.split(|b| *b == 0).any(|var| {
                    var.strip_prefix(b"SSH_CONNECTION=")
                        .is_some_and(|value| value.ends_with(marker.as_bytes()))
                })
            })
            .collect()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let listener = Pid::from_raw(self.child.id() as i32);
        // Stopped, the listener forks no new connection while its tree is killed.
        let _ = kill(listener, Signal::SIGSTOP);
        for _ in 0..50 {
            let left = self.started_processes();
            if left.is_empty() {
                break;
            }
            for pid in left {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its process group (started with one of its own), then the listener itself.
        let _ = kill(Pid::from_raw(-listener.as_raw()), Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` (stdin /dev/null, stdout and stderr captured) and waits at most `within`;
/// past that it kills it and panics with what it said so far. Generous timeouts: a hung client
/// fails the test instead of hanging it.
pub fn output_within(command: &mut Command, within: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = stdout.join().unwrap();
            let stderr = stderr.join().unwrap();
            panic!(
                "{command:?} did not end within {within:?}; stdout {:?}, stderr {:?}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A port on 127.0.0.1 that was free a moment ago (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The user the tests run as (the remote user too).
pub fn user_name() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => panic!("uid {uid} has no passwd entry, and sshd logs in only users it has"),
    }
}

/// sshd's privilege separation needs /run/sshd when it runs as root (Debian's service makes it).
fn ensure_privsep_dir() {
    let dir = Path::new("/run/sshd");
    if dir.is_dir() || !nix::unistd::geteuid().is_root() {
        return;
    }
    // Another test may make it at the same time.
    if let Err(e) = fs::create_dir(dir)
        && !dir.is_dir()
    {
        panic!("cannot create {} for sshd's privilege separation: {e}", dir.display());
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "runyard-test", "-f"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ssh-keygen: {e}; {HINT}"));
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// "ssh-ed25519 AAAA…" (without the comment).
fn public_key(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    text.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn server_config(d: &Path, port: u16) -> String {
    let user = user_name();
    format!(
        "# A test server (tests/common/sshd.rs): keys, log and configs are in this directory.\n\
         ListenAddress 127.0.0.1\n\
         Port {port}\n\
         HostKey {host_key}\n\
         AuthorizedKeysFile {authorized_keys}\n\
         AllowUsers {user}\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         PermitRootLogin prohibit-password\n\
         # The directory is under /tmp, which is world-writable: StrictModes would refuse it.\n\
         StrictModes no\n\
         # Sessions run without the real user's rc files, which are not the test's (root's\n\
         # .bashrc here runs `pyenv init`, whose rehash lock, left by a killed session, made every\n\
         # later session wait 60 s).\n\
         SetEnv HOME={home}\n\
         PermitUserRC no\n\
         PidFile none\n\
         LogLevel VERBOSE\n\
         # scp speaks SFTP since OpenSSH 9.0.\n\
         Subsystem sftp internal-sftp\n",
        host_key = d.join("host_key").display(),
        authorized_keys = d.join("authorized_keys").display(),
        home = d.join("home").display(),
    )
}

fn client_config(d: &Path, host: &str, port: u16, key: &str, known_hosts: &str) -> String {
    format!(
        "# A test client config (tests/common/sshd.rs): ssh -F THIS {ALIAS} …\n\
         Host {ALIAS}\n\
         \x20   HostName {host}\n\
         \x20   Port {port}\n\
         \x20   User {user}\n\
         \x20   IdentityFile {key}\n\
         \x20   IdentitiesOnly yes\n\
         \x20   UserKnownHostsFile {known_hosts}\n\
         \x20   GlobalKnownHostsFile /dev/null\n\
         \x20   BatchMode yes\n\
         \x20   LogLevel ERROR\n",
        user = user_name(),
        key = d.join(key).display(),
        known_hosts = d.join(known_hosts).display(),
    )
}

/// Starts `sshd -D -e -f CONFIG` (its log, on stderr, to sshd.log) in a process group of its own
/// and waits until it listens on `port`; Err(the log) when it ends first.
fn spawn_and_wait(d: &Path, port: u16) -> Result<Child, String> {
    let log_path = d.join("sshd.log");
    let log = fs::File::create(&log_path).unwrap();
    let mut child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {SSHD}: {e}; {HINT}"));
    let listening = format!("Server listening on 127.0.0.1 port {port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        if child.try_wait().unwrap().is_some() {
            return Err(text);
        }
        if text.contains(&listening) && TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = kill(Pid::from_raw(-(child.id() as i32)), Signal::SIGKILL);
            let _ = child.wait();
            return Err(format!("{text}\n(not listening on port {port} after 30 s)"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

struct Proc {
    ppid: u32,
    comm: String,
    cmdline: String,
}

/// Every process: parent, name, command line (arguments joined by spaces).
fn process_table() -> HashMap<u32, Proc> {
    let mut table = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return table;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().unwrap_or("");
        if state == "Z" || state == "X" {
            continue;
        }
        let ppid = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .split('\0')
                    .filter(|a| !a.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        table.insert(pid, Proc { ppid, comm, cmdline });
    }
    table
}

/// The pids under `root` (not `root` itself).
fn descendants(table: &HashMap<u32, Proc>, root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, p) in table {
            if p.ppid == parent && !found.contains(pid) {
                found.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    found
}
