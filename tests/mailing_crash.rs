//! A mailing survives `kill -9`: the `hotline-desk` binary is killed three times during a
//! 2,000-user mailing and restarted on the same SQLite file each time; in the end every
//! recipient's chat holds the message, nobody is skipped, and the only repeats are sends that
//! were in flight at a kill (Telegram has no idempotency key; at most `IN_FLIGHT` a kill).

#[path = "common/desk_binary.rs"]
mod desk_binary;

use desk_binary::{log_to, sqlite_desk};
use hotline::core::store::{Commit, Conversation};
use hotline::core::{IN_FLIGHT, Store, Timestamp, UserProfile};
use hotline::store_sql::SqliteStore;
use hotline_testkit::{FakeTelegram, MemberStatus, NewGroup, NewMessage, NewUser};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use tokio::process::Child;

const TOKEN: &str = "778010:mailing-crash-SECRET";
const GROUP: i64 = -1_001_000_000_779;
const OPERATOR: i64 = 2_003;
const USERS: i64 = 2_000;
const FIRST_USER: i64 = 100_000;
const TEXT: &str = "Our shop opens on Monday";
const WAIT: Duration = Duration::from_secs(90);

fn spawn_desk(tg: &FakeTelegram, db: &Path, log: &Path) -> Child {
    // 400 calls a second: the mailing takes about five seconds, long enough to be killed in
    // the middle three times.
    sqlite_desk(tg, TOKEN, GROUP, db, "400,0,0")
        .stderr(log_to(log))
        .spawn()
        .expect("start hotline-desk")
}

/// How many copies of the mailing the bot has made in users' chats.
fn delivered(tg: &FakeTelegram) -> usize {
    tg.calls_of("copyMessage")
        .iter()
        .filter(|c| c.error_code.is_none() && c.params["chat_id"].as_i64().is_some_and(|c| c > 0))
        .count()
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailing_killed_three_times_reaches_every_recipient() {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .expect("an admin");
    let dir = std::env::temp_dir().join(format!("hotline-mailing-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a test dir");
    let (db, log) = (dir.join("desk.db"), dir.join("desk.log"));

    // 2,000 users who wrote to the bot before (their conversations in the store).
    {
        let store = SqliteStore::open(&db).await.expect("the store");
        for i in 0..USERS {
            let id = FIRST_USER + i;
            tg.add_user(NewUser::new(id, "U"));
            let conversation =
                Conversation::new(UserProfile::new(id, "U"), Timestamp(1_700_000_000));
            store
                .commit(Commit {
                    conversation: Some(conversation),
                    ..Commit::default()
                })
                .await
                .expect("a conversation");
        }
        store.close().await;
    }

    let mut desk = spawn_desk(&tg, &db, &log);
    let first = tg
        .send_message(NewMessage::text(OPERATOR, GROUP, TEXT))
        .expect("the message")["message_id"]
        .as_i64()
        .expect("an id");
    tg.send_message(NewMessage::text(OPERATOR, GROUP, "/send").reply_to(first))
        .expect("/send");
    let panel = |tg: &FakeTelegram| -> Option<Value> {
        tg.messages(GROUP).into_iter().find(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("📣 Mailing #1"))
        })
    };
    wait_for("the preview", || panel(&tg).is_some()).await;
    let preview = panel(&tg).expect("the preview");
    assert!(
        preview["text"]
            .as_str()
            .unwrap_or_default()
            .contains("2000 recipient(s)"),
        "{preview}"
    );
    let confirm = preview["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .expect("Confirm")
        .to_owned();
    tg.press_button(
        OPERATOR,
        GROUP,
        preview["message_id"].as_i64().expect("an id"),
        &confirm,
    )
    .expect("Confirm");

    let mut kills = Vec::new();
    for at in [300, 900, 1_500] {
        wait_for(&format!("{at} deliveries"), || delivered(&tg) >= at).await;
        desk.start_kill().expect("kill -9");
        desk.wait().await.expect("the desk is gone");
        kills.push(delivered(&tg));
        // Restarted on the same database: it goes on where the mailing was.
        desk = spawn_desk(&tg, &db, &log);
    }
    let recipients: Vec<i64> = (0..USERS).map(|i| FIRST_USER + i).collect();
    wait_for("every recipient", || {
        recipients
            .iter()
            .all(|u| tg.messages(*u).iter().any(|m| m["text"] == TEXT))
    })
    .await;
    // Quiet for a while: nothing more comes.
    let mut last = delivered(&tg);
    loop {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let now = delivered(&tg);
        if now == last {
            break;
        }
        last = now;
    }
    let _ = desk.start_kill();

    let mut repeated = Vec::new();
    for user in &recipients {
        let copies = tg
            .messages(*user)
            .iter()
            .filter(|m| m["text"] == TEXT)
            .count();
        assert!(copies >= 1, "user {user} was skipped");
        if copies > 1 {
            repeated.push((*user, copies));
        }
    }
    println!(
        "deliveries at the kills: {kills:?}; repeated: {} ({repeated:?})",
        repeated.len()
    );
    assert!(
        repeated.iter().all(|(_, n)| *n == 2),
        "a repeat is one send in flight at one kill: {repeated:?}"
    );
    assert!(
        repeated.len() <= kills.len() * IN_FLIGHT,
        "at most the sends in flight at each kill are repeated: {repeated:?}"
    );
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log.contains(TOKEN), "the token never reaches the log");
    let _ = std::fs::remove_dir_all(&dir);
}
