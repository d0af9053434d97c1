//! Bot API semantics: envelope, errors, messages, topics, copies, updates, uploads.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hotline_testkit::{NewMessage, TestkitError};
use serde_json::{Value, json};

#[tokio::test]
async fn envelope_tokens_methods_and_body_kinds() {
    let h = H::new().await;
    let me = h.call("getMe", json!({})).await;
    assert_eq!(me["is_bot"], true);
    assert_eq!(me["id"], 123456);
    for k in [
        "can_join_groups",
        "can_read_all_group_messages",
        "supports_inline_queries",
    ] {
        assert!(me[k].is_boolean(), "getMe lacks {k}");
    }
    // Method names are case-insensitive; GET with a query string works.
    let r: Value = h
        .http
        .get(h.url("GETME"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(r["result"]["id"], 123456);
    // An empty POST body is fine.
    let resp = h.http.post(h.url("getme")).send().await.expect("post");
    assert_eq!(resp.status().as_u16(), 200);

    // Wrong token: 401 Unauthorized. Unknown method: 404 Not Found.
    let bad = format!("{}/bot123456:wrong/getMe", h.tg.api_url());
    let resp = h.http.get(bad).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
    let (code, desc, _) = h.fail("sendTelepathy", json!({})).await;
    assert_eq!((code, desc.as_str()), (404, "Not Found"));

    // Form-urlencoded with numbers as strings; query string parameters merge with the body.
    let r: Value = h
        .http
        .post(format!("{}?chat_id={ANN}", h.url("sendMessage")))
        .form(&[("text", "from a form")])
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["result"]["text"], "from a form");
    check("sendMessage", &r["result"]);
    // JSON with chat_id as a string.
    let m = h
        .call(
            "sendMessage",
            json!({"chat_id": ANN.to_string(), "text": "json"}),
        )
        .await;
    assert_eq!(m["chat"]["id"], ANN);
    h.finish().await;
}

#[tokio::test]
async fn errors_are_worded_like_telegram() {
    let h = H::new().await;
    let cases = [
        (
            "sendMessage",
            json!({"text": "x"}),
            400,
            "Bad Request: chat_id is empty",
        ),
        (
            "sendMessage",
            json!({"chat_id": ANN}),
            400,
            "Bad Request: message text is empty",
        ),
        (
            "sendMessage",
            json!({"chat_id": 424242, "text": "x"}),
            400,
            "Bad Request: chat not found",
        ),
        (
            "sendMessage",
            json!({"chat_id": ANN, "text": "x".repeat(4097)}),
            400,
            "Bad Request: message is too long",
        ),
        (
            "copyMessage",
            json!({"chat_id": ANN, "from_chat_id": ANN}),
            400,
            "Bad Request: parameter \"message_id\" is required",
        ),
        (
            "createForumTopic",
            json!({"chat_id": PLAIN_GROUP, "name": "x"}),
            400,
            "Bad Request: the chat is not a forum",
        ),
        (
            "sendMessage",
            json!({"chat_id": GROUP, "text": "x", "message_thread_id": 999}),
            400,
            "Bad Request: message thread not found",
        ),
        (
            "sendMessage",
            json!({"chat_id": ANN, "text": "x", "reply_parameters": {"message_id": 77}}),
            400,
            "Bad Request: message to be replied not found",
        ),
        (
            "sendMessage",
            json!({"chat_id": ANN, "text": "a.b", "parse_mode": "MarkdownV2"}),
            400,
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
        ),
        (
            "sendPhoto",
            json!({"chat_id": ANN, "photo": "no-such-file"}),
            400,
            "Bad Request: wrong file identifier/HTTP URL specified",
        ),
    ];
    for (method, params, code, desc) in cases {
        let (c, d, body) = h.fail(method, params.clone()).await;
        assert_eq!((c, d.as_str()), (code, desc), "{method} {params}");
        assert!(body.get("parameters").is_none(), "no parameters for {desc}");
    }
    // Exactly 4096 characters (UTF-16 units) is fine.
    h.call(
        "sendMessage",
        json!({"chat_id": ANN, "text": "é".repeat(4096)}),
    )
    .await;
    // A bot that is not an admin cannot create topics.
    h.tg.add_group(hotline_testkit::NewGroup::forum(-1003, "F").bot_is_admin(false));
    let (_, d, _) = h
        .fail("createForumTopic", json!({"chat_id": -1003, "name": "x"}))
        .await;
    assert_eq!(d, "Bad Request: not enough rights to create a topic");
    h.finish().await;
}

#[tokio::test]
async fn bot_messages_go_to_history_without_updates() {
    let h = H::new().await;
    let m = h
        .call(
            "sendMessage",
            json!({"chat_id": ANN, "text": "/start hello"}),
        )
        .await;
    assert_eq!(m["from"]["id"], 123456);
    assert_eq!(m["from"]["is_bot"], true);
    assert_eq!(m["entities"][0]["type"], "bot_command");
    assert_eq!(h.tg.messages(ANN).len(), 1);
    assert!(
        h.updates(0).await.is_empty(),
        "no update for the bot's own message"
    );

    // A user's message produces an update, with ids per chat.
    let u =
        h.tg.send_message(NewMessage::text(ANN, ANN, "hi"))
            .expect("send");
    assert_eq!(u["message_id"], 2);
    let b =
        h.tg.send_message(NewMessage::text(BOB, BOB, "yo"))
            .expect("send");
    assert_eq!(b["message_id"], 1);
    let ups = h.updates(0).await;
    assert_eq!(ups.len(), 2);
    assert_eq!(ups[0]["message"]["text"], "hi");
    assert_eq!(ups[0]["message"]["from"]["username"], "ann");
    h.finish().await;
}

#[tokio::test]
async fn forum_topics_threads_and_service_messages() {
    let h = H::new().await;
    let t = h
        .call(
            "createForumTopic",
            json!({"chat_id": GROUP, "name": "Ann Lee", "icon_color": 16766590}),
        )
        .await;
    let tid = t["message_thread_id"].as_i64().expect("thread");
    let hist = h.tg.messages(GROUP);
    assert_eq!(hist.len(), 1);
    assert_eq!(
        hist[0]["message_id"], tid,
        "thread id = creation message id"
    );
    assert_eq!(hist[0]["forum_topic_created"]["name"], "Ann Lee");
    assert_eq!(hist[0]["is_topic_message"], true);

    let m = h
        .call(
            "sendMessage",
            json!({"chat_id": GROUP, "message_thread_id": tid, "text": "card"}),
        )
        .await;
    assert_eq!(m["message_thread_id"], tid);
    assert_eq!(m["is_topic_message"], true);
    assert_eq!(m["reply_to_message"]["message_id"], tid);

    // Operator writes in the topic: the bot gets it with the thread id.
    let op =
        h.tg.send_message(NewMessage::text(OLGA, GROUP, "hello Ann").thread(tid))
            .expect("operator");
    let ups = h.drain().await;
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0]["message"]["message_thread_id"], tid);
    assert_eq!(ups[0]["message"]["is_topic_message"], true);
    // A reply without a thread id lands in the replied message's topic.
    let r =
        h.tg.send_message(
            NewMessage::text(OLGA, GROUP, "again").reply_to(op["message_id"].as_i64().expect("id")),
        )
        .expect("reply");
    assert_eq!(r["message_thread_id"], tid);

    h.call(
        "editForumTopic",
        json!({"chat_id": GROUP, "message_thread_id": tid, "name": "🟨 Ann Lee"}),
    )
    .await;
    let (_, d, _) = h
        .fail(
            "editForumTopic",
            json!({"chat_id": GROUP, "message_thread_id": tid, "name": "🟨 Ann Lee"}),
        )
        .await;
    assert_eq!(d, "Bad Request: TOPIC_NOT_MODIFIED");
    h.call(
        "closeForumTopic",
        json!({"chat_id": GROUP, "message_thread_id": tid}),
    )
    .await;
    assert!(h.tg.topics(GROUP)[0].is_closed);
    h.call(
        "reopenForumTopic",
        json!({"chat_id": GROUP, "message_thread_id": tid}),
    )
    .await;
    let kinds: Vec<_> =
        h.tg.thread_messages(GROUP, tid)
            .iter()
            .filter_map(|m| {
                [
                    "forum_topic_created",
                    "forum_topic_edited",
                    "forum_topic_closed",
                    "forum_topic_reopened",
                ]
                .into_iter()
                .find(|k| m.get(*k).is_some())
            })
            .collect();
    assert_eq!(
        kinds,
        [
            "forum_topic_created",
            "forum_topic_edited",
            "forum_topic_closed",
            "forum_topic_reopened"
        ]
    );
    assert!(
        h.drain().await.len() == 1,
        "only the operator's reply, not the bot's service messages"
    );

    // An operator closes the topic by hand: service message and update.
    let closed = h.tg.close_topic(GROUP, tid, OLGA).expect("close");
    assert_eq!(closed["forum_topic_closed"], json!({}));
    let ups = h.drain().await;
    assert_eq!(ups[0]["message"]["forum_topic_closed"], json!({}));
    assert_eq!(ups[0]["message"]["message_thread_id"], tid);
    h.tg.reopen_topic(GROUP, tid, OLGA).expect("reopen");
    assert_eq!(
        h.drain().await[0]["message"]["forum_topic_reopened"],
        json!({})
    );

    // An operator deletes the topic: no update, and sends fail as on Telegram.
    h.tg.delete_topic(GROUP, tid).expect("delete");
    assert!(h.updates(0).await.is_empty());
    let (c, d, _) = h
        .fail(
            "sendMessage",
            json!({"chat_id": GROUP, "message_thread_id": tid, "text": "x"}),
        )
        .await;
    assert_eq!(
        (c, d.as_str()),
        (400, "Bad Request: message thread not found")
    );
    let src =
        h.tg.send_message(NewMessage::text(ANN, ANN, "still there?"))
            .expect("send");
    let (_, d, _) = h
        .fail(
            "copyMessage",
            json!({"chat_id": GROUP, "message_thread_id": tid, "from_chat_id": ANN, "message_id": src["message_id"]}),
        )
        .await;
    assert_eq!(d, "Bad Request: message thread not found");
    // The bot's failed calls are visible in the call log, with their parameters.
    let calls = h.tg.calls_of("copymessage");
    assert_eq!(calls.last().expect("call").error_code, Some(400));
    assert_eq!(calls.last().expect("call").params["message_thread_id"], tid);
    assert!(h.tg.topics(GROUP)[0].deleted);
    assert!(h.tg.thread_messages(GROUP, tid).is_empty());
    h.finish().await;
}

