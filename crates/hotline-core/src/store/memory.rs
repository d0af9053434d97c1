//! `MemoryStore`: the whole state in process memory, for tests, benchmarks and the sandbox.

use super::{Commit, Conversation, MessageLink, Status, Store, StoreError};
use crate::event::EventKey;
use crate::ids::{MessageId, Timestamp, TopicId, UserId};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

/// A [`Store`] in process memory. Nothing survives a restart: use a SQL store in production.
///
/// One mutex guards everything, so a [`Commit`] is trivially atomic; every operation holds it for
/// a few hash-map look-ups only, never across an `.await`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    // Boxed: a hash table keeps spare slots, and a slot the size of a pointer wastes far less
    // than one the size of a conversation (this is what keeps a million users small).
    conversations: HashMap<UserId, Box<Conversation>>,
    by_topic: HashMap<TopicId, UserId>,
    user_links: HashMap<(UserId, MessageId), MessageLink>,
    topic_links: HashMap<MessageId, MessageLink>,
    processed: HashSet<EventKey>,
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
            .map(|c| (**c).clone())
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
        Ok(self.lock().conversations.get(&user).map(|c| (**c).clone()))
    }

    async fn conversation_by_topic(
        &self,
        topic: TopicId,
    ) -> Result<Option<Conversation>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .by_topic
            .get(&topic)
            .and_then(|user| inner.conversations.get(user))
            .map(|c| (**c).clone()))
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let mut inner = self.lock();
        // Validate everything first: a refused commit must leave no trace.
        if let Some(conversation) = &commit.conversation
            && let Some(topic) = conversation.topic
            && let Some(owner) = inner.by_topic.get(&topic)
            && *owner != conversation.user
        {
            return Err(StoreError::Conflict(format!(
                "topic {topic} already belongs to user {owner}"
            )));
        }
        if let Some(conversation) = commit.conversation {
            let previous_topic = inner
                .conversations
                .get(&conversation.user)
                .and_then(|c| c.topic);
            if let Some(old) = previous_topic
                && Some(old) != conversation.topic
            {
                inner.by_topic.remove(&old);
            }
            if let Some(topic) = conversation.topic {
                inner.by_topic.insert(topic, conversation.user);
            }
            inner
                .conversations
                .insert(conversation.user, Box::new(conversation));
        }
        for link in commit.links {
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
            .filter(|c| {
                c.status == Status::SupportAnswered && c.topic.is_some() && c.status_since < before
            })
            .map(|c| (**c).clone())
            .collect();
        due.sort_by_key(|c| (c.status_since, c.user));
        due.truncate(limit);
        Ok(due)
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
