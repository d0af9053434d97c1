//! A teloxide bot whose desk loses nothing on a crash: the desk polls Telegram itself
//! (`Hotline::run_polling`: every update written to the store's log before Telegram is told it
//! arrived), and the bot's dispatcher reads the same log through `hotline_teloxide::listener`.
//! Kill it at any moment (`kill -9`), start it again on the same database: every user message
//! and operator answer is relayed, once (`tests/teloxide_crash_safety.rs` does exactly that).
//!
//! ```sh
//! TELEGRAM_BOT_TOKEN=123456:ABC... HOTLINE_BACKEND_GROUP=-1001234567890 \
//!     HOTLINE_DATABASE=sqlite://desk.db cargo run --example teloxide_durable_bot
//! ```
//!
//! The bot itself only echoes ("You said: ..."), through `Mirror`, so its replies show in the
//! user's topic. Settings as in `examples/teloxide_bot.rs`; SIGINT or SIGTERM stops it cleanly.

use hotline::{Hotline, Settings};
use hotline_teloxide::Mirror;
use std::future::Future;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use tokio::sync::oneshot;

/// Whatever stops the bot; never shows the token.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs the bot and its desk until `shutdown` resolves (or the desk fails). `var` reads a
/// setting (the process environment in `main`).
pub async fn run(
    var: impl Fn(&str) -> Option<String>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let token = var("TELEGRAM_BOT_TOKEN").ok_or("TELEGRAM_BOT_TOKEN is not set")?;
    let api_url = var("TELEGRAM_API_URL").unwrap_or_else(|| "https://api.telegram.org".into());
    let bot = Bot::new(token).set_api_url(api_url.parse()?);
    let database = var("HOTLINE_DATABASE").unwrap_or_else(|| "sqlite://hotline.db".into());
    let store = hotline::store_sql::connect(&database).await?;
    let hotline = Hotline::from_settings(Settings::from_vars(&var)?)
        .store(store)
        .build()?;
    let bot = Mirror::new(bot, hotline.clone());
    // teloxide's dispatcher panics when its own `getMe` fails: ask first, to return the error.
    bot.get_me().await?;
    let handler = Update::filter_message()
        .filter(|msg: Message| msg.chat.is_private())
        .endpoint(|bot: Mirror<Bot>, msg: Message| async move {
            let text = format!("You said: {}", msg.text().unwrap_or_default());
            bot.send_message(msg.chat.id, text).await?;
            Ok::<(), Error>(())
        });
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let stop_bot = dispatcher.shutdown_token();
    let (stop_desk, desk_stopped) = oneshot::channel::<()>();
    let desk = hotline.run_polling(async {
        let _ = desk_stopped.await;
    });
    tokio::pin!(desk);
    let bot = async {
        let listener = hotline_teloxide::listener(hotline.clone());
        let errors = LoggingErrorHandler::with_custom_text("the update log");
        let stopping = async {
            shutdown.await;
            // A dispatcher still starting cannot be stopped yet: ask again.
            loop {
                match stop_bot.shutdown() {
                    Ok(stopped) => break stopped.await,
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                }
            }
        };
        tokio::join!(
            dispatcher.dispatch_with_listener(listener, errors),
            stopping
        );
    };
    tokio::select! {
        // The desk returns before its stop signal only when it cannot go on.
        failed = &mut desk => failed?,
        () = bot => {
            // The bot stopped first; then the desk, which confirms what it finished.
            let _ = stop_desk.send(());
            desk.await?;
        }
    }
    println!("teloxide_durable_bot: stopped");
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(error) = run(|name| std::env::var(name).ok(), hotline::shutdown_signal()).await {
        eprintln!("teloxide_durable_bot: {error}");
        std::process::exit(1);
    }
}
