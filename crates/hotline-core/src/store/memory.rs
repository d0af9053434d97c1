//! `MemoryStore`: the whole state in process memory, for tests, benchmarks and the sandbox.

use super::{
    ArchiveId, ArchiveRecord, Archived, Commit, Consumer, Conversation, DeadLetter, DeadLetterId,
    Fetched, LogHead, LogId, Logged, MessageLink, NewDeadLetter, NewOutboxEntry, OutboxEntry,
    OutboxId, SetAside, Status, Store, StoreError, Tag,
};
use super::{Delivery, Mailing, MailingCounts, MailingId, MailingState, Panel};
use crate::event::EventKey;
use crate::ids::{MessageId, Timestamp, TopicId, UserId};
use async_trait::async_trait;
use foldhash::{HashMap, HashSet};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

/// A [`Store`] in process memory. Nothing survives a restart: use a SQL store in production.
///
/// One mutex guards everything, so a [`Commit`] is trivially atomic; every operation holds it for
/// a few map look-ups only, never across an `.await`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

/// The maps hash with foldhash rather than the standard SipHash: their keys are ids Telegram
/// assigns, not text a user chooses, and a relayed message looks up and inserts several of them.
#[derive(Debug, Default)]
struct Inner {
    // Kept encoded (postcard): one small allocation per user instead of a struct and five
    // strings, and a map entry the size of a pointer rather than of a conversation.
    // This is what keeps the memory per user small (the memory bench's figure is in
    // docs/benchmarks.md); reading one back costs the same allocations a clone would. Ordered
    // by id: paging through every user (exports, segments) reads a range, not a sort of all.
    conversations: BTreeMap<UserId, Packed>,
    by_topic: HashMap<TopicId, UserId>,
    user_links: HashMap<(UserId, MessageId), MessageLink>,
    topic_links: HashMap<MessageId, MessageLink>,
    processed: HashSet<EventKey>,
    dead_letters: BTreeMap<DeadLetterId, DeadLetter>,
    next_dead_letter: i64,
    log: BTreeMap<LogId, Logged>,
    log_by_upstream: HashMap<i64, LogId>,
    log_head: LogHead,
    consumers: BTreeMap<String, Consumer>,
    outbox: BTreeMap<OutboxId, OutboxEntry>,
    next_outbox: i64,
    archive: BTreeMap<ArchiveId, ArchiveRecord>,
    archive_keys: HashSet<(UserId, super::Origin, MessageId, i64)>,
    next_archived: i64,
    tags: BTreeMap<UserId, std::collections::BTreeSet<Tag>>,
    mailings: BTreeMap<MailingId, (Mailing, BTreeMap<UserId, Delivery>)>,
    mailing_leases: HashMap<MailingId, (String, Timestamp)>,
    next_mailing: i64,
}

/// A conversation encoded with postcard.
#[derive(Debug)]
struct Packed(Box<[u8]>);

impl Packed {
    fn pack(conversation: &Conversation) -> Result<Self, StoreError> {
        postcard::to_allocvec(conversation)
            .map(|bytes| Packed(bytes.into_boxed_slice()))
            .map_err(|e| StoreError::corrupt("encoding a conversation").caused_by(e))
    }

    fn unpack(&self) -> Result<Conversation, StoreError> {
        postcard::from_bytes(&self.0)
            .map_err(|e| StoreError::corrupt("decoding a conversation").caused_by(e))
    }

