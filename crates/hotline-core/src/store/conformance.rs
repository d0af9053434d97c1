//! A conformance suite every [`Store`] implementation runs from its own tests.
//!
//! ```
//! # async fn demo() {
//! use hotline_core::store::{conformance, MemoryStore};
//! conformance::run(|| async { MemoryStore::new() }).await;
//! # }
//! ```
//!
//! `make` must return an empty store each time it is called (SQL stores: a fresh schema or
//! truncated tables). Each check panics with a message naming the rule that was broken.

use super::{
    Commit, Conversation, DeadLetterId, Fetched, LogId, MessageLink, NewDeadLetter, Origin, Status,
    Store,
};
use crate::event::{EventKey, EventKind};
use crate::ids::{MessageId, Timestamp, TopicId, UserId};
use crate::message::UserProfile;
use std::future::Future;
use std::sync::Arc;

/// Runs every check, each on a fresh store from `make`.
pub async fn run<S, F, Fut>(make: F)
where
    S: Store + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    conversations_round_trip(make().await).await;
    topic_moves_with_the_conversation(make().await).await;
    a_topic_belongs_to_one_user(make().await).await;
    links_resolve_both_ways(make().await).await;
    a_relinked_message_replaces_the_old_link(make().await).await;
    a_full_commit_lands(make().await).await;
    processed_events_are_remembered(make().await).await;
    autoclose_finds_stale_support_answered(make().await).await;
    concurrent_commits_all_land(make().await).await;
    dead_letters_are_kept_until_removed(make().await).await;
    the_update_log_numbers_and_keeps_updates(make().await).await;
    each_consumer_confirms_on_its_own(make().await).await;
    the_log_is_pruned_when_all_confirmed_or_expired(make().await).await;
    events_out::run_all(&make).await;
    archive::run_all(&make).await;
    mailings::run_all(&make).await;
    tags_are_put_on_taken_off_and_counted(make().await).await;
    segments_read_the_user_base_in_pages(make().await).await;
    a_stores_segment_query_agrees_with_reading_every_user(make().await).await;
}

/// A store that selects segment members itself (SQL) must select what testing each user does.
async fn a_stores_segment_query_agrees_with_reading_every_user<S: Store>(store: S) {
    use super::Tag;
    use crate::segment::Segment;
    let languages = [Some("de"), Some("DE-at"), Some("en"), Some("deu"), None];
    let payloads = [None, Some("promo42"), Some("promo4")];
    let statuses = [
        Status::Inactive,
        Status::UserAnswered,
        Status::SupportAnswered,
        Status::Closed,
    ];
    for id in 1..=120_i64 {
        let i = id as usize;
        let mut c = Conversation::new(profile(id), Timestamp(1_000));
        c.profile.language_code = languages[i % languages.len()].map(str::to_owned);
        c.start_payload = payloads[i % payloads.len()].map(str::to_owned);
        c.status = statuses[i % statuses.len()];
        if c.status != Status::Inactive || id % 7 == 0 {
            c.topic = Some(TopicId(10_000 + id));
        }
        c.last_active = Timestamp(1_000 + (id % 10) * 86_400);
        c.banned = id % 11 == 0;
        c.blocked = id % 13 == 0;
        save(&store, c).await;
    }
    for (tag, every) in [("vip", 3), ("churned", 5)] {
        let tag = Tag::parse(tag).expect("a tag");
        for id in (every..=120).step_by(every as usize) {
            store
                .set_tag(UserId(id), &tag, true)
                .await
                .expect("set_tag");
        }
    }
    let now = Timestamp(1_000 + 10 * 86_400);
    for query in [
        "all",
        "#vip",
        "~#vip",
        "lang:de",
        "~lang:de",
        "start:promo42",
        "~start:promo42",
        "open",
        "closed",
        "~open",
        "active:<3d",
        "active:>5d",
        "#vip lang:de, #churned ~lang:de",
        "#vip #churned closed, start:promo4 active:<1w",
    ] {
        let segment = Segment::parse(query).expect("a segment");
        let selected = store
            .segment_members(&segment, now)
            .await
            .expect("segment_members");
        let read = segment
            .members_by_reading(&store, now)
            .await
            .expect("members_by_reading");
        assert_eq!(
            selected, read,
            "`{query}`: the store's selection is the desk's test"
        );
    }
}

