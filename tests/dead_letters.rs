//! One bad update never stalls the desk: an update that keeps failing while others go through
//! is set aside as a dead letter (the operators are told once), the others are relayed in order,
//! and an operator can retry it later; an outage of the store for everyone sets nothing aside.
//! Asserted on what the fake Telegram's chats hold.

mod common;

use async_trait::async_trait;
use common::{GROUP, TOKEN, WAIT, config, fake, run, text_of};
use hotline::RetryPolicy;
use hotline::core::store::{
    ArchiveId, ArchiveRecord, Archived, Commit, Conversation, DeadLetter, DeadLetterId,
    MessageLink, NewDeadLetter, SetAside,
};
use hotline::core::{
    Action, EventKey, MemoryStore, MessageId, Performed, Store, StoreError, Timestamp, TopicId,
    Transport, TransportError, UserId,
};
use hotline::telegram::{Hotline, Limits};
use hotline_testkit::{FakeTelegram, NewMessage, NewUser};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

const POISONED: i64 = 5000;

/// A store that can refuse every commit touching one user (a poison), or fail everything (an
/// outage), on a `MemoryStore` kept across restarts of the desk.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    poisoned: AtomicI64,
    down: AtomicBool,
    /// The archive alone refuses writes (`ARCHIVE`).
    archive_down: AtomicBool,
}

impl FlakyStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::backend("the database is unreachable")
                .caused_by(std::io::Error::other("connection refused")))
        } else {
            Ok(())
        }
    }

    fn touches_poisoned(&self, commit: &Commit) -> bool {
        let poisoned = self.poisoned.load(Ordering::SeqCst);
        poisoned != 0
            && (commit
                .conversation
                .as_ref()
                .is_some_and(|c| c.user.0 == poisoned)
                || commit.links.iter().any(|l| l.user.0 == poisoned)
                || commit
                    .processed
                    .as_ref()
                    .is_some_and(|k| k.chat == poisoned))
    }
}

#[async_trait]
impl Store for FlakyStore {
    async fn conversation(&self, user: UserId) -> Result<Option<Conversation>, StoreError> {
        self.check()?;
        self.inner.conversation(user).await
    }
    async fn conversation_by_topic(
        &self,
        topic: TopicId,
    ) -> Result<Option<Conversation>, StoreError> {
        self.check()?;
        self.inner.conversation_by_topic(topic).await
    }
    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        self.check()?;
        if self.touches_poisoned(&commit) {
            return Err(StoreError::backend("commit refused for this user"));
        }
        self.inner.commit(commit).await
    }
    async fn link_by_user_message(
        &self,
        user: UserId,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        self.check()?;
        self.inner.link_by_user_message(user, message).await
    }
    async fn link_by_topic_message(
        &self,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        self.check()?;
        self.inner.link_by_topic_message(message).await
    }
    async fn is_processed(&self, key: &EventKey) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.is_processed(key).await
    }
    async fn due_for_autoclose(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.check()?;
        self.inner.due_for_autoclose(before, limit).await
    }
    async fn set_aside(&self, letter: NewDeadLetter) -> Result<SetAside, StoreError> {
        self.check()?;
        self.inner.set_aside(letter).await
    }
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.check()?;
        self.inner.dead_letters(limit).await
    }
    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError> {
        self.check()?;
        self.inner.dead_letter(id).await
    }
    async fn dead_letter_by_key(&self, key: &str) -> Result<Option<DeadLetter>, StoreError> {
        self.check()?;
        self.inner.dead_letter_by_key(key).await
    }
    async fn remove_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.remove_dead_letter(id).await
    }

    async fn append_updates(
        &self,
        updates: Vec<hotline::core::Fetched>,
        received: hotline::core::Timestamp,
    ) -> Result<Vec<hotline::core::LogId>, StoreError> {
        self.inner.append_updates(updates, received).await
    }

    async fn logged_updates(
        &self,
        after: hotline::core::LogId,
        limit: usize,
    ) -> Result<Vec<hotline::core::Logged>, StoreError> {
        self.inner.logged_updates(after, limit).await
    }

    async fn log_head(&self) -> Result<hotline::core::LogHead, StoreError> {
        self.inner.log_head().await
    }

    async fn consumer(&self, name: &str) -> Result<Option<hotline::core::Consumer>, StoreError> {
        self.inner.consumer(name).await
    }

    async fn register_consumer(
        &self,
        name: &str,
        start: hotline::core::LogId,
    ) -> Result<hotline::core::Consumer, StoreError> {
        self.inner.register_consumer(name, start).await
    }

    async fn confirm_updates(
        &self,
        name: &str,
        upto: hotline::core::LogId,
    ) -> Result<(), StoreError> {
        self.inner.confirm_updates(name, upto).await
    }

    async fn save_consumer_settings(
        &self,
        name: &str,
        settings: Option<String>,
    ) -> Result<(), StoreError> {
        self.inner.save_consumer_settings(name, settings).await
    }

    async fn prune_updates(&self, expired: hotline::core::Timestamp) -> Result<u64, StoreError> {
        self.inner.prune_updates(expired).await
    }

    async fn archive_write(&self, records: Vec<ArchiveRecord>) -> Result<(), StoreError> {
        if self.archive_down.load(Ordering::SeqCst) {
            return Err(StoreError::backend("the archive's disk is full"));
        }
        self.inner.archive_write(records).await
    }

    async fn archived(
        &self,
        user: UserId,
        since: Timestamp,
        after: Option<ArchiveId>,
        limit: usize,
    ) -> Result<Vec<Archived>, StoreError> {
        self.inner.archived(user, since, after, limit).await
    }
}