    fn topic(&self) -> Option<TopicId> {
        self.unpack().ok().and_then(|c| c.topic)
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many users the store knows.
    pub fn len(&self) -> usize {
        self.lock().conversations.len()
    }

    /// Whether the store knows no user.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every conversation, in no particular order (for inspection in tests and the sandbox).
    pub fn conversations(&self) -> Vec<Conversation> {
        self.lock()
            .conversations
            .values()
            .filter_map(|c| c.unpack().ok())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock was held cannot leave a half-applied commit (commits validate
        // before they write), so a poisoned lock still guards consistent data.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn conversation(&self, user: UserId) -> Result<Option<Conversation>, StoreError> {
        self.lock()
            .conversations
            .get(&user)
            .map(Packed::unpack)
            .transpose()
    }

    async fn conversation_by_topic(
        &self,
        topic: TopicId,
    ) -> Result<Option<Conversation>, StoreError> {
        let inner = self.lock();
        inner
            .by_topic
            .get(&topic)
            .and_then(|user| inner.conversations.get(user))
            .map(Packed::unpack)
            .transpose()
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let mut inner = self.lock();
        // Validate everything first: a refused commit must leave no trace.
        if let Some(conversation) = &commit.conversation
            && let Some(topic) = conversation.topic
            && let Some(owner) = inner.by_topic.get(&topic)
            && *owner != conversation.user
        {
            return Err(StoreError::conflict(format!(
                "topic {topic} already belongs to user {owner}"
            )));
        }
        let packed = commit.conversation.as_ref().map(Packed::pack).transpose()?;
        if let (Some(conversation), Some(packed)) = (commit.conversation, packed) {
            let previous_topic = inner
                .conversations
                .get(&conversation.user)
                .and_then(Packed::topic);
            if let Some(old) = previous_topic
                && Some(old) != conversation.topic
            {
                inner.by_topic.remove(&old);
            }
            if let Some(topic) = conversation.topic {
                inner.by_topic.insert(topic, conversation.user);
            }
            inner.conversations.insert(conversation.user, packed);
        }
        for link in commit.links {
            // Last write wins on both sides: a link that shares either end with an older one
            // replaces it whole, so no stale partner keeps resolving.
            if let Some(old) = inner.user_links.remove(&(link.user, link.user_message)) {
                inner.topic_links.remove(&old.topic_message);
            }
            if let Some(old) = inner.topic_links.remove(&link.topic_message) {
                inner.user_links.remove(&(old.user, old.user_message));
            }
            inner
                .user_links
                .insert((link.user, link.user_message), link);
            inner.topic_links.insert(link.topic_message, link);
        }
        if let Some(key) = commit.processed {
            inner.processed.insert(key);
        }
        Ok(())
    }

    async fn link_by_user_message(
        &self,
        user: UserId,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        Ok(self.lock().user_links.get(&(user, message)).copied())
    }

    async fn link_by_topic_message(
        &self,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        Ok(self.lock().topic_links.get(&message).copied())
    }

    async fn is_processed(&self, key: &EventKey) -> Result<bool, StoreError> {
        Ok(self.lock().processed.contains(key))
    }

    async fn due_for_autoclose(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let inner = self.lock();
        let mut due: Vec<Conversation> = inner
            .conversations
            .values()
            .filter_map(|c| c.unpack().ok())
            .filter(|c| {
                c.status == Status::SupportAnswered && c.topic.is_some() && c.status_since < before
            })
            .collect();
        due.sort_by_key(|c| (c.status_since, c.user));
        due.truncate(limit);
        Ok(due)
    }

    async fn set_aside(&self, letter: NewDeadLetter) -> Result<SetAside, StoreError> {
        let mut inner = self.lock();
        if let Some(kept) = inner
            .dead_letters
            .values_mut()
            .find(|d| d.key == letter.key)
        {
            kept.absorb(letter);
            return Ok(SetAside {
                id: kept.id,
                created: false,
            });
        }
        inner.next_dead_letter += 1;
        let id = DeadLetterId(inner.next_dead_letter);
        inner.dead_letters.insert(id, DeadLetter::new(id, letter));
        Ok(SetAside { id, created: true })
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self
            .lock()
            .dead_letters
            .values()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError> {
        Ok(self.lock().dead_letters.get(&id).cloned())
    }

    async fn dead_letter_by_key(&self, key: &str) -> Result<Option<DeadLetter>, StoreError> {
        Ok(self
            .lock()
            .dead_letters
            .values()
            .find(|d| d.key == key)
            .cloned())
    }

    async fn remove_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError> {
        Ok(self.lock().dead_letters.remove(&id).is_some())
    }

    async fn append_updates(
        &self,
        updates: Vec<Fetched>,
        received: Timestamp,
    ) -> Result<Vec<LogId>, StoreError> {
        let mut inner = self.lock();
        let fresh = updates
            .iter()
            .filter(|u| !inner.log_by_upstream.contains_key(&u.upstream_id))
            .count();
        if inner.log_head.last_id.0 + fresh as i64 > LogId::MAX.0 {
            return Err(StoreError::backend(
                "the update log has used every id below 2^31",
            ));
        }
        let mut ids = Vec::with_capacity(updates.len());
        for update in updates {
            if let Some(&id) = inner.log_by_upstream.get(&update.upstream_id) {
                ids.push(id);
                continue;
            }
            let id = inner.log_head.last_id.next();
            inner.log_head = LogHead {
                last_id: id,
                last_upstream_id: Some(update.upstream_id),
            };
            inner.log_by_upstream.insert(update.upstream_id, id);
            inner.log.insert(
                id,
                Logged {
                    id,
                    upstream_id: update.upstream_id,
                    payload: update.payload,
                    received,
                },
            );
            ids.push(id);
        }
        Ok(ids)
    }

    async fn logged_updates(&self, after: LogId, limit: usize) -> Result<Vec<Logged>, StoreError> {
        Ok(self
            .lock()
            .log
            .range(after.next()..)
            .take(limit)
            .map(|(_, logged)| logged.clone())
            .collect())
    }

    async fn log_head(&self) -> Result<LogHead, StoreError> {
        Ok(self.lock().log_head)
    }

    async fn consumer(&self, name: &str) -> Result<Option<Consumer>, StoreError> {
        Ok(self.lock().consumers.get(name).cloned())
    }

    async fn register_consumer(&self, name: &str, start: LogId) -> Result<Consumer, StoreError> {
        Ok(self
            .lock()
            .consumers
            .entry(name.to_owned())
            .or_insert_with(|| Consumer {
                name: name.to_owned(),
                confirmed: start,
                settings: None,
            })
            .clone())
    }

    async fn confirm_updates(&self, name: &str, upto: LogId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let consumer = inner
            .consumers
            .entry(name.to_owned())
            .or_insert_with(|| Consumer {
                name: name.to_owned(),
                confirmed: LogId::ZERO,
                settings: None,
            });
        consumer.confirmed = consumer.confirmed.max(upto);
        Ok(())
    }

    async fn save_consumer_settings(
        &self,
        name: &str,
        settings: Option<String>,
    ) -> Result<(), StoreError> {
        self.lock()
            .consumers
            .entry(name.to_owned())
            .or_insert_with(|| Consumer {
                name: name.to_owned(),
                confirmed: LogId::ZERO,
                settings: None,
            })
            .settings = settings;
        Ok(())
    }

    async fn prune_updates(&self, expired: Timestamp) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let confirmed_by_all = inner
            .consumers
            .values()
            .map(|c| c.confirmed)
            .min()
            .unwrap_or(LogId::MAX);
        let Inner {
            log,
            log_by_upstream,
            ..
        } = &mut *inner;
        let before = log.len();
        log.retain(|id, logged| {
            let keep = *id > confirmed_by_all && logged.received >= expired;
            if !keep {
                log_by_upstream.remove(&logged.upstream_id);
            }
            keep
        });
        Ok((before - log.len()) as u64)
    }

    // ---- Events out: the webhook outbox, figures for metrics. ----

    async fn outbox_push(&self, entries: Vec<NewOutboxEntry>) -> Result<Vec<OutboxId>, StoreError> {
        let mut inner = self.lock();
        let mut ids = Vec::with_capacity(entries.len());
        for entry in entries {
            inner.next_outbox += 1;
            let id = OutboxId(inner.next_outbox);
            inner.outbox.insert(
                id,
                OutboxEntry {
                    id,
                    endpoint: entry.endpoint,
                    lane: entry.lane,
                    event_id: entry.event_id,
                    payload: entry.payload,
                    created: entry.created,
                    attempts: 0,
                    next_attempt_ms: 0,
                    last_error: None,
                },
            );
            ids.push(id);
        }
        Ok(ids)
    }

    async fn outbox_heads(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let inner = self.lock();
        let mut seen = HashSet::default();
        Ok(inner
            .outbox
            .values()
            .filter(|e| seen.insert((e.endpoint.as_str(), e.lane)))
            .filter(|e| e.next_attempt_ms <= now_ms)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn outbox_delivered(&self, id: OutboxId) -> Result<bool, StoreError> {
        Ok(self.lock().outbox.remove(&id).is_some())
    }

    async fn outbox_postpone(
        &self,
        id: OutboxId,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        if let Some(entry) = self.lock().outbox.get_mut(&id) {
            entry.attempts = attempts;
            entry.next_attempt_ms = next_attempt_ms;
            entry.last_error = Some(error.to_owned());
        }
        Ok(())
    }

    async fn outbox_len(&self) -> Result<u64, StoreError> {
        Ok(self.lock().outbox.len() as u64)
    }

    async fn open_conversations(&self) -> Result<u64, StoreError> {
        let inner = self.lock();
        let mut open = 0;
        for packed in inner.conversations.values() {
            if packed.unpack()?.is_open() {
                open += 1;
            }
        }
        Ok(open)
    }

    // ---- Marks. ----

    async fn set_tag(&self, user: UserId, tag: &Tag, on: bool) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if on {
            Ok(inner.tags.entry(user).or_default().insert(tag.clone()))
        } else {
            let removed = inner.tags.get_mut(&user).is_some_and(|t| t.remove(tag));
            if inner.tags.get(&user).is_some_and(|t| t.is_empty()) {
                inner.tags.remove(&user);
            }
            Ok(removed)
        }
    }

    async fn tag_counts(&self) -> Result<Vec<(Tag, u64)>, StoreError> {
        let mut counts: BTreeMap<Tag, u64> = BTreeMap::new();
        for tags in self.lock().tags.values() {
            for tag in tags {
                *counts.entry(tag.clone()).or_default() += 1;
            }
        }
        Ok(counts.into_iter().collect())
    }

    async fn tags_of(&self, users: &[UserId]) -> Result<Vec<(UserId, Tag)>, StoreError> {
        let inner = self.lock();
        Ok(users
            .iter()
            .filter_map(|u| inner.tags.get(u).map(|tags| (u, tags)))
            .flat_map(|(u, tags)| tags.iter().map(move |t| (*u, t.clone())))
            .collect())
    }

    async fn conversations_after(
        &self,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let inner = self.lock();
        inner
            .conversations
            .range((Bound::Excluded(after), Bound::Unbounded))
            .take(limit)
            .map(|(_, packed)| packed.unpack())
            .collect()
    }

    // ---- The conversation archive. ----

    async fn archive_write(&self, records: Vec<ArchiveRecord>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for record in records {
            if inner.archive_keys.insert(record.key()) {
                inner.next_archived += 1;
                let id = ArchiveId(inner.next_archived);
                inner.archive.insert(id, record);
            }
        }
        Ok(())
    }

    async fn archive_users(&self, since: Timestamp) -> Result<Vec<UserId>, StoreError> {
        let inner = self.lock();
        let users: std::collections::BTreeSet<UserId> = inner
            .archive
            .values()
            .filter(|r| r.time >= since)
            .map(|r| r.user)
            .collect();
        Ok(users.into_iter().collect())
    }

    async fn archived(
        &self,
        user: UserId,
        since: Timestamp,
        after: Option<ArchiveId>,
        limit: usize,
    ) -> Result<Vec<Archived>, StoreError> {
        let inner = self.lock();
        let from = after.map_or(ArchiveId(i64::MIN), |a| ArchiveId(a.0.saturating_add(1)));
        Ok(inner
            .archive
            .range(from..)
            .filter(|(_, r)| r.user == user && r.time >= since)
            .take(limit)
            .map(|(id, record)| Archived {
                id: *id,
                record: record.clone(),
            })
            .collect())
    }

    async fn archive_prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let old: Vec<ArchiveId> = inner
            .archive
            .iter()
            .filter(|(_, r)| r.time < before)
            .map(|(id, _)| *id)
            .collect();
        for id in &old {
            if let Some(record) = inner.archive.remove(id) {
                inner.archive_keys.remove(&record.key());
            }
        }
        Ok(old.len() as u64)
    }

    async fn mailing_create(
        &self,
        mailing: &Mailing,
        recipients: &[UserId],
    ) -> Result<MailingId, StoreError> {
        let mut inner = self.lock();
        inner.next_mailing += 1;
        let id = MailingId(inner.next_mailing);
        let mailing = Mailing {
            id,
            ..mailing.clone()
        };
        let recipients = recipients.iter().map(|u| (*u, Delivery::Pending)).collect();
        inner.mailings.insert(id, (mailing, recipients));
        Ok(id)
    }

    async fn mailing(&self, id: MailingId) -> Result<Option<Mailing>, StoreError> {
        Ok(self.lock().mailings.get(&id).map(|(m, _)| m.clone()))
    }

    async fn mailings(&self, limit: usize) -> Result<Vec<Mailing>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .mailings
            .values()
            .rev()
            .take(limit)
            .map(|(m, _)| m.clone())
            .collect())
    }

