//! `SqliteStore`: conformance, restarts, a full desk run.

mod common;

use hotline_core::store::{Commit, Conversation, MessageLink, Origin, Status, conformance};
use hotline_core::{
    Config, Desk, Event, EventKey, EventKind, MemoryTransport, MessageId, Store, Timestamp,
    TopicId, UserId, UserProfile,
};
use hotline_store_sql::{SqliteOptions, SqliteStore, Synchronous};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::test]
async fn in_memory_passes_the_conformance_suite() {
    conformance::run(|| async { SqliteStore::in_memory().await.expect("open") }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    conformance::run(|| {
        let path = dir
            .path()
            .join(format!("desk-{}.db", n.fetch_add(1, Ordering::Relaxed)));
        async move { SqliteStore::open(path).await.expect("open") }
    })
    .await;
}

#[tokio::test]
async fn full_synchronous_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    conformance::run(|| {
        let path = dir
            .path()
            .join(format!("full-{}.db", n.fetch_add(1, Ordering::Relaxed)));
        async move {
            SqliteOptions::file(path)
                .synchronous(Synchronous::Full)
                .open()
                .await
                .expect("open")
        }
    })
    .await;
}

fn sample(user: i64, topic: i64) -> Conversation {
    let mut c = Conversation::new(
        UserProfile::new(user, "Ann").with_username("ann"),
        Timestamp(1_700_000_000),
    );
    c.topic = Some(TopicId(topic));
    c.status = Status::SupportAnswered;
    c.pending = vec![MessageId(5)];
    c
}

#[tokio::test]
async fn state_survives_reopening_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("desk.db");
    let key = EventKey {
        kind: EventKind::User,
        chat: 7,
        message: 1,
        version: 3,
    };
    let link = MessageLink {
        user: UserId(7),
        user_message: MessageId(1),
        topic_message: MessageId(100),
        origin: Origin::User,
    };
    {
        let store = SqliteStore::open(&path).await.expect("open");
        store
            .commit(Commit {
                conversation: Some(sample(7, 70)),
                links: vec![link],
                processed: Some(key),
            })
            .await
            .expect("commit");
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(
        store.conversation(UserId(7)).await.expect("read"),
        Some(sample(7, 70))
    );
    assert_eq!(
        store
            .link_by_topic_message(MessageId(100))
            .await
            .expect("read"),
        Some(link)
    );
    assert!(store.is_processed(&key).await.expect("read"));
    // A third opening finds the migrations applied and changes nothing.
    drop(store);
    let again = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("reopen by URL");
    assert_eq!(
        again
            .conversation_by_topic(TopicId(70))
            .await
            .expect("read")
            .map(|c| c.user),
        Some(UserId(7))
    );
}

#[tokio::test]
async fn a_desk_restarted_on_the_file_keeps_the_topic_and_skips_handled_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("desk.db");
    let telegram = Arc::new(MemoryTransport::new());
    let config = Config::builder(common::GROUP).build().expect("config");
    let ann = UserProfile::new(42, "Ann");
    let first = telegram.user_writes(UserId(42), "hello");
    {
        let store = SqliteStore::open(&path).await.expect("open");
        let desk = Desk::new(config.clone(), store.clone(), telegram.clone());
        desk.handle(Event::UserMessage {
            user: ann.clone(),
            message: first.clone(),
        })
        .await
        .expect("handled");
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    let desk = Desk::new(config, store, telegram.clone());
    // The same update again (a restart before the offset moved): not relayed twice.
    let outcome = desk
        .handle(Event::UserMessage {
            user: ann.clone(),
            message: first,
        })
        .await
        .expect("handled");
    assert_eq!(outcome, hotline_core::Outcome::AlreadyHandled);
    let second = telegram.user_writes(UserId(42), "still there?");
    desk.handle(Event::UserMessage {
        user: ann,
        message: second,
    })
    .await
    .expect("handled");
    let topics = telegram.topics(common::GROUP);
    assert_eq!(topics.len(), 1, "no second topic after a restart");
    assert_eq!(
        telegram.topic_texts(common::GROUP, topics[0].id),
        ["hello", "still there?"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_desk_run_on_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("desk.db"))
        .await
        .expect("open");
    common::full_desk_run(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_desk_run_in_memory() {
    let store = SqliteStore::in_memory().await.expect("open");
    common::full_desk_run(Arc::new(store)).await;
}

#[tokio::test]
async fn the_file_is_in_wal_mode_and_backups_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("desk.db"))
        .await
        .expect("open");
    store
        .commit(Commit {
            conversation: Some(sample(1, 10)),
            ..Commit::default()
        })
        .await
        .expect("commit");
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("desk.db").display()
    ))
    .await
    .expect("connect");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    pool.close().await;

    let backup = dir.path().join("backup.db");
    store.backup_to(&backup).await.expect("backup");
    let restored = SqliteStore::open(&backup).await.expect("open the backup");
    assert_eq!(
        restored.conversation(UserId(1)).await.expect("read"),
        Some(sample(1, 10))
    );
}

