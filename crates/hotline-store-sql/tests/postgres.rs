//! `PgStore` against a real PostgreSQL (`DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`): conformance, claims across processes, the unique
//! topic constraint under races, a full desk run. Never skipped: no server is a failure.

mod common;

use common::{TestSchema, pg_url};
use hotline_core::store::{Commit, Conversation, Status, conformance};
use hotline_core::{
    Config, Desk, Event, MemoryTransport, Store, StoreError, Timestamp, TopicId, UserId,
    UserProfile,
};
use hotline_store_sql::{PgOptions, PgStore};
use sqlx::Connection;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let schemas: Mutex<Vec<TestSchema>> = Mutex::new(Vec::new());
    let schemas = &schemas;
    conformance::run(|| async move {
        let schema = TestSchema::new("conformance").await;
        let store = schema.store().await;
        schemas.lock().expect("lock").push(schema);
        store
    })
    .await;
}

#[tokio::test]
async fn a_full_commit_lands() {
    let schema = TestSchema::new("full_commit").await;
    common::a_full_commit_lands(&schema.store().await).await;
}

#[tokio::test]
async fn migrations_run_once_and_reconnecting_keeps_the_data() {
    let schema = TestSchema::new("reconnect").await;
    let store = schema.store().await;
    let c = open_conversation(5, 50);
    store
        .commit(Commit {
            conversation: Some(c.clone()),
            ..Commit::default()
        })
        .await
        .expect("commit");
    store.close().await;
    let again = schema.store().await;
    assert_eq!(again.conversation(UserId(5)).await.expect("read"), Some(c));
    let pool = sqlx::PgPool::connect(&pg_url()).await.expect("connect");
    let applied: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\"._sqlx_migrations",
        schema.name
    )))
    .fetch_one(&pool)
    .await
    .expect("count");
    let embedded = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .expect("migrations")
        .count() as i64;
    assert_eq!(applied, embedded, "every migration, applied once");
}

#[tokio::test]
async fn errors_never_show_the_password() {
    let secret = "Sup3rS3cretPassw0rd";
    for url in [
        format!("postgres://postgres:{secret}@127.0.0.1:1/test"),
        format!("postgres://postgres:{secret}@127.0.0.1:notaport/test"),
        format!("postgres://postgres@127.0.0.1:1/test?password={secret}"),
    ] {
        let options = PgOptions::new(url.clone()).acquire_timeout(Duration::from_secs(2));
        assert!(
            !format!("{options:?}").contains(secret),
            "Debug of the options shows the password"
        );
        let error = options.connect().await.expect_err("nothing listens there");
        let text = format!(
            "{error} / {error:?} / {}",
            hotline_core::error_chain(&error)
        );
        assert!(!text.contains(secret), "the password leaked: {text}");
        assert!(matches!(error, StoreError::Backend { .. }), "{text}");
        assert!(
            std::error::Error::source(&error).is_none(),
            "a connection error carries no unredacted source: {text}"
        );
    }
}

#[tokio::test]
async fn a_schema_name_is_checked_before_use() {
    let error = PgStore::connect_with_schema(&pg_url(), "x\"; DROP TABLE y; --")
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("invalid schema name"), "{error}");
}

