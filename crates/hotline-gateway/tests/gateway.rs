//! The gateway end to end: a "bot" (reqwest) calls it as it would call Telegram; the fake
//! Telegram behind it plays the users and operators. Asserted on what the bot, the users and
//! the operators see.

mod common;

use common::{GROUP, TOKEN, WAIT, start, text_of, update_text};
use serde_json::{Value, json};
use std::time::Duration;

const ANN: i64 = 1001;
const BOB: i64 = 1002;

// ----- the token ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_and_never_forwarded() {
    let env = start().await;
    for path in [
        "/bot777001:wrong/getMe",
        "/bot777001:E2E-secret-token-VALU/sendMessage",
        "/botx/getUpdates",
        "/file/bot777001:wrong/photos/a.jpg",
    ] {
        let response = env
            .http
            .get(format!("{}{path}", env.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
        );
    }
    assert!(env.tg.calls_of("getMe").is_empty());
    assert!(env.tg.calls_of("sendMessage").is_empty());
    // The gateway's Debug names the bot by its id alone.
    let shown = format!("{:?}", env.gateway);
    assert!(!shown.contains("E2E-secret"), "{shown}");
    assert!(shown.contains("777001"), "{shown}");
    env.stop().await;
}

// ----- passthrough -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_pass_through_and_telegram_errors_come_back_verbatim() {
    let env = start().await;
    env.user(ANN, "Ann");
    let (status, me) = env.call("getMe", json!({})).await;
    assert_eq!(status, 200);
    let direct: Value = env
        .http
        .get(format!("{}/bot{TOKEN}/getMe", env.tg.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, direct);
    assert_eq!(me["result"]["id"], 777_001);

    // An error: the same status and body as Telegram's (the fake's, called directly).
    let through = env
        .http
        .post(env.method_url("sendMessage"))
        .json(&json!({"chat_id": 999, "text": "nobody"}))
        .send()
        .await
        .unwrap();
    let direct = env
        .http
        .post(format!("{}/bot{TOKEN}/sendMessage", env.tg.api_url()))
        .json(&json!({"chat_id": 999, "text": "nobody"}))
        .send()
        .await
        .unwrap();
    assert_eq!(through.status(), direct.status());
    assert_eq!(through.status().as_u16(), 400);
    assert_eq!(
        through.headers().get("content-type"),
        direct.headers().get("content-type")
    );
    assert_eq!(through.text().await.unwrap(), direct.text().await.unwrap());

    // teloxide's PascalCase.
    let (status, sent) = env
        .call("SendMessage", json!({"chat_id": ANN, "text": "pascal"}))
        .await;
    assert_eq!(status, 200, "{sent}");
    // Form-urlencoded (aiogram, PTB).
    let form = env
        .http
        .post(env.method_url("sendMessage"))
        .form(&[("chat_id", ANN.to_string()), ("text", "form".to_owned())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);
    // Parameters in the query string, GET.
    let query = env
        .http
        .get(env.method_url("sendMessage"))
        .query(&[("chat_id", ANN.to_string()), ("text", "query".to_owned())])
        .send()
        .await
        .unwrap();
    assert_eq!(query.status().as_u16(), 200);
    // Multipart, chunked (a streamed part: no Content-Length), as aiogram and grammY upload.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(b"\x89PNG fake ".to_vec()), Ok(vec![7u8; 4096])];
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(
        futures_util::stream::iter(chunks),
    ))
    .file_name("a.png")
    .mime_str("image/png")
    .unwrap();
    let multipart = reqwest::multipart::Form::new()
        .text("chat_id", ANN.to_string())
        .text("caption", "multipart")
        .part("photo", part);
    let upload = env
        .http
        .post(env.method_url("sendPhoto"))
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 200);
    let texts: Vec<String> = env.tg.messages(ANN).iter().map(text_of).collect();
    assert_eq!(texts, ["pascal", "form", "query", "multipart"]);
    let photo = &env.tg.messages(ANN)[3]["photo"];
    assert!(photo.as_array().is_some_and(|p| !p.is_empty()), "{photo}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_larger_than_the_body_limit_streams_through() {
    let env = start().await;
    env.user(ANN, "Ann");
    // 3 MiB in 64 KiB chunks, chunked: the 1 MiB bound is for bodies that are not uploads.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..48).map(|i| Ok(vec![i as u8; 64 << 10])).collect();
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(
        futures_util::stream::iter(chunks),
    ))
    .file_name("big.bin");
    let form = reqwest::multipart::Form::new()
        .text("chat_id", ANN.to_string())
        .part("document", part);
    let response = env
        .http
        .post(env.method_url("sendDocument"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let sent: Value = response.json().await.unwrap();
    assert_eq!(sent["result"]["document"]["file_size"], 3 << 20, "{sent}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_with_413() {
    let env = start().await;
    env.user(ANN, "Ann");
    let text = "x".repeat(2 << 20);
    let (status, body) = env
        .call("sendMessage", json!({"chat_id": ANN, "text": text}))
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error_code"], 413);
    assert!(env.tg.calls_of("sendMessage").is_empty());
    // The same bound for the methods the gateway answers; unreadable JSON is a 400.
    let (status, _) = env
        .call("getUpdates", json!({"allowed_updates": [text]}))
        .await;
    assert_eq!(status, 413);
    let bad = env
        .http
        .post(env.method_url("getUpdates"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert!(
        bad["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Bad Request: ")),
        "{bad}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_download_through_the_gateway_however_the_bot_encodes_the_path() {
    let env = start().await;
    env.user(ANN, "Ann");
    let bytes = b"\x89PNG the picture's bytes".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("chat_id", ANN.to_string())
        .part(
            "photo",
            reqwest::multipart::Part::bytes(bytes.clone())
                .file_name("p.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let sent: Value = env
        .http
        .post(env.method_url("sendPhoto"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file_id = sent["result"]["photo"]
        .as_array()
        .and_then(|sizes| sizes.last())
        .and_then(|size| size["file_id"].as_str())
        .expect("a photo")
        .to_owned();
    let (_, file) = env.call("getFile", json!({"file_id": file_id})).await;
    let path = file["result"]["file_path"].as_str().expect("file_path");
    assert!(path.starts_with("photos/"), "{path}");
    let (dir, name) = path.split_once('/').unwrap();
    let encoded_token = TOKEN.replace(':', "%3A");
    for url in [
        // aiogram, telegraf
        format!("{}/file/bot{TOKEN}/{path}", env.url),
        // PTB: the token percent-encoded
        format!("{}/file/bot{encoded_token}/{path}", env.url),
        // teloxide: `/` in the path encoded
        format!("{}/file/bot{TOKEN}/{dir}%2F{name}", env.url),
    ] {
        let response = env.http.get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{url}");
        assert_eq!(response.bytes().await.unwrap().to_vec(), bytes, "{url}");
    }
    let missing = env
        .http
        .get(format!("{}/file/bot{TOKEN}/photos/nothing", env.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    env.stop().await;
}

/// The status line's code of a request sent as written (clients resolve dot segments first).
async fn raw_status(env: &common::Env, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = env.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("{answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_cannot_reach_a_method_the_gateway_answers_itself() {
    let env = start().await;
    for path in [
        format!("/file/bot{TOKEN}/photos/../../../bot{TOKEN}/logOut"),
        format!("/file/bot{TOKEN}/photos/%2e%2e/%2E%2E/..%2F..%2Fbot{TOKEN}/logOut"),
        format!("/file/bot{TOKEN}/photos%2F..%2F..%2F..%2Fbot{TOKEN}%2FlogOut"),
        format!("/bot{TOKEN}/sendMessage/../logOut"),
        format!("/bot{TOKEN}/test/../logOut"),
    ] {
        assert_eq!(raw_status(&env, &path).await, 404, "{path}");
    }
    assert!(env.tg.calls_of("logOut").is_empty());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_and_close_are_answered_and_never_forwarded() {
    let env = start().await;
    for method in ["logOut", "close", "LogOut"] {
        let (status, body) = env.call(method, json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"ok": true, "result": true}));
    }
    assert!(env.tg.calls_of("logOut").is_empty());
    assert!(env.tg.calls_of("close").is_empty());
    env.stop().await;
}

// ----- mirroring ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_sends_to_a_user_with_a_topic_are_mirrored_into_it() {
    let env = start().await;
    env.user(ANN, "Ann");
    env.say(ANN, "hi");
    let topic = env.topic_of(ANN).await;
    env.wait("hi in the topic", |e| {
        e.thread_texts(topic).iter().any(|t| t == "hi")
    })
    .await;
    let (status, _) = env
        .call(
            "sendMessage",
            json!({"chat_id": ANN, "text": "the bot's answer"}),
        )
        .await;
    assert_eq!(status, 200);
    // A copy (its answer holds an id alone: the chat is read from the form body).
    let hi_id = env.tg.messages(ANN)[0]["message_id"].as_i64().unwrap();
    let copied = env
        .http
        .post(env.method_url("copyMessage"))
        .form(&[
            ("chat_id", ANN.to_string()),
            ("from_chat_id", ANN.to_string()),
            ("message_id", hi_id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(copied.status().as_u16(), 200);
    env.wait("both mirrored", |e| {
        let texts = e.thread_texts(topic);
        texts.iter().any(|t| t.contains("the bot's answer"))
            && texts.iter().filter(|t| t.contains("hi")).count() >= 2
    })
    .await;
    env.stop().await;
}

// ----- getUpdates --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_message_reaches_the_bot_and_an_operators_never_does() {
    let env = start().await;
    env.user(ANN, "Ann");
    env.say(ANN, "hello bot");
    let updates = env.wait_updates(1).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    let first = &updates[0];
    assert_eq!(update_text(first), "hello bot");
    // The gateway's id (the log's), not Telegram's.
    let id = first["update_id"].as_i64().unwrap();
    assert!((1..i64::from(i32::MAX)).contains(&id));

    let topic = env.topic_of(ANN).await;
    env.operator_says(topic, "operators only");
    env.wait("the operator's reply at Ann", |e| {
        e.tg.messages(ANN)
            .iter()
            .any(|m| text_of(m) == "operators only")
    })
    .await;
    env.say(ANN, "second");
    // Confirms the first; the operator's message is never there.
    let deadline = tokio::time::Instant::now() + WAIT;
    let rest = loop {
        let rest = env.poll(json!({"offset": id + 1, "timeout": 2})).await;
        if !rest.is_empty() || tokio::time::Instant::now() > deadline {
            break rest;
        }
    };
    let texts: Vec<String> = rest.iter().map(update_text).collect();
    assert_eq!(texts, ["second"]);
    assert!(rest[0]["update_id"].as_i64().unwrap() > id);
    for update in &rest {
        assert_ne!(update["message"]["chat"]["id"], GROUP);
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_hide_desks_updates_off_the_bot_sees_the_operators_too() {
    let env = common::start_with(
        common::fake().await,
        std::sync::Arc::new(hotline_core::MemoryStore::new()),
        hotline_gateway::GatewayConfig::default().hide_desks_updates(false),
    )
    .await;
    env.user(ANN, "Ann");
    env.say(ANN, "hi");
    let topic = env.topic_of(ANN).await;
    env.operator_says(topic, "seen by the bot");
    let updates = env.wait_updates(2).await;
    assert_eq!(update_text(&updates[1]), "seen by the bot");
    assert_eq!(updates[1]["message"]["chat"]["id"], GROUP);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_limits_and_a_negative_offset() {
    let env = start().await;
    env.user(ANN, "Ann");
    env.user(BOB, "Bob");
    for (i, user) in [ANN, BOB, ANN, BOB, ANN].into_iter().enumerate() {
        env.say(user, &format!("m{i}"));
    }
    let all = env.wait_updates(5).await;
    let texts: Vec<String> = all.iter().map(update_text).collect();
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
    let ids: Vec<i64> = all
        .iter()
        .map(|u| u["update_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    // limit
    let two = env.poll(json!({"limit": 2})).await;
    assert_eq!(
        two.iter().map(update_text).collect::<Vec<_>>(),
        ["m0", "m1"]
    );
    // offset = an id: the ones below are confirmed, for good.
    let from_third = env.poll(json!({"offset": ids[2]})).await;
    assert_eq!(from_third.len(), 3);
    assert_eq!(update_text(&from_third[0]), "m2");
    // No offset (aiogram), offset 0 (PTB, teloxide): from where the bot is.
    let again = env.poll(json!({})).await;
    assert_eq!(update_text(&again[0]), "m2");
    let again = env.poll(json!({"offset": 0})).await;
    assert_eq!(update_text(&again[0]), "m2");
    // A negative offset forgets all but the last -offset.
    let last = env.poll(json!({"offset": -1})).await;
    assert_eq!(last.iter().map(update_text).collect::<Vec<_>>(), ["m4"]);
    let after = env.poll(json!({})).await;
    assert_eq!(after.iter().map(update_text).collect::<Vec<_>>(), ["m4"]);
    // Past the end: all confirmed.
    let none = env.poll(json!({"offset": ids[4] + 1})).await;
    assert!(none.is_empty(), "{none:?}");
    // A limit over 100 is clamped, not refused; offset as form text works too.
    let form: Value = env
        .http
        .post(env.method_url("getUpdates"))
        .form(&[
            ("offset", (ids[4] + 1).to_string()),
            ("limit", "1000".to_owned()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form, json!({"ok": true, "result": []}));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grammys_first_poll_with_offset_1_gets_what_came_before() {
    let env = start().await;
    env.user(ANN, "Ann");
    env.say(ANN, "early");
    env.topic_of(ANN).await;
    let updates = env.poll(json!({"offset": 1, "timeout": 5})).await;
    assert_eq!(
        updates.iter().map(update_text).collect::<Vec<_>>(),
        ["early"]
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_wakes_on_a_new_message() {
    let env = start().await;
    env.user(ANN, "Ann");
    let poll = {
        let http = env.http.clone();
        let url = env.method_url("getUpdates");
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let body: Value = http
                .post(url)
                .json(&json!({"timeout": 30}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (started.elapsed(), body)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!poll.is_finished(), "the long poll waits");
    env.say(ANN, "wake up");
    let (took, body) = poll.await.unwrap();
    assert!(took < Duration::from_secs(10), "{took:?}");
    let updates = body["result"].as_array().unwrap();
    assert_eq!(
        updates.iter().map(update_text).collect::<Vec<_>>(),
        ["wake up"]
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_polling_in_a_loop_is_slowed_to_3_second_polls() {
    let env = start().await;
    env.user(ANN, "Ann");
    assert!(env.poll(json!({"timeout": 0})).await.is_empty());
    let started = tokio::time::Instant::now();
    assert!(env.poll(json!({"timeout": 0})).await.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    // ... but never kept from what is there.
    env.say(ANN, "at once");
    env.topic_of(ANN).await;
    let started = tokio::time::Instant::now();
    let updates = env.poll(json!({"timeout": 0})).await;
    assert_eq!(updates.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_poll_makes_the_first_answer_409() {
    let env = start().await;
    let first = {
        let http = env.http.clone();
        let url = env.method_url("getUpdates");
        tokio::spawn(async move {
            let response = http
                .post(url)
                .json(&json!({"timeout": 30}))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = env.poll(json!({"timeout": 1})).await;
    assert!(second.is_empty());
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .expect("the first poll is answered at once")
        .unwrap();
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 409, "description": "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_updates_are_sticky_and_asked_for_upstream() {
    let env = start().await;
    env.user(ANN, "Ann");
    // As a form (PTB, aiogram): the list is JSON text.
    let set: Value = env
        .http
        .post(env.method_url("getUpdates"))
        .form(&[
            (
                "allowed_updates",
                r#"["edited_message","chat_join_request"]"#,
            ),
            ("timeout", "0"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set, json!({"ok": true, "result": []}));
    let sent = env.say(ANN, "a message");
    env.topic_of(ANN).await;
    // The upstream poll now asks Telegram for the bot's kinds too (a call is recorded when
    // answered: the message answered the one asked after the change).
    env.tg
        .wait_for("an upstream poll with chat_join_request", WAIT, |tg| {
            tg.calls_of("getUpdates").iter().any(|c| {
                c.params["allowed_updates"]
                    .to_string()
                    .contains("chat_join_request")
            })
        })
        .await
        .unwrap();
    // No allowed_updates: the previous setting holds, the message is skipped.
    let none = env.poll(json!({"timeout": 1})).await;
    assert!(none.is_empty(), "{none:?}");
    let message_id = sent["message_id"].as_i64().unwrap();
    env.tg.edit_message(ANN, ANN, message_id, "edited").unwrap();
    let edits = env.wait_updates(1).await;
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["edited_message"]["text"], "edited");
    let (_, info) = env.call("getWebhookInfo", json!({})).await;
    assert_eq!(
        info["result"]["allowed_updates"],
        json!(["edited_message", "chat_join_request"])
    );
    // `[]` is the default set again: messages come.
    let id = edits[0]["update_id"].as_i64().unwrap();
    env.poll(json!({"offset": id + 1, "allowed_updates": []}))
        .await;
    env.say(ANN, "after reset");
    let back = env.wait_updates(1).await;
    assert_eq!(update_text(&back[0]), "after reset");
    env.stop().await;
}

// ----- the bot's webhook -------------------------------------------------------------------

/// A webhook receiver: records each request (secret header, body) and answers with the next
/// scripted (status, body), then 200 with an empty body.
#[allow(unreachable_pub)]
mod receiver {
    use axum::http::{HeaderMap, StatusCode};
    use serde_json::Value;
    use std::sync::{Arc, Mutex};

    /// A delivery as received: the secret header, the update.
    pub type Delivery = (Option<String>, Value);

    #[derive(Clone, Default)]
    pub struct Receiver {
        pub got: Arc<Mutex<Vec<Delivery>>>,
        script: Arc<Mutex<Vec<(u16, String)>>>,
    }

    impl Receiver {
        pub async fn start(script: Vec<(u16, String)>) -> (Receiver, String) {
            let receiver = Receiver {
                got: Arc::default(),
                script: Arc::new(Mutex::new(script)),
            };
            let app = axum::Router::new()
                .route("/hook", axum::routing::post(hook))
                .with_state(receiver.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/hook", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            (receiver, url)
        }

        pub fn got(&self) -> Vec<Delivery> {
            self.got.lock().unwrap().clone()
        }
    }

    async fn hook(
        axum::extract::State(receiver): axum::extract::State<Receiver>,
        headers: HeaderMap,
        body: String,
    ) -> (StatusCode, [(&'static str, &'static str); 1], String) {
        let secret = headers
            .get("x-telegram-bot-api-secret-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = serde_json::from_str(&body).unwrap_or_default();
        receiver.got.lock().unwrap().push((secret, body));
        let mut script = receiver.script.lock().unwrap();
        let (status, body) = if script.is_empty() {
            (200, String::new())
        } else {
            script.remove(0)
        };
        (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            body,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_the_updates_with_its_secret_again_after_a_500_and_its_reply_is_sent() {
    let env = start().await;
    env.user(ANN, "Ann");
    let reply = json!({"method": "sendMessage", "chat_id": ANN, "text": "reply from the webhook"});
    let (receiver, url) =
        receiver::Receiver::start(vec![(500, String::new()), (200, reply.to_string())]).await;
    let (status, set) = env
        .call(
            "setWebhook",
            json!({"url": url, "secret_token": "s3cret_token-1"}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["result"], true);
    // While it is set, getUpdates is refused, as on Telegram.
    let (status, refused) = env.call("getUpdates", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(
        refused["description"],
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
    );

    env.say(ANN, "hello hook");
    env.wait("two deliveries", |_| receiver.got().len() >= 2)
        .await;
    let got = receiver.got();
    assert_eq!(got[0].1, got[1].1, "the same update again after the 500");
    assert_eq!(update_text(&got[0].1), "hello hook");
    for (secret, _) in &got {
        assert_eq!(secret.as_deref(), Some("s3cret_token-1"));
    }
    // The reply was executed upstream: Ann has it, and the operators see it in her topic.
    env.wait("the reply at Ann", |e| {
        e.tg.messages(ANN)
            .iter()
            .any(|m| text_of(m) == "reply from the webhook")
    })
    .await;
    let topic = env.topic_of(ANN).await;
    env.wait("the reply mirrored", |e| {
        e.thread_texts(topic)
            .iter()
            .any(|t| t.contains("reply from the webhook"))
    })
    .await;
    // The failed delivery shows in getWebhookInfo; setWebhook never reached Telegram.
    let (_, info) = env.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], json!(url));
    assert_eq!(info["result"]["has_custom_certificate"], false);
    assert!(
        info["result"]["last_error_message"]
            .as_str()
            .is_some_and(|m| m.contains("500")),
        "{info}"
    );
    assert!(info["result"]["last_error_date"].as_i64().is_some());
    assert!(env.tg.calls_of("setWebhook").is_empty());
    assert!(env.tg.calls_of("getWebhookInfo").is_empty());
    let desks_own = env.tg.calls_of("deleteWebhook").len();

    // deleteWebhook: polling again, from where the webhook left off; Telegram untouched.
    let (status, _) = env.call("deleteWebhook", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(env.tg.calls_of("deleteWebhook").len(), desks_own);
    let (_, info) = env.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], "");
    env.say(ANN, "polling again");
    let updates = env.wait_updates(1).await;
    assert_eq!(
        updates.iter().map(update_text).collect::<Vec<_>>(),
        ["polling again"]
    );
    assert_eq!(receiver.got().len(), 2, "no delivery after deleteWebhook");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_waiting_when_a_webhook_is_set_answers_409() {
    let env = start().await;
    let poll = {
        let http = env.http.clone();
        let url = env.method_url("getUpdates");
        tokio::spawn(async move {
            let response = http
                .post(url)
                .json(&json!({"timeout": 30}))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, url) = receiver::Receiver::start(Vec::new()).await;
    env.call("setWebhook", json!({"url": url})).await;
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("answered at once")
        .unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body["description"]
            .as_str()
            .is_some_and(|d| d.contains("webhook is active"))
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_webhook_as_multipart_with_a_certificate_and_webhook_info_per_consumer() {
    let env = start().await;
    env.user(ANN, "Ann");
    env.user(BOB, "Bob");
    env.say(ANN, "one");
    env.say(BOB, "two");
    env.topic_of(BOB).await;
    env.wait_updates(2).await;
    let (_, info) = env.call("getWebhookInfo", json!({})).await;
    assert_eq!(
        info["result"],
        json!({"url": "", "has_custom_certificate": false, "pending_update_count": 2})
    );
    // drop_pending_updates: the bot's backlog alone is dropped (the desk has handled both).
    let (_, info) = env
        .call("deleteWebhook", json!({"drop_pending_updates": true}))
        .await;
    assert_eq!(info["result"], true);
    let (_, info) = env.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["pending_update_count"], 0);
    assert!(env.poll(json!({})).await.is_empty());

    let (receiver, url) = receiver::Receiver::start(Vec::new()).await;
    let form = reqwest::multipart::Form::new()
        .text("url", url.clone())
        .text("max_connections", "5")
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(b"-----BEGIN CERTIFICATE-----".to_vec())
                .file_name("cert.pem"),
        );
    let set: Value = env
        .http
        .post(env.method_url("setWebhook"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["result"], true, "{set}");
    let (_, info) = env.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], json!(url));
    assert_eq!(info["result"]["max_connections"], 5);
    assert_eq!(info["result"]["has_custom_certificate"], false);
    env.say(ANN, "pushed");
    env.wait("a delivery", |_| !receiver.got().is_empty()).await;
    assert_eq!(update_text(&receiver.got()[0].1), "pushed");
    assert_eq!(receiver.got()[0].0, None, "no secret set, no header");
    // An empty url deletes it.
    let (_, unset) = env.call("setWebhook", json!({"url": ""})).await;
    assert_eq!(unset["result"], true);
    let (_, info) = env.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], "");
    env.stop().await;
}

// ----- restarts ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_place_allowed_updates_and_webhook_survive_a_restart() {
    let store: std::sync::Arc<dyn hotline_core::Store> =
        std::sync::Arc::new(hotline_core::MemoryStore::new());
    let env = common::start_on(common::fake().await, store.clone()).await;
    env.user(ANN, "Ann");
    env.say(ANN, "before");
    let before = env.wait_updates(1).await;
    let id = before[0]["update_id"].as_i64().unwrap();
    // Confirmed, with a setting of its own.
    env.poll(json!({"offset": id + 1, "allowed_updates": ["message", "edited_message"]}))
        .await;
    env.say(ANN, "while polling");
    let pending = env.wait_updates(1).await;
    assert_eq!(update_text(&pending[0]), "while polling");
    let tg = env.stop().await;

    // The same store, a new process: what was pending is still pending, the setting holds.
    let env = common::start_on(tg, store.clone()).await;
    let (_, info) = env.call("getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["pending_update_count"], 1, "{info}");
    assert_eq!(
        info["result"]["allowed_updates"],
        json!(["message", "edited_message"])
    );
    let again = env.poll(json!({})).await;
    assert_eq!(
        again.iter().map(update_text).collect::<Vec<_>>(),
        ["while polling"]
    );
    let last = again[0]["update_id"].as_i64().unwrap();
    assert!(last > id);
    let (receiver, url) = receiver::Receiver::start(Vec::new()).await;
    env.poll(json!({"offset": last + 1})).await;
    env.call("setWebhook", json!({"url": url, "secret_token": "kept"}))
        .await;
    let tg = env.stop().await;

    let env = common::start_on(tg, store).await;
    env.say(ANN, "after restart");
    env.wait("a delivery after the restart", |_| {
        !receiver.got().is_empty()
    })
    .await;
    let got = receiver.got();
    assert_eq!(update_text(&got[0].1), "after restart");
    assert_eq!(got[0].0.as_deref(), Some("kept"));
    assert!(got[0].1["update_id"].as_i64().unwrap() > last);
    env.stop().await;
}

/// Polls in quick succession move the bot's place in memory and the store gets the latest of
/// them (within a period, and at stop): a restarted gateway gives a bot that polls without an
/// offset only what it never confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_polls_confirm_durably_by_the_stop() {
    let store: std::sync::Arc<dyn hotline_core::Store> =
        std::sync::Arc::new(hotline_core::MemoryStore::new());
    let env = common::start_on(common::fake().await, store.clone()).await;
    env.user(ANN, "Ann");
    for n in 0..6 {
        env.say(ANN, &format!("m{n}"));
    }
    let all = env.wait_updates(6).await;
    let first = all[0]["update_id"].as_i64().unwrap();
    // One update a poll, each poll confirming the one before: far quicker than the period.
    let mut offset = first;
    for n in 0..5 {
        let got = env.poll(json!({"offset": offset, "limit": 1})).await;
        assert_eq!(update_text(&got[0]), format!("m{n}"));
        offset = got[0]["update_id"].as_i64().unwrap() + 1;
    }
    // `offset` confirms m0..m4; the trailing write brings the store up to it while running.
    env.poll(json!({"offset": offset, "limit": 1, "timeout": 0}))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stored = store.consumer("bot").await.unwrap().unwrap().confirmed;
        if stored.0 == offset - 1 {
            break;
        }
        assert!(stored.0 < offset, "confirmed past the offset: {stored:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the store stayed at {stored:?}, the bot confirmed {}",
            offset - 1
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Now everything, and stop at once: the last confirmation is written by the stop.
    env.poll(json!({"offset": offset + 1, "limit": 1, "timeout": 0}))
        .await;
    let tg = env.stop().await;
    assert_eq!(
        store.consumer("bot").await.unwrap().unwrap().confirmed.0,
        offset,
        "the stop wrote the bot's last confirmation"
    );
    let env = common::start_on(tg, store).await;
    let again = env.poll(json!({"timeout": 0})).await;
    assert!(again.is_empty(), "confirmed updates came again: {again:?}");
    env.stop().await;
}