async fn segments_read_the_user_base_in_pages<S: Store>(store: S) {
    use super::Tag;
    use crate::segment::Segment;
    for id in 1..=2_500 {
        let mut c = Conversation::new(profile(id), Timestamp(0));
        c.profile.language_code = Some(if id % 2 == 0 { "de" } else { "en" }.to_owned());
        c.banned = id % 500 == 0;
        save(&store, c).await;
    }
    let vip = Tag::parse("vip").expect("a tag");
    for id in (10..=2_500).step_by(10) {
        store
            .set_tag(UserId(id), &vip, true)
            .await
            .expect("set_tag");
    }
    let page = store
        .conversations_after(UserId(1_000), 3)
        .await
        .expect("conversations_after");
    let ids: Vec<i64> = page.iter().map(|c| c.user.0).collect();
    assert_eq!(
        ids,
        [1_001, 1_002, 1_003],
        "the users after the one given, ascending"
    );
    assert_eq!(
        page[1].profile.language_code.as_deref(),
        Some("de"),
        "whole conversations"
    );
    let tagged = store
        .tags_of(&[UserId(10), UserId(11), UserId(20)])
        .await
        .expect("tags_of");
    let mut tagged: Vec<i64> = tagged.iter().map(|(u, _)| u.0).collect();
    tagged.sort_unstable();
    assert_eq!(
        tagged,
        [10, 20],
        "the tags of the users asked about, none for the untagged"
    );
    let everyone = Segment::everyone()
        .members(&store, Timestamp(0))
        .await
        .expect("members");
    assert_eq!(
        everyone.len(),
        2_495,
        "every user but the 5 banned, across pages"
    );
    let german_vips = Segment::parse("#vip lang:de")
        .expect("a segment")
        .members(&store, Timestamp(0))
        .await
        .expect("members");
    // Every tenth user is a VIP and German (even ids); 500, 1000, ... are banned.
    assert_eq!(german_vips.len(), 250 - 5, "{german_vips:?}");
    assert!(
        german_vips.windows(2).all(|w| w[0] < w[1]),
        "in ascending id order"
    );
}

async fn tags_are_put_on_taken_off_and_counted<S: Store>(store: S) {
    use super::Tag;
    let tag = |t: &str| Tag::parse(t).expect("a tag");
    for (user, name) in [(1, "vip"), (1, "de"), (2, "vip"), (3, "churned")] {
        assert!(
            store
                .set_tag(UserId(user), &tag(name), true)
                .await
                .expect("set_tag"),
            "putting a new tag on changes something"
        );
    }
    assert!(
        !store
            .set_tag(UserId(1), &tag("VIP"), true)
            .await
            .expect("set_tag"),
        "a tag put on twice is kept once (tags are case-blind)"
    );
    assert_eq!(
        store.tags(UserId(1)).await.expect("tags"),
        vec![tag("de"), tag("vip")],
        "a user's tags, in alphabetical order"
    );
    assert!(
        store
            .set_tag(UserId(3), &tag("churned"), false)
            .await
            .expect("unset")
    );
    assert!(
        !store
            .set_tag(UserId(3), &tag("churned"), false)
            .await
            .expect("unset"),
        "taking off a tag that is not there changes nothing"
    );
    assert_eq!(
        store.tags(UserId(3)).await.expect("tags"),
        Vec::<Tag>::new()
    );
    assert_eq!(
        store.tag_counts().await.expect("tag_counts"),
        vec![(tag("de"), 1), (tag("vip"), 2)],
        "every tag in use with its users' count; a tag nobody carries is gone"
    );
}

mod archive;
mod events_out;
mod mailings;

fn profile(id: i64) -> UserProfile {
    UserProfile::new(id, format!("User {id}"))
        .with_last_name("Tester")
        .with_username(format!("user{id}"))
        .with_language("en")
}

fn open(id: i64, topic: i64, now: i64) -> Conversation {
    let mut c = Conversation::new(profile(id), Timestamp(now));
    c.topic = Some(TopicId(topic));
    c.status = Status::UserAnswered;
    c
}

