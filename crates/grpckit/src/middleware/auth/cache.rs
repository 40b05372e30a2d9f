//! A small cache of verified tokens: token hash -> (principal, exp, nbf). A hit skips the
//! base64/JSON/signature work; exp and nbf are still checked on every call.

use std::{hash::BuildHasher, sync::RwLock};

// foldhash, seeded per cache: a JWT is a few hundred bytes, and SipHash over it was a
// visible part of each call. A collision only costs a verification: hits compare the token.
use foldhash::fast::RandomState;

use super::principal::Principal;

struct Entry {
    token: Box<str>,
    principal: Principal,
    exp: u64,
    nbf: u64,
}

/// Verified-token cache, cleared when full or when keys change (a new cache is built).
pub(crate) struct TokenCache {
    map: RwLock<foldhash::HashMap<u64, Entry>>,
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
            map: RwLock::new(Default::default()),
            hasher: RandomState::default(),
            cap,
        }
    }

    /// The map key: a hash of the token's last 32 bytes, which for a JWT are signature
    /// bytes (hashing all of it showed in profiles; hits still compare the whole token).
    fn key(&self, token: &[u8]) -> u64 {
        self.hasher
            .hash_one(&token[token.len().saturating_sub(32)..])
    }

    /// The cached principal if the token is still inside its validity window.
    pub(crate) fn get(&self, token: &[u8], now: u64, leeway: u64) -> Option<Principal> {
        if self.cap == 0 {
            return None;
        }
        let h = self.key(token);
        let map = self.map.read().ok()?;
        let e = map.get(&h)?;
        (e.token.as_bytes() == token
            && now <= e.exp.saturating_add(leeway)
            && now.saturating_add(leeway) >= e.nbf)
            .then(|| e.principal.clone())
    }

    pub(crate) fn put(&self, token: &str, principal: Principal, exp: u64, nbf: u64) {
        if self.cap == 0 {
            return;
        }
        let h = self.key(token.as_bytes());
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
