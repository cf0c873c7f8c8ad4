//! Atomic file replacement: a crash at any moment leaves either the old file
//! or the new one, whole — and at no moment is the content readable by
//! anyone the old file did not let read it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The mode a new file gets when there is none to keep: what any program
/// creating a document gives (the umask narrows it).
const NEW_FILE: u32 = 0o666;

/// Writes `bytes` to `path` through a temporary file in the same directory
/// (same file system, so the rename is atomic): write, fsync, rename, then
/// fsync the directory so the rename itself survives a power loss. A symlink
/// is followed (its target is replaced, the link kept); the new file keeps
/// the old one's mode, and its owner and group where permitted.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, false)
}

/// [`write_atomically`] for Runyard's own files: the file is 0600 and its
/// directory 0700 whatever they were.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, true)
}

fn write(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let path = resolve_symlink(path);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if private {
        crate::fsutil::private_dir(dir)?;
    } else {
        std::fs::create_dir_all(dir)?;
    }
    let existing = std::fs::metadata(&path).ok().filter(|m| m.is_file());
    let mode = match &existing {
        _ if private => crate::fsutil::PRIVATE_FILE,
        // Not setuid/setgid/sticky: a notebook has no use for them, and chown drops them anyway.
        Some(meta) => meta.mode() & 0o777,
        None => NEW_FILE & !umask(),
    };
    remove_stale_temporaries(dir, &path);
    let (file, tmp) = create_temporary(dir, &path)?;
    let result = (|| {
        // The temporary was created 0600: give it the old file's owner and
        // group first, then its mode, so no one outside them can read it
        // between the two.
        if let Some(meta) = existing.as_ref().filter(|_| !private) {
            keep_owner(&file, meta);
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        (&file).write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    // Closing drops the temporary's lock only after the rename: no one takes
    // it for a stale one meanwhile.
    drop(file);
    if let Err(err) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(err);
    }
    // Best effort: some file systems cannot fsync a directory.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The process's umask (it can only be read by setting it; put back at once).
fn umask() -> u32 {
    use nix::sys::stat::{Mode, umask};
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let old = umask(Mode::from_bits_truncate(0o077));
        umask(old);
        old.bits() as u32
    })
}

/// Gives the temporary the old file's owner and group. Only root may give a
/// file away; anyone may set a group they belong to. What is not permitted
/// is skipped: the file then belongs to whoever saves it, as with any editor.
fn keep_owner(file: &File, old: &std::fs::Metadata) {
    use std::os::unix::fs::fchown;
    if fchown(file, Some(old.uid()), Some(old.gid())).is_ok() {
        return;
    }
    if let Err(err) = fchown(file, None, Some(old.gid())) {
        tracing::debug!(%err, gid = old.gid(), "the saved file keeps the saver's group");
    }
}

fn resolve_symlink(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).unwrap_or_else(|_| path.into()),
        _ => path.into(),
    }
}

/// Creates the temporary (0600, never following a link) and holds an
/// exclusive `flock` on it until the rename: that lock is what tells a live
/// save's temporary from one whose process died.
fn create_temporary(dir: &Path, path: &Path) -> io::Result<(File, PathBuf)> {
    loop {
        let tmp = dir.join(temp_name(path));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(crate::fsutil::PRIVATE_FILE)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&tmp)?;
        file.lock()?;
        // A cleaner may have taken it for stale between create and lock (it
        // unlinks while holding the lock): then the name is no longer ours.
        if crate::fsutil::same_file(&tmp, &file) {
            return Ok((file, tmp));
        }
    }
}

/// A hidden name unique to this process and call, so that concurrent saves
/// never share a temporary file.
fn temp_name(path: &Path) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}{}-{n}", temp_prefix(path), std::process::id())
}

fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp-")
}

/// Whether `name` looks like one of our temporaries: `.NAME.tmp-PID-N`.
fn is_temporary_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((_, tail)) = rest.rsplit_once(".tmp-") else {
        return false;
    };
    let mut parts = tail.split('-');
    let digits = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

/// Removes temporaries of `path` left by saves that died (killed, power
/// loss). A live save holds its temporary's lock, so one whose lock can be
/// taken is stale, whatever became of the pid in its name.
fn remove_stale_temporaries(dir: &Path, path: &Path) {
    let prefix = temp_prefix(path);
    remove_stale(dir, |name| name.starts_with(&prefix) && is_temporary_name(name));
}

/// Removes every stale temporary in `dir` (at start, in Runyard's own folders).
pub fn remove_stale_temporaries_in(dir: &Path) {
    remove_stale(dir, is_temporary_name);
}

