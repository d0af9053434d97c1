//! `/send`: mailings asked for in the backend group's General topic, and the buttons under
//! their panels (Confirm, Cancel, Pause, Resume).
//!
//! An operator writes the message (or a run of messages) in General, then replies
//! `/send [segment]` to the first one: the chain is that message and what the same operator
//! wrote in General after it, up to the command. The desk posts a panel with the segment's
//! size and Confirm / Cancel; Confirm starts the mailing ([`super::mailings`]).

use super::mailings::{PANEL_BUTTONS, panel_buttons, panel_text};
use super::{Desk, Ignored, Outcome};
use crate::action::{Action, Recipient};
use crate::error::Error;
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::IncomingMessage;
use crate::segment::Segment;
use crate::store::{MailingContent, MailingId, MailingState, Panel};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How many of an operator's latest messages outside topics are remembered for chains.
const KEPT: usize = 100;

/// The ids of what each operator wrote lately in the backend group outside topics, oldest
/// first. In memory only: a chain is picked within moments of being written, and a desk that
/// restarted in between sends the replied-to message alone.
#[derive(Debug, Default)]
pub(super) struct Drafts(Mutex<HashMap<UserId, VecDeque<MessageId>>>);

impl Drafts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, VecDeque<MessageId>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, operator: UserId, ids: impl IntoIterator<Item = MessageId>) {
        let mut drafts = self.lock();
        let kept = drafts.entry(operator).or_default();
        for id in ids {
            kept.push_back(id);
            if kept.len() > KEPT {
                kept.pop_front();
            }
        }
    }

    /// The chain that starts at `first` and ends before `command`: `first` and what
    /// `operator` wrote after it; `first` alone when it is not theirs (or not remembered).
    fn chain(&self, operator: UserId, first: MessageId, command: MessageId) -> Vec<MessageId> {
        let drafts = self.lock();
        let theirs = drafts.get(&operator);
        if !theirs.is_some_and(|ids| ids.contains(&first)) {
            return vec![first];
        }
        let mut chain: Vec<MessageId> = theirs
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| *id >= first && *id < command)
            .collect();
        chain.sort_unstable();
        chain.dedup();
        chain
    }
}

/// What `/send ...` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendRequest {
    /// A new mailing to a segment.
    New(Segment),
    /// `/send status [ID]`.
    Status(Option<MailingId>),
    /// `/send pause [ID]`.
    Pause(Option<MailingId>),
    /// `/send resume [ID]`.
    Resume(Option<MailingId>),
    /// `/send cancel [ID]`.
    Cancel(Option<MailingId>),
}

impl SendRequest {
    /// Reads `/send`'s payload; the error says what is wrong, in the segment's words.
    pub(crate) fn parse(payload: &str) -> Result<Self, String> {
        let mut words = payload.split_whitespace();
        let verb = words.next().unwrap_or_default().to_ascii_lowercase();
        let id = |words: &mut std::str::SplitWhitespace<'_>| -> Result<Option<MailingId>, String> {
            let Some(word) = words.next() else {
                return Ok(None);
            };
            let number = word.trim_start_matches('#');
            let id = number
                .parse::<i64>()
                .map_err(|_| format!("`{word}` is not a mailing's number (like 3)"))?;
            if let Some(extra) = words.next() {
                return Err(format!("`{extra}` is one word too many"));
            }
            Ok(Some(MailingId(id)))
        };
        Ok(match verb.as_str() {
            "status" => SendRequest::Status(id(&mut words)?),
            "pause" => SendRequest::Pause(id(&mut words)?),
            "resume" => SendRequest::Resume(id(&mut words)?),
            "cancel" => SendRequest::Cancel(id(&mut words)?),
            _ => SendRequest::New(Segment::parse(payload).map_err(|e| e.to_string())?),
        })
    }
}