#[tokio::test]
async fn old_processed_keys_can_be_forgotten() {
    let store = SqliteStore::in_memory().await.expect("open");
    let key = EventKey {
        kind: EventKind::Host,
        chat: 1,
        message: 2,
        version: 3,
    };
    store
        .commit(Commit {
            processed: Some(key),
            ..Commit::default()
        })
        .await
        .expect("commit");
    assert_eq!(
        store
            .forget_processed_before(Timestamp(1_000))
            .await
            .expect("prune"),
        0,
        "recorded now, so kept"
    );
    assert_eq!(
        store
            .forget_processed_before(Timestamp(i64::MAX))
            .await
            .expect("prune"),
        1
    );
    assert!(!store.is_processed(&key).await.expect("read"));
}

#[tokio::test]
async fn connect_picks_the_backend_by_url() {
    let store = hotline_store_sql::connect("sqlite::memory:")
        .await
        .expect("connect");
    assert_eq!(store.conversation(UserId(1)).await.expect("read"), None);
    let refused = hotline_store_sql::connect("mysql://root:hunter2@db/desk").await;
    let Err(error) = refused else {
        panic!("no store for mysql");
    };
    let message = error.to_string();
    assert!(message.contains("mysql"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused_until_the_first_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("desk.db");
    let first = SqliteStore::open(&path).await.expect("open");
    let clone = first.clone();
    let refused = SqliteStore::open(&path)
        .await
        .expect_err("the file is taken");
    assert!(
        refused.to_string().contains("in use by another desk"),
        "{refused}"
    );
    drop(first);
    SqliteStore::open(&path)
        .await
        .expect_err("a clone still holds it");
    drop(clone);
    let reopened = SqliteStore::open(&path).await.expect("free again");
    drop(reopened);
    let shared = SqliteOptions::file(&path).exclusive(false);
    let _a = shared.clone().open().await.expect("opt out");
    let _b = shared.open().await.expect("opt out twice");
}

#[tokio::test]
async fn a_full_commit_lands_in_a_file_and_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = SqliteStore::open(dir.path().join("desk.db"))
        .await
        .expect("open");
    common::a_full_commit_lands(&file).await;
    let memory = SqliteStore::in_memory().await.expect("open");
    common::a_full_commit_lands(&memory).await;
}

/// Commits cancelled at random points (a host's timeout around `Desk::handle`) never leave
/// the writer inside a transaction, and each lands whole or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_commits_land_whole_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        SqliteStore::open(dir.path().join("desk.db"))
            .await
            .expect("open"),
    );
    let key = |i: i64| EventKey {
        kind: EventKind::User,
        chat: i,
        message: i,
        version: 0,
    };
    let commit = |i: i64| Commit {
        conversation: Some(sample(i, 10_000 + i)),
        links: vec![MessageLink {
            user: UserId(i),
            user_message: MessageId(1),
            topic_message: MessageId(20_000 + i),
            origin: Origin::User,
        }],
        processed: Some(key(i)),
    };
    for i in 1..=200_i64 {
        let task = {
            let store = store.clone();
            let commit = commit(i);
            tokio::spawn(async move { store.commit(commit).await })
        };
        // Cancel after 0–600 µs: before, during and after the writer's query.
        let until =
            std::time::Instant::now() + std::time::Duration::from_micros((i as u64 * 37) % 600);
        while std::time::Instant::now() < until {
            tokio::task::yield_now().await;
        }
        task.abort();
        let _ = task.await;
    }
    store
        .commit(commit(1_000))
        .await
        .expect("the writer is usable after cancellations");
    let mut landed = 0;
    for i in (1..=200_i64).chain([1_000]) {
        let conversation = store.conversation(UserId(i)).await.expect("read").is_some();
        let link = store
            .link_by_topic_message(MessageId(20_000 + i))
            .await
            .expect("read")
            .is_some();
        let processed = store.is_processed(&key(i)).await.expect("read");
        assert!(
            conversation == link && link == processed,
            "commit {i} landed in part: conversation {conversation}, link {link}, key {processed}"
        );
        landed += usize::from(conversation);
    }
    println!("{landed} of 201 commits landed");
}

