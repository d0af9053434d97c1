//! The desk's behaviours, each proven on what the user and the operators see (MemoryTransport's
//! chats), numbered as in the core issue.

use hotline_core::{
    Action, ChatId, Config, ConfigBuilder, Desk, Event, Ignored, IncomingMessage, ManualClock,
    MemoryStore, MemoryTransport, Outcome, Sender, Status, Store, TextEntity, Timestamp, TopicId,
    TransportError, UserId, UserProfile, Welcome,
};
use std::sync::Arc;
use std::time::Duration;

const GROUP: ChatId = ChatId(-100_777);
const OPERATOR: UserId = UserId(9001);

struct World {
    desk: Desk,
    tg: Arc<MemoryTransport>,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
}

fn config() -> ConfigBuilder {
    Config::builder(GROUP)
}

fn world(config: ConfigBuilder) -> World {
    let tg = Arc::new(MemoryTransport::new());
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000)));
    let desk = Desk::builder(config.build().unwrap(), store.clone(), tg.clone())
        .clock(clock.clone())
        .build();
    World {
        desk,
        tg,
        store,
        clock,
    }
}

fn ann() -> UserProfile {
    UserProfile::new(1001, "Ann")
        .with_last_name("Lee")
        .with_username("ann")
        .with_language("en")
}

fn bob() -> UserProfile {
    UserProfile::new(1002, "Bob")
}

impl World {
    async fn user_says(&self, user: &UserProfile, text: &str) -> Outcome {
        let message = self.tg.user_writes(user.id, text);
        self.user_sent(user, message).await
    }

    /// Hands the desk a message the user already wrote.
    async fn user_sent(&self, user: &UserProfile, message: IncomingMessage) -> Outcome {
        self.desk
            .handle(Event::UserMessage {
                user: user.clone(),
                message,
            })
            .await
            .unwrap()
    }

    /// Hands the desk a message an operator already wrote in `topic`.
    async fn operator_sent(&self, topic: TopicId, message: IncomingMessage) -> Outcome {
        self.desk
            .handle(Event::OperatorMessage {
                chat: GROUP,
                topic: Some(topic),
                operator: OPERATOR,
                message,
            })
            .await
            .unwrap()
    }

    async fn operator_says(&self, topic: TopicId, text: &str) -> Outcome {
        let message = self.tg.operator_writes(GROUP, topic, OPERATOR, text);
        self.operator_sent(topic, message).await
    }

    async fn topic_of(&self, user: &UserProfile) -> TopicId {
        self.store
            .conversation(user.id)
            .await
            .unwrap()
            .and_then(|c| c.topic)
            .expect("a topic")
    }

    async fn status_of(&self, user: &UserProfile) -> Status {
        self.store
            .conversation(user.id)
            .await
            .unwrap()
            .expect("a conversation")
            .status
    }

    fn texts(&self, topic: TopicId) -> Vec<String> {
        self.tg.topic_texts(GROUP, topic)
    }

    fn topic_name(&self, topic: TopicId) -> String {
        self.tg
            .topics(GROUP)
            .into_iter()
            .find(|t| t.id == topic)
            .unwrap()
            .name
    }
}

// 1. No PRIVATE_KEYWORDS: a topic titled from the user's name, WELCOME with {title}, every
//    message copied in order.
#[tokio::test]
async fn first_message_opens_a_named_topic_greets_and_relays_in_order() {
    let w = world(config().welcome(Welcome::Text {
        text: "Hi {title}!".into(),
        markdown: false,
    }));
    for text in ["hello", "second", "third"] {
        assert_eq!(w.user_says(&ann(), text).await, Outcome::Relayed);
    }
    let topics = w.tg.topics(GROUP);
    assert_eq!(topics.len(), 1, "one topic for the user");
    assert_eq!(topics[0].name, "🟪 Ann Lee");
    assert_eq!(w.texts(topics[0].id), ["hello", "second", "third"]);
    assert_eq!(
        w.tg.texts_to_user(ann().id),
        ["Hi Ann Lee!"],
        "one greeting, name filled in"
    );
}

#[tokio::test]
async fn welcome_off_sends_nothing_to_the_user() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "hello").await;
    assert!(w.tg.texts_to_user(ann().id).is_empty());
    assert_eq!(w.texts(w.topic_of(&ann()).await), ["hello"]);
}

