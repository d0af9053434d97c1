//! The transport-agnostic support desk of Hotline.
//!
//! Every user who writes to a bot gets a forum topic in the operators' group; their messages are
//! copied into it and the operators' replies are copied back. This crate is the desk itself, with
//! no Telegram wire types, HTTP or SQL: [`Event`]s in, [`Action`]s out through a [`Transport`],
//! state in a [`Store`]. The decisions are plain functions in [`policy`]; the [`Desk`] is the thin
//! async driver around them.
//!
//! ```
//! use hotline_core::{ChatId, Config, Desk, Event, MemoryStore, MemoryTransport, UserId, UserProfile};
//! use std::sync::Arc;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hotline_core::Error> {
//! let group = ChatId(-1001234567890);
//! let telegram = Arc::new(MemoryTransport::new());
//! let desk = Desk::new(Config::builder(group).build()?, MemoryStore::new(), telegram.clone());
//!
//! let ann = UserProfile::new(1001, "Ann");
//! let message = telegram.user_writes(UserId(1001), "Hello, I need help");
//! desk.handle(Event::UserMessage { user: ann, message }).await?;
//!
//! let topic = telegram.topics(group)[0].id;
//! assert_eq!(telegram.topic_texts(group, topic), ["Hello, I need help"]);
//! # Ok(()) }
//! ```
//!
//! See `docs/architecture.md` for the layers and the path of an event, and
//! `docs/configuration.md` for every parameter.

mod action;
mod clock;
pub mod config;
mod desk;
mod desk_event;
mod error;
mod event;
mod fallback;
mod ids;
mod memory_transport;
mod message;
pub mod metrics;
pub mod policy;
mod retry;
pub mod segment;
pub mod store;
mod transport;
pub mod user_export;

pub use action::{Action, PanelButton, Performed, Priority, Recipient};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    BanAllowed, Config, ConfigBuilder, ExtensionsAllowed, Greeting, GreetingButton, KeywordSet,
    WebhookSecret, WebhookTarget, Welcome,
};
pub use desk::{
    Desk, DeskBuilder, Events, IN_FLIGHT, Ignored, InLane, Lagged, MailingHandle, MailingProgress,
    Outcome, PANEL_BUTTONS, Standing, Ticket,
};
pub use desk_event::{DeskEvent, DeskEventKind};
pub use error::{Chain, Error, chain as error_chain};
pub use event::{Event, EventKey, EventKind, Lane};
pub use fallback::report_unobserved;
pub use ids::{ChatId, MessageId, Timestamp, TopicId, UserId};
pub use memory_transport::{ChatMessage, MemberRole, MemoryTransport, Sender, TopicInfo};
pub use message::{Command, IncomingMessage, MessageKind, TextEntity, UserProfile};
pub use retry::{Interrupted, RetryPolicy, Stop};
pub use store::{
    Consumer, Conversation, DeadLetter, DeadLetterId, Delivery, Fetched, LogHead, LogId, Logged,
    Mailing, MailingContent, MailingCounts, MailingId, MailingState, MemoryStore, MessageLink,
    NewDeadLetter, NewOutboxEntry, Origin, OutboxEntry, OutboxId, Status, Store, StoreError,
};
pub use transport::{Transport, TransportError};
