//! [`HotlineBuilder`]: how a [`Hotline`] is put together (client, transport, store, desk).

use crate::Error;
use crate::albums::Albums;
use crate::client::TelegramClient;
use crate::feed::UpdateLog;
use crate::hotline::Hotline;
use crate::pacing::Limits;
use crate::secret::BotToken;
use crate::settings::Settings;
use crate::transport::TelegramTransport;
use hotline_core::{Config, Desk, MemoryStore, RetryPolicy, Stop, Store, Transport};
use std::sync::Arc;
use std::time::Duration;

type ErrorHook = Arc<dyn Fn(&hotline_core::Error) + Send + Sync>;

/// Builds a [`Hotline`]; see [`Hotline::builder`].
#[must_use]
pub struct HotlineBuilder {
    token: Result<BotToken, Error>,
    config: Config,
    api_url: String,
    limits: Limits,
    store: Option<Arc<dyn Store>>,
    album_quiet: Duration,
    on_error: Option<ErrorHook>,
    clock: Option<Arc<dyn hotline_core::Clock>>,
    tick_every: Duration,
    update_retry: RetryPolicy,
    transport_layer: Option<TransportLayer>,
    event_buffer: usize,
    webhook_retry: RetryPolicy,
}

type TransportLayer = Box<dyn FnOnce(Arc<dyn Transport>) -> Arc<dyn Transport> + Send>;

impl HotlineBuilder {
    /// The builder with the defaults every way of starting one shares.
    fn new(
        token: Result<BotToken, Error>,
        config: Config,
        api_url: String,
        limits: Limits,
    ) -> Self {
        HotlineBuilder {
            token,
            config,
            api_url,
            limits,
            store: None,
            album_quiet: Duration::from_millis(700),
            on_error: None,
            clock: None,
            tick_every: Duration::from_secs(60),
            update_retry: RetryPolicy::updates(),
            transport_layer: None,
            event_buffer: 1024,
            webhook_retry: RetryPolicy::outage(),
        }
    }

    /// How many events [`Hotline::events`] keeps for a slow reader (default 1024); see
    /// [`hotline_core::DeskBuilder::event_buffer`].
    pub fn event_buffer(mut self, events: usize) -> Self {
        self.event_buffer = events;
        self
    }

    /// The back-off between deliveries of a webhook its endpoint refused or did not answer
    /// (default [`RetryPolicy::outage`]: from half a second doubling up to half a minute);
    /// its attempts are not counted: an event is kept until delivered.
    pub fn webhook_retry(mut self, policy: RetryPolicy) -> Self {
        self.webhook_retry = policy;
        self
    }

    /// How an update whose handling failed is tried again, in its user's order, before a runner
    /// sets it aside as a dead letter (default [`RetryPolicy::updates`]: six tries over about a
    /// minute). Attempts count only while other updates go through: in an outage nothing is
    /// given up, the desk waits and tries again.
    pub fn update_retry(mut self, policy: RetryPolicy) -> Self {
        self.update_retry = policy;
        self
    }

    /// Wraps the desk's Telegram transport in `layer` (as a tower layer wraps a service): to
    /// observe, meter or fault-inject every action the desk performs.
    pub fn transport_layer(
        mut self,
        layer: impl FnOnce(Arc<dyn Transport>) -> Arc<dyn Transport> + Send + 'static,
    ) -> Self {
        self.transport_layer = Some(Box::new(layer));
        self
    }

    /// The Bot API server (default Telegram's; a local Bot API server or the fake one in tests).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// Pacing budgets (default Telegram's figures).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where the desk keeps its state (default in memory: use a durable store in production).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// How long to wait for more parts of an album before copying it (default 700 ms).
    pub fn album_quiet(mut self, quiet: Duration) -> Self {
        self.album_quiet = quiet;
        self
    }

    /// How often the desk's timed work (auto-close) runs (default every minute). It starts by
    /// itself with the first update handed to the desk.
    pub fn tick_every(mut self, every: Duration) -> Self {
        self.tick_every = every.max(Duration::from_millis(10));
        self
    }

    /// Reads time from `clock` instead of the system clock (tests of auto-close).
    pub fn clock(mut self, clock: Arc<dyn hotline_core::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Called with every error of the desk (they are also logged with `tracing`; with no
    /// subscriber installed, the first of each kind goes to stderr, see
    /// [`hotline_core::report_unobserved`]). Errors never reach the host.
    pub fn on_error(mut self, hook: impl Fn(&hotline_core::Error) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// The desk.
    pub fn build(self) -> Result<Hotline, Error> {
        let client = TelegramClient::new(&self.api_url, self.token?)?;
        // One stop signal for the desk's waits and the transport's: a runner's stop ends both.
        let stop = Stop::new();
        let mut transport: Arc<dyn Transport> = Arc::new(TelegramTransport::with_stop(
            client.clone(),
            self.limits,
            stop.clone(),
        ));
        if let Some(layer) = self.transport_layer {
            transport = layer(transport);
        }
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let update_log = UpdateLog::new(Arc::clone(&store));
        let mut desk = Desk::builder(self.config, store, transport)
            .stop(stop)
            .event_retry(self.update_retry)
            .event_buffer(self.event_buffer);
        if let Some(clock) = self.clock {
            desk = desk.clock(clock);
        }
        if let Some(hook) = self.on_error {
            desk = desk.on_error(move |e| hook(e));
        }
        Ok(Hotline {
            desk: desk.build(),
            update_log,
            client,
            albums: Albums::new(self.album_quiet),
            set_aside_keys: Arc::default(),
            ticking: Arc::default(),
            tick_every: self.tick_every,
            webhook_retry: self.webhook_retry,
            webhooks_started: Arc::default(),
        })
    }
}

impl Hotline {
    /// A builder for a bot with `token` and a desk configured by `config`.
    pub fn builder(token: &str, config: Config) -> HotlineBuilder {
        HotlineBuilder::new(
            BotToken::new(token),
            config,
            crate::client::TELEGRAM_API_URL.to_owned(),
            Limits::telegram(),
        )
    }

    /// A builder from [`Settings`] (see [`Settings::from_env`]).
    pub fn from_settings(settings: Settings) -> HotlineBuilder {
        HotlineBuilder::new(
            Ok(settings.token),
            settings.config,
            settings.api_url,
            settings.limits,
        )
    }
}
