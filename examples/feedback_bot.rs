//! A standalone support bot and nothing else: every user who writes gets a forum topic in the
//! operators' group, and operators answer from there.
//!
//! ```sh
//! TELEGRAM_BOT_TOKEN=123456:ABC... HOTLINE_BACKEND_GROUP=-1001234567890 \
//!     cargo run --example feedback_bot
//! ```
//!
//! Configured from the environment (see `Settings`): `TELEGRAM_BOT_TOKEN`, `HOTLINE_BACKEND_GROUP`,
//! optionally `TELEGRAM_API_URL` (a local Bot API server, or the fake one of `hotline-testkit`),
//! `HOTLINE_LIMITS`, `HOTLINE_CONFIG` (a TOML file) and any Hotline parameter by its own name
//! (`WELCOME`, `PRIVATE_KEYWORDS`, ...). Ctrl-C (or SIGTERM) stops it cleanly.
//!
//! The desk's state is kept in `HOTLINE_DATABASE` (default `sqlite://hotline.db`, a SQLite file
//! created if missing), so a restart remembers every user's topic.

use hotline::{Error, Hotline, Settings};
use std::future::Future;

/// Runs the desk with long polling until `shutdown` resolves, its state in the database at
/// `database` (`sqlite://...`).
pub async fn run(
    settings: Settings,
    database: &str,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let api_url = settings.api_url.clone();
    let group = settings.config.backend_group;
    let store = hotline::store_sql::connect(database).await?;
    let hotline = Hotline::from_settings(settings)
        .store(store)
        .on_error(|error| eprintln!("feedback_bot: {error}"))
        .build()?;
    for problem in hotline.preflight().await? {
        eprintln!("feedback_bot: warning: {problem}");
    }
    // The token is a password: the status line names the bot by its id only.
    println!(
        "feedback_bot: bot {} on {api_url}, operators' group {}; Ctrl-C stops",
        hotline.client().token().bot_id(),
        group.0,
    );
    hotline.run_polling(shutdown).await?;
    println!("feedback_bot: stopped");
    Ok(())
}

#[allow(dead_code)] // the tests include this file as a module and call `run`
#[tokio::main]
async fn main() {
    let database =
        std::env::var("HOTLINE_DATABASE").unwrap_or_else(|_| "sqlite://hotline.db".into());
    let result = match Settings::from_env() {
        Ok(settings) => run(settings, &database, hotline::shutdown_signal()).await,
        Err(error) => Err(error.into()),
    };
    if let Err(error) = result {
        eprintln!("feedback_bot: {error}");
        std::process::exit(1);
    }
}