    async fn mailing_set_state(
        &self,
        id: MailingId,
        from: &[MailingState],
        to: MailingState,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.mailings.get_mut(&id) {
            Some((mailing, _)) if from.contains(&mailing.state) => {
                mailing.state = to;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn mailing_lease(
        &self,
        id: MailingId,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if !inner.mailings.contains_key(&id) {
            return Ok(false);
        }
        let free = match inner.mailing_leases.get(&id) {
            Some((holder, expires)) => holder == owner || *expires < now,
            None => true,
        };
        if free {
            inner.mailing_leases.insert(id, (owner.to_owned(), until));
        }
        Ok(free)
    }

    async fn mailing_set_panel(&self, id: MailingId, panel: Panel) -> Result<(), StoreError> {
        if let Some((mailing, _)) = self.lock().mailings.get_mut(&id) {
            mailing.panel = Some(panel);
        }
        Ok(())
    }

    async fn mailing_pending(
        &self,
        id: MailingId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        let inner = self.lock();
        let Some((_, recipients)) = inner.mailings.get(&id) else {
            return Ok(Vec::new());
        };
        let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        Ok(recipients
            .range((from, std::ops::Bound::Unbounded))
            .filter(|(_, d)| **d == Delivery::Pending)
            .take(limit)
            .map(|(u, _)| *u)
            .collect())
    }

    async fn mailing_record(
        &self,
        id: MailingId,
        user: UserId,
        delivery: Delivery,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some((_, recipients)) = inner.mailings.get_mut(&id)
            && let Some(slot) = recipients.get_mut(&user)
            && *slot == Delivery::Pending
        {
            *slot = delivery;
        }
        Ok(())
    }

    async fn mailing_counts(&self, id: MailingId) -> Result<MailingCounts, StoreError> {
        let inner = self.lock();
        let mut counts = MailingCounts::default();
        if let Some((_, recipients)) = inner.mailings.get(&id) {
            for delivery in recipients.values() {
                counts.add(*delivery, 1);
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_conformance_suite() {
        crate::store::conformance::run(|| async { MemoryStore::new() }).await;
    }
}
