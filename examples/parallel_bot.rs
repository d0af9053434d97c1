//! A bot of its own, written with frankenstein, with Hotline bolted on: the bot keeps its
//! greeting with a photo, its FAQ buttons, its web app, menu button and commands; Hotline adds
//! the human desk beside it.
//!
//! ```sh
//! TELEGRAM_BOT_TOKEN=123456:ABC... HOTLINE_BACKEND_GROUP=-1001234567890 \
//!     cargo run --example parallel_bot
//! ```
//!
//! A user reaches an operator by writing one of the keywords (`operator`, `help`, `/help`,
//! `/chat`: `PRIVATE_KEYWORDS`, overridable from the environment) or by tapping "Talk to a
//! human"; from then on the bot's own replies to them are mirrored into their topic
//! (`INTERCEPT_EXTERNAL`, on by default). Everything else stays between the user and the bot.
//!
//! Every line Hotline adds ends with `// hotline`: strip them and this is the same bot without
//! the desk (`docs/embedding.md` shows the diff, and a test keeps that diff honest).
//!
//! The bot's own settings: `TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL` (default Telegram's),
//! `GREETING_PHOTO` (a `file_id` of a photo the bot has sent before, or an `https://` URL
//! Telegram fetches; the fake server of `hotline-testkit` accepts any URL without fetching it)
//! and `WEB_APP_URL`. Hotline's: `HOTLINE_BACKEND_GROUP` and the rest of `Settings`, and
//! `HOTLINE_DATABASE` (default `sqlite://hotline.db`, a SQLite file created if missing).

use frankenstein::AsyncTelegramApi;
use frankenstein::client_reqwest::Bot;
use frankenstein::methods::{
    AnswerCallbackQueryParams, GetUpdatesParams, SendMessageParams, SendPhotoParams,
    SetChatMenuButtonParams, SetMyCommandsParams,
};
use frankenstein::response::MethodResponse;
use frankenstein::types::{
    BotCommand, CallbackQuery, ChatType, InlineKeyboardButton, InlineKeyboardMarkup, MenuButton,
    MenuButtonWebApp, Message, ReplyMarkup, WebAppInfo,
};
use frankenstein::updates::{Update, UpdateContent};
use hotline::{Hotline, Settings, human_button}; // hotline
use serde_json::Value;
use std::future::Future;

/// Whatever stops the bot. frankenstein strips the request URL, which holds the token, from its
/// HTTP errors, so these are safe to print.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

const KEYWORDS: &str = r#""operator","help","/help","/chat""#; // hotline

/// The questions the bot answers itself: callback data, question, answer.
const FAQ: [(&str, &str, &str); 2] = [
    (
        "faq:1",
        "How do I track my order?",
        "Open the shop, tap Orders, and pick the order: its status and tracking link are there.",
    ),
    (
        "faq:2",
        "What are your opening hours?",
        "We answer every day from 9:00 to 18:00 UTC.",
    ),
];

/// Runs the bot with its own long polling until `shutdown` resolves. `var` reads a setting
/// (the process environment in `main`, a map in tests).
pub async fn run(
    var: impl Fn(&str) -> Option<String>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let token = var("TELEGRAM_BOT_TOKEN").ok_or("TELEGRAM_BOT_TOKEN is not set")?;
    let api_url = var("TELEGRAM_API_URL").unwrap_or_else(|| "https://api.telegram.org".into());
    let bot = Bot::new_url(format!("{}/bot{token}", api_url.trim_end_matches('/')));
    let setting = |n: &str| var(n).or_else(|| (n == "PRIVATE_KEYWORDS").then(|| KEYWORDS.into())); // hotline
    let database = var("HOTLINE_DATABASE").unwrap_or_else(|| "sqlite://hotline.db".into()); // hotline
    let store = hotline::store_sql::connect(&database).await?; // hotline
    let hotline = Hotline::from_settings(Settings::from_vars(setting)?).store(store); // hotline
    let hotline = hotline.build()?; // hotline
    let bot = hotline.intercept(bot); // hotline
    let host = Host {
        bot,
        photo: var("GREETING_PHOTO")
            .unwrap_or_else(|| "https://telegram.org/img/t_logo.png".into()),
        web_app: var("WEB_APP_URL")
            .unwrap_or_else(|| "https://core.telegram.org/bots/webapps".into()),
    };
    host.set_up().await?;
    let me = host.bot.get_me().await?.result;
    println!(
        "parallel_bot: @{} is running; Ctrl-C stops",
        me.username.unwrap_or_default()
    );

    let ticker = hotline.spawn_ticker(std::time::Duration::from_secs(60)); // hotline
    let mut offset = 0;
    tokio::pin!(shutdown);
    loop {
        let params = GetUpdatesParams::builder()
            .offset(offset)
            .timeout(25)
            .build();
        let batch: Result<MethodResponse<Vec<Value>>, _> = tokio::select! {
            () = &mut shutdown => break,
            batch = host.bot.request("getUpdates", Some(&params)) => batch,
        };
        let updates = match batch {
            Ok(batch) => batch.result,
            Err(error) => {
                eprintln!("parallel_bot: getUpdates failed: {error}");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                }
            }
        };
        let updates = decode(updates, &mut offset).into_iter();
        let updates = updates.filter(|update| !hotline.handle_update(update).consumed); // hotline
        let updates = hotline.not_with_operator(updates).await; // hotline
        for update in updates {
            if let Err(error) = host.handle(update).await {
                eprintln!("parallel_bot: {error}");
            }
        }
    }
    ticker.abort(); // hotline
    println!("parallel_bot: stopped");
    Ok(())
}

