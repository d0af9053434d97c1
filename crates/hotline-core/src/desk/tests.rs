//! Unit tests where the shape of one call is the point (mockall).

use super::{Desk, Outcome};
use crate::action::{Action, Performed, Recipient};
use crate::config::Config;
use crate::event::Event;
use crate::ids::{ChatId, MessageId, Timestamp, TopicId, UserId};
use crate::message::{IncomingMessage, UserProfile};
use crate::store::{
    Commit, Conversation, MemoryStore, MessageLink, MockStore, Origin, Status, Store, UserClaim,
};
use crate::transport::{MockTransport, TransportError};
use mockall::Sequence;
use std::sync::Arc;
use std::time::Duration;

const GROUP: ChatId = ChatId(-100);

fn config() -> Config {
    Config::builder(GROUP)
        .welcome(crate::Welcome::Off)
        .build()
        .unwrap()
}

fn open_conversation(topic: i64) -> Conversation {
    // Active now (the desk's clock is the system's): a message does not refresh it.
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let mut c = Conversation::new(UserProfile::new(1, "Ann"), Timestamp(0));
    c.last_active = now;
    c.topic = Some(TopicId(topic));
    c.status = Status::UserAnswered;
    c.topic_name = Some("🟪 Ann".into());
    c
}

async fn store_with(conv: Conversation) -> MemoryStore {
    let store = MemoryStore::new();
    store
        .commit(Commit {
            conversation: Some(conv),
            ..Commit::default()
        })
        .await
        .unwrap();
    store
}

fn user_message(id: i64, text: &str) -> Event {
    Event::UserMessage {
        user: UserProfile::new(1, "Ann"),
        message: IncomingMessage::text(id, text),
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_repeats_the_very_same_action_after_the_wait() {
    let expected = Action::CopyToTopic {
        chat: GROUP,
        topic: TopicId(5),
        from: ChatId(1),
        messages: vec![MessageId(7)],
        reply_to: None,
    };
    let mut transport = MockTransport::new();
    let mut seq = Sequence::new();
    let first = expected.clone();
    transport
        .expect_perform()
        .withf(move |a| *a == first)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(TransportError::RetryAfter(Duration::from_secs(12))));
    let second = expected.clone();
    transport
        .expect_perform()
        .withf(move |a| *a == second)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Performed::Messages(vec![MessageId(70)])));
    let desk = Desk::new(config(), store_with(open_conversation(5)).await, transport);
    let started = tokio::time::Instant::now();
    assert_eq!(
        desk.handle(user_message(7, "hi")).await.unwrap(),
        Outcome::Relayed
    );
    assert!(started.elapsed() >= Duration::from_secs(12));
}

