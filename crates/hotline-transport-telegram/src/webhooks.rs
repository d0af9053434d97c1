//! `WEBHOOKS`: the deliverer that posts the store's outbox to the endpoints.
//!
//! The desk writes each event an endpoint wants to the outbox (in the user's lane, so in the
//! conversation's order); this task reads the first entry of every queue (one endpoint, one
//! conversation), posts each on a task of its own, and removes it once the endpoint answered
//! 2xx. A refused or unanswered post is tried again by the webhook [`RetryPolicy`]'s back-off,
//! for as long as it takes; the entries behind it in its queue wait, other queues go on. Relays
//! never wait for any of this: the desk only writes to the store.
//!
//! Each post is `application/json`, signed: `X-Hotline-Signature: sha256=<hex HMAC-SHA256 of
//! the body>` keyed with `WEBHOOKS_SECRET`, which is also the body's `api_key` (Hotline's
//! field). For a command (`event` `command`), a `text` in the JSON answer, or a plain-text
//! answer, is posted into the user's topic.

use crate::hotline::Hotline;
use frankenstein::reqwest;
use hmac::{Hmac, Mac};
use hotline_core::metrics as names;
use hotline_core::{
    Desk, DeskEventKind, OutboxEntry, OutboxId, RetryPolicy, UserId, WebhookSecret,
};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The header that carries the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Hotline-Signature";