fn remove_stale(dir: &Path, matches: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().to_str().is_some_and(&matches) {
            continue;
        }
        let tmp = entry.path();
        let Ok(file) = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(&tmp)
        else {
            continue;
        };
        if !file.metadata().is_ok_and(|m| m.is_file()) || file.try_lock().is_err() {
            continue;
        }
        // Unlinked while holding the lock, so a save that just created a
        // file of this name sees it is gone once it gets the lock.
        match std::fs::remove_file(&tmp) {
            Ok(()) => tracing::info!(path = %tmp.display(), "removed the temporary file of a save that did not finish"),
            Err(err) => tracing::debug!(%err, path = %tmp.display(), "a stale temporary file could not be removed"),
        }
    }
}

/// Why a file must not be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotWritable {
    /// access(2) says this user may not write it.
    Denied,
    /// No one may write it (no write bit): someone made it read-only on
    /// purpose. Refused even for root, who bypasses permissions, as vim does.
    ReadOnly,
}

/// Whether the existing file at `path` may be replaced by this user: saving
/// over a file one may not write would otherwise succeed through the rename
/// (which needs only the directory's write permission) and silently drop
/// the protection. A missing file may be created.
pub fn check_writable(path: &Path) -> Result<(), NotWritable> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.mode() & 0o222 == 0 {
        return Err(NotWritable::ReadOnly);
    }
    // Effective ids, as opening the file would use (not the real ones, which access(2) checks).
    let flags = nix::unistd::AccessFlags::W_OK;
    match nix::unistd::faccessat(nix::fcntl::AT_FDCWD, path, flags, nix::fcntl::AtFlags::AT_EACCESS) {
        Ok(()) => Ok(()),
        Err(_) => Err(NotWritable::Denied),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_file_keeping_permissions_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.ipynb");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.ipynb");
        std::os::unix::fs::symlink(&target, &link).unwrap();

        write_atomically(&link, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }

    #[test]
    fn a_new_file_follows_the_umask_and_a_private_one_is_0600_in_a_0700_dir() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.ipynb");
        write_atomically(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask());
        let private = dir.path().join("own/sessions.json");
        std::fs::create_dir(dir.path().join("own")).unwrap();
        std::fs::set_permissions(dir.path().join("own"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(&private, b"old").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&private, b"new").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&private), 0o600);
        assert_eq!(mode(&dir.path().join("own")), 0o700);
    }

    #[test]
    fn owner_and_group_are_kept_where_permitted() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("theirs.ipynb");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let root = nix::unistd::geteuid().is_root();
        // Root may give a file to anyone; another user keeps their own ids.
        let (uid, gid) = if root {
            (54321, 54322)
        } else {
            (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
        };
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        write_atomically(&path, b"new").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (uid, gid, 0o640));
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn stale_temporaries_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.ipynb");
        // A save killed midway: its temporary, no one holding its lock.
        let stale = dir.path().join(".big.ipynb.tmp-999999-3");
        std::fs::write(&stale, b"half").unwrap();
        // A save in progress (here: this process holds the lock).
        let live = dir.path().join(".big.ipynb.tmp-1-0");
        let held = std::fs::File::create(&live).unwrap();
        held.lock().unwrap();
        // Someone else's file that merely looks alike.
        let other = dir.path().join(".big.ipynb.tmp-notes");
        std::fs::write(&other, b"mine").unwrap();
        write_atomically(&path, b"x").unwrap();
        assert!(!stale.exists(), "the dead save's temporary is gone");
        assert!(live.exists(), "a live save's temporary is left alone");
        assert!(other.exists(), "only our own naming is touched");
        drop(held);
        remove_stale_temporaries_in(dir.path());
        assert!(!live.exists(), "once its holder is gone, it is stale");
    }

    #[test]
    fn read_only_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.ipynb");
        assert_eq!(check_writable(&path), Ok(()), "a new file may be created");
        std::fs::write(&path, b"x").unwrap();
        assert_eq!(check_writable(&path), Ok(()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        assert_eq!(check_writable(&path), Err(NotWritable::ReadOnly));
    }

    #[test]
    fn temporary_names_are_recognised() {
        assert!(is_temporary_name(".a.ipynb.tmp-12-0"));
        assert!(is_temporary_name(".x.tmp-y.tmp-1-22"));
        for name in ["a.ipynb.tmp-1-0", ".a.tmp-1", ".a.tmp-1-2-3", ".a.tmp--1", ".a.tmp-x-1"] {
            assert!(!is_temporary_name(name), "{name}");
        }
    }

    #[test]
    fn creates_missing_directories_and_reports_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.livemd");
        write_atomically(&path, b"x").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        // A directory in the way: the rename fails and nothing is left behind.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("inside"), b"").unwrap();
        assert!(write_atomically(&blocked, b"y").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
