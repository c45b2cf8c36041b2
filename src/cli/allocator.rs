//! The one process-wide allocator setting `avisa serve` makes, and the crate's only `unsafe`.
//!
//! glibc's malloc raises its mmap threshold each time a large block is freed (up to 32 MiB), so
//! after a burst of large webhook bodies every later buffer of a few hundred KiB to a few MiB
//! comes from the arenas, and freed arena memory in the middle of a heap is never given back:
//! a storm of 1,000 × 1 MiB bodies left the process at 150 MB idle, from 27 MB
//! (`scripts/measure-memory`, docs/BENCHMARKS.md). Setting the threshold explicitly turns that
//! adjustment off: blocks above it are mapped on their own and unmapped when freed.

/// Blocks at least this big get their own mapping (glibc's initial default, kept fixed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Fixes glibc's mmap threshold. Does nothing on other C libraries (musl's allocator returns
/// large blocks by itself).
pub(super) fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's parameters; glibc takes its own lock, so it is
        // sound at any time from any thread. A zero return (value refused) leaves the default.
        #[allow(unsafe_code)]
        let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        if accepted == 0 {
            tracing::warn!("glibc refused the fixed mmap threshold; idle memory may stay high");
        }
    }
}