/// The conversation cache never answers with something the file does not hold: not after a
/// refused commit, and not at all when another store may write the same file.
#[tokio::test]
async fn cached_conversations_follow_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("desk.db");
    let store = SqliteStore::open(&path).await.expect("open");
    let save = |c: Conversation| Commit {
        conversation: Some(c),
        ..Commit::default()
    };
    store.commit(save(sample(1, 10))).await.expect("commit");
    store.commit(save(sample(2, 20))).await.expect("commit");
    let mut moved = sample(2, 30);
    moved.status = Status::Closed;
    store.commit(save(moved.clone())).await.expect("commit");
    assert_eq!(
        store.conversation(UserId(2)).await.expect("read"),
        Some(moved.clone())
    );
    // Refused: topic 10 is user 1's. User 2 reads back as before.
    let refused = store.commit(save(sample(2, 10))).await;
    assert!(matches!(
        refused,
        Err(hotline_core::StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.conversation(UserId(2)).await.expect("read"),
        Some(moved)
    );
    drop(store);

    // Two stores on one file (opted out of the lock): each sees the other's writes.
    let a = SqliteOptions::file(&path)
        .exclusive(false)
        .open()
        .await
        .expect("open");
    let b = SqliteOptions::file(&path)
        .exclusive(false)
        .open()
        .await
        .expect("open");
    a.commit(save(sample(3, 40))).await.expect("commit");
    let mut changed = sample(3, 41);
    changed.blocked = true;
    b.commit(save(changed.clone())).await.expect("commit");
    assert_eq!(
        a.conversation(UserId(3)).await.expect("read"),
        Some(changed)
    );
}

#[tokio::test]
async fn dead_letters_absorb_like_the_memory_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = SqliteStore::open(dir.path().join("desk.db"))
        .await
        .expect("open");
    common::dead_letters_absorb_like_the_memory_store(&file).await;
    let memory = SqliteStore::in_memory().await.expect("open");
    common::dead_letters_absorb_like_the_memory_store(&memory).await;
}

/// Two stores on one file (the lock opted out of, as two processes would be): the upsert's
/// transaction keeps one record per key and reports it new once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_set_asides_on_one_file_make_one_record_per_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SqliteOptions::file(dir.path().join("desk.db")).exclusive(false);
    let a = options.clone().open().await.expect("open");
    let b = options.open().await.expect("open");
    common::concurrent_set_asides_make_one_record_per_key(Arc::new(a), Arc::new(b)).await;
}

