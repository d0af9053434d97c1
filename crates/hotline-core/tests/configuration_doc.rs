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
fn every_unsupported_hotline_parameter_is_documented_as_such_and_refused() {
    use hotline_core::{ChatId, Config};
    let doc = include_str!("../../../docs/configuration.md");
    for (name, _) in hotline_core::config::UNSUPPORTED {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("{name} is missing from docs/configuration.md"));
        assert!(row.contains("not supported yet"), "{name}: {row}");
        let error = Config::builder(ChatId(-1001234567890))
            .set(name, "true")
            .expect_err(name)
            .to_string();
        assert!(error.contains("not supported yet"), "{error}");
    }
    for name in [
        "MONITOR_PRIVATE",
        "MONITOR_GROUPS",
        "MONITOR_CHANNELS",
        "GROUPS_KEYWORDS",
        "CHANNELS_KEYWORDS",
        "EXTENSIONS_ALLOWED",
    ] {
        assert!(
            hotline_core::config::UNSUPPORTED
                .iter()
                .any(|(n, _)| *n == name)
                || hotline_core::config::PARAMETERS.contains(&name),
            "{name} is a Hotline parameter: support it or list it as unsupported"
        );
    }
}

#[test]
fn every_older_name_is_documented() {
    let doc = include_str!("../../../docs/configuration.md");
    for (old, current) in hotline_core::config::ALIASES {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{current}` |")))
            .unwrap_or_else(|| panic!("{current} is missing"));
        assert!(
            row.contains(&format!("`{old}`")),
            "{old} is not named in {current}'s row"
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
