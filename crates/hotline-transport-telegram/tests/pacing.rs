//! Renames are merged and wait behind relayed messages, against the fake Telegram.

use hotline_core::{Action, ChatId, MessageId, Performed, TopicId, Transport};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use hotline_transport_telegram::{BotToken, Limits, TelegramClient, TelegramTransport};
use std::time::Duration;

const GROUP: i64 = -1_001_000_000_123;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renames_merge_and_give_way_to_relays() {
    let tg = FakeTelegram::start("42:PACING").await.unwrap();
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(7, "Ann"));
    let client = TelegramClient::new(&tg.api_url(), BotToken::new("42:PACING").unwrap()).unwrap();
    // A budget of one call a minute into the group, on a 60x clock: one call per second.
    let limits = Limits {
        per_group_per_minute: Some(1),
        ..Limits::telegram()
    }
    .with_time_scale(60.0);
    let transport = TelegramTransport::new(client, limits);
    let chat = ChatId(GROUP);

    let Performed::Topic(topic) = transport
        .perform(&Action::CreateTopic {
            chat,
            name: "🟪 Ann".into(),
        })
        .await
        .unwrap()
    else {
        panic!("a topic");
    };
    for name in ["🟨 Ann", "🟪 Ann", "🟨 Ann", "⬛ Ann"] {
        let done = transport
            .perform(&Action::RenameTopic {
                chat,
                topic,
                name: name.into(),
            })
            .await;
        assert_eq!(done.unwrap(), Performed::Done, "renames return at once");
    }
    let message = tg.send_message(NewMessage::text(7, 7, "relay me")).unwrap();
    let relay = Action::CopyToTopic {
        chat,
        topic: TopicId(topic.0),
        from: ChatId(7),
        messages: vec![MessageId(message["message_id"].as_i64().unwrap())],
        reply_to: None,
    };
    transport.perform(&relay).await.unwrap();
    tg.wait_for("the last name", Duration::from_secs(10), |t| {
        t.topics(GROUP)[0].name == "⬛ Ann"
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let order: Vec<String> = tg
        .calls()
        .into_iter()
        .filter(|c| c.method != "getUpdates")
        .map(|c| c.method)
        .collect();
    let renames = order.iter().filter(|m| *m == "editForumTopic").count();
    assert_eq!(renames, 1, "four renames merged into one call: {order:?}");
    assert_eq!(
        order,
        ["createForumTopic", "copyMessage", "editForumTopic"],
        "the relayed message went before the waiting rename"
    );
}
