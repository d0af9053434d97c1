//! Interception: a wrapper around the host bot's frankenstein client that mirrors the host's
//! successful sends to users into their topics (`INTERCEPT_EXTERNAL`).
//!
//! frankenstein's `AsyncTelegramApi` routes every method through two required methods, `request`
//! and `request_with_form_data`; the wrapper implements just those, so the host's code keeps
//! calling `send_message`, `send_photo`, ... unchanged (the way a tower layer wraps a service).
//!
//! A send whose answer holds the message becomes [`Event::HostMessage`] (with the text's
//! entities, so the mirror keeps its formatting), `sendMediaGroup` one [`Event::HostAlbum`],
//! and `copyMessage`, `copyMessages`, `forwardMessages`, which answer with ids alone, one
//! [`Event::HostCopied`] (the chat read from the call's parameters). All go through the user's
//! lane, so they are mirrored in the order the host made them.

use crate::decode;
use crate::hotline::Hotline;
use frankenstein::AsyncTelegramApi;
use frankenstein::types::{ChatType, Message};
use hotline_core::{Event, IncomingMessage, MessageId, UserId};
use serde_json::Value;
use std::path::PathBuf;

/// The host bot's client, with its sends to users mirrored into their topics. Build it with
/// [`Hotline::intercept`].
#[derive(Clone)]
pub struct Intercepted<B> {
    inner: B,
    hotline: Hotline,
}

/// Shows neither the wrapped client (frankenstein's `Bot` prints its URL, token included) nor
/// anything else secret.
impl<B> std::fmt::Debug for Intercepted<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intercepted")
            .field("hotline", &self.hotline)
            .finish_non_exhaustive()
    }
}

impl Hotline {
    /// Wraps the host bot's client: it behaves exactly as before, and what it sends to users
    /// whose topic is open is mirrored there, marked as the bot's (an [`Intercepted`] client).
    pub fn intercept<B>(&self, bot: B) -> Intercepted<B> {
        Intercepted {
            inner: bot,
            hotline: self.clone(),
        }
    }

    /// A frankenstein client for this bot (the same token and API URL Hotline uses), already
    /// intercepted: a host without a client of its own sends through this one.
    pub fn bot(&self) -> Intercepted<frankenstein::client_reqwest::Bot> {
        self.intercept(self.client.bot().clone())
    }

    /// Mirrors a host bot's Bot API call made outside an [`Intercepted`] client (through the
    /// gateway, say), as [`Intercepted`] would: `method` as called (any case), `chat_id` the
    /// call's `chat_id` parameter (needed for `copyMessage`, `copyMessages` and
    /// `forwardMessages`, which answer with ids alone), `answer` the whole answer envelope
    /// (`{"ok":true,"result":...}`). Anything but a successful send or edit to a user is
    /// ignored. Returns at once; the desk mirrors in the user's order.
    pub fn mirror_host_call(&self, method: &str, chat_id: Option<i64>, answer: &Value) {
        if answer.get("ok").and_then(Value::as_bool) == Some(true) {
            self.observe(method, chat_id, answer);
        }
    }

