//! Dead letters as library calls: what `hotline-desk dead-letters list | retry ID | drop ID`
//! does, for a host that runs the desk itself.

use crate::Error;
use crate::albums::Run;
use crate::decode::RawUpdate;
use crate::hotline::Hotline;
use hotline_core::{DeadLetter, DeadLetterId, NewDeadLetter, error_chain};

impl Hotline {
    /// The updates set aside after their attempts failed, oldest first, at most `limit`.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        Ok(self.desk.store().dead_letters(limit).await?)
    }

    /// Hands a dead letter's update to the desk again, once. Handled, the record is removed
    /// (what was already relayed of it is recorded as handled and not sent twice); failed
    /// again, the record keeps the new error and one more attempt, and the error is returned.
    pub async fn retry_dead_letter(&self, id: DeadLetterId) -> Result<(), Error> {
        let store = self.desk.store();
        let letter = store
            .dead_letter(id)
            .await?
            .ok_or_else(|| Error::DeadLetter(format!("#{id} does not exist")))?;
        let unreadable = |e: serde_json::Error| {
            Error::DeadLetter(format!("#{id} holds no readable update: {e}"))
        };
        let update: RawUpdate = serde_json::from_str(&letter.payload).map_err(unreadable)?;
        let decoded = update
            .decode_caught(self.backend_group())
            .map_err(unreadable)?;
        match self.take_decoded(decoded, Run::Here).completion.await {
            Ok(()) => {
                store.remove_dead_letter(id).await?;
                self.set_aside_keys.forget(&letter.key);
                tracing::info!(dead_letter = %id, "hotline: a dead letter was handled on retry");
                Ok(())
            }
            Err(error) => {
                let now = self.desk.now();
                let again = NewDeadLetter {
                    key: letter.key,
                    user: letter.user,
                    payload: letter.payload,
                    error: error_chain(&error).to_string(),
                    attempts: 1,
                    first_failed: letter.first_failed,
                    last_failed: now,
                };
                store.set_aside(again).await?;
                Err(error.into())
            }
        }
    }

    /// Forgets a dead letter without handling it. Whether it existed.
    pub async fn drop_dead_letter(&self, id: DeadLetterId) -> Result<bool, Error> {
        let store = self.desk.store();
        let key = store.dead_letter(id).await?.map(|letter| letter.key);
        let removed = store.remove_dead_letter(id).await?;
        if let Some(key) = key {
            self.set_aside_keys.forget(&key);
        }
        Ok(removed)
    }

    /// Remembers the keys of the updates set aside in earlier runs, so that one delivered again
    /// is not handed to the desk again. Runners call it at start.
    pub(crate) async fn load_set_aside(&self) -> Result<(), Error> {
        for letter in self.desk.store().dead_letters(100_000).await? {
            self.set_aside_keys.remember(&letter.key);
        }
        Ok(())
    }
}