#[tokio::test]
async fn a_gone_topic_is_recreated_and_the_copy_repeated_there_without_the_stale_reply() {
    let mut transport = MockTransport::new();
    let mut seq = Sequence::new();
    transport
        .expect_perform()
        .withf(|a| {
            matches!(
                a,
                Action::CopyToTopic {
                    topic: TopicId(5),
                    reply_to: Some(_),
                    ..
                }
            )
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(TransportError::TopicGone));
    transport
        .expect_perform()
        .withf(|a| matches!(a, Action::CreateTopic { chat: GROUP, name } if name == "🟪 Ann"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Performed::Topic(TopicId(9))));
    transport
        .expect_perform()
        .withf(|a| {
            matches!(
                a,
                Action::SendNotice {
                    to: Recipient::Topic {
                        topic: TopicId(9),
                        ..
                    },
                    ..
                }
            )
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Performed::Messages(vec![MessageId(90)])));
    transport
        .expect_perform()
        .withf(|a| {
            matches!(a, Action::CopyToTopic { topic: TopicId(9), reply_to: None, messages, .. }
                if messages == &[MessageId(8)])
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Performed::Messages(vec![MessageId(91)])));
    let store = store_with(open_conversation(5)).await;
    store
        .commit(Commit {
            links: vec![MessageLink {
                user: UserId(1),
                user_message: MessageId(3),
                topic_message: MessageId(30),
                origin: Origin::User,
            }],
            ..Commit::default()
        })
        .await
        .unwrap();
    let store = Arc::new(store);
    let desk = Desk::builder(config(), store.clone(), Arc::new(transport)).build();
    let event = Event::UserMessage {
        user: UserProfile::new(1, "Ann"),
        message: IncomingMessage::text(8, "again").replying_to(3),
    };
    assert_eq!(desk.handle(event).await.unwrap(), Outcome::Relayed);
    let conv = store.conversation(UserId(1)).await.unwrap().unwrap();
    assert_eq!(conv.topic, Some(TopicId(9)));
    assert!(
        store
            .conversation_by_topic(TopicId(5))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_relay_records_its_link_and_its_event_in_one_commit() {
    let mut store = MockStore::new();
    store
        .expect_claim_user()
        .returning(|_| Ok(UserClaim::none()));
    store.expect_is_processed().returning(|_| Ok(false));
    store
        .expect_conversation()
        .returning(|_| Ok(Some(open_conversation(5))));
    store.expect_link_by_user_message().never();
    store
        .expect_commit()
        .withf(|c| {
            c.conversation.is_none()
                && c.links
                    == [MessageLink {
                        user: UserId(1),
                        user_message: MessageId(7),
                        topic_message: MessageId(70),
                        origin: Origin::User,
                    }]
                && c.processed.is_some_and(|k| k.message == 7)
        })
        .times(1)
        .returning(|_| Ok(()));
    let mut transport = MockTransport::new();
    transport
        .expect_perform()
        .times(1)
        .returning(|_| Ok(Performed::Messages(vec![MessageId(70)])));
    let desk = Desk::new(config(), store, transport);
    assert_eq!(
        desk.handle(user_message(7, "hi")).await.unwrap(),
        Outcome::Relayed
    );
}

#[tokio::test]
async fn a_bad_request_is_an_error_not_a_loop() {
    let mut transport = MockTransport::new();
    transport
        .expect_perform()
        .times(1)
        .returning(|_| Err(TransportError::BadRequest("message is too long".into())));
    let desk = Desk::new(config(), store_with(open_conversation(5)).await, transport);
    let error = desk.handle(user_message(7, "hi")).await.unwrap_err();
    assert!(error.to_string().contains("message is too long"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn passing_failures_are_retried_a_bounded_number_of_times() {
    let mut transport = MockTransport::new();
    transport
        .expect_perform()
        .times(6)
        .returning(|_| Err(TransportError::Unavailable("connection reset".into())));
    let desk = Desk::new(config(), store_with(open_conversation(5)).await, transport);
    assert!(desk.handle(user_message(7, "hi")).await.is_err());
}

#[tokio::test]
async fn dispatch_reports_errors_to_the_hook() {
    let mut transport = MockTransport::new();
    transport
        .expect_perform()
        .returning(|_| Err(TransportError::Other("boom".into())));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let desk = Desk::builder(
        config(),
        Arc::new(store_with(open_conversation(5)).await),
        Arc::new(transport),
    )
    .on_error(move |e| hook_seen.lock().unwrap().push(e.to_string()))
    .build();
    assert!(desk.dispatch(user_message(7, "hi")).await.is_err());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_panic_fails_its_own_event_and_the_lane_goes_on() {
    let mut transport = MockTransport::new();
    let mut seq = Sequence::new();
    transport
        .expect_perform()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| panic!("transport bug"));
    transport
        .expect_perform()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Performed::Messages(vec![MessageId(80)])));
    transport
        .expect_perform()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Performed::Messages(vec![MessageId(81)])));
    let desk = Desk::new(config(), store_with(open_conversation(5)).await, transport);
    // Both queued in the user's lane before either is handled.
    let first = desk.dispatch(user_message(7, "first"));
    let second = desk.dispatch(user_message(8, "second"));
    let error = first.await.unwrap_err().to_string();
    assert!(error.contains("panicked: transport bug"), "{error}");
    assert_eq!(second.await.unwrap(), Outcome::Relayed);
    let link = desk
        .store()
        .link_by_user_message(UserId(1), MessageId(8))
        .await
        .unwrap()
        .expect("the second message is linked");
    assert_eq!(link.topic_message, MessageId(80));
    // The user's lock was released by the unwinding: a third event is not stuck behind it.
    let third = tokio::time::timeout(Duration::from_secs(5), desk.handle(user_message(9, "x")));
    assert_eq!(
        third.await.expect("the lane's lock was left held").unwrap(),
        Outcome::Relayed
    );
}

/// A transport that relays every copy with the next message id, noting what it copied.
fn counting_transport(copied: Arc<std::sync::Mutex<Vec<MessageId>>>) -> MockTransport {
    let mut transport = MockTransport::new();
    transport.expect_perform().returning(move |action| {
        let Action::CopyToTopic { messages, .. } = action else {
            return Ok(Performed::Done);
        };
        let mut copied = copied.lock().unwrap();
        copied.extend(messages.iter().copied());
        Ok(Performed::Messages(vec![MessageId(
            100 + copied.len() as i64,
        )]))
    });
    transport
}

/// A desk for Ann's open conversation whose transport notes every message it copies.
async fn counting_desk() -> (Desk, Arc<std::sync::Mutex<Vec<MessageId>>>) {
    let copied = Arc::new(std::sync::Mutex::new(Vec::new()));
    let desk = Desk::new(
        config(),
        store_with(open_conversation(5)).await,
        counting_transport(Arc::clone(&copied)),
    );
    (desk, copied)
}

#[tokio::test]
async fn run_in_lane_keeps_the_lane_in_order_with_dispatch() {
    let (desk, copied) = counting_desk().await;
    // The first takes the idle lane (not polled yet); the others queue behind it.
    let first = desk.run_in_lane(user_message(7, "first"));
    let second = desk.dispatch(user_message(8, "second"));
    let third = desk.run_in_lane(user_message(9, "third"));
    assert_eq!(first.await.unwrap(), Outcome::Relayed);
    // The queue behind it was handed to a task when it finished.
    let (second, third) = tokio::time::timeout(Duration::from_secs(5), async {
        (second.await, third.await)
    })
    .await
    .expect("the lane's queue was left without a worker");
    assert_eq!(
        (second.unwrap(), third.unwrap()),
        (Outcome::Relayed, Outcome::Relayed)
    );
    assert_eq!(
        *copied.lock().unwrap(),
        [MessageId(7), MessageId(8), MessageId(9)]
    );
    // The lane is idle again: the next one runs here at once.
    assert_eq!(
        desk.run_in_lane(user_message(10, "fourth")).await.unwrap(),
        Outcome::Relayed
    );
}

#[tokio::test]
async fn a_dropped_run_in_lane_hands_its_lane_over() {
    let (desk, copied) = counting_desk().await;
    let abandoned = desk.run_in_lane(user_message(7, "never polled"));
    let queued = desk.dispatch(user_message(8, "queued behind it"));
    drop(abandoned);
    let outcome = tokio::time::timeout(Duration::from_secs(5), queued)
        .await
        .expect("the queued event was stranded");
    assert_eq!(outcome.unwrap(), Outcome::Relayed);
    assert_eq!(*copied.lock().unwrap(), [MessageId(8)]);
}

#[test]
fn run_in_lane_outside_a_runtime_fails_instead_of_panicking() {
    let desk = Desk::new(config(), MemoryStore::new(), MockTransport::new());
    let run = desk.run_in_lane(user_message(7, "hi"));
    let mut run = std::pin::pin!(run);
    let polled = run
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    let std::task::Poll::Ready(Err(error)) = polled else {
        panic!("expected an error at once, got {polled:?}");
    };
    assert!(error.to_string().contains("Tokio runtime"), "{error}");
}

#[tokio::test]
async fn a_tick_removes_archived_records_past_their_retention_only() {
    use crate::clock::ManualClock;
    use crate::memory_transport::MemoryTransport;
    use crate::store::ArchiveRecord;

    let config = Config::builder(GROUP)
        .welcome(crate::Welcome::Off)
        .archive(true, Some(Duration::from_secs(2 * 86_400)))
        .build()
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let day = 86_400;
    let records = [10, 3 * day + 10]
        .map(|time| {
            ArchiveRecord::of(
                UserId(1),
                Origin::User,
                &IncomingMessage::text(time, "archived"),
                false,
                Timestamp(time),
            )
        })
        .to_vec();
    store.archive_write(records).await.unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp(4 * day)));
    let desk = Desk::builder(config, store.clone(), Arc::new(MemoryTransport::new()))
        .clock(clock.clone())
        .build();
    desk.tick().await.unwrap();
    let kept: Vec<i64> = store
        .archived(UserId(1), Timestamp(0), None, 10)
        .await
        .unwrap()
        .iter()
        .map(|a| a.record.time.0)
        .collect();
    assert_eq!(
        kept,
        vec![3 * day + 10],
        "only the record older than two days is removed"
    );
}

