//! The decision of [`IpFilter`] and the client address of [`client_ip`].

use std::net::IpAddr;

use http::HeaderMap;

use super::{IpFilter, IpRefusal, client_ip};
use crate::config::{Cidr, IpFilterConfig};

fn filter(yaml: &str) -> IpFilterConfig {
    let cfg: IpFilterConfig = serde_norway::from_str(yaml).expect("ip_filter yaml");
    cfg.validate().expect("valid");
    cfg
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// The decision for `method` (unknown to the table) from the direct peer `peer`.
fn check(f: &IpFilter, method: &str, peer: &str) -> Result<(), IpRefusal> {
    f.check(usize::MAX, method, Some(ip(peer)), &HeaderMap::new())
}

fn xff(values: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values {
        h.append("x-forwarded-for", v.parse().expect("header value"));
    }
    h
}

const M: &str = "a.v1.S/Get";

#[test]
fn ipv4_allow_and_deny() {
    let f = IpFilter::new(&filter("{allow: [10.0.0.0/8, 192.168.1.7]}"), &[]);
    assert_eq!(check(&f, M, "10.200.3.4"), Ok(()));
    assert_eq!(check(&f, M, "192.168.1.7"), Ok(()));
    assert_eq!(check(&f, M, "192.168.1.8"), Err(IpRefusal::NotAllowed));
    assert_eq!(check(&f, M, "11.0.0.1"), Err(IpRefusal::NotAllowed));
    let f = IpFilter::new(&filter("{deny: [203.0.113.0/24]}"), &[]);
    assert_eq!(check(&f, M, "203.0.113.9"), Err(IpRefusal::Denied));
    assert_eq!(check(&f, M, "203.0.114.9"), Ok(()));
}

#[test]
fn ipv6_allow_and_deny() {
    let f = IpFilter::new(
        &filter("{allow: [\"2001:db8::/32\", \"::1\"], deny: [\"2001:db8:bad::/48\"]}"),
        &[],
    );
    assert_eq!(check(&f, M, "2001:db8:1::5"), Ok(()));
    assert_eq!(check(&f, M, "::1"), Ok(()));
    assert_eq!(check(&f, M, "2001:db8:bad::1"), Err(IpRefusal::Denied));
    assert_eq!(check(&f, M, "2001:db9::1"), Err(IpRefusal::NotAllowed));
    assert_eq!(check(&f, M, "::2"), Err(IpRefusal::NotAllowed));
    // An IPv4 client is in no IPv6 network.
    assert_eq!(check(&f, M, "10.0.0.1"), Err(IpRefusal::NotAllowed));
}

#[test]
fn ipv4_mapped_peers_match_ipv4_networks() {
    let f = IpFilter::new(&filter("{allow: [127.0.0.0/8], deny: [127.0.0.2]}"), &[]);
    assert_eq!(check(&f, M, "::ffff:127.0.0.1"), Ok(()));
    assert_eq!(check(&f, M, "::ffff:127.0.0.2"), Err(IpRefusal::Denied));
    assert_eq!(check(&f, M, "::ffff:10.0.0.1"), Err(IpRefusal::NotAllowed));
    // A mapped network in the config is its IPv4 network.
    let f = IpFilter::new(&filter("{deny: [\"::ffff:10.0.0.0/104\"]}"), &[]);
    assert_eq!(check(&f, M, "10.3.3.3"), Err(IpRefusal::Denied));
    assert_eq!(check(&f, M, "::ffff:10.3.3.3"), Err(IpRefusal::Denied));
}

#[test]
fn deny_wins_over_allow() {
    let f = IpFilter::new(&filter("{allow: [10.0.0.0/8], deny: [10.6.0.0/16]}"), &[]);
    assert_eq!(check(&f, M, "10.6.1.1"), Err(IpRefusal::Denied));
    assert_eq!(check(&f, M, "10.7.1.1"), Ok(()));
    // A rule's allow does not undo a global deny, nor a global allow a rule's deny.
    let f = IpFilter::new(
        &filter(
            "{deny: [10.6.0.0/16], allow: [10.0.0.0/8], rules: [{methods: \"a.v1.S/*\", allow: [10.6.0.0/16], deny: [10.7.0.1]}]}",
        ),
        &[],
    );
    assert_eq!(check(&f, M, "10.6.1.1"), Err(IpRefusal::Denied));
    assert_eq!(check(&f, M, "10.7.0.1"), Err(IpRefusal::Denied));
}

#[test]
fn an_empty_allow_list_allows_every_address() {
    let f = IpFilter::new(&filter("{deny: [10.0.0.1]}"), &[]);
    for peer in [
        "10.0.0.2",
        "8.8.8.8",
        "::1",
        "2001:db8::1",
        "::ffff:1.2.3.4",
    ] {
        assert_eq!(check(&f, M, peer), Ok(()), "{peer}");
    }
    let f = IpFilter::new(&IpFilterConfig::default(), &[]);
    assert_eq!(check(&f, M, "8.8.8.8"), Ok(()));
}

#[test]
fn rules_apply_to_their_methods_in_addition_to_the_global_lists() {
    let cfg = filter(
        "
allow: [10.0.0.0/8]
rules:
  - { methods: \"a.v1.Admin/*\", allow: [10.1.0.0/16] }
  - { methods: \"*/Delete*\", deny: [10.1.2.0/24] }
",
    );
    let known = ["a.v1.Admin/Reset", "a.v1.S/Get", "a.v1.S/DeleteThing"];
    let f = IpFilter::new(&cfg, &known);
    // The same answers for methods of the table (by index) and unknown ones (by name).
    for (i, method) in known.iter().enumerate() {
        for index in [i, usize::MAX] {
            let at = |peer: &str| f.check(index, method, Some(ip(peer)), &HeaderMap::new());
            match *method {
                "a.v1.Admin/Reset" => {
                    assert_eq!(at("10.1.9.9"), Ok(()));
                    assert_eq!(
                        at("10.2.0.1"),
                        Err(IpRefusal::NotAllowed),
                        "the rule's allow"
                    );
                    assert_eq!(
                        at("192.0.2.1"),
                        Err(IpRefusal::NotAllowed),
                        "the global allow"
                    );
                }
                "a.v1.S/Get" => {
                    assert_eq!(at("10.2.0.1"), Ok(()), "no rule applies");
                    assert_eq!(at("10.1.2.3"), Ok(()));
                }
                _ => {
                    assert_eq!(at("10.1.2.3"), Err(IpRefusal::Denied), "the rule's deny");
                    assert_eq!(at("10.1.3.3"), Ok(()));
                }
            }
        }
    }
}

#[test]
fn an_unknown_client_is_refused_only_where_lists_apply() {
    let cfg = filter("{rules: [{methods: \"a.v1.S/Get\", deny: [10.0.0.1]}]}");
    let f = IpFilter::new(&cfg, &[]);
    let none = |m| f.check(usize::MAX, m, None, &HeaderMap::new());
    assert_eq!(none(M), Err(IpRefusal::Unknown));
    assert_eq!(none("a.v1.S/Other"), Ok(()));
}

#[test]
fn forwarded_for_is_read_only_from_trusted_proxies() {
    let proxies = [
        "10.0.0.0/8".parse::<Cidr>().unwrap(),
        "::1".parse().unwrap(),
    ];
    let h = xff(&["1.1.1.1, 203.0.113.7, 10.0.0.9"]);
    // From an untrusted peer: the header is ignored, whatever it says.
    assert_eq!(
        client_ip(ip("198.51.100.1"), &h, &proxies),
        Some(ip("198.51.100.1"))
    );
    assert_eq!(
        client_ip(ip("198.51.100.1"), &h, &[]),
        Some(ip("198.51.100.1"))
    );
    // From a trusted proxy: the right-most entry that is not a trusted proxy.
    assert_eq!(
        client_ip(ip("10.0.0.1"), &h, &proxies),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(client_ip(ip("::1"), &h, &proxies), Some(ip("203.0.113.7")));
    assert_eq!(
        client_ip(ip("::ffff:10.0.0.1"), &h, &proxies),
        Some(ip("203.0.113.7")),
        "a mapped proxy address is trusted too"
    );
    // Several header lines are one list, in order.
    let h = xff(&["1.1.1.1", "203.0.113.7", "10.0.0.9, 10.0.0.8"]);
    assert_eq!(
        client_ip(ip("10.0.0.1"), &h, &proxies),
        Some(ip("203.0.113.7"))
    );
    // Ports and brackets; mapped entries are IPv4.
    let h = xff(&["203.0.113.7:5555"]);
    assert_eq!(
        client_ip(ip("10.0.0.1"), &h, &proxies),
        Some(ip("203.0.113.7"))
    );
    let h = xff(&["[2001:db8::7]:443, ::ffff:10.0.0.3"]);
    assert_eq!(
        client_ip(ip("10.0.0.1"), &h, &proxies),
        Some(ip("2001:db8::7"))
    );
    // No header: the proxy itself; every entry trusted: the left-most.
    assert_eq!(
        client_ip(ip("10.0.0.1"), &HeaderMap::new(), &proxies),
        Some(ip("10.0.0.1"))
    );
    let h = xff(&["10.0.0.5, 10.0.0.6"]);
    assert_eq!(
        client_ip(ip("10.0.0.1"), &h, &proxies),
        Some(ip("10.0.0.5"))
    );
    // A trusted hop forwarded garbage: unknown. Garbage left of the client is never read.
    let h = xff(&["203.0.113.7, unknown"]);
    assert_eq!(client_ip(ip("10.0.0.1"), &h, &proxies), None);
    let h = xff(&["unknown, 203.0.113.7"]);
    assert_eq!(
        client_ip(ip("10.0.0.1"), &h, &proxies),
        Some(ip("203.0.113.7"))
    );
}

#[test]
fn the_filter_checks_the_forwarded_client() {
    let cfg = filter("{deny: [203.0.113.0/24], trusted_proxies: [10.0.0.0/8]}");
    let f = IpFilter::new(&cfg, &[]);
    let spoof = xff(&["198.51.100.1"]);
    let real = xff(&["203.0.113.7"]);
    assert_eq!(
        f.check(usize::MAX, M, Some(ip("10.0.0.1")), &real),
        Err(IpRefusal::Denied)
    );
    assert_eq!(f.check(usize::MAX, M, Some(ip("10.0.0.1")), &spoof), Ok(()));
    // A denied client cannot get through by claiming another address itself.
    assert_eq!(
        f.check(usize::MAX, M, Some(ip("203.0.113.7")), &spoof),
        Err(IpRefusal::Denied)
    );
    // Garbage from a trusted proxy: refused, lists apply.
    let bad = xff(&["nope"]);
    assert_eq!(
        f.check(usize::MAX, M, Some(ip("10.0.0.1")), &bad),
        Err(IpRefusal::Unknown)
    );
}
