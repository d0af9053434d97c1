//! The fake answers every method of the Bot API spec: the modelled ones act, the others get a
//! placeholder result of the spec's return type and are counted as not modelled. Only a name
//! outside the spec answers 404.

mod common;

use common::*;
use hotline_testkit::spec::Field;
use hotline_testkit::{METHODS, MemberStatus, NewMessage};
use serde_json::{Map, Value, json};

/// Ids of what [`seed`] puts in the world, for the parameters that must name something real.
struct Seed {
    /// A bot text message with an inline keyboard in GROUP; ANN's photo message has the same id.
    message: i64,
    poll: i64,
    captioned_photo: i64,
    open_topic: i64,
    closed_topic: i64,
    callback_query: String,
}

const PHOTO: &str = "SEED-PHOTO";

async fn seed(h: &H) -> Seed {
    h.tg.send_message(NewMessage::text(ANN, ANN, "one"))
        .expect("message 1");
    let photo =
        h.tg.send_message(NewMessage::empty(ANN, ANN).photo(PHOTO))
            .expect("message 2");
    let keyboard = json!({"inline_keyboard": [[{"text": "FAQ", "callback_data": "faq"}]]});
    let text = h
        .call(
            "sendMessage",
            json!({"chat_id": GROUP, "text": "seed", "reply_markup": keyboard}),
        )
        .await;
    assert_eq!(text["message_id"], photo["message_id"], "one id, two chats");
    let poll = h
        .call(
            "sendPoll",
            json!({"chat_id": GROUP, "question": "q?", "options": ["a", "b"]}),
        )
        .await;
    let captioned = h
        .call(
            "sendPhoto",
            json!({"chat_id": GROUP, "photo": PHOTO, "caption": "old"}),
        )
        .await;
    let open = h
        .call(
            "createForumTopic",
            json!({"chat_id": GROUP, "name": "open"}),
        )
        .await;
    let closed = h
        .call(
            "createForumTopic",
            json!({"chat_id": GROUP, "name": "closed"}),
        )
        .await;
    h.call(
        "closeForumTopic",
        json!({"chat_id": GROUP, "message_thread_id": closed["message_thread_id"]}),
    )
    .await;
    let id = |v: &Value, key: &str| v[key].as_i64().expect("an id");
    let message = id(&text, "message_id");
    let cq =
        h.tg.press_button(OLGA, GROUP, message, "faq")
            .expect("press");
    Seed {
        message,
        poll: id(&poll, "message_id"),
        captioned_photo: id(&captioned, "message_id"),
        open_topic: id(&open, "message_thread_id"),
        closed_topic: id(&closed, "message_thread_id"),
        callback_query: cq["id"].as_str().expect("callback id").to_owned(),
    }
}

/// A value for parameter `f` of `method`: something real the seed made when the name says
/// what it refers to, else the simplest value of its first type.
fn value(method: &str, f: &Field, s: &Seed) -> Value {
    let by_method = match (method, f.name.as_str()) {
        ("stopPoll", "message_id") => Some(json!(s.poll)),
        ("editMessageCaption", "message_id") => Some(json!(s.captioned_photo)),
        ("reopenForumTopic", "message_thread_id") => Some(json!(s.closed_topic)),
        ("sendMediaGroup", "media") => Some(json!([
            {"type": "photo", "media": PHOTO},
            {"type": "photo", "media": PHOTO},
        ])),
        ("editMessageMedia", "media") => Some(json!({"type": "photo", "media": PHOTO})),
        _ => None,
    };
    if let Some(v) = by_method {
        return v;
    }
    match f.name.as_str() {
        "chat_id" => return json!(GROUP),
        "from_chat_id" => return json!(ANN),
        "message_id" => return json!(s.message),
        "message_ids" => return json!([s.message]),
        "message_thread_id" => return json!(s.open_topic),
        "user_id" => return json!(ANN),
        "callback_query_id" => return json!(s.callback_query),
        "file_id" => return json!(PHOTO),
        "action" => return json!("typing"),
        "url" => return json!("http://127.0.0.1:9/hook"),
        "options" => return json!([{"text": "yes"}, {"text": "no"}]),
        "commands" => return json!([{"command": "start", "description": "Start"}]),
        "name" => return json!("renamed"),
        "caption" => return json!("new caption"),
        _ => {}
    }
    if f.types.iter().any(|t| t == "InputFile") {
        return json!(PHOTO);
    }
    match f.types.first().map(String::as_str).unwrap_or("String") {
        "Integer" => json!(1),
        "Float" => json!(1.5),
        "Boolean" => json!(true),
        "String" => json!("x"),
        t if t.starts_with("Array of ") => json!([]),
        _ => json!({}),
    }
}

