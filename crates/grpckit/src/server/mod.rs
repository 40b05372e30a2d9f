//! [`ServerBuilder`]: assembles listeners, the ONE tower stack, health, reflection and
//! graceful shutdown around the services you add.

mod builder;
mod incoming;
pub mod runtime;
mod shutdown;

pub use builder::{ServeError, ServerBuilder};
pub use shutdown::{Shutdown, wait_for_signal};
