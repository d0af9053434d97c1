//! Work that falls due with time: auto-closing topics left in "support answered", and the
//! archive's retention.

use super::{Desk, Outcome};
use crate::error::Error;
use crate::ids::Timestamp;
use crate::policy::{self, OperatorCommand};

impl Desk {
    pub(super) async fn on_tick(&self, now: Timestamp) -> Result<Outcome, Error> {
        self.prune_archive(now).await;
        let Some(after) = self.inner.config.autoclose else {
            return Ok(Outcome::Done);
        };
        let cutoff = now.plus_secs(-i64::try_from(after.as_secs()).unwrap_or(i64::MAX));
        loop {
            let due = self
                .inner
                .store
                .due_for_autoclose(cutoff.plus_secs(1), 100)
                .await?;
            if due.is_empty() {
                return Ok(Outcome::Done);
            }
            let mut closed_any = false;
            for conv in due {
                let _held = self.hold(conv.user).await?;
                let Some(mut w) = self.load(conv.user).await? else {
                    continue;
                };
                if !policy::autoclose_due(&self.inner.config, &w.conv, now) {
                    continue;
                }
                self.operator_command(&mut w, None, OperatorCommand::Close, now)
                    .await?;
                self.commit(&mut w, Vec::new(), None).await?;
                self.sync_topic_name(&mut w).await?;
                closed_any = true;
            }
            if !closed_any {
                return Ok(Outcome::Done);
            }
        }
    }
}
