//! Sends whose content is structured data rather than text or a file: contacts, locations,
//! venues, polls (and stopping them) and dice. Each is a bot message in the chat's transcript,
//! checked and flood-counted like every other send.

use serde_json::{Map, Value, json};

use super::chat_id_param;
use super::send::{finish_bot_message, target};
use crate::limits::next_f64;
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::State;

/// A required, non-empty string parameter.
fn req_text(p: &Params, key: &str) -> ApiResult<String> {
    p.opt_str(key)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| missing(key))
}

/// A required number parameter (a JSON number or its string form).
fn req_f64(p: &Params, key: &str) -> ApiResult<f64> {
    p.opt_f64(key).ok_or_else(|| missing(key))
}

/// Copies the optional parameters `keys` that are given into `o`, as they were sent.
fn copy_optional(p: &Params, o: &mut Map<String, Value>, keys: &[&str], numbers: bool) {
    for key in keys {
        if numbers {
            if let Some(n) = p.opt_i64(key).ok().flatten() {
                o.insert((*key).into(), json!(n));
            } else if let Some(f) = p.opt_f64(key) {
                o.insert((*key).into(), json!(f));
            }
        } else if let Some(s) = p.opt_str(key).filter(|s| !s.is_empty()) {
            o.insert((*key).into(), json!(s));
        }
    }
}

fn require_chat(p: &Params) -> ApiResult<()> {
    if p.has("chat_id") {
        Ok(())
    } else {
        Err(missing("chat_id"))
    }
}

/// Sends `content` as one new bot message, after the checks every send shares.
fn send(st: &mut State, p: &Params, content: Map<String, Value>) -> ApiResult {
    let t = target(st, p, true)?;
    finish_bot_message(st, &t, p, content)
}

pub(super) fn send_contact(st: &mut State, p: &Params) -> ApiResult {
    require_chat(p)?;
    let mut contact = Map::new();
    contact.insert("phone_number".into(), json!(req_text(p, "phone_number")?));
    contact.insert("first_name".into(), json!(req_text(p, "first_name")?));
    copy_optional(p, &mut contact, &["last_name", "vcard"], false);
    let mut c = Map::new();
    c.insert("contact".into(), Value::Object(contact));
    send(st, p, c)
}

/// A Location object from `latitude` and `longitude` (and the live-location details given).
fn location(p: &Params) -> ApiResult<Value> {
    let mut o = Map::new();
    o.insert("latitude".into(), json!(req_f64(p, "latitude")?));
    o.insert("longitude".into(), json!(req_f64(p, "longitude")?));
    if let Some(a) = p.opt_f64("horizontal_accuracy") {
        o.insert("horizontal_accuracy".into(), json!(a));
    }
    copy_optional(
        p,
        &mut o,
        &["live_period", "heading", "proximity_alert_radius"],
        true,
    );
    Ok(Value::Object(o))
}

pub(super) fn send_location(st: &mut State, p: &Params) -> ApiResult {
    require_chat(p)?;
    let mut c = Map::new();
    c.insert("location".into(), location(p)?);
    send(st, p, c)
}

/// A venue message carries the venue and, beside it, its location (as on Telegram).
pub(super) fn send_venue(st: &mut State, p: &Params) -> ApiResult {
    require_chat(p)?;
    let loc = json!({
        "latitude": req_f64(p, "latitude")?,
        "longitude": req_f64(p, "longitude")?,
    });
    let mut venue = Map::new();
    venue.insert("location".into(), loc.clone());
    venue.insert("title".into(), json!(req_text(p, "title")?));
    venue.insert("address".into(), json!(req_text(p, "address")?));
    copy_optional(
        p,
        &mut venue,
        &[
            "foursquare_id",
            "foursquare_type",
            "google_place_id",
            "google_place_type",
        ],
        false,
    );
    let mut c = Map::new();
    c.insert("venue".into(), Value::Object(venue));
    c.insert("location".into(), loc);
    send(st, p, c)
}

/// The options of a new poll: InputPollOption objects (or, as older clients send them, plain
/// strings), 2 to 12 of them, each 1 to 100 characters.
fn poll_options(p: &Params) -> ApiResult<Vec<Value>> {
    let raw = p.opt_json("options")?.ok_or_else(|| missing("options"))?;
    let items = raw
        .as_array()
        .ok_or_else(|| ApiError::bad("can't parse options JSON object"))?;
    if items.len() < 2 {
        return Err(ApiError::bad("poll must have at least 2 option"));
    }
    if items.len() > 12 {
        return Err(ApiError::bad("poll can't have more than 12 options"));
    }
    let mut options = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let text = match item {
            Value::String(s) => s.as_str(),
            other => other.get("text").and_then(Value::as_str).unwrap_or(""),
        };
        let len = text.chars().count();
        if len == 0 || len > 100 {
            return Err(ApiError::bad("poll options length must not exceed 100"));
        }
        options.push(json!({"persistent_id": i.to_string(), "text": text, "voter_count": 0}));
    }
    Ok(options)
}

