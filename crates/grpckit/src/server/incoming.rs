//! Accept loop that sets TCP_NODELAY and survives transient accept errors (EMFILE etc.).

use std::time::Duration;

use futures::Stream;
use tokio::net::{TcpListener, TcpStream};

/// Turns a listener into the stream of connections tonic serves.
pub(crate) fn tcp_incoming(
    listener: TcpListener,
) -> impl Stream<Item = std::io::Result<TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    return Some((Ok(stream), listener));
                }
                Err(e) => {
                    // Out of fds or a connection reset before accept: keep serving the rest.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
}
