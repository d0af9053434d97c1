//! The gateway fed by Telegram's webhook instead of long polling: the webhook registered with
//! the secret and the kinds every consumer wants (again when the bot asks for others), each
//! update written to the log before Telegram gets its 200, the desk and the bot both served
//! from the log, and a post without the secret refused.

mod common;

use common::{GROUP, OPERATOR, TOKEN, WAIT, text_of, update_text};
use hotline_core::{ChatId, Config, MemoryStore};
use hotline_gateway::{Gateway, GatewayConfig};
use hotline_testkit::NewMessage;
use hotline_transport_telegram::{Hotline, Limits};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "telegram-posts_here-42";
const ANN: i64 = 4001;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_posted_by_telegram_reach_the_desk_and_the_bot_through_the_log() {
    let tg = common::fake().await;
    tg.add_user(hotline_testkit::NewUser::new(ANN, "Ann"));
    let config = Config::builder(ChatId(GROUP))
        .set_all([("WELCOME", "OFF")])
        .unwrap()
        .build()
        .unwrap();
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .store(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    let gateway = Gateway::new(hotline.clone(), GatewayConfig::default());
    let bots = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let telegram = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", bots.local_addr().unwrap());
    let public_url = format!("http://{}/", telegram.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = {
        let gateway = gateway.clone();
        let public_url = public_url.clone();
        tokio::spawn(async move {
            gateway
                .serve_with_telegram_webhook(bots, telegram, &public_url, SECRET, async {
                    let _ = stopped.await;
                })
                .await
        })
    };

    // Registered with Telegram, with the secret and the desk's kinds.
    tg.wait_for("setWebhook", WAIT, |tg| {
        !tg.calls_of("setWebhook").is_empty()
    })
    .await
    .unwrap();
    let registered = tg.calls_of("setWebhook")[0].params.clone();
    assert_eq!(registered["url"], public_url.as_str());
    assert_eq!(registered["secret_token"], SECRET);
    assert!(
        registered["allowed_updates"]
            .to_string()
            .contains("message_reaction"),
        "{registered}"
    );
    assert!(
        tg.calls_of("getUpdates").is_empty(),
        "no long polling beside the webhook"
    );

    // A post without the secret changes nothing.
    let http = reqwest::Client::new();
    let forged = http
        .post(&public_url)
        .json(&json!({"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": ANN, "type": "private"}, "from": {"id": ANN, "is_bot": false, "first_name": "Mallory"}, "text": "forged"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    // Ann writes: Telegram posts it; the desk opens her topic and the bot gets it.
    tg.send_message(NewMessage::text(ANN, ANN, "hello by webhook"))
        .unwrap();
    let poll = |params: Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let answer: Value = http
                .post(format!("{url}/bot{TOKEN}/getUpdates"))
                .json(&params)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["result"].as_array().cloned().unwrap_or_default()
        }
    };
    let updates = poll(json!({"timeout": 10})).await;
    assert_eq!(
        updates.iter().map(update_text).collect::<Vec<_>>(),
        ["hello by webhook"]
    );
    let offset = updates[0]["update_id"].as_i64().unwrap() + 1;
    tg.wait_for("Ann's topic", WAIT, |tg| {
        tg.messages(GROUP)
            .iter()
            .any(|m| text_of(m) == "hello by webhook" && m["message_thread_id"].is_i64())
    })
    .await
    .unwrap();
    let thread = tg
        .messages(GROUP)
        .iter()
        .find(|m| text_of(m) == "hello by webhook")
        .and_then(|m| m["message_thread_id"].as_i64())
        .unwrap();
    // An operator's answer reaches Ann, never the bot.
    tg.send_message(NewMessage::text(OPERATOR, GROUP, "Olga here").thread(thread))
        .unwrap();
    tg.wait_for("the answer", WAIT, |tg| {
        tg.messages(ANN).iter().any(|m| text_of(m) == "Olga here")
    })
    .await
    .unwrap();
    let none = poll(json!({"offset": offset, "timeout": 1})).await;
    assert!(none.is_empty(), "the bot got {none:?}");

    // The bot asks for polls too: the webhook is registered again with them.
    poll(json!({"offset": offset, "timeout": 0, "allowed_updates": ["message", "poll"]})).await;
    tg.wait_for("setWebhook with poll", WAIT, |tg| {
        tg.calls_of("setWebhook")
            .iter()
            .any(|c| c.params["allowed_updates"].to_string().contains("\"poll\""))
    })
    .await
    .unwrap();

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), serving)
        .await
        .expect("the gateway stops")
        .unwrap()
        .unwrap();
    tg.shutdown().await;
}
