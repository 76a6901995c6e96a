//! Argon2id password hashes (PHC strings).

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use std::sync::{mpsc, Arc, LazyLock};

use tokio::sync::oneshot;

use crate::error::AppError;

pub fn hash(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("hashing password: {e}")))
}

/// Threads that check passwords, process-wide. Each Argon2 check takes ~19 MiB and tens of
/// milliseconds of CPU: a flood of sign-ins queues here instead of taking the memory and
/// the async threads, and the memory a check used stays with these few threads for the
/// next one (on the general blocking pool, every thread kept its own).
const CHECKERS: usize = 2;

type Check = Box<dyn FnOnce() + Send>;

/// Checks waiting past this many are refused at once (UNAVAILABLE, retry shortly) rather
/// than queued: a flood of sign-ins cannot pile up memory or time.
const MAX_WAITING: usize = 64;

static CHECK_QUEUE: LazyLock<Option<mpsc::SyncSender<Check>>> = LazyLock::new(|| {
    let (sender, receiver) = mpsc::sync_channel::<Check>(MAX_WAITING);
    let receiver = Arc::new(std::sync::Mutex::new(receiver));
    for n in 0..CHECKERS {
        let receiver = receiver.clone();
        let started = std::thread::Builder::new().name(format!("password-check-{n}")).spawn(move || loop {
            let next = receiver.lock().map(|r| r.recv());
            match next {
                Ok(Ok(check)) => {
                    check();
                    give_back_memory();
                }
                _ => return,
            }
        });
        if started.is_err() {
            return None;
        }
    }
    Some(sender)
});

/// Hands the ~19 MiB a check used back to the system (glibc keeps freed blocks of this
/// size in its arenas otherwise): a flood leaves no memory behind.
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`verify`] on the password-check threads. UNAVAILABLE when too many checks wait or the
/// threads are not running.
pub async fn verify_bounded(password: &str, stored: &str) -> Result<bool, AppError> {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    let (reply, answer) = oneshot::channel();
    let check: Check = Box::new(move || {
        let _ = reply.send(verify(&password, &stored));
    });
    let busy = || AppError::Unavailable("too many sign-ins at once; try again in a moment".into());
    let queue = CHECK_QUEUE.as_ref().ok_or_else(busy)?;
    queue.try_send(check).map_err(|_| busy())?;
    answer.await.map_err(|_| busy())
}

/// `true` when the password matches; a malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A random password for a person to change later (printed once).
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let stored = hash("correct horse battery").unwrap_or_default();
        assert!(stored.starts_with("$argon2"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("wrong horse battery", &stored));
        assert!(!verify("anything", "not-a-hash"));
        assert_eq!(generate().len(), 20);
    }

    #[tokio::test]
    async fn bounded_checks_answer_as_the_plain_check_however_many_wait() {
        let stored = hash("correct horse battery").unwrap_or_default();
        let checks = (0..8).map(|i| {
            let stored = stored.clone();
            async move {
                let given = if i % 2 == 0 { "correct horse battery" } else { "wrong horse battery" };
                (i, verify_bounded(given, &stored).await.unwrap_or(false))
            }
        });
        for (i, ok) in futures::future::join_all(checks).await {
            assert_eq!(ok, i % 2 == 0, "check {i}");
        }
    }
}