    /// Looks at a successful Bot API answer of the host bot and mirrors messages sent to users:
    /// what `send*` and `forwardMessage` answer with (`sendMediaGroup` as one album), edits, and
    /// the ids `copyMessage`, `copyMessages` and `forwardMessages` answer with (`to` is the chat
    /// they were sent to, read from the call's parameters).
    fn observe(&self, method: &str, to: Option<i64>, envelope: &Value) {
        let method = method.to_ascii_lowercase();
        let result = envelope.get("result");
        if is_copy(&method) {
            // Users' chats have positive ids; groups and channels negative ones.
            let (Some(user), Some(result)) = (to.filter(|id| *id > 0), result) else {
                return;
            };
            let mut messages: Vec<MessageId> = match result {
                Value::Array(items) => items.iter().filter_map(message_id).collect(),
                one => message_id(one).into_iter().collect(),
            };
            messages.sort_unstable();
            if !messages.is_empty() {
                self.mirror(Event::HostCopied {
                    user: UserId(user),
                    messages,
                });
            }
            return;
        }
        let edited = method.starts_with("editmessage");
        let sent = (method.starts_with("send") && method != "sendchataction")
            || method == "forwardmessage";
        if !(sent || edited) {
            return;
        }
        let messages: Vec<&Value> = match result {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(object @ Value::Object(_)) => vec![object],
            _ => return,
        };
        let mut album: Vec<IncomingMessage> = Vec::new();
        let mut album_user = None;
        for value in messages {
            let Ok(message) = serde_json::from_value::<Message>(value.clone()) else {
                continue;
            };
            if message.chat.type_field != ChatType::Private {
                continue;
            }
            let user = UserId(message.chat.id);
            let incoming = decode::incoming(&message);
            if method == "sendmediagroup" {
                album_user = Some(user);
                album.push(incoming);
                continue;
            }
            self.mirror(if edited {
                Event::HostEdited {
                    user,
                    message: incoming,
                }
            } else {
                Event::HostMessage {
                    user,
                    message: incoming,
                }
            });
        }
        if let Some(user) = album_user {
            album.sort_by_key(|m| m.id);
            self.mirror(Event::HostAlbum {
                user,
                messages: album,
            });
        }
    }

    /// Hands an intercepted message to the desk. Fire and forget: the host's call has already
    /// succeeded and must not wait for the desk; failures go to the error hook and the log.
    /// Through the album collector, so a reply to an album still being collected lands after
    /// the album.
    fn mirror(&self, event: Event) {
        drop(self.albums.submit(&self.desk, event));
    }
}

/// Whether `method` (lower case) answers with message ids alone.
fn is_copy(method: &str) -> bool {
    matches!(method, "copymessage" | "copymessages" | "forwardmessages")
}

fn message_id(value: &Value) -> Option<MessageId> {
    value
        .get("message_id")
        .and_then(Value::as_i64)
        .map(MessageId)
}

/// The chat a copy or forward goes to, from the call's parameters (only for the methods that
/// answer with ids alone: the others' answers say it).
fn copy_target(method: &str, params: Option<&impl serde::Serialize>) -> Option<i64> {
    if !is_copy(&method.to_ascii_lowercase()) {
        return None;
    }
    let params = serde_json::to_value(params?).ok()?;
    match params.get("chat_id")? {
        Value::Number(id) => id.as_i64(),
        Value::String(id) => id.parse().ok(),
        _ => None,
    }
}

fn decode_as<Output: serde::de::DeserializeOwned>(
    envelope: Value,
) -> Result<Output, frankenstein::Error> {
    serde_json::from_value(envelope).map_err(|source| frankenstein::Error::JsonDecode {
        source,
        input: String::new(),
    })
}

#[async_trait::async_trait]
impl<B> AsyncTelegramApi for Intercepted<B>
where
    B: AsyncTelegramApi<Error = frankenstein::Error> + Send + Sync,
{
    type Error = frankenstein::Error;

    async fn request<Params, Output>(
        &self,
        method: &str,
        params: Option<Params>,
    ) -> Result<Output, Self::Error>
    where
        Params: serde::ser::Serialize + std::fmt::Debug + std::marker::Send,
        Output: serde::de::DeserializeOwned,
    {
        let to = copy_target(method, params.as_ref());
        let envelope: Value = self.inner.request(method, params).await?;
        self.hotline.observe(method, to, &envelope);
        decode_as(envelope)
    }

    async fn request_with_form_data<Params, Output>(
        &self,
        method: &str,
        params: Params,
        files: Vec<(&str, PathBuf)>,
    ) -> Result<Output, Self::Error>
    where
        Params: serde::ser::Serialize + std::fmt::Debug + std::marker::Send,
        Output: serde::de::DeserializeOwned,
    {
        let to = copy_target(method, Some(&params));
        let envelope: Value = self
            .inner
            .request_with_form_data(method, params, files)
            .await?;
        self.hotline.observe(method, to, &envelope);
        decode_as(envelope)
    }
}
