//! Conformance checks of the mailings block of [`Store`] (`/send`, `Desk::broadcast`).

use crate::config::{Greeting, GreetingButton};
use crate::ids::{ChatId, MessageId, Timestamp, UserId};
use crate::store::{Delivery, Mailing, MailingContent, MailingId, MailingState, Panel, Store};
use std::future::Future;

pub(super) async fn run_all<S, F, Fut>(make: &F)
where
    S: Store + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    a_mailing_reads_back_whole(make().await).await;
    recipients_move_from_pending_once(make().await).await;
    state_changes_only_from_the_states_given(make().await).await;
    one_sender_holds_a_mailing_at_a_time(make().await).await;
}

async fn one_sender_holds_a_mailing_at_a_time<S: Store>(store: S) {
    let id = store
        .mailing_create(
            &draft(MailingContent::Copy {
                from: ChatId(-1),
                messages: vec![MessageId(1)],
            }),
            &users([1]),
        )
        .await
        .expect("mailing_create");
    let lease = |owner: &'static str, now: i64| {
        store.mailing_lease(id, owner, Timestamp(now), Timestamp(now + 10))
    };
    assert!(
        lease("a", 100).await.expect("lease"),
        "a free mailing is taken"
    );
    assert!(
        !lease("b", 105).await.expect("lease"),
        "held by another until 110"
    );
    assert!(
        lease("a", 108).await.expect("lease"),
        "the holder renews (to 118)"
    );
    assert!(
        !lease("b", 115).await.expect("lease"),
        "renewed: still held"
    );
    assert!(
        lease("b", 119).await.expect("lease"),
        "expired: another takes it"
    );
    assert!(!lease("a", 120).await.expect("lease"), "and holds it");
}

fn draft(content: MailingContent) -> Mailing {
    Mailing {
        id: MailingId(0),
        content,
        segment: "#vip lang:de".into(),
        state: MailingState::Draft,
        created: Timestamp(1_700_000_000),
        author: Some(UserId(42)),
        panel: None,
    }
}

fn users(ids: impl IntoIterator<Item = i64>) -> Vec<UserId> {
    ids.into_iter().map(UserId).collect()
}

async fn a_mailing_reads_back_whole<S: Store>(store: S) {
    let chain = MailingContent::Copy {
        from: ChatId(-100_123),
        messages: vec![MessageId(7), MessageId(8), MessageId(9)],
    };
    let first = store
        .mailing_create(&draft(chain.clone()), &users([3, 1, 2]))
        .await
        .expect("mailing_create");
    let rich = MailingContent::Message(Greeting {
        photo: Some("https://example.com/a.jpg".into()),
        buttons: vec![vec![GreetingButton::Url {
            text: "Shop".into(),
            url: "https://example.com".into(),
        }]],
        ..Greeting::text("*Sale* today", true)
    });
    let second = store
        .mailing_create(&draft(rich.clone()), &[])
        .await
        .expect("mailing_create");
    assert!(second > first, "mailing ids grow");
    let read = store
        .mailing(first)
        .await
        .expect("mailing")
        .expect("the mailing is there");
    assert_eq!(
        read,
        Mailing {
            id: first,
            ..draft(chain)
        },
        "a mailing reads back as written, with its id"
    );
    let read = store
        .mailing(second)
        .await
        .expect("mailing")
        .expect("there");
    assert_eq!(
        read.content, rich,
        "a message built in Rust reads back whole"
    );
    assert_eq!(
        store.mailing(MailingId(9_999)).await.expect("mailing"),
        None
    );
    let panel = Panel {
        chat: ChatId(-100_123),
        message: MessageId(55),
    };
    store
        .mailing_set_panel(first, panel)
        .await
        .expect("mailing_set_panel");
    let latest = store.mailings(10).await.expect("mailings");
    let ids: Vec<MailingId> = latest.iter().map(|m| m.id).collect();
    assert_eq!(ids, [second, first], "the latest mailings, newest first");
    assert_eq!(latest[1].panel, Some(panel), "the panel is kept");
    assert_eq!(store.mailings(1).await.expect("mailings").len(), 1);
    let counts = store.mailing_counts(first).await.expect("mailing_counts");
    assert_eq!((counts.pending, counts.total()), (3, 3));
}