#[tokio::test]
async fn copies_replies_forwards_and_albums() {
    let h = H::new().await;
    let tid = h
        .call("createForumTopic", json!({"chat_id": GROUP, "name": "Ann"}))
        .await["message_thread_id"]
        .as_i64()
        .expect("id");
    let src =
        h.tg.send_message(NewMessage::text(ANN, ANN, "/help me please"))
            .expect("msg");
    let copy = h
        .call(
            "copyMessage",
            json!({"chat_id": GROUP, "from_chat_id": ANN, "message_id": src["message_id"], "message_thread_id": tid}),
        )
        .await;
    let copy_id = copy["message_id"].as_i64().expect("id");
    assert_eq!(copy, json!({"message_id": copy_id}));
    let hist = h.tg.thread_messages(GROUP, tid);
    let c = hist.last().expect("copy");
    assert_eq!(c["text"], "/help me please");
    assert_eq!(c["entities"], src["entities"]);
    assert_eq!(c["from"]["id"], 123456);
    assert!(c.get("forward_origin").is_none());

    // Operator replies to the copy; the bot copies the reply back to Ann as a reply.
    let op =
        h.tg.send_message(
            NewMessage::text(OLGA, GROUP, "sure")
                .thread(tid)
                .reply_to(copy_id),
        )
        .expect("op");
    assert_eq!(op["reply_to_message"]["message_id"], copy_id);
    h.call(
        "copyMessage",
        json!({"chat_id": ANN, "from_chat_id": GROUP, "message_id": op["message_id"],
               "reply_parameters": {"message_id": src["message_id"]}}),
    )
    .await;
    let back = h.tg.messages(ANN).last().cloned().expect("back");
    assert_eq!(back["text"], "sure");
    assert_eq!(back["reply_to_message"]["message_id"], src["message_id"]);
    assert!(back["reply_to_message"].get("reply_to_message").is_none());
    // Legacy reply_to_message_id too.
    let legacy = h
        .call(
            "sendMessage",
            json!({"chat_id": ANN, "text": "legacy", "reply_to_message_id": src["message_id"]}),
        )
        .await;
    assert_eq!(legacy["reply_to_message"]["message_id"], src["message_id"]);

    // Forward keeps the origin.
    let f = h
        .call(
            "forwardMessage",
            json!({"chat_id": GROUP, "from_chat_id": ANN, "message_id": src["message_id"], "message_thread_id": tid}),
        )
        .await;
    assert_eq!(f["forward_origin"]["type"], "user");
    assert_eq!(f["forward_origin"]["sender_user"]["id"], ANN);

    // Service messages cannot be copied.
    let (_, d, _) = h
        .fail(
            "copyMessage",
            json!({"chat_id": ANN, "from_chat_id": GROUP, "message_id": tid}),
        )
        .await;
    assert_eq!(d, "Bad Request: message can't be copied");

    // An album: three photos with one media_group_id, copied together.
    let mut ids = Vec::new();
    for i in 0..3 {
        let m =
            h.tg.send_message(
                NewMessage::empty(ANN, ANN)
                    .photo(&format!("photo-{i}"))
                    .caption(&format!("p{i}"))
                    .media_group("album1"),
            )
            .expect("photo");
        ids.push(m["message_id"].as_i64().expect("id"));
    }
    let r = h
        .call(
            "copyMessages",
            json!({"chat_id": GROUP, "from_chat_id": ANN, "message_ids": ids, "message_thread_id": tid}),
        )
        .await;
    assert_eq!(r.as_array().expect("array").len(), 3);
    let hist = h.tg.thread_messages(GROUP, tid);
    let copies = &hist[hist.len() - 3..];
    let group_id = copies[0]["media_group_id"].clone();
    assert!(group_id.is_string());
    assert_ne!(group_id, json!("album1"));
    for (i, c) in copies.iter().enumerate() {
        assert_eq!(
            c["media_group_id"], group_id,
            "copies keep the album together"
        );
        assert_eq!(c["caption"], format!("p{i}"));
        assert_eq!(c["photo"][0]["file_id"], format!("photo-{i}"));
    }
    h.finish().await;
}

