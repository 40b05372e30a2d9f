//! [`ServerBuilder`]: assembles listeners, the ONE tower stack, health, reflection and
//! graceful shutdown around the services you add; [`App`] runs it as a process.

mod accept;
mod admin_tls;
mod app;
mod builder;
mod channelz;
mod conn;
mod end_stream;
mod h2_guard;
mod incoming;
mod park;
mod proxy_protocol;
mod reflection;
mod response_body;
mod run;
pub mod runtime;
mod shutdown;
mod signals;
mod tls;
mod tls_reload;

pub use app::App;
pub use builder::{OuterService, ServeError, ServerBuilder};
pub use channelz::ConnectionView;
pub use end_stream::EndOnShutdown;
pub(crate) use end_stream::SHUTTING_DOWN;
pub use reflection::google_rpc_descriptors;
pub(crate) use response_body::send_limit_status;
pub use run::{RunError, Running, run_blocking, start};
pub use shutdown::{Shutdown, wait_for_signal};
pub(crate) use signals::Hangup;
pub use signals::{Signals, signal_exit_code};
pub use tls::TlsError;

/// The gRPC port's open connections (listed only with `server.debug.enabled`).
pub(crate) fn open_connections() -> Vec<ConnectionView> {
    channelz::registry().snapshot()
}
