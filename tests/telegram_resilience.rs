//! Losing nothing under 429 storms, failing calls, dropped connections and bad webhook requests,
//! and never showing the bot token.

mod common;

use common::{GROUP, OPERATOR, TOKEN, WAIT, fake, start_on, text_of};
use hotline::telegram::{Hotline, Limits, WEBHOOK_SECRET_HEADER};
use hotline_testkit::{Fault, FloodLimits, NewUser};
use std::collections::HashMap;
use std::time::Duration;

/// Every user's messages arrived in their topic exactly once each, in order.
fn assert_all_delivered_in_order(d: &common::Desk, users: &[i64], per_user: usize) {
    let by_text: HashMap<String, usize> =
        d.tg.messages(GROUP)
            .iter()
            .map(text_of)
            .fold(HashMap::new(), |mut m, t| {
                *m.entry(t).or_default() += 1;
                m
            });
    for &user in users {
        for i in 0..per_user {
            let text = format!("{user}:{i}");
            assert_eq!(
                by_text.get(&text).copied(),
                Some(1),
                "«{text}» delivered exactly once"
            );
        }
    }
    assert_eq!(d.tg.topics(GROUP).len(), users.len(), "one topic per user");
}

async fn topics_in_order(d: &common::Desk, users: &[i64], per_user: usize) {
    for &user in users {
        let topic = d.topic_of(user).await;
        let expected: Vec<String> = (0..per_user).map(|i| format!("{user}:{i}")).collect();
        let seen: Vec<String> = d
            .thread_texts(topic)
            .into_iter()
            .filter(|t| t.starts_with(&format!("{user}:")))
            .collect();
        assert_eq!(seen, expected, "user {user}'s messages in order");
    }
}

async fn write_all(d: &common::Desk, users: &[i64], per_user: usize) {
    for i in 0..per_user {
        for &user in users {
            d.say(user, &format!("{user}:{i}"));
        }
    }
    wait_relayed(d, users.len() * per_user).await;
}

/// Waits until `total` users' messages (`user:n`) are in the group.
async fn wait_relayed(d: &common::Desk, total: usize) {
    d.wait(&format!("{total} messages in the group"), |d| {
        d.tg.messages(GROUP)
            .iter()
            .filter(|m| text_of(m).contains(':'))
            .count()
            >= total
    })
    .await;
}