#[tokio::test]
async fn blocked_user_gets_403_and_my_chat_member() {
    let h = H::new().await;
    h.tg.block_user(ANN);
    let (c, d, _) = h
        .fail("sendMessage", json!({"chat_id": ANN, "text": "x"}))
        .await;
    assert_eq!(
        (c, d.as_str()),
        (403, "Forbidden: bot was blocked by the user")
    );
    let (c, _, _) = h
        .fail(
            "sendChatAction",
            json!({"chat_id": ANN, "action": "typing"}),
        )
        .await;
    assert_eq!(c, 403);
    let ups = h.drain().await;
    assert_eq!(ups.len(), 1);
    let mcm = &ups[0]["my_chat_member"];
    assert_eq!(mcm["old_chat_member"]["status"], "member");
    assert_eq!(mcm["new_chat_member"]["status"], "kicked");
    assert_eq!(mcm["from"]["id"], ANN);
    h.tg.unblock_user(ANN);
    h.call("sendMessage", json!({"chat_id": ANN, "text": "back"}))
        .await;
    assert_eq!(
        h.drain().await[0]["my_chat_member"]["new_chat_member"]["status"],
        "member"
    );
    h.finish().await;
}

#[tokio::test]
async fn get_updates_offsets_limits_and_allowed_updates() {
    let h = H::new().await;
    for i in 0..5 {
        h.tg.send_message(NewMessage::text(ANN, ANN, &format!("m{i}")))
            .expect("send");
    }
    let all = h.updates(0).await;
    assert_eq!(all.len(), 5);
    let first = all[0]["update_id"].as_i64().expect("id");
    let ids: Vec<i64> = all
        .iter()
        .map(|u| u["update_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, (first..first + 5).collect::<Vec<_>>());
    // limit
    let two = h
        .call("getUpdates", json!({"limit": 2, "timeout": 0}))
        .await;
    assert_eq!(two.as_array().expect("a").len(), 2);
    // offset confirms earlier updates
    let rest = h.updates(first + 2).await;
    assert_eq!(rest.len(), 3);
    assert_eq!(h.updates(0).await.len(), 3, "confirmed updates are gone");
    // negative offset: the last N, forgetting the others
    let last = h.updates(-1).await;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["message"]["text"], "m4");
    assert_eq!(h.updates(0).await.len(), 1);
    h.drain().await;

    // Reactions only when asked for, as on Telegram.
    h.tg.react(ANN, ANN, 1, "👍").expect("react");
    assert!(
        h.updates(0).await.is_empty(),
        "message_reaction is not in the default set"
    );
    h.call(
        "getUpdates",
        json!({"timeout": 0, "allowed_updates": ["message", "message_reaction"]}),
    )
    .await;
    let r = h.tg.react(ANN, ANN, 1, "🔥").expect("react");
    assert_eq!(r["old_reaction"][0]["emoji"], "👍");
    let ups = h.updates(0).await;
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0]["message_reaction"]["new_reaction"][0]["emoji"], "🔥");
    // allowed_updates as a JSON string in a form body
    let r: Value = h
        .http
        .post(h.url("getUpdates"))
        .form(&[
            ("timeout", "0"),
            ("allowed_updates", "[\"callback_query\"]"),
        ])
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ok"], true);
    h.drain().await;
    h.tg.send_message(NewMessage::text(ANN, ANN, "filtered"))
        .expect("send");
    assert!(
        h.updates(0).await.is_empty(),
        "message is no longer allowed"
    );
    h.finish().await;
}

