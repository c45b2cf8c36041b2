//! The process-wide allocator settings `avisa serve` makes, and the crate's only `unsafe` blocks.
//!
//! glibc's malloc raises its mmap threshold each time a large block is freed (up to 32 MiB), so
//! after a burst of large webhook bodies every later buffer of a few hundred KiB to a few MiB
//! comes from the arenas, and freed arena memory in the middle of a heap is never given back:
//! a storm of 1,000 × 1 MiB bodies left the process at 150 MB idle, from 27 MB
//! (`scripts/measure-memory`, docs/BENCHMARKS.md). Setting the threshold explicitly turns that
//! adjustment off: blocks above it are mapped on their own and unmapped when freed.
//!
//! Smaller blocks still come from the arenas, and a storm leaves them full of free chunks between
//! live ones (connection buffers of 8–256 KiB, parsed bodies): glibc gives back only the free top
//! of a heap. So a background thread asks glibc every few seconds to return every free page of
//! every arena (`malloc_trim(0)`, which walks the free lists and `madvise`s whole free pages).
//! On a heap with nothing to return that is a few microseconds.

/// Blocks at least this big get their own mapping (glibc's initial default, kept fixed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// How often free arena pages are handed back to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Fixes glibc's mmap threshold and starts the thread that hands free pages back. Does nothing on other C libraries (musl's allocator returns
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
        let started = std::thread::Builder::new()
            .name("avisa-trim".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(TRIM_EVERY);
                    // SAFETY: malloc_trim takes every arena's lock itself and only releases
                    // pages that hold no live block; sound from any thread at any time.
                    #[allow(unsafe_code)]
                    unsafe {
                        libc::malloc_trim(0);
                    }
                }
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "the memory trimming thread did not start; idle memory may stay high");
        }
    }
}
