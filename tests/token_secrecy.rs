//! The bot token is a password: provoke every kind of failure and search all output for it.

mod common;

use common::{GROUP, TOKEN, fake};
use hotline::telegram::{Hotline, Limits, Settings};
use hotline_testkit::{Fault, NewMessage, NewUser};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Collects everything `tracing` writes, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRET: &str = "E2E-secret-token-VALUE";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_appears_in_no_log_error_or_debug_output() {
    assert!(TOKEN.ends_with(SECRET));
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut shown: Vec<String> = Vec::new();

    // Nothing listens there: connection errors.
    let unreachable = Hotline::builder(TOKEN, common::config(&[]))
        .api_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    shown.push(format!("{unreachable:?}"));
    shown.push(format!("{:?}", unreachable.bot()));
    shown.push(format!("{:?}", unreachable.client()));
    let error = unreachable.preflight().await.unwrap_err();
    shown.push(format!("{error} / {error:?}"));
    // The runner keeps retrying an unreachable Telegram (logging each failure) instead of dying.
    let polling = tokio::time::timeout(
        Duration::from_secs(2),
        unreachable.run_polling(std::future::pending()),
    )
    .await;
    assert!(polling.is_err(), "still retrying after 2 s");

    // A server that refuses the token (401), and one that fails every call.
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    let wrong = Hotline::builder("777001:wrong-token", common::config(&[]))
        .api_url(tg.api_url())
        .build()
        .unwrap();
    let error = wrong.preflight().await.unwrap_err();
    shown.push(format!("{error} / {error:?}"));

    let desk = common::start_on(tg.clone(), &[], Limits::off()).await;
    tg.inject_fault(Fault {
        method: Some("createForumTopic".into()),
        ..Fault::error(400, "Bad Request: not enough rights to create a topic")
    });
    tg.inject_fault(Fault {
        method: Some("copyMessage".into()),
        count: Some(3),
        ..Fault::error(502, "Bad Gateway")
    });
    tg.send_message(NewMessage::text(1001, 1001, "hello"))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tg.clear_faults();
    tg.inject_fault(Fault::drop_connection());
    tg.send_message(NewMessage::text(1001, 1001, "again"))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tg.clear_faults();
    shown.push(format!("{:?}", desk.hotline));
    desk.stop().await;

    // Bad settings.
    let error = Settings::from_vars(|name| match name {
        "TELEGRAM_BOT_TOKEN" => Some(format!("{TOKEN} with junk")),
        "HOTLINE_BACKEND_GROUP" => Some(GROUP.to_string()),
        _ => None,
    })
    .unwrap_err();
    shown.push(format!("{error} / {error:?}"));
    let settings = Settings::from_vars(|name| match name {
        "TELEGRAM_BOT_TOKEN" => Some(TOKEN.to_owned()),
        "HOTLINE_BACKEND_GROUP" => Some(GROUP.to_string()),
        _ => None,
    })
    .unwrap();
    shown.push(format!("{settings:?}"));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("hotline"),
        "the failures were logged:\n{logs}"
    );
    assert!(!logs.contains(SECRET), "the token is in the logs:\n{logs}");
    for text in &shown {
        assert!(!text.contains(SECRET), "the token is in: {text}");
    }
}
