//! A bot of its own, written with teloxide, with Hotline bolted on: the bot keeps its dialogue
//! (it asks the user's name, then offers its FAQ buttons), answers the FAQ itself, and Hotline
//! adds the human desk beside it, reached through a "Talk to a human" button.
//!
//! ```sh
//! TELEGRAM_BOT_TOKEN=123456:ABC... HOTLINE_BACKEND_GROUP=-1001234567890 \
//!     cargo run --example teloxide_bot
//! ```
//!
//! A user reaches an operator only by tapping "Talk to a human" (`HAND_OVER_ONLY`, on by
//! default here, overridable from the environment); from then on the bot's own replies to them
//! are mirrored into their topic (`INTERCEPT_EXTERNAL`, on by default), and the operators'
//! answers reach them as the bot. Everything else stays between the user and the bot.
//!
//! Every line Hotline adds ends with `// hotline`: strip them and this is the same bot without
//! the desk (`docs/embedding.md`'s teloxide section shows the diff, and a test keeps it honest).
//!
//! The bot's own settings: `TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL` (default Telegram's).
//! Hotline's: `HOTLINE_BACKEND_GROUP` and the rest of `Settings` (`HOTLINE_LIMITS`, `WELCOME`,
//! ...), and `HOTLINE_DATABASE` (default `sqlite://hotline.db`, a SQLite file created if missing).

use hotline::{Hotline, Settings}; // hotline
use std::future::Future;
use teloxide::dispatching::dialogue::{Dialogue, InMemStorage};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use teloxide::{RequestError, dptree};

/// Whatever stops the bot. teloxide's request errors name no URL, so they never show the token.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What the bot sends with: teloxide's `Bot`, or an adaptor around it.
pub trait Client: Requester<Err = RequestError> + Clone + Send + Sync + 'static {}
impl<B: Requester<Err = RequestError> + Clone + Send + Sync + 'static> Client for B {}

/// Where a user is in the bot's dialogue.
#[derive(Clone, Debug, Default)]
pub enum State {
    /// Nothing said yet (or `/start`).
    #[default]
    Start,
    /// The bot asked for the user's name.
    AskedName,
    /// The bot knows the user's name and shows its menu.
    Menu {
        /// The name the user gave.
        name: String,
    },
}

type Chat = Dialogue<State, InMemStorage<State>>;

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

/// Runs the bot with teloxide's long polling until `shutdown` resolves. `var` reads a setting
/// (the process environment in `main`, a map in tests).
pub async fn run(
    var: impl Fn(&str) -> Option<String>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let token = var("TELEGRAM_BOT_TOKEN").ok_or("TELEGRAM_BOT_TOKEN is not set")?;
    let api_url = var("TELEGRAM_API_URL").unwrap_or_else(|| "https://api.telegram.org".into());
    let bot = Bot::new(token).set_api_url(api_url.parse()?);
    let setting = |n: &str| var(n).or_else(|| (n == "HAND_OVER_ONLY").then(|| "true".into())); // hotline
    let database = var("HOTLINE_DATABASE").unwrap_or_else(|| "sqlite://hotline.db".into()); // hotline
    let store = hotline::store_sql::connect(&database).await?; // hotline
    let hotline = Hotline::from_settings(Settings::from_vars(setting)?).store(store); // hotline
    let hotline = hotline.build()?; // hotline
    let bot = hotline_teloxide::Mirror::new(bot, hotline.clone()); // hotline
    let handler = dptree::entry();
    let handler = handler.branch(hotline_teloxide::branch(hotline.clone())); // hotline
    serve(bot, handler, shutdown).await
}

/// The bot's dispatcher over `client`, after the branches already in `handler`.
async fn serve<B: Client>(
    client: B,
    handler: dptree::Handler<
        'static,
        Result<(), Error>,
        teloxide::dispatching::DpHandlerDescription,
    >,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error>
where
    B::GetUpdates: Send,
{
    let me = client.get_me().await?;
    println!("teloxide_bot: @{} is running; Ctrl-C stops", me.username());
    let handler = handler
        .branch(
            Update::filter_message()
                .filter(|msg: Message| msg.chat.is_private())
                .enter_dialogue::<Message, InMemStorage<State>, State>()
                .endpoint(on_message::<B>),
        )
        .branch(Update::filter_callback_query().endpoint(on_button::<B>));
    let mut dispatcher = Dispatcher::builder(client, handler)
        .dependencies(dptree::deps![InMemStorage::<State>::new()])
        .build();
    let stop = dispatcher.shutdown_token();
    let stopping = async {
        shutdown.await;
        // Finishes the updates in hand and confirms the last one to Telegram. A dispatcher
        // still starting (asking for `getMe`) cannot be stopped yet: ask again.
        loop {
            match stop.shutdown() {
                Ok(stopped) => break stopped.await,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
    };
    tokio::join!(dispatcher.dispatch(), stopping);
    println!("teloxide_bot: stopped");
    Ok(())
}

/// The dialogue: `/start` (or a first message) asks for a name, the name brings the menu.
async fn on_message<B: Client>(bot: B, chat: Chat, msg: Message) -> Result<(), Error> {
    let text = msg.text().unwrap_or_default();
    let state = if text.starts_with("/start") {
        State::Start
    } else {
        chat.get_or_default().await?
    };
    match state {
        State::Start => {
            bot.send_message(msg.chat.id, "Welcome to Example Shop! What is your name?")
                .await?;
            chat.update(State::AskedName).await?;
        }
        State::AskedName => {
            let name = text.trim().to_owned();
            let text = format!("Nice to meet you, {name}! Pick a question:");
            bot.send_message(msg.chat.id, text)
                .reply_markup(keyboard())
                .await?;
            chat.update(State::Menu { name }).await?;
        }
        State::Menu { name } => {
            let text = format!("Thanks, {name}! The answers to common questions are below.");
            bot.send_message(msg.chat.id, text)
                .reply_markup(keyboard())
                .await?;
        }
    }
    Ok(())
}

/// The FAQ buttons, answered by the bot itself.
async fn on_button<B: Client>(bot: B, query: CallbackQuery) -> Result<(), Error> {
    let data = query.data.as_deref();
    let Some((_, question, answer)) = FAQ.iter().find(|(key, ..)| Some(*key) == data) else {
        return Ok(());
    };
    bot.answer_callback_query(query.id.clone()).await?;
    bot.send_message(query.from.id, format!("❓ {question}\n{answer}"))
        .await?;
    Ok(())
}

/// The FAQ questions, one button each, and the way to a person.
fn keyboard() -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = FAQ
        .iter()
        .map(|(key, question, _)| vec![InlineKeyboardButton::callback(*question, *key)])
        .collect();
    rows.push(vec![hotline_teloxide::human_button("🙋 Talk to a human")]); // hotline
    InlineKeyboardMarkup::new(rows)
}

#[allow(dead_code)] // the tests include this file as a module and call `run`
#[tokio::main]
async fn main() {
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = run(|name| std::env::var(name).ok(), shutdown).await {
        eprintln!("teloxide_bot: {error}");
        std::process::exit(1);
    }
}