#[tokio::test]
async fn long_poll_waits_and_wakes() {
    let h = H::new().await;
    // timeout=0 returns at once
    let t0 = Instant::now();
    h.updates(0).await;
    assert!(t0.elapsed() < Duration::from_millis(500));
    // nothing queued: waits the whole timeout
    let t0 = Instant::now();
    let r = h.call("getUpdates", json!({"timeout": 1})).await;
    assert!(r.as_array().expect("a").is_empty());
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    // an update queued during the poll wakes it at once
    let tg = h.tg.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tg.send_message(NewMessage::text(ANN, ANN, "wake up"))
            .expect("send");
    });
    let t0 = Instant::now();
    let r = h.call("getUpdates", json!({"timeout": 20})).await;
    let took = t0.elapsed();
    assert_eq!(r[0]["message"]["text"], "wake up");
    assert!(took < Duration::from_secs(2), "woke after {took:?}");
    assert!(took >= Duration::from_millis(250));

    // A second poller makes the first one answer 409, as Telegram does.
    h.drain().await;
    let h2 = reqwest::Client::new();
    let url = h.url("getUpdates");
    let first = tokio::spawn(async move {
        let r = h2
            .post(url)
            .json(&json!({"offset": 0, "timeout": 10}))
            .send()
            .await
            .expect("poll");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    });
    let polls_before = h.tg.stats().calls_of("getUpdates");
    h.tg.wait_for("the first poll to arrive", Duration::from_secs(10), |t| {
        t.stats().calls_of("getUpdates") > polls_before
    })
    .await
    .expect("first poll");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = h.call("getUpdates", json!({"timeout": 0})).await;
    assert!(second.as_array().expect("a").is_empty());
    let (status, body) = first.await.expect("join");
    assert_eq!(status, 409);
    assert!(
        body["description"]
            .as_str()
            .expect("d")
            .starts_with("Conflict: terminated by other getUpdates request")
    );
    h.finish().await;
}

