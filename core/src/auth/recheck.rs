//! What a session's user or an API key is now, remembered for at most [`RECHECK`]: a
//! change made on another replica takes effect within that; one made through this replica
//! makes it forget at once.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

/// How long what a user or key is may be remembered.
pub const RECHECK: Duration = Duration::from_secs(30);

/// At most `MAX` entries; past that all are forgotten (and read again).
pub(super) struct Remembered<K, V, const MAX: usize> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K, V, const MAX: usize> Default for Remembered<K, V, MAX> {
    fn default() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash, V: Clone, const MAX: usize> Remembered<K, V, MAX> {
    /// The value remembered for `key` within the last [`RECHECK`].
    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.lock().get(key).filter(|(at, _)| at.elapsed() < RECHECK).map(|(_, value)| value.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self.lock();
        if entries.len() >= MAX {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn forget<Q: Eq + Hash + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.lock().remove(key);
    }

    /// Forgets the entries whose value `stale` says so.
    pub fn forget_where(&self, stale: impl Fn(&V) -> bool) {
        self.lock().retain(|_, (_, value)| !stale(value));
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_stays_bounded() {
        let remembered: Remembered<String, u32, 2> = Remembered::default();
        remembered.put("a".into(), 1);
        assert_eq!(remembered.get("a"), Some(1));
        remembered.put("b".into(), 2);
        remembered.put("c".into(), 3);
        assert_eq!(remembered.get("a"), None, "past the bound everything is read again");
        assert_eq!(remembered.get("c"), Some(3));
        remembered.forget_where(|v| *v == 3);
        assert_eq!(remembered.get("c"), None);
        remembered.put("d".into(), 4);
        remembered.forget("d");
        assert_eq!(remembered.get("d"), None);
    }
}