/// A transport that panics on any copy out of one user's chat while `armed`.
struct PanicsOn {
    inner: Arc<dyn Transport>,
    user: i64,
    armed: Arc<AtomicBool>,
}

#[async_trait]
impl Transport for PanicsOn {
    async fn perform(&self, action: &Action) -> Result<Performed, TransportError> {
        if let Action::CopyToTopic { from, .. } = action
            && from.0 == self.user
            && self.armed.load(Ordering::SeqCst)
        {
            panic!("a transport bug on this user's message");
        }
        self.inner.perform(action).await
    }
}

/// A short update policy, so a poison is set aside in well under a second.
fn quick() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_millis(100), Duration::from_millis(200))
}

fn desk(tg: &FakeTelegram, store: Arc<FlakyStore>, armed: Option<Arc<AtomicBool>>) -> Hotline {
    let mut builder = Hotline::builder(TOKEN, config(&[("WELCOME", "OFF")]))
        .api_url(tg.api_url())
        .limits(Limits::off())
        .album_quiet(Duration::from_millis(200))
        .store(store)
        .update_retry(quick());
    if let Some(armed) = armed {
        builder = builder.transport_layer(move |inner| {
            Arc::new(PanicsOn {
                inner,
                user: POISONED,
                armed,
            })
        });
    }
    builder.build().expect("hotline")
}

fn say(tg: &FakeTelegram, user: i64, text: &str) -> i64 {
    tg.send_message(NewMessage::text(user, user, text))
        .expect("user message")["message_id"]
        .as_i64()
        .expect("message id")
}

/// The user's messages (texts) in their topic, as the operators see them.
fn topic_texts(tg: &FakeTelegram, store: &FlakyStore, user: i64) -> Vec<String> {
    let topic = topic_of(store, user);
    match topic {
        Some(topic) => tg
            .thread_messages(GROUP, topic)
            .iter()
            .filter(|m| {
                m.get("forum_topic_created").is_none() && m.get("forum_topic_edited").is_none()
            })
            .map(text_of)
            .collect(),
        None => Vec::new(),
    }
}

fn topic_of(store: &FlakyStore, user: i64) -> Option<i64> {
    store
        .inner
        .conversations()
        .into_iter()
        .find(|c| c.user.0 == user)
        .and_then(|c| c.topic)
        .map(|t| t.0)
}

async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn traffic(users: std::ops::Range<i64>, messages: std::ops::Range<i64>) -> Vec<(i64, String)> {
    let mut sent = Vec::new();
    for m in messages {
        for u in users.clone() {
            sent.push((u, format!("u{u} m{m}")));
        }
    }
    sent
}

/// Waits until every user's topic holds exactly their texts, in order.
async fn all_in_order(
    tg: &FakeTelegram,
    store: &FlakyStore,
    users: std::ops::Range<i64>,
    count: i64,
) {
    for u in users {
        let expected: Vec<String> = (0..count).map(|m| format!("u{u} m{m}")).collect();
        let seen = || topic_texts(tg, store, u);
        eventually(
            &format!("user {u}'s {count} messages (seen {:?})", seen()),
            || seen().len() >= expected.len(),
        )
        .await;
        assert_eq!(
            topic_texts(tg, store, u),
            expected,
            "user {u}: each once, in order"
        );
    }
}