// 2. PRIVATE_KEYWORDS: nothing before activation; a match opens and relays, with context;
//    then everything is relayed until the topic closes; a closed topic needs a keyword again.
#[tokio::test]
async fn keywords_gate_activation_and_context_is_posted() {
    let w = world(
        config()
            .set(
                "PRIVATE_KEYWORDS",
                r#""operator","/help",["need","human"],["bill","~spam"]"#,
            )
            .unwrap()
            .context_messages(2),
    );
    for text in ["hi bot", "what are your prices?", "bill spam"] {
        assert_eq!(w.user_says(&ann(), text).await, Outcome::Remembered);
    }
    assert_eq!(w.tg.attempts(), 0, "no action at all before activation");
    assert!(w.tg.topics(GROUP).is_empty());

    assert_eq!(
        w.user_says(&ann(), "I NEED a Human").await,
        Outcome::Relayed
    );
    let topic = w.topic_of(&ann()).await;
    let texts = w.texts(topic);
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(
        texts[0].starts_with("⏮ Context") && texts[0].contains("last 2"),
        "{texts:?}"
    );
    assert_eq!(
        texts[1..],
        ["what are your prices?", "bill spam", "I NEED a Human"]
    );

    assert_eq!(
        w.user_says(&ann(), "no keyword here").await,
        Outcome::Relayed
    );
    assert_eq!(w.operator_says(topic, "/close").await, Outcome::Done);
    assert_eq!(w.status_of(&ann()).await, Status::Closed);
    assert!(w.tg.topics(GROUP)[0].closed);

    let before = w.tg.attempts();
    assert_eq!(
        w.user_says(&ann(), "thanks, bye").await,
        Outcome::Remembered
    );
    assert_eq!(
        w.tg.attempts(),
        before,
        "a closed topic needs a keyword again"
    );

    assert_eq!(w.user_says(&ann(), "/help@SomeBot").await, Outcome::Relayed);
    assert!(!w.tg.topics(GROUP)[0].closed, "reopened");
    assert_eq!(w.tg.topics(GROUP).len(), 1, "the same topic");
    let texts = w.texts(topic);
    assert_eq!(
        texts[texts.len() - 2..],
        ["thanks, bye", "/help@SomeBot"],
        "{texts:?}"
    );
    assert_eq!(
        w.tg.texts_to_user(ann().id).len(),
        2,
        "greeted at opening and at reopening"
    );
}

