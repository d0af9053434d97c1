//! The one poller of Telegram for a token: fetch, append to the log durably, and only then
//! confirm, by asking the next poll with an offset past what was appended.
//!
//! The offset moves on receipt, not when a consumer is done: a slow desk, a 429 wait or a host
//! bot that is down no longer makes Telegram send the same window again with every poll, and a
//! backlog is fetched as fast as Telegram hands it out.

use super::UpdateLog;
use crate::client::TelegramClient;
use hotline_core::{Fetched, RetryPolicy, Timestamp, TransportError};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

/// How long the poller waits after Telegram answers 409 Conflict (another process polls the
/// same token, or a webhook is set on it) before it asks again.
pub const CONFLICT_BACKOFF: Duration = Duration::from_secs(5);

/// How often the log is pruned of what every consumer confirmed (and of what expired).
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The long poll's `timeout`, in seconds.
const LONG_POLL_SECS: u64 = 25;

/// Polls Telegram into `log` until the future is dropped (a dropped poll confirmed nothing: what
/// its answer held comes again with the next one). `now` stamps each appended batch.
///
/// Never returns: every failure is waited out (a 429 for its `retry_after`, a 409 for
/// [`CONFLICT_BACKOFF`] with an alarm in the log, a network or store failure by the outage
/// policy), since a poller that gave up would silently stop the desk.
pub(crate) async fn poll_into(
    client: &TelegramClient,
    log: &UpdateLog,
    now: impl Fn() -> Timestamp,
) {
    let outage = RetryPolicy::outage();
    let mut failures: u32 = 0;
    let mut offset = loop {
        match log.store().log_head().await {
            Ok(head) => {
                log.note_appended(head.last_id);
                break head.last_upstream_id.map_or(0, |id| id + 1);
            }
            Err(error) => {
                failures += 1;
                tracing::warn!(%error, "hotline: the update log could not be read; retrying");
                tokio::time::sleep(outage.backoff(failures)).await;
            }
        }
    };
    failures = 0;
    let mut wanted = log.wanted_changed();
    let mut last_prune = Instant::now();
    loop {
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            prune(log, &now).await;
        }
        wanted.mark_unchanged();
        let params = json!({
            "offset": offset,
            "timeout": LONG_POLL_SECS,
            "limit": 100,
            "allowed_updates": log.allowed_updates(),
        });
        let answer = tokio::select! {
            answer = client.get_updates_json(params) => answer,
            // Another consumer asks for other kinds: ask again with them. What this poll would
            // have brought comes with the next one (its offset confirmed nothing new).
            _ = wanted.changed() => continue,
        };
        let updates = match answer {
            Ok(updates) => updates,
            Err(error) => {
                let wait = match error.classify() {
                    TransportError::RetryAfter(wait) => wait,
                    _ if is_conflict(&error) => {
                        tracing::error!(%error, "hotline: Telegram refuses getUpdates: another process polls this bot's token (or a webhook is set on it); stop it, or point it at the gateway. Retrying");
                        hotline_core::report_unobserved(
                            "getUpdates conflict",
                            "hotline: another process polls this bot's token",
                            &error,
                        );
                        CONFLICT_BACKOFF
                    }
                    _ => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(%error, "hotline: getUpdates failed; retrying");
                        hotline_core::report_unobserved(
                            "getUpdates",
                            "hotline: getUpdates failed; retrying",
                            &error,
                        );
                        outage.backoff(failures)
                    }
                };
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        failures = 0;
        let Some(&(last, _)) = updates.last() else {
            continue;
        };
        let fetched: Vec<Fetched> = updates
            .into_iter()
            .map(|(upstream_id, raw)| Fetched {
                upstream_id,
                payload: String::from(Box::<str>::from(raw)),
            })
            .collect();
        append_until_written(log, fetched, &now).await;
        // Only now may Telegram forget them: the next poll's offset says so.
        offset = last + 1;
    }
}

/// Appends a batch, waiting out a store that is down: the offset must not move past updates
/// that are not written (Telegram would forget them), and the poll cannot go on without it.
async fn append_until_written(
    log: &UpdateLog,
    fetched: Vec<Fetched>,
    now: &impl Fn() -> Timestamp,
) {
    let outage = RetryPolicy::outage();
    let mut failures = 0;
    loop {
        match log.append(fetched.clone(), now()).await {
            Ok(_) => return,
            Err(error) => {
                failures += 1;
                tracing::error!(%error, "hotline: updates could not be written to the log; retrying (Telegram keeps them meanwhile)");
                hotline_core::report_unobserved(
                    "update log",
                    "hotline: updates could not be written to the log",
                    &error,
                );
                tokio::time::sleep(outage.backoff(failures)).await;
            }
        }
    }
}

async fn prune(log: &UpdateLog, now: &impl Fn() -> Timestamp) {
    let expired = now().plus_secs(-hotline_core::store::RETENTION_SECS);
    match log.store().prune_updates(expired).await {
        Ok(0) => {}
        Ok(forgotten) => tracing::debug!(forgotten, "hotline: update log pruned"),
        Err(error) => tracing::warn!(%error, "hotline: the update log could not be pruned"),
    }
}

fn is_conflict(error: &crate::ApiError) -> bool {
    matches!(error, crate::ApiError::Telegram { code: 409, .. })
}
