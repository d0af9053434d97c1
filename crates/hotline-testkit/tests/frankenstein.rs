//! frankenstein's async client (reqwest), with its API URL pointed at the fake server, calls
//! every method the issue lists (and the extras the server implements), and decodes every
//! answer into its own types.

mod common;

use std::time::Duration;

use common::*;
use frankenstein::AsyncTelegramApi;
use frankenstein::client_reqwest::Bot;
use frankenstein::input_file::InputFile;
use frankenstein::input_media::{InputMediaPhoto, MediaGroupInputMedia};
use frankenstein::methods::*;
use frankenstein::types::{
    AllowedUpdate, BotCommand, ChatAction, InlineKeyboardButton, InlineKeyboardMarkup, MenuButton,
    ReactionType, ReactionTypeEmoji, ReplyMarkup, ReplyParameters,
};
use frankenstein::updates::UpdateContent;
use hotline_testkit::NewMessage;

fn keyboard(data: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::builder()
        .inline_keyboard(vec![vec![
            InlineKeyboardButton::builder()
                .text("FAQ")
                .callback_data(data)
                .build(),
        ]])
        .build()
}

#[tokio::test]
async fn frankenstein_calls_every_method() {
    let h = H::new().await;
    let bot = Bot::new_url(format!("{}/bot{}", h.tg.api_url(), h.tg.token()));
    let dir = std::env::temp_dir().join(format!("hotline-testkit-fk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let upload = |name: &str| {
        let p = dir.join(name);
        std::fs::write(&p, b"fake bytes").expect("write");
        InputFile::from(p)
    };

    let me = bot.get_me().await.expect("getMe").result;
    assert_eq!(me.id, 123456);
    assert!(me.is_bot);
    assert_eq!(me.can_join_groups, Some(true));
    bot.delete_webhook(&DeleteWebhookParams::builder().build())
        .await
        .expect("deleteWebhook");
    let info = bot.get_webhook_info().await.expect("getWebhookInfo").result;
    assert_eq!(info.url, "");

    // getUpdates long-polls and receives a user's message sent meanwhile.
    let tg = h.tg.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        tg.send_message(NewMessage::text(ANN, ANN, "/start"))
            .expect("send");
    });
    let ups = bot
        .get_updates(
            &GetUpdatesParams::builder()
                .timeout(10)
                .allowed_updates(vec![
                    AllowedUpdate::Message,
                    AllowedUpdate::CallbackQuery,
                    AllowedUpdate::MessageReaction,
                ])
                .build(),
        )
        .await
        .expect("getUpdates")
        .result;
    assert_eq!(ups.len(), 1);
    let UpdateContent::Message(user_msg) = &ups[0].content else {
        panic!("expected a message: {:?}", ups[0]);
    };
    assert_eq!(user_msg.text.as_deref(), Some("/start"));
    let offset = i64::from(ups[0].update_id) + 1;

    // Messages.
    let sent = bot
        .send_message(
            &SendMessageParams::builder()
                .chat_id(ANN)
                .text("Hello <b>Ann</b>")
                .parse_mode(frankenstein::ParseMode::Html)
                .reply_parameters(
                    ReplyParameters::builder()
                        .message_id(user_msg.message_id)
                        .build(),
                )
                .reply_markup(ReplyMarkup::InlineKeyboardMarkup(keyboard("faq:1")))
                .build(),
        )
        .await
        .expect("sendMessage")
        .result;
    assert_eq!(sent.text.as_deref(), Some("Hello Ann"));
    assert_eq!(
        sent.reply_to_message.as_ref().map(|m| m.message_id),
        Some(user_msg.message_id)
    );
    bot.send_chat_action(
        &SendChatActionParams::builder()
            .chat_id(ANN)
            .action(ChatAction::Typing)
            .build(),
    )
    .await
    .expect("sendChatAction");

    // Forum topic, copy into it, forward, copies.
    let topic = bot
        .create_forum_topic(
            &CreateForumTopicParams::builder()
                .chat_id(GROUP)
                .name("Ann")
                .build(),
        )
        .await
        .expect("createForumTopic")
        .result;
    let tid = topic.message_thread_id;
    let copy = bot
        .copy_message(
            &CopyMessageParams::builder()
                .chat_id(GROUP)
                .message_thread_id(tid)
                .from_chat_id(ANN)
                .message_id(user_msg.message_id)
                .build(),
        )
        .await
        .expect("copyMessage")
        .result;
    let fwd = bot
        .forward_message(
            &ForwardMessageParams::builder()
                .chat_id(GROUP)
                .message_thread_id(tid)
                .from_chat_id(ANN)
                .message_id(user_msg.message_id)
                .build(),
        )
        .await
        .expect("forwardMessage")
        .result;
    assert_eq!(fwd.message_thread_id, Some(tid));
    let copies = bot
        .copy_messages(
            &CopyMessagesParams::builder()
                .chat_id(BOB)
                .from_chat_id(ANN)
                .message_ids(vec![user_msg.message_id, sent.message_id])
                .build(),
        )
        .await
        .expect("copyMessages")
        .result;
    assert_eq!(copies.len(), 2);
    let in_topic = h.tg.thread_messages(GROUP, i64::from(tid));
    assert!(in_topic.iter().any(|m| m["message_id"] == copy.message_id));

    // Media, uploads and file ids.
    let photo = bot
        .send_photo(
            &SendPhotoParams::builder()
                .chat_id(ANN)
                .photo(upload("p.jpg"))
                .caption("pic")
                .build(),
        )
        .await
        .expect("sendPhoto")
        .result;
    let photo_id = photo.photo.as_ref().expect("photo")[0].file_id.clone();
    bot.send_document(
        &SendDocumentParams::builder()
            .chat_id(ANN)
            .document(upload("d.pdf"))
            .build(),
    )
    .await
    .expect("sendDocument");
    bot.send_video(
        &SendVideoParams::builder()
            .chat_id(ANN)
            .video(upload("v.mp4"))
            .build(),
    )
    .await
    .expect("sendVideo");
    bot.send_voice(
        &SendVoiceParams::builder()
            .chat_id(ANN)
            .voice(upload("v.ogg"))
            .build(),
    )
    .await
    .expect("sendVoice");
    bot.send_video_note(
        &SendVideoNoteParams::builder()
            .chat_id(ANN)
            .video_note(upload("n.mp4"))
            .build(),
    )
    .await
    .expect("sendVideoNote");
    bot.send_sticker(
        &SendStickerParams::builder()
            .chat_id(ANN)
            .sticker(upload("s.webp"))
            .build(),
    )
    .await
    .expect("sendSticker");
    bot.send_audio(
        &SendAudioParams::builder()
            .chat_id(ANN)
            .audio(upload("a.mp3"))
            .build(),
    )
    .await
    .expect("sendAudio");
    bot.send_animation(
        &SendAnimationParams::builder()
            .chat_id(ANN)
            .animation(upload("g.mp4"))
            .build(),
    )
    .await
    .expect("sendAnimation");
    let album = bot
        .send_media_group(
            &SendMediaGroupParams::builder()
                .chat_id(GROUP)
                .message_thread_id(tid)
                .media(vec![
                    MediaGroupInputMedia::Photo(
                        InputMediaPhoto::builder()
                            .media(upload("m1.jpg"))
                            .caption("one")
                            .build(),
                    ),
                    MediaGroupInputMedia::Photo(
                        InputMediaPhoto::builder().media(photo_id.clone()).build(),
                    ),
                ])
                .build(),
        )
        .await
        .expect("sendMediaGroup")
        .result;
    assert_eq!(album.len(), 2);
    assert_eq!(album[0].media_group_id, album[1].media_group_id);
    let file = bot
        .get_file(&GetFileParams::builder().file_id(photo_id).build())
        .await
        .expect("getFile")
        .result;
    assert!(file.file_path.is_some());

    // Edits, reactions, deletes.
    bot.edit_message_text(
        &EditMessageTextParams::builder()
            .chat_id(ANN)
            .message_id(sent.message_id)
            .text("Hello again")
            .reply_markup(keyboard("faq:2"))
            .build(),
    )
    .await
    .expect("editMessageText");
    bot.edit_message_reply_markup(
        &EditMessageReplyMarkupParams::builder()
            .chat_id(ANN)
            .message_id(sent.message_id)
            .reply_markup(keyboard("faq:3"))
            .build(),
    )
    .await
    .expect("editMessageReplyMarkup");
    bot.edit_message_caption(
        &EditMessageCaptionParams::builder()
            .chat_id(ANN)
            .message_id(photo.message_id)
            .caption("new caption")
            .build(),
    )
    .await
    .expect("editMessageCaption");
    bot.set_message_reaction(
        &SetMessageReactionParams::builder()
            .chat_id(ANN)
            .message_id(user_msg.message_id)
            .reaction(vec![ReactionType::Emoji(
                ReactionTypeEmoji::builder().emoji("👍").build(),
            )])
            .build(),
    )
    .await
    .expect("setMessageReaction");
    bot.pin_chat_message(
        &PinChatMessageParams::builder()
            .chat_id(ANN)
            .message_id(user_msg.message_id)
            .build(),
    )
    .await
    .expect("pinChatMessage");
    assert_eq!(h.tg.pinned_messages(ANN), [i64::from(user_msg.message_id)]);
    bot.unpin_chat_message(
        &UnpinChatMessageParams::builder()
            .chat_id(ANN)
            .message_id(user_msg.message_id)
            .build(),
    )
    .await
    .expect("unpinChatMessage");
    assert!(h.tg.pinned_messages(ANN).is_empty());
    bot.delete_message(
        &DeleteMessageParams::builder()
            .chat_id(ANN)
            .message_id(photo.message_id)
            .build(),
    )
    .await
    .expect("deleteMessage");
    bot.delete_messages(
        &DeleteMessagesParams::builder()
            .chat_id(BOB)
            .message_ids(copies.iter().map(|m| m.message_id).collect::<Vec<_>>())
            .build(),
    )
    .await
    .expect("deleteMessages");
    assert!(h.tg.messages(BOB).is_empty());

    // Callback query round trip.
    let cq =
        h.tg.press_button(ANN, ANN, i64::from(sent.message_id), "faq:3")
            .expect("press");
    let ups = bot
        .get_updates(
            &GetUpdatesParams::builder()
                .offset(offset)
                .timeout(5)
                .build(),
        )
        .await
        .expect("getUpdates")
        .result;
    let UpdateContent::CallbackQuery(q) = &ups[0].content else {
        panic!("expected a callback query: {:?}", ups[0]);
    };
    assert_eq!(q.id, cq["id"].as_str().expect("id"));
    bot.answer_callback_query(
        &AnswerCallbackQueryParams::builder()
            .callback_query_id(q.id.clone())
            .text("ok")
            .build(),
    )
    .await
    .expect("answerCallbackQuery");

    // Topic management.
    bot.edit_forum_topic(
        &EditForumTopicParams::builder()
            .chat_id(GROUP)
            .message_thread_id(tid)
            .name("🟨 Ann")
            .build(),
    )
    .await
    .expect("editForumTopic");
    bot.close_forum_topic(
        &CloseForumTopicParams::builder()
            .chat_id(GROUP)
            .message_thread_id(tid)
            .build(),
    )
    .await
    .expect("closeForumTopic");
    bot.reopen_forum_topic(
        &ReopenForumTopicParams::builder()
            .chat_id(GROUP)
            .message_thread_id(tid)
            .build(),
    )
    .await
    .expect("reopenForumTopic");
    bot.get_forum_topic_icon_stickers()
        .await
        .expect("getForumTopicIconStickers");
    bot.delete_forum_topic(
        &DeleteForumTopicParams::builder()
            .chat_id(GROUP)
            .message_thread_id(tid)
            .build(),
    )
    .await
    .expect("deleteForumTopic");

    // Commands, menu button, chats and members.
    bot.set_my_commands(
        &SetMyCommandsParams::builder()
            .commands(vec![
                BotCommand::builder()
                    .command("help")
                    .description("Help")
                    .build(),
            ])
            .build(),
    )
    .await
    .expect("setMyCommands");
    let cmds = bot
        .get_my_commands(&GetMyCommandsParams::builder().build())
        .await
        .expect("getMyCommands")
        .result;
    assert_eq!(cmds.len(), 1);
    bot.delete_my_commands(&DeleteMyCommandsParams::builder().build())
        .await
        .expect("deleteMyCommands");
    bot.set_chat_menu_button(
        &SetChatMenuButtonParams::builder()
            .chat_id(ANN)
            .menu_button(MenuButton::Commands)
            .build(),
    )
    .await
    .expect("setChatMenuButton");
    bot.get_chat_menu_button(&GetChatMenuButtonParams::builder().chat_id(ANN).build())
        .await
        .expect("getChatMenuButton");
    let chat = bot
        .get_chat(&GetChatParams::builder().chat_id(GROUP).build())
        .await
        .expect("getChat")
        .result;
    assert_eq!(chat.id, GROUP);
    bot.get_chat(&GetChatParams::builder().chat_id(ANN).build())
        .await
        .expect("getChat private");
    bot.get_chat_member(
        &GetChatMemberParams::builder()
            .chat_id(GROUP)
            .user_id(123456u64)
            .build(),
    )
    .await
    .expect("getChatMember");
    bot.get_chat_member(
        &GetChatMemberParams::builder()
            .chat_id(GROUP)
            .user_id(OLGA as u64)
            .build(),
    )
    .await
    .expect("getChatMember member");

    // Contacts, locations, venues, polls and dice: decoded into frankenstein's types.
    let contact = bot
        .send_contact(
            &SendContactParams::builder()
                .chat_id(ANN)
                .phone_number("+15550100")
                .first_name("Desk")
                .build(),
        )
        .await
        .expect("sendContact")
        .result;
    assert_eq!(
        contact.contact.as_ref().map(|c| c.first_name.as_str()),
        Some("Desk")
    );
    let location = bot
        .send_location(
            &SendLocationParams::builder()
                .chat_id(ANN)
                .latitude(52.52)
                .longitude(13.405)
                .build(),
        )
        .await
        .expect("sendLocation")
        .result;
    assert_eq!(location.location.map(|l| l.latitude), Some(52.52));
    let venue = bot
        .send_venue(
            &SendVenueParams::builder()
                .chat_id(ANN)
                .latitude(1.0)
                .longitude(2.0)
                .title("Office")
                .address("Main St 1")
                .build(),
        )
        .await
        .expect("sendVenue")
        .result;
    assert_eq!(venue.venue.map(|v| v.title), Some("Office".to_owned()));
    let option = |text: &str| {
        frankenstein::types::InputPollOption::builder()
            .text(text)
            .build()
    };
    let poll = bot
        .send_poll(
            &SendPollParams::builder()
                .chat_id(ANN)
                .question("Helpful?")
                .options(vec![option("yes"), option("no")])
                .build(),
        )
        .await
        .expect("sendPoll")
        .result;
    let stopped = bot
        .stop_poll(
            &StopPollParams::builder()
                .chat_id(ANN)
                .message_id(poll.message_id)
                .build(),
        )
        .await
        .expect("stopPoll")
        .result;
    assert!(stopped.is_closed);
    let dice = bot
        .send_dice(&SendDiceParams::builder().chat_id(ANN).build())
        .await
        .expect("sendDice")
        .result;
    assert!(dice.dice.is_some_and(|d| (1..=6).contains(&d.value)));
    let forwarded = bot
        .forward_messages(
            &ForwardMessagesParams::builder()
                .chat_id(BOB)
                .from_chat_id(ANN)
                .message_ids(vec![contact.message_id, venue.message_id])
                .build(),
        )
        .await
        .expect("forwardMessages")
        .result;
    assert_eq!(forwarded.len(), 2);
    let admins = bot
        .get_chat_administrators(
            &GetChatAdministratorsParams::builder()
                .chat_id(GROUP)
                .build(),
        )
        .await
        .expect("getChatAdministrators")
        .result;
    assert!(matches!(
        admins.as_slice(),
        [frankenstein::types::ChatMember::Administrator(_)]
    ));
    let count = bot
        .get_chat_member_count(&GetChatMemberCountParams::builder().chat_id(GROUP).build())
        .await
        .expect("getChatMemberCount")
        .result;
    assert_eq!(count, 2, "Olga and the bot");
    let photos = bot
        .get_user_profile_photos(
            &GetUserProfilePhotosParams::builder()
                .user_id(ANN as u64)
                .build(),
        )
        .await
        .expect("getUserProfilePhotos")
        .result;
    assert_eq!(photos.total_count, 0);

    // Webhook set / info / delete.
    bot.set_webhook(
        &SetWebhookParams::builder()
            .url("http://127.0.0.1:9/hook")
            .secret_token("abc")
            .build(),
    )
    .await
    .expect("setWebhook");
    let info = bot.get_webhook_info().await.expect("getWebhookInfo").result;
    assert_eq!(info.url, "http://127.0.0.1:9/hook");
    bot.delete_webhook(
        &DeleteWebhookParams::builder()
            .drop_pending_updates(true)
            .build(),
    )
    .await
    .expect("deleteWebhook");

    // Errors decode as frankenstein's API errors with Telegram's wording.
    let err = bot
        .send_message(
            &SendMessageParams::builder()
                .chat_id(424242)
                .text("x")
                .build(),
        )
        .await
        .expect_err("unknown chat");
    match err {
        frankenstein::Error::Api(e) => {
            assert_eq!(e.error_code, 400);
            assert_eq!(e.description, "Bad Request: chat not found");
        }
        other => panic!("unexpected error {other:?}"),
    }
    bot.log_out().await.expect("logOut");
    bot.close().await.expect("close");

    // Every method the server implements was called through frankenstein.
    let stats = h.tg.stats();
    let missing: Vec<_> = hotline_testkit::METHODS
        .iter()
        .filter(|m| stats.calls_of(m) == 0)
        .collect();
    assert!(missing.is_empty(), "not called: {missing:?}");
    let _ = std::fs::remove_dir_all(&dir);
    h.finish().await;
}

