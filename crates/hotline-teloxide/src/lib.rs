//! Hotline's support desk inside a [teloxide](https://docs.rs/teloxide) bot.
//!
//! Over a [`hotline_transport_telegram::Hotline`] built as for any embedding:
//!
//! - [`branch`]: a dptree handler the host puts **first** in its dispatcher tree. It hands each
//!   update of the kinds the desk reads (messages, edits, callback queries, `my_chat_member`,
//!   reactions) to the desk, returns at once (the desk works in the background, one user's
//!   events in order), ends processing for what is the desk's alone (the operators' group,
//!   Hotline's own buttons) and passes everything else on to the host's handlers. It is built
//!   from teloxide's kind filters, so teloxide asks Telegram for the host's kinds plus the desk's,
//!   not for every kind.
//! - [`Mirror`]: a `Requester` adaptor, outermost (`Mirror<DefaultParseMode<Throttle<Bot>>>`),
//!   that mirrors the host's successful sends to users into their topics; it forwards
//!   `Download` too.
//! - [`listener`]: the durable alternative to [`branch`], for a bot that must lose nothing on a
//!   crash (see below).
//! - [`human_button`], [`hand_over`], and [`handle_update`] / [`update_json`] for hosts that
//!   route updates themselves.
//!
//! ```no_run
//! use hotline_teloxide::{Mirror, branch};
//! use teloxide::prelude::*;
//! # async fn run(hotline: hotline_transport_telegram::Hotline) {
//! let bot = Mirror::new(Bot::new("TOKEN"), hotline.clone());
//! let handler = dptree::entry()
//!     .branch(branch(hotline.clone())) // the desk first
//!     .branch(Update::filter_message().endpoint(
//!         |bot: Mirror<Bot>, msg: Message| async move {
//!             bot.send_message(msg.chat.id, "Hello!").await?;
//!             respond(())
//!         },
//!     ));
//! Dispatcher::builder(bot, handler).build().dispatch().await;
//! # }
//! ```
//!
//! # Crash safety: [`branch`] or [`listener`]
//!
//! With [`branch`], teloxide's own polling (or webhook) owns the update stream, and teloxide
//! confirms a batch to Telegram as soon as it has handed it to the dispatcher, before any
//! handler ran: an update fetched in the instant before a crash, not yet recorded by the desk,
//! is lost. For a bot that must lose nothing, let the desk poll instead:
//! [`Hotline::run_polling`] writes every update to the store's update log before Telegram is
//! told it arrived and moves the desk's cursor only past what it finished, and [`listener`] is
//! the dispatcher's `UpdateListener` over the same log (the host gets each update once the desk
//! has taken it in; what is the desk's alone is left out; the host's kinds are asked of
//! Telegram with the desk's). Use one or the other, not both; `examples/teloxide_durable_bot.rs`
//! is such a bot, killed and restarted by `tests/teloxide_crash_safety.rs`.
//!
//! [`branch`] takes the [`Hotline`] as an argument rather than from the dispatcher's
//! dependencies: a missing dependency is a panic at the first update in teloxide, an argument
//! is checked by the compiler.
//!
//! # How `Mirror` forwards `Requester`'s methods
//!
//! `Requester` has 165 methods and no defaults, and teloxide's forwarding macro is
//! crate-private. The choices were: write the forwarding by hand (165 signatures to keep in
//! step with teloxide by eye), generate it from teloxide's schema at build time (a code
//! generator to maintain), or ask upstream for a public forwarding macro or an observer hook
//! (not in teloxide 0.17). This crate carries a verbatim copy of teloxide-core 0.13's
//! generated `requester_forward!` (MIT, its license in `src/forward.rs`): it is teloxide's own
//! text for these very methods, so nothing is retyped, and the compiler checks every method it
//! writes against the trait, so a teloxide release that adds or changes a method fails to build
//! here instead of misbehaving. The 29 `send_*`, `copy_*`, `forward_*` and `edit_message_*`
//! methods to a chat (not the inline `*_inline` edits, not `send_chat_action` or gifts) return a
//! [`MirrorRequest`] that observes the result; the others return the inner requester's own
//! request type, untouched. The copy is renewed with the teloxide version this crate depends on;
//! should teloxide make the macro public, it replaces the copy.
//!
//! # Pacing
//!
//! The desk's own traffic (topics, relays to operators and users) goes through the desk's own
//! client and pacer, never through the host's `Throttle` (whose default lets 10 messages a
//! minute into one supergroup: the whole operators' group would be held to that).

mod forward;
mod listener;
mod mirror;

pub use listener::{CONSUMER, LogListener, listener};
pub use mirror::{Mirror, MirrorRequest, MirrorSend};