/// A file created before dead letters existed (migration 0001 only, with data in it) opens:
/// the new migration adds the table, the data stays, and ids are never reused.
#[tokio::test]
async fn a_database_from_before_dead_letters_upgrades() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("mkdir");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite/0001_initial.sql"
        ),
        migrations.join("0001_initial.sql"),
    )
    .expect("copy the first migration");
    {
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .expect("create");
        sqlx::migrate::Migrator::new(migrations.as_path())
            .await
            .expect("the old migrations")
            .run(&pool)
            .await
            .expect("migrate to 0001");
        sqlx::query(
            "INSERT INTO conversations (user_id, topic_id, status, status_since, blocked, \
             banned, first_name, welcome_pending) \
             VALUES (7, 70, 'support_answered', 1700000000, 0, 0, 'Ann', 0)",
        )
        .execute(&pool)
        .await
        .expect("old data");
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'dead_letters'")
                .fetch_one(&pool)
                .await
                .expect("count");
        assert_eq!(tables, 0, "0001 has no dead letters");
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("upgrade");
    let kept = store
        .conversation(UserId(7))
        .await
        .expect("read")
        .expect("the old data is kept");
    assert_eq!(kept.topic, Some(TopicId(70)));
    let first = store
        .set_aside(common::dead_letter("telegram:1", Some(7), 3, 1, 2))
        .await
        .expect("set aside");
    assert!(first.created);
    assert!(store.remove_dead_letter(first.id).await.expect("remove"));
    let second = store
        .set_aside(common::dead_letter("telegram:2", None, 1, 3, 3))
        .await
        .expect("set aside");
    assert!(
        second.id > first.id,
        "a removed record's id is not handed out again"
    );
    store.close().await;
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("count");
    let embedded = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .expect("migrations")
        .count() as i64;
    assert_eq!(applied, embedded, "every migration, applied once");
}

/// The sqlx error stays the source of a store error: the chain says what SQLite said.
#[tokio::test]
async fn store_errors_keep_the_sqlite_error_as_their_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![b'x'; 8192]).expect("write");
    let error = SqliteStore::open(&path).await.expect_err("not a database");
    assert!(
        matches!(error, hotline_core::StoreError::Backend { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("garbage.db"), "{message}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the sqlx error is kept: {error:?}"
    );
    let chain = hotline_core::error_chain(&error).to_string();
    assert!(chain.starts_with(&message), "{chain}");
    assert!(chain.contains("not a database"), "{chain}");
}

#[tokio::test]
async fn the_update_log_takes_repeats_and_large_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = SqliteStore::open(dir.path().join("desk.db"))
        .await
        .expect("open");
    common::the_update_log_takes_repeats_and_large_batches(&file).await;
    let memory = SqliteStore::in_memory().await.expect("open");
    common::the_update_log_takes_repeats_and_large_batches(&memory).await;
}

#[tokio::test]
async fn appends_past_the_last_log_id_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("desk.db");
    SqliteStore::open(&path)
        .await
        .expect("create")
        .close()
        .await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    sqlx::query("UPDATE update_log_head SET last_id = ?1")
        .bind(hotline_core::store::LogId::MAX.0 - 1)
        .execute(&pool)
        .await
        .expect("move the head");
    pool.close().await;
    let store = SqliteStore::open(&path).await.expect("open");
    common::appends_past_the_last_id_are_refused(&store).await;
}

/// Two stores on one file (the lock opted out of, as two processes would be): `BEGIN
/// IMMEDIATE` keeps the ids gap-free and each update logged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_on_one_file_log_each_update_once() {
    for same in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = SqliteOptions::file(dir.path().join("desk.db")).exclusive(false);
        let a = options.clone().open().await.expect("open");
        let b = options.open().await.expect("open");
        common::concurrent_appends_log_each_update_once(Arc::new(a), Arc::new(b), same).await;
    }
}

