//! docs/configuration.md lists every parameter `ConfigBuilder::set` understands, and its Rust
//! example compiles and runs (the same text, checked here).

#[test]
fn every_parameter_is_documented() {
    let doc = include_str!("../../../docs/configuration.md");
    for name in hotline_core::config::PARAMETERS {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "{name} is missing from docs/configuration.md"
        );
    }
}

#[test]
fn the_documented_example_works() {
    use hotline_core::{ChatId, Config};
    let config = Config::builder(ChatId(-1001234567890))
        .set("PRIVATE_KEYWORDS", r#""operator","/help",["need","human"]"#)
        .and_then(|b| b.set("WELCOME", "Hi {title}! An operator will answer you here."))
        .and_then(|b| b.set("AUTOCLOSE", "24"))
        .and_then(|b| b.build())
        .expect("the example in docs/configuration.md");
    assert!(
        config
            .private_keywords
            .expect("keywords")
            .matches("I NEED a human")
    );
}