async fn save<S: Store>(store: &S, conversation: Conversation) {
    store
        .commit(Commit {
            conversation: Some(conversation),
            ..Commit::default()
        })
        .await
        .expect("committing a conversation");
}

async fn conversations_round_trip<S: Store>(store: S) {
    assert_eq!(
        store.conversation(UserId(1)).await.expect("read"),
        None,
        "an empty store"
    );
    let mut c = open(1, 10, 100);
    c.start_payload = Some("ref-42".into());
    c.pending = vec![MessageId(3), MessageId(4)];
    c.welcome_pending = true;
    c.blocked = true;
    save(&store, c.clone()).await;
    assert_eq!(
        store.conversation(UserId(1)).await.expect("read"),
        Some(c.clone()),
        "a conversation reads back exactly as committed"
    );
    c.status = Status::Closed;
    c.pending.clear();
    c.profile.username = None;
    // The user wrote again later: their first contact stays.
    c.last_active = Timestamp(500);
    save(&store, c.clone()).await;
    assert_eq!(
        store.conversation(UserId(1)).await.expect("read"),
        Some(c),
        "a second commit replaces the conversation"
    );
    let inactive = Conversation::new(profile(2), Timestamp(5));
    save(&store, inactive.clone()).await;
    assert_eq!(
        store.conversation(UserId(2)).await.expect("read"),
        Some(inactive),
        "a conversation without a topic is kept"
    );
}

async fn topic_moves_with_the_conversation<S: Store>(store: S) {
    save(&store, open(1, 10, 0)).await;
    assert_eq!(
        store
            .conversation_by_topic(TopicId(10))
            .await
            .expect("read")
            .map(|c| c.user),
        Some(UserId(1)),
        "the conversation is found by its topic"
    );
    save(&store, open(1, 11, 0)).await;
    assert_eq!(
        store
            .conversation_by_topic(TopicId(10))
            .await
            .expect("read"),
        None,
        "a replaced topic no longer maps to the user"
    );
    assert_eq!(
        store
            .conversation_by_topic(TopicId(11))
            .await
            .expect("read")
            .map(|c| c.user),
        Some(UserId(1)),
        "the new topic maps to the user"
    );
    save(&store, open(2, 10, 0)).await;
    assert_eq!(
        store
            .conversation_by_topic(TopicId(10))
            .await
            .expect("read")
            .map(|c| c.user),
        Some(UserId(2)),
        "a freed topic id may be given to another user"
    );
}

async fn a_topic_belongs_to_one_user<S: Store>(store: S) {
    save(&store, open(1, 10, 0)).await;
    let key = EventKey {
        kind: EventKind::User,
        chat: 2,
        message: 1,
        version: 0,
    };
    let refused = store
        .commit(Commit {
            conversation: Some(open(2, 10, 0)),
            links: vec![MessageLink {
                user: UserId(2),
                user_message: MessageId(1),
                topic_message: MessageId(99),
                origin: Origin::User,
            }],
            processed: Some(key),
        })
        .await;
    assert!(
        matches!(refused, Err(super::StoreError::Conflict { .. })),
        "a topic already owned by another user is refused with Conflict, got {refused:?}"
    );
    assert_eq!(
        store.conversation(UserId(2)).await.expect("read"),
        None,
        "nothing of it lands"
    );
    assert_eq!(
        store
            .link_by_topic_message(MessageId(99))
            .await
            .expect("read"),
        None,
        "no link of a refused commit lands"
    );
    assert!(
        !store.is_processed(&key).await.expect("read"),
        "no key of a refused commit lands"
    );
    assert_eq!(
        store
            .conversation_by_topic(TopicId(10))
            .await
            .expect("read")
            .map(|c| c.user),
        Some(UserId(1)),
        "the owner keeps the topic"
    );
}

