//! Where endpoints come from: a static list, and `dns://NAME:PORT` names re-resolved on an
//! interval (a Kubernetes headless Service answers with one A record per ready pod, so pods
//! joining or leaving show up within one interval). A failed lookup keeps the last known
//! addresses instead of emptying the set.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{Notify, watch};

use super::{ClientError, pool::Pool};
use crate::config::EndpointSpec;

/// One configured source of endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A fixed address (a host name here is resolved by the connection itself).
    Static { uri: String, weight: u32 },
    /// Every address a DNS name resolves to.
    Dns {
        host: String,
        port: u16,
        weight: u32,
    },
}

impl Target {
    pub(crate) fn parse(spec: &EndpointSpec) -> Result<Self, ClientError> {
        let raw = spec.address().trim();
        let weight = spec.weight().max(1);
        let bad = || ClientError::InvalidEndpoint(raw.to_owned());
        if let Some(rest) = raw.strip_prefix("dns://") {
            let rest = rest.trim_start_matches('/');
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            let port: u16 = port.parse().map_err(|_| bad())?;
            if host.is_empty() {
                return Err(bad());
            }
            return Ok(Self::Dns {
                host: host.to_owned(),
                port,
                weight,
            });
        }
        let uri = if raw.contains("://") {
            raw.to_owned()
        } else {
            format!("http://{raw}")
        };
        let parsed: http::Uri = uri.parse().map_err(|_| bad())?;
        if parsed.host().is_none() {
            return Err(bad());
        }
        Ok(Self::Static {
            uri: uri.trim_end_matches('/').to_owned(),
            weight,
        })
    }
}

/// Keeps a [`Pool`] in line with the targets.
#[derive(Debug)]
pub(crate) struct Discovery {
    targets: Mutex<Vec<Target>>,
    last_good: Mutex<HashMap<(String, u16), Vec<String>>>,
    pool: Arc<Pool>,
    resolved: watch::Sender<bool>,
    pub(crate) wake: Notify,
}

impl Discovery {
    pub(crate) fn new(pool: Arc<Pool>) -> (Self, watch::Receiver<bool>) {
        let (tx, rx) = watch::channel(false);
        let d = Self {
            targets: Mutex::new(Vec::new()),
            last_good: Mutex::new(HashMap::new()),
            pool,
            resolved: tx,
            wake: Notify::new(),
        };
        (d, rx)
    }

    /// Replaces the targets. A static-only list applies at once; DNS names are resolved by
    /// the discovery task (woken now).
    pub(crate) fn set(&self, specs: Vec<EndpointSpec>) -> Result<(), ClientError> {
        let targets = specs
            .iter()
            .map(Target::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let has_dns = targets.iter().any(|t| matches!(t, Target::Dns { .. }));
        *self.targets.lock().unwrap_or_else(|p| p.into_inner()) = targets;
        if has_dns {
            self.wake.notify_one();
        } else {
            self.apply();
        }
        Ok(())
    }

    fn targets(&self) -> Vec<Target> {
        self.targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether any target needs DNS.
    pub(crate) fn has_dns(&self) -> bool {
        self.targets()
            .iter()
            .any(|t| matches!(t, Target::Dns { .. }))
    }

    /// Resolves every DNS target and updates the pool.
    pub(crate) async fn refresh(&self) {
        let mut resolved = Vec::new();
        for t in self.targets() {
            if let Target::Dns { host, port, .. } = t {
                let lookup = tokio::net::lookup_host(format!("{host}:{port}")).await;
                match lookup {
                    Ok(addrs) => {
                        let mut list: Vec<String> =
                            addrs.map(|sa| format!("http://{sa}")).collect();
                        list.sort();
                        list.dedup();
                        resolved.push(((host, port), list));
                    }
                    Err(e) => {
                        tracing::warn!(%host, port, error = %e, "DNS lookup failed; keeping last known endpoints");
                    }
                }
            }
        }
        {
            let mut last = self.last_good.lock().unwrap_or_else(|p| p.into_inner());
            for (k, v) in resolved {
                last.insert(k, v);
            }
        }
        self.apply();
    }

    /// Builds the wanted (address, weight) list from targets and last DNS answers.
    fn apply(&self) {
        let targets = self.targets();
        let mut wanted = Vec::new();
        {
            let last = self.last_good.lock().unwrap_or_else(|p| p.into_inner());
            for t in &targets {
                match t {
                    Target::Static { uri, weight } => wanted.push((uri.clone(), *weight)),
                    Target::Dns { host, port, weight } => {
                        if let Some(list) = last.get(&(host.clone(), *port)) {
                            wanted.extend(list.iter().map(|a| (a.clone(), *weight)));
                        }
                    }
                }
            }
        }
        self.pool.update(&wanted);
        self.resolved.send_replace(true);
    }
}

/// The discovery task: refresh now, then every `every` or when woken.
pub(crate) async fn run(d: Arc<Discovery>, every: Duration) {
    loop {
        if d.has_dns() {
            d.refresh().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = d.wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let t = Target::parse(&"127.0.0.1:80".into()).expect("ok");
        assert_eq!(
            t,
            Target::Static {
                uri: "http://127.0.0.1:80".into(),
                weight: 1
            }
        );
        let t = Target::parse(&"dns:///users.default.svc:9090".into()).expect("ok");
        assert_eq!(
            t,
            Target::Dns {
                host: "users.default.svc".into(),
                port: 9090,
                weight: 1
            }
        );
        assert!(Target::parse(&"dns://nohost".into()).is_err());
        assert!(Target::parse(&"http://".into()).is_err());
    }
}
