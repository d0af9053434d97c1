//! # hotline-gateway: the Bot API in front of an unmodified bot
//!
//! A bot in any language (aiogram, python-telegram-bot, grammY, telegraf, teloxide, ...) points
//! its Bot API URL at the gateway instead of `https://api.telegram.org` and keeps its real
//! token; Hotline's desk then runs beside it ("parallel connection", see `GATEWAY.md`):
//!
//! * the gateway is the token's only poller of Telegram: every update goes into the store's
//!   update log ([`Hotline::update_log`]), the desk reads it first, and the bot reads it
//!   through `getUpdates` (or gets it pushed to its `setWebhook` URL) from a cursor of its own,
//!   with the gateway's own update ids; operators' traffic and Hotline's buttons never reach
//!   the bot ([`Hotline::is_desks_alone`]);
//! * `getUpdates`, `setWebhook`, `deleteWebhook`, `getWebhookInfo`, `logOut` and `close` are
//!   answered at the gateway, for the bot alone (forwarding them would take the desk's
//!   updates away);
//! * every other call streams to Telegram unchanged and its answer comes back verbatim; the
//!   bot's sends to users are mirrored into their topics ([`Hotline::mirror_host_call`]).
//!
//! ```no_run
//! # async fn run(hotline: hotline_transport_telegram::Hotline) -> Result<(), hotline_gateway::Error> {
//! use hotline_gateway::{Gateway, GatewayConfig};
//! let gateway = Gateway::new(hotline, GatewayConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! gateway.serve(listener, hotline_transport_telegram::shutdown_signal()).await
//! # }
//! ```

mod cursor;
mod params;
mod poll;
mod proxy;
mod upstream;
mod webhook;

use upstream::TelegramWebhook;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use hotline_core::{LogId, StoreError};
use hotline_transport_telegram::Hotline;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, watch};
use tokio_util::sync::CancellationToken;

pub use poll::{UPDATE_KINDS, default_updates};

/// The name the bot behind the gateway confirms updates under in the log, by default.
pub const BOT_CONSUMER: &str = "bot";

/// How the gateway serves its bot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// The consumer of the update log the bot reads as (default [`BOT_CONSUMER`]).
    pub consumer: String,
    /// The longest body of a call that is not an upload (JSON, form, query): a longer one is
    /// refused with 413. Uploads (multipart) stream through unbounded.
    pub max_body: usize,
    /// Whether the desk's own updates (operators' traffic in the backend group, Hotline's
    /// buttons: [`Hotline::is_desks_alone`]) are kept from the bot (default `true`). Off, the
    /// bot sees them too (a bot that logs everything in its groups, say).
    pub hide_desks_updates: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            consumer: BOT_CONSUMER.to_owned(),
            max_body: 1 << 20,
            hide_desks_updates: true,
        }
    }
}

impl GatewayConfig {
    /// The same configuration with another consumer name.
    pub fn consumer(mut self, name: impl Into<String>) -> Self {
        self.consumer = name.into();
        self
    }

    /// The same configuration with another bound on non-upload bodies.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The same configuration, the desk's own updates kept from the bot or not.
    pub fn hide_desks_updates(mut self, hide: bool) -> Self {
        self.hide_desks_updates = hide;
        self
    }
}

/// What can stop the gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listener failed.
    #[error("the gateway's listener failed: {0}")]
    Io(#[from] std::io::Error),
    /// The desk (its runner, its Bot API client) failed.
    #[error(transparent)]
    Desk(#[from] hotline_transport_telegram::Error),
    /// The update log's store failed.
    #[error("the update log: {0}")]
    Store(#[from] StoreError),
}

/// The bot's webhook, kept at the gateway (never set on Telegram).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Webhook {
    pub(crate) url: String,
    pub(crate) secret_token: Option<String>,
    pub(crate) max_connections: i64,
}

/// What the gateway keeps for its consumer between runs (in the log's consumer settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConsumerSettings {
    /// `allowed_updates` as last given; `None` (never given, or `[]`) is the default set.
    pub(crate) allowed: Option<Vec<String>>,
    pub(crate) webhook: Option<Webhook>,
}

impl ConsumerSettings {
    fn to_json(&self) -> String {
        let mut object = serde_json::Map::new();
        if let Some(allowed) = &self.allowed {
            object.insert("allowed_updates".into(), json!(allowed));
        }
        if let Some(hook) = &self.webhook {
            object.insert(
                "webhook".into(),
                json!({
                    "url": hook.url,
                    "secret_token": hook.secret_token,
                    "max_connections": hook.max_connections,
                }),
            );
        }
        Value::Object(object).to_string()
    }

