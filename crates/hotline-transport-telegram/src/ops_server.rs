//! `HOTLINE_METRICS`: the standalone programs' operations endpoint, served with axum.
//!
//! - `GET /metrics`: Prometheus text of every `hotline_*` metric (names in
//!   [`hotline_core::metrics`]; the gauges read from the store are refreshed at each scrape);
//! - `GET /healthz`: `ok` while the process runs;
//! - `GET /readyz`: `ready` when the store answers and the Bot API answers `getMe`; 503 with
//!   what failed otherwise.

use crate::hotline::Hotline;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use hotline_core::metrics as names;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;

/// Histogram buckets, in seconds, for the relay latency and the pacing wait: from a few
/// milliseconds (a relay with no queue) up to a minute (a 429 or a group's budget spent).
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Clone)]
struct Ops {
    hotline: Hotline,
    prometheus: PrometheusHandle,
}

/// The address `HOTLINE_METRICS` names (`127.0.0.1:9464`), if set; the error names the variable.
pub fn metrics_address() -> Result<Option<SocketAddr>, String> {
    match std::env::var("HOTLINE_METRICS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        None => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|_| {
            format!("HOTLINE_METRICS: `{value}` is not an address like 127.0.0.1:9464")
        }),
    }
}

/// Installs the Prometheus recorder for the whole process and serves `/metrics`, `/healthz`
/// and `/readyz` on `address` (on a task of its own, for as long as the process runs). Returns
/// the address bound (port 0 picks a free one). The error names `HOTLINE_METRICS`.
pub async fn serve_metrics(hotline: &Hotline, address: SocketAddr) -> Result<SocketAddr, String> {
    let prometheus = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| format!("HOTLINE_METRICS: {e}"))?;
    describe();
    // Shown from the first scrape on, at zero, rather than once something queued.
    metrics::gauge!(names::QUEUE_DEPTH).increment(0.0);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("HOTLINE_METRICS: cannot listen on {address}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("HOTLINE_METRICS: {e}"))?;
    let ops = Ops {
        hotline: hotline.clone(),
        prometheus,
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(ops);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "hotline: the metrics server stopped");
        }
    });
    Ok(bound)
}

async fn metrics(State(ops): State<Ops>) -> String {
    let store = ops.hotline.desk().store();
    match store.open_conversations().await {
        Ok(open) => metrics::gauge!(names::OPEN_TOPICS).set(open as f64),
        Err(error) => tracing::debug!(%error, "hotline: open topics not counted"),
    }
    if !ops.hotline.desk().config().webhooks.is_empty() {
        match store.outbox_len().await {
            Ok(depth) => metrics::gauge!(names::OUTBOX_DEPTH).set(depth as f64),
            Err(error) => tracing::debug!(%error, "hotline: the outbox not measured"),
        }
    }
    ops.prometheus.run_upkeep();
    ops.prometheus.render()
}

async fn ready(State(ops): State<Ops>) -> (StatusCode, String) {
    let mut problems = Vec::new();
    if let Err(error) = ops.hotline.desk().store().log_head().await {
        problems.push(format!("store: {error}"));
    }
    if let Err(error) = ops
        .hotline
        .client()
        .call("getMe", serde_json::json!({}))
        .await
    {
        problems.push(format!("telegram: {error}"));
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".into())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", problems.join("; ")),
        )
    }
}

/// Gives each metric its help text (and so its `# HELP` line).
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        names::RELAYED,
        "Messages copied across, by direction (to_topic, to_user)."
    );
    describe_counter!(
        names::INTERCEPTED,
        "Host-bot messages mirrored into topics."
    );
    describe_counter!(names::EVENTS, "Events out, by event.");
    describe_counter!(
        names::RATE_LIMITED,
        "429 Too Many Requests answers received."
    );
    describe_counter!(names::RETRIES, "Calls tried again after a passing failure.");
    describe_counter!(names::DEAD_LETTERS, "Updates set aside as dead letters.");
    describe_histogram!(
        names::PACING_WAIT,
        Unit::Seconds,
        "Wait for the pacer before a call."
    );
    describe_gauge!(names::QUEUE_DEPTH, "Events queued in the lanes.");
    describe_gauge!(names::OPEN_TOPICS, "Conversations with an open topic.");
    describe_histogram!(
        names::RELAY_LATENCY,
        Unit::Seconds,
        "From the desk taking an event to its relay done."
    );
    describe_gauge!(
        names::OUTBOX_DEPTH,
        "Webhook entries waiting in the outbox."
    );
    describe_counter!(names::WEBHOOK_DELIVERIES, "Webhook posts, by result.");
    describe_counter!(
        names::OUTBOX_WRITE_FAILURES,
        "Events not written to the outbox."
    );
    describe_counter!(names::EVENTS_LAGGED, "Events a slow subscriber missed.");
}
