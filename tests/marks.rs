//! Marks through the fake Telegram: `/mark`, `/unmark` and `/marks` in users' topics, the tags
//! in the user card, refusals for operators `EXTENSIONS_ALLOWED` does not allow, and nothing of
//! it ever reaching the user. Asserted on what the topics and the users' chats hold.

mod common;

use common::{GROUP, OPERATOR, start};
use hotline_testkit::{MemberStatus, NewUser};

/// Waits for a notice in the topic that contains `text`; returns it.
async fn notice(d: &common::Desk, topic: i64, text: &str) -> String {
    d.wait(&format!("a notice with «{text}» in topic {topic}"), |d| {
        d.thread_texts(topic).iter().any(|t| t.contains(text))
    })
    .await;
    d.thread_texts(topic)
        .into_iter()
        .rfind(|t| t.contains(text))
        .expect("the notice")
}

/// A user `id` who wrote; their topic once their message is in it.
async fn user_in_topic(d: &common::Desk, id: i64, name: &str) -> i64 {
    let user = d.user(id, name);
    d.say(user, "hello");
    let topic = d.topic_of(user).await;
    d.wait_thread(topic, "hello").await;
    topic
}

/// Waits for the refusal of `/mark` that names `who` may use it.
async fn refused(d: &common::Desk, topic: i64, who: &str) {
    d.operator_says(topic, "/mark vip");
    notice(d, topic, &format!("/mark is only for {who}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_tag_users_and_see_the_tags_in_use() {
    let d = start(&[("WELCOME", "OFF")]).await;
    let (ann, bob) = (1001, 1002);
    let ann_topic = user_in_topic(&d, ann, "Ann").await;
    let bob_topic = user_in_topic(&d, bob, "Bob").await;

    // A plain member may not tag.
    refused(
        &d,
        ann_topic,
        "the group's creator and administrators (EXTENSIONS_ALLOWED)",
    )
    .await;

    d.tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .expect("an admin");
    d.operator_says(ann_topic, "/mark VIP, de");
    assert_eq!(notice(&d, ann_topic, "Tags: #").await, "🏷 Tags: #de #vip");
    d.operator_says(bob_topic, "/mark #vip churned");
    assert_eq!(
        notice(&d, bob_topic, "Tags: #").await,
        "🏷 Tags: #churned #vip"
    );
    d.operator_says(bob_topic, "/unmark churned");
    notice(&d, bob_topic, "🏷 Tags: #vip").await;

    d.operator_says(bob_topic, "/mark two+words");
    let refused = notice(&d, bob_topic, "/mark: ").await;
    assert!(
        refused.contains("`two+words` holds `+`") && refused.contains("Nothing was changed"),
        "{refused}"
    );

    d.operator_says(ann_topic, "/marks");
    assert_eq!(
        notice(&d, ann_topic, "Tags in use").await,
        "🏷 Tags in use (users): #de 1, #vip 2"
    );
    d.operator_says(ann_topic, "/info");
    let card = notice(&d, ann_topic, "👤 Ann").await;
    assert!(card.ends_with("Tags: #de #vip"), "{card}");

    for user in [ann, bob] {
        assert!(
            d.user_sees(user)
                .iter()
                .all(|t| !t.contains("Tags") && !t.contains("mark")),
            "nothing of the tags reaches the user: {:?}",
            d.user_sees(user)
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_allowed_names_who_may_tag_whatever_their_role() {
    let d = start(&[("WELCOME", "OFF"), ("EXTENSIONS_ALLOWED", "2002")]).await;
    d.tg.add_user(NewUser::new(2002, "Petra"));
    d.tg.add_member(GROUP, 2002).expect("a plain member");
    // An administrator not on the list is refused.
    d.tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .expect("an admin");
    let topic = user_in_topic(&d, 1001, "Ann").await;
    refused(&d, topic, "the operators EXTENSIONS_ALLOWED lists").await;
    d.tg.send_message(hotline_testkit::NewMessage::text(2002, GROUP, "/mark vip").thread(topic))
        .expect("Petra's command");
    notice(&d, topic, "🏷 Tags: #vip").await;
    d.stop().await;
}

/// A user of the segment table: id, language, /start payload, tags, banned, blocked.
type Someone = (
    i64,
    &'static str,
    Option<&'static str>,
    &'static str,
    bool,
    bool,
);

/// The number of users `/segment QUERY` reports in the topic (its answer names the segment
/// as the desk read it: `shown`).
async fn segment_size(d: &common::Desk, topic: i64, query: &str, shown: &str) -> usize {
    d.operator_says(topic, &format!("/segment {query}"));
    let answer = notice(d, topic, &format!("user(s) in `{shown}`")).await;
    answer
        .trim_start_matches("👥 ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_select_exactly_the_intended_users() {
    let d = start(&[("WELCOME", "OFF"), ("BAN_ALLOWED", "everyone")]).await;
    d.tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .expect("an admin");
    let users: [Someone; 7] = [
        (1001, "de", None, "vip", false, false),
        (1002, "en", None, "vip", false, false),
        (1003, "de-AT", None, "", false, false),
        (1004, "en", Some("promo42"), "churned", false, false),
        (1005, "de", None, "vip", true, false),
        (1006, "en", None, "vip", false, true),
        (1007, "fr", Some("promo42"), "vip churned", false, false),
    ];
    let mut topics = Vec::new();
    for (id, lang, payload, tags, banned, blocked) in users {
        d.tg.add_user(NewUser::new(id, "U").language_code(lang));
        let first = payload.map_or_else(|| "hello".to_owned(), |p| format!("/start {p}"));
        d.say(id, &first);
        let topic = d.topic_of(id).await;
        d.wait_thread(topic, &first).await;
        if !tags.is_empty() {
            d.operator_says(topic, &format!("/mark {tags}"));
            notice(&d, topic, "🏷 Tags: #").await;
        }
        if banned {
            d.operator_says(topic, "/ban");
            notice(&d, topic, "The user is banned").await;
        }
        if blocked {
            d.tg.block_user(id);
            d.operator_says(topic, "are you there?");
            // Told either way: the relay failed, or the desk knew already.
            notice(&d, topic, "has blocked the bot").await;
        }
        topics.push(topic);
    }
    d.operator_says(topics[2], "/close");
    let topic = topics[0];
    let cases: [(&str, &str, usize); 11] = [
        ("active:<1d", "active:<1d", 5),
        ("active:>1d, #nobody", "active:>1d, #nobody", 0),
        ("", "all", 5),
        ("#VIP", "#vip", 3),
        ("#vip lang:de", "#vip lang:de", 1),
        ("lang:de, start:promo42", "lang:de, start:promo42", 4),
        ("~#vip", "~#vip", 2),
        ("#churned ~lang:fr", "#churned ~lang:fr", 1),
        ("closed", "closed", 1),
        ("open lang:de", "open lang:de", 1),
        (
            "start:promo42 #vip #churned",
            "start:promo42 #vip #churned",
            1,
        ),
    ];
    for (query, shown, expected) in cases {
        assert_eq!(
            segment_size(&d, topic, query, shown).await,
            expected,
            "/segment {query}"
        );
    }
    d.operator_says(topic, "/segment #vip lang:");
    let refused = notice(&d, topic, "/segment: segment, term 2").await;
    assert!(refused.contains("a language code is missing"), "{refused}");
    d.stop().await;
}
