//! [`client_ip`]: the client's address, believing `X-Forwarded-For` only from trusted proxies.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

use crate::{config::Cidr, headers::X_FORWARDED_FOR};

/// The address of the client of a call that arrived from `peer`.
///
/// `peer` itself unless it is in `trusted_proxies`. From a trusted proxy, the entries of
/// `X-Forwarded-For` (every such header, in order, each a comma-separated list) are read
/// from the right: the first entry that is not itself a trusted proxy is the client; when
/// all of them are, the left-most is. An entry may carry a port (`10.0.0.1:5555`,
/// `[2001:db8::1]:443`). `None` when a trusted hop forwarded an entry that is not an address
/// (the client cannot be known). IPv4-mapped IPv6 addresses are returned as IPv4.
///
/// # Examples
/// ```
/// use grpckit::{config::Cidr, middleware::ip_filter::client_ip};
/// use http::HeaderMap;
///
/// let proxies = ["10.0.0.0/8".parse::<Cidr>().unwrap()];
/// let mut headers = HeaderMap::new();
/// // Sent by the client itself (1.1.1.1, a lie), then appended by the proxies.
/// headers.insert("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.9".parse().unwrap());
/// let from_proxy = client_ip("10.0.0.1".parse().unwrap(), &headers, &proxies);
/// assert_eq!(from_proxy, Some("203.0.113.7".parse().unwrap()));
/// // From anyone else the header is ignored.
/// let direct = client_ip("198.51.100.1".parse().unwrap(), &headers, &proxies);
/// assert_eq!(direct, Some("198.51.100.1".parse().unwrap()));
/// ```
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[Cidr]) -> Option<IpAddr> {
    let trusted = |ip: IpAddr| trusted_proxies.iter().any(|n| n.contains(ip));
    let mut client = peer.to_canonical();
    if !trusted(client) {
        return Some(client);
    }
    for value in headers.get_all(X_FORWARDED_FOR).iter().rev() {
        let text = value.to_str().ok()?;
        for entry in text.rsplit(',').map(str::trim).filter(|e| !e.is_empty()) {
            client = parse_entry(entry)?.to_canonical();
            if !trusted(client) {
                return Some(client);
            }
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, or an address with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}
