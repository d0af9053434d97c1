//! Shared by the integration tests: PostgreSQL schemas of their own, and a full desk run.

#![allow(dead_code, unreachable_pub)]

use hotline_core::{ChatId, Config, Desk, Event, MemoryTransport, Store, UserId, UserProfile};
use std::sync::Arc;

#[cfg(feature = "postgres")]
/// The server the tests use: `DATABASE_URL`, or the one `.ci/run` sets.
pub fn pg_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

#[cfg(feature = "postgres")]
/// A schema name no other test (in this or another process) uses.
pub fn unique_schema(tag: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "hotline_test_{tag}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(feature = "postgres")]
/// Fails (never skips) when no PostgreSQL answers, saying how to get one.
pub async fn require_postgres() {
    let url = pg_url();
    use sqlx::Connection;
    let attempt = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sqlx::PgConnection::connect(&url),
    )
    .await;
    let failure = match attempt {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            return;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 10 s".to_owned(),
    };
    {
        let e = failure;
        panic!(
            "PostgreSQL is not reachable at DATABASE_URL ({e}).\n\
             These tests need a real server. Start one, e.g.\n  \
             pg_ctlcluster 15 main start    (Debian/Ubuntu package)\n  \
             docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16\n\
             and set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (the default)."
        );
    }
}

#[cfg(feature = "postgres")]
/// A schema of the test's own; dropped when this is dropped (also when the test panics).
pub struct TestSchema {
    pub name: String,
}

#[cfg(feature = "postgres")]
impl TestSchema {
    pub async fn new(tag: &str) -> Self {
        require_postgres().await;
        Self {
            name: unique_schema(tag),
        }
    }

    /// A store on this schema with small pools (many tests share one server).
    pub async fn store(&self) -> hotline_store_sql::PgStore {
        hotline_store_sql::PgOptions::new(pg_url())
            .schema(&self.name)
            .max_connections(4)
            .max_claims(8)
            .connect()
            .await
            .expect("connecting to PostgreSQL")
    }
}

