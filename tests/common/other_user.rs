//! A second, unprivileged Unix user for the security tests: what another
//! local user can read or reach of a Runyard running as this one.

use std::process::{Command, Output};
use std::sync::OnceLock;

/// The account the probes run as; created on first use.
pub const OTHER_USER: &str = "runyard-probe";

/// The other user's uid and gid, creating the account if needed. Creating
/// it needs root (as the test command and CI run); elsewhere this fails
/// saying what to do.
pub fn other_user() -> (u32, u32) {
    static USER: OnceLock<(u32, u32)> = OnceLock::new();
    *USER.get_or_init(|| {
        if let Some(ids) = lookup() {
            return ids;
        }
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                OTHER_USER,
            ])
            .status();
        // Two test binaries may race to create it: whoever lost finds it now.
        if let Some(ids) = lookup() {
            return ids;
        }
        panic!(
            "the security tests need a second Unix user {OTHER_USER:?} and could not create it \
             ({status:?}); run them as root (scripts/test does), or create it: \
             sudo useradd --system --no-create-home {OTHER_USER}"
        );
    })
}

fn lookup() -> Option<(u32, u32)> {
    let out = Command::new("id").arg(OTHER_USER).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Option<u32> {
        let start = text.find(&format!("{name}="))? + name.len() + 1;
        text[start..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    Some((field("uid")?, field("gid")?))
}

/// Runs `program args…` as the other user (no supplementary groups, no
/// capabilities), with a minimal environment.
pub fn run_as_other(program: &str, args: &[&str]) -> Output {
    let (uid, gid) = other_user();
    Command::new("setpriv")
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .args(["--clear-groups", "--inh-caps=-all", "--"])
        .arg(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/tmp")
        .current_dir("/")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run {program} as {OTHER_USER} with setpriv: {e}; \
                 scripts/test installs it (Debian: apt-get install util-linux)"
            )
        })
}
