//! Hotline's support desk on the Telegram Bot API.
//!
//! Every user who writes to your bot gets a forum topic in your operators' group; their messages
//! are copied in, the operators' replies are copied back as the bot. Bolt it onto a bot you
//! already have, or run it alone.
//!
//! Embedded in a [frankenstein] bot (see `docs/embedding.md`):
//!
//! ```no_run
//! use hotline_transport_telegram::{Hotline, Settings};
//! use frankenstein::AsyncTelegramApi;
//!
//! # async fn run(updates: Vec<frankenstein::updates::Update>) -> Result<(), hotline_transport_telegram::Error> {
//! let hotline = Hotline::from_settings(Settings::from_env()?).build()?;
//! let bot = hotline.bot(); // a frankenstein client whose replies to users are mirrored
//! for update in updates {
//!     if hotline.handle_update(&update).consumed {
//!         continue; // operators' traffic: not for your bot
//!     }
//!     // ... your bot's own handling, sending through `bot` as before ...
//! #   let _ = &bot;
//! }
//! # Ok(()) }
//! ```
//!
//! Standalone: `hotline.run_polling(hotline_transport_telegram::shutdown_signal()).await`.
//!
//! The bot token is a password: no `Debug`, error or log line of this crate shows it.

mod albums;
pub mod archive_export;
mod client;
mod completion;
mod dead_letters;
mod decode;
mod error;
mod events_out;
pub mod feed;
mod hotline;
mod hotline_builder;
mod intercept;
mod ops_server;
mod pacing;
mod runner;
mod secret;
mod settings;
pub mod standalone;
mod transport;
mod webhooks;

pub use client::{ApiError, TELEGRAM_API_URL, TelegramClient};
pub use completion::Completion;
pub use decode::HUMAN_CALLBACK;
pub use error::Error;
pub use hotline::{Handled, Hotline, human_button};
pub use hotline_builder::HotlineBuilder;
pub use intercept::Intercepted;
pub use pacing::Limits;
pub use runner::{ALLOWED_UPDATES, STOP_GRACE, WEBHOOK_SECRET_HEADER, shutdown_signal};
pub use secret::BotToken;
pub use settings::Settings;
pub use transport::TelegramTransport;
pub use webhooks::{
    SIGNATURE_HEADER, WEBHOOK_TIMEOUT, verify_webhook_signature, webhook_signature,
};

pub use frankenstein;
pub use hotline_core;
