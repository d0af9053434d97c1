//! The Bot API client: frankenstein's, called with JSON parameters, answers classified.

use crate::secret::BotToken;
use frankenstein::AsyncTelegramApi;
use frankenstein::client_reqwest::Bot;
use hotline_core::TransportError;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// Telegram's public Bot API server.
pub const TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// A failed Bot API call, classified; it never holds the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Telegram answered with an error.
    #[error("{method}: {code} {description}")]
    Telegram {
        /// The method called.
        method: String,
        /// `error_code`.
        code: u64,
        /// `description`.
        description: String,
        /// `parameters.retry_after`, in seconds.
        retry_after: Option<u64>,
    },
    /// No answer: connection refused or dropped, timeout.
    #[error("{method}: network: {reason}")]
    Network {
        /// The method called.
        method: String,
        /// What happened.
        reason: String,
    },
    /// An answer that is not the Bot API's envelope.
    #[error("{method}: unreadable answer: {reason}")]
    Decode {
        /// The method called.
        method: String,
        /// What was wrong.
        reason: String,
    },
}

impl ApiError {
    /// Maps the failure onto the desk's recovery classes. `time_scale` divides `retry_after`
    /// (1 on Telegram; the fake server's scaled clock in tests).
    pub fn classify(&self, time_scale: f64) -> TransportError {
        match self {
            ApiError::Telegram {
                code: 429,
                retry_after,
                description,
                ..
            } => {
                let secs = retry_after.unwrap_or_else(|| parse_retry_after(description));
                TransportError::RetryAfter(Duration::from_secs_f64(
                    secs.max(1) as f64 / time_scale.max(f64::MIN_POSITIVE),
                ))
            }
            ApiError::Telegram {
                description, code, ..
            } => {
                let d = description.to_ascii_lowercase();
                if d.contains("message thread not found")
                    || d.contains("topic_deleted")
                    || d.contains("topic_id_invalid")
                    || d.contains("thread not found")
                {
                    TransportError::TopicGone
                } else if *code == 403
                    && (d.contains("blocked by the user")
                        || d.contains("user is deactivated")
                        || d.contains("can't initiate conversation"))
                {
                    TransportError::UserBlocked
                } else if *code >= 500 {
                    TransportError::Unavailable(self.to_string())
                } else if *code == 400 {
                    TransportError::BadRequest(description.clone())
                } else {
                    TransportError::Other(self.to_string())
                }
            }
            ApiError::Network { .. } => TransportError::Unavailable(self.to_string()),
            ApiError::Decode { .. } => TransportError::Other(self.to_string()),
        }
    }
}

fn parse_retry_after(description: &str) -> u64 {
    description
        .rsplit(' ')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(1)
}

/// A Bot API client for one bot. Cheap to clone; `Debug` hides the token.
#[derive(Clone)]
pub struct TelegramClient {
    bot: Bot,
    base_url: String,
    token: BotToken,
}

impl fmt::Debug for TelegramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramClient")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .finish()
    }
}

