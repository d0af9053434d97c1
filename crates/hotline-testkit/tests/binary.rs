//! The `fake-telegram` binary: prints its URL, serves the Bot API and the control plane, and
//! burns no CPU while idle (even with a long poll pending).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[tokio::test]
async fn binary_serves_and_idles_without_cpu() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-telegram"))
        .args([
            "--port",
            "0",
            "--token",
            "777:BIN",
            "--user",
            "1001:Ann",
            "--group",
            "-1001000000001:Support",
            "--operator",
            "2001:Olga",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn fake-telegram");
    let stdout = child.stdout.take().expect("stdout");
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read url");
        line.trim().to_owned()
    })
    .await
    .expect("join");
    assert!(url.starts_with("http://127.0.0.1:"), "printed {url:?}");
    let http = reqwest::Client::new();
    let me: Value = http
        .get(format!("{url}/bot777:BIN/getMe"))
        .send()
        .await
        .expect("getMe")
        .json()
        .await
        .expect("json");
    assert_eq!(me["result"]["id"], 777);
    let topics: Value = http
        .post(format!("{url}/bot777:BIN/createForumTopic"))
        .form(&[("chat_id", "-1001000000001"), ("name", "Ann")])
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    assert_eq!(topics["ok"], true, "{topics}");

    // Idle with a long poll pending: the process uses (almost) no CPU.
    let poll = tokio::spawn({
        let http = http.clone();
        let url = url.clone();
        async move {
            http.get(format!("{url}/bot777:BIN/getUpdates?timeout=3"))
                .send()
                .await
                .expect("poll")
                .json::<Value>()
                .await
                .expect("json")
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = cpu_ticks(child.id());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(child.id()) - before;
    assert!(used <= 2, "idle server used {used} clock ticks in 2 s");
    let r = poll.await.expect("join");
    assert_eq!(r["result"], serde_json::json!([]));

    // Olga is a member: she can write in the group through the control plane.
    let m: Value = http
        .post(format!("{url}/_testkit/messages"))
        .json(&serde_json::json!({"from": 2001, "chat_id": -1001000000001i64, "text": "hi"}))
        .send()
        .await
        .expect("cp")
        .json()
        .await
        .expect("json");
    assert_eq!(m["ok"], true, "{m}");
    child.kill().expect("kill");
    let _ = child.wait();
}
