//! The Bot API client: frankenstein's, called with JSON parameters, answers classified.

use crate::secret::BotToken;
use frankenstein::client_reqwest::Bot;
use frankenstein::reqwest::StatusCode;
use frankenstein::reqwest::Url;
use frankenstein::reqwest::header::{CONTENT_TYPE, HeaderValue};
use frankenstein::response::ErrorResponse;
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
    /// Maps the failure onto the desk's recovery classes. `retry_after` is the real wait, as
    /// Telegram (and the fake server, under any time scale) states it.
    pub fn classify(&self) -> TransportError {
        match self {
            ApiError::Telegram {
                code: 429,
                retry_after,
                description,
                ..
            } => {
                let secs = retry_after.unwrap_or_else(|| parse_retry_after(description));
                TransportError::RetryAfter(Duration::from_secs(secs.max(1)))
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
///
/// The desk's own calls go through the reqwest client that frankenstein's [`Bot`] holds (one
/// connection pool for both), posted to a URL parsed once: frankenstein's `request` formats
/// `{api_url}/{method}` as a string for every call, which reqwest then parses again: a URL parse
/// per call is work the desk's hottest path can do once, when the client is built (what it cost
/// is in `docs/benchmarks.md`). The answer is read as bytes rather than as text (no charset
/// sniffing, no second UTF-8 pass).
#[derive(Clone)]
pub struct TelegramClient {
    bot: Bot,
    /// `{base_url}/bot{token}`: holds the token, so it is never shown (see `Debug`).
    api_url: Url,
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
        let api_url = format!("{base_url}/bot{}", token.expose());
        // `url`'s parse errors name what is wrong, never the input: the token stays out.
        let parsed = Url::parse(&api_url)
            .ok()
            .filter(|url| !url.cannot_be_a_base())
            .ok_or_else(|| {
                crate::Error::config(
                    "TELEGRAM_API_URL",
                    format!("`{base_url}` is not a valid base URL"),
                )
            })?;
        let bot = Bot::builder().api_url(api_url).client(client).build();
        Ok(Self {
            bot,
            api_url: parsed,
            base_url,
            token,
        })
    }

    /// `{base_url}/bot{token}/{method}`, from the URL parsed once.
    fn method_url(&self, method: &str) -> Url {
        let mut url = self.api_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.push(method);
        }
        url
    }

    /// Posts `params` as JSON to `method`. An error status is read as a refusal; `read` reads
    /// the body of a successful answer.
    async fn post<P: serde::Serialize, T>(
        &self,
        method: &str,
        params: &P,
        read: impl FnOnce(&[u8]) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_vec(params).map_err(|error| ApiError::Decode {
            method: method.to_owned(),
            reason: format!("the parameters could not be written as JSON: {error}"),
        })?;
        let network = |error: frankenstein::reqwest::Error| ApiError::Network {
            method: method.to_owned(),
            // reqwest's errors carry the URL, and so the token, unless told not to.
            reason: error.without_url().to_string(),
        };
        let response = self
            .bot
            .client
            .post(self.method_url(method))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        let body = response.bytes().await.map_err(network)?;
        if !status.is_success() {
            return Err(refusal(method, status, &body));
        }
        read(&body)
    }

    /// Calls `method` with a file: `fields` as text parts, `bytes` as the part `file_field`
    /// named `file_name` (multipart, as the Bot API takes uploads). Returns the `result`.
    pub(crate) async fn upload(
        &self,
        method: &str,
        fields: Vec<(&'static str, String)>,
        file_field: &'static str,
        file_name: String,
        bytes: Vec<u8>,
    ) -> Result<Value, ApiError> {
        use frankenstein::reqwest::multipart::{Form, Part};
        let network = |error: frankenstein::reqwest::Error| ApiError::Network {
            method: method.to_owned(),
            reason: error.without_url().to_string(),
        };
        let mut form = Form::new();
        for (name, value) in fields {
            form = form.text(name, value);
        }
        form = form.part(file_field, Part::bytes(bytes).file_name(file_name));
        let response = self
            .bot
            .client
            .post(self.method_url(method))
            .multipart(form)
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        let body = response.bytes().await.map_err(network)?;
        if !status.is_success() {
            return Err(refusal(method, status, &body));
        }
        result_of(method, &body)
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

    /// `getUpdates`, each update kept as Telegram wrote it (for the update log), with its
    /// `update_id`. An element without a readable `update_id` is left out: it could not be
    /// confirmed, nor told from a repeat.
    pub(crate) async fn get_updates_json(
        &self,
        params: Value,
    ) -> Result<Vec<(i64, Box<serde_json::value::RawValue>)>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            result: Vec<Box<serde_json::value::RawValue>>,
        }
        #[derive(serde::Deserialize)]
        struct Id {
            update_id: i64,
        }
        self.post("getUpdates", &params, |body| {
            let envelope: Envelope =
                serde_json::from_slice(body).map_err(|error| ApiError::Decode {
                    method: "getUpdates".into(),
                    reason: error.to_string(),
                })?;
            Ok(envelope
                .result
                .into_iter()
                .filter_map(|raw| {
                    let id = serde_json::from_str::<Id>(raw.get()).ok()?.update_id;
                    Some((id, raw))
                })
                .collect())
        })
        .await
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
        P: serde::Serialize + Send,
        R: serde::de::DeserializeOwned,
    {
        self.post(method, &params, |body| result_of(method, body))
            .await
    }
}

/// The `result` of a successful answer's envelope, read as `R`.
fn result_of<R: serde::de::DeserializeOwned>(method: &str, body: &[u8]) -> Result<R, ApiError> {
    #[derive(serde::Deserialize)]
    struct Envelope<R> {
        result: Option<R>,
    }
    match serde_json::from_slice::<Envelope<R>>(body) {
        Ok(Envelope {
            result: Some(result),
        }) => Ok(result),
        Ok(Envelope { result: None }) => Err(ApiError::Decode {
            method: method.to_owned(),
            reason: "no `result` in the answer".into(),
        }),
        Err(error) => Err(ApiError::Decode {
            method: method.to_owned(),
            reason: error.to_string(),
        }),
    }
}

/// An answer with an error status: Telegram's error envelope, or, when something in between
/// (a proxy, a load balancer) answered with a page of its own, the HTTP status alone, so that a
/// 502 is classified as the passing failure it is.
fn refusal(method: &str, status: StatusCode, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(error) => ApiError::Telegram {
            method: method.to_owned(),
            code: error.error_code,
            description: error.description,
            retry_after: error
                .parameters
                .and_then(|p| p.retry_after)
                .map(|s| s as u64),
        },
        Err(_) => ApiError::Telegram {
            method: method.to_owned(),
            code: u64::from(status.as_u16()),
            description: status.to_string(),
            retry_after: None,
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
            telegram(429, "Too Many Requests: retry after 7", Some(7)).classify(),
            TransportError::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            telegram(429, "Too Many Requests: retry after 60", None).classify(),
            TransportError::RetryAfter(Duration::from_secs(60))
        );
        assert_eq!(
            telegram(400, "Bad Request: message thread not found", None).classify(),
            TransportError::TopicGone
        );
        assert_eq!(
            telegram(403, "Forbidden: bot was blocked by the user", None).classify(),
            TransportError::UserBlocked
        );
        assert_eq!(
            telegram(403, "Forbidden: user is deactivated", None).classify(),
            TransportError::UserBlocked
        );
        assert!(matches!(
            telegram(400, "Bad Request: message is too long", None).classify(),
            TransportError::BadRequest(d) if d.contains("too long")
        ));
        assert!(matches!(
            telegram(502, "Bad Gateway", None).classify(),
            TransportError::Unavailable(_)
        ));
        let network = ApiError::Network {
            method: "x".into(),
            reason: "reset".into(),
        };
        assert!(matches!(network.classify(), TransportError::Unavailable(_)));
    }

    #[test]
    fn each_call_goes_to_the_method_under_the_bots_path() {
        let token = BotToken::new("42:SECRET").unwrap();
        let client = TelegramClient::new("http://127.0.0.1:8081/prefix/", token).unwrap();
        assert_eq!(
            client.method_url("copyMessage").as_str(),
            "http://127.0.0.1:8081/prefix/bot42:SECRET/copyMessage"
        );
    }

    #[test]
    fn a_refusal_is_read_from_telegrams_envelope_or_else_from_the_status() {
        let envelope = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#;
        assert_eq!(
            refusal("copyMessage", StatusCode::TOO_MANY_REQUESTS, envelope),
            telegram(429, "Too Many Requests: retry after 3", Some(3))
        );
        // A proxy's own error page: the status says it is a passing failure, to be retried.
        let page = b"<html><body>502 Bad Gateway</body></html>";
        let error = refusal("copyMessage", StatusCode::BAD_GATEWAY, page);
        assert_eq!(error, telegram(502, "502 Bad Gateway", None));
        assert!(matches!(error.classify(), TransportError::Unavailable(_)));
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
        let error = TelegramClient::new("ftp://x", token.clone())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("TELEGRAM_API_URL:"), "{error}");
        let error = TelegramClient::new("http://no such host", token)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("TELEGRAM_API_URL:"), "{error}");
        assert!(!error.contains("SECRET"), "{error}");
    }
}
