//! Password hashing (argon2id) and the random secrets avisa hands out: session ids, CSRF tokens,
//! API tokens and one-time passwords. Request handlers hash through `hash_with`/`verify_with`:
//! argon2 takes tens of milliseconds of CPU, which on an async worker would hold up every webhook
//! behind it, so it runs on the blocking pool, a few at a time (`Slots`).

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::RngExt;
use sha2::{Digest, Sha256};

use super::slots::Slots;

/// The shortest password the console accepts.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Hashes a password with argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &random_bytes::<16>())
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// Hashes running at once: argon2 is CPU-bound, and more at once than the machine has cores
/// only makes each slower while holding the blocking pool's threads.
pub const HASHING_AT_ONCE: usize = 2;

/// `hash_password` through `slots` (off the async workers, a few at once).
pub async fn hash_with(slots: &Slots, password: String) -> String {
    slots.run(move || hash_password(&password)).await
}

/// `verify_password` through `slots` (off the async workers, a few at once).
pub async fn verify_with(slots: &Slots, password: String, phc: String) -> bool {
    slots.run(move || verify_password(&password, &phc)).await
}

/// A hash to verify against when the user does not exist, so timing does not reveal e-mails.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password"))
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill(&mut bytes);
    bytes
}

/// A 256-bit random secret, hex-encoded (session ids, CSRF tokens, API tokens).
pub fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// SHA-256 of a secret, the form in which avisa stores session ids and API tokens.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A readable one-time password: 16 characters without look-alikes (0/O, 1/l/I).
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<16>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    /// One runtime thread, like each of actix's workers: while hashes run, another task on it
    /// still gets its turn (with hashing on the runtime thread it would run after all of them).
    #[test]
    fn hashing_leaves_the_async_worker_free_for_other_requests() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let hashing = Arc::new(Slots::new(HASHING_AT_ONCE));
        let hash = hash_password("correct horse battery");
        let finished = Arc::new(AtomicUsize::new(0));
        const LOGINS: usize = 8;
        let (seen_by_webhook, all_right) = runtime.block_on(async {
            let logins: Vec<_> = (0..LOGINS)
                .map(|_| {
                    let (hash, finished) = (hash.clone(), finished.clone());
                    let hashing = hashing.clone();
                    tokio::spawn(async move {
                        let ok = verify_with(&hashing, "correct horse battery".into(), hash).await;
                        finished.fetch_add(1, Ordering::SeqCst);
                        ok
                    })
                })
                .collect();
            let finished_for_webhook = finished.clone();
            let webhook = tokio::spawn(async move { finished_for_webhook.load(Ordering::SeqCst) });
            let seen = webhook.await.expect("webhook task");
            let mut all_right = true;
            for login in logins {
                all_right &= login.await.expect("login task");
            }
            (seen, all_right)
        });
        assert!(all_right);
        assert_eq!(finished.load(Ordering::SeqCst), LOGINS);
        assert!(
            seen_by_webhook < LOGINS,
            "the webhook waited for {seen_by_webhook} hashes"
        );
    }

    #[test]
    fn tokens_are_256_bits_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(one_time_password().len(), 16);
    }
}
