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
