//! The conversation archive (`ARCHIVE`) through the fake Telegram: a scripted conversation (a
//! formatted text, a photo, an album, an edit, an operator's reply, the host bot's messages)
//! recorded in SQLite, exported as JSON lines by the library call (compared with the records
//! expected), and as HTML by `hotline-desk archive export` (opened in headless Chromium, whose
//! DOM must show every message). Without `ARCHIVE`, nothing of the content is stored.

mod common;

use common::{GROUP, TOKEN, config, fake, run, text_of};
use frankenstein::AsyncTelegramApi;
use frankenstein::methods::{CopyMessageParams, SendMessageParams};
use hotline::core::{Timestamp, UserId};
use hotline::telegram::archive_export::{ArchiveExport, export_archive};
use hotline::telegram::{Hotline, Limits};
use hotline_testkit::NewMessage;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A desk with `params` on a SQLite file in `dir`, polling a fresh fake Telegram.
async fn desk_on_sqlite(dir: &Path, params: &[(&str, &str)]) -> (common::Desk, String) {
    let url = format!("sqlite://{}", dir.join("desk.db").display());
    let store = hotline::store_sql::connect(&url)
        .await
        .expect("sqlite store");
    let tg = fake().await;
    let hotline = Hotline::builder(TOKEN, config(params))
        .api_url(tg.api_url())
        .limits(Limits::off())
        .album_quiet(Duration::from_millis(200))
        .store(store)
        .build()
        .expect("hotline");
    (run(tg, hotline), url)
}

/// The id of the message in the topic whose text or caption is `text`.
fn in_topic(d: &common::Desk, topic: i64, text: &str) -> i64 {
    d.tg.thread_messages(GROUP, topic)
        .iter()
        .find(|m| text_of(m) == text)
        .and_then(|m| m["message_id"].as_i64())
        .unwrap_or_else(|| panic!("«{text}» in topic {topic}"))
}

fn largest_photo(message: &Value) -> Value {
    message["photo"]
        .as_array()
        .and_then(|sizes| sizes.last())
        .map(|size| size["file_id"].clone())
        .expect("a photo message")
}

/// What a conversation's export must say, per record, leaving out the times (checked apart).
struct Script {
    ann: i64,
    expected: Vec<Value>,
    texts: Vec<String>,
}

