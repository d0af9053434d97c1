//! The spec file is there, and the validator catches what it should.

mod common;

use common::spec;
use serde_json::json;

#[test]
fn every_implemented_method_is_in_the_spec() {
    assert_eq!(spec().version(), "Bot API 10.1");
    for m in hotline_testkit::METHODS {
        assert_eq!(
            spec().method_name(m),
            Some(*m),
            "{m} is not a Bot API 10.1 method"
        );
    }
}

#[test]
fn validator_catches_missing_fields_wrong_types_and_unknown_fields() {
    let s = spec();
    let user = json!({"id": 1, "is_bot": false, "first_name": "A"});
    s.check_type("User", &user).expect("valid user");
    assert!(
        s.check_type("User", &json!({"id": 1, "is_bot": false}))
            .is_err()
    );
    assert!(
        s.check_type(
            "User",
            &json!({"id": "1", "is_bot": false, "first_name": "A"})
        )
        .is_err()
    );
    assert!(
        s.check_type(
            "User",
            &json!({"id": 1, "is_bot": false, "first_name": "A", "nick": "x"})
        )
        .is_err()
    );
    // Nested and arrays, and union types.
    let msg = json!({"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                     "entities": [{"type": "bold", "offset": 0, "length": "1"}]});
    let err = s
        .check_type("Message", &msg)
        .expect_err("bad entity")
        .to_string();
    assert!(err.contains("entities[0].length"), "{err}");
    s.check_result("getChatMember", &json!({"status": "member", "user": user}))
        .expect("a ChatMemberMember");
    s.check_result("editMessageText", &json!(true))
        .expect("Message or True");
    assert!(s.check_result("sendMessage", &json!(true)).is_err());
    // Parameters.
    let mut p = serde_json::Map::new();
    p.insert("chat_id".into(), json!(1));
    assert!(
        s.check_params("sendMessage", &p).is_err(),
        "text is required"
    );
    p.insert("text".into(), json!("x"));
    s.check_params("sendMessage", &p).expect("valid params");
    p.insert("txet".into(), json!("x"));
    assert!(s.check_params("sendMessage", &p).is_err());
}
