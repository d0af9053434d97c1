//! Flood limits (429 with retry_after on a scaled clock) and injected faults.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hotline_testkit::{Fault, FloodLimits};
use serde_json::json;

#[tokio::test]
async fn per_group_limit_answers_429_with_retry_after_in_wall_clock_seconds() {
    let h = H::new().await;
    // time_scale 20: the 60 s window lasts 3 wall-clock seconds (room for a slow machine).
    h.tg.set_limits(FloodLimits {
        per_group_per_minute: Some(3),
        time_scale: Some(20.0),
        ..FloodLimits::default()
    });
    assert_eq!(h.tg.time_scale(), 20.0);
    for i in 0..3 {
        h.call(
            "sendMessage",
            json!({"chat_id": GROUP, "text": format!("m{i}")}),
        )
        .await;
    }
    let (code, desc, body) = h
        .fail("sendMessage", json!({"chat_id": GROUP, "text": "over"}))
        .await;
    assert_eq!(code, 429);
    let retry = body["parameters"]["retry_after"]
        .as_u64()
        .expect("retry_after");
    // At most the whole 3 s window remains, in wall-clock seconds (not 60 Telegram seconds).
    assert!((1..=3).contains(&retry), "retry_after {retry}");
    assert_eq!(desc, format!("Too Many Requests: retry after {retry}"));
    // Other chats are not limited by this group's budget.
    h.call("sendMessage", json!({"chat_id": ANN, "text": "private"}))
        .await;
    // Waiting retry_after wall-clock seconds, as a client does, is enough.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    h.call("sendMessage", json!({"chat_id": GROUP, "text": "after"}))
        .await;
    assert_eq!(h.tg.stats().too_many_requests, 1);
    // Refused calls are not stored.
    assert!(h.tg.messages(GROUP).iter().all(|m| m["text"] != "over"));
    h.finish().await;
}

#[tokio::test]
async fn global_and_private_chat_limits() {
    let h = H::new().await;
    // time_scale 0.1: a slow clock, so one "second" lasts 10 wall-clock seconds and the
    // test cannot outrun the window on a slow machine.
    h.tg.set_limits(FloodLimits {
        global_per_second: Some(4),
        per_chat_per_second: Some(2),
        time_scale: Some(0.1),
        ..FloodLimits::default()
    });
    h.call("sendMessage", json!({"chat_id": ANN, "text": "1"}))
        .await;
    h.call("sendMessage", json!({"chat_id": ANN, "text": "2"}))
        .await;
    let (code, _, body) = h
        .fail("sendMessage", json!({"chat_id": ANN, "text": "3"}))
        .await;
    assert_eq!(code, 429);
    // Nearly the whole 10 s window remains: the real wait, not one Telegram second.
    let retry = body["parameters"]["retry_after"]
        .as_u64()
        .expect("retry_after");
    assert!((2..=10).contains(&retry), "retry_after {retry}");
    h.call("sendMessage", json!({"chat_id": BOB, "text": "1"}))
        .await;
    h.call(
        "copyMessage",
        json!({"chat_id": BOB, "from_chat_id": ANN, "message_id": 1}),
    )
    .await;
    // Global budget of 4 is used up now, for every chat.
    let (code, _, _) = h
        .fail("sendMessage", json!({"chat_id": OLGA, "text": "x"}))
        .await;
    assert_eq!(code, 429);
    // Reads are never limited.
    h.call("getMe", json!({})).await;
    // Limits off again.
    h.tg.set_limits(FloodLimits::default());
    for _ in 0..10 {
        h.call("sendMessage", json!({"chat_id": ANN, "text": "free"}))
            .await;
    }
    h.finish().await;
}

#[tokio::test]
async fn limits_over_http_control_plane() {
    let h = H::new().await;
    let r: serde_json::Value = h
        .http
        .put(format!("{}/_testkit/limits", h.tg.api_url()))
        .json(&json!({"global_per_second": 30, "per_chat_per_second": 1, "per_group_per_minute": 20, "time_scale": 60}))
        .send()
        .await
        .expect("put")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ok"], true);
    assert_eq!(h.tg.time_scale(), 60.0);
    h.call("sendMessage", json!({"chat_id": ANN, "text": "1"}))
        .await;
    let (code, _, _) = h
        .fail("sendMessage", json!({"chat_id": ANN, "text": "2"}))
        .await;
    assert_eq!(code, 429);
    h.finish().await;
}

