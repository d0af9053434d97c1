//! How much memory 1,000,000 users take in MemoryStore (resident set growth, Linux).
//! `cargo bench -p hotline-core --bench memory`

use hotline_core::store::Commit;
use hotline_core::{Conversation, MemoryStore, Status, Store, Timestamp, TopicId, UserProfile};

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap();
    pages * 4096
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("memory: bench");
        return;
    }
    const USERS: i64 = 1_000_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let before = resident_bytes();
    let store = MemoryStore::new();
    runtime.block_on(async {
        for id in 1..=USERS {
            // A realistic profile: first and last name, username, language, an open topic.
            let profile = UserProfile::new(id, format!("User{id}"))
                .with_last_name("Tester")
                .with_username(format!("user_{id}"))
                .with_language("en");
            let mut conversation = Conversation::new(profile, Timestamp(1_700_000_000));
            conversation.topic = Some(TopicId(id + 10));
            conversation.status = Status::UserAnswered;
            conversation.topic_name = Some(format!("🟪 User{id} Tester"));
            store
                .commit(Commit {
                    conversation: Some(conversation),
                    ..Commit::default()
                })
                .await
                .unwrap();
        }
    });
    let after = resident_bytes();
    assert_eq!(store.len(), USERS as usize);
    let mb = (after - before) as f64 / 1_000_000.0;
    println!(
        "memory: {USERS} users in MemoryStore take {mb:.0} MB resident ({:.0} bytes per user)",
        (after - before) as f64 / USERS as f64
    );
}
