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

// ---- start-up against the fake Telegram: each bad setting named, the group checked, --help.

const TOKEN: &str = "777002:DESK-secret-token-VALUE";
const TOKEN_SECRET: &str = "DESK-secret-token-VALUE";
const GROUP: i64 = -1_001_000_000_778;

/// A fake Telegram whose group `GROUP` is `group` (a forum with the bot as admin, or not).
async fn fake(group: hotline_testkit::NewGroup) -> hotline_testkit::FakeTelegram {
    let tg = hotline_testkit::FakeTelegram::start(TOKEN)
        .await
        .expect("fake telegram");
    tg.add_group(group);
    tg
}

/// The desk's command with the fake's URL, the group and an in-memory database, then `vars`.
fn desk_on(tg: &hotline_testkit::FakeTelegram, vars: &[(&str, &str)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotline-desk"));
    command
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("HOTLINE_BACKEND_GROUP", GROUP.to_string())
        .env("HOTLINE_LIMITS", "off")
        .env("HOTLINE_DATABASE", "sqlite::memory:")
        .envs(vars.iter().copied())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs `command` to its end (it must stop by itself) and returns its exit code, stdout, stderr.
async fn finish(mut command: tokio::process::Command) -> (Option<i32>, String, String) {
    let output = tokio::time::timeout(std::time::Duration::from_secs(30), command.output())
        .await
        .expect("hotline-desk stops by itself")
        .expect("run hotline-desk");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    for secret in [SECRET, TOKEN_SECRET] {
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "the token leaked: {stderr}{stdout}"
        );
    }
    (output.status.code(), stdout, stderr)
}

/// Starts `command`, waits for its start-up line, stops it; returns the line and the stderr.
async fn start_up_line(mut command: tokio::process::Command) -> (String, String) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start hotline-desk");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stdout.read_line(&mut line),
    )
    .await
    .expect("a start-up line")
    .expect("read stdout");
    child.start_kill().expect("stop hotline-desk");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .await
        .expect("read stderr");
    let _ = child.wait().await;
    for secret in [SECRET, TOKEN_SECRET] {
        assert!(
            !stderr.contains(secret) && !line.contains(secret),
            "the token leaked: {stderr}{line}"
        );
    }
    (line, stderr)
}

#[tokio::test]
async fn start_up_errors_name_the_setting() {
    let tg = fake(hotline_testkit::NewGroup::forum(GROUP, "Support")).await;
    let wrong_token = format!("777002:{SECRET}");
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case<'_>; 4] = [
        (
            &[("TELEGRAM_BOT_TOKEN", wrong_token.as_str())],
            &["hotline-desk: TELEGRAM_BOT_TOKEN:", "@BotFather"],
        ),
        (
            // Nothing listens on port 1: refused at once.
            &[("TELEGRAM_API_URL", "http://127.0.0.1:1")],
            &["hotline-desk: TELEGRAM_API_URL:", "127.0.0.1:1"],
        ),
        (
            &[("HOTLINE_BACKEND_GROUP", "-1001999999999")],
            &["hotline-desk: HOTLINE_BACKEND_GROUP:", "-1001999999999"],
        ),
        (
            &[("HOTLINE_BACKEND_GROUP", "12345")],
            &["hotline-desk: HOTLINE_BACKEND_GROUP: 12345 is not a group id"],
        ),
    ];
    for (vars, expected) in cases {
        let (code, _, stderr) = finish(desk_on(&tg, vars)).await;
        assert_eq!(code, Some(1), "{vars:?}: {stderr}");
        for part in expected {
            assert!(stderr.contains(part), "{vars:?}: {part:?} in {stderr}");
        }
        assert!(!stderr.contains("backend_group"), "a Rust field: {stderr}");
    }
}

