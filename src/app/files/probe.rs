//! Whether a native file dialog can open here, checked once at start off the
//! UI thread: where none can, questions are asked with a path field.

/// Whether a native file dialog can open: on Linux and the BSDs rfd asks the
/// XDG desktop portal over libdbus (which it loads at run time), else runs
/// zenity. Elsewhere the system's own dialogs are always there.
pub(in crate::app) fn probe() -> Result<(), String> {
    if !cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    )) || which::which("zenity").is_ok()
    {
        return Ok(());
    }
    let missing = |why: &str| {
        Err(format!(
            "No file dialog can open here ({why}, and zenity is not installed)."
        ))
    };
    if !libdbus_loads() {
        return missing("libdbus is not installed");
    }
    match portal_on_session_bus() {
        Ok(true) => Ok(()),
        Ok(false) => missing("no XDG desktop portal on the session bus"),
        Err(err) => {
            tracing::debug!(%err, "no D-Bus session bus for the file dialog portal");
            missing("no D-Bus session bus")
        }
    }
}

fn libdbus_loads() -> bool {
    ["libdbus-1.so.3", "libdbus-1.so"].iter().any(|name| {
        let name = std::ffi::CString::new(*name).expect("no NUL");
        // SAFETY: loading libdbus runs no code of ours; the handle is closed at once.
        unsafe {
            let handle = libc::dlopen(name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
            if handle.is_null() {
                false
            } else {
                libc::dlclose(handle);
                true
            }
        }
    })
}

/// The portal runs, or D-Bus would start it on the first call.
fn portal_on_session_bus() -> zbus::Result<bool> {
    const PORTAL: &str = "org.freedesktop.portal.Desktop";
    let bus = zbus::blocking::Connection::session()?;
    let dbus = zbus::blocking::fdo::DBusProxy::new(&bus)?;
    let name = zbus::names::BusName::try_from(PORTAL)?;
    if dbus.name_has_owner(name)? {
        return Ok(true);
    }
    Ok(dbus.list_activatable_names()?.iter().any(|n| n.as_str() == PORTAL))
}
