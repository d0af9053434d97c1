//! When Telegram acts and its answer is lost (the call went through, the connection dropped
//! before the answer came back), the desk sees a network error and sends the same call again.
//! Telegram has no idempotency key, so that one call can act twice; these tests pin down that it
//! costs at most one extra copy of that one message (or one extra empty topic), never a lost
//! message, never a message out of order, and nothing else repeated.

mod common;

use common::{Desk, GROUP, text_of};
use hotline::core::{MessageId, UserId};
use hotline_testkit::Fault;
use serde_json::Value;
use std::collections::HashMap;

/// A greeting that is easy to recognise in what a user sees.
const WELCOME: &str = "Welcome!";

fn params() -> [(&'static str, &'static str); 1] {
    [("WELCOME", WELCOME)]
}

/// How many times each text appears among the messages of the whole backend group (service
/// messages, which have none, left out).
fn group_counts(d: &Desk) -> HashMap<String, usize> {
    d.tg.messages(GROUP)
        .iter()
        .map(text_of)
        .filter(|t| !t.is_empty())
        .fold(HashMap::new(), |mut m, t| {
            *m.entry(t).or_default() += 1;
            m
        })
}

/// The user's own messages, `user:1` ..= `user:n`.
fn texts(user: i64, range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("{user}:{i}")).collect()
}

/// Waits until the fake's answer to one call was dropped after it acted (the fault fired).
async fn wait_dropped(d: &Desk, before: u64) {
    d.wait("the fault to drop an answer", |d| {
        d.tg.stats().dropped_connections > before
    })
    .await;
}

/// Waits until every update was handled and confirmed: the runner moves Telegram's offset past
/// an update only once its ticket resolved (retries included), so nothing is still under way.
async fn wait_settled(d: &Desk) {
    d.wait("every update confirmed", |d| {
        d.tg.pending_updates().is_empty() && d.tg.stats().calls_in_progress == 0
    })
    .await;
}

/// The id of the message in `thread` with `text`.
fn id_in_thread(d: &Desk, thread: i64, text: &str) -> i64 {
    d.tg.thread_messages(GROUP, thread)
        .iter()
        .find(|m| text_of(m) == text)
        .and_then(|m| m["message_id"].as_i64())
        .unwrap_or_else(|| panic!("«{text}» in topic {thread}"))
}

