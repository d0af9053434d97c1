//! The `hotline-desk` binary as the process tests start it: on the fake Telegram and a SQLite
//! file, the welcome off.

#![allow(dead_code, unreachable_pub)]

use hotline_testkit::FakeTelegram;
use std::path::Path;
use std::process::Stdio;
use tokio::process::Command;

/// `hotline-desk` as the bot `token` with the backend `group`, on `tg` and the SQLite file `db`,
/// paced by `limits` (`HOTLINE_LIMITS`); nothing else from the test's environment. Its stdin
/// and stdout are closed, its stderr inherited (see [`log_to`]), and it is killed when dropped.
/// The caller adds what its test needs (a mode, a log) and spawns it.
pub fn sqlite_desk(tg: &FakeTelegram, token: &str, group: i64, db: &Path, limits: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hotline-desk"));
    command
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", token)
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("HOTLINE_BACKEND_GROUP", group.to_string())
        .env("HOTLINE_LIMITS", limits)
        .env("WELCOME", "OFF")
        .env("HOTLINE_DATABASE", format!("sqlite://{}", db.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

/// A stderr that appends to the file at `log` (kept across restarts of the desk).
pub fn log_to(log: &Path) -> Stdio {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("desk log");
    Stdio::from(file)
}