async fn links_resolve_both_ways<S: Store>(store: S) {
    let link = MessageLink {
        user: UserId(1),
        user_message: MessageId(7),
        topic_message: MessageId(700),
        origin: Origin::User,
    };
    let back = MessageLink {
        user: UserId(1),
        user_message: MessageId(8),
        topic_message: MessageId(701),
        origin: Origin::Operator,
    };
    let other_user = MessageLink {
        user: UserId(2),
        topic_message: MessageId(702),
        ..link
    };
    store
        .commit(Commit {
            links: vec![link, back, other_user],
            ..Commit::default()
        })
        .await
        .expect("commit links");
    assert_eq!(
        store
            .link_by_user_message(UserId(1), MessageId(7))
            .await
            .expect("r"),
        Some(link)
    );
    assert_eq!(
        store
            .link_by_topic_message(MessageId(700))
            .await
            .expect("r"),
        Some(link)
    );
    assert_eq!(
        store
            .link_by_topic_message(MessageId(701))
            .await
            .expect("r"),
        Some(back)
    );
    assert_eq!(
        store
            .link_by_user_message(UserId(2), MessageId(7))
            .await
            .expect("r"),
        Some(other_user),
        "user-side message ids are per user"
    );
    assert_eq!(
        store
            .link_by_user_message(UserId(1), MessageId(9))
            .await
            .expect("r"),
        None
    );
}

async fn a_relinked_message_replaces_the_old_link<S: Store>(store: S) {
    let link = |user_message: i64, topic_message: i64| MessageLink {
        user: UserId(1),
        user_message: MessageId(user_message),
        topic_message: MessageId(topic_message),
        origin: Origin::User,
    };
    let commit = |l: MessageLink| Commit {
        links: vec![l],
        ..Commit::default()
    };
    store.commit(commit(link(7, 700))).await.expect("commit");
    store
        .commit(commit(link(7, 701)))
        .await
        .expect("relink the user side");
    assert_eq!(
        store
            .link_by_user_message(UserId(1), MessageId(7))
            .await
            .expect("r"),
        Some(link(7, 701))
    );
    assert_eq!(
        store
            .link_by_topic_message(MessageId(700))
            .await
            .expect("r"),
        None,
        "the replaced link's topic side no longer resolves"
    );
    store
        .commit(commit(link(8, 701)))
        .await
        .expect("relink the topic side");
    assert_eq!(
        store
            .link_by_topic_message(MessageId(701))
            .await
            .expect("r"),
        Some(link(8, 701))
    );
    assert_eq!(
        store
            .link_by_user_message(UserId(1), MessageId(7))
            .await
            .expect("r"),
        None,
        "the replaced link's user side no longer resolves"
    );
}

async fn a_full_commit_lands<S: Store>(store: S) {
    let mut conversation = open(9, 90, 1_000);
    conversation.start_payload = Some("campaign-7".into());
    conversation.pending = vec![MessageId(1), MessageId(2), MessageId(3)];
    let links: Vec<MessageLink> = (1..=3)
        .map(|m| MessageLink {
            user: UserId(9),
            user_message: MessageId(m),
            topic_message: MessageId(900 + m),
            origin: if m == 2 {
                Origin::Operator
            } else {
                Origin::User
            },
        })
        .collect();
    let key = EventKey {
        kind: EventKind::Host,
        chat: 9,
        message: 3,
        version: 77,
    };
    store
        .commit(Commit {
            conversation: Some(conversation.clone()),
            links: links.clone(),
            processed: Some(key),
        })
        .await
        .expect("a commit with every part");
    assert_eq!(
        store.conversation(UserId(9)).await.expect("r"),
        Some(conversation),
        "its conversation"
    );
    for link in links {
        assert_eq!(
            store
                .link_by_user_message(UserId(9), link.user_message)
                .await
                .expect("r"),
            Some(link)
        );
        assert_eq!(
            store
                .link_by_topic_message(link.topic_message)
                .await
                .expect("r"),
            Some(link)
        );
    }
    assert!(store.is_processed(&key).await.expect("r"), "its event key");
}

async fn processed_events_are_remembered<S: Store>(store: S) {
    let key = EventKey {
        kind: EventKind::User,
        chat: 1,
        message: 5,
        version: 1_700_000_000,
    };
    assert!(!store.is_processed(&key).await.expect("read"));
    store
        .commit(Commit {
            processed: Some(key),
            ..Commit::default()
        })
        .await
        .expect("commit");
    assert!(
        store.is_processed(&key).await.expect("read"),
        "a committed key is remembered"
    );
    for other in [
        EventKey {
            kind: EventKind::UserEdit,
            ..key
        },
        EventKey { chat: 2, ..key },
        EventKey { message: 6, ..key },
        EventKey { version: 1, ..key },
    ] {
        assert!(
            !store.is_processed(&other).await.expect("read"),
            "{other} is a different key"
        );
    }
    store
        .commit(Commit {
            processed: Some(key),
            ..Commit::default()
        })
        .await
        .expect(
            "committing a key twice is not an error (a redelivered event after a crash may do it)",
        );
}

