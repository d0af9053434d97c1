//! Mailings through the fake Telegram: `/send` in General with its preview, Confirm and
//! Cancel, chains in order to exactly the segment's users, refusals, and `broadcast` from
//! Rust with pause and resume. Asserted on what the users' chats and General hold.

mod common;

use common::{GROUP, OPERATOR, start, start_on, text_of};
use hotline::core::store::Tag;
use hotline::core::{Greeting, MailingContent, MailingState, UserId};
use hotline::telegram::Limits;
use hotline_testkit::{MemberStatus, NewMessage, NewUser};
use serde_json::Value;

/// The bot's messages in General (no thread), oldest first.
fn general(d: &common::Desk) -> Vec<Value> {
    d.tg.messages(GROUP)
        .into_iter()
        .filter(|m| m.get("message_thread_id").is_none() && m["from"]["is_bot"] == true)
        .collect()
}

/// Waits for a bot message in General whose text contains `text`; returns it.
async fn in_general(d: &common::Desk, text: &str) -> Value {
    d.wait(&format!("«{text}» in General"), |d| {
        general(d).iter().any(|m| text_of(m).contains(text))
    })
    .await;
    general(d)
        .into_iter()
        .rfind(|m| text_of(m).contains(text))
        .expect("the message")
}

/// The operator writes `text` in General; its message id.
fn write_in_general(d: &common::Desk, from: i64, text: &str, reply_to: Option<i64>) -> i64 {
    let mut message = NewMessage::text(from, GROUP, text);
    if let Some(reply) = reply_to {
        message = message.reply_to(reply);
    }
    d.tg.send_message(message).expect("a message in General")["message_id"]
        .as_i64()
        .expect("an id")
}

