//! The process's memory allocator: jemalloc, for every binary that links this crate (the
//! executable, its tests and benchmarks), tuned to give wholly freed pages back at once.
//!
//! **Why not glibc's malloc.** The intake writer allocates and frees redb's page buffers and
//! frees what the HTTP workers allocated (encoded raw bodies, event records); with glibc every
//! such cross-thread free takes the owning arena's lock and consolidates chunks. Under
//! `scripts/bench-ingest` glibc's `malloc`/`free` were ~27 % of the writer's samples and ~23 % of
//! the workers' (`perf`, docs/BENCHMARKS.md); with jemalloc they are ~7 % and the writer, the
//! serial section that bounds durable events per second, is mostly page writes.
//!
//! **Memory given back at once.** jemalloc keeps freed pages ("dirty") for `dirty_decay_ms`
//! (10 s by default) before handing them to the kernel. Under a storm of 1,000 × 1 MiB webhooks
//! (`scripts/measure-memory`) that kept the bodies already answered resident while the rest
//! were read: peaks of 140–160 MB against glibc's 122, with 1 s or 100 ms decays still 141–153.
//! `tune` sets the decay to 0 on every arena, so a page with nothing live in it goes back when
//! freed, as glibc's separately mapped large blocks did: peak 122–123 MB, idle 36–37 MB (targets
//! 150 and 60). It costs ingest some speed against jemalloc's default (~10–20 %), and is still
//! +21–28 % durable events/s over glibc (docs/BENCHMARKS.md).
//!
//! **Except the intake writer** (`own_arena`): its churn is redb's page buffers, freed and taken
//! again at every group commit, which decay 0 sent back to the kernel and faulted in again each
//! time. It gets an arena of its own with a 1 s decay; the storm's bodies, allocated by the HTTP
//! workers, still go back at once (peak 121 MB, idle 37–38 MB).

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's decay time for dirty pages: 0 gives a wholly free page back when it is freed.
pub const DIRTY_DECAY_MS: isize = 0;

/// Sets every arena's dirty-page decay (the ones that exist and the ones threads create later)
/// to [`DIRTY_DECAY_MS`]. `avisa serve` calls it first thing, and so does the ingest benchmark's
/// server, so it measures what ships. Logs and goes on if jemalloc refuses.
pub fn tune() {
    #[cfg(not(target_env = "msvc"))]
    {
        use tikv_jemalloc_ctl::{Access, AsName};
        if let Err(e) = b"arenas.dirty_decay_ms\0".name().write(DIRTY_DECAY_MS) {
            tracing::warn!(error = %e, "jemalloc kept its default decay; freed memory returns after ~10 s");
        }
        let arenas = tikv_jemalloc_ctl::arenas::narenas::read().unwrap_or(0);
        for arena in 0..arenas {
            // An arena no thread has used yet does not exist; it takes the default above.
            let _ = format!("arena.{arena}.dirty_decay_ms\0")
                .name()
                .write(DIRTY_DECAY_MS);
        }
    }
}

/// The decay of the intake writer's own arena (`own_arena`): its freed pages are reused for the
/// next group commit instead of going back and forth to the kernel.
pub const WRITER_DECAY_MS: isize = 1_000;

/// Moves the calling thread to an arena of its own whose dirty pages decay after
/// [`WRITER_DECAY_MS`]. The intake writer calls it at start: with decay 0 every group commit
/// returned redb's freed page buffers to the kernel (`madvise`, with the TLB shootdowns that
/// interrupt the other core) and faulted them in again, ~11 % of the writer's samples under
/// `scripts/bench-ingest`. What the writer frees of the HTTP workers' allocations (the bodies)
/// goes back to their arenas, which keep decay 0, so a storm of large bodies still leaves at
/// once. Logs and goes on if jemalloc refuses.
pub fn own_arena() {
    #[cfg(not(target_env = "msvc"))]
    {
        use tikv_jemalloc_ctl::{Access, AsName};
        let made = b"arenas.create\0".name().read().and_then(|arena: u32| {
            format!("arena.{arena}.dirty_decay_ms\0")
                .name()
                .write(WRITER_DECAY_MS)?;
            b"thread.arena\0".name().write(arena)
        });
        if let Err(e) = made {
            tracing::warn!(error = %e, "the intake writer shares the default arenas");
        }
    }
}

#[cfg(all(test, not(target_env = "msvc")))]
mod tests {
    use tikv_jemalloc_ctl::{Access, AsName};

    /// A jemalloc setting in milliseconds, by its NUL-terminated name.
    fn decay(name: &[u8]) -> isize {
        name.name().read().expect("a jemalloc decay setting")
    }

    #[test]
    fn the_process_allocates_through_jemalloc_and_tune_gives_free_pages_back_at_once() {
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
        assert_eq!(decay(b"arena.0.dirty_decay_ms\0"), super::DIRTY_DECAY_MS);
        assert_eq!(decay(b"arenas.dirty_decay_ms\0"), super::DIRTY_DECAY_MS);
    }

    #[test]
    fn a_thread_can_take_an_arena_of_its_own_with_a_slower_decay() {
        std::thread::spawn(|| {
            let before: u32 = b"thread.arena\0".name().read().expect("arena");
            super::own_arena();
            let arena: u32 = b"thread.arena\0".name().read().expect("arena");
            assert_ne!(arena, before, "a new arena");
            let name = format!("arena.{arena}.dirty_decay_ms\0");
            assert_eq!(decay(name.as_bytes()), super::WRITER_DECAY_MS);
        })
        .join()
        .expect("thread");
    }
}