async fn autoclose_finds_stale_support_answered<S: Store>(store: S) {
    let mut stale = open(1, 10, 100);
    stale.status = Status::SupportAnswered;
    let mut staler = open(2, 20, 50);
    staler.status = Status::SupportAnswered;
    let mut fresh = open(3, 30, 500);
    fresh.status = Status::SupportAnswered;
    let waiting = open(4, 40, 10);
    let mut closed = open(5, 50, 10);
    closed.status = Status::Closed;
    for c in [stale, staler, fresh, waiting, closed] {
        save(&store, c).await;
    }
    let due: Vec<UserId> = store
        .due_for_autoclose(Timestamp(200), 10)
        .await
        .expect("read")
        .into_iter()
        .map(|c| c.user)
        .collect();
    assert_eq!(
        due,
        vec![UserId(2), UserId(1)],
        "only 🟨 older than the cutoff, oldest first"
    );
    let limited = store
        .due_for_autoclose(Timestamp(200), 1)
        .await
        .expect("read");
    assert_eq!(limited.len(), 1, "the limit is respected");
}

async fn concurrent_commits_all_land<S: Store + 'static>(store: S) {
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for user in 1..=50_i64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut c = open(user, 1000 + user, 0);
            c.pending = vec![MessageId(user)];
            save(&*store, c).await;
            for m in 0..5_i64 {
                let link = MessageLink {
                    user: UserId(user),
                    user_message: MessageId(m),
                    topic_message: MessageId(user * 100 + m),
                    origin: Origin::User,
                };
                store
                    .commit(Commit {
                        links: vec![link],
                        ..Commit::default()
                    })
                    .await
                    .expect("concurrent link commit");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    for user in 1..=50_i64 {
        let c = store
            .conversation(UserId(user))
            .await
            .expect("read")
            .expect("every user landed");
        assert_eq!(c.topic, Some(TopicId(1000 + user)));
        for m in 0..5_i64 {
            assert!(
                store
                    .link_by_user_message(UserId(user), MessageId(m))
                    .await
                    .expect("r")
                    .is_some(),
                "every concurrent link landed"
            );
        }
    }
}

fn letter(key: &str, user: Option<i64>, attempts: u32, first: i64, last: i64) -> NewDeadLetter {
    NewDeadLetter {
        key: key.to_owned(),
        user: user.map(UserId),
        payload: format!(r#"{{"update_id":1,"message":{{"text":"{key} \u00e9 'quoted'"}}}}"#),
        error: format!("store backend failed: commit: attempt {attempts}"),
        attempts,
        first_failed: Timestamp(first),
        last_failed: Timestamp(last),
    }
}

async fn dead_letters_are_kept_until_removed<S: Store>(store: S) {
    assert!(
        store.dead_letters(10).await.expect("list").is_empty(),
        "an empty store has no dead letters"
    );
    let first = store
        .set_aside(letter("telegram:7", Some(5), 6, 100, 160))
        .await
        .expect("set aside");
    assert!(first.created, "a new key makes a new record");
    let second = store
        .set_aside(letter("telegram:9", None, 1, 200, 200))
        .await
        .expect("set aside");
    assert!(
        second.created && second.id != first.id,
        "each key has its own record"
    );

    let kept = store
        .dead_letter(first.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.key, "telegram:7");
    assert_eq!(kept.user, Some(UserId(5)));
    assert_eq!(
        kept.payload,
        letter("telegram:7", None, 0, 0, 0).payload,
        "the payload reads back byte for byte"
    );
    assert_eq!(
        (kept.attempts, kept.first_failed, kept.last_failed),
        (6, Timestamp(100), Timestamp(160))
    );

    // The same update set aside again (delivered again after a crash) adds to its record.
    let again = store
        .set_aside(letter("telegram:7", None, 2, 300, 320))
        .await
        .expect("set aside again");
    assert_eq!(again.id, first.id, "the same key keeps its record");
    assert!(!again.created, "and says it is not new");
    let kept = store
        .dead_letter_by_key("telegram:7")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.attempts, 8, "attempts add up");
    assert_eq!(kept.first_failed, Timestamp(100), "the first failure stays");
    assert_eq!(
        kept.last_failed,
        Timestamp(320),
        "the last failure is the newest"
    );
    assert_eq!(kept.user, Some(UserId(5)), "a known user is not forgotten");
    assert!(kept.error.contains("attempt 2"), "the newest error is kept");

    let listed: Vec<DeadLetterId> = store
        .dead_letters(10)
        .await
        .expect("list")
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(listed, [first.id, second.id], "listed oldest first");
    assert_eq!(
        store.dead_letters(1).await.expect("list").len(),
        1,
        "the limit holds"
    );

    assert!(
        store.remove_dead_letter(first.id).await.expect("remove"),
        "removed"
    );
    assert!(
        !store.remove_dead_letter(first.id).await.expect("remove"),
        "only once"
    );
    assert_eq!(store.dead_letter(first.id).await.expect("read"), None);
    assert_eq!(
        store.dead_letter_by_key("telegram:7").await.expect("read"),
        None
    );
    assert_eq!(store.dead_letters(10).await.expect("list").len(), 1);
}

