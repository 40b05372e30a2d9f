//! A small cache of verified tokens: token hash -> (principal, exp, nbf). A hit skips the
//! base64/JSON/signature work; exp and nbf are still checked on every call.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::RwLock,
};

use super::principal::Principal;

struct Entry {
    token: Box<str>,
    principal: Principal,
    exp: u64,
    nbf: u64,
}

/// Verified-token cache, cleared when full or when keys change (a new cache is built).
pub(crate) struct TokenCache {
    map: RwLock<HashMap<u64, Entry>>,
    hasher: RandomState,
    cap: usize,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            hasher: RandomState::new(),
            cap,
        }
    }

    /// The cached principal if the token is still inside its validity window.
    pub(crate) fn get(&self, token: &str, now: u64, leeway: u64) -> Option<Principal> {
        if self.cap == 0 {
            return None;
        }
        let h = self.hasher.hash_one(token);
        let map = self.map.read().ok()?;
        let e = map.get(&h)?;
        (&*e.token == token
            && now <= e.exp.saturating_add(leeway)
            && now.saturating_add(leeway) >= e.nbf)
            .then(|| e.principal.clone())
    }

    pub(crate) fn put(&self, token: &str, principal: Principal, exp: u64, nbf: u64) {
        if self.cap == 0 {
            return;
        }
        let h = self.hasher.hash_one(token);
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.cap {
                map.clear();
            }
            map.insert(
                h,
                Entry {
                    token: token.into(),
                    principal,
                    exp,
                    nbf,
                },
            );
        }
    }
}
