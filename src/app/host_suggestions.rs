//! The SSH hosts offered where a host is asked for, read from an OpenSSH
//! client config in the background (`remote::ssh_hosts`): again each time
//! the runtime settings open, and when another config file is named there.

use std::path::PathBuf;
use std::sync::Arc;

use super::RunyardApp;
use super::files::Done;
use crate::remote::ssh_hosts::{self, SshHosts};

/// The last hosts read, and for which config.
#[derive(Default)]
pub(super) struct HostSuggestions {
    /// `None` until a read finished.
    pub found: Option<Arc<SshHosts>>,
    /// The config `found` (or the read in flight) is for: `None` is the user's own.
    wanted: Option<Option<PathBuf>>,
    reading: bool,
    /// The home directory whose `.ssh` is read (tests give one); `None`: the user's.
    home: Option<PathBuf>,
}

impl HostSuggestions {
    pub fn new(home: Option<PathBuf>) -> HostSuggestions {
        HostSuggestions {
            home,
            ..Default::default()
        }
    }
}

impl RunyardApp {
    /// Reads the hosts of `config` (`None`: `~/.ssh/config`) in the
    /// background; with `again`, even if they were read already.
    pub(super) fn refresh_ssh_hosts(&mut self, config: Option<PathBuf>, again: bool) {
        let hosts = &mut self.ssh_hosts;
        if hosts.reading || (!again && hosts.wanted.as_ref() == Some(&config)) {
            return;
        }
        if hosts.wanted.as_ref() != Some(&config) {
            // Another file's hosts are no suggestion for this one.
            hosts.found = None;
        }
        hosts.reading = true;
        hosts.wanted = Some(config.clone());
        let home = hosts.home.clone();
        self.tasks.spawn_detached("ssh-hosts", move || {
            let home = home.or_else(ssh_hosts::home_dir).unwrap_or_default();
            let file = config.clone().unwrap_or_else(|| ssh_hosts::user_config(&home));
            Done::SshHosts {
                config,
                hosts: Arc::new(ssh_hosts::read_hosts(&file, &home)),
            }
        });
    }

    /// A read finished: kept if it is for the config still wanted.
    pub(super) fn ssh_hosts_read(&mut self, config: Option<PathBuf>, hosts: Arc<SshHosts>) {
        let state = &mut self.ssh_hosts;
        state.reading = false;
        if state.wanted.as_ref() == Some(&config) {
            state.found = Some(hosts);
        }
    }

    /// The hosts read, if a read finished (for tests).
    #[doc(hidden)]
    pub fn ssh_host_suggestions(&self) -> Option<&SshHosts> {
        self.ssh_hosts.found.as_deref()
    }
}
