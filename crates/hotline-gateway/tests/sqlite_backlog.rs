//! A backlog through the gateway on the binary's default store, a SQLite file: the upstream
//! poller appends while the desk commits and confirms on the same single writer connection,
//! and the bot reads it all. (The poller once sat suspended mid-append inside the desk's
//! reader loop, holding that writer, and everything stalled until the pool timed out.)

mod common;

use common::{WAIT, start_with_params, update_text};
use hotline_gateway::GatewayConfig;
use hotline_testkit::{NewMessage, NewUser};
use serde_json::json;
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_reaches_the_bot_through_a_sqlite_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gateway.db").display());
    let store = hotline_store_sql::connect(&url)
        .await
        .expect("SQLite store");
    let tg = common::fake().await;
    let users: Vec<i64> = (6000..6050).collect();
    for &user in &users {
        tg.add_user(NewUser::new(user, &format!("U{user}")));
    }
    for i in 0..100 {
        for &user in &users {
            tg.send_message(NewMessage::text(user, user, &format!("{user}:{i}")))
                .unwrap();
        }
    }
    let total = users.len() * 100;
    let env = start_with_params(
        tg,
        store,
        GatewayConfig::default(),
        &[("HAND_OVER_ONLY", "true")],
    )
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = HashSet::new();
    let mut offset = 0;
    while seen.len() < total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {total} updates reached the bot",
            seen.len()
        );
        let updates = env
            .poll(json!({"offset": offset, "timeout": 1, "limit": 100}))
            .await;
        for update in &updates {
            offset = update["update_id"].as_i64().unwrap() + 1;
            assert!(seen.insert(update_text(update)), "a repeat: {update}");
        }
    }
    env.stop().await;
}
