//! Crash safety of the standalone desk: the `hotline-desk` binary killed with SIGKILL at random
//! points of a 2,000-message exchange and restarted on the same SQLite file each time, nothing
//! lost and nothing doubled but the send in flight at a kill (see `common/crash.rs`).
//!
//! `HOTLINE_CRASH_SEED=<seed> cargo test --test crash_safety -- --nocapture` replays a run.

#[path = "common/crash.rs"]
mod crash;

use crash::{GROUP, TOKEN, sigkill_exchange};
use hotline_testkit::FakeTelegram;
use std::path::Path;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Starts the desk binary on the fake server and the SQLite file `db`; its stderr goes to `log`.
fn spawn_desk(tg: &FakeTelegram, db: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("desk log");
    Command::new(env!("CARGO_BIN_EXE_hotline-desk"))
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
        .expect("start hotline-desk")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_2000_message_exchange_loses_nothing() {
    sigkill_exchange(spawn_desk, "crash_safety").await;
}