#[tokio::test]
async fn bill_without_spam_activates_but_bill_with_spam_does_not() {
    let w = world(
        config()
            .set("PRIVATE_KEYWORDS", r#"["bill","~spam"]"#)
            .unwrap(),
    );
    assert_eq!(w.user_says(&ann(), "BILL spam").await, Outcome::Remembered);
    assert_eq!(w.user_says(&bob(), "my bill").await, Outcome::Relayed);
}

// 3. The host bot hands a user over: same effect as a keyword.
#[tokio::test]
async fn hand_over_opens_the_topic_with_context() {
    let w = world(config().set("PRIVATE_KEYWORDS", r#""operator""#).unwrap());
    w.user_says(&ann(), "my order is late").await;
    assert_eq!(w.desk.hand_over(ann()).await.unwrap(), Outcome::Done);
    let topic = w.topic_of(&ann()).await;
    let texts = w.texts(topic);
    assert!(texts[0].starts_with("⏮ Context"), "{texts:?}");
    assert_eq!(texts[1], "my order is late");
    assert!(texts[2].contains("asked to talk to a human"), "{texts:?}");
    assert_eq!(w.tg.texts_to_user(ann().id).len(), 1, "greeted");
    assert_eq!(
        w.user_says(&ann(), "hello?").await,
        Outcome::Relayed,
        "active afterwards"
    );
}

// 4. INTERCEPT_EXTERNAL.
#[tokio::test]
async fn host_messages_are_mirrored_only_into_open_topics() {
    let w = world(config());
    let early = w.tg.host_sends(ann().id, "Welcome to our shop!");
    let outcome = w
        .desk
        .handle(Event::HostMessage {
            user: ann().id,
            message: early,
        })
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Ignored(Ignored::NotIntercepted),
        "no topic yet"
    );

    w.user_says(&ann(), "hi").await;
    let reply = w.tg.host_sends(ann().id, "Our prices are on the site.");
    let outcome = w
        .desk
        .handle(Event::HostMessage {
            user: ann().id,
            message: reply,
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Relayed);
    let topic = w.topic_of(&ann()).await;
    assert_eq!(
        w.texts(topic),
        ["hi", "🤖 Bot:\nOur prices are on the site."]
    );

    let off = world(config().intercept_external(false));
    off.user_says(&ann(), "hi").await;
    let reply = off.tg.host_sends(ann().id, "FAQ");
    let outcome = off
        .desk
        .handle(Event::HostMessage {
            user: ann().id,
            message: reply,
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Ignored(Ignored::NotIntercepted));
    assert_eq!(off.texts(off.topic_of(&ann()).await), ["hi"]);
}

// 4b. Interception of albums and of copies: one call into the topic each, in the user's order.
#[tokio::test]
async fn host_albums_and_copies_are_mirrored_in_one_call_each() {
    let w = world(config());
    w.user_says(&ann(), "hi").await;
    let bold = TextEntity {
        offset: 0,
        length: 4,
        detail: r#"{"type":"bold"}"#.into(),
    };
    let mut first = w.tg.host_sends(ann().id, "Shop photos");
    first.entities = vec![bold.clone()];
    let second = w.tg.host_sends(ann().id, "");
    let album = vec![first.clone(), second.clone()];
    let outcome = w
        .desk
        .handle(Event::HostAlbum {
            user: ann().id,
            messages: album,
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Relayed);
    let copied = w.tg.host_sends(ann().id, "copied by the host");
    let outcome = w
        .desk
        .handle(Event::HostCopied {
            user: ann().id,
            messages: vec![copied.id],
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Relayed);

    let mirrors: Vec<Action> =
        w.tg.performed()
            .into_iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::CopyToTopic { .. }
                        | Action::EditCopy { .. }
                        | Action::ForwardToTopic { .. }
                )
            })
            .skip(1) // Ann's "hi"
            .collect();
    let [
        Action::CopyToTopic { messages, .. },
        Action::EditCopy { text, entities, .. },
        Action::ForwardToTopic {
            messages: forwarded,
            ..
        },
    ] = mirrors.as_slice()
    else {
        panic!("one copy of the album, its mark, one forward: {mirrors:?}");
    };
    assert_eq!(messages, &[first.id, second.id]);
    assert_eq!(text, "🤖 Bot:\nShop photos");
    assert_eq!(entities, &[bold.shifted(8)], "formatting behind the mark");
    assert_eq!(forwarded, &[copied.id]);
}

// 5. Operator → user: copies, internal comments, REPLY_ONLY, replies follow message links.
#[tokio::test]
async fn operator_messages_reach_the_user_with_replies_linked() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    let question = w.tg.user_writes(ann().id, "Where is my order?");
    w.user_sent(&ann(), question.clone()).await;
    let topic = w.topic_of(&ann()).await;
    let copy_in_topic = w.tg.topic_messages(GROUP, topic)[0].id;

    assert_eq!(w.operator_says(topic, "Hello Ann!").await, Outcome::Relayed);
    assert_eq!(
        w.operator_says(topic, "/ she ordered twice").await,
        Outcome::Ignored(Ignored::InternalComment)
    );
    let reply =
        w.tg.operator_replies(GROUP, topic, OPERATOR, copy_in_topic, "It ships today.");
    let outcome = w.operator_sent(topic, reply).await;
    assert_eq!(outcome, Outcome::Relayed);

    let at_user: Vec<_> =
        w.tg.messages(ann().id.chat())
            .into_iter()
            .filter(|m| m.sender == Sender::Bot)
            .collect();
    assert_eq!(at_user.len(), 2, "the comment stayed in the topic");
    assert_eq!(at_user[0].text.as_deref(), Some("Hello Ann!"));
    assert_eq!(at_user[1].text.as_deref(), Some("It ships today."));
    assert_eq!(
        at_user[1].reply_to,
        Some(question.id),
        "a reply to the user's own message"
    );
    assert_eq!(w.status_of(&ann()).await, Status::SupportAnswered);
    assert_eq!(w.topic_name(topic), "🟨 Ann Lee");

    // The user replies to the operator's copy: it arrives in the topic as a reply to the original.
    let user_reply = w.tg.user_replies(ann().id, at_user[0].id, "Thanks!");
    w.user_sent(&ann(), user_reply).await;
    let last = w.tg.topic_messages(GROUP, topic).pop().unwrap();
    let operator_original =
        w.tg.topic_messages(GROUP, topic)
            .into_iter()
            .find(|m| m.text.as_deref() == Some("Hello Ann!"))
            .unwrap();
    assert_eq!(last.reply_to, Some(operator_original.id));
    assert_eq!(w.topic_name(topic), "🟪 Ann Lee");
}

#[tokio::test]
async fn reply_only_sends_only_replies_to_the_user() {
    let w = world(config().reply_only(true).set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "question").await;
    let topic = w.topic_of(&ann()).await;
    assert_eq!(
        w.operator_says(topic, "chatting with colleagues").await,
        Outcome::Ignored(Ignored::InternalComment)
    );
    let copy = w.tg.topic_messages(GROUP, topic)[0].id;
    let reply =
        w.tg.operator_replies(GROUP, topic, OPERATOR, copy, "answer");
    w.operator_sent(topic, reply).await;
    assert_eq!(w.tg.texts_to_user(ann().id), ["answer"]);
}

// 6. Edits, both ways.
#[tokio::test]
async fn edits_update_the_copies() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    let original = w.tg.user_writes(ann().id, "helo");
    w.user_sent(&ann(), original.clone()).await;
    let topic = w.topic_of(&ann()).await;
    let edited = w.tg.edit(ann().id.chat(), original.id, "hello").unwrap();
    let outcome = w
        .desk
        .handle(Event::UserEdited {
            user: ann().id,
            message: edited,
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Relayed);
    assert_eq!(w.texts(topic), ["hello"]);

    let answer = w.tg.operator_writes(GROUP, topic, OPERATOR, "hi thre");
    w.operator_sent(topic, answer.clone()).await;
    let edited = w.tg.edit(GROUP, answer.id, "hi there").unwrap();
    let outcome = w
        .desk
        .handle(Event::OperatorEdited {
            chat: GROUP,
            topic: Some(topic),
            message: edited,
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Relayed);
    let at_user = w.tg.messages(ann().id.chat());
    assert_eq!(at_user.last().unwrap().text.as_deref(), Some("hi there"));
    assert!(at_user.last().unwrap().edited);
}

// 7. A deleted topic is recreated, the mapping updated, the message resent.
#[tokio::test]
async fn a_deleted_topic_is_recreated_and_nothing_is_lost() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "first").await;
    let old = w.topic_of(&ann()).await;
    w.tg.delete_topic(GROUP, old);
    assert_eq!(w.user_says(&ann(), "second").await, Outcome::Relayed);
    let new = w.topic_of(&ann()).await;
    assert_ne!(old, new, "the mapping moved to a new topic");
    let texts = w.texts(new);
    assert!(texts[0].contains("previous topic"), "{texts:?}");
    assert_eq!(texts[1], "second", "the same message was resent");
    assert_eq!(w.operator_says(new, "we are here").await, Outcome::Relayed);
    assert_eq!(w.tg.texts_to_user(ann().id), ["we are here"]);
    assert_eq!(
        w.operator_says(old, "old topic").await,
        Outcome::Ignored(Ignored::UnknownTopic),
        "the old topic maps to nobody"
    );
}

#[tokio::test]
async fn host_mirror_into_a_deleted_topic_recreates_it() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "first").await;
    w.tg.delete_topic(GROUP, w.topic_of(&ann()).await);
    let m = w.tg.host_sends(ann().id, "bot says");
    assert_eq!(
        w.desk
            .handle(Event::HostMessage {
                user: ann().id,
                message: m
            })
            .await
            .unwrap(),
        Outcome::Relayed
    );
    assert_eq!(
        w.texts(w.topic_of(&ann()).await).last().unwrap(),
        "🤖 Bot:\nbot says"
    );
}