/// How long an endpoint has to answer before the post counts as failed (and is tried again).
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the outbox is looked at when nothing woke the deliverer (entries waiting out
/// their back-off, entries written by another process sharing the store).
const POLL: Duration = Duration::from_millis(250);

/// Posts at most this many entries at once.
const IN_FLIGHT: usize = 32;

/// `sha256=<hex>`: the HMAC-SHA256 of `body` keyed with `secret`, as `X-Hotline-Signature`
/// carries it.
///
/// ```
/// use hotline_transport_telegram::webhook_signature;
/// let signature = webhook_signature("secret", br#"{"event":"dialog_created"}"#);
/// assert!(signature.starts_with("sha256=") && signature.len() == 7 + 64);
/// ```
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Whether `signature` (the header's value) is the signature of `body` with `secret`, compared
/// in constant time: what a receiver written in Rust checks.
pub fn verify_webhook_signature(secret: &str, body: &[u8], signature: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = webhook_signature(secret, body);
    expected
        .as_bytes()
        .ct_eq(signature.trim().as_bytes())
        .into()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl Hotline {
    /// Starts the `WEBHOOKS` deliverer, once, if `WEBHOOKS` is set and a Tokio runtime runs.
    /// The runners start it, and so does the first update handed to the desk: what waits in
    /// the outbox from an earlier run is delivered then.
    pub(crate) fn keep_delivering(&self) {
        if self.desk.config().webhooks.is_empty()
            || tokio::runtime::Handle::try_current().is_err()
            || self.webhooks_started.swap(true, Ordering::Relaxed)
        {
            return;
        }
        let deliverer = Deliverer {
            desk: self.desk.clone(),
            http: reqwest::Client::builder()
                .timeout(WEBHOOK_TIMEOUT)
                .build()
                .unwrap_or_default(),
            secret: self.desk.config().webhooks_secret.clone(),
            retry: self.webhook_retry,
            queues: Arc::default(),
        };
        tokio::spawn(deliverer.run());
    }
}

#[derive(Clone)]
struct Deliverer {
    desk: Desk,
    http: reqwest::Client,
    secret: Option<WebhookSecret>,
    retry: RetryPolicy,
    /// What the deliverer knows of each queue beyond the outbox.
    queues: Arc<Mutex<Queues>>,
}

/// A queue of the outbox: one endpoint, one conversation.
type Queue = (String, UserId);

/// Where a queue stands for the deliverer.
///
/// The outbox is read as a snapshot while posts finish, so a snapshot taken just before a
/// post removed its entry still holds that entry. The queue therefore remembers what it last
/// finished, and an entry the snapshot shows in an older state than that is skipped: without
/// this, a delivered event would be posted a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueueState {
    /// A post is on the way: the queue's next entry waits.
    Posting,
    /// This entry was delivered (and removed): never posted again by this process.
    Delivered(OutboxId),
    /// This entry failed and now counts this many failed attempts in the store.
    Postponed(OutboxId, u32),
}

impl QueueState {
    /// Whether `entry`, read from the outbox, may be posted now.
    fn admits(self, entry: &OutboxEntry) -> bool {
        match self {
            QueueState::Posting => false,
            QueueState::Delivered(id) => id != entry.id,
            QueueState::Postponed(id, attempts) => id != entry.id || entry.attempts >= attempts,
        }
    }
}

/// The queues with a post on the way or finished lately, and how many outbox reads began.
///
/// A finished state matters only to snapshots read before it was recorded (the store already
/// held the outcome then), so once a read that began later returns, it is forgotten: the map
/// holds the queues of the last moments, not every conversation ever delivered.
#[derive(Debug, Default)]
struct Queues {
    /// Per queue: its state, and the number of reads begun when it was recorded.
    states: HashMap<Queue, (QueueState, u64)>,
    reads: u64,
}

impl Queues {
    /// A read of the outbox begins: its number.
    fn begin_read(&mut self) -> u64 {
        self.reads += 1;
        self.reads
    }

    /// Read `read` returned: what finished before it began, it has seen.
    fn forget_seen_by(&mut self, read: u64) {
        self.states
            .retain(|_, (state, recorded)| *state == QueueState::Posting || *recorded >= read);
    }

    /// Marks the entry's queue as posting, if the entry may be posted now.
    fn claim(&mut self, queue: &Queue, entry: &OutboxEntry) -> bool {
        if self
            .states
            .get(queue)
            .is_some_and(|(state, _)| !state.admits(entry))
        {
            return false;
        }
        self.states
            .insert(queue.clone(), (QueueState::Posting, self.reads));
        true
    }

    /// The queue's post finished as `state`.
    fn finish(&mut self, queue: Queue, state: QueueState) {
        self.states.insert(queue, (state, self.reads));
    }
}

impl Deliverer {
    fn queues(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn run(self) {
        let stop = self.desk.stop_signal().clone();
        let written = self.desk.outbox_written();
        let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let mut outage = 0;
        loop {
            let read = self.queues().begin_read();
            let heads = match self
                .desk
                .store()
                .outbox_heads(now_ms(), 4 * IN_FLIGHT)
                .await
            {
                Ok(heads) => {
                    outage = 0;
                    self.queues().forget_seen_by(read);
                    heads
                }
                Err(error) => {
                    outage += 1;
                    tracing::warn!(%error, "hotline: the webhook outbox could not be read");
                    if RetryPolicy::outage()
                        .wait(&stop, RetryPolicy::outage().backoff(outage))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
            };
            let mut started = false;
            for entry in heads {
                let queue = (entry.endpoint.clone(), entry.lane);
                if !self.queues().claim(&queue, &entry) {
                    continue;
                }
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                    return;
                };
                started = true;
                let this = self.clone();
                let written = Arc::clone(&written);
                tokio::spawn(async move {
                    let finished = this.deliver(entry).await;
                    this.queues().finish(queue, finished);
                    drop(slot);
                    // The queue's next entry may be due now.
                    written.notify_one();
                });
            }
            if started {
                continue;
            }
            let wait = async {
                tokio::select! {
                    () = written.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            };
            if stop.or_stop(wait).await.is_err() {
                return;
            }
        }
    }

    /// Posts one entry; removes it when delivered, postpones it otherwise.
    async fn deliver(&self, entry: OutboxEntry) -> QueueState {
        let store = self.desk.store();
        let outcome = self.post(&entry).await;
        match outcome {
            Ok(answer) => {
                metrics::counter!(names::WEBHOOK_DELIVERIES, "result" => "delivered").increment(1);
                if let Some(text) = answer
                    && let Err(error) = self.desk.tell_operators(Some(entry.lane), &text).await
                {
                    tracing::warn!(%error, "hotline: a command webhook's answer could not be posted");
                }
                if let Err(error) = store.outbox_delivered(entry.id).await {
                    // Delivered again later (at least once); the event id lets the receiver
                    // drop the repeat.
                    tracing::warn!(%error, "hotline: a delivered webhook could not be removed from the outbox");
                    return QueueState::Postponed(entry.id, entry.attempts);
                }
                QueueState::Delivered(entry.id)
            }
            Err(reason) => {
                metrics::counter!(names::WEBHOOK_DELIVERIES, "result" => "failed").increment(1);
                let attempts = entry.attempts.saturating_add(1);
                let wait = self.retry.backoff(attempts);
                let next =
                    now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                if attempts == 1 || attempts.is_multiple_of(10) {
                    tracing::warn!(endpoint = %entry.endpoint, event = %entry.event_id, attempts, %reason, "hotline: a webhook was not delivered; trying again");
                }
                if let Err(error) = store
                    .outbox_postpone(entry.id, attempts, next, &reason)
                    .await
                {
                    tracing::warn!(%error, "hotline: a failed webhook could not be postponed");
                    return QueueState::Postponed(entry.id, entry.attempts);
                }
                QueueState::Postponed(entry.id, attempts)
            }
        }
    }

    /// Posts the entry; `Ok` with a command's answer, if any, when the endpoint took it.
    async fn post(&self, entry: &OutboxEntry) -> Result<Option<String>, String> {
        let mut body: Value = serde_json::from_str(&entry.payload)
            .map_err(|e| format!("the outbox entry holds no event: {e}"))?;
        let secret = self
            .secret
            .as_ref()
            .map(WebhookSecret::expose)
            .unwrap_or_default();
        if let Value::Object(fields) = &mut body {
            fields.insert("api_key".into(), Value::String(secret.to_owned()));
        }
        let is_command =
            body.get("event").and_then(Value::as_str) == Some(DeskEventKind::Command.as_str());
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let signature = webhook_signature(secret, &body);
        let response = self
            .http
            .post(&entry.endpoint)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header("X-Hotline-Event-Id", &entry.event_id)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("no answer: {}", without_url(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("answered {status}"));
        }
        if !is_command {
            return Ok(None);
        }
        let text = response.text().await.unwrap_or_default();
        Ok(answer_text(&text))
    }
}

/// A command webhook's answer: `{"text": "..."}`, or a plain text; nothing when empty.
fn answer_text(body: &str) -> Option<String> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(fields)) => fields
            .get("text")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        Ok(Value::String(text)) => Some(text).filter(|t| !t.trim().is_empty()),
        Ok(_) => None,
        Err(_) => Some(body.to_owned()),
    }
}

/// A reqwest error without the URL (a webhook URL may hold a token of the receiver's).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<endpoint>");
    }
    if error.is_timeout() {
        text = format!("timed out after {}s", WEBHOOK_TIMEOUT.as_secs());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        let signature = webhook_signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            signature,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_webhook_signature(
            "Jefe",
            b"what do ya want for nothing?",
            &signature
        ));
        assert!(!verify_webhook_signature(
            "Jeff",
            b"what do ya want for nothing?",
            &signature
        ));
        assert!(!verify_webhook_signature(
            "Jefe",
            b"what do ya want?",
            &signature
        ));
    }

    fn entry(id: i64, attempts: u32) -> OutboxEntry {
        OutboxEntry {
            id: OutboxId(id),
            endpoint: "http://127.0.0.1:1/hook".into(),
            lane: UserId(7),
            event_id: format!("e{id}"),
            payload: "{}".into(),
            created: hotline_core::Timestamp::default(),
            attempts,
            next_attempt_ms: 0,
            last_error: None,
        }
    }

    #[test]
    fn a_snapshot_older_than_the_queues_last_finish_is_not_posted_again() {
        // A post on the way holds its queue.
        assert!(!QueueState::Posting.admits(&entry(1, 0)));
        // Delivered: the same entry read from an earlier snapshot is skipped; the next one goes.
        assert!(!QueueState::Delivered(OutboxId(1)).admits(&entry(1, 0)));
        assert!(QueueState::Delivered(OutboxId(1)).admits(&entry(2, 0)));
        // Postponed to its 3rd attempt: a snapshot from before (2 attempts) is stale, one read
        // after the postponement is the retry.
        assert!(!QueueState::Postponed(OutboxId(1), 3).admits(&entry(1, 2)));
        assert!(QueueState::Postponed(OutboxId(1), 3).admits(&entry(1, 3)));
        assert!(QueueState::Postponed(OutboxId(1), 3).admits(&entry(2, 0)));
    }

    #[test]
    fn a_finished_queue_is_forgotten_once_a_later_read_has_seen_it() {
        let queue: Queue = ("http://127.0.0.1:1/hook".into(), UserId(7));
        let mut queues = Queues::default();
        let first = queues.begin_read();
        assert!(queues.claim(&queue, &entry(1, 0)));
        // Posting is never forgotten: the queue waits for its post.
        queues.forget_seen_by(first);
        assert!(!queues.claim(&queue, &entry(1, 0)));
        queues.finish(queue.clone(), QueueState::Delivered(OutboxId(1)));
        // A snapshot read before the finish still shows entry 1: skipped.
        queues.forget_seen_by(first);
        assert!(!queues.claim(&queue, &entry(1, 0)));
        // A read begun after the finish has seen it: the queue is forgotten.
        let later = queues.begin_read();
        queues.forget_seen_by(later);
        assert!(queues.states.is_empty());
        assert!(queues.claim(&queue, &entry(2, 0)));
    }

    #[test]
    fn a_command_answer_is_its_text() {
        assert_eq!(
            answer_text(r#"{"text": " Order #12: shipped "}"#).as_deref(),
            Some("Order #12: shipped")
        );
        assert_eq!(answer_text("plain answer").as_deref(), Some("plain answer"));
        assert_eq!(answer_text(r#"{"ok": true}"#), None);
        assert_eq!(answer_text("  "), None);
    }
}
