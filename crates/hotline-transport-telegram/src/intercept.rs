//! Interception: a wrapper around the host bot's frankenstein client that mirrors the host's
//! successful sends to users into their topics (`INTERCEPT_EXTERNAL`).
//!
//! frankenstein's `AsyncTelegramApi` routes every method through two required methods, `request`
//! and `request_with_form_data`; the wrapper implements just those, so the host's code keeps
//! calling `send_message`, `send_photo`, ... unchanged (the way a tower layer wraps a service).

use crate::decode;
use crate::hotline::Hotline;
use frankenstein::AsyncTelegramApi;
use frankenstein::types::{ChatType, Message};
use hotline_core::{Event, UserId};
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
    /// whose topic is open is mirrored there, marked as the bot's.
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

    /// Looks at a successful Bot API answer of the host bot and mirrors messages sent to users:
    /// what `send*` and `forwardMessage` answer with, and edits. (`copyMessage`,
    /// `copyMessages` and `forwardMessages` answer with ids alone, nothing to show.)
    fn observe(&self, method: &str, envelope: &Value) {
        let method = method.to_ascii_lowercase();
        let edited = method.starts_with("editmessage");
        let sent = (method.starts_with("send") && method != "sendchataction")
            || method == "forwardmessage";
        if !(sent || edited) {
            return;
        }
        let result = envelope.get("result");
        let messages: Vec<&Value> = match result {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(object @ Value::Object(_)) => vec![object],
            _ => return,
        };
        for value in messages {
            let Ok(message) = serde_json::from_value::<Message>(value.clone()) else {
                continue;
            };
            if message.chat.type_field != ChatType::Private {
                continue;
            }
            let user = UserId(message.chat.id);
            let incoming = decode::incoming(&message);
            let event = if edited {
                Event::HostEdited {
                    user,
                    message: incoming,
                }
            } else {
                Event::HostMessage {
                    user,
                    message: incoming,
                }
            };
            // Fire and forget: the host's call has already succeeded and must not wait for the
            // desk; failures go to the error hook and the log. Through the album collector, so a
            // reply to an album still being collected lands after the album.
            drop(self.albums.submit(&self.desk, event));
        }
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
        let envelope: Value = self.inner.request(method, params).await?;
        self.hotline.observe(method, &envelope);
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
        let envelope: Value = self
            .inner
            .request_with_form_data(method, params, files)
            .await?;
        self.hotline.observe(method, &envelope);
        decode_as(envelope)
    }
}
