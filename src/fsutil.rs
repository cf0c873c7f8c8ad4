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
/// owned by someone else is left alone (it is not ours to change; opening
/// files in it then fails or succeeds on its own terms).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(PRIVATE_DIR).create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.mode() & 0o077 != 0 && meta.uid() == nix::unistd::geteuid().as_raw() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR))?;
        tracing::info!(dir = %dir.display(), "made private (0700)");
    }
    Ok(())
}

/// Opens `path` for appending, creating it (and its directory) private; an
/// existing file that others could read is narrowed to 0600.
pub fn open_private_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(PRIVATE_FILE)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)?;
    narrow(&file)?;
    Ok(file)
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
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(PRIVATE_FILE)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(LockFile {
                path: path.into(),
                _file: file,
            }),
            Err(TryLockError::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Err(TryLockError::Error(err)) => Err(err),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether a live process holds the lock on `path`. A missing file, or one
/// whose lock can be taken, means no one does. The probe opens its own file
/// description, so a lock held by this very process counts as held too.
pub fn is_locked(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
    else {
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
        drop(lock);
        assert!(!is_locked(&path));
    }
}
