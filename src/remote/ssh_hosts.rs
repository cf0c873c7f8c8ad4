//! The hosts an OpenSSH client config names, offered as suggestions where a
//! host is asked for. Only what a suggestion needs is read: the concrete
//! aliases of `Host` lines (patterns with `*`, `?` or `!` are not hosts one
//! can connect to) and their `HostName`, `User` and `Port`, following
//! `Include` as ssh does. A config is the user's own file, but it may be
//! huge, binary, a FIFO or include itself: every read is bounded and nothing
//! here panics or waits on anything but a regular file.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The most read of one file: a config is a few KiB, and anything larger is
/// not worth the time of a suggestion.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Nested `Include`s followed at most (OpenSSH's own limit is 16).
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Files read at most for one config, however many `Include`s name.
pub const MAX_FILES: usize = 64;
/// Hosts kept at most: a list longer than this is not a suggestion.
pub const MAX_HOSTS: usize = 1000;

/// One `Host` alias and what its own block says of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshHost {
    pub alias: String,
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
}

impl SshHost {
    /// `me@10.0.0.2:2222`, or what of it is known; empty when nothing is.
    pub fn details(&self) -> String {
        let mut text = String::new();
        if let Some(user) = &self.user {
            text.push_str(user);
            text.push('@');
        }
        if let Some(host) = &self.host_name {
            text.push_str(host);
        } else if !text.is_empty() {
            text.push_str(&self.alias);
        }
        if let Some(port) = self.port {
            if text.is_empty() {
                text.push_str(&self.alias);
            }
            text.push_str(&format!(":{port}"));
        }
        text
    }
}

/// What a config gave: its hosts in file order, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshHosts {
    /// The config read (`~/.ssh/config` or the one given).
    pub config: PathBuf,
    pub hosts: Vec<SshHost>,
    /// One sentence per problem (a file too large, an unreadable include),
    /// for the log and a hover text; never an error: suggestions are a help.
    pub notes: Vec<String>,
}

impl SshHosts {
    /// The hosts whose alias or host name contains `text` (any case).
    pub fn matching(&self, text: &str) -> impl Iterator<Item = &SshHost> {
        let text = text.trim().to_lowercase();
        self.hosts.iter().filter(move |h| {
            text.is_empty()
                || h.alias.to_lowercase().contains(&text)
                || h.host_name.as_deref().is_some_and(|n| n.to_lowercase().contains(&text))
        })
    }
}

/// The user's own client config, `~/.ssh/config`, where `home` is the home
/// directory (ssh takes it from the password database, not `$HOME`).
pub fn user_config(home: &Path) -> PathBuf {
    home.join(".ssh/config")
}

/// The home directory ssh uses: the password database's, else `$HOME`.
/// Reads `/etc/passwd` (or asks NSS), so not on the UI thread.
pub fn home_dir() -> Option<PathBuf> {
    let from_passwd = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.dir)
        .filter(|dir| !dir.as_os_str().is_empty());
    from_passwd.or_else(|| std::env::var_os("HOME").map(PathBuf::from))
}

/// Reads the hosts of the config at `config`; relative `Include`s are
/// relative to `home/.ssh`, as for a user's config. A missing config gives
/// no hosts and no note (most people have none).
pub fn read_hosts(config: &Path, home: &Path) -> SshHosts {
    let mut reader = Reader {
        home: home.to_path_buf(),
        seen: HashSet::new(),
        files: 0,
        found: SshHosts {
            config: config.to_path_buf(),
            ..Default::default()
        },
    };
    if config.exists() {
        reader.file(config, 0);
    }
    for note in &reader.found.notes {
        tracing::info!(config = %config.display(), "ssh host suggestions: {note}");
    }
    reader.found
}

struct Reader {
    home: PathBuf,
    /// Files already read: a file included twice (or itself) is read once.
    seen: HashSet<PathBuf>,
    files: usize,
    found: SshHosts,
}

impl Reader {
    fn note(&mut self, note: String) {
        // Bounded too: a glob of ten thousand unreadable files says so once each, up to a point.
        if self.found.notes.len() < 20 {
            self.found.notes.push(note);
        }
    }