impl Desk {
    /// Whether `operator` may use the extensions (`EXTENSIONS_ALLOWED`): `None` when they
    /// may, the refusal's text when not. `what` names the command refused.
    pub(super) async fn extension_refusal(&self, operator: UserId, what: &str) -> Option<String> {
        use crate::config::ExtensionsAllowed;
        let (allowed, who) = match &self.inner.config.extensions_allowed {
            ExtensionsAllowed::Users(ids) => (
                Some(ids.contains(&operator.0)),
                "the operators EXTENSIONS_ALLOWED lists",
            ),
            ExtensionsAllowed::Admins => (
                self.rights(operator).await.map(|r| r.admin),
                "the group's creator and administrators (EXTENSIONS_ALLOWED)",
            ),
        };
        match allowed {
            Some(true) => None,
            Some(false) => Some(format!("⛔ {what} is only for {who}.")),
            None => Some("⛔ Your rights could not be checked; try again.".to_owned()),
        }
    }

    /// Operators' messages in the backend group outside any topic: remembered for `/send`'s
    /// chains, or a `/send` command.
    pub(super) async fn on_general_messages(
        &self,
        operator: UserId,
        messages: &[IncomingMessage],
    ) -> Result<Outcome, Error> {
        let command = match messages {
            [only] => only.command().filter(|c| c.is("send") || c.is("export")),
            _ => None,
        };
        let Some(command) = command else {
            self.inner
                .drafts
                .record(operator, messages.iter().map(|m| m.id));
            return Ok(Outcome::Ignored(Ignored::NotInTopic));
        };
        let message = &messages[0];
        let name = if command.is("export") {
            "/export"
        } else {
            "/send"
        };
        if let Some(refusal) = self.extension_refusal(operator, name).await {
            self.tell_general(&refusal).await;
            return Ok(Outcome::Done);
        }
        if command.is("export") {
            self.export_to(Recipient::General(self.group()), command.payload)
                .await?;
            return Ok(Outcome::Done);
        }
        let request = match SendRequest::parse(command.payload) {
            Ok(request) => request,
            Err(error) => {
                self.tell_general(&format!("⛔ /send: {error}. Nothing was sent."))
                    .await;
                return Ok(Outcome::Done);
            }
        };
        match request {
            SendRequest::New(segment) => self.preview(operator, message, segment).await?,
            SendRequest::Status(id) => self.send_status(id).await?,
            SendRequest::Pause(id) => {
                self.send_verb(id, "pause", &[MailingState::Running])
                    .await?;
            }
            SendRequest::Resume(id) => {
                self.send_verb(id, "resume", &[MailingState::Paused])
                    .await?;
            }
            SendRequest::Cancel(id) => {
                let live = [
                    MailingState::Draft,
                    MailingState::Running,
                    MailingState::Paused,
                ];
                self.send_verb(id, "cancel", &live).await?;
            }
        }
        Ok(Outcome::Done)
    }

    /// `/send [segment]` replying to a message: a draft mailing and its panel.
    async fn preview(
        &self,
        operator: UserId,
        command: &IncomingMessage,
        segment: Segment,
    ) -> Result<(), Error> {
        let Some(first) = command.reply_to else {
            self.tell_general(
                "📣 Reply /send [segment] to the first message to send (write it here in General first; what you write after it goes too, as a chain). /send status shows the mailings.",
            )
            .await;
            return Ok(());
        };
        let chain = self.inner.drafts.chain(operator, first, command.id);
        let content = MailingContent::Copy {
            from: self.group(),
            messages: chain,
        };
        let (id, recipients) = self
            .create_mailing(&segment, content, Some(operator), MailingState::Draft)
            .await?;
        if recipients == 0 {
            self.inner
                .store
                .mailing_set_state(id, &[MailingState::Draft], MailingState::Cancelled)
                .await?;
            self.tell_general(&format!(
                "📣 Nobody is in `{segment}` (banned users and users who blocked the bot never are): nothing to send."
            ))
            .await;
            return Ok(());
        }
        let Some(progress) = self.mailing_progress(id).await? else {
            return Ok(());
        };
        let action = Action::SendPanel {
            to: Recipient::General(self.group()),
            text: panel_text(&progress, None),
            buttons: panel_buttons(&progress.mailing),
            reply_to: Some(first),
        };
        match self.perform(&action).await {
            Ok(performed) => {
                if let Some(message) = performed.first_message() {
                    let panel = Panel {
                        chat: self.group(),
                        message,
                    };
                    self.inner.store.mailing_set_panel(id, panel).await?;
                }
            }
            Err(error) => {
                // Without its panel nobody can confirm it: it is cancelled rather than left.
                tracing::warn!(%error, "hotline: a mailing's preview could not be posted");
                self.inner
                    .store
                    .mailing_set_state(id, &[MailingState::Draft], MailingState::Cancelled)
                    .await?;
            }
        }
        Ok(())
    }

