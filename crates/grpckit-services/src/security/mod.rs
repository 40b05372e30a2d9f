//! Password hashing (argon2id, off the reactor) and access tokens (JWT HS256).

mod access;
mod password;
mod token;

pub use access::{CallContext, caller, check_owner, check_reader};
pub use password::{DUMMY_HASH, hash_password, verify_password};
pub use token::{Claims, TokenIssuer};
