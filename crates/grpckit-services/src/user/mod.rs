//! `user.v1.UserService`.

mod convert;
mod service;

pub use service::UserApi;
