//! `server.proxy_protocol:` which load balancers send a PROXY protocol header (v1 or v2)
//! naming the client, as HAProxy, AWS NLB and Envoy can.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Cidr;

/// `server.proxy_protocol:` connections from `trusted_proxies` must start with a PROXY
/// protocol header (v1 text or v2 binary); its source address becomes the client address
/// for the whole connection (access log, IP filter, rate limits, audit). Connections from
/// any other peer are served as they are (a header from them is not believed: it fails as a
/// malformed request). Default none: no header is read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyProtocolConfig {
    /// Peers (CIDR) that send the header. Default empty: off.
    pub trusted_proxies: Vec<Cidr>,
}

impl ProxyProtocolConfig {
    /// Whether a connection from `peer` must start with a PROXY protocol header.
    pub fn expects_header(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(peer))
    }
}
