//! What the standalone programs (`hotline-desk`, `hotline-gateway`) share: where the state
//! is (`HOTLINE_DATABASE`), how they log (`HOTLINE_LOG`), and their metrics and health
//! endpoint (`HOTLINE_METRICS`, see [`serve_metrics`]). A host bot embedding the desk has
//! its own of both and needs none of this.

pub use crate::ops_server::{metrics_address, serve_metrics};

use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, span};

/// Where the state goes when `HOTLINE_DATABASE` is not set: a SQLite file in the working
/// directory.
pub const DEFAULT_DATABASE: &str = "sqlite://hotline.db";

/// A variable's value; unset and blank are the same.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// How a standalone program receives updates from Telegram (`HOTLINE_MODE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Long polling (the default).
    Polling,
    /// Telegram posts to `url`, served on `listen`, signed with `secret`.
    Webhook {
        /// `HOTLINE_WEBHOOK_LISTEN` (default `0.0.0.0:8080`).
        listen: std::net::SocketAddr,
        /// `HOTLINE_WEBHOOK_URL`: the public HTTPS URL given to `setWebhook`.
        url: String,
        /// `HOTLINE_WEBHOOK_SECRET`.
        secret: String,
    },
}

/// A variable's value; unset and blank are the same.
fn required(name: &str, what: &str) -> Result<String, String> {
    var(name).ok_or_else(|| format!("{name}: not set: {what}"))
}

/// `HOTLINE_MODE` and, for `webhook`, its three variables; the error names the variable.
pub fn mode() -> Result<Mode, String> {
    match var("HOTLINE_MODE").as_deref().map(str::trim) {
        None | Some("polling") => Ok(Mode::Polling),
        Some("webhook") => {
            let listen = var("HOTLINE_WEBHOOK_LISTEN").unwrap_or_else(|| "0.0.0.0:8080".into());
            let listen = listen.trim().parse().map_err(|_| {
                format!("HOTLINE_WEBHOOK_LISTEN: `{listen}` is not an address like 0.0.0.0:8080")
            })?;
            Ok(Mode::Webhook {
                listen,
                url: required(
                    "HOTLINE_WEBHOOK_URL",
                    "the public URL Telegram posts updates to",
                )?,
                secret: required(
                    "HOTLINE_WEBHOOK_SECRET",
                    "a secret of 1-256 characters A-Z, a-z, 0-9, _ and -",
                )?,
            })
        }
        Some(other) => Err(format!(
            "HOTLINE_MODE: `{other}` is neither `polling` nor `webhook`"
        )),
    }
}

/// The database the desk uses: `HOTLINE_DATABASE`, or `sqlite://hotline.db`; a SQLite file
/// given by a relative path is made absolute (against the working directory), so that the
/// help and the start-up line say where the state really is.
pub fn database() -> String {
    let url = var("HOTLINE_DATABASE").unwrap_or_else(|| DEFAULT_DATABASE.into());
    absolute_database(url.trim())
}

/// `url` with a relative SQLite path made absolute (against the working directory); any other
/// URL as it is.
pub fn absolute_database(url: &str) -> String {
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

/// The database URL without its password, for the status line.
pub fn describe_database(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://…@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Prints the log events of the desk (and warnings of anything else) to stderr, one line each,
/// after the program's name: a runner needs no more than that, and the library needs no
/// logging crate for it.
struct Logger {
    program: &'static str,
    max: Level,
}

impl tracing::Subscriber for Logger {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        // Levels compare by verbosity: ERROR < WARN < INFO < DEBUG < TRACE.
        *meta.level() <= self.max
            && (meta.target().starts_with("hotline") || *meta.level() <= Level::WARN)
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = format!("{}: {}", self.program, event.metadata().level());
        event.record(&mut Fields(&mut line));
        eprintln!("{line}");
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Appends an event's fields: the message as is, the others as `name=value`.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = if field.name() == "message" {
            write!(self.0, " {value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = if field.name() == "message" {
            write!(self.0, " {value}")
        } else {
            write!(self.0, " {}={value}", field.name())
        };
    }
}

/// Installs the process's log as `HOTLINE_LOG` asks (`error`, `warn`, `info` (default),
/// `debug`, `trace` or `off`), each line after `program`'s name. The error names the variable.
pub fn start_logging(program: &'static str) -> Result<(), String> {
    let max = match var("HOTLINE_LOG").as_deref().map(str::trim) {
        None | Some("info") => Level::INFO,
        Some("error") => Level::ERROR,
        Some("warn") => Level::WARN,
        Some("debug") => Level::DEBUG,
        Some("trace") => Level::TRACE,
        // A subscriber that drops everything: without one, the desk would print its first
        // failures to stderr itself (`hotline::core::report_unobserved`).
        Some("off") => {
            return tracing::subscriber::set_global_default(
                tracing::subscriber::NoSubscriber::default(),
            )
            .map_err(|e| format!("HOTLINE_LOG: {e}"));
        }
        Some(other) => {
            return Err(format!(
                "HOTLINE_LOG: `{other}` is not one of error, warn, info, debug, trace, off"
            ));
        }
    };
    tracing::subscriber::set_global_default(Logger { program, max })
        .map_err(|e| format!("HOTLINE_LOG: {e}"))
}