    /// `/send status [ID]`: one mailing's panel text, or the latest few in a line each.
    async fn send_status(&self, id: Option<MailingId>) -> Result<(), Error> {
        let text = match id {
            Some(id) => match self.mailing_progress(id).await? {
                Some(progress) => panel_text(&progress, None),
                None => format!("📣 There is no mailing {id}."),
            },
            None => {
                let latest = self.inner.store.mailings(5).await?;
                if latest.is_empty() {
                    "📣 No mailings yet: reply /send [segment] to a message in General.".to_owned()
                } else {
                    let mut lines = Vec::new();
                    for mailing in latest {
                        if let Some(progress) = self.mailing_progress(mailing.id).await? {
                            lines.push(panel_text(&progress, None));
                        }
                    }
                    lines.join("\n\n")
                }
            }
        };
        self.tell_general(&text).await;
        Ok(())
    }

    /// `/send pause|resume|cancel [ID]`: the mailing named, or the latest one in `from`.
    async fn send_verb(
        &self,
        id: Option<MailingId>,
        verb: &str,
        from: &[MailingState],
    ) -> Result<(), Error> {
        let id = match id {
            Some(id) => Some(id),
            None => self
                .inner
                .store
                .mailings(100)
                .await?
                .into_iter()
                .find(|m| from.contains(&m.state))
                .map(|m| m.id),
        };
        let Some(id) = id else {
            self.tell_general(&format!("📣 No mailing to {verb}."))
                .await;
            return Ok(());
        };
        let moved = match verb {
            "pause" => self.pause_mailing(id).await?,
            "resume" => self.resume_mailing(id).await?,
            _ => self.cancel_mailing(id).await?,
        };
        let text = match (moved, self.mailing_progress(id).await?) {
            (_, None) => format!("📣 There is no mailing {id}."),
            (true, Some(progress)) => panel_text(&progress, None),
            (false, Some(progress)) => format!(
                "📣 Mailing {id} is {}: nothing to {verb}.",
                progress.mailing.state.as_str()
            ),
        };
        self.tell_general(&text).await;
        Ok(())
    }

