//! `middleware.ip_filter:` allow and deny lists of client addresses (CIDR, IPv4 and IPv6),
//! global and per method pattern, and the proxies whose `X-Forwarded-For` is believed.
//!
//! A [`Cidr`] is parsed when the configuration is loaded: a bad one is refused with its key
//! path (`middleware.ip_filter.rules[0].deny[1]: invalid CIDR '10.0.0.0/33': ...`).

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr},
};

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use super::{InvalidValue, MethodPattern};

/// `middleware.ip_filter:` which client addresses may call (see `docs/middleware.md`, "IP
/// filter"). Deny wins over allow; an empty allow list allows every address. The filter is
/// off (no cost per call) while `allow`, `deny` and `rules` are all empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct IpFilterConfig {
    /// Only these networks may call (every method). Default empty: every address.
    pub allow: Vec<Cidr>,
    /// These networks may not call (every method). Default empty.
    pub deny: Vec<Cidr>,
    /// Lists for the methods a pattern matches, checked in addition to the global lists
    /// (every matching rule applies). Default none.
    pub rules: Vec<IpRule>,
    /// Direct peers whose `X-Forwarded-For` header names the client: the client is the
    /// right-most address of the header that is not itself a trusted proxy. From any other
    /// peer the header is ignored. Default none (the header is never read).
    pub trusted_proxies: Vec<Cidr>,
}

/// One entry of `middleware.ip_filter.rules`: lists for the methods `methods` matches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IpRule {
    /// Method pattern ([`MethodPattern`]).
    pub methods: MethodPattern,
    /// Only these networks may call the methods (besides the global `allow`). Default empty.
    #[serde(default)]
    pub allow: Vec<Cidr>,
    /// These networks may not call the methods. Default empty.
    #[serde(default)]
    pub deny: Vec<Cidr>,
}

impl IpFilterConfig {
    /// Whether the filter has any list to check (else the stack leaves it out).
    pub fn is_configured(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty() || !self.rules.is_empty()
    }

    /// Refuses keys that would do nothing: a rule without lists, trusted proxies without
    /// any list to check the forwarded address against.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.allow.is_empty() && rule.deny.is_empty() {
                return Err(InvalidValue::new(
                    format!("middleware.ip_filter.rules[{i}]"),
                    "a rule needs `allow` or `deny` (or both)",
                ));
            }
        }
        if !self.trusted_proxies.is_empty() && !self.is_configured() {
            return Err(InvalidValue::new(
                "middleware.ip_filter.trusted_proxies",
                "has no effect without `allow`, `deny` or `rules`",
            ));
        }
        Ok(())
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`) or a single address (`10.1.2.3`
/// means `/32`, `::1` means `/128`). Host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`), and
/// an IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) is the IPv4 network it maps
/// (`10.0.0.0/8`), so it matches IPv4 peers and IPv4-mapped IPv6 peers alike.
///
/// # Examples
/// ```
/// use grpckit::config::Cidr;
///
/// let net: Cidr = "10.0.0.0/8".parse().expect("valid");
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("11.0.0.1".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<Cidr>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr(IpNet);

/// Why a CIDR was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid CIDR '{text}': expected an address or ADDRESS/PREFIX such as 10.0.0.0/8, \
     192.168.1.7 or 2001:db8::/32 (prefix at most 32 for IPv4, 128 for IPv6)"
)]
pub struct CidrError {
    /// The text as written.
    pub text: String,
}

impl Cidr {
    /// Parses a CIDR or a single address (see [`Cidr`]).
    ///
    /// # Errors
    /// Not an address, or a prefix longer than the address.
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let err = || CidrError {
            text: text.to_owned(),
        };
        let t = text.trim();
        let net = if t.contains('/') {
            t.parse::<IpNet>().map_err(|_| err())?
        } else {
            let ip: IpAddr = t.parse().map_err(|_| err())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            IpNet::new(ip, max).map_err(|_| err())?
        };
        Ok(Self(unmap(net.trunc())))
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as its IPv4
    /// address).
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// The network.
    pub fn net(&self) -> IpNet {
        self.0
    }
}

/// `::ffff:a.b.c.d/p` (p >= 96) -> `a.b.c.d/(p - 96)`; any other network unchanged.
fn unmap(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(prefix) = v6.prefix_len().checked_sub(96)
        && let Some(v4) = v6.network().to_ipv4_mapped()
        && let Ok(v4) = Ipv4Net::new(v4, prefix)
    {
        return IpNet::V4(v4);
    }
    net
}

