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

/// The lines a runtime writes just before it dies are the ones that explain
/// it: every byte written before `os._exit` arrives, in order, every time.
#[test]
fn output_written_just_before_death_is_never_lost() {
    let mut h = Harness::new();
    let flood = "import os, sys\n\
                 for i in range(100001):\n    print(i)\n\
                 sys.stdout.flush()\n\
                 os._exit(3)";
    let expected: String = (0..100001).map(|i| format!("{i}\n")).collect();
    for round in 0..50 {
        let session = SessionId(round + 1);
        h.connect(session, python_config());
        let flooded = h.eval(session, "flood", None, flood);
        assert!(
            flooded.stdout == expected,
            "round {round}: {} of {} bytes arrived; the end: {:?}",
            flooded.stdout.len(),
            expected.len(),
            &flooded.stdout[flooded.stdout.len().saturating_sub(40)..]
        );
        h.connect(session, python_config());
        let last = h.eval(
            session,
            "last",
            None,
            "import os\nprint('before-exit', flush=True)\nos._exit(3)",
        );
        assert_eq!(last.stdout, "before-exit\n", "round {round}");
        let exit = h.wait_for("node down", |e| match e {
            runyard::Event::NodeDown { session: s, exit, .. } if *s == session => Some(*exit),
            _ => None,
        });
        assert_eq!(exit.code, Some(3));
    }
}

/// A panic in the manager thread stops every runtime (and what they
/// started) and says so, instead of leaving runtimes that nobody watches.
#[test]
fn a_failed_manager_stops_every_runtime_and_says_so() {
    let mut h = Harness::new();
    let mut pids = vec![h.connect(SessionId(1), python_config()).pid];
    let child = h.eval(
        SessionId(1),
        "spawn",
        None,
        "import subprocess\nsubprocess.Popen(['sleep', '1000'], start_new_session=True).pid",
    );
    pids.push(child.value().unwrap().parse().unwrap());
    h.manager.send(runyard::Command::InjectPanic);
    let message = h.wait_for("the manager's failure", |e| match e {
        runyard::Event::ManagerFailed { message } => Some(message.clone()),
        _ => None,
    });
    assert!(message.contains("every runtime was stopped"), "{message}");
    let survivors = wait_gone(&pids, Duration::from_secs(10));
    assert!(survivors.is_empty(), "still alive: {survivors:?}");
}
