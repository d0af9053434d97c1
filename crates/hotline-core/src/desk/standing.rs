//! Where a user stands with the desk, for a host bot that goes quiet while a human handles them.

use super::Desk;
use crate::error::Error;
use crate::ids::UserId;

/// Where a user stands with the desk ([`Desk::standing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Standing {
    /// The user has no topic yet (never activated, or only remembered as context): the host bot
    /// answers them as usual.
    NotAtDesk,
    /// The user's topic is open: an operator is on the case, the host bot may stay quiet.
    WithOperator,
    /// The user's topic was closed (by an operator, `/close`, or auto-close).
    Closed,
    /// An operator banned the user: nothing of theirs reaches the desk.
    Banned,
}

impl Standing {
    /// Whether an operator is handling the user now.
    pub fn is_with_operator(self) -> bool {
        self == Standing::WithOperator
    }
}

impl Desk {
    /// Where `user` stands: with an operator (an open topic), closed, banned, or not at the
    /// desk. One store read; it waits for nothing else.
    pub async fn standing(&self, user: UserId) -> Result<Standing, Error> {
        let Some(conversation) = self.inner.store.conversation(user).await? else {
            return Ok(Standing::NotAtDesk);
        };
        Ok(if conversation.banned {
            Standing::Banned
        } else if conversation.topic.is_none() {
            Standing::NotAtDesk
        } else if conversation.is_open() {
            Standing::WithOperator
        } else {
            Standing::Closed
        })
    }
}
