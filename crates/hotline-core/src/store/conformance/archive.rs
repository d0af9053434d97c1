//! Conformance checks of the archive block of [`Store`] (`ARCHIVE`).

use crate::ids::{MessageId, Timestamp, UserId};
use crate::message::{MessageKind, TextEntity};
use crate::store::{ArchiveRecord, Origin, Store};
use std::future::Future;

pub(super) async fn run_all<S, F, Fut>(make: &F)
where
    S: Store + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    archived_records_read_back_whole_in_order(make().await).await;
    a_record_written_twice_is_kept_once(make().await).await;
    archive_reads_filter_by_user_and_time_and_page(make().await).await;
    pruning_removes_only_older_records(make().await).await;
}

fn record(user: i64, origin: Origin, message: i64, time: i64) -> ArchiveRecord {
    ArchiveRecord {
        user: UserId(user),
        origin,
        message: MessageId(message),
        edit: 0,
        time: Timestamp(time),
        kind: MessageKind::Text,
        text: Some(format!("message {message}")),
        entities: Vec::new(),
        file_id: None,
        reply_to: None,
        media_group: None,
    }
}

async fn all<S: Store>(store: &S, user: i64) -> Vec<ArchiveRecord> {
    store
        .archived(UserId(user), Timestamp(0), None, 1_000)
        .await
        .expect("archived")
        .into_iter()
        .map(|a| a.record)
        .collect()
}

async fn archived_records_read_back_whole_in_order<S: Store>(store: S) {
    let mut photo = record(1, Origin::User, 5, 200);
    photo.kind = MessageKind::Photo;
    photo.text = Some("«caption» \u{1F600} 'quoted'".into());
    photo.entities = vec![TextEntity {
        offset: 0,
        length: 9,
        detail: r#"{"type":"bold"}"#.into(),
    }];
    photo.file_id = Some("AgACAgIAAxkBAAI".into());
    photo.reply_to = Some(MessageId(4));
    photo.media_group = Some("album-1".into());
    let mut edit = record(1, Origin::User, 5, 260);
    edit.edit = 260;
    edit.text = Some("edited".into());
    // Written later but dated earlier: the archive keeps the order of writing.
    let operator = record(1, Origin::Operator, 5, 150);
    let mut copied = record(1, Origin::Host, 7, 270);
    copied.kind = MessageKind::Other;
    copied.text = None;
    let written = vec![photo, edit, operator, copied];
    store
        .archive_write(written.clone())
        .await
        .expect("archive_write");
    assert_eq!(
        all(&store, 1).await,
        written,
        "archived records read back whole, in the order they were written \
         (one message id may appear once per origin and per version)"
    );
}

async fn a_record_written_twice_is_kept_once<S: Store>(store: S) {
    let first = record(1, Origin::User, 5, 200);
    store
        .archive_write(vec![first.clone()])
        .await
        .expect("archive_write");
    let mut again = first.clone();
    again.text = Some("written again".into());
    let mut edit = first.clone();
    edit.edit = 230;
    store
        .archive_write(vec![again, edit.clone()])
        .await
        .expect("archive_write a second time");
    assert_eq!(
        all(&store, 1).await,
        vec![first, edit],
        "a record whose (user, origin, message, edit) is archived is left as it is; an edit is \
         a record of its own"
    );
}

async fn archive_reads_filter_by_user_and_time_and_page<S: Store>(store: S) {
    let records: Vec<ArchiveRecord> = (1..=5)
        .map(|n| record(2, Origin::User, n, 100 * n))
        .chain([
            record(3, Origin::Operator, 1, 450),
            record(1, Origin::User, 1, 50),
        ])
        .collect();
    store.archive_write(records).await.expect("archive_write");
    assert_eq!(
        store.archive_users(Timestamp(0)).await.expect("users"),
        vec![UserId(1), UserId(2), UserId(3)],
        "every user with records, in id order"
    );
    assert_eq!(
        store.archive_users(Timestamp(400)).await.expect("users"),
        vec![UserId(2), UserId(3)],
        "only users with records since the time given"
    );
    let since = store
        .archived(UserId(2), Timestamp(200), None, 100)
        .await
        .expect("archived since");
    let messages: Vec<i64> = since.iter().map(|a| a.record.message.0).collect();
    assert_eq!(
        messages,
        vec![2, 3, 4, 5],
        "records dated since the time given"
    );
    let page = store
        .archived(UserId(2), Timestamp(0), None, 2)
        .await
        .expect("first page");
    assert_eq!(page.len(), 2, "at most `limit` records");
    let rest = store
        .archived(UserId(2), Timestamp(0), Some(page[1].id), 100)
        .await
        .expect("next page");
    let messages: Vec<i64> = rest.iter().map(|a| a.record.message.0).collect();
    assert_eq!(messages, vec![3, 4, 5], "reading on after the last id read");
    assert!(
        page[0].id < page[1].id && page[1].id < rest[0].id,
        "ids ascend in the order of writing"
    );
}

async fn pruning_removes_only_older_records<S: Store>(store: S) {
    store
        .archive_write(vec![
            record(1, Origin::User, 1, 100),
            record(1, Origin::Operator, 2, 199),
            record(1, Origin::User, 3, 200),
        ])
        .await
        .expect("archive_write");
    assert_eq!(
        store.archive_prune(Timestamp(200)).await.expect("prune"),
        2,
        "records dated before the cut are removed"
    );
    let kept: Vec<i64> = all(&store, 1).await.iter().map(|r| r.message.0).collect();
    assert_eq!(kept, vec![3], "records dated at or after the cut are kept");
}
