//! Real, unmodified third-party clients (python-telegram-bot, aiogram) run against the fake
//! server: the scripts in `tests/python/` at the workspace root.
//!
//! The interpreter is `$HOTLINE_PYTHON`, else `<workspace>/.venv/bin/python`. If it lacks the
//! packages, this test creates the venv itself (`python3 -m venv .venv` and
//! `pip install -r tests/python/requirements.txt`, under a lock file so parallel tests do not
//! race); if even that fails, the test fails and says how to install. It never skips.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use hotline_testkit::{FakeTelegram, NewGroup, NewUser};

const USER: i64 = 3001;
const FORUM: i64 = -1_003_000_000_001;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn has_packages(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import telegram, aiogram"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Creates `<workspace>/.venv` with the pinned packages, once, under a lock file.
fn create_venv(ws: &Path) -> Result<(), String> {
    let lock = ws.join(".venv.lock");
    let venv_python = ws.join(".venv/bin/python");
    let started = Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(_) => {
                if has_packages(&venv_python) {
                    return Ok(()); // someone else finished it
                }
                // A lock older than 15 minutes is stale.
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(900));
                if stale {
                    let _ = std::fs::remove_file(&lock);
                }
                if started.elapsed() > Duration::from_secs(900) {
                    return Err(format!("timed out waiting for {}", lock.display()));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    let result = (|| {
        if has_packages(&venv_python) {
            return Ok(());
        }
        let run = |cmd: &mut Command| -> Result<(), String> {
            let out = cmd
                .current_dir(ws)
                .output()
                .map_err(|e| format!("{cmd:?}: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{cmd:?} failed:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        };
        if !venv_python.exists() {
            run(Command::new("python3").args(["-m", "venv", ".venv"]))?;
        }
        run(Command::new(&venv_python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            "tests/python/requirements.txt",
        ]))
    })();
    let _ = std::fs::remove_file(&lock);
    result
}

/// The interpreter to use, with python-telegram-bot and aiogram importable.
fn python() -> PathBuf {
    let ws = workspace();
    let venv_python = ws.join(".venv/bin/python");
    if let Some(p) = std::env::var_os("HOTLINE_PYTHON").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if has_packages(&p) {
            return p;
        }
        eprintln!(
            "HOTLINE_PYTHON={} cannot import telegram and aiogram; trying {}",
            p.display(),
            venv_python.display()
        );
    }
    if has_packages(&venv_python) {
        return venv_python;
    }
    if let Err(e) = create_venv(&ws) {
        panic!(
            "python-telegram-bot and aiogram are needed to run the third-party client tests, and \
             creating the venv failed: {e}\nInstall them with:\n  cd {} && python3 -m venv .venv && \
             .venv/bin/pip install -r tests/python/requirements.txt\nor set HOTLINE_PYTHON to an \
             interpreter that has them.",
            ws.display()
        );
    }
    assert!(
        has_packages(&venv_python),
        "{} still cannot import telegram and aiogram after pip install",
        venv_python.display()
    );
    venv_python
}

async fn run_script(script: &str) -> FakeTelegram {
    let python = tokio::task::spawn_blocking(python)
        .await
        .expect("python lookup");
    let tg = FakeTelegram::start(TOKEN).await.expect("start");
    tg.add_user(NewUser::new(USER, "Ann").username("ann_py"));
    tg.add_group(NewGroup::forum(FORUM, "Support"));
    let dir = workspace().join("tests/python");
    let child = tokio::process::Command::new(&python)
        .arg(dir.join(script))
        .current_dir(&dir)
        .env("HOTLINE_API_URL", tg.api_url())
        .env("HOTLINE_TOKEN", tg.token())
        .env("HOTLINE_USER", USER.to_string())
        .env("HOTLINE_GROUP", FORUM.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), child)
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within 180 s"))
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{:?}",
        out.status,
        tg.stats()
    );
    assert!(
        stdout.contains("OK "),
        "{script} printed no OK line:\n{stdout}"
    );
    tg
}

fn check_server_side(tg: &FakeTelegram) {
    let s = tg.stats();
    assert!(s.spec_violations.is_empty(), "{:#?}", s.spec_violations);
    for m in [
        "getMe",
        "getUpdates",
        "sendMessage",
        "createForumTopic",
        "copyMessage",
        "setWebhook",
        "deleteWebhook",
    ] {
        assert!(s.calls_of(m) > 0, "{m} was not called: {:?}", s.calls);
    }
    let topic = &tg.topics(FORUM)[0];
    let in_topic = tg.thread_messages(FORUM, topic.message_thread_id);
    assert!(
        in_topic.iter().any(|m| m["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("hello from"))),
        "the copy is in the topic: {in_topic:#?}"
    );
    for m in tg.messages(USER).iter().chain(in_topic.iter()) {
        check_type("Message", m);
    }
    // Two user messages (long poll and webhook), each delivered once.
    assert!(s.updates_delivered >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_telegram_bot_works_unmodified() {
    let tg = run_script("ptb_client.py").await;
    check_server_side(&tg);
    tg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiogram_works_unmodified() {
    let tg = run_script("aiogram_client.py").await;
    check_server_side(&tg);
    tg.shutdown().await;
}

/// python-telegram-bot, unmodified, in the loop its docs suggest for flood control: catch
/// `RetryAfter`, sleep `retry_after` seconds, send the same message again.
const PTB_RETRY_AFTER: &str = r#"
import asyncio, os, time
from telegram import Bot
from telegram.error import RetryAfter

API_URL = os.environ["HOTLINE_API_URL"]
GROUP = int(os.environ["HOTLINE_GROUP"])

async def main():
    bot = Bot(os.environ["HOTLINE_TOKEN"], base_url=f"{API_URL}/bot")
    async with bot:
        started, waits = time.monotonic(), []
        for i in range(3):
            while True:
                try:
                    await bot.send_message(GROUP, f"m{i}")
                    break
                except RetryAfter as e:
                    wait = e.retry_after
                    wait = wait.total_seconds() if hasattr(wait, "total_seconds") else wait
                    waits.append(wait)
                    await asyncio.sleep(wait)
        elapsed = time.monotonic() - started
        assert waits, "the third message met the limit"
        assert elapsed < 10, f"waited {waits}: {elapsed:.2f} s"
        print(f"OK waited {waits} in {elapsed:.2f} s")

asyncio.run(main())
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_telegram_bot_waits_out_a_scaled_429_by_its_retry_after() {
    let python = tokio::task::spawn_blocking(python)
        .await
        .expect("python lookup");
    let tg = FakeTelegram::start(TOKEN).await.expect("start");
    tg.add_group(NewGroup::forum(FORUM, "Support"));
    // 20 per minute on a clock 60 times faster: one wall-clock second per window.
    tg.set_limits(hotline_testkit::FloodLimits {
        per_group_per_minute: Some(2),
        time_scale: Some(60.0),
        ..Default::default()
    });
    let started = Instant::now();
    let child = tokio::process::Command::new(&python)
        .args(["-c", PTB_RETRY_AFTER])
        .env("HOTLINE_API_URL", tg.api_url())
        .env("HOTLINE_TOKEN", tg.token())
        .env("HOTLINE_GROUP", FORUM.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .kill_on_drop(true)
        .output();
    // Generous for a loaded machine (the interpreter starts too); sixty Telegram seconds of
    // retry_after would not fit.
    let out = tokio::time::timeout(Duration::from_secs(40), child)
        .await
        .expect("python-telegram-bot waited far longer than the scaled window")
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("OK "),
        "{}\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(40));
    assert!(tg.stats().too_many_requests >= 1);
    let texts: Vec<_> = tg
        .messages(FORUM)
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2"]);
    tg.shutdown().await;
}