/// Plays the conversation and waits until each message went across.
async fn play(d: &common::Desk) -> Script {
    let ann = d.user(1001, "Ann");
    let record = |origin: &str, message: &Value, kind: &str| -> Value {
        json!({"user_id": ann, "origin": origin, "message_id": message["message_id"],
               "kind": kind, "text": null, "entities": [], "file_id": null, "reply_to": null,
               "media_group": null})
    };

    let entities = json!([{"type": "bold", "offset": 6, "length": 4},
        {"type": "text_link", "offset": 16, "length": 4, "url": "https://example.org/docs"}]);
    let hello =
        d.tg.send_message(
            NewMessage::text(ann, ann, "Hello bold, see docs <please>").entities(entities.clone()),
        )
        .expect("a formatted text");
    let topic = d.topic_of(ann).await;
    d.wait_thread(topic, "Hello bold, see docs <please>").await;
    let mut first = record("user", &hello, "text");
    first["text"] = json!("Hello bold, see docs <please>");
    first["entities"] = entities;

    let photo =
        d.tg.send_message(
            NewMessage::empty(ann, ann)
                .photo("ann-receipt")
                .caption("my receipt"),
        )
        .expect("a photo");
    d.wait_thread(topic, "my receipt").await;
    let mut receipt = record("user", &photo, "photo");
    receipt["text"] = json!("my receipt");
    receipt["file_id"] = largest_photo(&photo);

    let shots: Vec<Value> = [("shot-1", Some("two shots")), ("shot-2", None)]
        .into_iter()
        .map(|(file, caption)| {
            let mut m = NewMessage::empty(ann, ann)
                .photo(file)
                .media_group("album-7");
            if let Some(caption) = caption {
                m = m.caption(caption);
            }
            d.tg.send_message(m).expect("an album photo")
        })
        .collect();
    d.wait("the album in the topic", |d| {
        d.tg.thread_messages(GROUP, topic)
            .iter()
            .filter(|m| m["media_group_id"].is_string())
            .count()
            == 2
    })
    .await;
    let album: Vec<Value> = shots
        .iter()
        .map(|shot| {
            let mut r = record("user", shot, "photo");
            r["text"] = shot.get("caption").cloned().unwrap_or(Value::Null);
            r["file_id"] = largest_photo(shot);
            r["media_group"] = json!("album-7");
            r
        })
        .collect();

    let hello_id = hello["message_id"].as_i64().expect("an id");
    d.tg.edit_message(ann, ann, hello_id, "Hello bold, edited")
        .expect("an edit");
    d.wait_thread(topic, "Hello bold, edited").await;
    let mut edit = record("user", &hello, "text");
    edit["text"] = json!("Hello bold, edited");

    let copy = in_topic(d, topic, "Hello bold, edited");
    let reply = d.operator_replies(topic, copy, "Thanks, Ann: checking «now»");
    d.wait_user_sees(ann, "Thanks, Ann: checking «now»").await;
    let mut answer = record("operator", &reply, "text");
    answer["text"] = json!("Thanks, Ann: checking «now»");
    answer["reply_to"] = json!(copy);

    let sent = d
        .hotline
        .bot()
        .send_message(
            &SendMessageParams::builder()
                .chat_id(ann)
                .text("Our prices are on the site.")
                .build(),
        )
        .await
        .expect("the host's send");
    d.wait("the host's message mirrored", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.ends_with("Our prices are on the site."))
    })
    .await;
    let mut host = record(
        "host",
        &json!({"message_id": sent.result.message_id}),
        "text",
    );
    host["text"] = json!("Our prices are on the site.");

    let copied = d
        .hotline
        .bot()
        .copy_message(
            &CopyMessageParams::builder()
                .chat_id(ann)
                .from_chat_id(ann)
                .message_id(i32::try_from(photo["message_id"].as_i64().expect("id")).expect("id"))
                .build(),
        )
        .await
        .expect("the host's copy");
    let before = d.tg.calls_of("forwardMessages").len();
    d.wait("the host's copy forwarded into the topic", |d| {
        d.tg.calls_of("forwardMessages").len() > before
    })
    .await;
    let forwarded = record(
        "host",
        &json!({"message_id": copied.result.message_id}),
        "other",
    );

    let mut expected = vec![first, receipt];
    expected.extend(album);
    expected.extend([edit, answer, host, forwarded]);
    let texts = expected
        .iter()
        .filter_map(|r| r["text"].as_str().map(str::to_owned))
        .collect();
    Script {
        ann,
        expected,
        texts,
    }
}