#[tokio::test]
async fn frankenstein_decodes_every_update_kind_the_server_sends() {
    let h = H::new().await;
    let bot = Bot::new_url(format!("{}/bot{}", h.tg.api_url(), h.tg.token()));
    // Ask for everything, reactions included.
    bot.get_updates(
        &GetUpdatesParams::builder()
            .timeout(0)
            .allowed_updates(vec![
                AllowedUpdate::Message,
                AllowedUpdate::EditedMessage,
                AllowedUpdate::CallbackQuery,
                AllowedUpdate::MessageReaction,
                AllowedUpdate::MyChatMember,
            ])
            .build(),
    )
    .await
    .expect("getUpdates");
    let topic = bot
        .create_forum_topic(
            &CreateForumTopicParams::builder()
                .chat_id(GROUP)
                .name("Ann")
                .build(),
        )
        .await
        .expect("topic")
        .result;
    let tid = i64::from(topic.message_thread_id);
    let m =
        h.tg.send_message(NewMessage::text(ANN, ANN, "/start payload"))
            .expect("text");
    let mid = m["message_id"].as_i64().expect("id");
    h.tg.send_message(
        NewMessage::empty(ANN, ANN)
            .photo("ph")
            .caption("c")
            .media_group("g"),
    )
    .expect("photo");
    h.tg.send_message(NewMessage::empty(ANN, ANN).document("doc").media_group("g"))
        .expect("doc");
    h.tg.edit_message(ANN, ANN, mid, "/start edited")
        .expect("edit");
    h.tg.react(ANN, ANN, mid, "👍").expect("react");
    h.tg.block_user(ANN);
    h.tg.unblock_user(ANN);
    let op =
        h.tg.send_message(NewMessage::text(OLGA, GROUP, "op reply").thread(tid))
            .expect("op");
    h.tg.close_topic(GROUP, tid, OLGA).expect("close");
    h.tg.reopen_topic(GROUP, tid, OLGA).expect("reopen");
    let sent = bot
        .send_message(
            &SendMessageParams::builder()
                .chat_id(GROUP)
                .message_thread_id(topic.message_thread_id)
                .text("menu")
                .reply_markup(ReplyMarkup::InlineKeyboardMarkup(keyboard("x")))
                .build(),
        )
        .await
        .expect("send")
        .result;
    h.tg.press_button(OLGA, GROUP, i64::from(sent.message_id), "x")
        .expect("press");

    let ups = bot
        .get_updates(&GetUpdatesParams::builder().timeout(0).build())
        .await
        .expect("every update decodes")
        .result;
    let kinds: Vec<&str> = ups
        .iter()
        .map(|u| match &u.content {
            UpdateContent::Message(m) if m.forum_topic_closed.is_some() => "closed",
            UpdateContent::Message(m) if m.forum_topic_reopened.is_some() => "reopened",
            UpdateContent::Message(m) if m.photo.is_some() => "photo",
            UpdateContent::Message(m) if m.document.is_some() => "document",
            UpdateContent::Message(_) => "message",
            UpdateContent::EditedMessage(_) => "edited",
            UpdateContent::MessageReaction(_) => "reaction",
            UpdateContent::MyChatMember(_) => "my_chat_member",
            UpdateContent::CallbackQuery(_) => "callback",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "message",
            "photo",
            "document",
            "edited",
            "reaction",
            "my_chat_member",
            "my_chat_member",
            "message",
            "closed",
            "reopened",
            "callback"
        ]
    );
    let UpdateContent::Message(opm) = &ups[7].content else {
        panic!("operator message");
    };
    assert_eq!(
        i64::from(opm.message_id),
        op["message_id"].as_i64().expect("id")
    );
    assert_eq!(opm.message_thread_id.map(i64::from), Some(tid));
    assert_eq!(opm.is_topic_message, Some(true));
    h.finish().await;
}

