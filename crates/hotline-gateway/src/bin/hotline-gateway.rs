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
//! | `HOTLINE_MODE` | `polling` (default: the gateway long-polls Telegram) or `webhook` (Telegram posts to it) |
//! | `HOTLINE_WEBHOOK_LISTEN`, `HOTLINE_WEBHOOK_URL`, `HOTLINE_WEBHOOK_SECRET` | webhook mode: where Telegram's posts are served (default `0.0.0.0:8080`), the public HTTPS URL given to `setWebhook`, its secret |
//! | `HOTLINE_PREFLIGHT` | `strict` (default, as `hotline-desk`): stop at start when the backend group is not a forum or the bot may not manage its topics; `warn`: print the problems and start anyway |
//! | `HOTLINE_LOG` | `error`, `warn`, `info` (default), `debug`, `trace` or `off` |
//! | `HOTLINE_METRICS` | an address like `127.0.0.1:9464`: serve Prometheus metrics on `/metrics`, and `/healthz`, `/readyz` (see `docs/operations.md`); unset: none |
//!
//! Runs until SIGINT or SIGTERM. A configuration error is one line naming the variable, and
//! the exit code 1.

use hotline_core::Store;
use hotline_gateway::{Gateway, GatewayConfig};
use hotline_transport_telegram::standalone::{
    DEFAULT_DATABASE, Mode, database, metrics_address, mode, serve_metrics, start_logging,
};
use hotline_transport_telegram::{Hotline, Settings, shutdown_signal};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// A variable's value; unset and blank are the same.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
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
  HOTLINE_MODE             polling (default) or webhook (Telegram posts to the gateway)
  HOTLINE_WEBHOOK_LISTEN   webhook mode: where Telegram's posts are served (default 0.0.0.0:8080)
  HOTLINE_WEBHOOK_URL      webhook mode: the public HTTPS URL given to setWebhook
  HOTLINE_WEBHOOK_SECRET   webhook mode: the secret Telegram sends with each update
  HOTLINE_DATABASE         sqlite://path, postgres://... or memory: (default {DEFAULT_DATABASE})
  HOTLINE_PREFLIGHT        strict (default) or warn
  HOTLINE_LOG              error, warn, info (default), debug, trace or off
  HOTLINE_METRICS          an address like 127.0.0.1:9464: /metrics, /healthz, /readyz
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
    start_logging("hotline-gateway")?;
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let listen = var("HOTLINE_GATEWAY_LISTEN").unwrap_or_else(|| "127.0.0.1:8081".into());
    let listen: SocketAddr = listen.trim().parse().map_err(|_| {
        format!("HOTLINE_GATEWAY_LISTEN: `{listen}` is not an address like 127.0.0.1:8081")
    })?;
    let strict = preflight_strict()?;
    let upstream = mode()?;
    let store = open_store(&database()).await?;
    let hotline = Hotline::from_settings(settings)
        .store(store)
        .build()
        .map_err(|e| e.to_string())?;
    if let Some(address) = metrics_address()? {
        let bound = serve_metrics(&hotline, address).await?;
        println!("hotline-gateway: metrics on http://{bound}/metrics (and /healthz, /readyz)");
    }
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
    match upstream {
        Mode::Polling => gateway.serve(listener, shutdown_signal()).await,
        Mode::Webhook {
            listen,
            url,
            secret,
        } => {
            let telegram = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("HOTLINE_WEBHOOK_LISTEN: cannot listen on {listen}: {e}"))?;
            println!("hotline-gateway: Telegram posts to {url} (served on {listen})");
            gateway
                .serve_with_telegram_webhook(listener, telegram, &url, &secret, shutdown_signal())
                .await
        }
    }
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
