//! The Slurm cluster the tests submit to: the one `SLURM_CONF` names (scripts/test starts the
//! one-node test cluster of scripts/slurm-cluster and sets it), else that test cluster, started
//! here when needed (it needs root, and stays up afterwards: `scripts/slurm-cluster stop`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const HINT: &str = "scripts/test installs Slurm and starts a one-node cluster (Debian: apt-get install slurm-wlm \
     munge, then as root: eval \"$(scripts/slurm-cluster start)\")";

/// The config file for `srun`, `squeue`, `scancel`…: `SLURM_CONF`, else the test cluster's
/// (started now if it is not running). None, after printing why, when there is no Slurm here at
/// all (no `SLURM_CONF` and no `srun`): then the test returns early. Panics when Slurm is here
/// but the cluster cannot start.
pub fn slurm_conf() -> Option<PathBuf> {
    static CONF: OnceLock<Option<PathBuf>> = OnceLock::new();
    CONF.get_or_init(|| {
        if let Some(conf) = std::env::var_os("SLURM_CONF").filter(|c| !c.is_empty()) {
            return Some(PathBuf::from(conf));
        }
        if super::elixir::which_in_path("srun").is_none() {
            eprintln!("skipped: no Slurm here (SLURM_CONF is unset and there is no srun); {HINT}");
            return None;
        }
        Some(start_test_cluster())
    })
    .clone()
}

/// `program` (srun, squeue, scancel, scontrol, sinfo) talking to the cluster of `conf`.
pub fn command(program: &str, conf: &Path) -> Command {
    let mut command = Command::new(program);
    command.env("SLURM_CONF", conf);
    command
}

/// `scripts/slurm-cluster start`: already running → nothing to do; concurrent starts (several
/// test binaries) wait for each other on its lock.
fn start_test_cluster() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-cluster");
    let out = Command::new(&script)
        .arg("start")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let conf = stdout.lines().find_map(|line| line.strip_prefix("export SLURM_CONF="));
    match conf {
        Some(conf) if out.status.success() => PathBuf::from(conf),
        _ => panic!(
            "SLURM_CONF is unset and {} start failed ({}):\n{}\n{HINT}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