#[tokio::test]
async fn a_users_last_activity_is_refreshed_once_an_hour_has_passed() {
    use crate::clock::ManualClock;
    use crate::memory_transport::MemoryTransport;

    let store = Arc::new(MemoryStore::new());
    let transport = Arc::new(MemoryTransport::new());
    let clock = Arc::new(ManualClock::new(Timestamp(10_000)));
    let desk = Desk::builder(config(), store.clone(), transport.clone())
        .clock(clock.clone())
        .build();
    let last_active = || async {
        store
            .conversation(UserId(1))
            .await
            .unwrap()
            .unwrap()
            .last_active
    };
    let user_message = |_: i64, text: &str| Event::UserMessage {
        user: UserProfile::new(1, "Ann"),
        message: transport.user_writes(UserId(1), text),
    };
    desk.handle(user_message(1, "hello")).await.unwrap();
    assert_eq!(
        last_active().await,
        Timestamp(10_000),
        "a new user is active now"
    );
    clock.advance(1_800);
    desk.handle(user_message(2, "still here")).await.unwrap();
    assert_eq!(
        last_active().await,
        Timestamp(10_000),
        "within the hour: not written again"
    );
    clock.advance(1_900);
    desk.handle(user_message(3, "later")).await.unwrap();
    assert_eq!(
        last_active().await,
        Timestamp(13_700),
        "an hour on: refreshed"
    );
}
