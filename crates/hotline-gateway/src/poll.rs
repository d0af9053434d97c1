//! `getUpdates` for the bot, from its own cursor in the update log (semantics of the official
//! server's `Client.cpp`, see `GATEWAY.md`).

use crate::{Gateway, params, read_params, refuse, store_failed};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use hotline_core::{LogId, StoreError};
use serde_json::Value;
use std::time::Duration;

/// Every kind of update (`allowed_updates` names), Bot API 10.1.
pub const UPDATE_KINDS: &[&str] = &[
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "guest_message",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
    "managed_bot",
];

/// The kinds a bot gets when it never set `allowed_updates` (or set `[]`): all but these.
const NOT_BY_DEFAULT: &[&str] = &["chat_member", "message_reaction", "message_reaction_count"];

/// The default set: every kind but `chat_member`, `message_reaction` and
/// `message_reaction_count` (Bot API §getUpdates).
pub fn default_updates() -> Vec<String> {
    UPDATE_KINDS
        .iter()
        .filter(|k| !NOT_BY_DEFAULT.contains(k))
        .map(|k| (*k).to_owned())
        .collect()
}

/// The kinds a consumer with this `allowed_updates` setting gets.
pub(crate) fn effective_allowed(allowed: Option<&[String]>) -> Vec<String> {
    match allowed {
        Some(kinds) if !kinds.is_empty() => kinds.to_vec(),
        _ => default_updates(),
    }
}

/// The longest long poll (`Client.h` `LONG_POLL_MAX_TIMEOUT`).
const MAX_TIMEOUT_SECS: i64 = 50;

const CONFLICT_POLL: &str = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";
const CONFLICT_WEBHOOK: &str = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";

/// What a read of the bot's part of the log gives.
pub(crate) struct Visible {
    /// Updates to deliver, with the gateway's id as their `update_id`.
    pub(crate) updates: Vec<(LogId, Value)>,
    /// The last id of the run of updates not for the bot that comes before the first one to
    /// deliver (or of all read, when none is to be delivered): confirmable at once.
    pub(crate) skipped_to: Option<LogId>,
}

impl Gateway {
    /// Whether a logged update goes to the bot, and as what.
    fn deliverable(&self, allowed: &[String], id: LogId, payload: &str) -> Option<Value> {
        let Ok(Value::Object(mut update)) = serde_json::from_str::<Value>(payload) else {
            // Not JSON an object: nothing a bot could read either.
            return None;
        };
        let kind = update.keys().find(|k| k.as_str() != "update_id")?;
        if !allowed.iter().any(|a| a == kind) {
            return None;
        }
        if self.inner.config.hide_desks_updates && self.inner.hotline.is_desks_alone(payload) {
            return None;
        }
        update.insert("update_id".into(), Value::from(id.0));
        Some(Value::Object(update))
    }

    /// The bot's updates after `after` up to `upto` (what the desk has taken in), at most
    /// `limit`.
    pub(crate) async fn visible(
        &self,
        after: LogId,
        upto: LogId,
        limit: usize,
    ) -> Result<Visible, StoreError> {
        let allowed = effective_allowed(self.settings().allowed.as_deref());
        let mut visible = Visible {
            updates: Vec::new(),
            skipped_to: None,
        };
        let mut cursor = after;
        const PAGE: usize = 500;
        'pages: while cursor < upto && visible.updates.len() < limit {
            let page = self.inner.hotline.update_log().read(cursor, PAGE).await?;
            let full = page.len() == PAGE;
            for logged in page {
                if logged.id > upto {
                    break 'pages;
                }
                cursor = logged.id;
                match self.deliverable(&allowed, logged.id, &logged.payload) {
                    Some(update) => {
                        visible.updates.push((logged.id, update));
                        if visible.updates.len() >= limit {
                            break 'pages;
                        }
                    }
                    None if visible.updates.is_empty() => visible.skipped_to = Some(logged.id),
                    None => {}
                }
            }
            if !full {
                break;
            }
        }
        Ok(visible)
    }

    /// The last id the bot may see: what the desk has taken in.
    pub(crate) fn seen(&self) -> LogId {
        *self.inner.hotline.update_log().desk_seen().borrow()
    }

    /// The consumer's backlog (for `getWebhookInfo`).
    pub(crate) async fn pending(&self) -> Result<usize, StoreError> {
        let confirmed = self.confirmed().await?;
        Ok(self
            .visible(confirmed, self.seen(), 100_000)
            .await?
            .updates
            .len())
    }
}