#[tokio::test]
async fn multipart_uploads_and_files() {
    let h = H::new().await;
    let form = reqwest::multipart::Form::new()
        .text("chat_id", ANN.to_string())
        .text("caption", "<b>look</b>")
        .text("parse_mode", "HTML")
        .part(
            "photo",
            reqwest::multipart::Part::bytes(b"\x89PNG fake".to_vec())
                .file_name("cat.png")
                .mime_str("image/png")
                .expect("mime"),
        );
    let r: Value = h
        .http
        .post(h.url("sendPhoto"))
        .multipart(form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    check("sendPhoto", &r["result"]);
    let photo = &r["result"]["photo"][0];
    assert_eq!(r["result"]["caption"], "look");
    assert_eq!(r["result"]["caption_entities"][0]["type"], "bold");
    let file_id = photo["file_id"].as_str().expect("file_id").to_owned();
    assert_eq!(photo["file_size"], 9);
    // The file_id can be sent again and downloaded.
    h.call("sendPhoto", json!({"chat_id": BOB, "photo": file_id}))
        .await;
    let f = h.call("getFile", json!({"file_id": file_id})).await;
    let path = f["file_path"].as_str().expect("path");
    let bytes = h
        .http
        .get(format!(
            "{}/file/bot{}/{path}",
            h.tg.api_url(),
            h.tg.token()
        ))
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(&bytes[..], b"\x89PNG fake");

    // A media group with two uploads by attach:// and a document by file_id.
    let form = reqwest::multipart::Form::new()
        .text("chat_id", ANN.to_string())
        .text(
            "media",
            json!([
                {"type": "photo", "media": "attach://a", "caption": "first"},
                {"type": "photo", "media": "attach://b"},
                {"type": "photo", "media": file_id},
            ])
            .to_string(),
        )
        .part(
            "a",
            reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("a.jpg"),
        )
        .part(
            "b",
            reqwest::multipart::Part::bytes(vec![4, 5]).file_name("b.jpg"),
        );
    let r: Value = h
        .http
        .post(h.url("sendMediaGroup"))
        .multipart(form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ok"], true, "{r}");
    check("sendMediaGroup", &r["result"]);
    let msgs = r["result"].as_array().expect("a");
    assert_eq!(msgs.len(), 3);
    assert!(
        msgs.iter()
            .all(|m| m["media_group_id"] == msgs[0]["media_group_id"])
    );
    assert_eq!(msgs[0]["caption"], "first");

    // Every other media kind by upload.
    for (method, field) in [
        ("sendDocument", "document"),
        ("sendVideo", "video"),
        ("sendVoice", "voice"),
        ("sendVideoNote", "video_note"),
        ("sendSticker", "sticker"),
        ("sendAudio", "audio"),
        ("sendAnimation", "animation"),
    ] {
        let form = reqwest::multipart::Form::new()
            .text("chat_id", ANN.to_string())
            .part(
                field,
                reqwest::multipart::Part::bytes(vec![0; 10]).file_name("f.bin"),
            );
        let r: Value = h
            .http
            .post(h.url(method))
            .multipart(form)
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        assert_eq!(r["ok"], true, "{method}: {r}");
        check(method, &r["result"]);
        assert!(r["result"][field]["file_id"].is_string(), "{method}");
    }
    h.finish().await;
}

#[tokio::test]
async fn form_bodies_keyboards_callbacks_edits_reactions() {
    let h = H::new().await;
    let kb = json!({"inline_keyboard": [[{"text": "FAQ", "callback_data": "faq:1"}]]});
    let r: Value = h
        .http
        .post(h.url("sendMessage"))
        .form(&[
            ("chat_id", ANN.to_string()),
            ("text", "pick".to_owned()),
            ("reply_markup", kb.to_string()),
        ])
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    check("sendMessage", &r["result"]);
    assert_eq!(r["result"]["reply_markup"], kb);
    let mid = r["result"]["message_id"].as_i64().expect("id");

    let cq = h.tg.press_button(ANN, ANN, mid, "faq:1").expect("press");
    assert!(matches!(
        h.tg.press_button(ANN, ANN, mid, "nope"),
        Err(TestkitError::Invalid(_))
    ));
    let ups = h.drain().await;
    assert_eq!(ups[0]["callback_query"]["data"], "faq:1");
    assert_eq!(ups[0]["callback_query"]["message"]["message_id"], mid);
    h.call(
        "answerCallbackQuery",
        json!({"callback_query_id": cq["id"], "text": "ok"}),
    )
    .await;
    assert_eq!(
        h.tg.callback_answer(cq["id"].as_str().expect("id"))
            .expect("answer")["text"],
        "ok"
    );
    let (_, d, _) = h
        .fail(
            "answerCallbackQuery",
            json!({"callback_query_id": cq["id"]}),
        )
        .await;
    assert!(d.contains("query is too old"), "{d}");

    // The bot edits its message; same content again is "not modified".
    let e = h
        .call(
            "editMessageText",
            json!({"chat_id": ANN, "message_id": mid, "text": "picked", "reply_markup": kb}),
        )
        .await;
    assert_eq!(e["text"], "picked");
    assert!(e["edit_date"].is_i64());
    let (_, d, _) = h
        .fail(
            "editMessageText",
            json!({"chat_id": ANN, "message_id": mid, "text": "picked", "reply_markup": kb}),
        )
        .await;
    assert!(d.starts_with("Bad Request: message is not modified"), "{d}");
    assert_eq!(h.tg.messages(ANN)[0]["text"], "picked");

    // A user's edit produces edited_message.
    let u =
        h.tg.send_message(NewMessage::text(ANN, ANN, "typo"))
            .expect("send");
    let uid = u["message_id"].as_i64().expect("id");
    let (_, d, _) = h
        .fail(
            "editMessageText",
            json!({"chat_id": ANN, "message_id": uid, "text": "x"}),
        )
        .await;
    assert_eq!(d, "Bad Request: message can't be edited");
    h.tg.edit_message(ANN, ANN, uid, "fixed").expect("edit");
    let ups = h.drain().await;
    assert_eq!(ups.last().expect("u")["edited_message"]["text"], "fixed");
    assert_eq!(h.tg.messages(ANN).last().expect("m")["text"], "fixed");

    // Caption edits, reactions, deletes.
    let p =
        h.tg.send_message(NewMessage::empty(ANN, ANN).photo("ph1"))
            .expect("photo");
    let sent = h
        .call(
            "sendPhoto",
            json!({"chat_id": ANN, "photo": "ph1", "caption": "a"}),
        )
        .await;
    let c = h
        .call(
            "editMessageCaption",
            json!({"chat_id": ANN, "message_id": sent["message_id"], "caption": "b"}),
        )
        .await;
    assert_eq!(c["caption"], "b");
    h.call(
        "setMessageReaction",
        json!({"chat_id": ANN, "message_id": p["message_id"], "reaction": [{"type": "emoji", "emoji": "👍"}]}),
    )
    .await;
    assert_eq!(
        h.tg.bot_reactions(ANN, p["message_id"].as_i64().expect("id"))[0]["emoji"],
        "👍"
    );
    h.call(
        "deleteMessage",
        json!({"chat_id": ANN, "message_id": sent["message_id"]}),
    )
    .await;
    let (_, d, _) = h
        .fail(
            "deleteMessage",
            json!({"chat_id": ANN, "message_id": sent["message_id"]}),
        )
        .await;
    assert_eq!(d, "Bad Request: message to delete not found");
    h.finish().await;
}

#[tokio::test]
async fn misc_methods_and_privacy_mode() {
    let h = H::new().await;
    h.call(
        "setMyCommands",
        json!({"commands": [{"command": "help", "description": "Help"}]}),
    )
    .await;
    let cmds = h.call("getMyCommands", json!({})).await;
    assert_eq!(cmds[0]["command"], "help");
    let (_, d, _) = h
        .fail(
            "setMyCommands",
            json!({"commands": [{"command": "Bad Command", "description": "x"}]}),
        )
        .await;
    assert_eq!(d, "Bad Request: BOT_COMMAND_INVALID");
    h.call(
        "setChatMenuButton",
        json!({"chat_id": ANN, "menu_button": {"type": "commands"}}),
    )
    .await;
    assert_eq!(
        h.call("getChatMenuButton", json!({"chat_id": ANN})).await["type"],
        "commands"
    );
    let chat = h.call("getChat", json!({"chat_id": GROUP})).await;
    assert_eq!(chat["is_forum"], true);
    let chat = h.call("getChat", json!({"chat_id": ANN})).await;
    assert_eq!(chat["username"], "ann");
    let me = h
        .call(
            "getChatMember",
            json!({"chat_id": GROUP, "user_id": 123456}),
        )
        .await;
    assert_eq!(me["status"], "administrator");
    assert_eq!(me["can_manage_topics"], true);
    let olga = h
        .call("getChatMember", json!({"chat_id": GROUP, "user_id": OLGA}))
        .await;
    assert_eq!(olga["status"], "member");
    let ann = h
        .call("getChatMember", json!({"chat_id": GROUP, "user_id": ANN}))
        .await;
    assert_eq!(ann["status"], "left");
    h.call(
        "sendChatAction",
        json!({"chat_id": ANN, "action": "typing"}),
    )
    .await;
    let (_, d, _) = h
        .fail(
            "sendChatAction",
            json!({"chat_id": ANN, "action": "dancing"}),
        )
        .await;
    assert_eq!(d, "Bad Request: wrong parameter action in request");
    let html = h
        .call(
            "sendMessage",
            json!({"chat_id": ANN, "text": "<i>a</i> &amp; <a href=\"https://t.me\">b</a>", "parse_mode": "HTML"}),
        )
        .await;
    assert_eq!(html["text"], "a & b");
    assert_eq!(html["entities"][1]["url"], "https://t.me");

    // Privacy mode in a group where the bot is not admin: only commands reach it.
    h.tg.send_message(NewMessage::text(OLGA, PLAIN_GROUP, "chatter"))
        .expect("send");
    h.tg.send_message(NewMessage::text(OLGA, PLAIN_GROUP, "/help"))
        .expect("send");
    let ups = h.drain().await;
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0]["message"]["text"], "/help");
    assert_eq!(h.tg.messages(PLAIN_GROUP).len(), 2);
    // Non-members cannot write in a group through the control plane.
    assert!(
        h.tg.send_message(NewMessage::text(ANN, GROUP, "x"))
            .is_err()
    );
    h.finish().await;
}

#[tokio::test]
async fn loopback_calls_take_milliseconds_not_nagle_delays() {
    let h = H::new().await;
    h.call("getMe", json!({})).await; // open the keep-alive connection
    let mut lat = Vec::new();
    for i in 0..50 {
        let t0 = Instant::now();
        h.call(
            "sendMessage",
            json!({"chat_id": ANN, "text": format!("n{i}")}),
        )
        .await;
        lat.push(t0.elapsed());
    }
    lat.sort_unstable();
    // With Nagle + delayed ACK each call would take ~40 ms.
    assert!(lat[25] < Duration::from_millis(20), "median {:?}", lat[25]);
    h.finish().await;
}
