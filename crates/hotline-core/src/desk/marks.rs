//! Marks: the tags operators put on users (`/mark`, `/unmark`, `/marks`), and the segments
//! they select (`/segment`), allowed to the operators `EXTENSIONS_ALLOWED` names (by default
//! the group's administrators).

use super::{Desk, Working};
use crate::error::Error;
use crate::ids::UserId;
use crate::policy::{self, OperatorCommand};
use crate::segment::Segment;
use crate::store::Tag;

impl Desk {
    /// Whether `operator` may use the extensions (`EXTENSIONS_ALLOWED`); tells the topic when
    /// not. `what` names the command refused.
    pub(super) async fn may_use_extensions(
        &self,
        w: &Working,
        operator: UserId,
        what: &str,
    ) -> bool {
        match self.extension_refusal(operator, what).await {
            None => true,
            Some(refusal) => {
                self.notice_topic(w, &refusal).await;
                false
            }
        }
    }

    /// `/mark TAG...`, `/unmark TAG...` (several tags, by spaces or commas), `/marks` and
    /// `/segment QUERY`, in the topic of `w`'s user. The answer goes into the topic.
    pub(super) async fn extension_command(
        &self,
        w: &Working,
        operator: UserId,
        command: OperatorCommand,
        payload: &str,
    ) -> Result<(), Error> {
        let name = match command {
            OperatorCommand::Mark => "/mark",
            OperatorCommand::Unmark => "/unmark",
            OperatorCommand::Segment => "/segment",
            OperatorCommand::Export => "/export",
            _ => "/marks",
        };
        if !self.may_use_extensions(w, operator, name).await {
            return Ok(());
        }
        if command == OperatorCommand::Export {
            if let Some(topic) = w.topic() {
                let to = crate::action::Recipient::Topic {
                    chat: self.group(),
                    topic,
                };
                self.export_to(to, payload).await?;
            }
            return Ok(());
        }
        let store = &self.inner.store;
        let user = w.conv.user;
        if command == OperatorCommand::Segment {
            let text = match Segment::parse(payload) {
                Ok(segment) => {
                    let members = segment
                        .members(store.as_ref(), self.inner.clock.now())
                        .await?;
                    format!(
                        "👥 {} user(s) in `{segment}` (banned users and users who blocked the bot \
                         are never in a segment).",
                        members.len()
                    )
                }
                Err(error) => format!("⛔ /segment: {error}."),
            };
            self.notice_topic(w, &text).await;
            return Ok(());
        }
        if command == OperatorCommand::Marks {
            let counts = store.tag_counts().await?;
            let text = if counts.is_empty() {
                "🏷 No tags yet: /mark TAG in a user's topic puts one on.".to_owned()
            } else {
                let listed: Vec<String> = counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
                format!("🏷 Tags in use (users): {}", listed.join(", "))
            };
            self.notice_topic(w, &text).await;
            return Ok(());
        }
        let words: Vec<&str> = payload
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            let text = format!(
                "{}\nUsage: {name} TAG (one word, like vip; several by spaces).",
                tags_line(&store.tags(user).await?)
            );
            self.notice_topic(w, &text).await;
            return Ok(());
        }
        let tags: Result<Vec<Tag>, _> = words.iter().map(|w| Tag::parse(w)).collect();
        let tags = match tags {
            Ok(tags) => tags,
            Err(error) => {
                self.notice_topic(w, &format!("⛔ {name}: {error}. Nothing was changed."))
                    .await;
                return Ok(());
            }
        };
        for tag in &tags {
            store
                .set_tag(user, tag, command == OperatorCommand::Mark)
                .await?;
        }
        self.notice_topic(w, &tags_line(&store.tags(user).await?))
            .await;
        Ok(())
    }

    /// The user card, with the user's tags when the store keeps them.
    pub(super) async fn card(&self, w: &Working) -> String {
        let mut card = policy::user_card(&self.inner.config, &w.conv);
        match self.inner.store.tags(w.conv.user).await {
            Ok(tags) if !tags.is_empty() => {
                card.push_str("\nTags: ");
                card.push_str(&tag_list(&tags));
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "hotline: the user's tags could not be read for the card");
            }
        }
        card
    }
}

/// `🏷 Tags: #de #vip`, or that there are none.
fn tags_line(tags: &[Tag]) -> String {
    if tags.is_empty() {
        "🏷 Tags: none".to_owned()
    } else {
        format!("🏷 Tags: {}", tag_list(tags))
    }
}

/// `#de #vip`.
fn tag_list(tags: &[Tag]) -> String {
    let tags: Vec<String> = tags.iter().map(Tag::to_string).collect();
    tags.join(" ")
}
