//! The process's memory allocator: jemalloc, for every binary that links this crate (the
//! executable, its tests and benchmarks), with background threads that give freed pages back.
//!
//! **Why not glibc's malloc.** The intake writer allocates and frees redb's page buffers and
//! frees what the HTTP workers allocated (encoded raw bodies, event records); with glibc every
//! such cross-thread free takes the owning arena's lock and consolidates chunks. Under
//! `scripts/bench-ingest` glibc's `malloc`/`free` were ~27 % of the writer's samples and ~23 % of
//! the workers' (`perf`, docs/BENCHMARKS.md); with jemalloc they are ~7 % and the writer, the
//! serial section that bounds durable events per second, is mostly page writes.
//!
//! **Memory given back.** jemalloc purges dirty pages by itself after `opt.dirty_decay_ms` (10 s
//! by default; `muzzy_decay_ms` is 0, so purged pages go straight back to the kernel). Without
//! background threads that purge runs only when a thread allocates again, and the actix workers
//! go quiet after a storm; with them a jemalloc thread purges on time. A storm of 1,000 × 1 MiB
//! webhooks (`scripts/measure-memory`) peaks at ~120 MB and is back at ~36 MB within 30 s.

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Starts jemalloc's background purging threads (`avisa serve` at start, and the ingest
/// benchmark's server, so it measures what ships). Logs and goes on if the platform has none.
pub fn tune() {
    #[cfg(not(target_env = "msvc"))]
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(error = %e, "jemalloc's background threads did not start; freed memory returns only as the server allocates again");
    }
}

/// Whether jemalloc's background purging threads are on.
pub fn background_purging() -> bool {
    #[cfg(not(target_env = "msvc"))]
    {
        tikv_jemalloc_ctl::background_thread::read().unwrap_or(false)
    }
    #[cfg(target_env = "msvc")]
    {
        false
    }
}

#[cfg(all(test, not(target_env = "msvc")))]
mod tests {
    #[test]
    fn the_process_allocates_through_jemalloc_and_tune_turns_background_purging_on() {
        // This thread's allocation shows in jemalloc's own count of what the thread has ever
        // allocated: the crate's global allocator is jemalloc, not the C library's malloc.
        let counter = tikv_jemalloc_ctl::thread::allocatedp::read().expect("thread counter");
        let before = counter.get();
        let block = std::hint::black_box(vec![7u8; 1 << 20]);
        let after = counter.get();
        assert!(
            after >= before + (1 << 20),
            "jemalloc counted {before} then {after} bytes around a 1 MiB block"
        );
        drop(block);

        super::tune();
        assert!(super::background_purging());
    }
}
