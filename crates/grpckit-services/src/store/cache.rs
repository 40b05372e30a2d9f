//! [`CachedUsers`]: a read cache of users by id in front of any [`UserStore`]
//! (`database.user_cache`). `GetUser` and OrderService's "does this user exist" are the
//! hottest reads of the reference services; a hit costs a hash lookup instead of a database
//! round trip.
//!
//! Writes made through this process update or drop the entry at once. Writes made by other
//! processes sharing the database are seen when the entry expires (`ttl`). An entry is only
//! replaced by a user at least as recent (`updated_at`), so a slow read cannot put back an
//! older version than a concurrent update left.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{UserPatch, UserStore};
use crate::{ServiceError, domain::user::User};

/// The cache decorator.
#[derive(Debug)]
pub struct CachedUsers<S> {
    inner: S,
    entries: quick_cache::sync::Cache<String, (Instant, User)>,
    ttl: Duration,
}

impl<S: UserStore> CachedUsers<S> {
    /// Keeps at most `capacity` users for `ttl` each.
    pub fn new(inner: S, capacity: usize, ttl: Duration) -> Self {
        Self {
            inner,
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
            ttl,
        }
    }

    fn remember(&self, user: &User) {
        let newer_cached = self
            .entries
            .get(&user.id)
            .is_some_and(|(_, u)| u.updated_at > user.updated_at);
        if !newer_cached {
            self.entries
                .insert(user.id.clone(), (Instant::now(), user.clone()));
        }
    }
}

#[async_trait]
impl<S: UserStore> UserStore for CachedUsers<S> {
    async fn insert_user(&self, user: &User) -> Result<(), ServiceError> {
        self.inner.insert_user(user).await
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, ServiceError> {
        if let Some((at, user)) = self.entries.get(id)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(user));
        }
        let found = self.inner.get_user(id).await?;
        match &found {
            Some(u) => self.remember(u),
            None => {
                self.entries.remove(id);
            }
        }
        Ok(found)
    }

    async fn get_user_by_email(&self, email: &str) -> Result<Option<User>, ServiceError> {
        self.inner.get_user_by_email(email).await
    }

    async fn update_user(
        &self,
        id: &str,
        patch: UserPatch,
        now: i64,
    ) -> Result<Option<User>, ServiceError> {
        let updated = self.inner.update_user(id, patch, now).await;
        match &updated {
            Ok(Some(u)) => self.remember(u),
            _ => {
                self.entries.remove(id);
            }
        }
        updated
    }

    async fn delete_user(&self, id: &str) -> Result<bool, ServiceError> {
        let deleted = self.inner.delete_user(id).await;
        self.entries.remove(id);
        deleted
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, ServiceError> {
        self.inner.list_users(after, limit).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::domain::user::Role;

    /// One user in memory, counting reads.
    #[derive(Debug, Default)]
    struct One {
        user: std::sync::Mutex<Option<User>>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl UserStore for One {
        async fn insert_user(&self, user: &User) -> Result<(), ServiceError> {
            *self.user.lock().expect("lock") = Some(user.clone());
            Ok(())
        }
        async fn get_user(&self, _id: &str) -> Result<Option<User>, ServiceError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.user.lock().expect("lock").clone())
        }
        async fn get_user_by_email(&self, _e: &str) -> Result<Option<User>, ServiceError> {
            Ok(None)
        }
        async fn update_user(
            &self,
            _id: &str,
            patch: UserPatch,
            now: i64,
        ) -> Result<Option<User>, ServiceError> {
            let mut g = self.user.lock().expect("lock");
            if let (Some(u), Some(n)) = (g.as_mut(), patch.name) {
                u.name = n;
                u.updated_at = now;
            }
            Ok(g.clone())
        }
        async fn delete_user(&self, _id: &str) -> Result<bool, ServiceError> {
            Ok(self.user.lock().expect("lock").take().is_some())
        }
        async fn list_users(&self, _a: Option<&str>, _l: u32) -> Result<Vec<User>, ServiceError> {
            Ok(Vec::new())
        }
    }

    fn user() -> User {
        User {
            id: "u1".into(),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            password_hash: String::new(),
            role: Role::User,
            created_at: 1,
            updated_at: 1,
        }
    }

    #[tokio::test]
    async fn hits_follow_own_writes_and_expire() {
        let c = CachedUsers::new(One::default(), 10, Duration::from_millis(200));
        c.insert_user(&user()).await.unwrap();
        for _ in 0..3 {
            assert_eq!(c.get_user("u1").await.unwrap().unwrap().name, "Ada");
        }
        assert_eq!(
            c.inner.reads.load(Ordering::SeqCst),
            1,
            "one read, then hits"
        );
        let patch = UserPatch {
            name: Some("Grace".into()),
            ..UserPatch::default()
        };
        c.update_user("u1", patch, 2).await.unwrap();
        assert_eq!(c.get_user("u1").await.unwrap().unwrap().name, "Grace");
        // A write behind the cache's back is seen once the entry expires.
        c.inner.user.lock().unwrap().as_mut().unwrap().name = "Elsewhere".into();
        assert_eq!(c.get_user("u1").await.unwrap().unwrap().name, "Grace");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(c.get_user("u1").await.unwrap().unwrap().name, "Elsewhere");
        c.delete_user("u1").await.unwrap();
        assert!(c.get_user("u1").await.unwrap().is_none());
    }
}
