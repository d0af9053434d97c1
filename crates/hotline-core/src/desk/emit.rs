//! Events out: the desk's broadcast of [`DeskEvent`]s, and the webhook outbox they are written to.
//!
//! A subscriber that reads too slowly never slows the desk: the broadcast keeps the last
//! `event_buffer` events and a subscriber that fell further behind is told how many it missed
//! ([`Lagged`]). Webhooks do not depend on a subscriber keeping up: an event `WEBHOOKS` wants is
//! written to the store's outbox first, in the user's lane (so the outbox keeps the
//! conversation's order), and delivered from there.

use super::Desk;
use crate::desk_event::{DeskEvent, DeskEventKind};
use crate::metrics as names;
use crate::store::NewOutboxEntry;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{Notify, broadcast};

/// The broadcast side and the outbox's wake-up.
#[derive(Debug)]
pub(super) struct EventHub {
    sender: broadcast::Sender<DeskEvent>,
    outbox_written: Arc<Notify>,
}

impl EventHub {
    pub(super) fn new(buffer: usize) -> Self {
        Self {
            sender: broadcast::channel(buffer.max(1)).0,
            outbox_written: Arc::new(Notify::new()),
        }
    }
}

/// A subscriber fell behind and missed this many events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the subscriber fell behind and missed {0} events")]
pub struct Lagged(pub u64);

type Boxed = Pin<Box<dyn Stream<Item = Result<DeskEvent, Lagged>> + Send>>;

/// The desk's events, as a [`Stream`] (see [`Desk::events`]). Ends when the desk is dropped.
pub struct Events {
    stream: Boxed,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

impl Events {
    /// The next event; `Err(Lagged(n))` when `n` were missed (then the next ones follow);
    /// `None` once the desk is gone.
    pub async fn next(&mut self) -> Option<Result<DeskEvent, Lagged>> {
        std::future::poll_fn(|cx| self.stream.as_mut().poll_next(cx)).await
    }
}

impl Stream for Events {
    type Item = Result<DeskEvent, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.stream.as_mut().poll_next(cx)
    }
}

impl Desk {
    /// Subscribes to the desk's events from now on: topics created, reopened and closed,
    /// messages received, sent, intercepted and edited, users who blocked the bot, dead letters,
    /// and the `/command`s `WEBHOOKS` lists.
    ///
    /// A subscriber that reads too slowly does not slow the desk: it misses the oldest events
    /// (see [`crate::DeskBuilder::event_buffer`]) and is told how many.
    pub fn events(&self) -> Events {
        let receiver = self.inner.events.sender.subscribe();
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            match receiver.recv().await {
                Ok(event) => Some((Ok(event), receiver)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    metrics::counter!(names::EVENTS_LAGGED).increment(missed);
                    Some((Err(Lagged(missed)), receiver))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        });
        Events {
            stream: Box::pin(stream),
        }
    }

    /// Woken each time entries are written to the webhook outbox (a deliverer waits on it).
    pub fn outbox_written(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.events.outbox_written)
    }

    /// Publishes an event of the desk: to the webhook outbox for the `WEBHOOKS` endpoints that
    /// want it, then to [`Desk::events`]' subscribers. The desk publishes its own; a runner
    /// publishes what it alone knows (a dead letter set aside).
    ///
    /// Writing to the outbox is awaited (so an event is in the store before what follows it in
    /// the conversation); a store that fails is logged and counted
    /// (`hotline_webhook_outbox_write_failures_total`), never raised: events out never fail the
    /// desk's work.
    pub async fn publish(&self, event: DeskEvent) {
        count(event.kind);
        self.write_outbox(&event).await;
        // No subscriber is not an error: nobody asked.
        let _ = self.inner.events.sender.send(event);
    }

    /// Publishes the event `make` builds, if anyone takes events of `kind` (a subscriber, or
    /// a `WEBHOOKS` endpoint); counts it either way. A relay nobody listens to builds nothing.
    pub(super) async fn emit(&self, kind: DeskEventKind, make: impl FnOnce() -> DeskEvent) {
        if self.wants(kind) {
            self.publish(make()).await;
        } else {
            count(kind);
        }
    }

    /// Whether an event of `kind` would reach anyone.
    pub(super) fn wants(&self, kind: DeskEventKind) -> bool {
        self.inner.events.sender.receiver_count() > 0
            || self.inner.config.webhooks.iter().any(|t| t.wants(kind))
    }

    async fn write_outbox(&self, event: &DeskEvent) {
        let targets = &self.inner.config.webhooks;
        if targets.is_empty() {
            return;
        }
        let wanted: Vec<&str> = targets
            .iter()
            .filter(|t| match (event.kind, &event.command) {
                (DeskEventKind::Command, Some(command)) => t.wants_command(command),
                (kind, _) => t.wants(kind),
            })
            .map(|t| t.url.as_str())
            .collect();
        if wanted.is_empty() {
            return;
        }
        let payload = match serde_json::to_string(event) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(%error, id = %event.id, "hotline: an event could not be encoded");
                return;
            }
        };
        let entries = wanted
            .into_iter()
            .map(|url| NewOutboxEntry {
                endpoint: url.to_owned(),
                lane: event.user,
                event_id: event.id.clone(),
                payload: payload.clone(),
                created: event.time,
            })
            .collect();
        match self.inner.store.outbox_push(entries).await {
            Ok(_) => self.inner.events.outbox_written.notify_one(),
            Err(error) => {
                metrics::counter!(names::OUTBOX_WRITE_FAILURES).increment(1);
                tracing::warn!(%error, id = %event.id, "hotline: an event could not be written to the webhook outbox");
            }
        }
    }

    /// An event of `kind` about the conversation being worked on, at the desk's time.
    pub(super) fn event(
        &self,
        kind: DeskEventKind,
        w: &super::Working,
        discriminator: impl std::fmt::Display,
    ) -> DeskEvent {
        DeskEvent::new(
            kind,
            w.conv.user,
            w.topic(),
            self.inner.clock.now(),
            discriminator,
        )
    }
}

/// Counts an event in the metrics (`hotline_events_total` and the relay counters).
pub(super) fn count(kind: DeskEventKind) {
    metrics::counter!(names::EVENTS, "event" => kind.as_str()).increment(1);
    match kind {
        DeskEventKind::MessageReceived => {
            metrics::counter!(names::RELAYED, "direction" => "to_topic").increment(1);
        }
        DeskEventKind::MessageSent => {
            metrics::counter!(names::RELAYED, "direction" => "to_user").increment(1);
        }
        DeskEventKind::MessageIntercepted => metrics::counter!(names::INTERCEPTED).increment(1),
        DeskEventKind::DeadLettered => metrics::counter!(names::DEAD_LETTERS).increment(1),
        _ => {}
    }
}