/// The bot's messages to `user` with `text`.
fn bot_messages_to(d: &Desk, user: i64, text: &str) -> Vec<Value> {
    d.tg.messages(user)
        .into_iter()
        .filter(|m| m["from"]["is_bot"] == true && text_of(m) == text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_into_the_topic_whose_answer_is_lost_appears_twice_and_nothing_else_does() {
    let d = common::start(&params()).await;
    let users: Vec<i64> = (0..3).map(|i| d.user(4101 + i, &format!("U{i}"))).collect();
    let hit = users[0];

    // Every user has a topic and two messages in it.
    for i in 1..=2 {
        for &user in &users {
            d.say(user, &format!("{user}:{i}"));
        }
    }
    let mut topics = HashMap::new();
    for &user in &users {
        let topic = d.topic_of(user).await;
        d.wait_thread(topic, &format!("{user}:2")).await;
        topics.insert(user, topic);
    }

    // The next copy into the group acts, then loses its answer: it is `hit`'s third message,
    // the only one under way.
    let dropped = d.tg.stats().dropped_connections;
    d.tg.inject_fault(
        Fault::drop_after_acting()
            .method("copyMessage")
            .chat(GROUP)
            .count(1),
    );
    let lost = d.say(hit, &format!("{hit}:3"))["message_id"]
        .as_i64()
        .expect("message id");
    wait_dropped(&d, dropped).await;

    // While the desk waits out its back-off, everyone writes on: `hit`'s later messages queue
    // behind the retried one, the other users' go through meanwhile.
    for i in 3..=5 {
        for &user in &users {
            if (user, i) != (hit, 3) {
                d.say(user, &format!("{user}:{i}"));
            }
        }
    }
    for &user in &users {
        d.wait_thread(topics[&user], &format!("{user}:5")).await;
    }
    wait_settled(&d).await;

    // Telegram copied the message once before the answer was lost, and the retry copied it
    // again: twice, one after the other, and nothing of the user's came between or got lost.
    let mut expected = texts(hit, 1..=3);
    expected.extend(texts(hit, 3..=5));
    assert_eq!(
        d.thread_texts(topics[&hit]),
        expected,
        "the hit user's topic"
    );
    for &user in &users[1..] {
        assert_eq!(
            d.thread_texts(topics[&user]),
            texts(user, 1..=5),
            "user {user}'s topic: every message once, in order"
        );
    }
    let counts = group_counts(&d);
    for &user in &users {
        for text in texts(user, 1..=5) {
            let want = if text == format!("{hit}:3") { 2 } else { 1 };
            assert_eq!(
                counts.get(&text).copied(),
                Some(want),
                "«{text}» in the group"
            );
        }
    }
    assert_eq!(
        counts.values().sum::<usize>(),
        16,
        "15 messages and one extra copy"
    );
    assert_eq!(d.tg.topics(GROUP).len(), 3, "one topic per user");
    let copies: Vec<_> =
        d.tg.calls_of("copyMessage")
            .into_iter()
            .filter(|c| c.params["chat_id"] == GROUP)
            .collect();
    assert_eq!(copies.len(), 16, "one call per message and one retry");
    assert!(copies.iter().all(|c| c.error_code.is_none()));
    let of_lost = copies
        .iter()
        .filter(|c| c.params["from_chat_id"] == hit && c.params["message_id"] == lost)
        .count();
    assert_eq!(of_lost, 2, "the lost answer's call, and its retry");

    // The desk knows only the copy whose answer it heard: the link points at the second copy,
    // so operators' replies and the user's edits follow that one.
    let second =
        d.tg.thread_messages(GROUP, topics[&hit])
            .iter()
            .filter(|m| text_of(m) == format!("{hit}:3"))
            .filter_map(|m| m["message_id"].as_i64())
            .max()
            .expect("the second copy");
    let link = d
        .hotline
        .desk()
        .store()
        .link_by_user_message(UserId(hit), MessageId(lost))
        .await
        .expect("store")
        .expect("a link for the message");
    assert_eq!(link.topic_message, MessageId(second));

    // Users saw the greeting once, and nothing else from the bot.
    for &user in &users {
        assert_eq!(d.user_sees(user), [WELCOME], "what user {user} sees");
    }
    assert!(d.tg.stats().spec_violations.is_empty());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reply_whose_answer_is_lost_reaches_the_user_twice_and_nothing_else_does() {
    let d = common::start(&params()).await;
    let users: Vec<i64> = (0..3).map(|i| d.user(4201 + i, &format!("V{i}"))).collect();
    let hit = users[0];

    let mut topics = HashMap::new();
    let mut asked = HashMap::new();
    for &user in &users {
        let question = d.say(user, &format!("{user}:question"))["message_id"]
            .as_i64()
            .expect("message id");
        asked.insert(user, question);
    }
    for &user in &users {
        let topic = d.topic_of(user).await;
        d.wait_thread(topic, &format!("{user}:question")).await;
        topics.insert(user, topic);
    }
    let reply = |user: i64, i: usize| {
        let copy = id_in_thread(&d, topics[&user], &format!("{user}:question"));
        d.operator_replies(topics[&user], copy, &format!("to {user}:{i}"));
    };
    let replies = |user: i64, range: std::ops::RangeInclusive<usize>| -> Vec<String> {
        range.map(|i| format!("to {user}:{i}")).collect()
    };

    for i in 1..=2 {
        for &user in &users {
            reply(user, i);
        }
    }
    for &user in &users {
        d.wait_user_sees(user, &format!("to {user}:2")).await;
    }

    // The next copy into `hit`'s private chat acts, then loses its answer: the third reply to
    // them (only operators' replies are copied there). The others are copied meanwhile.
    let dropped = d.tg.stats().dropped_connections;
    d.tg.inject_fault(
        Fault::drop_after_acting()
            .method("copyMessage")
            .chat(hit)
            .count(1),
    );
    for i in 3..=5 {
        for &user in &users {
            reply(user, i);
        }
    }
    wait_dropped(&d, dropped).await;
    for &user in &users {
        d.wait_user_sees(user, &format!("to {user}:5")).await;
    }
    wait_settled(&d).await;

    let mut expected = vec![WELCOME.to_owned()];
    expected.extend(replies(hit, 1..=3));
    expected.extend(replies(hit, 3..=5));
    assert_eq!(d.user_sees(hit), expected, "what the hit user sees");
    for &user in &users[1..] {
        let mut expected = vec![WELCOME.to_owned()];
        expected.extend(replies(user, 1..=5));
        assert_eq!(d.user_sees(user), expected, "what user {user} sees");
    }
    // Both copies of the doubled reply answer the user's question, as the operator's did.
    let doubled = bot_messages_to(&d, hit, &format!("to {hit}:3"));
    assert_eq!(doubled.len(), 2);
    for m in &doubled {
        assert_eq!(m["reply_to_message"]["message_id"], asked[&hit]);
    }
    let to_hit =
        d.tg.calls_of("copyMessage")
            .into_iter()
            .filter(|c| c.params["chat_id"] == hit)
            .count();
    assert_eq!(to_hit, 6, "five replies and one retry");

    // Operators see each of their messages once and each user's question once.
    for &user in &users {
        let mut expected = vec![format!("{user}:question")];
        expected.extend(replies(user, 1..=5));
        assert_eq!(
            d.thread_texts(topics[&user]),
            expected,
            "user {user}'s topic"
        );
    }
    assert!(d.tg.stats().spec_violations.is_empty());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_creation_whose_answer_is_lost_leaves_one_empty_topic_and_loses_nothing() {
    let d = common::start(&params()).await;
    let users: Vec<i64> = (0..3).map(|i| d.user(4301 + i, &format!("W{i}"))).collect();
    let hit = users[0];

    // The first topic creation acts, then loses its answer: `hit`'s, the only one under way,
    // for their first message; their next four queue behind it.
    let dropped = d.tg.stats().dropped_connections;
    d.tg.inject_fault(
        Fault::drop_after_acting()
            .method("createForumTopic")
            .chat(GROUP)
            .count(1),
    );
    for i in 1..=5 {
        d.say(hit, &format!("{hit}:{i}"));
    }
    wait_dropped(&d, dropped).await;
    for i in 1..=5 {
        for &user in &users[1..] {
            d.say(user, &format!("{user}:{i}"));
        }
    }
    let mut topics = HashMap::new();
    for &user in &users {
        let topic = d.topic_of(user).await;
        d.wait_thread(topic, &format!("{user}:5")).await;
        topics.insert(user, topic);
    }
    wait_settled(&d).await;

    // The retry created a second topic; the desk recorded that one, and every message of the
    // user is in it, once, in order.
    for &user in &users {
        assert_eq!(
            d.thread_texts(topics[&user]),
            texts(user, 1..=5),
            "user {user}'s topic"
        );
    }
    let counts = group_counts(&d);
    for &user in &users {
        for text in texts(user, 1..=5) {
            assert_eq!(counts.get(&text).copied(), Some(1), "«{text}» in the group");
        }
    }
    let creations = d.tg.calls_of("createForumTopic");
    assert_eq!(creations.len(), 4, "one per user and one retry");
    assert!(creations.iter().all(|c| c.error_code.is_none()));

    // The first creation left one topic the desk never heard of: named for the same user,
    // created just before the recorded one, empty.
    let all = d.tg.topics(GROUP);
    assert_eq!(all.len(), 4, "three users' topics and one orphan");
    let recorded: Vec<i64> = topics.values().copied().collect();
    let orphans: Vec<_> = all
        .iter()
        .filter(|t| !recorded.contains(&t.message_thread_id))
        .collect();
    assert_eq!(orphans.len(), 1);
    let orphan = orphans[0];
    let hit_topic = all
        .iter()
        .find(|t| t.message_thread_id == topics[&hit])
        .expect("the hit user's topic");
    assert_eq!(
        orphan.name, hit_topic.name,
        "the orphan is named for the user"
    );
    assert!(orphan.message_thread_id < hit_topic.message_thread_id);
    assert!(!orphan.is_closed && !orphan.deleted);
    assert!(
        d.thread_texts(orphan.message_thread_id).is_empty(),
        "nothing but the creation in the orphan"
    );

    // The user was greeted once: the greeting follows the recorded creation.
    for &user in &users {
        assert_eq!(d.user_sees(user), [WELCOME], "what user {user} sees");
    }

    // What happens today to an operator who writes in the orphan: like any topic the desk has
    // no conversation for, it is ignored; the user receives nothing from it.
    d.operator_says(orphan.message_thread_id, "into the orphan");
    wait_settled(&d).await;
    assert_eq!(d.user_sees(hit), [WELCOME]);
    assert!(bot_messages_to(&d, hit, "into the orphan").is_empty());
    assert!(d.tg.stats().spec_violations.is_empty());
    d.stop().await;
}
