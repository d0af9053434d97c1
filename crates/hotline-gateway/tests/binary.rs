//! The `hotline-gateway` binary: configured from the environment, it prints where bots point,
//! serves them, and stops on SIGTERM; a configuration error is one line naming the variable.

mod common;

use common::{GROUP, TOKEN, fake};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

fn gateway(api_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hotline-gateway"));
    command
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("HOTLINE_BACKEND_GROUP", GROUP.to_string())
        .env("TELEGRAM_API_URL", api_url)
        .env("HOTLINE_DATABASE", "memory:")
        .env("HOTLINE_GATEWAY_LISTEN", "127.0.0.1:0")
        .env("HOTLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_its_address_serves_and_stops_on_sigterm() {
    let tg = fake().await;
    let mut child = gateway(&tg.api_url()).spawn().expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::task::spawn_blocking(move || {
        let line = lines.next().and_then(Result::ok);
        (line, lines)
    });
    let (line, mut lines) = tokio::time::timeout(Duration::from_secs(20), line)
        .await
        .expect("a start-up line")
        .unwrap();
    let line = line.expect("a start-up line");
    let url = line
        .strip_prefix("hotline-gateway: bots point at ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    assert!(!line.contains("secret-token"), "{line}");
    let me: Value = reqwest::get(format!("{url}/bot{TOKEN}/getMe"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["result"]["id"], 777_001);
    // SIGTERM, to the child this test started, by its id.
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        lines.next().and_then(Result::ok).as_deref(),
        Some("hotline-gateway: stopped")
    );
}

#[test]
fn a_configuration_error_is_one_line_naming_the_variable() {
    for (name, value) in [
        ("HOTLINE_GATEWAY_LISTEN", "not an address"),
        ("TELEGRAM_BOT_TOKEN", "nonsense"),
        ("HOTLINE_LOG", "loud"),
        ("HOTLINE_PREFLIGHT", "maybe"),
        // Nothing listens there: the preflight names the API URL.
        ("TELEGRAM_API_URL", "http://127.0.0.1:9"),
    ] {
        let output = gateway("http://127.0.0.1:9")
            .env(name, value)
            .output()
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(1), "{name}");
        let mut stderr = String::new();
        output
            .stderr
            .as_slice()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("hotline-gateway: {name}")),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("secret-token"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_group_that_is_not_a_forum_stops_it_at_start() {
    let tg = hotline_testkit::FakeTelegram::start(TOKEN).await.unwrap();
    tg.add_group(hotline_testkit::NewGroup::plain(GROUP, "Not a forum"));
    let api = tg.api_url();
    let output = tokio::task::spawn_blocking(move || gateway(&api).output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("hotline-gateway: HOTLINE_BACKEND_GROUP: "),
        "{stderr}"
    );
    assert!(stderr.contains("forum"), "{stderr}");
}

#[test]
fn help_and_version() {
    let help = gateway("http://127.0.0.1:9")
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("HOTLINE_GATEWAY_LISTEN"), "{help}");
    let version = gateway("http://127.0.0.1:9")
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("hotline-gateway {}", env!("CARGO_PKG_VERSION"))
    );
}
