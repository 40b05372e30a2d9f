//! `grpckit perf`: a closed-loop load test (default 10 workers, 1000 requests) of a realistic
//! mix (GetUser, GetOrder, ListOrders, CreateOrder) after one sign-up, reporting RPS and
//! p50/p90/p99 latency from an HDR histogram.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use grpckit_services::proto::{order::v1 as orderpb, user::v1 as userpb};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{args::PerfArgs, session::Session};

/// The result of a run.
#[derive(Debug, Serialize)]
pub struct PerfReport {
    /// Requests sent.
    pub total: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Wall time in seconds.
    pub duration_s: f64,
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    /// p90.
    pub p90_ms: f64,
    /// p99.
    pub p99_ms: f64,
    /// Max.
    pub max_ms: f64,
    /// Errors by status code.
    pub errors_by_code: std::collections::BTreeMap<String, u64>,
}

/// Runs the load test.
pub async fn run(args: &PerfArgs) -> anyhow::Result<PerfReport> {
    anyhow::ensure!(args.concurrency > 0, "-c/--concurrency must be at least 1");
    let mut s = Session::connect(&args.addr, Duration::from_secs(30)).await?;
    let acct = s.sign_up_and_login("perf").await?;
    let seed = s
        .orders
        .create_order(s.req(orderpb::CreateOrderRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            user_id: acct.id.clone(),
            items: vec![orderpb::OrderItem {
                sku: "PERF".into(),
                quantity: 1,
                unit_price_minor: 100,
            }],
            currency: "USD".into(),
        }))
        .await
        .context("seed CreateOrder")?
        .into_inner()
        .order
        .context("no order")?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (s, next, user_id, order_id, total) = (
            s.clone(),
            next.clone(),
            acct.id.clone(),
            seed.id.clone(),
            args.requests,
        );
        workers.push(tokio::spawn(async move {
            let mut hist =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("static bounds");
            let mut errors = std::collections::BTreeMap::<String, u64>::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                let res = match i % 10 {
                    0..=4 => s
                        .users
                        .clone()
                        .get_user(s.req(userpb::GetUserRequest {
                            id: user_id.clone(),
                        }))
                        .await
                        .map(drop),
                    5..=7 => s
                        .orders
                        .clone()
                        .get_order(s.req(orderpb::GetOrderRequest {
                            id: order_id.clone(),
                        }))
                        .await
                        .map(drop),
                    8 => s
                        .orders
                        .clone()
                        .list_orders(s.req(orderpb::ListOrdersRequest {
                            user_id: user_id.clone(),
                            page_size: 10,
                            page_token: String::new(),
                        }))
                        .await
                        .map(drop),
                    _ => s
                        .orders
                        .clone()
                        .create_order(s.req(orderpb::CreateOrderRequest {
                            request_id: uuid::Uuid::new_v4().to_string(),
                            user_id: user_id.clone(),
                            items: vec![orderpb::OrderItem {
                                sku: "PERF".into(),
                                quantity: 1,
                                unit_price_minor: 100,
                            }],
                            currency: "USD".into(),
                        }))
                        .await
                        .map(drop),
                };
                let _ = hist.record(t.elapsed().as_micros().max(1) as u64);
                if let Err(st) = res {
                    *errors
                        .entry(grpckit::error::code_name(st.code()).to_owned())
                        .or_default() += 1;
                }
            }
            (hist, errors)
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors_by_code = std::collections::BTreeMap::new();
    for w in workers {
        let (h, e) = w.await?;
        hist.add(&h)?;
        for (k, v) in e {
            *errors_by_code.entry(k).or_insert(0) += v;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok(PerfReport {
        total: hist.len(),
        errors: errors_by_code.values().sum(),
        duration_s: elapsed,
        rps: hist.len() as f64 / elapsed.max(1e-9),
        p50_ms: ms(0.5),
        p90_ms: ms(0.9),
        p99_ms: ms(0.99),
        max_ms: hist.max() as f64 / 1000.0,
        errors_by_code,
    })
}

impl std::fmt::Display for PerfReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "requests:   {} ({} errors)", self.total, self.errors)?;
        writeln!(f, "duration:   {:.2} s", self.duration_s)?;
        writeln!(f, "throughput: {:.0} req/s", self.rps)?;
        writeln!(
            f,
            "latency:    p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms
        )?;
        for (code, n) in &self.errors_by_code {
            writeln!(f, "errors:     {code}: {n}")?;
        }
        Ok(())
    }
}