/// What an unmodified frankenstein bot does with a 429: sleep `parameters.retry_after`
/// seconds, then send the same thing again. Returns the sent message's id and how many 429s
/// it waited out.
async fn send_honouring_retry_after(bot: &Bot, params: &SendMessageParams) -> (i32, u32) {
    let mut waited = 0;
    loop {
        match bot.send_message(params).await {
            Ok(sent) => return (sent.result.message_id, waited),
            Err(frankenstein::Error::Api(e)) if e.error_code == 429 => {
                let seconds = e
                    .parameters
                    .and_then(|p| p.retry_after)
                    .expect("a 429 carries parameters.retry_after");
                waited += 1;
                tokio::time::sleep(Duration::from_secs(u64::from(seconds))).await;
            }
            Err(e) => panic!("sendMessage failed: {e:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_honouring_retry_after_gets_through_a_scaled_429_in_about_a_second() {
    let h = H::new().await;
    // Telegram's 20 per minute per group, on a clock 60 times faster: the window lasts one
    // wall-clock second, so the wait a 429 announces must be about one second, not sixty.
    h.tg.set_limits(hotline_testkit::FloodLimits {
        per_group_per_minute: Some(2),
        time_scale: Some(60.0),
        ..Default::default()
    });
    let bot = Bot::new_url(format!("{}/bot{}", h.tg.api_url(), h.tg.token()));
    let started = std::time::Instant::now();
    let mut waited = 0;
    for i in 0..3 {
        let params = SendMessageParams::builder()
            .chat_id(GROUP)
            .text(format!("m{i}"))
            .build();
        // Generous: a scaled 429 costs about a second; sixty Telegram seconds would not fit.
        let (_, n) = tokio::time::timeout(
            Duration::from_secs(10),
            send_honouring_retry_after(&bot, &params),
        )
        .await
        .unwrap_or_else(|_| panic!("message {i} not through within 10 s of 429s"));
        waited += n;
    }
    assert!(waited >= 1, "the third message met the limit");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let texts: Vec<_> =
        h.tg.messages(GROUP)
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect();
    assert_eq!(texts, ["m0", "m1", "m2"], "each sent once, in order");
    h.finish().await;
}
