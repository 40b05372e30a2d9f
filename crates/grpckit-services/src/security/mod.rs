//! Password hashing (argon2id, off the reactor), access tokens (JWT HS256) and the back-off
//! after failed logins.

mod access;
mod backoff;
mod password;
mod token;

pub use access::{CallContext, caller, check_owner, check_reader};
pub use backoff::{BackoffPolicy, LoginBackoff};
pub use password::{DUMMY_HASH, hash_password, verify_password};
pub use token::{Claims, TokenIssuer};