fn fetched(upstream_id: i64) -> Fetched {
    Fetched {
        upstream_id,
        payload: format!(
            r#"{{"update_id":{upstream_id},"message":{{"text":"n\u00b0{upstream_id} 'quoted' \"x\""}}}}"#
        ),
    }
}

async fn the_update_log_numbers_and_keeps_updates<S: Store>(store: S) {
    let head = store.log_head().await.expect("head");
    assert_eq!(
        (head.last_id, head.last_upstream_id),
        (LogId::ZERO, None),
        "an empty log stands before its first id"
    );
    assert!(
        store
            .logged_updates(LogId::ZERO, 10)
            .await
            .expect("read")
            .is_empty()
    );
    let ids = store
        .append_updates(
            vec![fetched(900_000_100), fetched(900_000_101)],
            Timestamp(10),
        )
        .await
        .expect("append");
    assert_eq!(ids, [LogId(1), LogId(2)], "log ids count from 1 in order");
    // Telegram sent 101 again (its confirmation was lost) along with a new one.
    let ids = store
        .append_updates(
            vec![fetched(900_000_101), fetched(900_000_102)],
            Timestamp(11),
        )
        .await
        .expect("append");
    assert_eq!(
        ids,
        [LogId(2), LogId(3)],
        "an update already logged keeps its id and is not appended twice"
    );
    assert_eq!(
        store
            .append_updates(Vec::new(), Timestamp(12))
            .await
            .expect("append nothing"),
        Vec::<LogId>::new()
    );
    let head = store.log_head().await.expect("head");
    assert_eq!(
        (head.last_id, head.last_upstream_id),
        (LogId(3), Some(900_000_102))
    );
    let all = store.logged_updates(LogId::ZERO, 10).await.expect("read");
    assert_eq!(
        all.iter()
            .map(|l| (l.id, l.upstream_id))
            .collect::<Vec<_>>(),
        [
            (LogId(1), 900_000_100),
            (LogId(2), 900_000_101),
            (LogId(3), 900_000_102)
        ]
    );
    assert_eq!(
        all[1].payload,
        fetched(900_000_101).payload,
        "the payload reads back byte for byte"
    );
    assert_eq!(all[0].received, Timestamp(10));
    assert_eq!(all[2].received, Timestamp(11));
    let after_one = store.logged_updates(LogId(1), 1).await.expect("read");
    assert_eq!(
        after_one.iter().map(|l| l.id).collect::<Vec<_>>(),
        [LogId(2)],
        "read after an id, with a limit"
    );
}

