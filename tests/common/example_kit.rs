//! What the example tests share: the fake Telegram the examples run against, the environment
//! they read, an example running in a task, readers of what users and operators see; and the
//! diff between an example without its `// hotline` lines and with them, as
//! `docs/embedding.md` shows it.

#![allow(dead_code, unreachable_pub)]

use hotline_testkit::{FakeTelegram, NewGroup, NewUser, Topic};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "123:ABC";
pub const GROUP: i64 = -1001000000001;
pub const OPERATOR: i64 = 500;
pub const ANN: i64 = 1001;
pub const BOB: i64 = 1002;
pub const WAIT: Duration = Duration::from_secs(10);

/// The fake Telegram with an operators' forum group (the bot an admin, one operator in it) and
/// two users, Ann Lee and Bob.
pub async fn telegram() -> FakeTelegram {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake Telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    tg.add_user(NewUser::new(ANN, "Ann").last_name("Lee").username("ann"));
    tg.add_user(NewUser::new(BOB, "Bob"));
    tg
}

/// The environment the examples read, pointing at the fake server, with pacing off.
pub fn env(tg: &FakeTelegram) -> HashMap<String, String> {
    [
        ("TELEGRAM_BOT_TOKEN", tg.token().to_owned()),
        ("TELEGRAM_API_URL", tg.api_url()),
        ("HOTLINE_BACKEND_GROUP", GROUP.to_string()),
        ("HOTLINE_LIMITS", "off".to_owned()),
        ("HOTLINE_DATABASE", "sqlite::memory:".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// An example running in a task until [`Running::stop`].
pub struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), String>>,
}

impl Running {
    pub fn start<F, E>(
        run: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
    ) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = Box::pin(async move {
            let _ = stopped.await;
        });
        let running = run(shutdown);
        let task = tokio::spawn(async move { running.await.map_err(|e| e.to_string()) });
        Running { stop, task }
    }

    /// Asks the example to stop and checks it returns `Ok` within a few seconds.
    pub async fn stop(self) {
        self.stop_within(Duration::from_secs(5)).await;
    }

    /// Asks the example to stop and checks it returns `Ok` within `bound` (a liveness bound:
    /// a teloxide bot finishes its long poll first).
    pub async fn stop_within(self, bound: Duration) {
        let _ = self.stop.send(());
        let result = tokio::time::timeout(bound, self.task)
            .await
            .expect("the example stops after its shutdown signal")
            .expect("the example's task does not panic");
        assert_eq!(result, Ok(()), "the example stops cleanly");
    }
}

pub fn text(message: &Value) -> &str {
    message["text"]
        .as_str()
        .or_else(|| message["caption"].as_str())
        .unwrap_or_default()
}

pub fn from_bot(message: &Value) -> bool {
    message["from"]["is_bot"] == Value::Bool(true)
}

/// The bot's messages in a chat (or a topic).
pub fn bot_texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| from_bot(m))
        .map(|m| text(m).to_owned())
        .collect()
}

pub fn has_bot_text(messages: &[Value], wanted: impl Fn(&str) -> bool) -> bool {
    messages.iter().any(|m| from_bot(m) && wanted(text(m)))
}

/// The topic whose name contains `name`, once there is one.
pub async fn topic_named(tg: &FakeTelegram, name: &str) -> Topic {
    let what = format!("a topic for {name}");
    tg.wait_for(&what, WAIT, |t| {
        t.topics(GROUP)
            .iter()
            .any(|topic| topic.name.contains(name))
    })
    .await
    .expect("topic");
    tg.topics(GROUP)
        .into_iter()
        .find(|topic| topic.name.contains(name))
        .expect("topic")
}