// 8. The user blocked the bot: a notice in the topic, the user marked, no retry storm.
#[tokio::test]
async fn a_user_who_blocked_the_bot_is_marked_and_not_retried() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "hi").await;
    let topic = w.topic_of(&ann()).await;
    w.tg.block(ann().id);
    assert_eq!(
        w.operator_says(topic, "hello?").await,
        Outcome::Ignored(Ignored::UserBlocked)
    );
    assert!(
        w.store
            .conversation(ann().id)
            .await
            .unwrap()
            .unwrap()
            .blocked
    );
    let attempts = w.tg.attempts();
    assert_eq!(
        w.operator_says(topic, "anyone?").await,
        Outcome::Ignored(Ignored::UserBlocked)
    );
    let copies_tried = w.tg.attempts() - attempts;
    assert_eq!(copies_tried, 1, "only the notice, no further copy attempt");
    let texts = w.texts(topic);
    assert!(
        texts
            .iter()
            .filter(|t| t.contains("blocked the bot"))
            .count()
            >= 2,
        "{texts:?}"
    );

    // Writing again means they unblocked: relaying resumes.
    w.tg.unblock(ann().id);
    w.user_says(&ann(), "sorry, I'm back").await;
    assert_eq!(
        w.operator_says(topic, "welcome back").await,
        Outcome::Relayed
    );
    assert_eq!(w.tg.texts_to_user(ann().id), ["welcome back"]);
}

