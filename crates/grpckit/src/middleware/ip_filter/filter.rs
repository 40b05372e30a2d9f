//! [`IpFilter`]: the resolved lists of `middleware.ip_filter`, and the decision for a call.

use std::net::IpAddr;

use http::HeaderMap;

use super::client_ip;
use crate::config::{Cidr, IpFilterConfig, MethodPattern};

/// One allow list and one deny list.
#[derive(Debug, Default)]
struct Lists {
    allow: Box<[Cidr]>,
    deny: Box<[Cidr]>,
}

impl Lists {
    fn new(allow: &[Cidr], deny: &[Cidr]) -> Self {
        Self {
            allow: allow.into(),
            deny: deny.into(),
        }
    }

    fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    fn denies(&self, ip: IpAddr) -> bool {
        self.deny.iter().any(|n| n.contains(ip))
    }

    /// An empty allow list allows every address.
    fn allows(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|n| n.contains(ip))
    }
}

/// Why a call's client address was refused (the label of `grpckit_ip_rejected_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRefusal {
    /// The address is in a deny list that applies.
    Denied,
    /// An allow list that applies does not contain the address.
    NotAllowed,
    /// The address is unknown (no peer address, or a trusted proxy forwarded something that
    /// is not an address) and lists apply.
    Unknown,
}

impl IpRefusal {
    /// The metric label: `denied`, `not_allowed` or `unknown_address`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::NotAllowed => "not_allowed",
            Self::Unknown => "unknown_address",
        }
    }
}

/// The IP filter's state: global lists, per-method rules (resolved once for the server's
/// known methods) and the trusted proxies. Built from [`IpFilterConfig`]; see the
/// [module docs](super) for the decision.
///
/// # Examples
/// ```
/// use grpckit::{config::IpFilterConfig, middleware::ip_filter::{IpFilter, IpRefusal}};
/// use http::HeaderMap;
///
/// let cfg: IpFilterConfig = serde_norway::from_str(
///     "{allow: [10.0.0.0/8], rules: [{methods: \"a.B/Admin*\", allow: [10.1.0.0/16]}]}",
/// ).unwrap();
/// let filter = IpFilter::new(&cfg, &[]);
/// let check = |method, ip: &str| {
///     filter.check(usize::MAX, method, Some(ip.parse().unwrap()), &HeaderMap::new())
/// };
/// assert_eq!(check("a.B/Get", "10.9.0.1"), Ok(()));
/// assert_eq!(check("a.B/AdminReset", "10.9.0.1"), Err(IpRefusal::NotAllowed));
/// assert_eq!(check("a.B/AdminReset", "10.1.0.1"), Ok(()));
/// assert_eq!(check("a.B/Get", "192.0.2.1"), Err(IpRefusal::NotAllowed));
/// ```
#[derive(Debug)]
pub struct IpFilter {
    global: Lists,
    rules: Box<[(MethodPattern, Lists)]>,
    /// For each known method (by table index), the rules whose pattern matches it.
    per_method: Box<[Box<[usize]>]>,
    trusted_proxies: Box<[Cidr]>,
}

impl IpFilter {
    /// The filter of `cfg`, with the rules resolved for `methods` (`pkg.Service/Method`, in
    /// the stack's method-table order; other methods are matched by name per call).
    pub fn new(cfg: &IpFilterConfig, methods: &[&str]) -> Self {
        let rules: Box<[(MethodPattern, Lists)]> = cfg
            .rules
            .iter()
            .map(|r| (r.methods.clone(), Lists::new(&r.allow, &r.deny)))
            .collect();
        let per_method = methods
            .iter()
            .map(|m| {
                rules
                    .iter()
                    .enumerate()
                    .filter(|(_, (p, _))| p.matches(m))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        Self {
            global: Lists::new(&cfg.allow, &cfg.deny),
            rules,
            per_method,
            trusted_proxies: cfg.trusted_proxies.as_slice().into(),
        }
    }

    /// The lists that apply to a method: the global ones, then each matching rule's.
    fn lists<'a>(&'a self, index: usize, method: &'a str) -> impl Iterator<Item = &'a Lists> {
        let (known, unknown) = match self.per_method.get(index) {
            Some(ix) => (Some(ix.iter().map(move |&i| &self.rules[i].1)), None),
            None => (
                None,
                Some(
                    self.rules
                        .iter()
                        .filter(move |(p, _)| p.matches(method))
                        .map(|(_, l)| l),
                ),
            ),
        };
        std::iter::once(&self.global)
            .chain(known.into_iter().flatten())
            .chain(unknown.into_iter().flatten())
    }

    /// Decides a call of `method` (its method-table index, `usize::MAX` when unknown) that
    /// arrived from `peer` with `headers` (read for `X-Forwarded-For` from trusted proxies).
    ///
    /// # Errors
    /// The client address is refused, and why.
    pub fn check(
        &self,
        index: usize,
        method: &str,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Result<(), IpRefusal> {
        let client = peer.and_then(|p| client_ip(p, headers, &self.trusted_proxies));
        let Some(ip) = client else {
            return if self.lists(index, method).all(Lists::is_empty) {
                Ok(())
            } else {
                Err(IpRefusal::Unknown)
            };
        };
        if self.lists(index, method).any(|l| l.denies(ip)) {
            Err(IpRefusal::Denied)
        } else if self.lists(index, method).all(|l| l.allows(ip)) {
            Ok(())
        } else {
            Err(IpRefusal::NotAllowed)
        }
    }
}
