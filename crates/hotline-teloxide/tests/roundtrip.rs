//! teloxide's types serialized back to the Bot API JSON the desk reads.

use hotline_transport_telegram::frankenstein::types::Message as FMessage;

#[test]
fn a_sent_message_reads_back_as_the_bot_apis() {
    let json = r#"{"message_id":7,"date":1700000000,"chat":{"id":5001,"type":"private","first_name":"Ulla"},"from":{"id":777001,"is_bot":true,"first_name":"Bot"},"text":"Host echo: hi"}"#;
    let message: teloxide::types::Message = serde_json::from_str(json).expect("teloxide");
    let back = serde_json::to_value(&message).expect("serialize");
    let read: Result<FMessage, _> = serde_json::from_value(back.clone());
    assert!(read.is_ok(), "{back}: {read:?}");
}

#[test]
fn a_reaction_keeps_its_user_as_the_bot_api_sends_it() {
    let json = r#"{"update_id":5,"message_reaction":{"chat":{"id":-1001000000777,"type":"supergroup","title":"Support","is_forum":true},"message_id":7,"user":{"id":2001,"is_bot":false,"first_name":"Olga"},"date":1700000000,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"👍"}]}}"#;
    let update: teloxide::types::Update = serde_json::from_str(json).expect("teloxide");
    assert!(
        matches!(update.kind, teloxide::types::UpdateKind::MessageReaction(_)),
        "{:?}",
        update.kind
    );
    let back: serde_json::Value =
        serde_json::from_slice(&hotline_teloxide::update_json(&update).expect("json"))
            .expect("value");
    let original: serde_json::Value = serde_json::from_str(json).expect("value");
    assert_eq!(back, original);
}