impl From<IpAddr> for Cidr {
    /// The single address `ip` (`/32` or `/128`; an IPv4-mapped IPv6 address is its IPv4).
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(a) => Self(IpNet::V4(Ipv4Net::from(a))),
            IpAddr::V6(a) => Self(IpNet::V6(a.into())),
        }
    }
}

impl From<Ipv4Addr> for Cidr {
    fn from(ip: Ipv4Addr) -> Self {
        Self::from(IpAddr::V4(ip))
    }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cidr({})", self.0)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::str::FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, CidrError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;

    fn try_from(s: String) -> Result<Self, CidrError> {
        Self::parse(&s)
    }
}

impl From<Cidr> for String {
    fn from(c: Cidr) -> String {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_yaml;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_and_bare_addresses() {
        assert!(c("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!c("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(c("10.1.2.3").contains(ip("10.1.2.3")));
        assert!(!c("10.1.2.3").contains(ip("10.1.2.4")));
        assert_eq!(c("10.1.2.3").to_string(), "10.1.2.3/32");
        assert_eq!(c("::1").to_string(), "::1/128");
        assert!(c("2001:db8::/32").contains(ip("2001:db8:1::7")));
        assert!(!c("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(c("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(
            !c("0.0.0.0/0").contains(ip("2001:db8::1")),
            "v4 nets hold no v6"
        );
        assert!(
            !c("::/0").contains(ip("8.8.8.8")),
            "v6 nets hold no plain v4"
        );
        // Host bits are cleared; spaces around are ignored.
        assert_eq!(c(" 10.1.2.3/8 ").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn ipv4_mapped_addresses_and_networks_are_ipv4() {
        assert!(c("127.0.0.0/8").contains(ip("::ffff:127.0.0.2")));
        assert!(c("10.1.2.3").contains(ip("::ffff:10.1.2.3")));
        assert_eq!(c("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
        assert_eq!(c("::ffff:10.1.2.3").to_string(), "10.1.2.3/32");
        assert!(c("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")));
        assert_eq!(Cidr::from(ip("::ffff:1.2.3.4")), c("1.2.3.4"));
    }

    #[test]
    fn bad_cidrs_are_refused_saying_why() {
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "foo",
            "10.0.0.0/",
            "1.2.3.4/-1",
        ] {
            let e = Cidr::parse(bad).unwrap_err();
            assert!(e.to_string().contains("invalid CIDR"), "{bad}: {e}");
        }
    }

    #[test]
    fn config_parses_and_bad_cidrs_name_the_key() {
        let cfg = parse_yaml(
            "middleware:\n  ip_filter:\n    allow: [10.0.0.0/8, \"2001:db8::/32\"]\n    deny: [10.6.6.6]\n    trusted_proxies: [192.168.0.1]\n    rules:\n      - { methods: \"a.B/*\", deny: [10.1.0.0/16] }\n",
        )
        .unwrap();
        let f = &cfg.middleware.ip_filter;
        assert_eq!(f.allow, [c("10.0.0.0/8"), c("2001:db8::/32")]);
        assert_eq!(f.rules[0].deny, [c("10.1.0.0/16")]);
        assert!(f.rules[0].allow.is_empty());
        assert!(f.is_configured());
        assert!(!IpFilterConfig::default().is_configured());

        for (yaml, key) in [
            (
                "middleware:\n  ip_filter:\n    allow: [10.0.0.0/33]\n",
                "middleware.ip_filter.allow[0]",
            ),
            (
                "middleware:\n  ip_filter:\n    rules:\n      - { methods: \"*\", deny: [1.2.3.4, nope] }\n",
                "middleware.ip_filter.rules[0].deny[1]",
            ),
            (
                "middleware:\n  ip_filter:\n    deny: [1.2.3.4]\n    trusted_proxies: [\"::1/200\"]\n",
                "middleware.ip_filter.trusted_proxies[0]",
            ),
            (
                "middleware:\n  ip_filter:\n    rules:\n      - { methods: \"*\" }\n",
                "middleware.ip_filter.rules[0]",
            ),
            (
                "middleware:\n  ip_filter:\n    trusted_proxies: [10.0.0.1]\n",
                "middleware.ip_filter.trusted_proxies",
            ),
            (
                "middleware:\n  enabled: false\n  ip_filter:\n    deny: [10.0.0.1]\n",
                "middleware.ip_filter",
            ),
        ] {
            let e = parse_yaml(yaml).unwrap_err();
            assert_eq!(e.key(), Some(key), "{yaml}: {e}");
        }
    }
}