#[cfg(feature = "postgres")]
impl Drop for TestSchema {
    fn drop(&mut self) {
        let name = self.name.clone();
        // A runtime of its own: the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(pool) = sqlx::PgPool::connect(&pg_url()).await {
                    let drop = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

pub const GROUP: ChatId = ChatId(-1_001_234_567_890);

/// 50 users × 10 messages through `Desk::dispatch` (interleaved across users): exactly 50
/// topics, each holding its user's messages in order, and the store agrees.
pub async fn full_desk_run(store: Arc<dyn Store>) {
    const USERS: i64 = 50;
    const MESSAGES: usize = 10;
    let telegram = Arc::new(MemoryTransport::new());
    let config = Config::builder(GROUP).build().expect("config");
    let desk = Desk::builder(config, store.clone(), telegram.clone()).build();
    let mut tickets = Vec::new();
    for m in 0..MESSAGES {
        for u in 1..=USERS {
            let user = UserId(1000 + u);
            let message = telegram.user_writes(user, &format!("user {u} message {m}"));
            let profile = UserProfile::new(user, format!("User {u}"));
            tickets.push(desk.dispatch(Event::UserMessage {
                user: profile,
                message,
            }));
        }
    }
    for ticket in tickets {
        ticket.await.expect("every event is handled");
    }
    assert_eq!(
        telegram.topics(GROUP).len(),
        USERS as usize,
        "exactly one topic per user"
    );
    for u in 1..=USERS {
        let user = UserId(1000 + u);
        let conversation = store
            .conversation(user)
            .await
            .expect("read")
            .expect("the user is known");
        let topic = conversation.topic.expect("the user has a topic");
        let expected: Vec<String> = (0..MESSAGES)
            .map(|m| format!("user {u} message {m}"))
            .collect();
        assert_eq!(
            telegram.topic_texts(GROUP, topic),
            expected,
            "user {u}'s messages, in order"
        );
        assert_eq!(
            store
                .conversation_by_topic(topic)
                .await
                .expect("read")
                .map(|c| c.user),
            Some(user)
        );
    }
}

/// A commit holding everything at once (conversation, several links, a key) lands whole; core's
/// suite commits the parts separately.
pub async fn a_full_commit_lands(store: &dyn Store) {
    use hotline_core::store::{Commit, Conversation, MessageLink, Origin, Status};
    use hotline_core::{EventKey, EventKind, MessageId, Timestamp, TopicId};
    let mut conversation = Conversation::new(
        UserProfile::new(77, "Zoë").with_language("de"),
        Timestamp(1_700_000_123),
    );
    conversation.topic = Some(TopicId(770));
    conversation.status = Status::SupportAnswered;
    conversation.pending = vec![MessageId(1), MessageId(2)];
    conversation.topic_name = Some("🟨 Zoë".into());
    let links: Vec<MessageLink> = (1..=3)
        .map(|i| MessageLink {
            user: UserId(77),
            user_message: MessageId(i),
            topic_message: MessageId(7_700 + i),
            origin: if i == 2 {
                Origin::Operator
            } else {
                Origin::User
            },
        })
        .collect();
    let key = EventKey {
        kind: EventKind::OperatorEdit,
        chat: -100,
        message: 9,
        version: 1_700_000_124,
    };
    store
        .commit(Commit {
            conversation: Some(conversation.clone()),
            links: links.clone(),
            processed: Some(key),
        })
        .await
        .expect("commit");
    assert_eq!(
        store.conversation(UserId(77)).await.expect("read"),
        Some(conversation)
    );
    for link in &links {
        assert_eq!(
            store
                .link_by_user_message(link.user, link.user_message)
                .await
                .expect("read"),
            Some(*link)
        );
        assert_eq!(
            store
                .link_by_topic_message(link.topic_message)
                .await
                .expect("read"),
            Some(*link)
        );
    }
    assert!(
        store.is_processed(&key).await.expect("read"),
        "the key landed"
    );
    // A link that clashes on both sides replaces both old ones.
    let moved = MessageLink {
        user: UserId(77),
        user_message: MessageId(1),
        topic_message: MessageId(7_702),
        origin: Origin::Host,
    };
    store
        .commit(Commit {
            links: vec![moved],
            ..Commit::default()
        })
        .await
        .expect("commit");
    assert_eq!(
        store
            .link_by_user_message(UserId(77), MessageId(1))
            .await
            .expect("read"),
        Some(moved)
    );
    assert_eq!(
        store
            .link_by_topic_message(MessageId(7_702))
            .await
            .expect("read"),
        Some(moved)
    );
    assert_eq!(
        store
            .link_by_user_message(UserId(77), MessageId(2))
            .await
            .expect("read"),
        None,
        "the link it displaced on the topic side is gone"
    );
}

/// An update set aside: `attempts` attempts failed between `first` and `last`.
pub fn dead_letter(
    key: &str,
    user: Option<i64>,
    attempts: u32,
    first: i64,
    last: i64,
) -> hotline_core::store::NewDeadLetter {
    hotline_core::store::NewDeadLetter {
        key: key.to_owned(),
        user: user.map(UserId),
        payload: format!(r#"{{"update_id":{first},"key":"{key}","text":"ünï 'q' \"d\""}}"#),
        error: format!("store backend failed: attempt {attempts} at {last}"),
        attempts,
        first_failed: hotline_core::Timestamp(first),
        last_failed: hotline_core::Timestamp(last),
    }
}

/// The same letters set aside in `store` and in a `MemoryStore` (the reference for
/// `DeadLetter::absorb`) end up as the same records: failures out of order, a user learnt
/// late, changed, then not repeated, attempts that saturate at `u32::MAX`.
pub async fn dead_letters_absorb_like_the_memory_store(store: &dyn Store) {
    let reference = hotline_core::MemoryStore::new();
    let letters = [
        dead_letter("telegram:1", None, 3, 500, 600),
        dead_letter("telegram:2", Some(8), 1, 10, 10),
        // Earlier first failure and earlier last failure: first moves, last stays.
        dead_letter("telegram:1", None, 2, 400, 450),
        // The user becomes known.
        dead_letter("telegram:1", Some(5), 1, 700, 700),
        // Another user: replaced.
        dead_letter("telegram:1", Some(6), 1, 800, 800),
        // No user: the known one stays.
        dead_letter("telegram:1", None, 1, 900, 900),
        dead_letter("telegram:2", None, u32::MAX - 1, 20, 20),
        // Saturates instead of overflowing.
        dead_letter("telegram:2", None, 5, 30, 30),
        dead_letter("telegram:3", None, 0, 40, 40),
    ];
    for letter in letters {
        let kept = store.set_aside(letter.clone()).await.expect("set aside");
        let expected = reference.set_aside(letter).await.expect("set aside");
        assert_eq!(kept.created, expected.created);
    }
    let kept = store.dead_letters(100).await.expect("list");
    let expected = reference.dead_letters(100).await.expect("list");
    let without_ids = |letters: Vec<hotline_core::store::DeadLetter>| {
        letters
            .into_iter()
            .map(|mut d| {
                d.id = hotline_core::store::DeadLetterId(0);
                d
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(without_ids(kept.clone()), without_ids(expected));
    assert_eq!(kept[0].user, Some(UserId(6)));
    assert_eq!(kept[0].attempts, 8);
    assert_eq!((kept[0].first_failed.0, kept[0].last_failed.0), (400, 900));
    assert_eq!(kept[1].attempts, u32::MAX, "attempts saturate");
    assert_eq!(kept[2].attempts, 0);
    assert!(
        store.dead_letters(0).await.expect("list").is_empty(),
        "limit 0"
    );
    assert_eq!(
        store
            .dead_letter(hotline_core::store::DeadLetterId(i64::MAX))
            .await
            .expect("read"),
        None
    );
    assert!(
        !store
            .remove_dead_letter(hotline_core::store::DeadLetterId(-1))
            .await
            .expect("remove")
    );
}

/// Two stores on one database (two processes) set the same updates aside at the same moment:
/// one record per key, reported as new exactly once, every attempt counted.
pub async fn concurrent_set_asides_make_one_record_per_key(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    const KEYS: i64 = 20;
    const ROUNDS: i64 = 5;
    let mut tasks = Vec::new();
    for round in 0..ROUNDS {
        for key in 0..KEYS {
            for store in [&a, &b] {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let letter = dead_letter(
                        &format!("telegram:{key}"),
                        Some(key),
                        1,
                        1_000 + round,
                        2_000 + round,
                    );
                    (key, store.set_aside(letter).await.expect("set aside"))
                }));
            }
        }
    }
    let mut ids = vec![Vec::new(); KEYS as usize];
    let mut created = vec![0; KEYS as usize];
    for task in tasks {
        let (key, set) = task.await.expect("task");
        ids[key as usize].push(set.id);
        created[key as usize] += usize::from(set.created);
    }
    for key in 0..KEYS {
        let i = key as usize;
        assert_eq!(created[i], 1, "key {key}: reported new exactly once");
        assert!(
            ids[i].iter().all(|id| *id == ids[i][0]),
            "key {key}: one record, got {:?}",
            ids[i]
        );
        let kept = a
            .dead_letter_by_key(&format!("telegram:{key}"))
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(kept.id, ids[i][0]);
        assert_eq!(kept.attempts, 2 * ROUNDS as u32, "key {key}: every attempt");
        assert_eq!(
            (kept.first_failed.0, kept.last_failed.0),
            (1_000, 2_000 + ROUNDS - 1)
        );
    }
    assert_eq!(
        b.dead_letters(1_000).await.expect("list").len(),
        KEYS as usize
    );
}

/// An update fetched upstream, its payload naming its id (and carrying quotes and non-ASCII,
/// to be read back byte for byte).
pub fn fetched(upstream_id: i64) -> hotline_core::store::Fetched {
    hotline_core::store::Fetched {
        upstream_id,
        payload: format!(r#"{{"update_id":{upstream_id},"message":{{"text":"n° 'x' \"y\""}}}}"#),
    }
}

/// What the conformance suite leaves out: an upstream id given twice in one batch is logged
/// once (the second gets the first's id), and a batch larger than one statement's worth of
/// rows lands whole, in order.
pub async fn the_update_log_takes_repeats_and_large_batches(store: &dyn Store) {
    use hotline_core::store::LogId;
    let ids = store
        .append_updates(
            vec![fetched(1), fetched(2), fetched(1), fetched(3), fetched(2)],
            hotline_core::Timestamp(5),
        )
        .await
        .expect("append");
    assert_eq!(ids, [LogId(1), LogId(2), LogId(1), LogId(3), LogId(2)]);
    let head = store.log_head().await.expect("head");
    assert_eq!((head.last_id, head.last_upstream_id), (LogId(3), Some(3)));
    // Already logged ones only: the head stays where it is.
    let ids = store
        .append_updates(vec![fetched(3), fetched(1)], hotline_core::Timestamp(6))
        .await
        .expect("append");
    assert_eq!(ids, [LogId(3), LogId(1)]);
    assert_eq!(store.log_head().await.expect("head"), head);
    let many: Vec<_> = (1_000..1_450).map(fetched).collect();
    let ids = store
        .append_updates(many.clone(), hotline_core::Timestamp(7))
        .await
        .expect("append 450");
    assert_eq!(ids, (4..454).map(LogId).collect::<Vec<_>>());
    let logged = store.logged_updates(LogId(3), 1_000).await.expect("read");
    assert_eq!(logged.len(), 450);
    for (logged, given) in logged.iter().zip(&many) {
        assert_eq!(
            (logged.upstream_id, logged.payload.as_str()),
            (given.upstream_id, given.payload.as_str())
        );
    }
    let head = store.log_head().await.expect("head");
    assert_eq!(
        (head.last_id, head.last_upstream_id),
        (LogId(453), Some(1_449))
    );
}

/// For a store whose head the caller moved to `LogId::MAX - 1`: a batch that would pass
/// `LogId::MAX` is refused whole, one that reaches it lands, and then only repeats do.
pub async fn appends_past_the_last_id_are_refused(store: &dyn Store) {
    use hotline_core::store::LogId;
    use hotline_core::{StoreError, Timestamp};
    let before = store.log_head().await.expect("head");
    assert_eq!(before.last_id, LogId(LogId::MAX.0 - 1));
    let refused = store
        .append_updates(vec![fetched(1), fetched(2)], Timestamp(1))
        .await
        .expect_err("two more ids do not fit");
    assert!(matches!(refused, StoreError::Backend { .. }), "{refused:?}");
    assert_eq!(
        store.log_head().await.expect("head"),
        before,
        "a refused batch writes nothing"
    );
    assert!(
        store
            .logged_updates(LogId::ZERO, 10)
            .await
            .expect("read")
            .is_empty()
    );
    let ids = store
        .append_updates(vec![fetched(1), fetched(1)], Timestamp(1))
        .await
        .expect("the last id fits");
    assert_eq!(ids, [LogId::MAX, LogId::MAX]);
    let ids = store
        .append_updates(vec![fetched(1)], Timestamp(2))
        .await
        .expect("a repeat takes no id");
    assert_eq!(ids, [LogId::MAX]);
    let full = store
        .append_updates(vec![fetched(1), fetched(3)], Timestamp(2))
        .await
        .expect_err("no id left");
    assert!(matches!(full, StoreError::Backend { .. }), "{full:?}");
    let head = store.log_head().await.expect("head");
    assert_eq!((head.last_id, head.last_upstream_id), (LogId::MAX, Some(1)));
}

/// Two stores on one database (two gateway replicas) append 50 batches each at once, every
/// batch in a task of its own. With `same`, both append the same upstream ids; otherwise each
/// its own. Every upstream id is logged once, the ids are 1..=N with no gap, a batch's new
/// updates get consecutive ids, and both sides were told the same id for an update.
pub async fn concurrent_appends_log_each_update_once(
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
    same: bool,
) {
    use hotline_core::store::LogId;
    use std::collections::{BTreeMap, BTreeSet};
    const BATCHES: i64 = 50;
    const PER_BATCH: i64 = 10;
    let mut tasks = Vec::new();
    for (side, store) in [(1, &a), (2, &b)] {
        for batch in 0..BATCHES {
            let store = store.clone();
            let base = if same { 0 } else { side * 1_000_000 } + batch * PER_BATCH;
            tasks.push(tokio::spawn(async move {
                let given: Vec<i64> = (base..base + PER_BATCH).collect();
                let ids = store
                    .append_updates(
                        given.iter().copied().map(fetched).collect(),
                        hotline_core::Timestamp(100),
                    )
                    .await
                    .expect("append");
                (given, ids)
            }));
        }
    }
    let mut told: BTreeMap<i64, BTreeSet<LogId>> = BTreeMap::new();
    for task in tasks {
        let (given, ids) = task.await.expect("task");
        assert_eq!(ids.len(), given.len());
        // (With `same`, a batch is either new to the log whole or logged whole already.)
        assert!(
            ids.windows(2).all(|w| w[1].0 == w[0].0 + 1),
            "a batch's updates get consecutive ids: {ids:?}"
        );
        for (upstream, id) in given.into_iter().zip(ids) {
            told.entry(upstream).or_default().insert(id);
        }
    }
    let distinct = if same {
        BATCHES * PER_BATCH
    } else {
        2 * BATCHES * PER_BATCH
    };
    assert_eq!(told.len() as i64, distinct);
    for (upstream, ids) in &told {
        assert_eq!(
            ids.len(),
            1,
            "upstream {upstream}: one id for everyone, got {ids:?}"
        );
    }
    let logged = a.logged_updates(LogId::ZERO, 10_000).await.expect("read");
    assert_eq!(
        logged.iter().map(|l| l.id).collect::<Vec<_>>(),
        (1..=distinct).map(LogId).collect::<Vec<_>>(),
        "ids 1..=N, no gap"
    );
    let upstreams: BTreeSet<i64> = logged.iter().map(|l| l.upstream_id).collect();
    assert_eq!(upstreams.len() as i64, distinct, "each update logged once");
    for l in &logged {
        assert_eq!(
            told[&l.upstream_id].first(),
            Some(&l.id),
            "told what was logged"
        );
    }
    let head = b.log_head().await.expect("head");
    assert_eq!(head.last_id, LogId(distinct));
    assert_eq!(
        head.last_upstream_id,
        logged.last().map(|l| l.upstream_id),
        "the head names the last update appended"
    );
}