#[tokio::test]
async fn the_blocked_event_tells_the_operators() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "hi").await;
    w.desk
        .handle(Event::UserBlocked { user: ann().id })
        .await
        .unwrap();
    let topic = w.topic_of(&ann()).await;
    assert!(w.texts(topic).last().unwrap().contains("blocked the bot"));
    assert_eq!(
        w.operator_says(topic, "hello?").await,
        Outcome::Ignored(Ignored::UserBlocked)
    );
}

// 9. Rate limited: retried after N, the same user's later messages wait, other users go on.
#[tokio::test(start_paused = true)]
async fn a_rate_limited_user_waits_in_order_while_others_go_on() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "a0").await;
    w.user_says(&bob(), "b0").await;
    let ann_topic = w.topic_of(&ann()).await;
    w.tg.fail_next(
        1,
        TransportError::RetryAfter(Duration::from_secs(30)),
        move |a| matches!(a, Action::CopyToTopic { topic, .. } if *topic == ann_topic),
    );
    let start = tokio::time::Instant::now();
    let mut tickets = Vec::new();
    for (user, text) in [(ann(), "a1"), (ann(), "a2"), (bob(), "b1"), (bob(), "b2")] {
        let message = w.tg.user_writes(user.id, text);
        tickets.push(w.desk.dispatch(Event::UserMessage { user, message }));
    }
    for t in tickets {
        assert_eq!(t.await.unwrap(), Outcome::Relayed);
    }
    assert!(start.elapsed() >= Duration::from_secs(30), "waited as told");
    assert_eq!(
        w.texts(ann_topic),
        ["a0", "a1", "a2"],
        "order kept, nothing lost"
    );
    // Bob's messages went through while Ann waited: they come before Ann's in the group.
    let group: Vec<String> =
        w.tg.messages(GROUP)
            .into_iter()
            .filter_map(|m| m.text)
            .collect();
    let pos = |t: &str| group.iter().position(|x| x == t).unwrap();
    assert!(pos("b1") < pos("a1") && pos("b2") < pos("a1"), "{group:?}");
}