#[tokio::test]
async fn count_faults_then_success() {
    let h = H::new().await;
    h.tg.inject_fault(
        Fault::error(500, "Internal Server Error")
            .method("copymessage")
            .count(3),
    );
    let src = h
        .call("sendMessage", json!({"chat_id": ANN, "text": "x"}))
        .await;
    let params = json!({"chat_id": BOB, "from_chat_id": ANN, "message_id": src["message_id"]});
    for _ in 0..3 {
        let (code, desc, _) = h.fail("copyMessage", params.clone()).await;
        assert_eq!((code, desc.as_str()), (500, "Internal Server Error"));
    }
    assert!(h.tg.messages(BOB).is_empty(), "faults act before the call");
    h.call("copyMessage", params).await;
    let s = h.tg.stats();
    assert_eq!(s.faults_injected, 3);
    assert_eq!(s.calls_of("copyMessage"), 4);
    h.finish().await;
}

#[tokio::test]
async fn ratio_faults_and_429_faults() {
    let h = H::new().await;
    h.tg.inject_fault(
        Fault::error(502, "Bad Gateway")
            .method("sendChatAction")
            .ratio(0.3),
    );
    let mut failed = 0;
    for _ in 0..200 {
        let (status, _) = h
            .raw(
                "sendChatAction",
                json!({"chat_id": ANN, "action": "typing"}),
            )
            .await;
        if status == 502 {
            failed += 1;
        } else {
            assert_eq!(status, 200);
        }
    }
    assert!(
        (30..=90).contains(&failed),
        "{failed} of 200 failed at ratio 0.3"
    );
    h.tg.clear_faults();
    h.tg.inject_fault(Fault::too_many_requests(7).count(1));
    let (code, desc, body) = h.fail("getMe", json!({})).await;
    assert_eq!(
        (code, desc.as_str()),
        (429, "Too Many Requests: retry after 7")
    );
    assert_eq!(body["parameters"]["retry_after"], 7);
    h.call("getMe", json!({})).await;
    h.tg.inject_fault(Fault {
        migrate_to_chat_id: Some(-1_009_999),
        ..Fault::error(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
        )
        .method("sendMessage")
        .count(1)
    });
    let (_, _, body) = h
        .fail("sendMessage", json!({"chat_id": ANN, "text": "x"}))
        .await;
    assert_eq!(
        body["parameters"],
        json!({"migrate_to_chat_id": -1_009_999})
    );
    h.finish().await;
}

