//! Crash safety of the standalone desk: the `hotline-desk` binary killed with SIGKILL at random
//! points of a 2,000-message exchange and restarted on the same SQLite file each time, nothing
//! lost and nothing doubled but the send in flight at a kill (see `common/crash.rs`).
//!
//! `HOTLINE_CRASH_SEED=<seed> cargo test --test crash_safety -- --nocapture` replays a run.

#[path = "common/crash.rs"]
mod crash;
#[path = "common/desk_binary.rs"]
mod desk_binary;

use crash::{GROUP, TOKEN, sigkill_exchange};
use desk_binary::{log_to, sqlite_desk};
use hotline_testkit::FakeTelegram;
use std::path::Path;
use tokio::process::Child;

/// Starts the desk binary on the fake server and the SQLite file `db`; its stderr goes to `log`.
fn spawn_desk(tg: &FakeTelegram, db: &Path, log: &Path) -> Child {
    sqlite_desk(tg, TOKEN, GROUP, db, "off")
        .stderr(log_to(log))
        .spawn()
        .expect("start hotline-desk")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_2000_message_exchange_loses_nothing() {
    sigkill_exchange(spawn_desk, "crash_safety").await;
}
