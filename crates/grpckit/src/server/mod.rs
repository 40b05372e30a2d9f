//! [`ServerBuilder`]: assembles listeners, the ONE tower stack, health, reflection and
//! graceful shutdown around the services you add.

mod builder;
mod incoming;
mod reflection;
pub mod runtime;
mod shutdown;

pub use builder::{ServeError, ServerBuilder};
pub use reflection::google_rpc_descriptors;
pub use shutdown::{Shutdown, wait_for_signal};