    fn from_json(text: &str) -> Self {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return Self::default();
        };
        let allowed = value
            .get("allowed_updates")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            });
        let webhook = value.get("webhook").and_then(|hook| {
            Some(Webhook {
                url: hook.get("url")?.as_str()?.to_owned(),
                secret_token: hook
                    .get("secret_token")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                max_connections: hook
                    .get("max_connections")
                    .and_then(Value::as_i64)
                    .unwrap_or(40),
            })
        });
        Self { allowed, webhook }
    }
}

/// The Bot API gateway for one bot. Cheap to clone (every clone is the same gateway); its
/// `Debug` shows no token.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) hotline: Hotline,
    pub(crate) config: GatewayConfig,
    /// The upstream client: no overall timeout (uploads and downloads take what they take).
    pub(crate) http: reqwest::Client,
    pub(crate) settings: Mutex<ConsumerSettings>,
    /// Bumped at each change of `settings` (wakes the webhook pusher).
    pub(crate) settings_changed: watch::Sender<u64>,
    /// The consumer registered and its settings loaded (once, at the first need).
    loaded: OnceCell<()>,
    /// Bumped by each `getUpdates`: an older long poll that sees it move answers 409.
    pub(crate) polls: watch::Sender<u64>,
    /// The last poll's offset and when it came (the anti-spin rule, see `poll.rs`).
    pub(crate) last_poll: Mutex<Option<(i64, std::time::Instant)>>,
    /// The bot's place in the log.
    pub(crate) cursor: cursor::Cursor,
    /// The last failed webhook delivery: (unix time, what went wrong).
    pub(crate) last_error: Mutex<Option<(i64, String)>>,
    /// Stops the long polls and the webhook pusher.
    pub(crate) stop: CancellationToken,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("bot", &self.inner.hotline.client().token())
            .field("upstream", &self.inner.hotline.client().base_url())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A gateway for `hotline`'s bot (its token, its Bot API URL, its store's update log).
    pub fn new(hotline: Hotline, config: GatewayConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                hotline,
                config,
                http,
                settings: Mutex::default(),
                settings_changed: watch::Sender::new(0),
                loaded: OnceCell::new(),
                polls: watch::Sender::new(0),
                last_poll: Mutex::new(None),
                cursor: cursor::Cursor::default(),
                last_error: Mutex::new(None),
                stop: CancellationToken::new(),
            }),
        }
    }

    /// The desk the gateway serves.
    pub fn hotline(&self) -> &Hotline {
        &self.inner.hotline
    }

    /// The routes bots call: `/bot<token>/<method>`, `/bot<token>/test/<method>` and
    /// `/file/bot<token>/<path>`. Serving these alone (without [`Gateway::serve`]) needs the
    /// desk to run on the same [`Hotline`] (its `run_polling`): the bot sees an update only
    /// once the desk took it in.
    pub fn router(&self) -> Router {
        Router::new().fallback(dispatch).with_state(self.clone())
    }

    /// Serves bots on `listener`, with the desk ([`Hotline::run_polling`]: the one poller of
    /// Telegram, and the desk's reader of the log) and the bot's webhook pusher beside it,
    /// until `shutdown` resolves; then ends the long polls at once (with no updates), lets the
    /// desk finish what it holds and returns.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        self.run(listener, None, shutdown).await
    }

    /// [`Gateway::serve`], with updates from Telegram's webhook instead of long polling:
    /// Telegram POSTs them to `public_url` (HTTPS, reaching `telegram` through your proxy),
    /// signed with `secret`; each is written to the update log before it is answered. The
    /// webhook is registered (`setWebhook`) at start and again whenever the bot asks for other
    /// update kinds. Bots still call the gateway on `bots` (keep that one private).
    pub async fn serve_with_telegram_webhook(
        &self,
        bots: tokio::net::TcpListener,
        telegram: tokio::net::TcpListener,
        public_url: &str,
        secret: &str,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let router = self.inner.hotline.log_webhook_router(secret)?;
        let webhook = TelegramWebhook {
            listener: telegram,
            router,
            public_url: public_url.to_owned(),
            secret: secret.to_owned(),
        };
        self.run(bots, Some(webhook), shutdown).await
    }

    async fn run(
        &self,
        listener: tokio::net::TcpListener,
        webhook: Option<TelegramWebhook>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        self.ready().await?;
        let stop = self.inner.stop.clone();
        let stopper = {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = shutdown => stop.cancel(),
                    () = stop.cancelled() => {}
                }
            })
        };
        let receiving = webhook.is_some();
        let desk = {
            let hotline = self.inner.hotline.clone();
            let stop = stop.clone();
            async move {
                if receiving {
                    hotline.run_from_log(stop.cancelled_owned()).await
                } else {
                    hotline.run_polling(stop.cancelled_owned()).await
                }
            }
        };
        let upstream = {
            let hotline = self.inner.hotline.clone();
            let stop = stop.clone();
            async move {
                match webhook {
                    Some(webhook) => webhook.receive(&hotline, stop).await,
                    None => Ok(()),
                }
            }
        };
        let http = {
            let stop = stop.clone();
            let app = self.router();
            // A bot's call and its answer are each one small write: sent at once, not held
            // back for the peer's delayed acknowledgement (Nagle).
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
            }
        };
        let pusher = webhook::push(self.clone());
        let (desk, http, upstream, (), ()) = tokio::join!(
            async {
                let result = desk.await;
                // The desk ended (stopped, or failed at start): the rest follows.
                stop.cancel();
                result
            },
            async {
                let result = http.await;
                stop.cancel();
                result
            },
            async {
                let result = upstream.await;
                if result.is_err() {
                    stop.cancel();
                }
                result
            },
            pusher,
            self.write_trailing()
        );
        stopper.abort();
        // A poll answered during the stop may have moved the cursor after the last write.
        self.write_cursor().await;
        desk?;
        http?;
        upstream?;
        Ok(())
    }

    /// Registers the consumer (from the log's start, so it gets what arrived before it first
    /// connected) and restores its settings, once.
    pub(crate) async fn ready(&self) -> Result<(), StoreError> {
        self.inner
            .loaded
            .get_or_try_init(|| async {
                let name = &self.inner.config.consumer;
                let consumer = self.store().register_consumer(name, LogId::ZERO).await?;
                self.inner.cursor.load(consumer.confirmed);
                let settings = consumer
                    .settings
                    .as_deref()
                    .map(ConsumerSettings::from_json)
                    .unwrap_or_default();
                self.want(&settings);
                *lock(&self.inner.settings) = settings;
                self.inner.settings_changed.send_modify(|n| *n += 1);
                Ok(())
            })
            .await
            .map(|_| ())
    }

    pub(crate) fn store(&self) -> &Arc<dyn hotline_core::Store> {
        self.inner.hotline.update_log().store()
    }

    pub(crate) fn settings(&self) -> ConsumerSettings {
        lock(&self.inner.settings).clone()
    }

    /// Tells the upstream poll which kinds the bot wants.
    fn want(&self, settings: &ConsumerSettings) {
        let kinds = poll::effective_allowed(settings.allowed.as_deref())
            .into_iter()
            .collect();
        self.inner
            .hotline
            .update_log()
            .want(&self.inner.config.consumer, kinds);
    }

    /// Changes the settings durably, then in memory.
    pub(crate) async fn update_settings(
        &self,
        change: impl FnOnce(&mut ConsumerSettings),
    ) -> Result<(), StoreError> {
        let mut next = self.settings();
        change(&mut next);
        self.store()
            .save_consumer_settings(&self.inner.config.consumer, Some(next.to_json()))
            .await?;
        self.want(&next);
        *lock(&self.inner.settings) = next;
        self.inner.settings_changed.send_modify(|n| *n += 1);
        Ok(())
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A Bot API answer: `{"ok":true,"result":...}`.
pub(crate) fn ok(result: Value) -> Response {
    json_response(StatusCode::OK, &json!({"ok": true, "result": result}))
}

/// A Bot API refusal: `{"ok":false,"error_code":...,"description":...}`.
pub(crate) fn refuse(status: StatusCode, description: &str) -> Response {
    json_response(
        status,
        &json!({"ok": false, "error_code": status.as_u16(), "description": description}),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from(body.to_string()),
    )
        .into_response()
}

pub(crate) fn unauthorized() -> Response {
    refuse(StatusCode::UNAUTHORIZED, "Unauthorized")
}

fn not_found() -> Response {
    refuse(StatusCode::NOT_FOUND, "Not Found")
}

/// Whether the token segment of a path (percent-decoded) is the bot's token, compared in
/// constant time.
fn token_matches(gateway: &Gateway, segment: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Some(given) = segment.strip_prefix("bot") else {
        return false;
    };
    let Some(given) = params::percent_decode(given) else {
        return false;
    };
    let real = gateway.inner.hotline.client().token().expose_secret();
    bool::from(given.as_bytes().ct_eq(real.as_bytes()))
}

/// A Bot API method's name: letters, digits, `_`.
fn is_method_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A file path without dot segments, raw or percent-encoded (which URL parsers resolve, so
/// `photos/../../bot<token>/logOut` would call a method), nor backslashes (a separator too).
fn is_plain_file_path(path: &str) -> bool {
    let Some(decoded) = params::percent_decode(path) else {
        return false;
    };
    !path.is_empty()
        && !decoded.contains('\\')
        && decoded
            .split('/')
            .all(|segment| segment != "." && segment != "..")
}

/// Every request: the path is read raw (percent-encodings kept), so a file path is forwarded
/// as the bot wrote it.
async fn dispatch(State(gateway): State<Gateway>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/file/") {
        let (token, file) = rest.split_once('/').unwrap_or((rest, ""));
        if !token_matches(&gateway, token) {
            return unauthorized();
        }
        if !is_plain_file_path(file) {
            return not_found();
        }
        return proxy::file(&gateway, file, request).await;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return not_found();
    };
    let Some((token, method)) = rest.split_once('/') else {
        return not_found();
    };
    if !token.starts_with("bot") {
        return not_found();
    }
    if !token_matches(&gateway, token) {
        return unauthorized();
    }
    // One name (or `test/` and one name): a path with dot segments would reach another of
    // Telegram's methods than the gateway saw (`sendMessage/../getUpdates`).
    if !is_method_name(method.strip_prefix("test/").unwrap_or(method)) {
        return not_found();
    }
    // The test environment is another Bot API server (another bot): passed through whole.
    if method.starts_with("test/") {
        return proxy::forward(&gateway, method, request).await;
    }
    if let Err(error) = gateway.ready().await {
        tracing::warn!(%error, "hotline-gateway: the update log cannot be read");
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    match method.to_ascii_lowercase().as_str() {
        "getupdates" => poll::get_updates(&gateway, request).await,
        "setwebhook" => webhook::set_webhook(&gateway, request).await,
        "deletewebhook" => webhook::delete_webhook(&gateway, request).await,
        "getwebhookinfo" => webhook::get_webhook_info(&gateway, request).await,
        // Telegram would refuse the desk's polls for 10 minutes after these.
        "logout" | "close" => ok(Value::Bool(true)),
        _ => proxy::forward(&gateway, method, request).await,
    }
}

/// A failed store call, as the bot sees it.
pub(crate) fn store_failed(error: &StoreError) -> Response {
    tracing::warn!(%error, "hotline-gateway: the update log failed");
    refuse(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// Reads a request's parameters, or the 400/413 a bot gets for an unreadable body.
pub(crate) async fn read_params(
    gateway: &Gateway,
    request: Request,
) -> Result<params::Params, Response> {
    params::read(request, gateway.inner.config.max_body)
        .await
        .map_err(|why| match why {
            params::Unreadable::TooLong => {
                refuse(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
            }
            params::Unreadable::Bad(why) => {
                refuse(StatusCode::BAD_REQUEST, &format!("Bad Request: {why}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_settings_survive_their_json() {
        let settings = ConsumerSettings {
            allowed: Some(vec!["message".into(), "poll".into()]),
            webhook: Some(Webhook {
                url: "https://bot.example/hook".into(),
                secret_token: Some("s".into()),
                max_connections: 7,
            }),
        };
        assert_eq!(ConsumerSettings::from_json(&settings.to_json()), settings);
        let default = ConsumerSettings::default();
        assert_eq!(ConsumerSettings::from_json(&default.to_json()), default);
        assert_eq!(ConsumerSettings::from_json("not json"), default);
    }

    #[test]
    fn method_names_and_file_paths() {
        assert!(is_method_name("sendMessage") && is_method_name("GetUpdates"));
        assert!(!is_method_name("") && !is_method_name("a/b") && !is_method_name(".."));
        assert!(is_plain_file_path("photos/file_0.jpg"));
        assert!(is_plain_file_path("photos%2Ffile_0.jpg"));
        for bad in ["", "a/../b", "%2e%2E/x", "a\\..\\b", "./x"] {
            assert!(!is_plain_file_path(bad), "{bad}");
        }
    }
}
