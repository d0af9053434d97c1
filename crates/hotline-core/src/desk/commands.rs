//! What operators do to a conversation's state: the commands (`/close`, `/hold`, `/ban`, ...) and
//! closing or reopening a topic by hand in Telegram.

use super::{Desk, Ignored, Outcome, Working};
use crate::action::Action;
use crate::error::Error;
use crate::ids::{ChatId, Timestamp, TopicId};
use crate::policy::{self, OperatorCommand};
use crate::store::Status;

impl Desk {
    pub(super) async fn operator_command(
        &self,
        w: &mut Working,
        command: OperatorCommand,
        now: Timestamp,
    ) -> Result<(), Error> {
        let config = &self.inner.config;
        match command {
            OperatorCommand::Close => {
                if let Some(topic) = w.topic()
                    && let Err(error) = self
                        .perform(&Action::CloseTopic {
                            chat: self.group(),
                            topic,
                        })
                        .await
                {
                    tracing::warn!(%error, "hotline: closing a topic failed");
                }
                self.set_status(w, Status::Closed, now);
            }
            OperatorCommand::Hold => self.set_status(w, Status::UserAnswered, now),
            OperatorCommand::Wait => self.set_status(w, Status::SupportAnswered, now),
            OperatorCommand::Ban => {
                w.edit().banned = true;
                self.notice_topic(w, "🚫 The user is banned: their messages are no longer relayed. /unban undoes it.")
                    .await;
            }
            OperatorCommand::Unban => {
                w.edit().banned = false;
                self.notice_topic(w, "✅ The user is no longer banned.")
                    .await;
            }
            OperatorCommand::Info => {
                let card = policy::user_card(config, &w.conv);
                self.notice_topic(w, &card).await;
            }
            OperatorCommand::Help => {
                self.notice_topic(w, policy::OPERATOR_HELP).await;
            }
            OperatorCommand::Unknown => {
                self.notice_topic(w, "Unknown command, not sent to the user. /help lists the commands; start a message with \"/ \" for an internal comment.")
                    .await;
            }
        }
        Ok(())
    }

    pub(super) async fn on_topic_toggled(
        &self,
        chat: ChatId,
        topic: TopicId,
        reopened: bool,
    ) -> Result<Outcome, Error> {
        let user = match self.topic_owner(chat, Some(topic)).await? {
            Ok(user) => user,
            Err(why) => return Ok(Outcome::Ignored(why)),
        };
        let _held = self.hold(user).await?;
        let Some(mut w) = self.load(user).await? else {
            return Ok(Outcome::Ignored(Ignored::UnknownTopic));
        };
        let now = self.inner.clock.now();
        let status = if reopened {
            Status::UserAnswered
        } else {
            Status::Closed
        };
        if reopened == w.conv.status.is_open() {
            return Ok(Outcome::Done);
        }
        self.set_status(&mut w, status, now);
        self.commit(&mut w, Vec::new(), None).await?;
        self.sync_topic_name(&mut w).await?;
        Ok(Outcome::Done)
    }
}
