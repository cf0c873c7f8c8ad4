//! Which `elixir` the tests run, and whether to run them.

use std::path::{Path, PathBuf};

/// `RUNYARD_TEST_ELIXIR`, else `elixir` from PATH.
pub fn elixir_exe() -> String {
    std::env::var("RUNYARD_TEST_ELIXIR")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "elixir".into())
}

pub fn which_in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// True when the Elixir tests are to be skipped (`RUNYARD_SKIP_ELIXIR=1`);
/// otherwise a missing `elixir` fails the test with what to do about it.
pub fn skip() -> bool {
    if std::env::var("RUNYARD_SKIP_ELIXIR").is_ok_and(|v| v == "1") {
        eprintln!("skipped: RUNYARD_SKIP_ELIXIR=1");
        return true;
    }
    let exe = elixir_exe();
    let found = if exe.contains('/') {
        Path::new(&exe).is_file()
    } else {
        which_in_path(&exe).is_some()
    };
    assert!(
        found,
        "{exe} was not found: scripts/test installs Elixir (Debian: apt-get install elixir erlang-base), \
         or set RUNYARD_SKIP_ELIXIR=1 to skip these tests on purpose"
    );
    false
}