fn copies_of(tg: &FakeTelegram, store: &FlakyStore, user: i64, text: &str) -> usize {
    topic_texts(tg, store, user)
        .iter()
        .filter(|t| *t == text)
        .count()
}

/// The poisoned user's stuck message, the 200 others' messages, the dead letter, the notice,
/// a restart that does not hand the letter over again, and the retry that relays it once.
async fn a_poison_is_set_aside_and_retried(armed: Option<Arc<AtomicBool>>) {
    let tg = fake().await;
    tg.add_user(NewUser::new(POISONED, "Pat"));
    for u in 1..=20 {
        tg.add_user(NewUser::new(u, &format!("User {u}")));
    }
    let store = Arc::new(FlakyStore::default());
    let running = run(tg.clone(), desk(&tg, store.clone(), armed.clone()));

    say(&tg, POISONED, "hello");
    eventually("Pat's topic", || {
        copies_of(&tg, &store, POISONED, "hello") == 1
    })
    .await;

    // Poisoned from now on: every commit for Pat fails (or the transport panics on Pat's copy).
    match &armed {
        Some(armed) => armed.store(true, Ordering::SeqCst),
        None => store.poisoned.store(POISONED, Ordering::SeqCst),
    }
    let stuck = say(&tg, POISONED, "stuck");
    for (user, text) in traffic(1..21, 0..10) {
        say(&tg, user, &text);
    }
    all_in_order(&tg, &store, 1..21, 10).await;

    eventually("the dead letter", || !block_on_letters(&store).is_empty()).await;
    let letters = block_on_letters(&store);
    assert_eq!(letters.len(), 1, "one update set aside: {letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.user, Some(UserId(POISONED)));
    assert_eq!(letter.attempts, 3, "set aside after its attempts");
    assert!(letter.payload.contains("stuck"), "{}", letter.payload);
    assert!(letter.payload.contains(&stuck.to_string()));
    let error = &letter.error;
    if armed.is_some() {
        assert!(
            error.contains("panicked") && error.contains("transport bug"),
            "{error}"
        );
    } else {
        assert!(error.contains("commit refused for this user"), "{error}");
    }
    let notice = format!("dead letter #{}", letter.id);
    eventually("the operators' notice", || {
        topic_texts(&tg, &store, POISONED)
            .iter()
            .any(|t| t.contains(&notice))
    })
    .await;
    // Healed; Pat's later messages go on.
    store.poisoned.store(0, Ordering::SeqCst);
    if let Some(armed) = &armed {
        armed.store(false, Ordering::SeqCst);
    }
    say(&tg, POISONED, "later");
    eventually("Pat's later message", || {
        copies_of(&tg, &store, POISONED, "later") == 1
    })
    .await;
    let before_restart = copies_of(&tg, &store, POISONED, "stuck");
    assert!(
        before_restart <= 1,
        "the stuck message was copied {before_restart} times"
    );
    running.stop().await;

    // A restart: the update is not handed to the desk again.
    let hotline = desk(&tg, store.clone(), None);
    let running = run(tg.clone(), hotline.clone());
    say(&tg, 1, "u1 m10");
    eventually("traffic after the restart", || {
        topic_texts(&tg, &store, 1).last().map(String::as_str) == Some("u1 m10")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(copies_of(&tg, &store, POISONED, "stuck"), before_restart);

    // The operator retries it: relayed once more, and the letter is gone. (A copy sent before
    // a commit that never landed is not known after a restart: Telegram has no idempotency
    // key, so the retry cannot tell it went out.)
    hotline.retry_dead_letter(letter.id).await.expect("retried");
    assert_eq!(
        copies_of(&tg, &store, POISONED, "stuck"),
        before_restart + 1
    );
    assert!(
        block_on_letters(&store).is_empty(),
        "handled: the letter is gone"
    );
    let again = hotline.retry_dead_letter(letter.id).await;
    assert!(again.is_err_and(|e| e.to_string().contains("does not exist")));
    assert_eq!(
        copies_of(&tg, &store, POISONED, "stuck"),
        before_restart + 1
    );
    let notices = topic_texts(&tg, &store, POISONED)
        .iter()
        .filter(|t| t.contains("dead letter #"))
        .count();
    assert_eq!(notices, 1, "the operators were told once");
    running.stop().await;
}

fn block_on_letters(store: &FlakyStore) -> Vec<DeadLetter> {
    futures_util::FutureExt::now_or_never(store.inner.dead_letters(100))
        .expect("a memory store answers at once")
        .expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_whose_commits_always_fail_is_set_aside_while_200_others_arrive_in_order() {
    a_poison_is_set_aside_and_retried(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_makes_the_transport_panic_is_set_aside_and_nothing_else_stops() {
    a_poison_is_set_aside_and_retried(Some(Arc::new(AtomicBool::new(false)))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_for_everyone_sets_nothing_aside_and_loses_nothing() {
    let tg = fake().await;
    for u in 1..=10 {
        tg.add_user(NewUser::new(u, &format!("User {u}")));
    }
    let store = Arc::new(FlakyStore::default());
    let running = run(tg.clone(), desk(&tg, store.clone(), None));
    for (user, text) in traffic(1..11, 0..5) {
        say(&tg, user, &text);
    }
    all_in_order(&tg, &store, 1..11, 5).await;

    store.down.store(true, Ordering::SeqCst);
    for (user, text) in traffic(1..11, 5..10) {
        say(&tg, user, &text);
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        topic_texts(&tg, &store, 1).len(),
        5,
        "nothing goes through while the store is down"
    );
    store.down.store(false, Ordering::SeqCst);

    all_in_order(&tg, &store, 1..11, 10).await;
    assert!(
        block_on_letters(&store).is_empty(),
        "an outage is nobody's poison"
    );
    running.stop().await;
    for u in 1..11 {
        assert_eq!(
            topic_texts(&tg, &store, u).len(),
            10,
            "user {u}: nothing twice"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_that_fails_to_write_never_fails_a_relay() {
    let tg = fake().await;
    let store = Arc::new(FlakyStore::default());
    store.archive_down.store(true, Ordering::SeqCst);
    let hotline = Hotline::builder(TOKEN, config(&[("WELCOME", "OFF"), ("ARCHIVE", "true")]))
        .api_url(tg.api_url())
        .limits(Limits::off())
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .update_retry(quick())
        .build()
        .expect("hotline");
    let d = run(tg, hotline);
    let ann = 1001;
    d.tg.add_user(NewUser::new(ann, "Ann"));
    let sent: Vec<String> = (1..=3).map(|n| format!("message {n}")).collect();
    for text in &sent {
        say(&d.tg, ann, text);
    }
    eventually("the three messages in the topic", || {
        topic_texts(&d.tg, &store, ann) == sent
    })
    .await;
    let topic = topic_of(&store, ann).expect("a topic");
    let answer = d.operator_says(topic, "an answer")["message_id"]
        .as_i64()
        .expect("an id");
    d.wait_user_sees(ann, "an answer").await;
    // The user sees the copy before the desk has finished with the answer (its archive
    // write, then the commit with its link): wait for the link before the archive comes back.
    let deadline = tokio::time::Instant::now() + WAIT;
    while store
        .link_by_topic_message(MessageId(answer))
        .await
        .expect("a link")
        .is_none()
    {
        assert!(tokio::time::Instant::now() < deadline, "the answer's link");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    store.archive_down.store(false, Ordering::SeqCst);
    say(&d.tg, ann, "message 4");
    eventually("the fourth message in the topic", || {
        topic_texts(&d.tg, &store, ann).len() == 4
    })
    .await;
    // The record is written just after the copy the topic shows.
    let deadline = tokio::time::Instant::now() + WAIT;
    let archived = loop {
        let archived = store
            .archived(UserId(ann), Timestamp(0), None, 100)
            .await
            .expect("archived");
        if !archived.is_empty() || tokio::time::Instant::now() > deadline {
            break archived;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let texts: Vec<Option<String>> = archived.into_iter().map(|a| a.record.text).collect();
    assert_eq!(
        texts,
        vec![Some("message 4".to_owned())],
        "what the archive refused is not archived, what came after is"
    );
    let letters = store.inner.dead_letters(100).await.expect("dead letters");
    assert!(letters.is_empty(), "nothing was set aside: {letters:?}");
    d.stop().await;
}