async fn each_consumer_confirms_on_its_own<S: Store>(store: S) {
    assert_eq!(store.consumer("desk").await.expect("read"), None);
    store
        .append_updates(vec![fetched(1), fetched(2), fetched(3)], Timestamp(10))
        .await
        .expect("append");
    let desk = store
        .register_consumer("desk", LogId::ZERO)
        .await
        .expect("register");
    assert_eq!(desk.confirmed, LogId::ZERO);
    let late = store
        .register_consumer("late", LogId(3))
        .await
        .expect("register");
    assert_eq!(late.confirmed, LogId(3), "a consumer can start at the head");
    store
        .confirm_updates("desk", LogId(2))
        .await
        .expect("confirm");
    store
        .confirm_updates("desk", LogId(1))
        .await
        .expect("confirm an older id");
    let desk = store.consumer("desk").await.expect("read").expect("kept");
    assert_eq!(desk.confirmed, LogId(2), "a confirmation never moves back");
    let again = store
        .register_consumer("desk", LogId::ZERO)
        .await
        .expect("register again");
    assert_eq!(
        again.confirmed,
        LogId(2),
        "registering again leaves a consumer as it is"
    );
    assert_eq!(
        store
            .consumer("late")
            .await
            .expect("read")
            .expect("kept")
            .confirmed,
        LogId(3),
        "one consumer's confirmation is not another's"
    );
    let settings = r#"{"allowed_updates":["message"],"webhook":{"url":"http://127.0.0.1:1/h"}}"#;
    store
        .save_consumer_settings("bot", Some(settings.to_owned()))
        .await
        .expect("save settings");
    let bot = store
        .consumer("bot")
        .await
        .expect("read")
        .expect("registered by its settings");
    assert_eq!(bot.settings.as_deref(), Some(settings));
    assert_eq!(bot.confirmed, LogId::ZERO);
    store
        .confirm_updates("bot", LogId(1))
        .await
        .expect("confirm");
    let bot = store.consumer("bot").await.expect("read").expect("kept");
    assert_eq!(
        (bot.confirmed, bot.settings.as_deref()),
        (LogId(1), Some(settings)),
        "confirming keeps the settings"
    );
    store
        .save_consumer_settings("bot", None)
        .await
        .expect("clear");
    let bot = store.consumer("bot").await.expect("read").expect("kept");
    assert_eq!((bot.confirmed, bot.settings), (LogId(1), None));
}

async fn the_log_is_pruned_when_all_confirmed_or_expired<S: Store>(store: S) {
    store
        .register_consumer("desk", LogId::ZERO)
        .await
        .expect("register");
    store
        .register_consumer("bot", LogId::ZERO)
        .await
        .expect("register");
    store
        .append_updates(vec![fetched(10), fetched(11)], Timestamp(100))
        .await
        .expect("append");
    store
        .append_updates(vec![fetched(12), fetched(13)], Timestamp(200))
        .await
        .expect("append");
    store
        .confirm_updates("desk", LogId(4))
        .await
        .expect("confirm");
    store
        .confirm_updates("bot", LogId(1))
        .await
        .expect("confirm");
    assert_eq!(
        store.prune_updates(Timestamp(50)).await.expect("prune"),
        1,
        "only what every consumer confirmed goes"
    );
    let kept: Vec<LogId> = store
        .logged_updates(LogId::ZERO, 10)
        .await
        .expect("read")
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(kept, [LogId(2), LogId(3), LogId(4)]);
    assert_eq!(
        store.prune_updates(Timestamp(150)).await.expect("prune"),
        1,
        "an update past the retention goes, confirmed or not"
    );
    let kept: Vec<LogId> = store
        .logged_updates(LogId::ZERO, 10)
        .await
        .expect("read")
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(kept, [LogId(3), LogId(4)]);
    store
        .confirm_updates("bot", LogId(4))
        .await
        .expect("confirm");
    assert_eq!(store.prune_updates(Timestamp(0)).await.expect("prune"), 2);
    let head = store.log_head().await.expect("head");
    assert_eq!(
        (head.last_id, head.last_upstream_id),
        (LogId(4), Some(13)),
        "the head survives the pruning of everything"
    );
    let ids = store
        .append_updates(vec![fetched(14)], Timestamp(300))
        .await
        .expect("append");
    assert_eq!(ids, [LogId(5)], "ids are never reused");
}