impl TelegramClient {
    /// A client calling `{base_url}/bot{token}/{method}`.
    pub fn new(base_url: &str, token: BotToken) -> Result<Self, crate::Error> {
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(crate::Error::config(
                "TELEGRAM_API_URL",
                format!("`{base_url}` is not an http(s) URL"),
            ));
        }
        let client = frankenstein::reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Long polls ask Telegram to hold the request up to 50 s; leave room above that.
            .timeout(Duration::from_secs(75))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| crate::Error::config("TELEGRAM_API_URL", e.without_url().to_string()))?;
        let bot = Bot::builder()
            .api_url(format!("{base_url}/bot{}", token.expose()))
            .client(client)
            .build();
        Ok(Self {
            bot,
            base_url,
            token,
        })
    }

    /// The base URL (without the token).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bot's token.
    pub fn token(&self) -> &BotToken {
        &self.token
    }

    /// frankenstein's client. Not public: its `Debug` prints its URL, token included; hosts get
    /// it wrapped ([`crate::Hotline::bot`]), whose `Debug` does not.
    pub(crate) fn bot(&self) -> &Bot {
        &self.bot
    }

    /// `getUpdates`, each update read in the same pass as the answer (see
    /// `runner/update_json.rs`): its id, and its content, a message already decoded. If a
    /// message could not be read that way, the same answer is read again with every content
    /// kept raw, so that message alone fails, later, and is skipped.
    pub(crate) async fn get_updates_raw(
        &self,
        params: Value,
    ) -> Result<Vec<crate::runner::RawUpdate>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Envelope<T> {
            result: Vec<T>,
        }
        let answer: Result<Envelope<crate::runner::RawUpdate>, frankenstein::Error> =
            self.bot.request("getUpdates", Some(params)).await;
        match answer {
            Ok(envelope) => Ok(envelope.result),
            Err(frankenstein::Error::JsonDecode { input, .. }) => {
                serde_json::from_str::<Envelope<crate::runner::Guarded>>(&input)
                    .map(|envelope| envelope.result.into_iter().map(|g| g.0).collect())
                    .map_err(|error| ApiError::Decode {
                        method: "getUpdates".into(),
                        reason: error.to_string(),
                    })
            }
            Err(error) => Err(api_error("getUpdates", error)),
        }
    }

    /// Calls `method` with JSON `params` and returns the envelope's `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ApiError> {
        self.call_as(method, params).await
    }

    /// Calls `method` with `params` and reads the envelope's `result` as `R`. The desk's most
    /// frequent call, a copy, passes a struct and reads only the new message's id, instead of
    /// building and reading maps of JSON values.
    pub(crate) async fn call_as<P, R>(&self, method: &str, params: P) -> Result<R, ApiError>
    where
        P: serde::Serialize + fmt::Debug + Send,
        R: serde::de::DeserializeOwned,
    {
        #[derive(serde::Deserialize)]
        struct Envelope<R> {
            result: Option<R>,
        }
        let answer: Result<Envelope<R>, frankenstein::Error> =
            self.bot.request(method, Some(params)).await;
        match answer {
            Ok(Envelope {
                result: Some(result),
            }) => Ok(result),
            Ok(Envelope { result: None }) => Err(ApiError::Decode {
                method: method.to_owned(),
                reason: "no `result` in the answer".into(),
            }),
            Err(error) => Err(api_error(method, error)),
        }
    }
}

/// Turns frankenstein's error into ours. frankenstein strips the URL (and so the token) from
/// HTTP errors; decoding errors carry the body, which never holds the token.
pub(crate) fn api_error(method: &str, error: frankenstein::Error) -> ApiError {
    match error {
        frankenstein::Error::Api(response) => ApiError::Telegram {
            method: method.to_owned(),
            code: response.error_code,
            description: response.description,
            retry_after: response
                .parameters
                .and_then(|p| p.retry_after)
                .map(|s| s as u64),
        },
        frankenstein::Error::HttpReqwest(error) => ApiError::Network {
            method: method.to_owned(),
            reason: error.without_url().to_string(),
        },
        other => ApiError::Decode {
            method: method.to_owned(),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telegram(code: u64, description: &str, retry_after: Option<u64>) -> ApiError {
        ApiError::Telegram {
            method: "copyMessage".into(),
            code,
            description: description.into(),
            retry_after,
        }
    }

    #[test]
    fn classifies_as_telegram_words_it() {
        assert_eq!(
            telegram(429, "Too Many Requests: retry after 7", Some(7)).classify(1.0),
            TransportError::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            telegram(429, "Too Many Requests: retry after 60", None).classify(60.0),
            TransportError::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            telegram(400, "Bad Request: message thread not found", None).classify(1.0),
            TransportError::TopicGone
        );
        assert_eq!(
            telegram(403, "Forbidden: bot was blocked by the user", None).classify(1.0),
            TransportError::UserBlocked
        );
        assert_eq!(
            telegram(403, "Forbidden: user is deactivated", None).classify(1.0),
            TransportError::UserBlocked
        );
        assert!(matches!(
            telegram(400, "Bad Request: message is too long", None).classify(1.0),
            TransportError::BadRequest(d) if d.contains("too long")
        ));
        assert!(matches!(
            telegram(502, "Bad Gateway", None).classify(1.0),
            TransportError::Unavailable(_)
        ));
        let network = ApiError::Network {
            method: "x".into(),
            reason: "reset".into(),
        };
        assert!(matches!(
            network.classify(1.0),
            TransportError::Unavailable(_)
        ));
    }

    #[test]
    fn debug_hides_the_token() {
        let client =
            TelegramClient::new("http://127.0.0.1:1", BotToken::new("42:SECRET").unwrap()).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn api_urls_must_be_http() {
        let token = BotToken::new("42:SECRET").unwrap();
        let error = TelegramClient::new("ftp://x", token)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("TELEGRAM_API_URL:"), "{error}");
    }
}