async fn recipients_move_from_pending_once<S: Store>(store: S) {
    let content = MailingContent::Copy {
        from: ChatId(-1),
        messages: vec![MessageId(1)],
    };
    let id = store
        .mailing_create(&draft(content), &users(1..=250))
        .await
        .expect("mailing_create");
    let page = store
        .mailing_pending(id, None, 100)
        .await
        .expect("mailing_pending");
    assert_eq!(page, users(1..=100), "pending recipients ascending, a page");
    let page = store
        .mailing_pending(id, Some(UserId(240)), 100)
        .await
        .expect("mailing_pending");
    assert_eq!(page, users(241..=250), "after the id given");
    for user in 1..=10 {
        store
            .mailing_record(id, UserId(user), Delivery::Sent)
            .await
            .expect("mailing_record");
    }
    store
        .mailing_record(id, UserId(11), Delivery::Blocked)
        .await
        .expect("mailing_record");
    store
        .mailing_record(id, UserId(12), Delivery::Left)
        .await
        .expect("mailing_record");
    store
        .mailing_record(id, UserId(13), Delivery::Failed)
        .await
        .expect("mailing_record");
    // A result is recorded once: a late second answer does not change it.
    store
        .mailing_record(id, UserId(11), Delivery::Sent)
        .await
        .expect("mailing_record");
    // Someone who is no recipient is not added.
    store
        .mailing_record(id, UserId(9_999), Delivery::Sent)
        .await
        .expect("mailing_record");
    let counts = store.mailing_counts(id).await.expect("mailing_counts");
    assert_eq!(
        (
            counts.pending,
            counts.sent,
            counts.blocked,
            counts.left,
            counts.failed
        ),
        (237, 10, 1, 1, 1),
        "each recipient counted once, where they stand"
    );
    let page = store
        .mailing_pending(id, None, 3)
        .await
        .expect("mailing_pending");
    assert_eq!(
        page,
        users(14..=16),
        "recorded recipients are no longer pending"
    );
    let other = store
        .mailing_create(
            &draft(MailingContent::Copy {
                from: ChatId(-1),
                messages: vec![MessageId(2)],
            }),
            &users([5]),
        )
        .await
        .expect("mailing_create");
    assert_eq!(
        store
            .mailing_pending(other, None, 10)
            .await
            .expect("mailing_pending"),
        users([5]),
        "each mailing keeps its own recipients"
    );
}

async fn state_changes_only_from_the_states_given<S: Store>(store: S) {
    let id = store
        .mailing_create(
            &draft(MailingContent::Copy {
                from: ChatId(-1),
                messages: vec![MessageId(1)],
            }),
            &users([1]),
        )
        .await
        .expect("mailing_create");
    let draft_to_running = [MailingState::Draft];
    assert!(
        store
            .mailing_set_state(id, &draft_to_running, MailingState::Running)
            .await
            .expect("set_state"),
        "a draft starts"
    );
    assert!(
        !store
            .mailing_set_state(id, &draft_to_running, MailingState::Running)
            .await
            .expect("set_state"),
        "a mailing starts once (a Confirm pressed twice)"
    );
    assert!(
        store
            .mailing_set_state(id, &[MailingState::Running], MailingState::Paused)
            .await
            .expect("set_state")
    );
    let read = store.mailing(id).await.expect("mailing").expect("there");
    assert_eq!(read.state, MailingState::Paused, "the state is kept");
    assert!(
        !store
            .mailing_set_state(
                MailingId(9_999),
                &[MailingState::Paused],
                MailingState::Running
            )
            .await
            .expect("set_state"),
        "no mailing, no change"
    );
}
