//! The window's memory back to the system: what a notebook's open or an
//! image's decode freed should not stay resident (VMs and remote desktops
//! run many windows in little memory). glibc only; elsewhere nothing.

/// Makes glibc give large freed blocks back to the system at once. By
/// default it raises its mmap threshold each time such a block is freed (a
/// notebook file's text, a decoded image), after which blocks of many
/// megabytes come from its heaps and stay resident once freed: a window
/// that opened a notebook with plots kept tens of megabytes it no longer
/// used. Fixing the threshold turns that adjustment off.
pub fn keep_large_blocks_returnable() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning, to glibc's own defaults.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 * 1024);
    }
}

/// Returns the free pages of every heap to the system: after a parse or a
/// decode freed many small blocks, which no threshold covers.
pub fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it touches nothing in use.
    unsafe {
        libc::malloc_trim(0);
    }
}
