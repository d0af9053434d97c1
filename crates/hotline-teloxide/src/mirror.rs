//! [`Mirror`]: the host bot's successful sends to users, mirrored into their topics.

use crate::forward::requester_forward;
use hotline_transport_telegram::Hotline;
use serde_json::{Value, json};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use teloxide::net::Download;
use teloxide::requests::{HasPayload, Output, Payload, Request, Requester};
use teloxide::types::*;
use url::Url;

/// A teloxide [`Requester`] adaptor that mirrors the host bot's successful sends to users
/// (`send*`, `copy*`, `forward*`, `edit_message_*`) into their topics, through
/// [`Hotline::mirror_host_call`].
///
/// Put it outermost, `Mirror<DefaultParseMode<Throttle<Bot>>>`, so it sees the final request and
/// only the results Telegram accepted. Every other method is forwarded to the inner requester
/// untouched (its request type is the inner one); [`Download`] (`download_file`) is forwarded
/// to the inner requester too, as teloxide's own adaptors do.
///
/// Mirroring never blocks the host: when a request's future completes, the result is
/// serialized and handed to the desk, which works in the background.
#[derive(Clone, Debug)]
pub struct Mirror<B> {
    inner: B,
    hotline: Hotline,
}

impl<B> Mirror<B> {
    /// `inner`, with its sends to users mirrored into `hotline`'s topics.
    pub fn new(inner: B, hotline: Hotline) -> Self {
        Mirror { inner, hotline }
    }

    /// The wrapped requester.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The wrapped requester, unwrapped.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

macro_rules! fty_inner {
    ($T:ident) => {
        B::$T
    };
}

macro_rules! fwd_inner {
    ($m:ident $this:ident ($($arg:ident : $T:ty),*)) => {
        $this.inner.$m($($arg),*)
    };
}

macro_rules! fty_mirror {
    ($T:ident) => {
        MirrorRequest<B::$T>
    };
}

macro_rules! fwd_mirror {
    ($m:ident $this:ident ($($arg:ident : $T:ty),*)) => {
        MirrorRequest {
            inner: $this.inner.$m($($arg),*),
            hotline: $this.hotline.clone(),
        }
    };
}

impl<B> Requester for Mirror<B>
where
    B: Requester,
{
    type Err = B::Err;

    requester_forward! {
        forward_message, forward_messages, copy_message, copy_messages, send_message, send_photo, send_audio, send_document, send_video, send_animation, send_voice, send_video_note, send_paid_media, send_media_group, send_location, edit_message_live_location, edit_message_checklist, send_venue, send_contact, send_poll, send_checklist, send_dice, edit_message_text, edit_message_caption, edit_message_media, edit_message_reply_markup, send_sticker, send_invoice, send_game,
        => fwd_mirror, fty_mirror
    }

    requester_forward! {
        get_me, log_out, close, get_updates, set_webhook, delete_webhook, get_webhook_info, edit_message_live_location_inline, stop_message_live_location, stop_message_live_location_inline, send_chat_action, set_message_reaction, get_user_profile_photos, set_user_emoji_status, get_file, kick_chat_member, ban_chat_member, unban_chat_member, restrict_chat_member, promote_chat_member, set_chat_administrator_custom_title, ban_chat_sender_chat, unban_chat_sender_chat, set_chat_permissions, export_chat_invite_link, create_chat_invite_link, edit_chat_invite_link, create_chat_subscription_invite_link, edit_chat_subscription_invite_link, revoke_chat_invite_link, set_chat_photo, delete_chat_photo, set_chat_title, set_chat_description, pin_chat_message, unpin_chat_message, unpin_all_chat_messages, leave_chat, get_chat, get_chat_administrators, get_chat_members_count, get_chat_member_count, get_chat_member, set_chat_sticker_set, delete_chat_sticker_set, get_forum_topic_icon_stickers, create_forum_topic, edit_forum_topic, close_forum_topic, reopen_forum_topic, delete_forum_topic, unpin_all_forum_topic_messages, edit_general_forum_topic, close_general_forum_topic, reopen_general_forum_topic, hide_general_forum_topic, unhide_general_forum_topic, unpin_all_general_forum_topic_messages, answer_callback_query, get_user_chat_boosts, set_my_commands, get_business_connection, get_my_commands, set_my_name, get_my_name, set_my_description, get_my_description, set_my_short_description, get_my_short_description, set_chat_menu_button, get_chat_menu_button, set_my_default_administrator_rights, get_my_default_administrator_rights, delete_my_commands, answer_inline_query, answer_web_app_query, save_prepared_inline_message, edit_message_text_inline, edit_message_caption_inline, edit_message_media_inline, edit_message_reply_markup_inline, stop_poll, delete_message, delete_messages, get_sticker_set, get_custom_emoji_stickers, upload_sticker_file, create_new_sticker_set, add_sticker_to_set, set_sticker_position_in_set, delete_sticker_from_set, replace_sticker_in_set, set_sticker_set_thumbnail, set_custom_emoji_sticker_set_thumbnail, set_sticker_set_title, delete_sticker_set, set_sticker_emoji_list, set_sticker_keywords, set_sticker_mask_position, get_available_gifts, send_gift, send_gift_chat, gift_premium_subscription, verify_user, verify_chat, remove_user_verification, remove_chat_verification, read_business_message, delete_business_messages, set_business_account_name, set_business_account_username, set_business_account_bio, set_business_account_profile_photo, remove_business_account_profile_photo, set_business_account_gift_settings, get_business_account_star_balance, transfer_business_account_stars, get_business_account_gifts, convert_gift_to_stars, upgrade_gift, transfer_gift, post_story, edit_story, delete_story, create_invoice_link, answer_shipping_query, answer_pre_checkout_query, get_my_star_balance, get_star_transactions, refund_star_payment, edit_user_star_subscription, set_passport_data_errors, set_game_score, set_game_score_inline, get_game_high_scores, approve_chat_join_request, decline_chat_join_request,
        => fwd_inner, fty_inner
    }
}

/// Downloads are not sends: forwarded to the inner requester, unobserved.
impl<B> Download for Mirror<B>
where
    B: Download,
{
    type Err<'dst> = B::Err<'dst>;
    type Fut<'dst> = B::Fut<'dst>;

    fn download_file<'dst>(
        &self,
        path: &str,
        destination: &'dst mut (dyn tokio::io::AsyncWrite + Unpin + Send),
    ) -> Self::Fut<'dst> {
        self.inner.download_file(path, destination)
    }

    type StreamErr = B::StreamErr;
    type Stream = B::Stream;

    fn download_file_stream(&self, path: &str) -> Self::Stream {
        self.inner.download_file_stream(path)
    }
}