#[tokio::test]
async fn a_group_that_cannot_work_stops_it_unless_told_to_warn() {
    use hotline_testkit::NewGroup;
    let cases = [
        (
            NewGroup::forum(GROUP, "Support").is_forum(false),
            "is not a forum: turn on Topics",
        ),
        (
            NewGroup::forum(GROUP, "Support").bot_is_admin(false),
            "make it an admin allowed to manage topics",
        ),
    ];
    for (group, fix) in cases {
        let tg = fake(group).await;
        let (code, stdout, stderr) = finish(desk_on(&tg, &[])).await;
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.starts_with("hotline-desk: HOTLINE_BACKEND_GROUP:") && stderr.contains(fix),
            "{stderr}"
        );
        assert!(stderr.contains("HOTLINE_PREFLIGHT=warn"), "{stderr}");
        assert!(
            !stdout.contains("long polling"),
            "it did not start: {stdout}"
        );

        let (line, stderr) = start_up_line(desk_on(&tg, &[("HOTLINE_PREFLIGHT", "warn")])).await;
        assert!(line.contains("long polling"), "it started: {line}");
        assert!(
            stderr.contains("warning:") && stderr.contains(fix),
            "warned: {stderr}"
        );
    }
    let tg = fake(NewGroup::forum(GROUP, "Support")).await;
    let (code, _, stderr) = finish(desk_on(&tg, &[("HOTLINE_PREFLIGHT", "maybe")])).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.starts_with("hotline-desk: HOTLINE_PREFLIGHT:"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_start_up_line_and_help_say_where_the_database_is() {
    let tg = fake(hotline_testkit::NewGroup::forum(GROUP, "Support")).await;
    let dir = tempfile::tempdir().expect("a working directory");
    let expected = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let mut command = desk_on(&tg, &[]);
    command
        .env_remove("HOTLINE_DATABASE")
        .current_dir(dir.path());
    let (line, stderr) = start_up_line(command).await;
    assert!(
        line.contains(&format!("state in {expected};")),
        "{line}{stderr}"
    );
    assert!(dir.path().join("hotline.db").exists(), "{line}");

    let mut command = desk_on(&tg, &[]);
    command
        .env_remove("HOTLINE_DATABASE")
        .current_dir(dir.path())
        .arg("--help");
    let (code, help, stderr) = finish(command).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(help.contains(&format!("state: {expected}\n")), "{help}");
    for part in [
        "TELEGRAM_BOT_TOKEN",
        "HOTLINE_BACKEND_GROUP",
        "TELEGRAM_API_URL",
        "HOTLINE_DATABASE",
        "HOTLINE_PREFLIGHT",
        "dead-letters list",
        "--version",
    ] {
        assert!(help.contains(part), "{part} in {help}");
    }

    for flag in ["--version", "-V"] {
        let mut command = desk_on(&tg, &[]);
        command.arg(flag);
        let (code, version, stderr) = finish(command).await;
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(
            version,
            format!("hotline-desk {}\n", env!("CARGO_PKG_VERSION"))
        );
    }

    // The dead-letters subcommand still parses beside the flags.
    let mut command = desk_on(&tg, &[]);
    command.args(["dead-letters", "list"]);
    let (code, listed, stderr) = finish(command).await;
    assert_eq!(
        (code, listed.as_str()),
        (Some(0), "no dead letters\n"),
        "{stderr}"
    );
    let mut command = desk_on(&tg, &[]);
    command.arg("--frobnicate");
    let (code, _, stderr) = finish(command).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--help"), "{stderr}");
}

// ---- the desk's failures reach stderr without a `tracing` subscriber, once per kind.

/// Set in the child process [`failures_reach_stderr_once_per_kind`] runs: `bare` (no
/// subscriber) or `subscribed` (a subscriber that drops everything).
const FALLBACK_CHILD: &str = "HOTLINE_TEST_FALLBACK_CHILD";

/// The child: a desk whose every topic creation is refused (the bot is no admin), three users
/// writing; returns when the desk has failed all three.
#[tokio::test]
async fn fallback_child() {
    let Ok(mode) = std::env::var(FALLBACK_CHILD) else {
        return;
    };
    if mode == "subscribed" {
        tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())
            .expect("a subscriber");
    }
    let tg = fake(hotline_testkit::NewGroup::forum(GROUP, "Support").bot_is_admin(false)).await;
    let config = hotline::Config::builder(hotline::ChatId(GROUP))
        .build()
        .expect("config");
    let failed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hotline = {
        let failed = failed.clone();
        hotline::Hotline::builder(TOKEN, config)
            .api_url(tg.api_url())
            .limits(hotline::telegram::Limits::off())
            .on_error(move |_| {
                failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
            .build()
            .expect("hotline")
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = tokio::spawn({
        let hotline = hotline.clone();
        async move {
            hotline
                .run_polling(async {
                    let _ = stopped.await;
                })
                .await
        }
    });
    for user in [501, 502, 503] {
        tg.add_user(hotline_testkit::NewUser::new(user, "Ann"));
        tg.send_message(hotline_testkit::NewMessage::text(user, user, "hello"))
            .expect("a user message");
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while failed.load(std::sync::atomic::Ordering::SeqCst) < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the desk failed 3 times"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    let _ = runner.await;
}

#[test]
fn failures_reach_stderr_once_per_kind() {
    let child = |mode: &str| {
        let output = Command::new(std::env::current_exe().expect("this test binary"))
            .args([
                "fallback_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(FALLBACK_CHILD, mode)
            .output()
            .expect("run the child");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{mode}: {stderr}");
        assert!(!stderr.contains(TOKEN_SECRET), "the token leaked: {stderr}");
        stderr
    };
    let stderr = child("bare");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("hotline: "))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one line for three failures of one kind: {stderr}"
    );
    assert!(
        lines[0].contains("not enough rights to create a topic")
            && lines[0].contains("transport: bad request")
            && lines[0].contains("install a `tracing` subscriber"),
        "{stderr}"
    );
    let stderr = child("subscribed");
    assert!(
        !stderr.contains("hotline: "),
        "a subscriber takes over: {stderr}"
    );
}

/// `hotline-desk dead-letters list | retry ID | drop ID` on the database a desk set updates
/// aside in: listed with their error, a retry relays the update into the user's topic once and
/// removes it, a drop forgets one, and an unknown id is refused by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_retried_and_dropped_from_the_command_line() {
    use hotline::core::{NewDeadLetter, Timestamp, UserId};
    let tg = fake(hotline_testkit::NewGroup::forum(GROUP, "Support")).await;
    tg.add_user(hotline_testkit::NewUser::new(1001, "Ann"));
    let stuck = tg
        .send_message(hotline_testkit::NewMessage::text(
            1001,
            1001,
            "stuck message",
        ))
        .expect("Ann writes");
    // Consumed by nobody: the desk below never polls; only the retry hands it over.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let store = hotline::store_sql::connect(&url)
        .await
        .expect("the database");
    let letter = |key: &str, payload: String| NewDeadLetter {
        key: key.to_owned(),
        user: Some(UserId(1001)),
        payload,
        error: "store: store backend failed: commit refused".to_owned(),
        attempts: 6,
        first_failed: Timestamp(1_700_000_000),
        last_failed: Timestamp(1_700_000_060),
    };
    let update = serde_json::json!({"update_id": 41, "message": stuck}).to_string();
    let first = store
        .set_aside(letter("telegram:41", update))
        .await
        .expect("kept")
        .id;
    let second = store
        .set_aside(letter("telegram:42", r#"{"update_id":42}"#.to_owned()))
        .await
        .expect("kept")
        .id;
    drop(store);
    let on_db = |args: &[&str]| {
        let mut command = desk_on(
            &tg,
            &[("HOTLINE_DATABASE", url.as_str()), ("WELCOME", "OFF")],
        );
        command.args(args);
        command
    };

    let (code, listed, _) = finish(on_db(&["dead-letters", "list"])).await;
    assert_eq!(code, Some(0));
    assert!(
        listed.contains(&format!("#{first} telegram:41 user 1001 attempts 6")),
        "{listed}"
    );
    assert!(listed.contains("commit refused"), "{listed}");
    assert!(
        listed.contains(&format!("#{second} telegram:42")),
        "{listed}"
    );

    let (code, out, err) = finish(on_db(&["dead-letters", "retry", &first.to_string()])).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let copies = |tg: &hotline_testkit::FakeTelegram| {
        tg.messages(GROUP)
            .iter()
            .filter(|m| m["text"] == "stuck message")
            .count()
    };
    assert_eq!(copies(&tg), 1, "relayed once into Ann's new topic");
    let (code, _, err) = finish(on_db(&["dead-letters", "retry", &first.to_string()])).await;
    assert_ne!(code, Some(0), "handled: it is gone");
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(copies(&tg), 1, "not relayed twice");

    let (code, out, _) = finish(on_db(&["dead-letters", "drop", &second.to_string()])).await;
    assert_eq!(code, Some(0));
    assert!(out.contains("dropped"), "{out}");
    let (_, listed, _) = finish(on_db(&["dead-letters", "list"])).await;
    assert!(listed.contains("no dead letters"), "{listed}");
    let (code, _, err) = finish(on_db(&["dead-letters", "retry", "x"])).await;
    assert_ne!(code, Some(0));
    assert!(err.contains("not a dead letter's id"), "{err}");
}