pub(crate) async fn get_updates(gateway: &Gateway, request: Request) -> Response {
    let params = match read_params(gateway, request).await {
        Ok(params) => params,
        Err(refused) => return refused,
    };
    if gateway.settings().webhook.is_some() {
        return refuse(StatusCode::CONFLICT, CONFLICT_WEBHOOK);
    }
    // This poll supersedes any other of the consumer's: they answer 409 when they see it.
    gateway.inner.polls.send_modify(|n| *n += 1);
    let mut polls = gateway.inner.polls.subscribe();
    match params::string_list(&params, "allowed_updates") {
        None => {}
        Some(Err(why)) => return refuse(StatusCode::BAD_REQUEST, &format!("Bad Request: {why}")),
        Some(Ok(kinds)) => {
            let allowed = (!kinds.is_empty()).then_some(kinds);
            if gateway.settings().allowed != allowed
                && let Err(error) = gateway.update_settings(|s| s.allowed = allowed).await
            {
                return store_failed(&error);
            }
        }
    }
    let offset = params::int(&params, "offset").unwrap_or(0);
    let limit = params::int(&params, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = params::int(&params, "timeout")
        .unwrap_or(0)
        .clamp(0, MAX_TIMEOUT_SECS) as u64;
    let timeout = slowed(gateway, offset, timeout);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    match answer(gateway, offset, limit, deadline, &mut polls).await {
        Ok(Answer::Updates(updates)) => crate::ok(Value::Array(updates)),
        Ok(Answer::Superseded) => refuse(StatusCode::CONFLICT, CONFLICT_POLL),
        Ok(Answer::WebhookSet) => refuse(StatusCode::CONFLICT, CONFLICT_WEBHOOK),
        Err(error) => store_failed(&error),
    }
}

/// The official server's anti-spin rule (`Client.cpp:15714`): the same offset again within
/// [`SPIN_WINDOW`] with a timeout under it waits that long, so a bot polling in a loop with
/// `timeout=0` does not keep the store busy.
fn slowed(gateway: &Gateway, offset: i64, timeout: u64) -> u64 {
    let now = std::time::Instant::now();
    let mut last = crate::lock(&gateway.inner.last_poll);
    let repeated = last.is_some_and(|(o, at)| o == offset && now.duration_since(at) < SPIN_WINDOW);
    *last = Some((offset, now));
    if repeated {
        timeout.max(SPIN_WINDOW.as_secs())
    } else {
        timeout
    }
}

/// See [`slowed`].
const SPIN_WINDOW: Duration = Duration::from_secs(3);

/// How a poll ends.
enum Answer {
    Updates(Vec<Value>),
    /// A newer poll of the consumer took over.
    Superseded,
    /// A webhook was set meanwhile: the pusher delivers from now on.
    WebhookSet,
}

/// The poll's answer.
async fn answer(
    gateway: &Gateway,
    offset: i64,
    limit: usize,
    deadline: tokio::time::Instant,
    polls: &mut tokio::sync::watch::Receiver<u64>,
) -> Result<Answer, StoreError> {
    let mut settings_changed = gateway.inner.settings_changed.subscribe();
    let mut desk_seen = gateway.inner.hotline.update_log().desk_seen();
    let mut confirmed = gateway.confirmed().await?;
    let seen = *desk_seen.borrow_and_update();
    if offset > 0 {
        // Everything below `offset` is confirmed; an offset past the end confirms all. The end
        // is the log's, not what the desk has seen: after a restart the desk starts again
        // from its own place, behind what the bot was already given (and confirms now).
        let mut upto = LogId(offset - 1);
        if upto > seen {
            upto = upto.min(
                gateway
                    .inner
                    .hotline
                    .update_log()
                    .store()
                    .log_head()
                    .await?
                    .last_id,
            );
        }
        if upto > confirmed {
            gateway.confirm_soon(upto).await?;
            confirmed = upto;
        }
    } else if offset < 0 {
        // Forget all but the last -offset visible updates.
        let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
        let all = gateway.visible(confirmed, seen, usize::MAX).await?;
        let upto = if all.updates.len() > keep {
            Some(all.updates[all.updates.len() - keep - 1].0)
        } else {
            all.skipped_to
        };
        if let Some(upto) = upto.filter(|u| *u > confirmed) {
            gateway.confirm_soon(upto).await?;
            confirmed = upto;
        }
    }
    loop {
        settings_changed.mark_unchanged();
        if gateway.settings().webhook.is_some() {
            return Ok(Answer::WebhookSet);
        }
        let seen = *desk_seen.borrow_and_update();
        let visible = gateway.visible(confirmed, seen, limit).await?;
        if let Some(skipped) = visible.skipped_to.filter(|s| *s > confirmed) {
            // Not the bot's: past them at once, so they are never read again.
            gateway.confirm_soon(skipped).await?;
            confirmed = skipped;
        }
        if !visible.updates.is_empty() {
            return Ok(Answer::Updates(
                visible.updates.into_iter().map(|(_, u)| u).collect(),
            ));
        }
        tokio::select! {
            changed = desk_seen.changed() => {
                if changed.is_err() {
                    return Ok(Answer::Updates(Vec::new()));
                }
            }
            // A webhook set meanwhile, or other kinds allowed: look again.
            _ = settings_changed.changed() => {}
            _ = polls.changed() => return Ok(Answer::Superseded),
            () = tokio::time::sleep_until(deadline) => return Ok(Answer::Updates(Vec::new())),
            () = gateway.inner.stop.cancelled() => return Ok(Answer::Updates(Vec::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_set_is_all_but_three_kinds() {
        let default = effective_allowed(None);
        assert_eq!(default.len(), UPDATE_KINDS.len() - 3);
        assert!(
            !default
                .iter()
                .any(|k| k == "chat_member" || k == "message_reaction")
        );
        assert_eq!(effective_allowed(Some(&[])), default);
        assert_eq!(effective_allowed(Some(&["poll".to_owned()])), ["poll"]);
    }
}