/// The callback data of the panel's button labelled with `label`.
fn button(panel: &Value, label: &str) -> String {
    panel["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .find(|b| b["text"].as_str().is_some_and(|t| t.contains(label)))
        .and_then(|b| b["callback_data"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no «{label}» button on {panel}"))
}

/// The panel (the message with this id in General) as it is now.
fn panel_now(d: &common::Desk, id: i64) -> Value {
    general(d)
        .into_iter()
        .find(|m| m["message_id"] == id)
        .expect("the panel")
}

async fn panel_says(d: &common::Desk, id: i64, text: &str) -> Value {
    d.wait(&format!("the panel saying «{text}»"), |d| {
        text_of(&panel_now(d, id)).contains(text)
    })
    .await;
    panel_now(d, id)
}

/// A user of the table: id, language, tagged vip, banned, blocks the bot before the
/// preview (the desk knows), blocks it after (the desk finds out by sending).
type Someone = (i64, &'static str, bool, bool, bool, bool);

fn table() -> Vec<Someone> {
    (0..50)
        .map(|i| {
            let id = 3_000 + i;
            let lang = if i % 2 == 0 { "de" } else { "en" };
            (id, lang, i % 3 == 0, i == 3 || i == 7, i == 9, i == 12)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_previews_the_segment_and_delivers_the_chain_once_to_each_member() {
    let d = start(&[("WELCOME", "OFF"), ("BAN_ALLOWED", "everyone")]).await;
    d.tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .expect("an admin");
    let store = d.hotline.desk().store().clone();
    let vip = Tag::parse("vip").expect("a tag");
    for (id, lang, tagged, banned, blocked_before, _) in table() {
        d.tg.add_user(NewUser::new(id, "U").language_code(lang));
        d.say(id, "hello");
        let topic = d.topic_of(id).await;
        d.wait_thread(topic, "hello").await;
        if tagged {
            store.set_tag(UserId(id), &vip, true).await.expect("a tag");
        }
        if banned {
            d.operator_says(topic, "/ban");
            d.wait(&format!("{id} banned"), |d| {
                d.thread_texts(topic)
                    .iter()
                    .any(|t| t.contains("The user is banned"))
            })
            .await;
        }
        if blocked_before {
            d.tg.block_user(id);
            let blocked = || async {
                store
                    .conversation(UserId(id))
                    .await
                    .expect("store")
                    .is_some_and(|c| c.blocked)
            };
            let deadline = tokio::time::Instant::now() + common::WAIT;
            while !blocked().await {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{id} marked blocked"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
    // German VIPs, neither banned nor known to have blocked the bot.
    let members: Vec<i64> = table()
        .into_iter()
        .filter(|(_, lang, vip, banned, before, _)| *lang == "de" && *vip && !banned && !before)
        .map(|(id, ..)| id)
        .collect();
    let blocks_later: Vec<i64> = table().into_iter().filter(|s| s.5).map(|s| s.0).collect();
    assert!(
        members.contains(&blocks_later[0]),
        "the table blocks a member later"
    );

    // A chain of two in General, another operator's message between them left out.
    let first = write_in_general(&d, OPERATOR, "Big news: the shop opens on Monday", None);
    d.tg.add_user(NewUser::new(2_050, "Ivan"));
    d.tg.add_member(GROUP, 2_050).expect("a second operator");
    write_in_general(&d, 2_050, "Ivan chatting in General", None);
    let photo =
        d.tg.send_message(
            NewMessage::text(OPERATOR, GROUP, "")
                .photo("PHOTO-shop")
                .caption("Look inside"),
        )
        .expect("a photo")["message_id"]
            .as_i64()
            .expect("an id");
    assert!(photo > first);
    write_in_general(&d, OPERATOR, "/send #vip lang:de", Some(first));

    let expected = format!("{} recipient(s)", members.len());
    let panel = in_general(&d, "📣 Mailing #1").await;
    assert!(
        text_of(&panel).contains(&format!(
            "a chain of 2 messages to `#vip lang:de`: {expected}"
        )),
        "the preview names the chain, the segment and its size: {}",
        text_of(&panel)
    );
    assert_eq!(
        panel["reply_to_message"]["message_id"], first,
        "the preview answers the chain"
    );
    let panel_id = panel["message_id"].as_i64().expect("an id");
    for (id, ..) in table() {
        assert!(
            !d.user_sees(id).iter().any(|t| t.contains("Big news")),
            "nothing is sent before Confirm"
        );
    }

    d.tg.block_user(blocks_later[0]);
    let pressed =
        d.tg.press_button(OPERATOR, GROUP, panel_id, &button(&panel, "Confirm"))
            .expect("Confirm");
    let done = panel_says(&d, panel_id, "done.").await;
    assert_eq!(
        text_of(&done).lines().last(),
        Some(
            format!(
                "Sent {} · failed 0 · blocked 1 · left 0 · remaining 0",
                members.len() - 1
            )
            .as_str()
        ),
        "{}",
        text_of(&done)
    );
    assert!(
        done["reply_markup"]["inline_keyboard"]
            .as_array()
            .is_none_or(|rows| rows.is_empty()),
        "a finished mailing's panel has no buttons left: {done}"
    );
    let answer =
        d.tg.callback_answer(pressed["id"].as_str().expect("a query id"))
            .expect("the press was answered");
    assert_eq!(answer["text"], "Mailing #1: running.");

    for (id, ..) in table() {
        let got: Vec<String> = d
            .user_sees(id)
            .into_iter()
            .filter(|t| t.contains("Big news") || t == "Look inside" || t.contains("Ivan"))
            .collect();
        if members.contains(&id) && !blocks_later.contains(&id) {
            assert_eq!(
                got,
                ["Big news: the shop opens on Monday", "Look inside"],
                "user {id} gets the chain once, in order, without the other operator's message"
            );
            let photo =
                d.tg.messages(id)
                    .into_iter()
                    .find(|m| text_of(m) == "Look inside")
                    .expect("the photo");
            assert!(
                photo.get("photo").is_some(),
                "the photo is copied as a photo: {photo}"
            );
        } else {
            assert!(got.is_empty(), "user {id} is not in the segment: {got:?}");
        }
    }
    let found = store
        .conversation(UserId(blocks_later[0]))
        .await
        .expect("store")
        .expect("a conversation");
    assert!(
        found.blocked,
        "a user found blocked by the mailing is marked"
    );

    // The same segment again leaves them out.
    write_in_general(&d, OPERATOR, "/send #vip lang:de", Some(first));
    let again = in_general(&d, "📣 Mailing #2").await;
    assert!(
        text_of(&again).contains(&format!("{} recipient(s)", members.len() - 1)),
        "{}",
        text_of(&again)
    );
    // Cancel sends nothing and takes the buttons off.
    let again_id = again["message_id"].as_i64().expect("an id");
    d.tg.press_button(OPERATOR, GROUP, again_id, &button(&again, "Cancel"))
        .expect("Cancel");
    panel_says(&d, again_id, "cancelled at 0 of").await;
    let copies: usize = members
        .iter()
        .map(|id| {
            d.user_sees(*id)
                .iter()
                .filter(|t| t.contains("Big news"))
                .count()
        })
        .sum();
    assert_eq!(
        copies,
        members.len() - 1,
        "a cancelled mailing sends nothing"
    );

    write_in_general(&d, OPERATOR, "/send status", None);
    d.wait("the status of both mailings", |d| {
        general(d).iter().any(|m| {
            let text = text_of(m);
            text.contains("📣 Mailing #2") && text.contains("📣 Mailing #1")
        })
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_is_refused_to_operators_extensions_allowed_does_not_name() {
    let d = start(&[("WELCOME", "OFF"), ("EXTENSIONS_ALLOWED", "2060")]).await;
    d.tg.add_user(NewUser::new(2_060, "Petra"));
    d.tg.add_member(GROUP, 2_060).expect("a plain member");
    d.user(3_001, "Ann");
    d.say(3_001, "hello");
    let topic = d.topic_of(3_001).await;
    d.wait_thread(topic, "hello").await;

    let first = write_in_general(&d, OPERATOR, "Promo for everyone", None);
    write_in_general(&d, OPERATOR, "/send", Some(first));
    let refusal = in_general(&d, "⛔").await;
    assert_eq!(
        text_of(&refusal),
        "⛔ /send is only for the operators EXTENSIONS_ALLOWED lists."
    );

    let first = write_in_general(&d, 2_060, "Promo from Petra", None);
    write_in_general(&d, 2_060, "/send", Some(first));
    let panel = in_general(&d, "📣 Mailing").await;
    assert!(
        text_of(&panel).contains("to every user: 1 recipient(s)"),
        "{}",
        text_of(&panel)
    );
    let panel_id = panel["message_id"].as_i64().expect("an id");
    // Someone else's press is refused; Petra's goes.
    let pressed =
        d.tg.press_button(OPERATOR, GROUP, panel_id, &button(&panel, "Confirm"))
            .expect("a press");
    let query = pressed["id"].as_str().expect("an id").to_owned();
    d.wait("the refusal's answer", |d| {
        d.tg.callback_answer(&query).is_some()
    })
    .await;
    assert_eq!(
        d.tg.callback_answer(&query).expect("answered")["text"],
        "⛔ /send is only for the operators EXTENSIONS_ALLOWED lists."
    );
    assert!(d.user_sees(3_001).iter().all(|t| t != "Promo from Petra"));
    d.tg.press_button(2_060, GROUP, panel_id, &button(&panel, "Confirm"))
        .expect("Petra's press");
    d.wait_user_sees(3_001, "Promo from Petra").await;

    // In a topic /send is not sent to the user: the desk says where it works.
    d.tg.send_message(NewMessage::text(2_060, GROUP, "/send").thread(topic))
        .expect("a command in a topic");
    d.wait("the answer in the topic", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.starts_with("📣 /send works in the General topic"))
    })
    .await;
    assert!(d.user_sees(3_001).iter().all(|t| !t.contains("/send")));

    // A segment that does not parse is refused with the segment's words.
    write_in_general(&d, 2_060, "/send lang:", Some(first));
    let refusal = in_general(&d, "⛔ /send:").await;
    assert!(
        text_of(&refusal).contains("a language code is missing")
            && text_of(&refusal).ends_with("Nothing was sent."),
        "{}",
        text_of(&refusal)
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_from_rust_pauses_resumes_and_reaches_everyone_once() {
    // Telegram's budgets of 30 a second and 1 a second per chat (the group's 20 a minute
    // left out, or opening the 60 topics would take three minutes): the mailing takes two.
    let limits = Limits {
        per_group_per_minute: None,
        ..Limits::telegram()
    };
    let d = start_on(common::fake().await, &[("WELCOME", "OFF")], limits).await;
    let users: Vec<i64> = (4_000..4_060).collect();
    for id in &users {
        d.tg.add_user(NewUser::new(*id, "U").language_code("de"));
        d.say(*id, "hallo");
    }
    for id in &users {
        let topic = d.topic_of(*id).await;
        d.wait_thread(topic, "hallo").await;
    }
    let error = d
        .hotline
        .broadcast("lang:", MailingContent::Message(Greeting::text("x", false)))
        .await
        .expect_err("a bad segment");
    assert!(error.to_string().starts_with("segment: "), "{error}");

    let mailing = d
        .hotline
        .broadcast(
            "lang:de",
            MailingContent::Message(Greeting::text("Neu im Laden", false)),
        )
        .await
        .expect("a mailing");
    assert_eq!(mailing.recipients(), users.len());
    let sent = |d: &common::Desk| {
        users
            .iter()
            .filter(|id| d.user_sees(**id).iter().any(|t| t == "Neu im Laden"))
            .count()
    };
    d.wait("the first deliveries", |d| sent(d) >= 5).await;
    let at_pause = sent(&d);
    assert!(
        mailing.pause().await.expect("pause"),
        "a running mailing pauses"
    );
    // What was in flight lands; then nothing more.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let held = sent(&d);
    // The sends in flight when the pause lands, and those that began while `pause` was on
    // its way (a few milliseconds at 30 a second), may still land.
    assert!(
        held - at_pause <= 2 * hotline::core::IN_FLIGHT,
        "only sends in flight land after a pause: {at_pause} then {held}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(sent(&d), held, "a paused mailing sends nothing");
    assert!(held < users.len(), "paused before the end ({held})");
    let progress = mailing.progress().await.expect("progress");
    assert_eq!(progress.mailing.state, MailingState::Paused);
    assert_eq!(progress.counts.sent as usize, held);

    assert!(mailing.resume().await.expect("resume"));
    let done = tokio::time::timeout(common::WAIT, mailing.finished())
        .await
        .expect("finished in time")
        .expect("finished");
    assert_eq!(done.mailing.state, MailingState::Finished);
    assert_eq!(done.counts.sent as usize, users.len());
    for id in &users {
        let copies = d
            .user_sees(*id)
            .iter()
            .filter(|t| *t == "Neu im Laden")
            .count();
        assert_eq!(copies, 1, "user {id} got it once");
    }
    d.stop().await;
}

/// The bytes of a document the bot sent, fetched as a client would (`getFile`, then the file).
async fn document_bytes(d: &common::Desk, message: &Value) -> String {
    let file_id = message["document"]["file_id"].as_str().expect("a document");
    let api = format!("{}/bot{}", d.tg.api_url(), common::TOKEN);
    let client = reqwest::Client::new();
    let file: Value = client
        .post(format!("{api}/getFile"))
        .json(&serde_json::json!({ "file_id": file_id }))
        .send()
        .await
        .expect("getFile")
        .json()
        .await
        .expect("its answer");
    let path = file["result"]["file_path"].as_str().expect("a file path");
    client
        .get(format!(
            "{}/file/bot{}/{path}",
            d.tg.api_url(),
            common::TOKEN
        ))
        .send()
        .await
        .expect("the file")
        .text()
        .await
        .expect("its text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_posts_a_segments_users_as_csv_and_json_lines() {
    let d = start(&[("WELCOME", "OFF"), ("BAN_ALLOWED", "everyone")]).await;
    d.tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .expect("an admin");
    let store = d.hotline.desk().store().clone();
    let vip = Tag::parse("vip").expect("a tag");
    let mut topics = Vec::new();
    for (id, name, lang) in [
        (5_001, "Ann", "de"),
        (5_002, "Bob, Jr.", "en"),
        (5_003, "Cy", "de"),
    ] {
        d.tg.add_user(NewUser::new(id, name).language_code(lang));
        d.say(id, "hello");
        let topic = d.topic_of(id).await;
        d.wait_thread(topic, "hello").await;
        topics.push(topic);
    }
    for id in [5_001, 5_002] {
        store.set_tag(UserId(id), &vip, true).await.expect("a tag");
    }
    write_in_general(&d, OPERATOR, "/export #vip", None);
    d.wait("two documents in General", |d| {
        general(d)
            .iter()
            .filter(|m| m.get("document").is_some())
            .count()
            == 2
    })
    .await;
    let documents: Vec<Value> = general(&d)
        .into_iter()
        .filter(|m| m.get("document").is_some())
        .collect();
    assert_eq!(text_of(&documents[0]), "👥 2 user(s) in `#vip`, as csv.");
    assert!(
        documents[0]["document"]["file_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("users-") && n.ends_with(".csv")),
        "{}",
        documents[0]
    );
    let csv = document_bytes(&d, &documents[0]).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,name,username,language,tags,first_contact,last_contact,status"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("5001,Ann,,de,vip,20"), "{csv}");
    assert!(
        lines[2].starts_with("5002,\"Bob, Jr.\",,en,vip,20"),
        "{csv}"
    );
    assert!(lines[1].ends_with(",user_answered"), "{csv}");
    let jsonl = document_bytes(&d, &documents[1]).await;
    let rows: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["name"], "Bob, Jr.");
    assert_eq!(rows[1]["tags"], serde_json::json!(["vip"]));
    let now = d.hotline.desk().now();
    for row in &rows {
        let first = row["first_contact"].as_str().expect("a time");
        assert!(
            first <= now.rfc3339().as_str() && first.ends_with('Z'),
            "{row}"
        );
    }

    // In a topic the files go into the topic; a banned user is never exported.
    d.operator_says(topics[2], "/ban");
    d.wait("the ban", |d| {
        d.thread_texts(topics[2])
            .iter()
            .any(|t| t.contains("banned"))
    })
    .await;
    d.operator_says(topics[0], "/export lang:de");
    d.wait("the CSV in the topic", |d| {
        d.thread_texts(topics[0])
            .iter()
            .any(|t| t == "👥 1 user(s) in `lang:de`, as csv.")
    })
    .await;
    assert!(d.user_sees(5_001).iter().all(|t| !t.contains("user(s)")));
    d.operator_says(topics[0], "/export lang:");
    d.wait("the refusal", |d| {
        d.thread_texts(topics[0])
            .iter()
            .any(|t| t.starts_with("⛔ /export:") && t.ends_with("Nothing was exported."))
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailing_waits_out_429s_and_outages_and_counts_who_is_gone() {
    let d = start(&[("WELCOME", "OFF")]).await;
    let users: Vec<i64> = (6_000..6_030).collect();
    for id in &users {
        d.user(*id, "U");
        d.say(*id, "hi");
    }
    for id in &users {
        let topic = d.topic_of(*id).await;
        d.wait_thread(topic, "hi").await;
    }
    let fault = |chat: i64, fault: hotline_testkit::Fault| hotline_testkit::Fault {
        method: Some("sendMessage".into()),
        chat_id: Some(chat),
        ..fault
    };
    // A 429 for one user, an outage longer than the desk's own retries for another, and two
    // who are gone: an account deleted, a chat Telegram cannot find.
    d.tg.inject_fault(hotline_testkit::Fault {
        count: Some(2),
        ..fault(users[3], hotline_testkit::Fault::too_many_requests(1))
    });
    d.tg.inject_fault(hotline_testkit::Fault {
        count: Some(12),
        ..fault(users[5], hotline_testkit::Fault::error(502, "Bad Gateway"))
    });
    d.tg.inject_fault(fault(
        users[7],
        hotline_testkit::Fault::error(403, "Forbidden: user is deactivated"),
    ));
    d.tg.inject_fault(fault(
        users[9],
        hotline_testkit::Fault::error(400, "Bad Request: chat not found"),
    ));
    let mailing = d
        .hotline
        .broadcast(
            "all",
            MailingContent::Message(Greeting::text("Sale!", false)),
        )
        .await
        .expect("a mailing");
    let done = tokio::time::timeout(std::time::Duration::from_secs(60), mailing.finished())
        .await
        .expect("finished in time")
        .expect("finished");
    let counts = done.counts;
    assert_eq!(
        (
            counts.sent,
            counts.blocked,
            counts.left,
            counts.failed,
            counts.pending
        ),
        (28, 1, 1, 0, 0),
        "{counts:?}"
    );
    for (i, id) in users.iter().enumerate() {
        let copies = d.user_sees(*id).iter().filter(|t| *t == "Sale!").count();
        let expected = usize::from(i != 7 && i != 9);
        assert_eq!(copies, expected, "user {id}");
    }
    let gone = d
        .hotline
        .desk()
        .store()
        .conversation(UserId(users[7]))
        .await
        .expect("store")
        .expect("a conversation");
    assert!(
        gone.blocked,
        "a deactivated user is marked and left out of later segments"
    );
    d.stop().await;
}