/// The store's connections are reused after a read whose future was dropped half-way (its
/// answer must never be taken for the next query's) and after a commit the server refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_reads_and_refused_commits_leave_connections_usable() {
    let schema = TestSchema::new("lease").await;
    let store = PgOptions::new(pg_url())
        .schema(&schema.name)
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect");
    let first = open_conversation(1, 100);
    let second = open_conversation(2, 200);
    for c in [&first, &second] {
        store
            .commit(Commit {
                conversation: Some(c.clone()),
                ..Commit::default()
            })
            .await
            .expect("commit");
    }
    // Another session locks the table: reads wait on the server until it lets go.
    let mut locker = sqlx::PgConnection::connect_with(
        &pg_url()
            .parse::<sqlx::postgres::PgConnectOptions>()
            .expect("url")
            .options([("search_path", schema.name.as_str())]),
    )
    .await
    .expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut locker)
        .await
        .expect("begin");
    sqlx::query("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .expect("lock");
    for round in 0..3 {
        // Sent, then dropped before the answer arrives.
        let interrupted =
            tokio::time::timeout(Duration::from_millis(100), store.conversation(UserId(1))).await;
        assert!(interrupted.is_err(), "round {round}: {interrupted:?}");
    }
    sqlx::query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("unlock");
    for round in 0..3 {
        assert_eq!(
            store.conversation(UserId(2)).await.expect("read"),
            Some(second.clone()),
            "round {round}"
        );
    }
    let refused = store
        .commit(Commit {
            conversation: Some(open_conversation(3, 100)),
            ..Commit::default()
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    assert_eq!(
        store.conversation(UserId(1)).await.expect("read"),
        Some(first)
    );
    assert_eq!(store.conversation(UserId(3)).await.expect("read"), None);
    store.close().await;
    assert!(store.conversation(UserId(1)).await.is_err(), "closed");
}

fn open_conversation(user: i64, topic: i64) -> Conversation {
    let mut c = Conversation::new(UserProfile::new(user, "U"), Timestamp(0));
    c.topic = Some(TopicId(topic));
    c.status = Status::UserAnswered;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_excludes_other_processes_until_dropped() {
    let schema = TestSchema::new("claim").await;
    let first = schema.store().await;
    let second = schema.store().await; // another pool: another "process"
    let held = first.claim_user(UserId(7)).await.expect("claim");

    let waiting = {
        let second = second.clone();
        tokio::spawn(async move { second.claim_user(UserId(7)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a second claim of the same user waits while the first is held"
    );
    // Another user is not held up.
    let other = tokio::time::timeout(Duration::from_secs(5), second.claim_user(UserId(8)))
        .await
        .expect("another user is claimed at once")
        .expect("claim");
    drop(other);

    drop(held);
    let claimed = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("dropping the first claim lets the second through")
        .expect("task")
        .expect("claim");
    drop(claimed);

    // Every claim released: the lock table drains (unlocks run on the runtime).
    let pool = sqlx::PgPool::connect(&pg_url()).await.expect("connect");
    let mut own = i64::MAX;
    for _ in 0..100 {
        own = count_claims_of(&pool, &first).await;
        if own == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(own, 0, "no claim is left behind");
}

/// How many advisory locks of `store`'s claim class are held (by any session).
async fn count_claims_of(pool: &sqlx::PgPool, store: &PgStore) -> i64 {
    let class = i64::from(u32::from_ne_bytes(store.claim_class().to_ne_bytes()));
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND objsubid = 2 AND classid::bigint = $1",
    )
    .bind(class)
    .fetch_one(pool)
    .await
    .expect("pg_locks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_claim_does_not_leak_the_lock() {
    let schema = TestSchema::new("cancel").await;
    let first = schema.store().await;
    let second = schema.store().await;
    let held = first.claim_user(UserId(9)).await.expect("claim");
    let waiting = {
        let second = second.clone();
        tokio::spawn(async move { second.claim_user(UserId(9)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    waiting.abort(); // cancelled while PostgreSQL still queues its lock request
    let _ = waiting.await;
    drop(held);
    let claimed = tokio::time::timeout(Duration::from_secs(10), first.claim_user(UserId(9)))
        .await
        .expect("the user can be claimed again: nothing leaked")
        .expect("claim");
    drop(claimed);
    let again = tokio::time::timeout(Duration::from_secs(10), second.claim_user(UserId(9)))
        .await
        .expect("also from the other process")
        .expect("claim");
    drop(again);
}

/// Two processes (two pools) race to open a topic for each of 200 users: under the claim, the
/// second always finds the first one's topic, so exactly one topic is ever created per user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_serialise_two_processes_opening_topics_for_200_users() {
    let schema = TestSchema::new("race").await;
    let stores = [schema.store().await, schema.store().await];
    let next_topic = Arc::new(AtomicI64::new(1));
    let mut tasks = Vec::new();
    for user in 1..=200_i64 {
        for store in &stores {
            let store = store.clone();
            let next_topic = next_topic.clone();
            tasks.push(tokio::spawn(async move {
                let _claim = store.claim_user(UserId(user)).await.expect("claim");
                let found = store.conversation(UserId(user)).await.expect("read");
                if found.as_ref().and_then(|c| c.topic).is_none() {
                    // "createForumTopic": each call makes a new topic.
                    let topic = next_topic.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    store
                        .commit(Commit {
                            conversation: Some(open_conversation(user, topic)),
                            ..Commit::default()
                        })
                        .await
                        .expect("commit");
                }
            }));
        }
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(
        next_topic.load(Ordering::SeqCst) - 1,
        200,
        "exactly one topic created per user"
    );
    for user in 1..=200_i64 {
        let c = stores[0]
            .conversation(UserId(user))
            .await
            .expect("read")
            .expect("known");
        let topic = c.topic.expect("topic");
        assert_eq!(
            stores[1]
                .conversation_by_topic(topic)
                .await
                .expect("read")
                .map(|c| c.user),
            Some(UserId(user))
        );
    }
}

/// The backstop: without claims, two processes giving one topic to two users at once; the
/// unique constraint lets exactly one through and the other commit leaves no trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unique_topic_constraint_holds_under_concurrent_commits() {
    let schema = TestSchema::new("unique").await;
    let stores = [schema.store().await, schema.store().await];
    let mut tasks = Vec::new();
    for pair in 0..200_i64 {
        for (side, store) in stores.iter().enumerate() {
            let store = store.clone();
            let user = pair * 2 + side as i64 + 1;
            tasks.push(tokio::spawn(async move {
                let result = store
                    .commit(Commit {
                        conversation: Some(open_conversation(user, 10_000 + pair)),
                        ..Commit::default()
                    })
                    .await;
                (pair, user, result)
            }));
        }
    }
    let mut winners = vec![Vec::new(); 200];
    for task in tasks {
        let (pair, user, result) = task.await.expect("task");
        match result {
            Ok(()) => winners[pair as usize].push(user),
            Err(StoreError::Conflict { message, .. }) => {
                assert!(message.contains("already belongs"), "{message}");
                assert_eq!(
                    stores[0].conversation(UserId(user)).await.expect("read"),
                    None,
                    "a refused commit leaves nothing"
                );
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    for (pair, users) in winners.iter().enumerate() {
        assert_eq!(
            users.len(),
            1,
            "topic {pair}: exactly one owner, got {users:?}"
        );
        let owner = stores[1]
            .conversation_by_topic(TopicId(10_000 + pair as i64))
            .await
            .expect("read")
            .map(|c| c.user);
        assert_eq!(owner, Some(UserId(users[0])));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_desk_run() {
    let schema = TestSchema::new("desk").await;
    common::full_desk_run(Arc::new(schema.store().await)).await;
}

/// Two desks (replicas) on one PostgreSQL, one Telegram: each user's first two messages reach
/// both replicas at once, the rest alternate between them one after the other. One topic per
/// user, every message relayed once, and the sequential ones in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_desks_share_one_database() {
    let schema = TestSchema::new("replicas").await;
    let telegram = Arc::new(MemoryTransport::new());
    let config = Config::builder(common::GROUP).build().expect("config");
    let desks = [
        Desk::builder(
            config.clone(),
            Arc::new(schema.store().await),
            telegram.clone(),
        )
        .build(),
        Desk::builder(config, Arc::new(schema.store().await), telegram.clone()).build(),
    ];
    const USERS: i64 = 100;
    let mut tasks = Vec::new();
    for u in 1..=USERS {
        let desks = desks.clone();
        let telegram = telegram.clone();
        tasks.push(tokio::spawn(async move {
            let user = UserId(5000 + u);
            let profile = UserProfile::new(user, format!("User {u}"));
            let event = |text: String| Event::UserMessage {
                user: profile.clone(),
                message: telegram.user_writes(user, &text),
            };
            let (a, b) = tokio::join!(
                desks[0].handle(event(format!("u{u} first"))),
                desks[1].handle(event(format!("u{u} second"))),
            );
            a.expect("handled");
            b.expect("handled");
            for m in 2..8 {
                desks[m % 2]
                    .handle(event(format!("u{u} m{m}")))
                    .await
                    .expect("handled");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let topics = telegram.topics(common::GROUP);
    assert_eq!(topics.len(), USERS as usize, "one topic per user");
    let store = desks[0].store();
    for u in 1..=USERS {
        let topic = store
            .conversation(UserId(5000 + u))
            .await
            .expect("read")
            .and_then(|c| c.topic)
            .expect("topic");
        let texts = telegram.topic_texts(common::GROUP, topic);
        assert_eq!(texts.len(), 8, "every message once: {texts:?}");
        let mut first_two = texts[..2].to_vec();
        first_two.sort();
        assert_eq!(first_two, [format!("u{u} first"), format!("u{u} second")]);
        let rest: Vec<String> = (2..8).map(|m| format!("u{u} m{m}")).collect();
        assert_eq!(texts[2..], rest[..], "in order");
    }
}

#[tokio::test]
async fn dead_letters_absorb_like_the_memory_store() {
    let schema = TestSchema::new("dead_absorb").await;
    common::dead_letters_absorb_like_the_memory_store(&schema.store().await).await;
}

/// Two processes (two stores on one schema) set the same updates aside at the same moment: the
/// single-statement upsert keeps one record per key and reports it new once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_set_asides_make_one_record_per_key() {
    let schema = TestSchema::new("dead_race").await;
    common::concurrent_set_asides_make_one_record_per_key(
        Arc::new(schema.store().await),
        Arc::new(schema.store().await),
    )
    .await;
}

/// A schema created before dead letters existed (migrations 0001 and 0002, with data in it)
/// upgrades when a store connects: the new migration adds the table and the data stays.
#[tokio::test]
async fn a_schema_from_before_dead_letters_upgrades() {
    let schema = TestSchema::new("upgrade").await;
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["0001_initial.sql", "0002_commit_function.sql"] {
        std::fs::copy(
            format!("{}/migrations/postgres/{name}", env!("CARGO_MANIFEST_DIR")),
            dir.path().join(name),
        )
        .expect("copy an old migration");
    }
    {
        let admin = sqlx::PgPool::connect(&pg_url()).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA \"{}\"",
            schema.name
        )))
        .execute(&admin)
        .await
        .expect("create the schema");
        admin.close().await;
        let old = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(
                pg_url()
                    .parse::<sqlx::postgres::PgConnectOptions>()
                    .expect("url")
                    .options([("search_path", schema.name.as_str())]),
            )
            .await
            .expect("connect");
        sqlx::migrate::Migrator::new(dir.path())
            .await
            .expect("the old migrations")
            .run(&old)
            .await
            .expect("migrate to 0002");
        sqlx::query(
            "INSERT INTO conversations (user_id, topic_id, status, status_since, blocked, \
             banned, first_name, welcome_pending) \
             VALUES (7, 70, 'support_answered', 1700000000, false, false, 'Ann', false)",
        )
        .execute(&old)
        .await
        .expect("old data");
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = $1 AND table_name = 'dead_letters'",
        )
        .bind(&schema.name)
        .fetch_one(&old)
        .await
        .expect("count");
        assert_eq!(tables, 0, "0001 and 0002 have no dead letters");
        old.close().await;
    }
    let store = schema.store().await;
    let kept = store
        .conversation(UserId(7))
        .await
        .expect("read")
        .expect("the old data is kept");
    assert_eq!(kept.topic, Some(TopicId(70)));
    let set = store
        .set_aside(common::dead_letter("telegram:1", Some(7), 3, 1, 2))
        .await
        .expect("set aside");
    assert!(set.created);
    assert_eq!(
        store
            .dead_letter(set.id)
            .await
            .expect("read")
            .map(|d| d.attempts),
        Some(3)
    );
    let pool = sqlx::PgPool::connect(&pg_url()).await.expect("connect");
    let applied: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\"._sqlx_migrations",
        schema.name
    )))
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(
        applied,
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .expect("migrations")
            .count() as i64,
        "0001, 0002, then every later migration once"
    );
    pool.close().await;
    store.close().await;
}

/// A commit refused by the unique topic constraint keeps PostgreSQL's error as its source.
#[tokio::test]
async fn a_conflict_keeps_the_database_error_as_its_source() {
    let schema = TestSchema::new("conflict_source").await;
    let store = schema.store().await;
    let save = |c: Conversation| Commit {
        conversation: Some(c),
        ..Commit::default()
    };
    store
        .commit(save(open_conversation(1, 10)))
        .await
        .expect("commit");
    let error = store
        .commit(save(open_conversation(2, 10)))
        .await
        .expect_err("topic 10 is taken");
    let StoreError::Conflict { message, .. } = &error else {
        panic!("not a conflict: {error:?}");
    };
    assert_eq!(message, "topic 10 already belongs to user 1");
    let chain = hotline_core::error_chain(&error).to_string();
    assert!(chain.starts_with("conflict: topic 10"), "{chain}");
    assert!(chain.contains("duplicate key"), "{chain}");
    store.close().await;
}

#[tokio::test]
async fn the_update_log_takes_repeats_and_large_batches() {
    let schema = TestSchema::new("log_batches").await;
    let store = schema.store().await;
    common::the_update_log_takes_repeats_and_large_batches(&store).await;
    store.close().await;
}

#[tokio::test]
async fn appends_past_the_last_log_id_are_refused() {
    let schema = TestSchema::new("log_full").await;
    let store = schema.store().await;
    let pool = sqlx::PgPool::connect(&pg_url()).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE \"{}\".update_log_head SET last_id = $1",
        schema.name
    )))
    .bind(hotline_core::store::LogId::MAX.0 - 1)
    .execute(&pool)
    .await
    .expect("move the head");
    pool.close().await;
    common::appends_past_the_last_id_are_refused(&store).await;
    store.close().await;
}

/// Two gateway replicas (two stores on one schema) append distinct updates at once: the head's
/// row lock keeps the ids in order and gap-free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_number_every_update_once() {
    let schema = TestSchema::new("log_race").await;
    common::concurrent_appends_log_each_update_once(
        Arc::new(schema.store().await),
        Arc::new(schema.store().await),
        false,
    )
    .await;
}

/// Two replicas fetched the same updates (both polled before either confirmed) and append them
/// at once: each is logged once and both are told its one id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_of_the_same_updates_log_each_once() {
    let schema = TestSchema::new("log_race_same").await;
    common::concurrent_appends_log_each_update_once(
        Arc::new(schema.store().await),
        Arc::new(schema.store().await),
        true,
    )
    .await;
}

/// A schema created before the update log existed (migrations 0001 to 0003, with data in it)
/// upgrades when a store connects: the log starts empty at id 0 and the old data stays.
#[tokio::test]
async fn a_schema_from_before_the_update_log_upgrades() {
    let schema = TestSchema::new("upgrade_log").await;
    let dir = tempfile::tempdir().expect("tempdir");
    for name in [
        "0001_initial.sql",
        "0002_commit_function.sql",
        "0003_dead_letters.sql",
    ] {
        std::fs::copy(
            format!("{}/migrations/postgres/{name}", env!("CARGO_MANIFEST_DIR")),
            dir.path().join(name),
        )
        .expect("copy an old migration");
    }
    {
        let admin = sqlx::PgPool::connect(&pg_url()).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA \"{}\"",
            schema.name
        )))
        .execute(&admin)
        .await
        .expect("create the schema");
        admin.close().await;
        let old = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(
                pg_url()
                    .parse::<sqlx::postgres::PgConnectOptions>()
                    .expect("url")
                    .options([("search_path", schema.name.as_str())]),
            )
            .await
            .expect("connect");
        sqlx::migrate::Migrator::new(dir.path())
            .await
            .expect("the old migrations")
            .run(&old)
            .await
            .expect("migrate to 0003");
        sqlx::query(
            "INSERT INTO dead_letters (key, user_id, payload, error, attempts, first_failed, \
             last_failed) VALUES ('telegram:9', 7, '{}', 'boom', 2, 1, 2)",
        )
        .execute(&old)
        .await
        .expect("old data");
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = $1 AND table_name LIKE '%log%'",
        )
        .bind(&schema.name)
        .fetch_one(&old)
        .await
        .expect("count");
        assert_eq!(tables, 0, "0001 to 0003 have no update log");
        old.close().await;
    }
    let store = schema.store().await;
    let kept = store
        .dead_letter_by_key("telegram:9")
        .await
        .expect("read")
        .expect("the old data is kept");
    assert_eq!(kept.attempts, 2);
    let head = store.log_head().await.expect("head");
    assert_eq!(
        head,
        hotline_core::store::LogHead::default(),
        "an empty log"
    );
    let ids = store
        .append_updates(vec![common::fetched(42)], Timestamp(1))
        .await
        .expect("append");
    assert_eq!(ids, [hotline_core::store::LogId(1)]);
    let pool = sqlx::PgPool::connect(&pg_url()).await.expect("connect");
    let applied: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\"._sqlx_migrations",
        schema.name
    )))
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(
        applied,
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .expect("migrations")
            .count() as i64,
        "0001 to 0003, then every later migration once"
    );
    pool.close().await;
    store.close().await;
}
