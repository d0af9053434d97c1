//! Notices the desk's runners send the operators about the desk itself (an update set aside),
//! outside any event's handling.

use super::Desk;
use crate::action::{Action, Recipient};
use crate::error::Error;
use crate::event::Lane;
use crate::ids::{Timestamp, UserId};

impl Desk {
    /// The desk's clock, now.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The user a lane's events concern: the lane's user, or the owner of the lane's topic.
    /// `None` for the desk's own lane, a topic nobody owns, or a store that cannot say.
    pub async fn user_of(&self, lane: Lane) -> Option<UserId> {
        match lane {
            Lane::User(user) => Some(user),
            Lane::Topic(_, Some(topic)) => self
                .inner
                .store
                .conversation_by_topic(topic)
                .await
                .ok()
                .flatten()
                .map(|c| c.user),
            Lane::Topic(_, None) | Lane::Desk => None,
        }
    }

    /// Tells the operators `text` in the topic of `user` (the user's current topic), or in the
    /// backend group's General topic when there is no user or no topic (or the store cannot
    /// say). Sent outside the user's lane: a notice about a user's stuck update must not wait
    /// behind it.
    pub async fn tell_operators(&self, user: Option<UserId>, text: &str) -> Result<(), Error> {
        let group = self.inner.config.backend_group;
        let topic = match user {
            Some(user) => self
                .inner
                .store
                .conversation(user)
                .await
                .ok()
                .flatten()
                .and_then(|c| c.topic),
            None => None,
        };
        let to = match topic {
            Some(topic) => Recipient::Topic { chat: group, topic },
            None => Recipient::General(group),
        };
        let notice = |to| Action::SendNotice {
            to,
            text: text.to_owned(),
            markdown: false,
        };
        match self.perform(&notice(to)).await {
            // A topic deleted meanwhile: General still reaches the operators.
            Err(crate::TransportError::TopicGone) => {
                self.perform(&notice(Recipient::General(group))).await?;
            }
            other => {
                other?;
            }
        }
        Ok(())
    }
}
