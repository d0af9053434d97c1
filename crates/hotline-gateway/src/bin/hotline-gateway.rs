//! `hotline-gateway`: the Bot API for an unmodified bot, with the support desk beside it.
//!
//! Point the bot's API URL at the address it prints (`http://127.0.0.1:8081`), keep its real
//! token, and run it as before: it gets its updates (with the gateway's ids) and its calls go
//! through to Telegram; users who write get a forum topic in the operators' group.
//!
//! | variable | meaning |
//! |---|---|
//! | `TELEGRAM_BOT_TOKEN`, `HOTLINE_BACKEND_GROUP`, `TELEGRAM_API_URL`, ... | the desk's settings, as `hotline-desk` reads them (`Settings::from_env`) |
//! | `HOTLINE_DATABASE` | `sqlite://path` (default `sqlite://hotline.db`, with the `sqlite` feature), `postgres://...` (with `postgres`), or `memory:` (state lost at exit: for trying out) |
//! | `HOTLINE_GATEWAY_LISTEN` | the address bots call (default `127.0.0.1:8081`; port 0 picks one) |
//! | `HOTLINE_PREFLIGHT` | `strict` (default, as `hotline-desk`): stop at start when the backend group is not a forum or the bot may not manage its topics; `warn`: print the problems and start anyway |
//! | `HOTLINE_LOG` | `error`, `warn`, `info` (default), `debug`, `trace` or `off` |
//!
//! Runs until SIGINT or SIGTERM. A configuration error is one line naming the variable, and
//! the exit code 1.

use hotline_core::Store;
use hotline_gateway::{Gateway, GatewayConfig};
use hotline_transport_telegram::{Hotline, Settings, shutdown_signal};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// Where the state goes when `HOTLINE_DATABASE` is not set (as `hotline-desk`).
const DEFAULT_DATABASE: &str = "sqlite://hotline.db";

/// A variable's value; unset and blank are the same.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `HOTLINE_DATABASE`, a relative SQLite path made absolute. Copied from `hotline-desk`
/// (`src/bin/hotline-desk.rs`, `database`/`absolute_database`): the facade's binary is not a
/// library to share it from.
fn database() -> String {
    let url = var("HOTLINE_DATABASE").unwrap_or_else(|| DEFAULT_DATABASE.into());
    let url = url.trim();
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return url.to_owned();
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with(":memory:") {
        return url.to_owned();
    }
    match std::path::absolute(path) {
        Ok(path) => {
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("sqlite://{}{query}", path.display())
        }
        Err(_) => url.to_owned(),
    }
}

async fn open_store(url: &str) -> Result<Arc<dyn Store>, String> {
    if url == "memory:" {
        return Ok(Arc::new(hotline_core::MemoryStore::new()));
    }
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    {
        hotline_store_sql::connect(url)
            .await
            .map_err(|e| format!("HOTLINE_DATABASE: {}", hotline_core::error_chain(&e)))
    }
    #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
    {
        Err(format!(
            "HOTLINE_DATABASE: `{}` needs a SQL store, and this build has none (features \
             `sqlite`, `postgres`); `memory:` keeps the state in memory",
            url.split_once(':').map_or(url, |(scheme, _)| scheme)
        ))
    }
}

/// `HOTLINE_LOG`: tracing's own subscriber is not a dependency here; the level is checked and
/// events go to stderr through `tracing`'s log of the desk when one is installed. Without a
/// subscriber the desk prints its first failures itself.
fn log_level() -> Result<Option<tracing::Level>, String> {
    match var("HOTLINE_LOG").as_deref().map(str::trim) {
        None | Some("info") => Ok(Some(tracing::Level::INFO)),
        Some("error") => Ok(Some(tracing::Level::ERROR)),
        Some("warn") => Ok(Some(tracing::Level::WARN)),
        Some("debug") => Ok(Some(tracing::Level::DEBUG)),
        Some("trace") => Ok(Some(tracing::Level::TRACE)),
        Some("off") => Ok(None),
        Some(other) => Err(format!(
            "HOTLINE_LOG: `{other}` is not one of error, warn, info, debug, trace, off"
        )),
    }
}

