//! A self-contained HTML report: tables, and charts drawn as inline SVG (no scripts, no CDN).
//! A red banner and the status-code table come first, so a run of failures cannot pass for
//! throughput.
//! The full JSON report is embedded in `<script type="application/json" id="report-data">`.

use std::fmt::Write;

use super::report::{PerfReport, percent as share};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart of `(label, value)` as SVG.
fn bar_chart(title: &str, bars: &[(String, f64)], id: &str) -> String {
    let (w, h, pad) = (760.0, 240.0, 40.0);
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-9);
    let bw = if bars.is_empty() {
        0.0
    } else {
        (w - 2.0 * pad) / bars.len() as f64
    };
    let mut s = format!(
        r#"<figure><figcaption>{}</figcaption><svg id="{id}" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}" role="img">"#,
        esc(title),
        h + 60.0
    );
    let _ = write!(
        s,
        r##"<line x1="{pad}" y1="{h}" x2="{}" y2="{h}" stroke="#333"/>"##,
        w - pad
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let bh = (v / max) * (h - 20.0);
        let x = pad + i as f64 * bw;
        let _ = write!(
            s,
            r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#4a7bd0" data-label="{}" data-value="{}"><title>{}: {}</title></rect>"##,
            x + 1.0,
            h - bh,
            (bw - 2.0).max(1.0),
            bh,
            esc(label),
            v,
            esc(label),
            v
        );
        if bars.len() <= 30 || i % (bars.len() / 20).max(1) == 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" font-size="9" transform="rotate(45 {:.1} {})">{}</text>"#,
                x + bw / 2.0,
                h + 12.0,
                x + bw / 2.0,
                h + 12.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="4" y="12" font-size="10">{max}</text></svg></figure>"#
    );
    s
}

/// Renders the report.
pub fn render(r: &PerfReport) -> String {
    let l = &r.latency_ms;
    let json = serde_json::to_string(r)
        .unwrap_or_default()
        .replace("</", "<\\/");
    let hist: Vec<(String, f64)> = r
        .histogram
        .iter()
        .map(|b| (format!("≤{:.3} ms", b.upper_ms), b.count as f64))
        .collect();
    let tput: Vec<(String, f64)> = r
        .per_second
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("{}s", i + 1), *n as f64))
        .collect();
    let mut errs = String::new();
    for e in &r.errors_by_code {
        let _ = write!(
            errs,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.name),
            e.code,
            e.count,
            esc(&e.sample)
        );
    }
    if errs.is_empty() {
        errs.push_str("<tr><td colspan=4>none</td></tr>");
    }
    let mut alerts = String::new();
    for line in r.alerts() {
        let _ = write!(
            alerts,
            r#"<p class="alert" role="alert">{}</p>"#,
            esc(&line)
        );
    }
    let mut statuses = format!(
        "<tr><td>OK</td><td>0</td><td>{}</td><td>{:.1}%</td></tr>",
        r.ok,
        share(r.ok, r.total)
    );
    for e in &r.errors_by_code {
        let _ = write!(
            statuses,
            r#"<tr class="failed"><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td></tr>"#,
            esc(&e.name),
            e.code,
            e.count,
            share(e.count, r.total)
        );
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{failed}grpckit perf: {target}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}.alert{{background:#c62828;color:#fff;font-weight:bold;font-size:1.3em;padding:.6em 1em}}tr.failed td{{color:#c62828}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}th{{background:#eee}}figure{{margin:1em 0}}figcaption{{font-weight:bold}}</style>
</head><body>
<h1>grpckit perf report</h1>
{alerts}
<p>Target <code>{target}</code>: {conc} workers over {conns} connection(s){rate}.</p>
<h2>Status codes</h2>
<table id="status-codes"><tr><th>status</th><th>code</th><th>calls</th><th>share</th></tr>{statuses}</table>
<table><tr><th>error rate</th><th>requests</th><th>ok</th><th>errors</th><th>duration s</th><th>ok req/s</th><th>all req/s (failures included)</th></tr>
<tr><td>{error_pct:.1}%</td><td>{total}</td><td>{ok}</td><td>{errors}</td><td>{dur:.2}</td><td>{ok_rps:.1}</td><td>{rps:.1}</td></tr></table>
<h2>Errors by status code</h2>
<table><tr><th>code</th><th>number</th><th>count</th><th>sample message</th></tr>{errs}</table>
<h2>Latency (ms, failed calls included)</h2>
<table><tr><th>min</th><th>mean</th><th>p50</th><th>p75</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>
<tr><td>{min:.3}</td><td>{mean:.3}</td><td>{p50:.3}</td><td>{p75:.3}</td><td>{p90:.3}</td><td>{p95:.3}</td><td>{p99:.3}</td><td>{p999:.3}</td><td>{max:.3}</td></tr></table>
{hist_chart}
{tput_chart}
<script type="application/json" id="report-data">{json}</script>
</body></html>
"#,
        target = esc(&r.target),
        failed = if r.mostly_failed() { "FAILED: " } else { "" },
        conc = r.concurrency,
        conns = r.connections,
        rate = r
            .rps_target
            .map(|x| format!(", target {x} req/s"))
            .unwrap_or_default(),
        total = r.total,
        ok = r.ok,
        errors = r.errors,
        error_pct = 100.0 * r.error_rate,
        dur = r.duration_s,
        ok_rps = r.ok_rps,
        rps = r.rps,
        min = l.min,
        mean = l.mean,
        p50 = l.p50,
        p75 = l.p75,
        p90 = l.p90,
        p95 = l.p95,
        p99 = l.p99,
        p999 = l.p999,
        max = l.max,
        hist_chart = bar_chart(
            "Latency histogram (calls per bucket)",
            &hist,
            "latency-histogram"
        ),
        tput_chart = bar_chart(
            "Throughput (calls completed per second)",
            &tput,
            "throughput"
        ),
    )
}
