//! Background jobs: the loops `app::start` spawns beside the HTTP server, one file each. Each
//! takes the `Db` and the `Clock` it needs and logs its own failures (a job never stops avisa).
//! Uses `db`, `domain`, `queue` and `channels`.

mod enrich;
mod housekeeping;
mod outbound;
mod pairing;
mod scheduled_backup;
mod senders;
mod session_sweeper;

pub use enrich::start_enrichment;
pub use housekeeping::{Compaction, HousekeepingReport, run_housekeeping, spawn_housekeeping};
pub use outbound::start_outbound;
pub use pairing::spawn_pairing_watch;
pub use senders::start_senders;
pub use session_sweeper::spawn_session_sweeper;