/// The log, its head and the consumers survive closing and reopening the file, also once every
/// update was pruned: ids go on from the head, never reused.
#[tokio::test]
async fn the_update_log_survives_reopening_the_file() {
    use hotline_core::store::{LogHead, LogId};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("desk.db");
    let given = vec![common::fetched(500), common::fetched(501)];
    {
        let store = SqliteStore::open(&path).await.expect("open");
        let ids = store
            .append_updates(given.clone(), Timestamp(10))
            .await
            .expect("append");
        assert_eq!(ids, [LogId(1), LogId(2)]);
        store
            .register_consumer("desk", LogId::ZERO)
            .await
            .expect("register");
        store
            .confirm_updates("desk", LogId(1))
            .await
            .expect("confirm");
        store
            .save_consumer_settings("desk", Some(r#"{"a":1}"#.to_owned()))
            .await
            .expect("settings");
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    let logged = store.logged_updates(LogId::ZERO, 10).await.expect("read");
    assert_eq!(
        logged
            .iter()
            .map(|l| (l.id, l.upstream_id, l.payload.as_str(), l.received))
            .collect::<Vec<_>>(),
        [
            (LogId(1), 500, given[0].payload.as_str(), Timestamp(10)),
            (LogId(2), 501, given[1].payload.as_str(), Timestamp(10)),
        ]
    );
    let head = LogHead {
        last_id: LogId(2),
        last_upstream_id: Some(501),
    };
    assert_eq!(store.log_head().await.expect("head"), head);
    let desk = store.consumer("desk").await.expect("read").expect("kept");
    assert_eq!(
        (desk.confirmed, desk.settings.as_deref()),
        (LogId(1), Some(r#"{"a":1}"#))
    );
    // Telegram sends 501 again after the restart: recognised.
    assert_eq!(
        store
            .append_updates(vec![common::fetched(501)], Timestamp(11))
            .await
            .expect("append"),
        [LogId(2)]
    );
    store
        .confirm_updates("desk", LogId(2))
        .await
        .expect("confirm");
    assert_eq!(store.prune_updates(Timestamp(0)).await.expect("prune"), 2);
    drop(store);
    let store = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(
        store.log_head().await.expect("head"),
        head,
        "the head survives the pruning of everything, and a restart"
    );
    assert_eq!(
        store
            .append_updates(vec![common::fetched(502)], Timestamp(12))
            .await
            .expect("append"),
        [LogId(3)],
        "ids go on from the head"
    );
}

/// A file created before the update log existed (migrations 0001 and 0002, with data in it)
/// opens: the new migration adds the log, empty at id 0, and the data stays.
#[tokio::test]
async fn a_database_from_before_the_update_log_upgrades() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("mkdir");
    for name in ["0001_initial.sql", "0002_dead_letters.sql"] {
        std::fs::copy(
            format!("{}/migrations/sqlite/{name}", env!("CARGO_MANIFEST_DIR")),
            migrations.join(name),
        )
        .expect("copy an old migration");
    }
    {
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .expect("create");
        sqlx::migrate::Migrator::new(migrations.as_path())
            .await
            .expect("the old migrations")
            .run(&pool)
            .await
            .expect("migrate to 0002");
        sqlx::query(
            "INSERT INTO dead_letters (key, user_id, payload, error, attempts, first_failed, \
             last_failed) VALUES ('telegram:9', 7, '{}', 'boom', 2, 1, 2)",
        )
        .execute(&pool)
        .await
        .expect("old data");
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE '%log%'")
                .fetch_one(&pool)
                .await
                .expect("count");
        assert_eq!(tables, 0, "0001 and 0002 have no update log");
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("upgrade");
    let kept = store
        .dead_letter_by_key("telegram:9")
        .await
        .expect("read")
        .expect("the old data is kept");
    assert_eq!(kept.attempts, 2);
    assert_eq!(
        store.log_head().await.expect("head"),
        hotline_core::store::LogHead::default(),
        "an empty log"
    );
    assert_eq!(
        store
            .append_updates(vec![common::fetched(42)], Timestamp(1))
            .await
            .expect("append"),
        [hotline_core::store::LogId(1)]
    );
    store.close().await;
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(
        applied,
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .expect("migrations")
            .count() as i64,
        "0001 and 0002, then every later migration once"
    );
}
