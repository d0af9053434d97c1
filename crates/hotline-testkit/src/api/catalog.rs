//! Every method of the Bot API the fake answers (Bot API 10.1, from
//! `shared/telegram-bot-api/api.min.json`): its canonical name, what it returns and which
//! parameters it requires. The fake needs this without the spec file (release builds, other
//! machines), so it is kept here as data; a test checks it against the spec file.

/// One Bot API method as the spec describes it.
#[derive(Debug)]
pub(crate) struct SpecMethod {
    /// Canonical (camelCase) name.
    pub(crate) name: &'static str,
    /// The spec's return types, e.g. `["Message", "Boolean"]`.
    pub(crate) returns: &'static [&'static str],
    /// Names of the parameters the spec marks required.
    pub(crate) required: &'static [&'static str],
}

const fn m(
    name: &'static str,
    returns: &'static [&'static str],
    required: &'static [&'static str],
) -> SpecMethod {
    SpecMethod {
        name,
        returns,
        required,
    }
}

/// The version of the Bot API the fake answers (every method of it, see [`METHODS`]).
///
/// [`METHODS`]: crate::METHODS
pub const VERSION: &str = "Bot API 10.1";

/// Every Bot API method, sorted by name: (name, return types, required parameters).
#[rustfmt::skip]
pub(crate) const BOT_API: &[SpecMethod] = &[
    m("addStickerToSet", &["Boolean"], &["user_id", "name", "sticker"]),
    m("answerCallbackQuery", &["Boolean"], &["callback_query_id"]),
    m("answerChatJoinRequestQuery", &["Boolean"], &["chat_join_request_query_id", "result"]),
    m("answerGuestQuery", &["SentGuestMessage"], &["guest_query_id", "result"]),
    m("answerInlineQuery", &["Boolean"], &["inline_query_id", "results"]),
    m("answerPreCheckoutQuery", &["Boolean"], &["pre_checkout_query_id", "ok"]),
    m("answerShippingQuery", &["Boolean"], &["shipping_query_id", "ok"]),
    m("answerWebAppQuery", &["SentWebAppMessage"], &["web_app_query_id", "result"]),
    m("approveChatJoinRequest", &["Boolean"], &["chat_id", "user_id"]),
    m("approveSuggestedPost", &["Boolean"], &["chat_id", "message_id"]),
    m("banChatMember", &["Boolean"], &["chat_id", "user_id"]),
    m("banChatSenderChat", &["Boolean"], &["chat_id", "sender_chat_id"]),
    m("close", &["Boolean"], &[]),
    m("closeForumTopic", &["Boolean"], &["chat_id", "message_thread_id"]),
    m("closeGeneralForumTopic", &["Boolean"], &["chat_id"]),
    m("convertGiftToStars", &["Boolean"], &["business_connection_id", "owned_gift_id"]),
    m("copyMessage", &["MessageId"], &["chat_id", "from_chat_id", "message_id"]),
    m("copyMessages", &["Array of MessageId"], &["chat_id", "from_chat_id", "message_ids"]),
    m("createChatInviteLink", &["ChatInviteLink"], &["chat_id"]),
    m("createChatSubscriptionInviteLink", &["ChatInviteLink"], &["chat_id", "subscription_period", "subscription_price"]),
    m("createForumTopic", &["ForumTopic"], &["chat_id", "name"]),
    m("createInvoiceLink", &["String"], &["title", "description", "payload", "currency", "prices"]),
    m("createNewStickerSet", &["Boolean"], &["user_id", "name", "title", "stickers"]),
    m("declineChatJoinRequest", &["Boolean"], &["chat_id", "user_id"]),
    m("declineSuggestedPost", &["Boolean"], &["chat_id", "message_id"]),
    m("deleteAllMessageReactions", &["Boolean"], &["chat_id"]),
    m("deleteBusinessMessages", &["Boolean"], &["business_connection_id", "message_ids"]),
    m("deleteChatPhoto", &["Boolean"], &["chat_id"]),
    m("deleteChatStickerSet", &["Boolean"], &["chat_id"]),
    m("deleteForumTopic", &["Boolean"], &["chat_id", "message_thread_id"]),
    m("deleteMessage", &["Boolean"], &["chat_id", "message_id"]),
    m("deleteMessageReaction", &["Boolean"], &["chat_id", "message_id"]),
    m("deleteMessages", &["Boolean"], &["chat_id", "message_ids"]),
    m("deleteMyCommands", &["Boolean"], &[]),
    m("deleteStickerFromSet", &["Boolean"], &["sticker"]),
    m("deleteStickerSet", &["Boolean"], &["name"]),
    m("deleteStory", &["Boolean"], &["business_connection_id", "story_id"]),
    m("deleteWebhook", &["Boolean"], &[]),
    m("editChatInviteLink", &["ChatInviteLink"], &["chat_id", "invite_link"]),
    m("editChatSubscriptionInviteLink", &["ChatInviteLink"], &["chat_id", "invite_link"]),
    m("editForumTopic", &["Boolean"], &["chat_id", "message_thread_id"]),
    m("editGeneralForumTopic", &["Boolean"], &["chat_id", "name"]),
    m("editMessageCaption", &["Message", "Boolean"], &[]),
    m("editMessageChecklist", &["Message"], &["business_connection_id", "chat_id", "message_id", "checklist"]),
    m("editMessageLiveLocation", &["Message", "Boolean"], &["latitude", "longitude"]),
    m("editMessageMedia", &["Message", "Boolean"], &["media"]),
    m("editMessageReplyMarkup", &["Message", "Boolean"], &[]),
    m("editMessageText", &["Message", "Boolean"], &[]),
    m("editStory", &["Story"], &["business_connection_id", "story_id", "content"]),
    m("editUserStarSubscription", &["Boolean"], &["user_id", "telegram_payment_charge_id", "is_canceled"]),
    m("exportChatInviteLink", &["String"], &["chat_id"]),
    m("forwardMessage", &["Message"], &["chat_id", "from_chat_id", "message_id"]),
    m("forwardMessages", &["Array of MessageId"], &["chat_id", "from_chat_id", "message_ids"]),
    m("getAvailableGifts", &["Gifts"], &[]),
    m("getBusinessAccountGifts", &["OwnedGifts"], &["business_connection_id"]),
    m("getBusinessAccountStarBalance", &["StarAmount"], &["business_connection_id"]),
    m("getBusinessConnection", &["BusinessConnection"], &["business_connection_id"]),
    m("getChat", &["ChatFullInfo"], &["chat_id"]),
    m("getChatAdministrators", &["Array of ChatMember"], &["chat_id"]),
    m("getChatGifts", &["OwnedGifts"], &["chat_id"]),
    m("getChatMember", &["ChatMember"], &["chat_id", "user_id"]),
    m("getChatMemberCount", &["Integer"], &["chat_id"]),
    m("getChatMenuButton", &["MenuButton"], &[]),
    m("getCustomEmojiStickers", &["Array of Sticker"], &["custom_emoji_ids"]),
    m("getFile", &["File"], &["file_id"]),
    m("getForumTopicIconStickers", &["Array of Sticker"], &[]),
    m("getGameHighScores", &["Array of GameHighScore"], &["user_id"]),
    m("getManagedBotAccessSettings", &["BotAccessSettings"], &["user_id"]),
    m("getManagedBotToken", &["String"], &["user_id"]),
    m("getMe", &["User"], &[]),
    m("getMyCommands", &["Array of BotCommand"], &[]),
    m("getMyDefaultAdministratorRights", &["ChatAdministratorRights"], &[]),
    m("getMyDescription", &["BotDescription"], &[]),
    m("getMyName", &["BotName"], &[]),
    m("getMyShortDescription", &["BotShortDescription"], &[]),
    m("getMyStarBalance", &["StarAmount"], &[]),
    m("getStarTransactions", &["StarTransactions"], &[]),
    m("getStickerSet", &["StickerSet"], &["name"]),
    m("getUpdates", &["Array of Update"], &[]),
    m("getUserChatBoosts", &["UserChatBoosts"], &["chat_id", "user_id"]),
    m("getUserGifts", &["OwnedGifts"], &["user_id"]),
    m("getUserPersonalChatMessages", &["Array of Message"], &["user_id", "limit"]),
    m("getUserProfileAudios", &["UserProfileAudios"], &["user_id"]),
    m("getUserProfilePhotos", &["UserProfilePhotos"], &["user_id"]),
    m("getWebhookInfo", &["WebhookInfo"], &[]),
    m("giftPremiumSubscription", &["Boolean"], &["user_id", "month_count", "star_count"]),
    m("hideGeneralForumTopic", &["Boolean"], &["chat_id"]),
    m("leaveChat", &["Boolean"], &["chat_id"]),
    m("logOut", &["Boolean"], &[]),
    m("pinChatMessage", &["Boolean"], &["chat_id", "message_id"]),
    m("postStory", &["Story"], &["business_connection_id", "content", "active_period"]),
    m("promoteChatMember", &["Boolean"], &["chat_id", "user_id"]),
    m("readBusinessMessage", &["Boolean"], &["business_connection_id", "chat_id", "message_id"]),
    m("refundStarPayment", &["Boolean"], &["user_id", "telegram_payment_charge_id"]),
    m("removeBusinessAccountProfilePhoto", &["Boolean"], &["business_connection_id"]),
    m("removeChatVerification", &["Boolean"], &["chat_id"]),
    m("removeMyProfilePhoto", &["Boolean"], &[]),
    m("removeUserVerification", &["Boolean"], &["user_id"]),
    m("reopenForumTopic", &["Boolean"], &["chat_id", "message_thread_id"]),
    m("reopenGeneralForumTopic", &["Boolean"], &["chat_id"]),
    m("replaceManagedBotToken", &["String"], &["user_id"]),
    m("replaceStickerInSet", &["Boolean"], &["user_id", "name", "old_sticker", "sticker"]),
    m("repostStory", &["Story"], &["business_connection_id", "from_chat_id", "from_story_id", "active_period"]),
    m("restrictChatMember", &["Boolean"], &["chat_id", "user_id", "permissions"]),
    m("revokeChatInviteLink", &["ChatInviteLink"], &["chat_id", "invite_link"]),
    m("savePreparedInlineMessage", &["PreparedInlineMessage"], &["user_id", "result"]),
    m("savePreparedKeyboardButton", &["PreparedKeyboardButton"], &["user_id", "button"]),
    m("sendAnimation", &["Message"], &["chat_id", "animation"]),
    m("sendAudio", &["Message"], &["chat_id", "audio"]),
    m("sendChatAction", &["Boolean"], &["chat_id", "action"]),
    m("sendChatJoinRequestWebApp", &["Boolean"], &["chat_join_request_query_id", "web_app_url"]),
    m("sendChecklist", &["Message"], &["business_connection_id", "chat_id", "checklist"]),
    m("sendContact", &["Message"], &["chat_id", "phone_number", "first_name"]),
    m("sendDice", &["Message"], &["chat_id"]),
    m("sendDocument", &["Message"], &["chat_id", "document"]),
    m("sendGame", &["Message"], &["chat_id", "game_short_name"]),
    m("sendGift", &["Boolean"], &["gift_id"]),
    m("sendInvoice", &["Message"], &["chat_id", "title", "description", "payload", "currency", "prices"]),
    m("sendLivePhoto", &["Message"], &["chat_id", "live_photo", "photo"]),
    m("sendLocation", &["Message"], &["chat_id", "latitude", "longitude"]),
    m("sendMediaGroup", &["Array of Message"], &["chat_id", "media"]),
    m("sendMessage", &["Message"], &["chat_id", "text"]),
    m("sendMessageDraft", &["Boolean"], &["chat_id", "draft_id"]),
    m("sendPaidMedia", &["Message"], &["chat_id", "star_count", "media"]),
    m("sendPhoto", &["Message"], &["chat_id", "photo"]),
    m("sendPoll", &["Message"], &["chat_id", "question", "options"]),
    m("sendRichMessage", &["Message"], &["chat_id", "rich_message"]),
    m("sendRichMessageDraft", &["Boolean"], &["chat_id", "draft_id", "rich_message"]),
    m("sendSticker", &["Message"], &["chat_id", "sticker"]),
    m("sendVenue", &["Message"], &["chat_id", "latitude", "longitude", "title", "address"]),
    m("sendVideo", &["Message"], &["chat_id", "video"]),
    m("sendVideoNote", &["Message"], &["chat_id", "video_note"]),
    m("sendVoice", &["Message"], &["chat_id", "voice"]),
    m("setBusinessAccountBio", &["Boolean"], &["business_connection_id"]),
    m("setBusinessAccountGiftSettings", &["Boolean"], &["business_connection_id", "show_gift_button", "accepted_gift_types"]),
    m("setBusinessAccountName", &["Boolean"], &["business_connection_id", "first_name"]),
    m("setBusinessAccountProfilePhoto", &["Boolean"], &["business_connection_id", "photo"]),
    m("setBusinessAccountUsername", &["Boolean"], &["business_connection_id"]),
    m("setChatAdministratorCustomTitle", &["Boolean"], &["chat_id", "user_id", "custom_title"]),
    m("setChatDescription", &["Boolean"], &["chat_id"]),
    m("setChatMemberTag", &["Boolean"], &["chat_id", "user_id"]),
    m("setChatMenuButton", &["Boolean"], &[]),
    m("setChatPermissions", &["Boolean"], &["chat_id", "permissions"]),
    m("setChatPhoto", &["Boolean"], &["chat_id", "photo"]),
    m("setChatStickerSet", &["Boolean"], &["chat_id", "sticker_set_name"]),
    m("setChatTitle", &["Boolean"], &["chat_id", "title"]),
    m("setCustomEmojiStickerSetThumbnail", &["Boolean"], &["name"]),
    m("setGameScore", &["Message", "Boolean"], &["user_id", "score"]),
    m("setManagedBotAccessSettings", &["Boolean"], &["user_id", "is_access_restricted"]),
    m("setMessageReaction", &["Boolean"], &["chat_id", "message_id"]),
    m("setMyCommands", &["Boolean"], &["commands"]),
    m("setMyDefaultAdministratorRights", &["Boolean"], &[]),
    m("setMyDescription", &["Boolean"], &[]),
    m("setMyName", &["Boolean"], &[]),
    m("setMyProfilePhoto", &["Boolean"], &["photo"]),
    m("setMyShortDescription", &["Boolean"], &[]),
    m("setPassportDataErrors", &["Boolean"], &["user_id", "errors"]),
    m("setStickerEmojiList", &["Boolean"], &["sticker", "emoji_list"]),
    m("setStickerKeywords", &["Boolean"], &["sticker"]),
    m("setStickerMaskPosition", &["Boolean"], &["sticker"]),
    m("setStickerPositionInSet", &["Boolean"], &["sticker", "position"]),
    m("setStickerSetThumbnail", &["Boolean"], &["name", "user_id", "format"]),
    m("setStickerSetTitle", &["Boolean"], &["name", "title"]),
    m("setUserEmojiStatus", &["Boolean"], &["user_id"]),
    m("setWebhook", &["Boolean"], &["url"]),
    m("stopMessageLiveLocation", &["Message", "Boolean"], &[]),
    m("stopPoll", &["Poll"], &["chat_id", "message_id"]),
    m("transferBusinessAccountStars", &["Boolean"], &["business_connection_id", "star_count"]),
    m("transferGift", &["Boolean"], &["business_connection_id", "owned_gift_id", "new_owner_chat_id"]),
    m("unbanChatMember", &["Boolean"], &["chat_id", "user_id"]),
    m("unbanChatSenderChat", &["Boolean"], &["chat_id", "sender_chat_id"]),
    m("unhideGeneralForumTopic", &["Boolean"], &["chat_id"]),
    m("unpinAllChatMessages", &["Boolean"], &["chat_id"]),
    m("unpinAllForumTopicMessages", &["Boolean"], &["chat_id", "message_thread_id"]),
    m("unpinAllGeneralForumTopicMessages", &["Boolean"], &["chat_id"]),
    m("unpinChatMessage", &["Boolean"], &["chat_id"]),
    m("upgradeGift", &["Boolean"], &["business_connection_id", "owned_gift_id"]),
    m("uploadStickerFile", &["File"], &["user_id", "sticker", "sticker_format"]),
    m("verifyChat", &["Boolean"], &["chat_id"]),
    m("verifyUser", &["Boolean"], &["user_id"]),
];

/// The method called `name`, looked up case-insensitively.
pub(crate) fn lookup(name: &str) -> Option<&'static SpecMethod> {
    BOT_API.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_the_spec_file() {
        let spec = crate::spec::global().expect("the spec file");
        assert_eq!(spec.version(), VERSION);
        let names: Vec<&str> = spec.method_names().collect();
        let ours: Vec<&str> = BOT_API.iter().map(|m| m.name).collect();
        assert_eq!(ours, names, "regenerate BOT_API from the spec file");
        for m in BOT_API {
            let returns: Vec<&str> = spec
                .method_returns(m.name)
                .unwrap_or_default()
                .iter()
                .map(String::as_str)
                .collect();
            assert_eq!(m.returns, returns.as_slice(), "{} returns", m.name);
            let required: Vec<&str> = spec
                .method_params(m.name)
                .unwrap_or_default()
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name.as_str())
                .collect();
            assert_eq!(m.required, required.as_slice(), "{} requires", m.name);
        }
    }
}