/// A fake Telegram with `n` users, ids from `first` on.
async fn fake_with_users(first: i64, n: i64) -> (hotline_testkit::FakeTelegram, Vec<i64>) {
    let tg = fake().await;
    let users: Vec<i64> = (first..first + n).collect();
    for &user in &users {
        tg.add_user(NewUser::new(user, &format!("User {user}")));
    }
    (tg, users)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_loses_nothing_and_repeats_nothing() {
    let tg = fake().await;
    // Telegram's limits on a clock 60 times faster: the group takes 20 calls per wall second.
    tg.set_limits(FloodLimits {
        global_per_second: Some(30),
        per_chat_per_second: Some(1),
        per_group_per_minute: Some(20),
        time_scale: Some(60.0),
    });
    // No pacing on our side: every excess call is answered 429 and must be waited out.
    let d = start_on(
        tg,
        &[("WELCOME", "OFF")],
        Limits::off().with_time_scale(60.0),
    )
    .await;
    let users: Vec<i64> = (0..15)
        .map(|u| d.user(3000 + u, &format!("U{u}")))
        .collect();
    write_all(&d, &users, 4).await;
    assert!(
        d.tg.stats().too_many_requests > 10,
        "a real storm: {} 429s",
        d.tg.stats().too_many_requests
    );
    assert_all_delivered_in_order(&d, &users, 4);
    topics_in_order(&d, &users, 4).await;
    // The offset is confirmed to Telegram on receipt (the update log keeps what the desk has
    // not finished), so the waits for 429s make Telegram send nothing twice. With the offset at
    // the desk's low watermark, these 60 messages once brought over 14,000 deliveries.
    let delivered = d.tg.stats().updates_delivered;
    let messages = (users.len() * 4) as f64;
    eprintln!(
        "{delivered} updates delivered for {messages} messages in {} polls",
        d.tg.stats().calls_of("getUpdates")
    );
    assert!(
        delivered as f64 / messages <= 1.05,
        "{delivered} updates delivered by Telegram for {messages} messages"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_keeps_under_the_limits() {
    let tg = fake().await;
    tg.set_limits(FloodLimits {
        global_per_second: Some(30),
        per_chat_per_second: Some(1),
        per_group_per_minute: Some(20),
        time_scale: Some(60.0),
    });
    let d = start_on(
        tg,
        &[("WELCOME", "OFF")],
        Limits::telegram().with_time_scale(60.0),
    )
    .await;
    let users: Vec<i64> = (0..10)
        .map(|u| d.user(3000 + u, &format!("U{u}")))
        .collect();
    write_all(&d, &users, 3).await;
    assert_all_delivered_in_order(&d, &users, 3);
    assert!(
        d.tg.stats().too_many_requests <= 2,
        "paced ahead of the limits, Telegram had to say 429 {} times",
        d.tg.stats().too_many_requests
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_calls_and_dropped_connections_lose_nothing() {
    let tg = fake().await;
    let d = start_on(tg, &[("WELCOME", "OFF")], Limits::off()).await;
    let users: Vec<i64> = (0..20)
        .map(|u| d.user(4000 + u, &format!("U{u}")))
        .collect();
    // One in ten calls fails with a server error, one in ten loses its connection before the
    // server acts on it.
    d.tg.inject_fault(Fault {
        ratio: Some(0.1),
        ..Fault::error(500, "Internal Server Error")
    });
    d.tg.inject_fault(Fault {
        ratio: Some(0.1),
        ..Fault::drop_connection()
    });
    write_all(&d, &users, 5).await;
    let stats = d.tg.stats();
    assert!(
        stats.faults_injected > 10 && stats.dropped_connections > 3,
        "{stats:?}"
    );
    assert_all_delivered_in_order(&d, &users, 5);
    topics_in_order(&d, &users, 5).await;
    // And back to the users.
    for &user in &users[..5] {
        let topic = d.topic_of(user).await;
        d.operator_says(topic, &format!("answer {user}"));
    }
    for &user in &users[..5] {
        d.wait_user_sees(user, &format!("answer {user}")).await;
        assert_eq!(
            d.user_sees(user),
            [format!("answer {user}")],
            "exactly once"
        );
    }
    d.tg.clear_faults();
    d.stop().await;
}

fn webhook_desk(tg: &hotline_testkit::FakeTelegram) -> Hotline {
    Hotline::builder(TOKEN, common::config(&[("WELCOME", "OFF")]))
        .api_url(tg.api_url())
        .limits(Limits::off())
        .build()
        .unwrap()
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

fn update(id: i64, user: i64, text: &str) -> serde_json::Value {
    serde_json::json!({"update_id": id, "message": {
        "message_id": id, "date": 1_700_000_000,
        "chat": {"id": user, "type": "private", "first_name": "Ann"},
        "from": {"id": user, "is_bot": false, "first_name": "Ann"},
        "text": text}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_requests_without_the_secret_get_401_and_change_nothing() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    let hotline = webhook_desk(&tg);
    let url = serve(hotline.webhook_router("s3cret-Token_1").unwrap()).await;
    let http = frankenstein::reqwest::Client::new();
    let post = |secret: Option<&str>, body: serde_json::Value| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap());
        if let Some(secret) = secret {
            request = request.header(WEBHOOK_SECRET_HEADER, secret);
        }
        request.send()
    };
    let missing = post(None, update(1, 1001, "no secret")).await.unwrap();
    let wrong = post(Some("s3cret-Token_2"), update(2, 1001, "wrong secret"))
        .await
        .unwrap();
    let prefix = post(Some("s3cret"), update(3, 1001, "a prefix of it"))
        .await
        .unwrap();
    assert_eq!(
        [missing.status(), wrong.status(), prefix.status()].map(|s| s.as_u16()),
        [401, 401, 401]
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tg.topics(GROUP).is_empty(), "nothing relayed");
    assert_eq!(
        tg.stats().calls.values().sum::<u64>(),
        0,
        "no Bot API call at all"
    );

    // An update kind newer than the library: skipped (200, or Telegram would resend it forever),
    // and the stream goes on.
    let odd = post(
        Some("s3cret-Token_1"),
        serde_json::json!({"update_id": 4, "brand_new_kind": {"x": 1}}),
    )
    .await
    .unwrap();
    assert_eq!(odd.status().as_u16(), 200);
    // A message that really is in Ann's chat, delivered as Telegram would push it.
    let real = tg
        .send_message(hotline_testkit::NewMessage::text(
            1001,
            1001,
            "with the secret",
        ))
        .unwrap();
    let ok = post(
        Some("s3cret-Token_1"),
        serde_json::json!({"update_id": 5, "message": real}),
    )
    .await
    .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    // The answer comes after the desk handled the update: the copy is already there.
    let topic = tg.topics(GROUP)[0].message_thread_id;
    assert!(
        tg.thread_messages(GROUP, topic)
            .iter()
            .any(|m| text_of(m) == "with the secret")
    );
    assert!(
        webhook_desk(&tg).webhook_router("has space").is_err(),
        "secrets Telegram would refuse are refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_telegram_pushes_to_the_webhook_with_the_secret() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    let hotline = webhook_desk(&tg);
    let url = serve(hotline.webhook_router("right-secret").unwrap()).await;
    let set = |secret: &'static str| {
        let client = hotline.client().clone();
        let url = url.clone();
        async move {
            client
                .call(
                    "setWebhook",
                    serde_json::json!({"url": url, "secret_token": secret}),
                )
                .await
                .unwrap()
        }
    };
    set("wrong-secret").await;
    tg.send_message(hotline_testkit::NewMessage::text(1001, 1001, "refused"))
        .unwrap();
    tg.wait_for("a refused push", WAIT, |t| t.stats().webhook_errors > 0)
        .await
        .unwrap();
    assert!(
        tg.topics(GROUP).is_empty(),
        "a push with the wrong secret changed nothing"
    );
    set("right-secret").await;
    tg.wait_for("the pushed update relayed", WAIT, |t| {
        t.messages(GROUP).iter().any(|m| text_of(m) == "refused")
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_traffic_in_another_group_is_not_consumed_but_the_backend_groups_is() {
    let tg = fake().await;
    let hotline = webhook_desk(&tg);
    let group_update: frankenstein::updates::Update =
        serde_json::from_value(serde_json::json!({"update_id": 1, "message": {
        "message_id": 9, "date": 1, "message_thread_id": 5, "is_topic_message": true,
        "chat": {"id": GROUP, "type": "supergroup", "title": "Support", "is_forum": true},
        "from": {"id": OPERATOR, "is_bot": false, "first_name": "Olga"}, "text": "hi"}}))
        .unwrap();
    assert!(hotline.handle_update(&group_update).consumed);
    let user_update: frankenstein::updates::Update =
        serde_json::from_value(update(2, 1001, "hi")).unwrap();
    assert!(
        !hotline.handle_update(&user_update).consumed,
        "user traffic passes through to the host"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_kind_newer_than_the_library_is_skipped_and_polling_goes_on() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    tg.push_raw_update("brand_new_kind", serde_json::json!({"anything": [1, 2, 3]}));
    // A known kind with a field shape frankenstein cannot read.
    tg.push_raw_update("message", serde_json::json!({"message_id": "not a number"}));
    tg.send_message(hotline_testkit::NewMessage::text(
        1001,
        1001,
        "after the odd ones",
    ))
    .unwrap();
    let d = start_on(tg, &[("WELCOME", "OFF")], Limits::off()).await;
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "after the odd ones").await;
    let tg = d.stop().await;
    assert!(
        tg.pending_updates().is_empty(),
        "the offset moved past the skipped updates"
    );
}

fn impatient_desk(tg: &hotline_testkit::FakeTelegram) -> Hotline {
    // The desk gives up after one retry, so the runner's own redelivery is what saves the message.
    let config = hotline::core::Config::builder(hotline::core::ChatId(GROUP))
        .welcome(hotline::core::Welcome::Off)
        .transient_retries(1)
        .build()
        .unwrap();
    Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_hands_a_failed_update_over_again_instead_of_dropping_it() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    let d = common::run(tg.clone(), impatient_desk(&tg));
    d.say(1001, "first");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "first").await;
    d.tg.inject_fault(Fault {
        method: Some("copyMessage".into()),
        count: Some(3),
        ..Fault::error(502, "Bad Gateway")
    });
    d.say(1001, "through the outage");
    d.wait_thread(topic, "through the outage").await;
    assert_eq!(
        d.thread_texts(topic),
        ["first", "through the outage"],
        "once, in order"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_update_that_failed_for_a_passing_reason_is_tried_again_before_the_answer() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    let hotline = impatient_desk(&tg);
    let url = serve(hotline.webhook_router("s3cret").unwrap()).await;
    let http = frankenstein::reqwest::Client::new();
    let real = tg
        .send_message(hotline_testkit::NewMessage::text(
            1001,
            1001,
            "during an outage",
        ))
        .unwrap();
    let body = serde_json::to_vec(&serde_json::json!({"update_id": 1, "message": real})).unwrap();
    let post = || {
        http.post(&url)
            .header("content-type", "application/json")
            .header(WEBHOOK_SECRET_HEADER, "s3cret")
            .body(body.clone())
            .send()
    };
    tg.inject_fault(Fault {
        method: Some("createForumTopic".into()),
        count: Some(2),
        ..Fault::error(500, "Internal Server Error")
    });
    // Nothing else goes through meanwhile (an outage, as far as the desk can tell): the desk
    // waits and tries again inside the request, instead of a 503 that would make Telegram hold
    // back everything after this update.
    assert_eq!(post().await.unwrap().status().as_u16(), 200);
    assert_eq!(tg.topics(GROUP).len(), 1, "one topic");
    // Delivered again (Telegram does after a timeout): recorded as handled, not relayed twice.
    assert_eq!(post().await.unwrap().status().as_u16(), 200);
    let topic = tg.topics(GROUP)[0].message_thread_id;
    let copies = tg
        .thread_messages(GROUP, topic)
        .iter()
        .filter(|m| text_of(m) == "during an outage")
        .count();
    assert_eq!(copies, 1);
}

/// While a slow update is in flight, the poller does not spin: the update was confirmed on
/// receipt, so the next poll is a long poll that waits for something new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_does_not_spin_while_a_slow_update_is_in_flight() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    tg.inject_fault(Fault {
        method: Some("createForumTopic".into()),
        count: Some(1),
        latency_ms: Some(1_500),
        ..Fault::default()
    });
    let d = start_on(tg, &[], Limits::off()).await;
    d.say(1001, "slow to open");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = d.tg.stats().calls_of("getUpdates");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let polls = d.tg.stats().calls_of("getUpdates") - before;
    assert!(
        d.tg.topics(GROUP).is_empty(),
        "the update is still in flight"
    );
    assert!(polls <= 2, "{polls} getUpdates calls in one second");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "slow to open").await;
    d.stop().await;
}

/// A backlog is fetched as fast as Telegram hands it out, each update once: the offset moves on
/// receipt, not as the desk finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_is_fetched_once() {
    let (tg, users) = fake_with_users(5_000, 300).await;
    for &user in &users {
        tg.send_message(hotline_testkit::NewMessage::text(
            user,
            user,
            &format!("{user}:0"),
        ))
        .unwrap();
    }
    let d = start_on(tg, &[("WELCOME", "OFF")], Limits::off()).await;
    wait_relayed(&d, users.len()).await;
    assert_all_delivered_in_order(&d, &users, 1);
    let delivered = d.tg.stats().updates_delivered;
    assert_eq!(
        delivered,
        users.len() as u64,
        "each update of the backlog delivered once"
    );
    let polls = d.tg.stats().calls_of("getUpdates");
    assert!(
        polls <= 3 + (users.len() as u64).div_ceil(100) * 2,
        "{polls} getUpdates calls for a backlog of {}",
        users.len()
    );
    d.stop().await;
}

/// Under steady traffic the desk always has an update in flight; the poller must still fetch new
/// ones as they come (it never waits for the desk), or each message would wait behind the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_traffic_is_fetched_as_the_offset_moves_not_once_per_pause() {
    let (tg, users) = fake_with_users(6_000, 20).await;
    let d = start_on(tg, &[("WELCOME", "OFF")], Limits::off()).await;
    for &user in &users {
        d.say(user, &format!("{user}:0"));
    }
    d.wait("the topics", |d| d.tg.topics(GROUP).len() == users.len())
        .await;
    // Every copy now takes 40 ms, so updates are always in flight while users write every 4 ms.
    d.tg.inject_fault(Fault {
        method: Some("copyMessage".into()),
        ratio: Some(1.0),
        latency_ms: Some(40),
        ..Fault::default()
    });
    let before = d.tg.stats().calls_of("getUpdates");
    let started = std::time::Instant::now();
    for i in 1..=10 {
        for &user in &users {
            d.say(user, &format!("{user}:{i}"));
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
    }
    let total = users.len() * 11;
    wait_relayed(&d, total).await;
    let elapsed = started.elapsed();
    let polls = d.tg.stats().calls_of("getUpdates") - before;
    topics_in_order(&d, &users, 11).await;
    // Fetching only after the desk finished what it holds would make about one poll per 100 ms
    // here (copies take 40 ms); fetching as updates come makes several.
    let per_pause = polls as f64 / (elapsed.as_secs_f64() / 0.1);
    assert!(
        per_pause >= 3.0,
        "{polls} getUpdates calls in {elapsed:?}: {per_pause:.1} per pause"
    );
    d.stop().await;
}
