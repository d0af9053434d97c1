//! The README's main command, `cargo run --example sandbox`, runs to completion in CI.

#[path = "../examples/sandbox.rs"]
#[allow(dead_code)]
mod sandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_plays_its_whole_script() {
    let transcript = sandbox::run().await.expect("the sandbox script");
    // What the people in the script must have seen.
    for seen in [
        "bot ▸ Hi Ann Lee! You are talking to our support team now",
        "⏮ Context: the last 2 message(s)",
        "bot ▸ [photo] The parcel as it arrived",
        "Olga ▸ Hello Ann! Order #1234 ships tomorrow.",
        "bot ▸ Hello Ann! Order #1234 ships tomorrow.  ↪ replying to «Hi! I have a question",
        "bot ▸ Thanks, that is very quick!  (edited)",
        "♻️ The previous topic of this user was deleted",
        "bot ▸ One more thing: can you gift-wrap it?",
        "⛔ The user has blocked the bot: messages to them are not delivered.",
        "⛔ Not delivered: the user has blocked the bot.",
    ] {
        assert!(
            transcript.contains(seen),
            "missing «{seen}» in:\n{transcript}"
        );
    }
    let ann_chat = transcript
        .split("━━ Ann's chat with the bot")
        .nth(1)
        .and_then(|rest| rest.split("━━ Bob's chat").next())
        .expect("Ann's chat in the transcript");
    assert!(
        !ann_chat.contains("she already asked"),
        "an internal comment reached Ann:\n{ann_chat}"
    );
    assert!(
        transcript.contains("Olga ▸ / she already asked"),
        "the comment stays in the topic"
    );
}
