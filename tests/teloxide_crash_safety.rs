//! Crash safety of the teloxide embedding: `examples/teloxide_durable_bot.rs` (the desk's own
//! durable poller, the bot's dispatcher reading the update log through
//! `hotline_teloxide::listener`) killed with SIGKILL at random points of a 2,000-message
//! exchange and restarted on the same SQLite file each time: nothing lost, nothing doubled but
//! the send in flight at a kill (see `common/crash.rs`), and SIGTERM stops it cleanly.
//!
//! `HOTLINE_CRASH_SEED=<seed> cargo test --test teloxide_crash_safety -- --nocapture` replays a
//! run.

mod common;
#[path = "common/crash.rs"]
mod crash;

use common::host_bots::example_binary;
use crash::{GROUP, TOKEN, sigkill_exchange};
use hotline_testkit::FakeTelegram;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Starts the bot on the fake server and the SQLite file `db`; its stderr goes to `log`.
fn spawn_bot(binary: &Path, tg: &FakeTelegram, db: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("bot log");
    Command::new(binary)
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("HOTLINE_BACKEND_GROUP", GROUP.to_string())
        .env("HOTLINE_LIMITS", "off")
        .env("WELCOME", "OFF")
        .env("HOTLINE_DATABASE", format!("sqlite://{}", db.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start teloxide_durable_bot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_teloxide_bot_during_a_2000_message_exchange_loses_nothing() {
    let binary: PathBuf = tokio::task::spawn_blocking(|| example_binary("teloxide_durable_bot"))
        .await
        .expect("the example built");
    sigkill_exchange(
        |tg: &FakeTelegram, db: &Path, log: &Path| spawn_bot(&binary, tg, db, log),
        "teloxide_crash_safety",
    )
    .await;
}
