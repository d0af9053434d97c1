//! The names of Hotline's metrics, recorded through the [`metrics`](https://docs.rs/metrics)
//! facade: with no recorder installed they cost nothing; a runner (`HOTLINE_METRICS`) or a host
//! installs one (Prometheus, StatsD, ...). `docs/operations.md` explains each.

/// Counter: messages copied across, by `direction` (`to_topic`: a user's into their topic;
/// `to_user`: an operator's to the user).
pub const RELAYED: &str = "hotline_messages_relayed_total";
/// Counter: host-bot messages mirrored into topics (interception).
pub const INTERCEPTED: &str = "hotline_messages_intercepted_total";
/// Counter: events out, by `event` (`dialog_created`, ...).
pub const EVENTS: &str = "hotline_events_total";
/// Counter: `429 Too Many Requests` answers received (each waited out, then sent again).
pub const RATE_LIMITED: &str = "hotline_rate_limited_total";
/// Counter: calls tried again after a passing failure (network, 5xx).
pub const RETRIES: &str = "hotline_retries_total";
/// Counter: updates set aside as dead letters.
pub const DEAD_LETTERS: &str = "hotline_dead_letters_total";
/// Histogram, seconds: how long an action waited for the pacer's budget before its call.
pub const PACING_WAIT: &str = "hotline_pacing_wait_seconds";
/// Gauge: events queued in the lanes behind the one being handled.
pub const QUEUE_DEPTH: &str = "hotline_queue_depth";
/// Gauge: conversations with an open topic (🟪 or 🟨), read from the store at each scrape.
pub const OPEN_TOPICS: &str = "hotline_open_topics";
/// Histogram, seconds: from the desk taking an event to its relay done (copied and recorded).
pub const RELAY_LATENCY: &str = "hotline_relay_latency_seconds";
/// Gauge: webhook entries waiting in the outbox, read from the store at each scrape.
pub const OUTBOX_DEPTH: &str = "hotline_webhook_outbox_depth";
/// Counter: webhook deliveries, by `result` (`delivered`, `failed`).
pub const WEBHOOK_DELIVERIES: &str = "hotline_webhook_deliveries_total";
/// Counter: events that could not be written to the outbox (the store failed; logged).
pub const OUTBOX_WRITE_FAILURES: &str = "hotline_webhook_outbox_write_failures_total";
/// Counter: messages recorded in the archive (`ARCHIVE`), by `origin` (`user`, `operator`, `host`).
pub const ARCHIVED: &str = "hotline_archived_messages_total";
/// Counter: archive writes that failed (the store failed; logged, the relay went on).
pub const ARCHIVE_WRITE_FAILURES: &str = "hotline_archive_write_failures_total";
/// Counter: mailing recipients done, by `result` (`sent`, `failed`, `blocked`, `left`).
pub const MAILED: &str = "hotline_mailing_recipients_total";
/// Counter: events a slow [`crate::Desk::events`] subscriber missed (it lagged behind the buffer).
pub const EVENTS_LAGGED: &str = "hotline_events_lagged_total";
