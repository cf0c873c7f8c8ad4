//! A kernel's connection file: where it listens (five TCP ports on
//! 127.0.0.1) and the key that signs its messages, written 0600 in Jupyter's
//! runtime directory (0700) for the kernel to read with `-f {connection_file}`.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Kernels listen on loopback only: never all interfaces.
pub const KERNEL_IP: &str = "127.0.0.1";
pub const SIGNATURE_SCHEME: &str = "hmac-sha256";

/// What a connection file holds (Jupyter's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    pub ip: String,
    pub transport: String,
    pub shell_port: u16,
    pub iopub_port: u16,
    pub stdin_port: u16,
    pub control_port: u16,
    pub hb_port: u16,
    pub key: String,
    pub signature_scheme: String,
    pub kernel_name: String,
}

impl ConnectionInfo {
    /// Fresh ports (see [`free_ports`]) and the given key.
    pub fn new(kernel_name: &str, key: String) -> std::io::Result<ConnectionInfo> {
        let [shell_port, iopub_port, stdin_port, control_port, hb_port] = free_ports()?;
        Ok(ConnectionInfo {
            ip: KERNEL_IP.into(),
            transport: "tcp".into(),
            shell_port,
            iopub_port,
            stdin_port,
            control_port,
            hb_port,
            key,
            signature_scheme: SIGNATURE_SCHEME.into(),
            kernel_name: kernel_name.into(),
        })
    }

    /// `tcp://127.0.0.1:PORT`.
    pub fn endpoint(&self, port: u16) -> String {
        format!("{}://{}:{port}", self.transport, self.ip)
    }
}

/// Five distinct ports that were free a moment ago.
///
/// There is no way to hand a listening socket to a kernel (it binds the
/// ports in the file itself), so between our check and its bind another
/// program may take one: the bind race. We do not try to hold the ports —
/// the kernel could not bind a port we hold — but choose them from the
/// kernel's ephemeral range by binding port 0 (all five at once, so they
/// differ) and release them just before the start; the window is the
/// kernel's start-up (a fraction of a second). If it is lost, the kernel
/// exits saying "Address already in use" before it is ready, and the
/// manager starts it again with new ports (at most [`BIND_RETRIES`] times),
/// which is what jupyter_client's users do by hand.
pub fn free_ports() -> std::io::Result<[u16; 5]> {
    let listeners = (0..5)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut ports = [0u16; 5];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// How many times a kernel that lost the bind race is started again.
pub const BIND_RETRIES: u32 = 3;

/// True when a kernel's last words say a port was taken (the bind race).
pub fn lost_bind_race(stderr_tail: &str) -> bool {
    stderr_tail.contains("Address already in use") || stderr_tail.contains("EADDRINUSE")
}

/// Jupyter's runtime directory: `$JUPYTER_RUNTIME_DIR`, else
/// `$XDG_RUNTIME_DIR/jupyter`, else `<data dir>/jupyter/runtime`.
pub fn runtime_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("JUPYTER_RUNTIME_DIR") {
        return Some(dir);
    }
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        return Some(dir.join("jupyter"));
    }
    let data = var("XDG_DATA_HOME").or_else(|| var("HOME").map(|home| home.join(".local/share")))?;
    Some(data.join("jupyter/runtime"))
}

/// Writes `info` as `dir/kernel-<id>.json`, 0600 from the start (created
/// exclusively, never following a link), in `dir` made 0700 if missing.
pub fn write(dir: &Path, id: &str, info: &ConnectionInfo) -> std::io::Result<PathBuf> {
    if !dir.exists() {
        crate::fsutil::private_dir(dir)?;
    }
    let path = dir.join(format!("kernel-{id}.json"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)?;
    let text = serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?;
    let written = file.write_all(&text).and_then(|()| file.sync_all());
    if let Err(err) = written {
        let _ = std::fs::remove_file(&path);
        return Err(err);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn ports_differ_and_the_file_is_private() {
        let ports = free_ports().unwrap();
        let mut sorted = ports.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), 5);
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("runtime");
        let info = ConnectionInfo::new("python3", "k".repeat(32)).unwrap();
        let path = write(&dir, "x", &info).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        let read: ConnectionInfo = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(read, info);
        assert_eq!(read.ip, "127.0.0.1");
        assert!(write(&dir, "x", &info).is_err(), "never over an existing file");
    }
}