    fn file(&mut self, path: &Path, depth: usize) {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if !self.seen.insert(key) {
            return;
        }
        if self.files == MAX_FILES {
            self.note(format!(
                "more than {MAX_FILES} files are included; the rest were not read"
            ));
            return;
        }
        self.files += 1;
        let text = match read_bounded(path) {
            Ok((text, truncated)) => {
                if truncated {
                    self.note(format!(
                        "{} is larger than {} KiB; only its start was read",
                        path.display(),
                        MAX_FILE_BYTES / 1024
                    ));
                }
                text
            }
            Err(why) => {
                self.note(format!("{} was not read: {why}", path.display()));
                return;
            }
        };
        // The block the lines belong to: the aliases of the last `Host` line
        // (indices into `found.hosts`), none after `Match`.
        let mut block: Vec<usize> = Vec::new();
        for line in text.lines() {
            let Some((keyword, args)) = split_line(line) else {
                continue;
            };
            match keyword.to_ascii_lowercase().as_str() {
                "host" => block = self.host_line(&args),
                "match" => block.clear(),
                "include" => {
                    if depth + 1 >= MAX_INCLUDE_DEPTH {
                        self.note(format!(
                            "{}: includes nested deeper than {MAX_INCLUDE_DEPTH} were not followed",
                            path.display()
                        ));
                        continue;
                    }
                    for pattern in &args {
                        for included in self.expand(pattern) {
                            self.file(&included, depth + 1);
                        }
                    }
                }
                "hostname" | "user" | "port" => {
                    let Some(value) = args.first() else { continue };
                    for &index in &block {
                        let host = &mut self.found.hosts[index];
                        // As ssh does: the first value obtained wins.
                        match keyword.to_ascii_lowercase().as_str() {
                            "hostname" => {
                                host.host_name.get_or_insert_with(|| value.clone());
                            }
                            "user" => {
                                host.user.get_or_insert_with(|| value.clone());
                            }
                            _ => {
                                if host.port.is_none() {
                                    host.port = value.parse().ok();
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A `Host` line: its concrete aliases, added once each (a later block
    /// of the same alias adds to the first), as the new block.
    fn host_line(&mut self, patterns: &[String]) -> Vec<usize> {
        let mut block = Vec::new();
        for alias in patterns.iter().filter(|p| is_concrete(p)) {
            let index = match self.found.hosts.iter().position(|h| h.alias == *alias) {
                Some(index) => index,
                None if self.found.hosts.len() < MAX_HOSTS => {
                    self.found.hosts.push(SshHost {
                        alias: alias.clone(),
                        ..Default::default()
                    });
                    self.found.hosts.len() - 1
                }
                None => continue,
            };
            block.push(index);
        }
        block
    }

    /// The files an `Include` argument names: `~/` is the home, a relative
    /// path is under `~/.ssh`, and `*` or `?` in the last component match
    /// the directory's entries (in name order, as glob(3) sorts them).
    /// Wildcards in a directory component are not followed.
    fn expand(&mut self, pattern: &str) -> Vec<PathBuf> {
        let path = if let Some(rest) = pattern.strip_prefix("~/") {
            self.home.join(rest)
        } else if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            self.home.join(".ssh").join(pattern)
        };
        let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
            return Vec::new();
        };
        if dir.to_string_lossy().contains(['*', '?']) {
            self.note(format!(
                "Include {pattern}: wildcards in a directory name are not followed"
            ));
            return Vec::new();
        }
        if !name.contains(['*', '?']) {
            // As ssh: an include that matches nothing is skipped quietly.
            return if path.exists() { vec![path] } else { Vec::new() };
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            // As glob(3) without GLOB_PERIOD: a wildcard never matches a leading dot.
            .filter(|n| !n.starts_with('.') || name.starts_with('.'))
            .filter(|n| wildcard_match(name.as_bytes(), n.as_bytes()))
            .take(MAX_FILES * 4)
            .collect();
        names.sort();
        names.into_iter().map(|n| dir.join(n)).collect()
    }
}

/// At most [`MAX_FILE_BYTES`] of a regular file, as text (invalid UTF-8
/// replaced); whether there was more. A FIFO or a device is refused, never
/// waited on.
fn read_bounded(path: &Path) -> Result<(String, bool), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    let truncated = bytes.len() as u64 > MAX_FILE_BYTES;
    bytes.truncate(MAX_FILE_BYTES as usize);
    Ok((String::from_utf8_lossy(&bytes).into_owned(), truncated))
}

/// A config line as ssh reads it: a keyword, then arguments separated by
/// whitespace (the first may follow an `=`), double quotes grouping; `None`
/// for a blank line or a comment.
fn split_line(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(line.len());
    let keyword = line[..end].to_string();
    let rest = line[end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    args.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(current);
    }
    Some((keyword, args))
}

/// A host one can name: no wildcard, no negation, nothing ssh would read as
/// an option.
fn is_concrete(pattern: &str) -> bool {
    !pattern.is_empty()
        && !pattern.starts_with('-')
        && !pattern.contains(['*', '?', '!'])
        && !pattern.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// `*` and `?` as in a file name glob (no character classes).
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative with one backtrack point: linear in practice, never exponential.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".ssh")).unwrap();
        home
    }

    fn write(home: &Path, name: &str, text: &str) -> PathBuf {
        let path = home.join(".ssh").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn aliases(found: &SshHosts) -> Vec<&str> {
        found.hosts.iter().map(|h| h.alias.as_str()).collect()
    }

    #[test]
    fn concrete_hosts_in_file_order_with_their_own_options() {
        let home = home();
        let config = write(
            home.path(),
            "config",
            "# my hosts\n\
             Host gpu-box gpu\n  HostName 10.0.0.2\n  User=me\n  Port = 2222\n\n\
             Host *.example.org !bad login?\n  User nobody\n\
             Host \"quoted one\" login1\n  hostname login1.cluster.example.org\n\
             Match host gpu-box\n  User someone-else\n\
             Host gpu-box\n  User late\n  ForwardAgent yes\n\
             Host -oProxyCommand=x\n",
        );
        let found = read_hosts(&config, home.path());
        assert_eq!(
            aliases(&found),
            ["gpu-box", "gpu", "login1"],
            "patterns and odd names skipped, once each"
        );
        assert_eq!(
            found.hosts[0],
            SshHost {
                alias: "gpu-box".into(),
                host_name: Some("10.0.0.2".into()),
                user: Some("me".into()),
                port: Some(2222),
            },
            "the first value wins; Match blocks are not the host's"
        );
        assert_eq!(
            found.hosts[1].details(),
            "me@10.0.0.2:2222",
            "a block's options are each alias's"
        );
        assert_eq!(found.hosts[2].host_name.as_deref(), Some("login1.cluster.example.org"));
        assert_eq!(found.hosts[2].details(), "login1.cluster.example.org");
        assert_eq!(found.hosts[2].user, None, "a Match block's User is no host's");
        assert!(found.notes.is_empty(), "{:?}", found.notes);
        assert_eq!(
            found.matching("LOGIN").map(|h| h.alias.as_str()).collect::<Vec<_>>(),
            ["login1"]
        );
        assert_eq!(found.matching("10.0").count(), 2, "by host name too");
    }

    #[test]
    fn includes_are_followed_relative_to_dot_ssh_with_a_glob_in_the_file_name() {
        let home = home();
        write(home.path(), "conf.d/b.conf", "Host from-b\n");
        write(home.path(), "conf.d/a.conf", "Host from-a\n  Port 2200\n");
        write(home.path(), "conf.d/notes.txt", "Host not-included\n");
        write(home.path(), "conf.d/.hidden.conf", "Host hidden\n");
        write(home.path(), "work", "Host from-work\nInclude config\n");
        let config = write(
            home.path(),
            "config",
            "Include conf.d/*.conf work\nHost top\n  User me\nInclude ~/.ssh/missing */x.conf\n",
        );
        let found = read_hosts(&config, home.path());
        assert_eq!(
            aliases(&found),
            ["from-a", "from-b", "from-work", "top"],
            "in glob order, then in line order; a file including its includer is read once"
        );
        assert_eq!(found.hosts[0].port, Some(2200));
        assert_eq!(found.hosts[3].user.as_deref(), Some("me"));
        assert_eq!(
            found.notes.len(),
            1,
            "a missing include is no problem: {:?}",
            found.notes
        );
        assert!(found.notes[0].contains("wildcards in a directory"), "{:?}", found.notes);
    }

    #[test]
    fn huge_binary_deep_and_special_files_are_bounded() {
        let home = home();
        // A chain of includes deeper than ssh allows.
        for i in 0..30 {
            write(
                home.path(),
                &format!("deep{i}"),
                &format!("Host deep{i}\nInclude deep{}\n", i + 1),
            );
        }
        let found = read_hosts(&home.path().join(".ssh/deep0"), home.path());
        assert_eq!(found.hosts.len(), MAX_INCLUDE_DEPTH);
        assert!(found.notes.iter().any(|n| n.contains("deeper")), "{:?}", found.notes);

        // Larger than the cap, with a host past it and bytes that are not text.
        let mut big = b"Host first\n\xff\xfe\x00\x01 garbage\n".to_vec();
        big.resize(MAX_FILE_BYTES as usize + 10, b'#');
        big.extend_from_slice(b"\nHost past-the-cap\n");
        let path = home.path().join(".ssh/big");
        std::fs::write(&path, &big).unwrap();
        let found = read_hosts(&path, home.path());
        assert_eq!(aliases(&found), ["first"]);
        assert!(found.notes[0].contains("larger than 1024 KiB"), "{:?}", found.notes);

        // A FIFO is never opened (it would block); a directory is no file.
        let fifo = home.path().join(".ssh/fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let config = write(home.path(), "config", "Include fifo /dev/zero ~/.ssh\nHost after\n");
        let found = read_hosts(&config, home.path());
        assert_eq!(aliases(&found), ["after"]);
        assert_eq!(found.notes.len(), 3, "{:?}", found.notes);
        assert!(
            found.notes.iter().all(|n| n.contains("not a regular file")),
            "{:?}",
            found.notes
        );

        // No config at all: nothing, quietly.
        assert_eq!(read_hosts(&home.path().join("none"), home.path()).hosts, []);
    }

    #[test]
    fn wildcards_match_as_file_globs() {
        for (pattern, name, expected) in [
            ("*.conf", "a.conf", true),
            ("*.conf", "a.conf.bak", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*", "", true),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "xxaxxbxxc", false),
        ] {
            assert_eq!(
                wildcard_match(pattern.as_bytes(), name.as_bytes()),
                expected,
                "{pattern} {name}"
            );
        }
        // Many stars on a long name stay fast (no exponential backtracking).
        let long = "a".repeat(10_000);
        assert!(!wildcard_match(b"*a*a*a*a*a*a*b", long.as_bytes()));
    }
}