// 10. 1,000 users × 10 messages at once: 1,000 topics, each with its 10 in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_users_at_once_get_a_topic_each_in_order() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    let users: Vec<UserProfile> = (0..1000)
        .map(|i| UserProfile::new(10_000 + i, format!("User {i}")))
        .collect();
    let mut tickets = Vec::new();
    for m in 0..10 {
        for user in &users {
            let message = w.tg.user_writes(user.id, &format!("{} #{m}", user.id));
            tickets.push(w.desk.dispatch(Event::UserMessage {
                user: user.clone(),
                message,
            }));
        }
    }
    for t in tickets {
        assert_eq!(t.await.unwrap(), Outcome::Relayed);
    }
    assert_eq!(w.tg.topics(GROUP).len(), 1000, "exactly one topic per user");
    for user in &users {
        let expected: Vec<String> = (0..10).map(|m| format!("{} #{m}", user.id)).collect();
        assert_eq!(w.texts(w.topic_of(user).await), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_messages_of_one_user_make_one_topic() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (desk, tg) = (w.desk.clone(), w.tg.clone());
        tasks.push(tokio::spawn(async move {
            let message = tg.user_writes(ann().id, &format!("m{i}"));
            desk.handle(Event::UserMessage {
                user: ann(),
                message,
            })
            .await
            .unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Outcome::Relayed);
    }
    assert_eq!(w.tg.topics(GROUP).len(), 1);
    assert_eq!(w.texts(w.topic_of(&ann()).await).len(), 20);
}

// 11. Traffic from elsewhere is ignored; users receive only their own topic's messages.
#[tokio::test]
async fn traffic_outside_users_topics_is_ignored() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "hi").await;
    w.user_says(&bob(), "hey").await;
    let ann_topic = w.topic_of(&ann()).await;
    let attempts = w.tg.attempts();

    let elsewhere =
        w.tg.operator_writes(ChatId(-100_999), ann_topic, OPERATOR, "other group");
    let general = w.tg.operator_writes(GROUP, TopicId(1), OPERATOR, "general");
    let cases = [
        (
            Event::OperatorMessage {
                chat: ChatId(-100_999),
                topic: Some(ann_topic),
                operator: OPERATOR,
                message: elsewhere,
            },
            Ignored::OtherChat,
        ),
        (
            Event::OperatorMessage {
                chat: GROUP,
                topic: None,
                operator: OPERATOR,
                message: general.clone(),
            },
            Ignored::NotInTopic,
        ),
        (
            Event::OperatorMessage {
                chat: GROUP,
                topic: Some(TopicId(4242)),
                operator: OPERATOR,
                message: general,
            },
            Ignored::UnknownTopic,
        ),
    ];
    for (event, why) in cases {
        assert_eq!(w.desk.handle(event).await.unwrap(), Outcome::Ignored(why));
    }
    assert_eq!(w.tg.attempts(), attempts, "no action for foreign traffic");

    w.operator_says(ann_topic, "for Ann only").await;
    assert_eq!(w.tg.texts_to_user(ann().id), ["for Ann only"]);
    assert!(
        w.tg.texts_to_user(bob().id).is_empty(),
        "Bob got nothing from Ann's topic"
    );
}

#[tokio::test]
async fn ignored_and_banned_users_are_not_relayed() {
    let w = world(
        config()
            .set("IGNORE_CHATS", "1002")
            .unwrap()
            .set("WELCOME", "OFF")
            .unwrap(),
    );
    assert_eq!(
        w.user_says(&bob(), "spam").await,
        Outcome::Ignored(Ignored::NotAccepted)
    );
    w.user_says(&ann(), "hi").await;
    let topic = w.topic_of(&ann()).await;
    assert_eq!(w.operator_says(topic, "/ban").await, Outcome::Done);
    assert_eq!(
        w.user_says(&ann(), "let me in").await,
        Outcome::Ignored(Ignored::Banned)
    );
    assert_eq!(w.operator_says(topic, "/unban").await, Outcome::Done);
    assert_eq!(w.user_says(&ann(), "thanks").await, Outcome::Relayed);
    let texts = w.texts(topic);
    assert!(!texts.contains(&"let me in".to_owned()), "{texts:?}");
    assert_eq!(w.tg.topics(GROUP).len(), 1, "nothing for the ignored user");
}

#[tokio::test]
async fn a_redelivered_event_is_not_relayed_twice() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    let message = w.tg.user_writes(ann().id, "once");
    let event = Event::UserMessage {
        user: ann(),
        message,
    };
    assert_eq!(
        w.desk.handle(event.clone()).await.unwrap(),
        Outcome::Relayed
    );
    assert_eq!(w.desk.handle(event).await.unwrap(), Outcome::AlreadyHandled);
    assert_eq!(w.texts(w.topic_of(&ann()).await), ["once"]);
}

#[tokio::test]
async fn support_answered_topics_close_after_autoclose_and_reopen_on_a_new_message() {
    let w = world(
        config()
            .set("AUTOCLOSE", "48")
            .unwrap()
            .set("WELCOME", "Hello {title}")
            .unwrap(),
    );
    w.user_says(&ann(), "hi").await;
    let topic = w.topic_of(&ann()).await;
    w.operator_says(topic, "answered").await;
    w.clock.advance(47 * 3600);
    w.desk.tick().await.unwrap();
    assert_eq!(w.status_of(&ann()).await, Status::SupportAnswered);
    w.clock.advance(3600);
    w.desk.tick().await.unwrap();
    assert_eq!(w.status_of(&ann()).await, Status::Closed);
    assert_eq!(w.topic_name(topic), "⬛ Ann Lee");
    assert!(w.tg.topics(GROUP)[0].closed);

    w.user_says(&ann(), "one more thing").await;
    assert_eq!(w.status_of(&ann()).await, Status::UserAnswered);
    assert_eq!(w.topic_name(topic), "🟪 Ann Lee");
    assert_eq!(
        w.tg.texts_to_user(ann().id)
            .iter()
            .filter(|t| t.starts_with("Hello"))
            .count(),
        2
    );
}