/// A request of [`Mirror`] whose successful result is mirrored.
#[must_use = "Requests are lazy and do nothing unless sent"]
#[derive(Clone, Debug)]
pub struct MirrorRequest<R> {
    inner: R,
    hotline: Hotline,
}

impl<R> MirrorRequest<R>
where
    R: Request,
    R::Payload: serde::Serialize,
{
    /// What the desk needs besides the result: the method and, for the calls that answer with
    /// ids alone, the chat the request went to.
    fn observer(&self) -> Observer {
        let method = <R::Payload as Payload>::NAME;
        let lower = method.to_ascii_lowercase();
        let chat_id = if lower.starts_with("copy") || lower == "forwardmessages" {
            serde_json::to_value(self.inner.payload_ref())
                .ok()
                .and_then(|payload| payload.get("chat_id").and_then(Value::as_i64))
        } else {
            None
        };
        Observer {
            hotline: self.hotline.clone(),
            method,
            chat_id,
        }
    }
}

impl<R> HasPayload for MirrorRequest<R>
where
    R: HasPayload,
{
    type Payload = R::Payload;

    fn payload_mut(&mut self) -> &mut Self::Payload {
        self.inner.payload_mut()
    }

    fn payload_ref(&self) -> &Self::Payload {
        self.inner.payload_ref()
    }
}

impl<R> Request for MirrorRequest<R>
where
    R: Request,
    R::Payload: serde::Serialize,
    Output<R>: serde::Serialize,
{
    type Err = R::Err;
    type Send = MirrorSend<R::Send>;
    type SendRef = MirrorSend<R::SendRef>;

    fn send(self) -> Self::Send {
        let observer = self.observer();
        MirrorSend {
            inner: self.inner.send(),
            observer: Some(observer),
        }
    }

    fn send_ref(&self) -> Self::SendRef {
        MirrorSend {
            inner: self.inner.send_ref(),
            observer: Some(self.observer()),
        }
    }
}

impl<R> IntoFuture for MirrorRequest<R>
where
    R: Request,
    R::Payload: serde::Serialize,
    Output<R>: serde::Serialize,
{
    type Output = Result<Output<R>, R::Err>;
    type IntoFuture = MirrorSend<R::Send>;

    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// Who is told of a request's result.
#[derive(Debug)]
struct Observer {
    hotline: Hotline,
    method: &'static str,
    chat_id: Option<i64>,
}

pin_project_lite::pin_project! {
    /// The future of a [`MirrorRequest`]: the inner request's, its success handed to the desk.
    #[derive(Debug)]
    pub struct MirrorSend<F> {
        #[pin]
        inner: F,
        observer: Option<Observer>,
    }
}

impl<F, O, E> Future for MirrorSend<F>
where
    F: Future<Output = Result<O, E>>,
    O: serde::Serialize,
{
    type Output = Result<O, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let (Ok(output), Some(observer)) = (&result, this.observer.take()) {
            match serde_json::to_value(output) {
                Ok(result) => observer.hotline.mirror_host_call(
                    observer.method,
                    observer.chat_id,
                    &json!({"ok": true, "result": result}),
                ),
                Err(error) => {
                    tracing::warn!(%error, method = observer.method, "hotline: a host's result could not be mirrored");
                }
            }
        }
        Poll::Ready(result)
    }
}
