//! The `hotline-desk` binary's failures: one line naming the variable at fault, never the bot
//! token, exit code 1.

use std::process::Command;

const SECRET: &str = "SECRET_never_printed";

/// Runs the desk with exactly `vars` (and a token) and returns its exit code and stderr.
fn desk(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hotline-desk"))
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", format!("123:{SECRET}"))
        .envs(vars.iter().copied())
        .output()
        .expect("run hotline-desk");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stderr.contains(SECRET) && !stdout.contains(SECRET),
        "the token leaked: {stderr}{stdout}"
    );
    (output.status.code(), stderr)
}

#[test]
fn configuration_errors_name_the_variable() {
    let group = ("HOTLINE_BACKEND_GROUP", "-1001000000001");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[], "HOTLINE_BACKEND_GROUP: not set"),
        (
            &[group, ("HOTLINE_MODE", "carrier-pigeon")],
            "HOTLINE_MODE:",
        ),
        (
            &[group, ("HOTLINE_MODE", "webhook")],
            "HOTLINE_WEBHOOK_URL: not set",
        ),
        (
            &[
                group,
                ("HOTLINE_MODE", "webhook"),
                ("HOTLINE_WEBHOOK_URL", "https://desk.example.com/"),
                ("HOTLINE_WEBHOOK_LISTEN", "everywhere"),
            ],
            "HOTLINE_WEBHOOK_LISTEN:",
        ),
        (
            &[group, ("HOTLINE_DATABASE", "mysql://root@db/desk")],
            "HOTLINE_DATABASE:",
        ),
    ];
    for (vars, expected) in cases {
        let (code, stderr) = desk(vars);
        assert_eq!(code, Some(1), "{vars:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("hotline-desk: {expected}")),
            "{vars:?}: {stderr}"
        );
    }
}

#[test]
fn an_unreachable_telegram_stops_it_without_showing_the_token() {
    let (code, stderr) = desk(&[
        ("HOTLINE_BACKEND_GROUP", "-1001000000001"),
        // Nothing listens on port 1: refused at once.
        ("TELEGRAM_API_URL", "http://127.0.0.1:1"),
        ("HOTLINE_DATABASE", "sqlite::memory:"),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Bot API"), "{stderr}");
}