#[tokio::test]
async fn topics_closed_by_hand_are_noticed() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "hi").await;
    let topic = w.topic_of(&ann()).await;
    w.desk
        .handle(Event::TopicClosed { chat: GROUP, topic })
        .await
        .unwrap();
    assert_eq!(w.status_of(&ann()).await, Status::Closed);
    w.desk
        .handle(Event::TopicReopened { chat: GROUP, topic })
        .await
        .unwrap();
    assert_eq!(w.status_of(&ann()).await, Status::UserAnswered);
}

#[tokio::test]
async fn albums_are_copied_in_one_action_and_linked() {
    let w = world(config().set("WELCOME", "OFF").unwrap());
    let messages: Vec<_> = (0..3)
        .map(|i| {
            w.tg.user_sends_media(ann().id, (i == 0).then_some("my photos"))
        })
        .collect();
    w.desk
        .handle(Event::UserAlbum {
            user: ann(),
            messages: messages.clone(),
        })
        .await
        .unwrap();
    let copies =
        w.tg.performed()
            .into_iter()
            .filter(|a| matches!(a, Action::CopyToTopic { .. }))
            .count();
    assert_eq!(copies, 1, "one call for the whole album");
    let topic = w.topic_of(&ann()).await;
    assert_eq!(
        w.tg.topic_messages(GROUP, topic)
            .iter()
            .filter(|m| m.has_media)
            .count(),
        3
    );
    let link = w
        .store
        .link_by_user_message(ann().id, messages[2].id)
        .await
        .unwrap();
    assert!(link.is_some(), "every album message is linked");
}

#[tokio::test]
async fn start_payload_and_auto_info_card() {
    let w = world(config().auto_info(true).set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "/start promo42").await;
    let topic = w.topic_of(&ann()).await;
    let texts = w.texts(topic);
    assert!(
        texts[0].contains("Ann Lee") && texts[0].contains("@ann"),
        "{texts:?}"
    );
    assert!(
        texts[0].contains("promo42") && texts[0].contains("Language: en"),
        "{texts:?}"
    );
    assert_eq!(texts[1], "/start promo42");
}

#[tokio::test]
async fn a_greeting_that_cannot_be_sent_does_not_stop_the_relay() {
    let w = world(config());
    w.tg.fail_next(
        1,
        TransportError::BadRequest("wrong file identifier".into()),
        |a| {
            matches!(
                a,
                Action::SendNotice {
                    to: hotline_core::Recipient::User(_),
                    ..
                }
            )
        },
    );
    assert_eq!(w.user_says(&ann(), "hello").await, Outcome::Relayed);
    assert_eq!(w.texts(w.topic_of(&ann()).await), ["hello"]);
}

#[tokio::test]
async fn ban_takes_the_right_to_ban_as_the_transport_reports_it() {
    use hotline_core::MemberRole;
    let w = world(config().set("WELCOME", "OFF").unwrap());
    w.user_says(&ann(), "hi").await;
    let topic = w.topic_of(&ann()).await;
    for role in [
        MemberRole::Member,
        MemberRole::Administrator { can_ban: false },
    ] {
        w.tg.set_member(GROUP, OPERATOR, role);
        assert_eq!(w.operator_says(topic, "/ban").await, Outcome::Done);
        assert!(
            w.texts(topic).last().unwrap().contains("BAN_ALLOWED"),
            "{role:?}: {:?}",
            w.texts(topic)
        );
        assert_eq!(w.user_says(&ann(), "still here").await, Outcome::Relayed);
    }
    assert!(w.tg.performed().iter().any(|a| matches!(
        a,
        Action::CheckMember { chat, user } if *chat == GROUP && *user == OPERATOR
    )));
    w.tg.set_member(GROUP, OPERATOR, MemberRole::Creator);
    w.operator_says(topic, "/ban").await;
    assert_eq!(
        w.user_says(&ann(), "let me in").await,
        Outcome::Ignored(Ignored::Banned)
    );
}
