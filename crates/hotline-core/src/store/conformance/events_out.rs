//! Conformance checks of the events-out block of [`Store`]: the webhook outbox and the count of
//! open conversations.

use super::{open, save};
use crate::ids::{Timestamp, UserId};
use crate::store::{NewOutboxEntry, OutboxId, Status, Store};
use std::future::Future;

pub(super) async fn run_all<S, F, Fut>(make: &F)
where
    S: Store + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    the_outbox_gives_each_queue_in_order(make().await).await;
    a_postponed_entry_holds_its_queue_back(make().await).await;
    open_conversations_are_counted(make().await).await;
}

fn entry(endpoint: &str, user: i64, n: i64) -> NewOutboxEntry {
    NewOutboxEntry {
        endpoint: endpoint.to_owned(),
        lane: UserId(user),
        event_id: format!("message_received:{user}:{n}"),
        payload: format!(r#"{{"n":{n}}}"#),
        created: Timestamp(1_000 + n),
    }
}

async fn the_outbox_gives_each_queue_in_order<S: Store>(store: S) {
    let ids = store
        .outbox_push(vec![
            entry("http://a", 1, 1),
            entry("http://a", 1, 2),
            entry("http://a", 2, 3),
            entry("http://b", 1, 4),
        ])
        .await
        .expect("outbox_push");
    assert_eq!(ids.len(), 4, "outbox_push gives one id per entry");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend in order");
    assert_eq!(store.outbox_len().await.expect("len"), 4);
    let heads = store.outbox_heads(0, 100).await.expect("heads");
    let got: Vec<&str> = heads.iter().map(|e| e.payload.as_str()).collect();
    assert_eq!(
        got,
        [r#"{"n":1}"#, r#"{"n":3}"#, r#"{"n":4}"#],
        "the first entry of each (endpoint, conversation) queue, oldest first"
    );
    let first = &heads[0];
    assert_eq!(
        (first.endpoint.as_str(), first.lane, first.event_id.as_str()),
        ("http://a", UserId(1), "message_received:1:1")
    );
    assert_eq!((first.attempts, first.created), (0, Timestamp(1_001)));
    assert_eq!(
        store.outbox_heads(0, 1).await.expect("heads").len(),
        1,
        "limit"
    );
    assert!(store.outbox_delivered(ids[0]).await.expect("delivered"));
    assert!(
        !store.outbox_delivered(ids[0]).await.expect("delivered"),
        "an entry is removed once"
    );
    let heads = store.outbox_heads(0, 100).await.expect("heads");
    assert_eq!(
        heads.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[1], ids[2], ids[3]],
        "the next entry of the queue comes up once the first is delivered"
    );
    assert!(
        !store
            .outbox_delivered(OutboxId(ids[3].0 + 100))
            .await
            .expect("unknown id")
    );
    assert_eq!(store.outbox_len().await.expect("len"), 3);
}

async fn a_postponed_entry_holds_its_queue_back<S: Store>(store: S) {
    let ids = store
        .outbox_push(vec![
            entry("http://a", 1, 1),
            entry("http://a", 1, 2),
            entry("http://a", 2, 3),
        ])
        .await
        .expect("outbox_push");
    store
        .outbox_postpone(ids[0], 3, 5_000, "connection refused")
        .await
        .expect("postpone");
    let heads = store.outbox_heads(4_999, 100).await.expect("heads");
    assert_eq!(
        heads.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[2]],
        "an entry not yet due holds back its own queue, not the others"
    );
    let heads = store.outbox_heads(5_000, 100).await.expect("heads");
    assert_eq!(
        heads.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[0], ids[2]]
    );
    assert_eq!(heads[0].attempts, 3);
    assert_eq!(heads[0].next_attempt_ms, 5_000);
    assert_eq!(heads[0].last_error.as_deref(), Some("connection refused"));
}

async fn open_conversations_are_counted<S: Store>(store: S) {
    assert_eq!(store.open_conversations().await.expect("count"), 0);
    save(&store, open(1, 11, 100)).await;
    save(&store, open(2, 12, 100)).await;
    let mut closed = open(3, 13, 100);
    closed.status = Status::Closed;
    save(&store, closed).await;
    let mut support = open(4, 14, 100);
    support.status = Status::SupportAnswered;
    save(&store, support).await;
    assert_eq!(
        store.open_conversations().await.expect("count"),
        3,
        "conversations with a topic, 🟪 or 🟨"
    );
}
