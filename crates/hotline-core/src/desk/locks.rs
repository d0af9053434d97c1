//! Per-user locks: one event of a user at a time, in the order they asked.

use crate::ids::UserId;
use foldhash::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A lock per user, created on demand and forgotten when nobody holds or waits for it, so the map
/// holds only users with events in flight (not every user ever seen).
///
/// Tokio's mutex is fair: waiters get the lock in the order they asked for it, which is what keeps
/// a user's events in order when several are handled at once.
#[derive(Debug, Default)]
pub(crate) struct UserLocks {
    map: Mutex<HashMap<UserId, Arc<AsyncMutex<()>>>>,
}

/// Holds one user's lock; dropping it lets the next event of that user go.
pub(crate) struct UserGuard<'a> {
    locks: &'a UserLocks,
    user: UserId,
    guard: Option<OwnedMutexGuard<()>>,
}

impl UserLocks {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Arc<AsyncMutex<()>>>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) async fn lock(&self, user: UserId) -> UserGuard<'_> {
        let mutex = Arc::clone(self.map().entry(user).or_default());
        let guard = mutex.lock_owned().await;
        UserGuard {
            locks: self,
            user,
            guard: Some(guard),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}

impl Drop for UserGuard<'_> {
    fn drop(&mut self) {
        // Under the map's lock nobody can clone the Arc, so the count is exact: one reference
        // left means only the map holds it, and no one waits for this user.
        let mut map = self.locks.map();
        self.guard = None;
        if map
            .get(&self.user)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            map.remove(&self.user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_are_forgotten_when_released() {
        let locks = UserLocks::default();
        {
            let _a = locks.lock(UserId(1)).await;
            let _b = locks.lock(UserId(2)).await;
            assert_eq!(locks.len(), 2);
        }
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_in_order() {
        let locks = Arc::new(UserLocks::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = locks.lock(UserId(1)).await;
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (locks, order) = (Arc::clone(&locks), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let _g = locks.lock(UserId(1)).await;
                order.lock().unwrap().push(i);
            }));
            // Let the task reach the lock before the next one is spawned.
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(locks.len(), 0);
    }
}
