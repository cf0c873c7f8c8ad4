use std::fmt;
use std::process::ExitStatus;

use serde::{Deserialize, Serialize};

/// How a runtime process ended: an exit code or the signal that killed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl From<ExitStatus> for ExitInfo {
    fn from(status: ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        ExitInfo {
            code: status.code(),
            signal: status.signal(),
        }
    }
}

impl fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "status {code}"),
            (None, Some(signal)) => match nix::sys::signal::Signal::try_from(signal) {
                Ok(name) => write!(f, "signal {signal} ({})", name.as_str()),
                Err(_) => write!(f, "signal {signal}"),
            },
            (None, None) => write!(f, "an unknown status"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_status_or_signal() {
        assert_eq!(
            ExitInfo {
                code: Some(3),
                signal: None
            }
            .to_string(),
            "status 3"
        );
        assert_eq!(
            ExitInfo {
                code: None,
                signal: Some(9)
            }
            .to_string(),
            "signal 9 (SIGKILL)"
        );
    }
}