    /// A button under a panel was pressed.
    pub(super) async fn on_button(
        &self,
        chat: ChatId,
        operator: UserId,
        message: MessageId,
        data: &str,
        query: &str,
    ) -> Result<Outcome, Error> {
        let Some((verb, id)) = data
            .strip_prefix(PANEL_BUTTONS)
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(verb, id)| Some((verb, MailingId(id.parse().ok()?))))
        else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        if chat != self.group() {
            return Ok(Outcome::Ignored(Ignored::OtherChat));
        }
        let answer = match self.extension_refusal(operator, "/send").await {
            Some(refusal) => refusal,
            None => {
                let on_this_panel = self
                    .inner
                    .store
                    .mailing(id)
                    .await?
                    .is_some_and(|m| m.panel.is_some_and(|p| p.message == message));
                if on_this_panel {
                    self.press(verb, id).await?
                } else {
                    "This button belongs to no mailing.".to_owned()
                }
            }
        };
        let action = Action::AnswerButton {
            query: query.to_owned(),
            text: answer,
        };
        if let Err(error) = self.perform(&action).await {
            tracing::debug!(%error, "hotline: a button press could not be answered");
        }
        Ok(Outcome::Done)
    }

    /// What a panel's button does; the presser's answer.
    async fn press(&self, verb: &str, id: MailingId) -> Result<String, Error> {
        // The answer names what the press did, not what the mailing is by the time it is
        // read again: a short mailing may be finished already.
        let (moved, to) = match verb {
            "go" => (
                self.move_mailing(id, &[MailingState::Draft], MailingState::Running)
                    .await?,
                MailingState::Running,
            ),
            "pause" => (self.pause_mailing(id).await?, MailingState::Paused),
            "resume" => (self.resume_mailing(id).await?, MailingState::Running),
            "cancel" => (self.cancel_mailing(id).await?, MailingState::Cancelled),
            _ => return Ok("This button does nothing any more.".to_owned()),
        };
        if moved {
            return Ok(format!("Mailing {id}: {}.", to.as_str()));
        }
        let state = self
            .inner
            .store
            .mailing(id)
            .await?
            .map_or("gone", |m| m.state.as_str());
        Ok(format!("Mailing {id} is {state} already."))
    }

    /// `/export [segment]`: the segment's users as a CSV and a JSON lines file, posted `to`.
    pub(super) async fn export_to(&self, to: Recipient, payload: &str) -> Result<(), Error> {
        use crate::user_export::UserExportFormat;
        let segment = match Segment::parse(payload) {
            Ok(segment) => segment,
            Err(error) => {
                self.tell(to, &format!("⛔ /export: {error}. Nothing was exported."))
                    .await;
                return Ok(());
            }
        };
        let day = self.now().rfc3339();
        let day = day.get(..10).unwrap_or("export");
        let (mut csv, mut jsonl) = (Vec::new(), Vec::new());
        let users = self
            .export_users_to(
                &segment,
                &mut [
                    (UserExportFormat::Csv, &mut csv),
                    (UserExportFormat::Jsonl, &mut jsonl),
                ],
            )
            .await?;
        for (format, bytes) in [
            (UserExportFormat::Csv, csv),
            (UserExportFormat::Jsonl, jsonl),
        ] {
            let action = Action::SendDocument {
                to,
                file_name: format!("users-{day}.{}", format.extension()),
                bytes,
                caption: format!(
                    "👥 {users} user(s) in `{segment}`, as {}.",
                    format.extension()
                ),
            };
            if let Err(error) = self.perform(&action).await {
                tracing::warn!(%error, "hotline: an export could not be posted");
                self.tell(to, "⛔ /export: the file could not be posted; try again.")
                    .await;
                return Ok(());
            }
        }
        Ok(())
    }

    /// Tells `to` `text` (logged when it cannot).
    async fn tell(&self, to: Recipient, text: &str) {
        let action = Action::SendNotice {
            to,
            text: text.to_owned(),
            markdown: false,
        };
        if let Err(error) = self.perform(&action).await {
            tracing::warn!(%error, "hotline: a notice could not be sent");
        }
    }

    /// Tells the backend group's General topic `text` (logged when it cannot).
    async fn tell_general(&self, text: &str) {
        self.tell(Recipient::General(self.group()), text).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_reads_its_verbs_and_segments() {
        assert_eq!(SendRequest::parse("status"), Ok(SendRequest::Status(None)));
        assert_eq!(
            SendRequest::parse("Pause #3"),
            Ok(SendRequest::Pause(Some(MailingId(3))))
        );
        assert_eq!(
            SendRequest::parse("cancel 12"),
            Ok(SendRequest::Cancel(Some(MailingId(12))))
        );
        assert!(
            matches!(SendRequest::parse(""), Ok(SendRequest::New(s)) if s.to_string().is_empty() || s.to_string() == "all")
        );
        assert!(matches!(
            SendRequest::parse("#vip lang:de"),
            Ok(SendRequest::New(_))
        ));
        let error = SendRequest::parse("resume soon").expect_err("not a number");
        assert!(
            error.contains("`soon` is not a mailing's number"),
            "{error}"
        );
        let error = SendRequest::parse("lang:").expect_err("a bad segment");
        assert!(error.contains("language code is missing"), "{error}");
    }

    #[test]
    fn a_chain_is_what_the_operator_wrote_from_the_first_message_on() {
        let drafts = Drafts::default();
        let (ann, bob) = (UserId(1), UserId(2));
        drafts.record(ann, [MessageId(10), MessageId(11)]);
        drafts.record(bob, [MessageId(12)]);
        drafts.record(ann, [MessageId(13), MessageId(15)]);
        assert_eq!(
            drafts.chain(ann, MessageId(11), MessageId(15)),
            [MessageId(11), MessageId(13)],
            "from the first on, not another's, not the command's own and after"
        );
        assert_eq!(
            drafts.chain(ann, MessageId(12), MessageId(16)),
            [MessageId(12)],
            "someone else's message goes alone"
        );
        assert_eq!(
            drafts.chain(bob, MessageId(5), MessageId(16)),
            [MessageId(5)]
        );
    }
}