pub(super) fn send_poll(st: &mut State, p: &Params) -> ApiResult {
    require_chat(p)?;
    let question = req_text(p, "question")?;
    if question.chars().count() > 300 {
        return Err(ApiError::bad("poll question length must not exceed 300"));
    }
    let options = poll_options(p)?;
    let kind = p.opt_str("type").unwrap_or_else(|| "regular".into());
    if kind != "regular" && kind != "quiz" {
        return Err(ApiError::bad("wrong poll type specified"));
    }
    let correct = p.opt_json("correct_option_ids")?;
    if kind == "quiz" && correct.is_none() {
        return Err(ApiError::bad("QUIZ_CORRECT_ANSWERS_EMPTY"));
    }
    // Defaults as documented: anonymous, and revoting allowed except in quizzes.
    let flag = |key: &str, default: bool| {
        if p.has(key) { p.opt_bool(key) } else { default }
    };
    let t = target(st, p, true)?;
    let id = st.next_poll.to_string();
    st.next_poll += 1;
    let mut poll = Map::new();
    poll.insert("id".into(), json!(id));
    poll.insert("question".into(), json!(question));
    poll.insert("options".into(), Value::Array(options));
    poll.insert("total_voter_count".into(), json!(0));
    poll.insert("is_closed".into(), json!(p.opt_bool("is_closed")));
    poll.insert("is_anonymous".into(), json!(flag("is_anonymous", true)));
    poll.insert("type".into(), json!(kind));
    poll.insert(
        "allows_multiple_answers".into(),
        json!(p.opt_bool("allows_multiple_answers")),
    );
    poll.insert(
        "allows_revoting".into(),
        json!(flag("allows_revoting", kind == "regular")),
    );
    poll.insert("members_only".into(), json!(p.opt_bool("members_only")));
    if let Some(c) = correct.filter(Value::is_array) {
        poll.insert("correct_option_ids".into(), c);
    }
    copy_optional(p, &mut poll, &["explanation", "description"], false);
    copy_optional(p, &mut poll, &["open_period", "close_date"], true);
    let mut c = Map::new();
    c.insert("poll".into(), Value::Object(poll));
    finish_bot_message(st, &t, p, c)
}

/// Closes a poll the bot sent; returns the poll as it now stands.
pub(super) fn stop_poll(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let message_id = p.req_i64("message_id")?;
    let bot_id = st.bot_id;
    let chat = st.chat_mut(chat_id)?;
    let not_found = || ApiError::bad("message with poll to stop not found");
    let pos = chat.position(message_id).ok_or_else(not_found)?;
    let msg = &mut chat.history[pos];
    if msg["from"]["id"].as_i64() != Some(bot_id) {
        return Err(ApiError::bad("message with poll can't be stopped"));
    }
    let poll = msg
        .get_mut("poll")
        .and_then(Value::as_object_mut)
        .ok_or_else(not_found)?;
    if poll.get("is_closed") == Some(&json!(true)) {
        return Err(ApiError::bad("poll has already been closed"));
    }
    poll.insert("is_closed".into(), json!(true));
    Ok(Value::Object(poll.clone()))
}

/// The dice Telegram offers, with how many faces each has.
const DICE: &[(&str, u32)] = &[
    ("🎲", 6),
    ("🎯", 6),
    ("🎳", 6),
    ("🏀", 5),
    ("⚽", 5),
    ("🎰", 64),
];

pub(super) fn send_dice(st: &mut State, p: &Params) -> ApiResult {
    require_chat(p)?;
    let emoji = p
        .opt_str("emoji")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "🎲".into());
    let faces = DICE
        .iter()
        .find(|(e, _)| *e == emoji)
        .map(|(_, n)| *n)
        .ok_or_else(|| ApiError::bad("DICE_EMOJI_INVALID"))?;
    let t = target(st, p, true)?;
    let value = 1 + (next_f64(&mut st.rng) * f64::from(faces)) as u32;
    let mut c = Map::new();
    c.insert(
        "dice".into(),
        json!({"emoji": emoji, "value": value.min(faces)}),
    );
    finish_bot_message(st, &t, p, c)
}
