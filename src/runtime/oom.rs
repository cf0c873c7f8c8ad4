//! How many processes the kernel's OOM killer has killed in our memory
//! cgroup, so that a runtime's SIGKILL can be told apart from another one.
//! The runtime inherits the manager's cgroup; a kill counted between its
//! start and its death, with SIGKILL as its cause, was the OOM killer's.

use std::path::{Path, PathBuf};

/// The `oom_kill` count of this process's memory cgroup (v2 `memory.events`
/// or v1 `memory.oom_control`), or `None` where none can be read.
pub fn oom_kills() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    counter_files(&cgroups, Path::new("/sys/fs/cgroup"))
        .iter()
        .find_map(|file| read_count(file))
}

/// Where the counter may be, most specific first.
fn counter_files(cgroups: &str, root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for line in cgroups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            files.insert(0, root.join("memory").join(path).join("memory.oom_control"));
        } else if controllers.is_empty() {
            // Unified hierarchy: mounted at the root, or beside v1 as `unified`.
            files.push(root.join(path).join("memory.events"));
            files.push(root.join("unified").join(path).join("memory.events"));
        }
    }
    files
}

fn read_count(file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_v1_before_v2_and_reads_the_count() {
        let files = counter_files(
            "9:name=systemd:/\n4:memory:/app/x\n0::/user.slice/app.scope\n",
            Path::new("/cg"),
        );
        assert_eq!(
            files,
            [
                PathBuf::from("/cg/memory/app/x/memory.oom_control"),
                PathBuf::from("/cg/user.slice/app.scope/memory.events"),
                PathBuf::from("/cg/unified/user.slice/app.scope/memory.events"),
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("memory.events");
        std::fs::write(&events, "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\noom_group_kill 0\n").unwrap();
        assert_eq!(read_count(&events), Some(2));
        std::fs::write(&events, "garbage").unwrap();
        assert_eq!(read_count(&events), None);
    }
}