/// Waits until the bot has sent `chat` a message (in `thread` of the group when given) whose
/// text satisfies `wanted`; returns that message.
pub async fn bot_message(
    tg: &FakeTelegram,
    what: &str,
    chat: i64,
    thread: Option<i64>,
    wanted: impl Fn(&str) -> bool,
) -> Value {
    let messages = |t: &FakeTelegram| match thread {
        Some(thread) => t.thread_messages(chat, thread),
        None => t.messages(chat),
    };
    let found = tg
        .wait_for(what, WAIT, |t| has_bot_text(&messages(t), &wanted))
        .await;
    if let Err(error) = found {
        panic!(
            "{error}\nthe bot's messages there: {:#?}",
            bot_texts(&messages(tg))
        );
    }
    messages(tg)
        .into_iter()
        .find(|m| from_bot(m) && wanted(text(m)))
        .expect("found")
}

pub fn callback_data(message: &Value) -> Vec<String> {
    buttons(message)
        .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
        .collect()
}

pub fn buttons(message: &Value) -> impl Iterator<Item = &Value> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
}

pub fn message_id(message: &Value) -> i64 {
    message["message_id"].as_i64().expect("message_id")
}

pub const MARK: &str = "// hotline";

/// The unified diff (3 lines of context) from the example at `path` (relative to the
/// workspace) without its `// hotline` lines to the file as it is, the marks left out of the
/// added lines; and how many lines were added.
pub fn hotline_diff(path: &str, source: &str) -> (String, usize) {
    let lines: Vec<&str> = source.lines().collect();
    let added: Vec<bool> = lines.iter().map(|l| l.trim_end().ends_with(MARK)).collect();
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for (i, _) in added.iter().enumerate().filter(|(_, a)| **a) {
        let (start, end) = (i.saturating_sub(3), (i + 4).min(lines.len()));
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    let mut diff = format!("--- a/{path}\n+++ b/{path}\n");
    for (start, end) in hunks {
        let old_start = start - added[..start].iter().filter(|a| **a).count();
        let old_len = added[start..end].iter().filter(|a| !**a).count();
        diff += &format!(
            "@@ -{},{old_len} +{},{} @@\n",
            old_start + 1,
            start + 1,
            end - start
        );
        for i in start..end {
            if added[i] {
                let line = lines[i].trim_end();
                diff += &format!("+{}\n", line[..line.len() - MARK.len()].trim_end());
            } else {
                diff += format!(" {}", lines[i]).trim_end();
                diff.push('\n');
            }
        }
    }
    (diff, added.iter().filter(|a| **a).count())
}

/// The text of the fenced ```diff block of a Markdown document that starts with `--- a/{path}`.
pub fn diff_block<'a>(doc: &'a str, path: &str) -> Option<&'a str> {
    let opening = format!("```diff\n--- a/{path}\n");
    let start = doc.find(&opening)? + "```diff\n".len();
    let end = start + doc[start..].find("\n```")? + 1;
    Some(&doc[start..end])
}

/// Checks that embedding Hotline in the example at `path` takes 15 added lines or fewer, and
/// that docs/embedding.md shows exactly that diff. `HOTLINE_BLESS=1` rewrites the doc's block.
pub fn check_embedding_diff(path: &str) {
    let root = env!("CARGO_MANIFEST_DIR");
    let source = std::fs::read_to_string(format!("{root}/{path}")).unwrap();
    let (diff, added) = hotline_diff(path, &source);
    let changed = diff
        .lines()
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .count();
    assert_eq!(changed, added);
    assert!(
        (1..=15).contains(&changed),
        "Hotline takes {changed} lines of {path}; the promise is 15 or fewer"
    );
    let doc_path = format!("{root}/docs/embedding.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let shown = diff_block(&doc, path)
        .unwrap_or_else(|| panic!("docs/embedding.md has a ```diff block of {path}"));
    if shown != diff && std::env::var_os("HOTLINE_BLESS").is_some() {
        std::fs::write(&doc_path, doc.replacen(shown, &diff, 1)).unwrap();
        return;
    }
    assert_eq!(
        shown, diff,
        "docs/embedding.md's diff is not the one of {path}; rerun with HOTLINE_BLESS=1 to rewrite it"
    );
}