/// One line per event on stderr (the same shape as `hotline-desk`'s log, smaller).
struct Logger {
    max: tracing::Level,
}

impl tracing::Subscriber for Logger {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        *meta.level() <= self.max
            && (meta.target().starts_with("hotline") || *meta.level() <= tracing::Level::WARN)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!("hotline-gateway: {}", event.metadata().level());
        event.record(&mut Fields(&mut line));
        eprintln!("{line}");
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = if field.name() == "message" {
            write!(self.0, " {value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}

/// Whether the start-up check of the backend group stops the gateway (as `hotline-desk`).
fn preflight_strict() -> Result<bool, String> {
    match var("HOTLINE_PREFLIGHT").as_deref().map(str::trim) {
        None | Some("strict") => Ok(true),
        Some("warn") => Ok(false),
        Some(other) => Err(format!(
            "HOTLINE_PREFLIGHT: `{other}` is neither `strict` nor `warn`"
        )),
    }
}

fn help() -> String {
    format!(
        "hotline-gateway {version}: the Bot API for an unmodified bot, with a support desk beside it

usage: hotline-gateway | --help | --version

environment:
  TELEGRAM_BOT_TOKEN       required: the token @BotFather gave the bot (the bot keeps using it)
  HOTLINE_BACKEND_GROUP    required: the operators' forum group id (-100...)
  TELEGRAM_API_URL         the Bot API (default https://api.telegram.org)
  HOTLINE_GATEWAY_LISTEN   the address bots call (default 127.0.0.1:8081)
  HOTLINE_DATABASE         sqlite://path, postgres://... or memory: (default {DEFAULT_DATABASE})
  HOTLINE_PREFLIGHT        strict (default) or warn
  HOTLINE_LOG              error, warn, info (default), debug, trace or off
  PRIVATE_KEYWORDS, WELCOME, AUTOCLOSE, ...   Hotline parameters (docs/configuration.md)

Point the bot's API URL at the address printed at start (docs/gateway.md).
",
        version = env!("CARGO_PKG_VERSION"),
    )
}

async fn run() -> Result<(), String> {
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("--help" | "-h" | "help") => {
            print!("{}", help());
            return Ok(());
        }
        Some("--version" | "-V" | "version") => {
            println!("hotline-gateway {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Some(other) => {
            return Err(format!(
                "`{other}` is not an argument: run without one to serve, or --help"
            ));
        }
    }
    let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = match log_level()? {
        Some(max) => Box::new(Logger { max }),
        None => Box::new(tracing::subscriber::NoSubscriber::default()),
    };
    tracing::subscriber::set_global_default(subscriber).map_err(|e| format!("HOTLINE_LOG: {e}"))?;
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let listen = var("HOTLINE_GATEWAY_LISTEN").unwrap_or_else(|| "127.0.0.1:8081".into());
    let listen: SocketAddr = listen.trim().parse().map_err(|_| {
        format!("HOTLINE_GATEWAY_LISTEN: `{listen}` is not an address like 127.0.0.1:8081")
    })?;
    let strict = preflight_strict()?;
    let store = open_store(&database()).await?;
    let hotline = Hotline::from_settings(settings)
        .store(store)
        .build()
        .map_err(|e| e.to_string())?;
    // A token Telegram refuses, an API it cannot reach, a group it cannot use: named at once.
    let problems = hotline.preflight().await.map_err(|e| e.to_string())?;
    if !problems.is_empty() {
        if strict {
            return Err(format!(
                "HOTLINE_BACKEND_GROUP: {} (HOTLINE_PREFLIGHT=warn starts anyway)",
                problems.join("; ")
            ));
        }
        for problem in problems {
            eprintln!(
                "hotline-gateway: warning: {problem} (HOTLINE_PREFLIGHT=warn: starting anyway)"
            );
        }
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("HOTLINE_GATEWAY_LISTEN: cannot listen on {listen}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("HOTLINE_GATEWAY_LISTEN: {e}"))?;
    println!("hotline-gateway: bots point at http://{bound}");
    let gateway = Gateway::new(hotline, GatewayConfig::default());
    gateway
        .serve(listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    println!("hotline-gateway: stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hotline-gateway: {error}");
            ExitCode::FAILURE
        }
    }
}