use hotline_transport_telegram::{Completion, Handled, Hotline};
use serde_json::json;
use teloxide::dispatching::{DpHandlerDescription, UpdateFilterExt};
use teloxide::dptree;
use teloxide::types::{MaybeAnonymousUser, Update, UpdateKind};

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store's update log could not be read or written ([`listener`]).
    #[error("hotline-teloxide: the update log: {0}")]
    Store(#[from] hotline_transport_telegram::hotline_core::StoreError),
    /// A teloxide value could not be turned into the Bot API JSON the desk reads.
    #[error("hotline-teloxide: not readable as Bot API JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The dptree handler type [`branch`] returns, for a host whose handlers fail with `E`.
pub type Branch<E> = dptree::Handler<'static, Result<(), E>, DpHandlerDescription>;

/// The desk's branch of a teloxide dispatcher: put it first
/// (`dptree::entry().branch(hotline_teloxide::branch(hotline.clone())).branch(...)`).
///
/// Hands every message, edited message, callback query, `my_chat_member` and reaction update
/// to the desk (never waiting for a relay) and ends processing only for what the desk
/// consumes (the operators' group, Hotline's own buttons); the rest go on to the host's
/// branches. The branch only names those kinds, so teloxide's `allowed_updates` is the host's
/// kinds plus these.
pub fn branch<E>(hotline: Hotline) -> Branch<E>
where
    E: Send + Sync + 'static,
{
    let consumed = move |update: Update| handle_update(&hotline, &update).consumed;
    let kind = |filter: Branch<E>| {
        let consumed = consumed.clone();
        filter
            .filter(move |update: Update| consumed(update))
            .endpoint(|| async { Ok(()) })
    };
    dptree::entry()
        .branch(kind(Update::filter_message()))
        .branch(kind(Update::filter_edited_message()))
        .branch(kind(Update::filter_callback_query()))
        .branch(kind(Update::filter_my_chat_member()))
        .branch(kind(Update::filter_message_reaction_updated()))
}

/// Hands one teloxide update to the desk (see [`Hotline::handle_update_json`]): returns at
/// once; `consumed` says the host must not handle it. Needs a Tokio runtime.
pub fn handle_update(hotline: &Hotline, update: &Update) -> Handled {
    match update_json(update) {
        Ok(json) => hotline.handle_update_json(&json),
        Err(error) => {
            tracing::warn!(%error, "hotline: a teloxide update could not be serialized");
            // Unreadable to the desk: passes through to the host.
            hotline.handle_update_json(b"{}")
        }
    }
}

/// A teloxide update as the Bot API JSON Telegram sent.
///
/// teloxide serializes its types back to Telegram's JSON, with one exception handled here:
/// `message_reaction`, whose `user` (or `actor_chat`) and `message_id` teloxide flattens into
/// the reaction: it is rebuilt from teloxide's fields.
pub fn update_json(update: &Update) -> Result<Vec<u8>, Error> {
    let mut value = serde_json::to_value(update)?;
    if let (UpdateKind::MessageReaction(reaction), Some(object)) =
        (&update.kind, value.as_object_mut())
    {
        let mut fixed = json!({
            "chat": reaction.chat,
            "message_id": reaction.message_id.0,
            "date": reaction.date.timestamp(),
            "old_reaction": reaction.old_reaction,
            "new_reaction": reaction.new_reaction,
        });
        let (field, actor) = match &reaction.actor {
            MaybeAnonymousUser::User(user) => ("user", serde_json::to_value(user)?),
            MaybeAnonymousUser::Chat(chat) => ("actor_chat", serde_json::to_value(chat)?),
        };
        if let Some(fixed) = fixed.as_object_mut() {
            fixed.insert(field.to_owned(), actor);
        }
        object.insert("message_reaction".to_owned(), fixed);
    }
    Ok(serde_json::to_vec(&value)?)
}

/// Hotline's own "talk to a human" button, for the host's keyboards: a press hands the user to
/// an operator ([`branch`] consumes it and answers the callback; the host never sees it).
pub fn human_button(text: &str) -> teloxide::types::InlineKeyboardButton {
    teloxide::types::InlineKeyboardButton::callback(
        text,
        hotline_transport_telegram::HUMAN_CALLBACK,
    )
}

/// Hands a user to an operator (the host's own "talk to a human" button): see
/// [`Hotline::hand_over`]. The hand-over runs whether or not the completion is awaited; an
/// error means the user could not be read as the Bot API's `User` (nothing was done).
pub fn hand_over(hotline: &Hotline, user: &teloxide::types::User) -> Result<Completion, Error> {
    let user: hotline_transport_telegram::frankenstein::types::User =
        serde_json::from_value(serde_json::to_value(user)?)?;
    Ok(hotline.hand_over(&user))
}