#[tokio::test]
async fn dropped_connections_and_latency() {
    let h = H::new().await;
    h.tg.inject_fault(Fault::drop_connection().method("sendMessage").count(1));
    let err = h
        .post("sendMessage", &json!({"chat_id": ANN, "text": "lost"}))
        .await;
    assert!(
        err.is_err(),
        "the connection is closed without an answer: {err:?}"
    );
    assert!(h.tg.messages(ANN).is_empty(), "nothing was sent");
    assert_eq!(h.tg.stats().dropped_connections, 1);
    h.call("sendMessage", json!({"chat_id": ANN, "text": "ok"}))
        .await;

    h.tg.inject_fault(Fault::latency(300).method("getMe"));
    let t0 = Instant::now();
    h.call("getMe", json!({})).await;
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let t0 = Instant::now();
    h.call("getChat", json!({"chat_id": ANN})).await;
    assert!(
        t0.elapsed() < Duration::from_millis(300),
        "other methods are not slowed"
    );

    // Over HTTP.
    let r: serde_json::Value = h
        .http
        .post(format!("{}/_testkit/faults", h.tg.api_url()))
        .json(&json!({"method": "getChat", "error_code": 400, "description": "Bad Request: chat not found", "count": 1}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ok"], true);
    let (code, d, _) = h.fail("getChat", json!({"chat_id": ANN})).await;
    assert_eq!((code, d.as_str()), (400, "Bad Request: chat not found"));
    let r = h
        .http
        .delete(format!("{}/_testkit/faults", h.tg.api_url()))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status().as_u16(), 200);
    let t0 = Instant::now();
    h.call("getMe", json!({})).await;
    assert!(
        t0.elapsed() < Duration::from_millis(300),
        "latency fault cleared"
    );
    h.finish().await;
}

#[tokio::test]
async fn calls_in_progress_counts_calls_until_they_are_answered_or_abandoned() {
    let h = H::new().await;
    h.tg.inject_fault(Fault::latency(400).method("getMe"));
    let (answered, counted) = tokio::join!(
        h.raw("getMe", json!({})),
        h.tg.wait_for("the slow call", Duration::from_secs(5), |t| {
            t.stats().calls_in_progress == 1
        })
    );
    counted.expect("counted while it waits");
    assert_eq!(answered.0, 200);
    assert_eq!(h.tg.stats().calls_in_progress, 0, "answered");

    // A client that goes away mid-call: the fake drops the call when its connection closes.
    h.tg.inject_fault(Fault::drop_connection().method("sendMessage").count(1));
    let _ = h
        .post("sendMessage", &json!({"chat_id": ANN, "text": "lost"}))
        .await;
    h.tg.wait_for("the dropped call", Duration::from_secs(5), |t| {
        t.stats().calls_in_progress == 0
    })
    .await
    .expect("abandoned calls are not counted forever");
    // Long polls are not counted.
    let (polled, ()) = tokio::join!(h.raw("getUpdates", json!({"timeout": 1})), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            h.tg.stats().calls_in_progress,
            0,
            "a long poll is not counted"
        );
    });
    assert_eq!(polled.0, 200);
    h.finish().await;
}

#[tokio::test]
async fn a_fault_can_let_the_call_act_and_then_lose_the_answer() {
    let h = H::new().await;
    let texts = |chat: i64| -> Vec<String> {
        h.tg.messages(chat)
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect()
    };
    let src = h
        .call("sendMessage", json!({"chat_id": ANN, "text": "to copy"}))
        .await;
    // Rust handle: the next copy into Bob's chat acts, then its connection closes unanswered.
    h.tg.inject_fault(
        Fault::drop_after_acting()
            .method("copyMessage")
            .chat(BOB)
            .count(1),
    );
    let copy =
        |chat: i64| json!({"chat_id": chat, "from_chat_id": ANN, "message_id": src["message_id"]});
    // Another chat is not affected.
    h.call("copyMessage", copy(OLGA)).await;
    let lost = h.post("copyMessage", &copy(BOB)).await;
    assert!(lost.is_err(), "no answer: {lost:?}");
    assert_eq!(texts(BOB), ["to copy"], "yet Telegram copied it, once");
    let logged = h.tg.calls_of("copyMessage");
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[1].params["chat_id"], BOB);
    assert_eq!(logged[1].error_code, None, "logged as done");
    let s = h.tg.stats();
    assert_eq!((s.dropped_connections, s.faults_injected), (1, 1));
    h.tg.wait_for("the lost call to end", Duration::from_secs(5), |t| {
        t.stats().calls_in_progress == 0
    })
    .await
    .expect("not in progress");
    // The count ran out: the client's retry is answered, and now there are two copies.
    h.call("copyMessage", copy(BOB)).await;
    assert_eq!(texts(BOB), ["to copy", "to copy"]);

    // HTTP control plane: the next two sends into the group act and lose their answers.
    let r: serde_json::Value = h
        .http
        .post(format!("{}/_testkit/faults", h.tg.api_url()))
        .json(&json!({"method": "sendMessage", "chat_id": GROUP, "drop_after_acting": true, "count": 2}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["result"]["drop_after_acting"], true);
    assert_eq!(r["result"]["chat_id"], GROUP);
    for text in ["g1", "g2"] {
        let lost = h
            .post("sendMessage", &json!({"chat_id": GROUP, "text": text}))
            .await;
        assert!(lost.is_err(), "{text}: no answer: {lost:?}");
    }
    h.call("sendMessage", json!({"chat_id": GROUP, "text": "g3"}))
        .await;
    assert_eq!(texts(GROUP), ["g1", "g2", "g3"]);
    assert_eq!(h.tg.stats().dropped_connections, 3);
    h.finish().await;
}
