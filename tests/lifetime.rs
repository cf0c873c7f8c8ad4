//! No orphans: when the process hosting the manager dies by SIGKILL, every
//! runtime it started, and everything those spawned, is gone soon after.

mod common;

use std::time::Duration;

use common::*;
use runyard::SessionId;

const HOST_ENV: &str = "RUNYARD_ORPHAN_HOST";

/// Runs only inside the helper process that `runtimes_die_with_their_host`
/// starts: it hosts a manager with three runtimes and prints their pids.
#[test]
#[ignore = "helper process for runtimes_die_with_their_host"]
fn orphan_host() {
    if std::env::var_os(HOST_ENV).is_none() {
        return;
    }
    let mut h = Harness::new();
    let mut pids = Vec::new();
    for n in 1..=3 {
        pids.push(h.connect(SessionId(n), python_config()).pid);
    }
    // One runtime spawns a grandchild, and is busy in a long call when we die.
    let child = h.eval(
        SessionId(1),
        "spawn",
        None,
        "import subprocess\nsubprocess.Popen(['sleep', '1000']).pid",
    );
    pids.push(child.value().unwrap().parse().unwrap());
    h.submit(SessionId(2), "main", "busy", None, "import time\ntime.sleep(1000)");
    println!(
        "RUNYARD_PIDS {}",
        pids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
    );
    std::thread::sleep(Duration::from_secs(3600));
}

#[test]
fn runtimes_die_with_their_host() {
    let (mut host, pids) = start_host("orphan_host", &[(HOST_ENV, "1".as_ref())]);
    assert_eq!(pids.len(), 4);
    assert!(pids.iter().all(|&p| alive(p)), "all running before the kill");
    kill9(host.id());
    host.wait().unwrap();
    let survivors = wait_gone(&pids, Duration::from_secs(2));
    assert!(
        survivors.is_empty(),
        "still alive 2 s after the host was killed: {survivors:?}"
    );
}
