//! IP filter: allow and deny lists of client networks (CIDR, IPv4 and IPv6), global and per
//! method pattern (`middleware.ip_filter`, [`IpFilterConfig`](crate::config::IpFilterConfig)).
//!
//! It runs early in the chain, after the request id and access log and before routing and
//! auth, so a refused address costs a few comparisons: no token is parsed, no bucket taken.
//! The answer is `PERMISSION_DENIED` with the reason `IP_DENIED`
//! ([`reason::IP_DENIED`](crate::reason::IP_DENIED)), counted in
//! `grpckit_ip_rejected_total{reason}`.
//!
//! # Decision
//! The lists that apply to a call are the global ones plus those of every rule whose method
//! pattern matches. A client address in any deny list that applies is refused (deny wins);
//! otherwise every non-empty allow list that applies must contain it (an empty allow list
//! allows every address). A call whose client address is unknown (no peer address, or a
//! trusted proxy forwarded something that is not an address) is refused as soon as any list
//! applies.
//!
//! # Which address
//! The direct peer's, unless the peer is in `trusted_proxies`: then [`client_ip`] walks
//! `X-Forwarded-For` from the right, skipping trusted proxies, and takes the first address
//! that is not one (the scheme of nginx's `real_ip_recursive` and Envoy's trusted
//! addresses). Addresses written further left were written by the client itself and are
//! never believed. PROXY protocol headers are not read. IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`) are their IPv4 address throughout. The lists are scanned linearly:
//! they are meant for tens of networks, not for country-sized block lists.

mod client_ip;
mod filter;

#[cfg(test)]
mod tests;

pub use client_ip::client_ip;
pub use filter::{IpFilter, IpRefusal};
use tonic::{Code, Status};

use crate::reason;

/// `PERMISSION_DENIED` with the reason `IP_DENIED`; the message does not say which list
/// refused the address, nor the address the server saw.
pub fn ip_denied() -> Status {
    reason::IP_DENIED.status(
        Code::PermissionDenied,
        "the client address may not call this method",
    )
}
