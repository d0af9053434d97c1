//! The HTTP control plane under /_testkit/, end to end.

mod common;

use common::*;
use serde_json::{Value, json};

async fn cp(h: &H, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = h
        .http
        .request(method, format!("{}/_testkit/{path}", h.tg.api_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

async fn ok(h: &H, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let (status, v) = cp(h, method, path, body.clone()).await;
    assert_eq!(
        (status, &v["ok"]),
        (200, &json!(true)),
        "{path} {body:?}: {v}"
    );
    v["result"].clone()
}

#[tokio::test]
async fn control_plane_contract() {
    use reqwest::Method as M;
    let h = H::new().await;
    let user = ok(
        &h,
        M::POST,
        "users",
        Some(json!({"id": 1005, "first_name": "Eve", "last_name": "Ng", "username": "eve", "language_code": "de"})),
    )
    .await;
    check_type("User", &user);
    assert_eq!(user["language_code"], "de");
    let chat = ok(
        &h,
        M::POST,
        "groups",
        Some(json!({"id": -1009, "title": "Desk", "is_forum": true, "bot_is_admin": true})),
    )
    .await;
    check_type("Chat", &chat);
    assert_eq!(chat["is_forum"], true);
    ok(
        &h,
        M::POST,
        "users",
        Some(json!({"id": 2009, "first_name": "Op"})),
    )
    .await;
    ok(
        &h,
        M::POST,
        "groups/-1009/members",
        Some(json!({"user_id": 2009})),
    )
    .await;

    // A user message, as the bot receives it.
    let m = ok(
        &h,
        M::POST,
        "messages",
        Some(json!({"from": 1005, "chat_id": 1005, "text": "/start ref42"})),
    )
    .await;
    check_type("Message", &m);
    assert_eq!(m["entities"][0]["type"], "bot_command");
    let ups = h.drain().await;
    assert_eq!(ups[0]["message"], m);

    // Topic created by the bot, operator writes in it with a photo.
    let topic = h
        .call("createForumTopic", json!({"chat_id": -1009, "name": "Eve"}))
        .await;
    let tid = topic["message_thread_id"].as_i64().expect("tid");
    let photo = ok(
        &h,
        M::POST,
        "messages",
        Some(json!({"from": 2009, "chat_id": -1009, "message_thread_id": tid, "photo": "AgACfile", "caption": "see"})),
    )
    .await;
    check_type("Message", &photo);
    assert_eq!(photo["photo"][0]["file_id"], "AgACfile");
    assert_eq!(photo["caption"], "see");
    let doc = ok(
        &h,
        M::POST,
        "messages",
        Some(json!({"from": 2009, "chat_id": -1009, "message_thread_id": tid, "document": "BQACdoc", "reply_to_message_id": photo["message_id"], "media_group_id": "g1"})),
    )
    .await;
    assert_eq!(doc["reply_to_message"]["message_id"], photo["message_id"]);
    assert_eq!(doc["media_group_id"], "g1");

    // Edits, callbacks, reactions.
    let e = ok(
        &h,
        M::POST,
        "edits",
        Some(json!({"from": 1005, "chat_id": 1005, "message_id": m["message_id"], "text": "/start ref43"})),
    )
    .await;
    assert_eq!(e["text"], "/start ref43");
    let sent = h
        .call(
            "sendMessage",
            json!({"chat_id": 1005, "text": "menu", "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "faq:1"}]]}}),
        )
        .await;
    let cq = ok(
        &h,
        M::POST,
        "callbacks",
        Some(json!({"from": 1005, "chat_id": 1005, "message_id": sent["message_id"], "data": "faq:1"})),
    )
    .await;
    check_type("CallbackQuery", &cq);
    h.call(
        "answerCallbackQuery",
        json!({"callback_query_id": cq["id"], "text": "done"}),
    )
    .await;
    let ans = ok(
        &h,
        M::GET,
        &format!("callbacks/{}", cq["id"].as_str().expect("id")),
        None,
    )
    .await;
    assert_eq!(ans["text"], "done");
    let r = ok(
        &h,
        M::POST,
        "reactions",
        Some(
            json!({"from": 1005, "chat_id": 1005, "message_id": sent["message_id"], "emoji": "❤"}),
        ),
    )
    .await;
    check_type("MessageReactionUpdated", &r);

    // Chat history, whole and by thread.
    let all = ok(&h, M::GET, "chats/-1009/messages", None).await;
    assert_eq!(all.as_array().expect("a").len(), 3);
    for m in all.as_array().expect("a") {
        check_type("Message", m);
    }
    let thread = ok(
        &h,
        M::GET,
        &format!("chats/-1009/messages?message_thread_id={tid}"),
        None,
    )
    .await;
    assert_eq!(thread.as_array().expect("a").len(), 3);

    // Topics: close / reopen (as the first member by default) / delete.
    let closed = ok(
        &h,
        M::POST,
        &format!("groups/-1009/topics/{tid}/close"),
        None,
    )
    .await;
    assert_eq!(closed["from"]["id"], 2009);
    let topics = ok(&h, M::GET, "groups/-1009/topics", None).await;
    assert_eq!(topics[0]["message_thread_id"], tid);
    assert_eq!(topics[0]["name"], "Eve");
    assert_eq!(topics[0]["is_closed"], true);
    ok(
        &h,
        M::POST,
        &format!("groups/-1009/topics/{tid}/reopen"),
        Some(json!({"from": 2009})),
    )
    .await;
    ok(
        &h,
        M::POST,
        &format!("groups/-1009/topics/{tid}/delete"),
        None,
    )
    .await;
    let (c, _, _) = h
        .fail(
            "sendMessage",
            json!({"chat_id": -1009, "message_thread_id": tid, "text": "x"}),
        )
        .await;
    assert_eq!(c, 400);

    // Block / unblock.
    ok(&h, M::POST, "users/1005/block", None).await;
    let (c, _, _) = h
        .fail("sendMessage", json!({"chat_id": 1005, "text": "x"}))
        .await;
    assert_eq!(c, 403);
    ok(&h, M::POST, "users/1005/unblock", None).await;
    h.call("sendMessage", json!({"chat_id": 1005, "text": "x"}))
        .await;

    // Pending updates and stats.
    let pending = ok(&h, M::GET, "updates", None).await;
    assert!(pending.as_array().expect("a").len() >= 3);
    let stats = ok(&h, M::GET, "stats", None).await;
    assert!(stats["calls"]["sendMessage"].as_u64().expect("n") >= 2);
    assert!(stats["too_many_requests"].is_u64());
    assert!(stats["faults_injected"].is_u64());

    // Errors use the envelope too.
    let (status, v) = cp(
        &h,
        M::POST,
        "messages",
        Some(json!({"from": 1005, "chat_id": -1009, "text": "x"})),
    )
    .await;
    assert_eq!((status, &v["ok"]), (400, &json!(false)));
    assert!(
        v["description"]
            .as_str()
            .expect("d")
            .contains("not a member")
    );
    let (status, _) = cp(&h, M::GET, "chats/424242/messages", None).await;
    assert_eq!(status, 404);
    let (status, v) = cp(&h, M::POST, "users", Some(json!({"first_name": "no id"}))).await;
    assert_eq!((status, &v["ok"]), (400, &json!(false)));
    h.finish().await;
}

#[tokio::test]
async fn wait_for_names_what_it_waited_for() {
    let h = H::new().await;
    let err =
        h.tg.wait_for(
            "a message to Bob",
            std::time::Duration::from_millis(100),
            |t| !t.messages(BOB).is_empty(),
        )
        .await
        .expect_err("times out");
    let text = err.to_string();
    assert!(text.contains("a message to Bob"), "{text}");
    assert!(text.contains("pending updates"), "{text}");
    // And it wakes on change.
    let tg = h.tg.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        tg.send_message(hotline_testkit::NewMessage::text(BOB, BOB, "hi"))
            .expect("send");
    });
    h.tg.wait_for("Bob's message", std::time::Duration::from_secs(5), |t| {
        !t.messages(BOB).is_empty()
    })
    .await
    .expect("woken");
    h.finish().await;
}
