//! Runyard's own files at rest: private directories (0700) and files (0600),
//! and lock files that the OS releases when their holder dies.
//!
//! Everything Runyard keeps for itself (settings, logs, autosaves, the list
//! of open sessions, caches) may hold notebook contents or a node's cookie,
//! so nobody but the user may list or read it.

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mode of Runyard's directories.
pub const PRIVATE_DIR: u32 = 0o700;
/// The mode of Runyard's files.
pub const PRIVATE_FILE: u32 = 0o600;

/// Creates `dir` (and missing parents) as 0700, and narrows an existing one
/// that is looser: folders made by older versions were 0755. A directory
/// owned by someone else is refused: another user could have made it in a
/// shared place (`/tmp/runyard` when there is no home) to read what we put
/// there.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(PRIVATE_DIR).create(dir)?;
    let meta = std::fs::metadata(dir)?;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} belongs to another user (uid {}); Runyard keeps its files only in folders of its own",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR))?;
        tracing::info!(dir = %dir.display(), "made private (0700)");
    }
    Ok(())
}

/// [`private_dir`] for `dir` and every folder between it and `root`
/// (inclusive), for a tree Runyard owns, such as its cache.
pub fn private_tree(root: &Path, dir: &Path) -> io::Result<()> {
    private_dir(dir)?;
    for ancestor in dir.ancestors().skip(1) {
        if !ancestor.starts_with(root) {
            break;
        }
        private_dir(ancestor)?;
    }
    Ok(())
}

/// Opens `path` for appending, creating it (and its directory) private; an
/// existing file that others could read is narrowed to 0600.
pub fn open_private_append(path: &Path) -> io::Result<File> {
    let file = open_private(path, OpenOptions::new().append(true))?;
    narrow(&file)?;
    Ok(file)
}

/// Opens `path` with `options`, creating it 0600 (and its directory 0700),
/// never through a symbolic link.
fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    options
        .create(true)
        .mode(PRIVATE_FILE)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
}

/// Makes an open file of ours 0600 if it is looser.
fn narrow(file: &File) -> io::Result<()> {
    let meta = file.metadata()?;
    if meta.mode() & 0o077 != 0 && meta.uid() == nix::unistd::geteuid().as_raw() {
        file.set_permissions(std::fs::Permissions::from_mode(PRIVATE_FILE))?;
    }
    Ok(())
}

/// An exclusive `flock` on a file, held until this value is dropped or the
/// process dies (the kernel releases it then, even after SIGKILL). Unlike a
/// pid written in a file, it is not fooled by pid reuse and works the same
/// on Linux and macOS.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    _file: File,
}

impl LockFile {
    /// Takes the lock on `path` (created 0600), or `WouldBlock` if another
    /// holder has it.
    pub fn acquire(path: &Path) -> io::Result<LockFile> {
        let file = open_private(path, OpenOptions::new().truncate(false).write(true))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
            Err(TryLockError::Error(err)) => return Err(err),
        }
        // A sweeper may have unlinked the file between our open and lock (it
        // unlinks only while holding the lock): then the lock guards nothing.
        if !same_file(path, &file) {
            return Err(io::Error::other("the lock file was removed while it was being taken"));
        }
        Ok(LockFile {
            path: path.into(),
            _file: file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockFile {
    /// A clean exit removes its lock file (still holding the lock, so no one
    /// mistakes the unlink for a free lock).
    fn drop(&mut self) {
        if same_file(&self.path, &self._file) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` names the open `file` (and not a file put in its place).
pub(crate) fn same_file(path: &Path, file: &File) -> bool {
    std::fs::symlink_metadata(path)
        .ok()
        .zip(file.metadata().ok())
        .is_some_and(|(named, open)| named.ino() == open.ino() && named.dev() == open.dev())
}

/// Opens a lock file only to look at its lock: never through a link, never
/// waiting (a FIFO planted there would block an open).
fn open_to_probe(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
}

/// Removes a lock file that no live process holds. The unlink happens while
/// holding its lock, so a holder that is just taking it notices (see
/// [`LockFile::acquire`]). True if it was removed.
pub fn remove_if_unlocked(path: &Path) -> bool {
    let Ok(file) = open_to_probe(path) else {
        return false;
    };
    file.metadata().is_ok_and(|m| m.is_file())
        && file.try_lock().is_ok()
        && same_file(path, &file)
        && std::fs::remove_file(path).is_ok()
}

/// Whether a live process holds the lock on `path`. A missing file, or one
/// whose lock can be taken, means no one does. The probe opens its own file
/// description, so a lock held by this very process counts as held too.
pub fn is_locked(path: &Path) -> bool {
    let Ok(file) = open_to_probe(path) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => false,
        Err(TryLockError::WouldBlock) => true,
        // A file system without flock: say "held", so nothing is taken from a live owner.
        Err(TryLockError::Error(_)) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn private_dirs_are_created_and_narrowed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700, "created parents too");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700, "an old 0755 folder is narrowed");
        // One that another user made for us is refused, not used (giving it
        // away needs root).
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        std::os::unix::fs::chown(&dir, Some(54321), None).unwrap();
        let err = private_dir(&dir).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("another user"), "{err}");
    }

    #[test]
    fn a_tree_is_private_from_its_root_down() {
        let root = tempfile::tempdir().unwrap();
        let cache = root.path().join("cache");
        std::fs::create_dir_all(cache.join("agents")).unwrap();
        for dir in [&cache, &cache.join("agents")] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        private_tree(&cache, &cache.join("agents/elixir/key")).unwrap();
        for dir in [
            "cache",
            "cache/agents",
            "cache/agents/elixir",
            "cache/agents/elixir/key",
        ] {
            assert_eq!(mode(&root.path().join(dir)), 0o700, "{dir}");
        }
        assert_eq!(mode(root.path()), 0o755, "above the root is not ours");
    }

    #[test]
    fn appended_files_are_private_and_symlinks_refused() {
        let root = tempfile::tempdir().unwrap();
        let log = root.path().join("logs/runyard.log");
        std::fs::create_dir_all(log.parent().unwrap()).unwrap();
        std::fs::write(&log, b"old\n").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_private_append(&log).unwrap());
        assert_eq!(mode(&log), 0o600);
        assert_eq!(mode(log.parent().unwrap()), 0o700);
        let link = root.path().join("logs/link.log");
        std::os::unix::fs::symlink(root.path().join("elsewhere"), &link).unwrap();
        assert!(open_private_append(&link).is_err());
    }

    #[test]
    fn a_lock_is_exclusive_and_released_on_drop() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("x.lock");
        assert!(!is_locked(&path), "missing: nobody holds it");
        let lock = LockFile::acquire(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(is_locked(&path));
        assert_eq!(LockFile::acquire(&path).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert!(!remove_if_unlocked(&path), "a held lock is not swept");
        drop(lock);
        assert!(!path.exists(), "a clean release removes the file");
        assert!(!is_locked(&path));
        let left = LockFile::acquire(&path).unwrap();
        std::mem::forget(left); // as a killed holder would leave it, then:
        assert!(is_locked(&path), "still held by the leaked descriptor");
    }
}
