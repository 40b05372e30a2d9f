//! Resolving `server.runtime` into concrete runtimes, and `SO_REUSEPORT` listeners for the
//! thread-per-core mode.

use std::net::SocketAddr;

use crate::config::{RuntimeFlavor, ServerConfig};

/// The resolved runtime plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimePlan {
    /// Multi-thread runtime with this many workers.
    MultiThread {
        /// Worker threads.
        workers: usize,
    },
    /// One current-thread runtime.
    CurrentThread,
    /// This many current-thread serving runtimes.
    ThreadPerCore {
        /// Serving threads.
        cores: usize,
        /// Pin each to a CPU.
        pin: bool,
    },
}

impl RuntimePlan {
    /// Resolves `auto` and zero counts against the CPUs available to the process.
    pub fn resolve(cfg: &ServerConfig) -> Self {
        let cpus = available_cpus();
        match cfg.runtime {
            RuntimeFlavor::Auto if cpus <= 1 => Self::CurrentThread,
            RuntimeFlavor::Auto => Self::MultiThread { workers: cpus },
            RuntimeFlavor::MultiThread => Self::MultiThread {
                workers: if cfg.workers == 0 { cpus } else { cfg.workers },
            },
            RuntimeFlavor::CurrentThread => Self::CurrentThread,
            RuntimeFlavor::ThreadPerCore => Self::ThreadPerCore {
                cores: if cfg.cores == 0 { cpus } else { cfg.cores },
                pin: cfg.pin_cores,
            },
        }
    }

    /// The flavour name (for logs and the build-info metric).
    pub fn name(self) -> &'static str {
        match self {
            Self::MultiThread { .. } => "multi_thread",
            Self::CurrentThread => "current_thread",
            Self::ThreadPerCore { .. } => "thread_per_core",
        }
    }

    /// Builds the main runtime: the only one, or (thread-per-core) the small shared runtime
    /// that owns the database pool, event bus, admin port and background work.
    pub fn build_main(self) -> std::io::Result<tokio::runtime::Runtime> {
        match self {
            Self::MultiThread { workers } => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers.max(1))
                .enable_all()
                .build(),
            Self::CurrentThread => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            Self::ThreadPerCore { .. } => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("grpckit-shared")
                .enable_all()
                .build(),
        }
    }
}

/// CPUs this process may use (affinity mask and cgroup quota).
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Connections the kernel queues for `accept` (capped by `net.core.somaxconn`, 4096 on
/// current Linux): a burst of new connections larger than the queue loses SYNs, which the
/// clients retry only after a second. Go's listeners use somaxconn too.
const LISTEN_BACKLOG: i32 = 4096;

/// A listener with `SO_REUSEPORT` (Linux: the kernel spreads connections over every
/// listener bound to the port) and `SO_REUSEADDR`.
pub fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    listener(addr, true)
}

/// The gRPC port's listener: `SO_REUSEADDR` (a restart binds at once while old connections
/// linger in TIME_WAIT) and an accept queue of [`LISTEN_BACKLOG`].
pub fn grpc_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    listener(addr, false)
}

fn listener(addr: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Pins the calling thread to the `index`-th CPU of the process's affinity mask.
pub fn pin_current_thread(index: usize) -> bool {
    let Some(ids) = core_affinity::get_core_ids() else {
        return false;
    };
    if ids.is_empty() {
        return false;
    }
    core_affinity::set_for_current(ids[index % ids.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choices_are_kept() {
        let mut cfg = ServerConfig {
            runtime: RuntimeFlavor::MultiThread,
            workers: 3,
            ..ServerConfig::default()
        };
        assert_eq!(
            RuntimePlan::resolve(&cfg),
            RuntimePlan::MultiThread { workers: 3 }
        );
        cfg.runtime = RuntimeFlavor::CurrentThread;
        assert_eq!(RuntimePlan::resolve(&cfg), RuntimePlan::CurrentThread);
        cfg.runtime = RuntimeFlavor::ThreadPerCore;
        cfg.cores = 2;
        assert_eq!(
            RuntimePlan::resolve(&cfg),
            RuntimePlan::ThreadPerCore {
                cores: 2,
                pin: false
            }
        );
        cfg.runtime = RuntimeFlavor::Auto;
        let auto = RuntimePlan::resolve(&cfg);
        assert_eq!(auto == RuntimePlan::CurrentThread, available_cpus() == 1);
    }

    #[test]
    fn reuseport_lets_several_listeners_share_a_port() {
        let a = reuseport_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = a.local_addr().unwrap();
        let b = reuseport_listener(port).unwrap();
        assert_eq!(b.local_addr().unwrap(), port);
    }
}
