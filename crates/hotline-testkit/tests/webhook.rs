//! Webhooks: pushed updates with the secret header, 409 for getUpdates meanwhile, replies
//! that are method calls, retries after failures.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use hotline_testkit::NewMessage;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A local webhook receiver: forwards (secret header, update) to the channel and answers
/// with `reply` (status, body).
async fn receiver(
    reply: (u16, Value),
) -> (String, mpsc::UnboundedReceiver<(Option<String>, Value)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            let reply = reply.clone();
            async move {
                let secret = headers
                    .get("x-telegram-bot-api-secret-token")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let update: Value = serde_json::from_slice(&body).expect("update json");
                let _ = tx.send((secret, update));
                (
                    StatusCode::from_u16(reply.0).expect("status"),
                    [("content-type", "application/json")],
                    reply.1.to_string(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), rx)
}

async fn next(
    rx: &mut mpsc::UnboundedReceiver<(Option<String>, Value)>,
) -> (Option<String>, Value) {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("webhook delivery within 5 s")
        .expect("channel open")
}

#[tokio::test]
async fn webhook_round_trip_with_secret_and_conflict() {
    let h = H::new().await;
    let (url, mut rx) = receiver((200, json!({}))).await;
    // An update queued before the webhook is set is delivered once it is.
    h.tg.send_message(NewMessage::text(ANN, ANN, "early"))
        .expect("send");
    h.call(
        "setWebhook",
        json!({"url": url, "secret_token": "s3cr3t_-X", "allowed_updates": ["message", "callback_query"]}),
    )
    .await;
    let (secret, update) = next(&mut rx).await;
    assert_eq!(secret.as_deref(), Some("s3cr3t_-X"));
    assert_eq!(update["message"]["text"], "early");
    check_type("Update", &update);

    h.tg.send_message(NewMessage::text(BOB, BOB, "via hook"))
        .expect("send");
    let (_, update) = next(&mut rx).await;
    assert_eq!(update["message"]["text"], "via hook");

    // getUpdates is refused while a webhook is set.
    let (code, desc, _) = h.fail("getUpdates", json!({"timeout": 0})).await;
    assert_eq!(code, 409);
    assert!(desc.starts_with("Conflict: can't use getUpdates method while webhook is active"));

    let info = h.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["url"], url);
    assert_eq!(info["pending_update_count"], 0);
    assert_eq!(
        info["allowed_updates"],
        json!(["message", "callback_query"])
    );

    h.call("deleteWebhook", json!({})).await;
    let info = h.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["url"], "");
    h.tg.send_message(NewMessage::text(ANN, ANN, "polled"))
        .expect("send");
    let ups = h.updates(0).await;
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0]["message"]["text"], "polled");
    assert!(rx.try_recv().is_err(), "nothing pushed after deleteWebhook");
    h.finish().await;
}

#[tokio::test]
async fn webhook_reply_can_be_a_method_call() {
    let h = H::new().await;
    let (url, mut rx) = receiver((
        200,
        json!({"method": "sendMessage", "chat_id": ANN, "text": "auto-reply"}),
    ))
    .await;
    h.call("setWebhook", json!({"url": url})).await;
    h.tg.send_message(NewMessage::text(ANN, ANN, "hello"))
        .expect("send");
    let (secret, _) = next(&mut rx).await;
    assert_eq!(secret, None, "no secret header without secret_token");
    h.tg.wait_for("the auto-reply", Duration::from_secs(5), |t| {
        t.messages(ANN).iter().any(|m| m["text"] == "auto-reply")
    })
    .await
    .expect("reply executed");
    h.finish().await;
}

#[tokio::test]
async fn failed_deliveries_are_retried_in_order() {
    let h = H::new().await;
    // Nothing listens at this port (bind, then drop the listener).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    h.call("setWebhook", json!({"url": format!("http://{dead}/hook")}))
        .await;
    h.tg.send_message(NewMessage::text(ANN, ANN, "one"))
        .expect("send");
    h.tg.send_message(NewMessage::text(ANN, ANN, "two"))
        .expect("send");
    h.tg.wait_for("a failed delivery", Duration::from_secs(5), |t| {
        t.stats().webhook_errors > 0
    })
    .await
    .expect("errors");
    let info = h.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["pending_update_count"], 2);
    assert!(info["last_error_message"].is_string());
    // Now a live receiver: both arrive, in order.
    let (url, mut rx) = receiver((200, json!(true))).await;
    h.call("setWebhook", json!({"url": url})).await;
    assert_eq!(next(&mut rx).await.1["message"]["text"], "one");
    assert_eq!(next(&mut rx).await.1["message"]["text"], "two");
    h.finish().await;
}