/// Decodes a batch one update at a time (one of a kind newer than frankenstein's types is
/// skipped, not a reason to stall) and moves `offset` past all of them.
fn decode(batch: Vec<Value>, offset: &mut i64) -> Vec<Update> {
    let mut updates = Vec::with_capacity(batch.len());
    for raw in batch {
        if let Some(id) = raw.get("update_id").and_then(Value::as_i64) {
            *offset = (*offset).max(id + 1);
        }
        match serde_json::from_value(raw) {
            Ok(update) => updates.push(update),
            Err(error) => eprintln!("parallel_bot: skipped an update: {error}"),
        }
    }
    updates
}

/// The bot's own logic; `B` is frankenstein's client (or anything that behaves like it).
struct Host<B> {
    bot: B,
    photo: String,
    web_app: String,
}

impl<B: AsyncTelegramApi<Error = frankenstein::Error>> Host<B> {
    /// Commands and the menu button, once at start.
    async fn set_up(&self) -> Result<(), frankenstein::Error> {
        let commands = [
            ("start", "Start over"),
            ("help", "Common questions"),
            ("chat", "Write to a person"),
        ]
        .map(|(command, description)| {
            BotCommand::builder()
                .command(command)
                .description(description)
                .build()
        });
        let commands = SetMyCommandsParams::builder()
            .commands(commands.to_vec())
            .build();
        self.bot.set_my_commands(&commands).await?;
        let menu = MenuButton::WebApp(
            MenuButtonWebApp::builder()
                .text("Shop")
                .web_app(self.web_app())
                .build(),
        );
        let menu = SetChatMenuButtonParams::builder().menu_button(menu).build();
        self.bot.set_chat_menu_button(&menu).await?;
        Ok(())
    }

    fn web_app(&self) -> WebAppInfo {
        WebAppInfo::builder().url(&self.web_app).build()
    }

    async fn handle(&self, update: Update) -> Result<(), frankenstein::Error> {
        match update.content {
            UpdateContent::Message(message) if message.chat.type_field == ChatType::Private => {
                self.on_message(&message).await
            }
            UpdateContent::CallbackQuery(query) => self.on_button(&query).await,
            _ => Ok(()),
        }
    }

    async fn on_message(&self, message: &Message) -> Result<(), frankenstein::Error> {
        let chat = message.chat.id;
        let text = message.text.as_deref().unwrap_or_default();
        let command = text.split(['@', ' ']).next().unwrap_or_default();
        match command {
            "/start" => self.greet(chat).await,
            "/help" => {
                let text = "Here is what people ask most. Anything else: just write.";
                self.say(chat, text, Some(self.faq_keyboard())).await
            }
            "/chat" => self.say(chat, "Write your question here.", None).await,
            _ => {
                let text =
                    "Thanks for your message! The answers to common questions are under /help.";
                self.say(chat, text, None).await
            }
        }
    }

    async fn on_button(&self, query: &CallbackQuery) -> Result<(), frankenstein::Error> {
        let data = query.data.as_deref();
        let Some((_, question, answer)) = FAQ.iter().find(|(key, ..)| Some(*key) == data) else {
            return Ok(());
        };
        let answered = AnswerCallbackQueryParams::builder()
            .callback_query_id(&query.id)
            .build();
        self.bot.answer_callback_query(&answered).await?;
        let chat = i64::try_from(query.from.id).unwrap_or_default();
        self.say(chat, &format!("❓ {question}\n{answer}"), None)
            .await
    }

    async fn greet(&self, chat: i64) -> Result<(), frankenstein::Error> {
        let mut keyboard = self.faq_keyboard();
        keyboard.inline_keyboard.extend([
            vec![
                InlineKeyboardButton::builder()
                    .text("🛍 Open the shop")
                    .web_app(self.web_app())
                    .build(),
            ],
            vec![human_button("🙋 Talk to a human")], // hotline
        ]);
        let params = SendPhotoParams::builder()
            .chat_id(chat)
            .photo(self.photo.clone())
            .caption("Welcome to Example Shop! Pick a question, or open the shop.")
            .reply_markup(ReplyMarkup::InlineKeyboardMarkup(keyboard))
            .build();
        self.bot.send_photo(&params).await?;
        Ok(())
    }

    fn faq_keyboard(&self) -> InlineKeyboardMarkup {
        let rows = FAQ.iter().map(|(key, question, _)| {
            vec![
                InlineKeyboardButton::builder()
                    .text(*question)
                    .callback_data(*key)
                    .build(),
            ]
        });
        InlineKeyboardMarkup::builder()
            .inline_keyboard(rows.collect())
            .build()
    }

    async fn say(
        &self,
        chat: i64,
        text: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Result<(), frankenstein::Error> {
        let params = SendMessageParams::builder()
            .chat_id(chat)
            .text(text)
            .maybe_reply_markup(keyboard.map(ReplyMarkup::InlineKeyboardMarkup))
            .build();
        self.bot.send_message(&params).await?;
        Ok(())
    }
}

#[allow(dead_code)] // the tests include this file as a module and call `run`
#[tokio::main]
async fn main() {
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = run(|name| std::env::var(name).ok(), shutdown).await {
        eprintln!("parallel_bot: {error}");
        std::process::exit(1);
    }
}