/// Optional parameters a minimal call still needs: one of two alternatives the spec marks
/// optional ("text, required if rich_message isn't specified"), or a change to make.
const ALTERNATIVES: &[(&str, &str)] = &[
    ("editMessageText", "text"),
    ("editMessageCaption", "caption"),
    ("editForumTopic", "name"),
];

/// The parameters the spec requires, plus `chat_id` and `message_id` where the method takes
/// them (the methods that act on a message by chat or by inline id require neither).
fn params(method: &str, s: &Seed) -> Value {
    let mut p = Map::new();
    for f in spec().method_params(method).unwrap_or_default() {
        let addressing = matches!(f.name.as_str(), "chat_id" | "message_id");
        if f.required || addressing || ALTERNATIVES.contains(&(method, f.name.as_str())) {
            p.insert(f.name.clone(), value(method, f, s));
        }
    }
    Value::Object(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_of_the_spec_is_answered_with_a_result_of_its_return_type() {
    let names: Vec<String> = spec().method_names().map(str::to_owned).collect();
    assert_eq!(names.len(), 180, "Bot API 10.1 has 180 methods");
    let mut not_modelled = Vec::new();
    for method in &names {
        // A world of its own for each method: deletes and webhooks do not disturb the rest.
        let h = H::new().await;
        let s = seed(&h).await;
        let before = h.tg.stats();
        let p = params(method, &s);
        let (status, body) = h.raw(method, p.clone()).await;
        assert_ne!(status, 404, "{method} {p}: {body}");
        assert_eq!(
            (status, &body["ok"]),
            (200, &json!(true)),
            "{method} {p} failed: {body}"
        );
        check(method, &body["result"]);
        let stats = h.tg.stats();
        assert_eq!(stats.calls_of(method), before.calls_of(method) + 1);
        let modelled = METHODS.contains(&method.as_str());
        let counted = stats.not_modelled.get(method.as_str()).copied();
        assert_eq!(
            counted,
            (!modelled).then_some(1),
            "{method}: not_modelled {:?}",
            stats.not_modelled
        );
        if !modelled {
            not_modelled.push(method.clone());
        }
        h.finish().await;
    }
    // The modelled methods are exactly METHODS; the rest are placeholders.
    let expected: Vec<String> = names
        .iter()
        .filter(|m| !METHODS.contains(&m.as_str()))
        .cloned()
        .collect();
    assert_eq!(not_modelled, expected);
    assert!(METHODS.iter().all(|m| names.iter().any(|n| n == m)));
}

#[tokio::test]
async fn only_names_outside_the_spec_answer_404_and_every_name_is_counted() {
    let h = H::new().await;
    for name in ["sendTelepathy", "SENDTELEPATHY"] {
        let (code, desc, _) = h.fail(name, json!({})).await;
        assert_eq!((code, desc.as_str()), (404, "Not Found"));
    }
    // A method the fake does not model: its required parameters are still required.
    let (code, desc, _) = h.fail("SENDINVOICE", json!({"chat_id": ANN})).await;
    assert_eq!(
        (code, desc.as_str()),
        (400, "Bad Request: parameter \"title\" is required")
    );
    let (code, desc, _) = h
        .fail("banChatMember", json!({"chat_id": 42, "user_id": ANN}))
        .await;
    assert_eq!((code, desc.as_str()), (400, "Bad Request: chat not found"));
    let r = h
        .call("banchatmember", json!({"chat_id": GROUP, "user_id": ANN}))
        .await;
    assert_eq!(r, json!(true));
    let s = h.tg.stats();
    assert_eq!(s.calls.get("sendtelepathy"), Some(&2), "{:?}", s.calls);
    assert_eq!(s.calls.get("sendInvoice"), Some(&1));
    assert_eq!(s.calls.get("banChatMember"), Some(&2));
    assert_eq!(s.not_modelled.get("sendInvoice"), Some(&1));
    assert_eq!(s.not_modelled.get("banChatMember"), Some(&2));
    assert!(!s.not_modelled.contains_key("sendtelepathy"));
    // Over HTTP too.
    let stats: Value = h
        .http
        .get(format!("{}/_testkit/stats", h.tg.api_url()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["result"]["not_modelled"]["banChatMember"], 2);
    // A placeholder changes nothing: no message was stored for the invoice's chat.
    assert!(h.tg.messages(ANN).is_empty());
    h.finish().await;
}

#[tokio::test]
async fn contacts_locations_venues_polls_and_dice_join_the_transcript() {
    let h = H::new().await;
    let contact = h
        .call(
            "sendContact",
            json!({"chat_id": ANN, "phone_number": "+15550100", "first_name": "Desk", "last_name": "Team"}),
        )
        .await;
    assert_eq!(
        contact["contact"],
        json!({"phone_number": "+15550100", "first_name": "Desk", "last_name": "Team"})
    );
    let loc = h
        .call(
            "sendLocation",
            json!({"chat_id": ANN, "latitude": "52.52", "longitude": 13.405}),
        )
        .await;
    assert_eq!(
        loc["location"],
        json!({"latitude": 52.52, "longitude": 13.405})
    );
    let venue = h
        .call(
            "sendVenue",
            json!({"chat_id": ANN, "latitude": 1.0, "longitude": 2.0, "title": "Office", "address": "Main St 1"}),
        )
        .await;
    assert_eq!(venue["venue"]["title"], "Office");
    assert_eq!(venue["location"], venue["venue"]["location"]);
    let poll = h
        .call(
            "sendPoll",
            json!({"chat_id": ANN, "question": "Helpful?", "options": [{"text": "yes"}, {"text": "no"}]}),
        )
        .await;
    assert_eq!(poll["poll"]["question"], "Helpful?");
    assert_eq!(poll["poll"]["options"][1]["text"], "no");
    assert_eq!(poll["poll"]["is_closed"], false);
    assert_eq!(poll["poll"]["is_anonymous"], true);
    let (code, desc, _) = h
        .fail(
            "sendPoll",
            json!({"chat_id": ANN, "question": "?", "options": ["only one"]}),
        )
        .await;
    assert_eq!(
        (code, desc.as_str()),
        (400, "Bad Request: poll must have at least 2 option")
    );
    let stopped = h
        .call(
            "stopPoll",
            json!({"chat_id": ANN, "message_id": poll["message_id"]}),
        )
        .await;
    assert_eq!(stopped["is_closed"], true);
    assert_eq!(stopped["id"], poll["poll"]["id"]);
    for _ in 0..20 {
        let dice = h
            .call("sendDice", json!({"chat_id": ANN, "emoji": "🏀"}))
            .await;
        let value = dice["dice"]["value"].as_i64().expect("value");
        assert!((1..=5).contains(&value), "{value}");
    }
    let (code, desc, _) = h
        .fail("sendDice", json!({"chat_id": ANN, "emoji": "🍕"}))
        .await;
    assert_eq!(
        (code, desc.as_str()),
        (400, "Bad Request: DICE_EMOJI_INVALID")
    );

    // Every one is in the chat, as the bot's, in order; the closed poll shows closed.
    let kinds: Vec<&str> = ["contact", "location", "venue", "poll"]
        .into_iter()
        .chain(std::iter::repeat_n("dice", 20))
        .collect();
    let history = h.tg.messages(ANN);
    assert_eq!(history.len(), kinds.len());
    for (m, kind) in history.iter().zip(&kinds) {
        assert!(m.get(*kind).is_some(), "{kind}: {m}");
        assert_eq!(m["from"]["id"], 123456);
        check_type("Message", m);
    }
    assert_eq!(history[3]["poll"]["is_closed"], true);

    // They copy and forward like any message; a copied poll is a new poll.
    let copy = h
        .call(
            "copyMessage",
            json!({"chat_id": GROUP, "from_chat_id": ANN, "message_id": poll["message_id"]}),
        )
        .await;
    let copied = h.tg.messages(GROUP).pop().expect("the copy");
    assert_eq!(copied["message_id"], copy["message_id"]);
    assert_eq!(copied["poll"]["question"], "Helpful?");
    assert_ne!(copied["poll"]["id"], poll["poll"]["id"]);
    let ids = h
        .call(
            "forwardMessages",
            json!({"chat_id": BOB, "from_chat_id": ANN, "message_ids": [contact["message_id"], venue["message_id"]]}),
        )
        .await;
    assert_eq!(ids.as_array().map(Vec::len), Some(2));
    let forwarded = h.tg.messages(BOB);
    assert_eq!(forwarded[0]["contact"], contact["contact"]);
    assert_eq!(forwarded[1]["venue"], venue["venue"]);
    assert_eq!(forwarded[0]["forward_origin"]["sender_user"]["id"], 123456);
    h.finish().await;
}

#[tokio::test]
async fn administrators_members_and_profile_photos() {
    let h = H::new().await;
    h.tg.add_member_as(GROUP, ANN, MemberStatus::Creator)
        .expect("owner");
    // Over HTTP: Bob becomes an administrator.
    let r: Value = h
        .http
        .post(format!(
            "{}/_testkit/groups/{GROUP}/members",
            h.tg.api_url()
        ))
        .json(&json!({"user_id": BOB, "status": "administrator"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ok"], true, "{r}");
    let admins = h
        .call("getChatAdministrators", json!({"chat_id": GROUP}))
        .await;
    let list: Vec<(String, i64)> = admins
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            (
                m["status"].as_str().unwrap_or("").to_owned(),
                m["user"]["id"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        list,
        [
            ("creator".to_owned(), ANN),
            ("administrator".to_owned(), BOB),
            ("administrator".to_owned(), 123456),
        ],
        "Olga is a plain member"
    );
    assert_eq!(admins[2]["can_manage_topics"], true, "the bot's rights");
    let member = h
        .call("getChatMember", json!({"chat_id": GROUP, "user_id": ANN}))
        .await;
    assert_eq!(member["status"], "creator");
    // A new creator: the old one stays an administrator.
    h.tg.add_member_as(GROUP, OLGA, MemberStatus::Creator)
        .expect("new owner");
    let member = h
        .call("getChatMember", json!({"chat_id": GROUP, "user_id": ANN}))
        .await;
    assert_eq!(member["status"], "administrator");
    // Where the bot is no admin it is not listed.
    let admins = h
        .call("getChatAdministrators", json!({"chat_id": PLAIN_GROUP}))
        .await;
    assert_eq!(admins, json!([]));
    let (code, desc, _) = h
        .fail("getChatAdministrators", json!({"chat_id": ANN}))
        .await;
    assert_eq!(
        (code, desc.as_str()),
        (
            400,
            "Bad Request: there are no administrators in the private chat"
        )
    );
    let count = h
        .call("getChatMemberCount", json!({"chat_id": GROUP}))
        .await;
    assert_eq!(count, 4, "Ann, Bob, Olga and the bot");

    let photos = h
        .call("getUserProfilePhotos", json!({"user_id": ANN}))
        .await;
    assert_eq!(photos, json!({"total_count": 0, "photos": []}));
    let (code, desc, _) = h
        .fail("getUserProfilePhotos", json!({"user_id": 999}))
        .await;
    assert_eq!((code, desc.as_str()), (400, "Bad Request: user not found"));
    h.finish().await;
}
