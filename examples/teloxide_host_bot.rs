//! A host bot written with teloxide, unmodified but for its API URL: one of the four bots CI
//! runs through the Bot API gateway (`tests/host_bots.rs`). Its twins in aiogram,
//! python-telegram-bot and grammY live in `tests/host_bots/` and behave the same.
//!
//! Environment: `BOT_API_URL` (e.g. `http://127.0.0.1:8081`), `BOT_TOKEN`. Prints one line
//! `ready` on stdout once it is about to poll. Private chats only; groups get no answer.
//!
//! * `/start`: a welcome with an inline "FAQ" button (`callback_data` "faq");
//! * the button: the callback is answered, then the FAQ text is sent;
//! * a photo or a document: downloaded with teloxide's own downloader, then "Got your file: N
//!   bytes";
//! * `/upload`: a `report.txt` uploaded from memory, caption "Here is your report";
//! * any other text: "You said: <text>".
//!
//! ```sh
//! BOT_API_URL=http://127.0.0.1:8081 BOT_TOKEN=123:ABC cargo run --example teloxide_host_bot
//! ```

use std::error::Error;
use std::io::Write;

use teloxide::dispatching::{Dispatcher, UpdateFilterExt};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, InputFile};
use teloxide::update_listeners;

type HandlerResult = Result<(), Box<dyn Error + Send + Sync>>;

/// The command a text starts with (`/start`, `/start@some_bot`, `/start payload` → `/start`).
fn command(text: &str) -> &str {
    let first = text.split_whitespace().next().unwrap_or_default();
    first.split('@').next().unwrap_or_default()
}

async fn on_message(bot: Bot, msg: Message) -> HandlerResult {
    if !msg.chat.is_private() {
        return Ok(());
    }
    let file_id = if let Some(sizes) = msg.photo() {
        sizes
            .iter()
            .max_by_key(|p| u64::from(p.width) * u64::from(p.height))
            .map(|p| p.file.id.clone())
    } else {
        msg.document().map(|d| d.file.id.clone())
    };
    if let Some(file_id) = file_id {
        let file = bot.get_file(file_id).await?;
        let mut buf: Vec<u8> = Vec::new();
        bot.download_file(&file.path, &mut buf).await?;
        bot.send_message(msg.chat.id, format!("Got your file: {} bytes", buf.len()))
            .await?;
        return Ok(());
    }
    let Some(text) = msg.text() else {
        return Ok(());
    };
    match command(text) {
        "/start" => {
            let faq = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("FAQ", "faq")]]);
            bot.send_message(msg.chat.id, "Welcome to Acme! Tap FAQ for answers.")
                .reply_markup(faq)
                .await?;
        }
        "/upload" => {
            let report = InputFile::memory(&b"hello from the bot"[..]).file_name("report.txt");
            bot.send_document(msg.chat.id, report)
                .caption("Here is your report")
                .await?;
        }
        _ => {
            bot.send_message(msg.chat.id, format!("You said: {text}"))
                .await?;
        }
    }
    Ok(())
}

async fn on_callback(bot: Bot, q: CallbackQuery) -> HandlerResult {
    let Some(chat) = q.message.as_ref().map(|m| m.chat().clone()) else {
        return Ok(());
    };
    if !chat.is_private() || q.data.as_deref() != Some("faq") {
        return Ok(());
    }
    bot.answer_callback_query(q.id.clone()).await?;
    bot.send_message(chat.id, "FAQ: we are open 9-18, Monday to Friday.")
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let api_url = std::env::var("BOT_API_URL").map_err(|_| "BOT_API_URL is not set")?;
    let token = std::env::var("BOT_TOKEN").map_err(|_| "BOT_TOKEN is not set")?;
    let bot = Bot::new(token).set_api_url(api_url.parse()?);

    let handler = dptree::entry()
        // One line per update received, for the tests: which chats the bot hears from.
        .inspect(|update: Update| {
            let chat = update
                .chat()
                .map_or("none".to_owned(), |c| c.id.to_string());
            println!("update chat={chat}");
        })
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback));
    // What `Dispatcher::dispatch` does (the default long-polling listener, which looks at
    // the webhook first), split in two so that `ready` can be printed in between.
    let listener = update_listeners::polling_default(bot.clone()).await;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    drop(out);
    Dispatcher::builder(bot, handler)
        .build()
        .dispatch_with_listener(
            listener,
            LoggingErrorHandler::with_custom_text("An error from the update listener"),
        )
        .await;
    Ok(())
}
