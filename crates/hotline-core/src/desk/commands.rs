//! What operators do to a conversation's state: the commands (`/close`, `/hold`, `/ban`, ...) and
//! closing or reopening a topic by hand in Telegram.

use super::{Desk, Ignored, Outcome, Working};
use crate::action::{Action, Performed, Recipient};
use crate::config::BanAllowed;
use crate::desk_event::DeskEventKind;
use crate::error::Error;
use crate::ids::{ChatId, Timestamp, TopicId, UserId};
use crate::policy::{self, OperatorCommand};
use crate::store::Status;
use crate::transport::TransportError;

/// What an operator may do in the backend group, as the messenger says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rights {
    pub(super) admin: bool,
    can_ban: bool,
}

impl Desk {
    /// Asks the messenger what `operator` may do in the backend group. `None` when it cannot
    /// say (the caller then refuses: rights are not assumed).
    pub(super) async fn rights(&self, operator: UserId) -> Option<Rights> {
        let action = Action::CheckMember {
            chat: self.group(),
            user: operator,
        };
        match self.perform(&action).await {
            Ok(Performed::Member { admin, can_ban }) => Some(Rights { admin, can_ban }),
            Ok(other) => {
                tracing::warn!(
                    ?other,
                    "hotline: checking an operator's rights gave no answer"
                );
                None
            }
            Err(error) => {
                tracing::warn!(%error, "hotline: checking an operator's rights failed");
                None
            }
        }
    }

    /// Whether `operator` may `/ban` and `/unban` (`BAN_ALLOWED`); tells the topic when not.
    /// `None` is the desk itself, which may.
    async fn may_ban(&self, w: &Working, operator: Option<UserId>) -> bool {
        let Some(operator) = operator else {
            return true;
        };
        if self.inner.config.ban_allowed == BanAllowed::Everyone {
            return true;
        }
        match self.rights(operator).await {
            Some(rights) if rights.can_ban => true,
            Some(_) => {
                self.notice_topic(w, "⛔ Only the group's creator and administrators allowed to ban members may /ban and /unban (BAN_ALLOWED).")
                    .await;
                false
            }
            None => {
                self.notice_topic(w, "⛔ Your right to ban could not be checked; try again.")
                    .await;
                false
            }
        }
    }

    /// `/info` under `HIDE_INFO` `command`: the card goes privately to an operator
    /// `EXTENSIONS_ALLOWED` allows (by default the group's admins), never into the topic (where
    /// every operator would read it).
    async fn info_for_admins(&self, w: &Working, operator: UserId) {
        if !self.may_use_extensions(w, operator, "/info").await {
            return;
        }
        let card = self.card(w).await;
        let sent = self
            .perform(&Action::SendNotice {
                to: Recipient::User(operator),
                text: card,
                markdown: false,
            })
            .await;
        let notice = match sent {
            Ok(_) => "ℹ️ The user card was sent to you in a private chat with the bot.",
            Err(TransportError::UserBlocked | TransportError::BadRequest(_)) => {
                "⛔ The user card could not be sent to you privately: start a private chat with the bot first."
            }
            Err(error) => {
                tracing::warn!(%error, "hotline: sending the user card privately failed");
                "⛔ The user card could not be sent to you privately; try again."
            }
        };
        self.notice_topic(w, notice).await;
    }

    pub(super) async fn operator_command(
        &self,
        w: &mut Working,
        operator: Option<UserId>,
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
                let was_open = w.conv.status.is_open();
                self.set_status(w, Status::Closed, now);
                if was_open {
                    self.publish_toggled(w, false, now).await;
                }
            }
            OperatorCommand::Hold => self.set_status(w, Status::UserAnswered, now),
            OperatorCommand::Wait => self.set_status(w, Status::SupportAnswered, now),
            OperatorCommand::Ban | OperatorCommand::Unban if !self.may_ban(w, operator).await => {}
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
            OperatorCommand::Info if config.hide_info_command => {
                if let Some(operator) = operator {
                    self.info_for_admins(w, operator).await;
                }
            }
            OperatorCommand::Info => {
                let card = self.card(w).await;
                self.notice_topic(w, &card).await;
            }
            // Handled with their payload by `extension_command`; the desk itself never tags.
            OperatorCommand::Mark
            | OperatorCommand::Unmark
            | OperatorCommand::Marks
            | OperatorCommand::Segment
            | OperatorCommand::Export => {}
            OperatorCommand::Send => {
                self.notice_topic(w, "📣 /send works in the General topic: write the message(s) there, then reply /send [segment] to the first one. Nothing was sent.")
                    .await;
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
        self.publish_toggled(&w, reopened, now).await;
        self.sync_topic_name(&mut w).await?;
        Ok(Outcome::Done)
    }

    /// `dialog_reopened` or `dialog_closed` for the conversation.
    async fn publish_toggled(&self, w: &Working, reopened: bool, now: Timestamp) {
        let kind = if reopened {
            DeskEventKind::DialogReopened
        } else {
            DeskEventKind::DialogClosed
        };
        let topic = w.topic().map(|t| t.0).unwrap_or_default();
        let event = self.event(kind, w, format_args!("{topic}:{}", now.0));
        self.publish(event).await;
    }
}