/// Waits until the archive holds `n` records of `user` (the last is written just after the
/// relay the script waited for).
async fn archived(d: &common::Desk, user: i64, n: usize) {
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let records = d
            .hotline
            .desk()
            .store()
            .archived(UserId(user), Timestamp(0), None, 1_000)
            .await
            .expect("archived");
        if records.len() >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the archive holds {} records, not {n}",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_is_archived_and_exported_as_json_lines_and_html() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (d, url) = desk_on_sqlite(dir.path(), &[("WELCOME", "OFF"), ("ARCHIVE", "true")]).await;
    let script = play(&d).await;
    archived(&d, script.ann, script.expected.len()).await;

    // JSON lines, by the library call.
    let out = dir.path().join("jsonl");
    let export = ArchiveExport {
        user: Some(UserId(script.ann)),
        ..ArchiveExport::default()
    };
    let files = export_archive(d.hotline.desk().store().as_ref(), &export, &out)
        .await
        .expect("export");
    assert_eq!(files, vec![out.join(format!("user-{}.jsonl", script.ann))]);
    let written = std::fs::read_to_string(&files[0]).expect("the export");
    let mut lines: Vec<Value> = written
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    for (n, line) in lines.iter_mut().enumerate() {
        let object = line.as_object_mut().expect("an object");
        let time = object
            .remove("time")
            .and_then(|t| t.as_i64())
            .expect("time");
        let date = object.remove("date").expect("date");
        let edit = object
            .remove("edit")
            .and_then(|e| e.as_i64())
            .expect("edit");
        assert!(time > 1_700_000_000, "line {n} is dated: {time}");
        assert!(
            date.as_str()
                .is_some_and(|d| d.ends_with('Z') && d.contains('T')),
            "line {n}: {date}"
        );
        let edited = n == 4;
        assert_eq!(
            edit > 0,
            edited,
            "line {n}: only the edit has a version: {edit}"
        );
    }
    assert_eq!(
        lines, script.expected,
        "the export holds every message that crossed, in order:\n{written}"
    );

    // HTML, by the command line, opened in a browser.
    d.stop().await;
    let html_dir = dir.path().join("html");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotline-desk"))
        .args([
            "archive",
            "export",
            "--format",
            "html",
            "--since",
            "2020-01-01",
            "--out",
        ])
        .arg(&html_dir)
        .env("HOTLINE_DATABASE", &url)
        .env("HOTLINE_LOG", "warn")
        .output()
        .await
        .expect("run hotline-desk");
    assert!(
        output.status.success(),
        "hotline-desk archive export: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = html_dir.join(format!("user-{}.html", script.ann));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&page.display().to_string()),
        "the command names the file it wrote: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let dom = browser_dom(&page).await;
    assert_eq!(
        dom.matches("<article class=\"message").count(),
        script.expected.len(),
        "one article per record: {dom}"
    );
    for text in &script.texts {
        let shown = text.replace('<', "&lt;").replace('>', "&gt;");
        let plain = dom.replace("<strong>", "").replace("</strong>", "");
        let plain = strip_links(&plain);
        assert!(plain.contains(&shown), "«{text}» is shown: {dom}");
    }
    for record in &script.expected {
        if let Some(file) = record["file_id"].as_str() {
            assert!(
                dom.contains(&format!("file_id {file}")),
                "{file} is shown: {dom}"
            );
        }
    }
    assert!(
        dom.contains("<strong>bold</strong>")
            && dom.contains("<a href=\"https://example.org/docs\">docs</a>"),
        "the formatting is rendered: {dom}"
    );
    assert!(
        dom.contains("Conversation with Ann") && dom.contains("(edited)"),
        "{dom}"
    );
    let hello = &script.expected[0]["message_id"];
    assert!(
        dom.contains(&format!("in reply to <a href=\"#m-u-{hello}\">")),
        "the operator's reply (to the copy in the topic) links to the user's message: {dom}"
    );
}

/// `html` without its `<a ...>` and `</a>` tags.
fn strip_links(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<a ") {
        out.push_str(&rest[..start]);
        rest = rest[start..].split_once('>').map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out.replace("</a>", "")
}

/// The DOM headless Chromium builds from the page (`HOTLINE_CHROMIUM`, default `chromium`).
async fn browser_dom(page: &Path) -> String {
    let chromium = std::env::var("HOTLINE_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let profile = tempfile::tempdir().expect("a browser profile dir");
    let output = tokio::process::Command::new(&chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("{chromium} could not run ({e}): install it (apt-get install chromium) or set HOTLINE_CHROMIUM")
        });
    assert!(
        output.status.success(),
        "{chromium}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_archive_no_message_content_is_stored() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (d, _) = desk_on_sqlite(dir.path(), &[("WELCOME", "OFF")]).await;
    let ann = d.user(1002, "Ann");
    d.say(ann, "a secret only the operators may read");
    let topic = d.topic_of(ann).await;
    d.wait_thread(topic, "a secret only the operators may read")
        .await;
    let store = d.hotline.desk().store().clone();
    assert!(
        store
            .archived(UserId(ann), Timestamp(0), None, 10)
            .await
            .expect("archived")
            .is_empty(),
        "nothing archived without ARCHIVE"
    );
    assert!(
        store
            .archive_users(Timestamp(0))
            .await
            .expect("archive_users")
            .is_empty(),
        "no conversation in the archive"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_posted_when_a_topic_opens_is_archived_by_its_ids() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let params = [
        ("WELCOME", "OFF"),
        ("ARCHIVE", "true"),
        ("PRIVATE_KEYWORDS", "\"operator\""),
    ];
    let (d, _) = desk_on_sqlite(dir.path(), &params).await;
    let ann = d.user(1003, "Ann");
    let before = d.say(ann, "what are your hours?");
    let asked = d.say(ann, "operator please");
    let topic = d.topic_of(ann).await;
    d.wait_thread(topic, "operator please").await;
    archived(&d, ann, 2).await;
    let records: Vec<(String, i64, Option<String>)> = d
        .hotline
        .desk()
        .store()
        .archived(UserId(ann), Timestamp(0), None, 10)
        .await
        .expect("archived")
        .into_iter()
        .map(|a| {
            (
                a.record.kind.as_str().to_owned(),
                a.record.message.0,
                a.record.text,
            )
        })
        .collect();
    assert_eq!(
        records,
        vec![
            (
                "other".to_owned(),
                before["message_id"].as_i64().expect("id"),
                None
            ),
            (
                "text".to_owned(),
                asked["message_id"].as_i64().expect("id"),
                Some("operator please".to_owned())
            ),
        ],
        "the context crossed by id (its text was never kept), the keyword's message whole"
    );
    d.stop().await;
}
