//! LGPD from the command line: `avisa export` (everything kept about a buyer, as JSON) and
//! `avisa forget` (erase a buyer everywhere; only a hash stays, as an opt-out). They open the
//! data file directly, so avisa must be stopped (or use the console).

use std::path::Path;
use std::process::ExitCode;

use super::open_existing;
use crate::domain::{Clock, Phone, SystemClock};

fn buyer_phone(command: &str, raw: &str) -> Result<Phone, ExitCode> {
    Phone::parse(raw).map_err(|e| {
        eprintln!("avisa {command}: {raw:?} is not a usable phone: {e}");
        ExitCode::from(2)
    })
}

const LIVE_HINT: &str = "stop it first, or use the console (Configurações → Privacidade)";

/// `avisa export --buyer PHONE`: the buyer's data as JSON on stdout.
pub fn export(raw_phone: &str, dir: &Path) -> ExitCode {
    let phone = match buyer_phone("export", raw_phone) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let db = match open_existing("export", dir, LIVE_HINT) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match db.export_buyer(&phone, SystemClock.now()) {
        Ok(export) => {
            let json = serde_json::to_string_pretty(&export).expect("an export serialises");
            println!("{json}");
            eprintln!(
                "{} events, {} messages and {} conversation lines for {}",
                export.events.len(),
                export.messages.len(),
                export.conversation.len(),
                phone
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("avisa export: {e}");
            ExitCode::from(1)
        }
    }
}

/// `avisa forget --buyer PHONE`: erase the buyer's events, keep the opt-out hash.
pub fn forget(raw_phone: &str, dir: &Path) -> ExitCode {
    let phone = match buyer_phone("forget", raw_phone) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let db = match open_existing("forget", dir, LIVE_HINT) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match db.forget_buyer(&phone, SystemClock.now()) {
        Ok(done) => {
            println!(
                "{phone}: {} events and {} raw bodies erased, {} messages stripped of the buyer \
                 ({} pending ones canceled), {} conversation lines deleted; the number is kept \
                 only as a hash so it is never messaged again. Backups made before now still \
                 hold the old data.",
                done.events, done.raw_bodies, done.messages, done.canceled, done.conversation_lines
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("avisa forget: {e}");
            ExitCode::from(1)
        }
    }
}
