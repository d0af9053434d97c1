//! Relaying one user message into an existing topic: MemoryStore, a transport that does nothing.
//! `cargo bench -p hotline-core --bench relay`

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use hotline_core::store::Commit;
use hotline_core::{
    Action, ChatId, Config, Conversation, Desk, Event, IncomingMessage, MemoryStore, MessageId,
    Outcome, Performed, Status, Store, Timestamp, TopicId, Transport, TransportError, UserProfile,
    Welcome,
};
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};

/// Answers every action at once with a fresh message id, like a messenger with no latency.
struct NullTransport(AtomicI64);

#[async_trait]
impl Transport for NullTransport {
    async fn perform(&self, action: &Action) -> Result<Performed, TransportError> {
        let id = self.0.fetch_add(1, Ordering::Relaxed);
        Ok(match action {
            Action::CreateTopic { .. } => Performed::Topic(TopicId(id)),
            _ => Performed::Messages(vec![MessageId(id)]),
        })
    }
}

/// A desk whose user 42 already has an open topic.
fn desk_with_open_topic(runtime: &tokio::runtime::Runtime, profile: &UserProfile) -> Desk {
    let config = Config::builder(ChatId(-1_001))
        .welcome(Welcome::Off)
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let mut conversation = Conversation::new(profile.clone(), Timestamp(0));
    conversation.topic = Some(TopicId(7));
    conversation.status = Status::UserAnswered;
    conversation.topic_name = Some("🟪 Ann Lee".into());
    runtime
        .block_on(store.commit(Commit {
            conversation: Some(conversation),
            ..Commit::default()
        }))
        .unwrap();
    Desk::new(config, store, NullTransport(AtomicI64::new(1)))
}

fn relay(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let profile = UserProfile::new(42, "Ann")
        .with_last_name("Lee")
        .with_username("ann");

    c.bench_function("relay one user message to an existing topic", |b| {
        // A fresh desk per sample: the store's link and event tables grow by one entry per
        // relay, so each sample starts from the same state instead of an ever larger one.
        b.iter_custom(|iterations| {
            let desk = desk_with_open_topic(&runtime, &profile);
            runtime.block_on(async {
                let started = std::time::Instant::now();
                for id in 1..=iterations {
                    let message = IncomingMessage::text(id as i64, "hello");
                    let event = Event::UserMessage {
                        user: profile.clone(),
                        message,
                    };
                    let outcome = desk.handle(event).await.unwrap();
                    assert_eq!(outcome, Outcome::Relayed);
                    black_box(outcome);
                }
                started.elapsed()
            })
        });
    });
}

criterion_group!(benches, relay);
criterion_main!(benches);
