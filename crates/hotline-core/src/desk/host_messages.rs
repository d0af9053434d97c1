//! Interception: the host bot's messages to a user, mirrored into the user's topic.

use super::plumbing::links_for;
use super::{Desk, Ignored, Outcome};
use crate::action::Action;
use crate::error::Error;
use crate::event::EventKey;
use crate::ids::UserId;
use crate::message::IncomingMessage;
use crate::policy;
use crate::store::Origin;

impl Desk {
    pub(super) async fn on_host_message(
        &self,
        user: UserId,
        message: IncomingMessage,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        if !self.inner.config.intercept_external {
            return Ok(Outcome::Ignored(Ignored::NotIntercepted));
        }
        let _held = self.hold(user).await?;
        if self.already_handled(key.as_ref()).await? {
            return Ok(Outcome::AlreadyHandled);
        }
        let Some(mut w) = self.load(user).await? else {
            return Ok(Outcome::Ignored(Ignored::NotIntercepted));
        };
        if !w.conv.is_open() {
            return Ok(Outcome::Ignored(Ignored::NotIntercepted));
        }
        let text = policy::mirror_text(&self.inner.config, message.text.as_deref());
        let performed = self
            .perform_in_topic(&mut w, |topic, _| Action::MirrorToTopic {
                chat: self.group(),
                topic,
                from: user.chat(),
                message: message.id,
                text: text.clone(),
                has_media: message.has_media,
            })
            .await?;
        let links = links_for(user, &[message.id], &performed, Origin::Host);
        self.commit(&mut w, links, key).await?;
        Ok(Outcome::Relayed)
    }
}
