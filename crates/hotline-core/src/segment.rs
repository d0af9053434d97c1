//! Segments: which users a mailing or an export is for, in a small query language.
//!
//! As `PRIVATE_KEYWORDS`: terms side by side must all hold (AND), commas separate alternatives
//! (OR). A term is a tag (`#vip`), a language (`lang:de`), a `/start` payload (`start:promo42`),
//! the last activity (`active:<30d`: wrote within 30 days; `active:>90d`: not for 90 days; in
//! `h`, `d` or `w`, to the hour) or a topic status (`open`, `closed`); `~` before a term negates
//! it (`~#churned`). `all` (or
//! nothing) is every user who ever wrote. Banned users and users who blocked the bot are never
//! in a segment.
//!
//! ```
//! use hotline_core::segment::Segment;
//! let segment = Segment::parse("#vip lang:de, start:promo42").unwrap();
//! assert_eq!(segment.to_string(), "#vip lang:de, start:promo42");
//! let error = Segment::parse("#vip lang:").unwrap_err();
//! assert_eq!(error.to_string(), "segment, term 2 (`lang:`): a language code is missing (lang:de)");
//! ```

use crate::ids::{Timestamp, UserId};
use crate::store::{Conversation, Store, StoreError, Tag, TagError};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// A parsed segment: alternatives, each a list of terms that must all hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segment {
    alternatives: Vec<Vec<Term>>,
}

/// One condition on a user.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negated: bool,
    test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    Tag(Tag),
    Language(String),
    StartPayload(String),
    Open,
    Closed,
    /// Wrote within (`true`) or not for (`false`) this many seconds.
    Active {
        within: bool,
        secs: i64,
        shown: String,
    },
}

/// One term of a segment, as a store that selects members itself reads it
/// ([`Segment::conditions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Condition<'a> {
    /// Carries the tag.
    Tag(&'a Tag),
    /// The client's language is this code (lower case), or a variant of it: `de` takes `de`
    /// and `de-at`, compared without case.
    Language(&'a str),
    /// Their first `/start` payload is exactly this.
    StartPayload(&'a str),
    /// Has a topic that is open (status `user_answered` or `support_answered`).
    Open,
    /// Has a topic that is not open.
    Closed,
    /// Wrote after this time (`last_active` later than it).
    ActiveAfter(Timestamp),
    /// Has not written since this time (`last_active` at or before it).
    IdleSince(Timestamp),
}

/// Why a text is not a segment: the term (counted from 1 across the whole text) and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("segment, term {position} (`{term}`): {reason}")]
#[non_exhaustive]
pub struct SegmentError {
    /// Which term, counted from 1.
    pub position: usize,
    /// The term as written.
    pub term: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Segment {
    /// Every user who ever wrote (but the banned and those who blocked the bot).
    pub fn everyone() -> Self {
        Self::default()
    }

    /// Reads a segment (see the module's documentation).
    pub fn parse(text: &str) -> Result<Self, SegmentError> {
        let mut alternatives = Vec::new();
        let mut position = 0;
        for alternative in text.split(',') {
            let mut terms = Vec::new();
            let mut everyone = false;
            for word in alternative.split_whitespace() {
                position += 1;
                if word.eq_ignore_ascii_case("all") {
                    everyone = true;
                    continue;
                }
                terms.push(Term::parse(word).map_err(|reason| SegmentError {
                    position,
                    term: word.to_owned(),
                    reason,
                })?);
            }
            if everyone && terms.is_empty() {
                // `all` alone: no condition, so the whole segment is everyone.
                return Ok(Self::everyone());
            }
            if !terms.is_empty() {
                alternatives.push(terms);
            }
        }
        Ok(Self { alternatives })
    }

    /// Whether the segment is every user.
    pub fn is_everyone(&self) -> bool {
        self.alternatives.is_empty()
    }

    /// The segment's alternatives at `now` (any may hold), each its terms (all must hold), each
    /// term with whether it is negated: for a store that selects the members itself (a SQL
    /// store compiles them to a query, see [`Store::segment_members`]). Empty: every user. A
    /// store must also leave out banned users and users who blocked the bot.
    pub fn conditions(&self, now: Timestamp) -> Vec<Vec<(bool, Condition<'_>)>> {
        self.alternatives
            .iter()
            .map(|terms| {
                terms
                    .iter()
                    .map(|term| {
                        let condition = match &term.test {
                            Test::Tag(tag) => Condition::Tag(tag),
                            Test::Language(lang) => Condition::Language(lang),
                            Test::StartPayload(payload) => Condition::StartPayload(payload),
                            Test::Open => Condition::Open,
                            Test::Closed => Condition::Closed,
                            Test::Active {
                                within: true, secs, ..
                            } => Condition::ActiveAfter(now.plus_secs(-secs)),
                            Test::Active {
                                within: false,
                                secs,
                                ..
                            } => Condition::IdleSince(now.plus_secs(-secs)),
                        };
                        (term.negated, condition)
                    })
                    .collect()
            })
            .collect()
    }

    /// Whether `conversation`'s user, carrying `tags`, is in the segment at `now`.
    pub fn contains(
        &self,
        conversation: &Conversation,
        tags: &HashSet<Tag>,
        now: Timestamp,
    ) -> bool {
        if conversation.banned || conversation.blocked {
            return false;
        }
        self.is_everyone()
            || self
                .alternatives
                .iter()
                .any(|terms| terms.iter().all(|t| t.holds(conversation, tags, now)))
    }

    /// The users in the segment at `now`, in ascending id order, read from `store` a page at a
    /// time.
    pub async fn members(
        &self,
        store: &(impl Store + ?Sized),
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError> {
        store.segment_members(self, now).await
    }

    /// [`Segment::members`] by reading every conversation and its tags and testing them here:
    /// what a store that cannot select members itself does.
    pub async fn members_by_reading(
        &self,
        store: &(impl Store + ?Sized),
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut members = Vec::new();
        self.visit(store, now, |conversation, _| {
            members.push(conversation.user)
        })
        .await?;
        Ok(members)
    }

    /// Calls `member` with each user in the segment at `now` (their conversation and tags), in
    /// ascending id order, reading `store` a page at a time: a user base of any size in the
    /// memory of one page.
    pub async fn visit(
        &self,
        store: &(impl Store + ?Sized),
        now: Timestamp,
        mut member: impl FnMut(&Conversation, &HashSet<Tag>),
    ) -> Result<(), StoreError> {
        const PAGE: usize = 1_000;
        let mut after = UserId(i64::MIN);
        loop {
            let page = store.conversations_after(after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.user;
            let users: Vec<UserId> = page.iter().map(|c| c.user).collect();
            let mut tags: HashMap<UserId, HashSet<Tag>> = HashMap::new();
            for (user, tag) in store.tags_of(&users).await? {
                tags.entry(user).or_default().insert(tag);
            }
            let none = HashSet::new();
            for conversation in &page {
                let theirs = tags.get(&conversation.user).unwrap_or(&none);
                if self.contains(conversation, theirs, now) {
                    member(conversation, theirs);
                }
            }
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }
}

impl Term {
    fn parse(word: &str) -> Result<Self, String> {
        let (negated, rest) = match word.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let test = if rest.starts_with('#') {
            Test::Tag(Tag::parse(rest).map_err(|e: TagError| e.to_string())?)
        } else if let Some((key, value)) = rest.split_once(':') {
            match key.to_ascii_lowercase().as_str() {
                "lang" if value.is_empty() => {
                    return Err("a language code is missing (lang:de)".into());
                }
                "lang" => Test::Language(value.to_ascii_lowercase()),
                "start" if value.is_empty() => {
                    return Err("a /start payload is missing (start:promo42)".into());
                }
                "start" => Test::StartPayload(value.to_owned()),
                "active" => active(value)?,
                other => {
                    return Err(format!(
                        "unknown `{other}:`; known: lang:, start:, #tag, open, closed, all"
                    ));
                }
            }
        } else {
            match rest.to_ascii_lowercase().as_str() {
                "open" => Test::Open,
                "closed" => Test::Closed,
                "" => return Err("`~` negates a term that follows it (~#churned)".into()),
                _ => {
                    return Err(
                        "unknown term; known: #tag, lang:xx, start:payload, open, closed, all \
                         (~ negates)"
                            .into(),
                    );
                }
            }
        };
        Ok(Self { negated, test })
    }

    fn holds(&self, conversation: &Conversation, tags: &HashSet<Tag>, now: Timestamp) -> bool {
        let holds = match &self.test {
            Test::Tag(tag) => tags.contains(tag),
            Test::Language(lang) => {
                conversation
                    .profile
                    .language_code
                    .as_deref()
                    .is_some_and(|code| {
                        // `lang:pt` takes `pt-br` too.
                        let code = code.to_ascii_lowercase();
                        code == *lang || code.starts_with(&format!("{lang}-"))
                    })
            }
            Test::StartPayload(payload) => conversation.start_payload.as_deref() == Some(payload),
            Test::Open => conversation.is_open(),
            Test::Closed => conversation.topic.is_some() && !conversation.is_open(),
            Test::Active { within, secs, .. } => {
                let idle = now.0.saturating_sub(conversation.last_active.0);
                if *within { idle < *secs } else { idle >= *secs }
            }
        };
        holds != self.negated
    }
}

/// `<30d` or `>12h`: within or not for that long.
fn active(value: &str) -> Result<Test, String> {
    const USAGE: &str = "active: takes < or > and a duration in h, d or w (active:<30d)";
    let (within, rest) = if let Some(rest) = value.strip_prefix('<') {
        (true, rest)
    } else if let Some(rest) = value.strip_prefix('>') {
        (false, rest)
    } else {
        return Err(USAGE.into());
    };
    let unit = match rest.chars().last() {
        Some('h') => 3_600,
        Some('d') => 86_400,
        Some('w') => 7 * 86_400,
        _ => return Err(USAGE.into()),
    };
    let count: i64 = rest[..rest.len() - 1]
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| USAGE.to_owned())?;
    Ok(Test::Active {
        within,
        secs: count.saturating_mul(unit),
        shown: value.to_owned(),
    })
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_everyone() {
            return f.write_str("all");
        }
        for (i, terms) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            for (j, term) in terms.iter().enumerate() {
                if j > 0 {
                    f.write_str(" ")?;
                }
                if term.negated {
                    f.write_str("~")?;
                }
                match &term.test {
                    Test::Tag(tag) => write!(f, "{tag}")?,
                    Test::Language(lang) => write!(f, "lang:{lang}")?,
                    Test::StartPayload(payload) => write!(f, "start:{payload}")?,
                    Test::Open => f.write_str("open")?,
                    Test::Closed => f.write_str("closed")?,
                    Test::Active { shown, .. } => write!(f, "active:{shown}")?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Timestamp, TopicId};
    use crate::message::UserProfile;
    use crate::store::Status;

    fn user(id: i64, lang: Option<&str>, payload: Option<&str>, status: Status) -> Conversation {
        let mut profile = UserProfile::new(id, "U");
        profile.language_code = lang.map(str::to_owned);
        let mut c = Conversation::new(profile, Timestamp(0));
        c.start_payload = payload.map(str::to_owned);
        if status != Status::Inactive {
            c.topic = Some(TopicId(id));
        }
        c.status = status;
        c
    }

    const NOW: Timestamp = Timestamp(100 * 86_400);

    fn tags(names: &[&str]) -> HashSet<Tag> {
        names.iter().map(|n| Tag::parse(n).unwrap()).collect()
    }

    #[test]
    fn terms_and_by_space_or_by_comma_and_negate_with_a_tilde() {
        let s = Segment::parse("#vip ~lang:de, start:promo42 closed").unwrap();
        let de_vip = user(1, Some("de"), None, Status::UserAnswered);
        let en_vip = user(2, Some("en-GB"), None, Status::UserAnswered);
        let promo_closed = user(3, None, Some("promo42"), Status::Closed);
        let promo_open = user(4, None, Some("promo42"), Status::UserAnswered);
        assert!(!s.contains(&de_vip, &tags(&["vip"]), NOW));
        assert!(s.contains(&en_vip, &tags(&["VIP"]), NOW));
        assert!(!s.contains(&en_vip, &tags(&[]), NOW));
        assert!(s.contains(&promo_closed, &tags(&[]), NOW));
        assert!(!s.contains(&promo_open, &tags(&[]), NOW));
        let pt = Segment::parse("lang:PT open").unwrap();
        assert!(pt.contains(
            &user(5, Some("pt-br"), None, Status::SupportAnswered),
            &tags(&[]),
            NOW
        ));
    }

    #[test]
    fn everyone_is_all_or_nothing_but_never_the_banned_or_blocked() {
        for text in ["", "all", " , "] {
            assert!(Segment::parse(text).unwrap().is_everyone(), "{text:?}");
        }
        let mut banned = user(1, None, None, Status::Inactive);
        banned.banned = true;
        let mut blocked = user(2, None, None, Status::Inactive);
        blocked.blocked = true;
        for s in [Segment::everyone(), Segment::parse("~#x").unwrap()] {
            assert!(!s.contains(&banned, &tags(&[]), NOW));
            assert!(!s.contains(&blocked, &tags(&[]), NOW));
            assert!(s.contains(&user(3, None, None, Status::Inactive), &tags(&[]), NOW));
        }
    }

    #[test]
    fn activity_is_within_or_not_for_a_duration() {
        let mut recent = user(1, None, None, Status::Inactive);
        recent.last_active = Timestamp(NOW.0 - 29 * 86_400);
        let mut old = user(2, None, None, Status::Inactive);
        old.last_active = Timestamp(NOW.0 - 31 * 86_400);
        let within = Segment::parse("active:<30d").unwrap();
        let idle = Segment::parse("active:>30d").unwrap();
        assert!(within.contains(&recent, &tags(&[]), NOW));
        assert!(!within.contains(&old, &tags(&[]), NOW));
        assert!(!idle.contains(&recent, &tags(&[]), NOW));
        assert!(idle.contains(&old, &tags(&[]), NOW));
        assert_eq!(within.to_string(), "active:<30d");
        assert!(
            Segment::parse("~active:<12h")
                .unwrap()
                .contains(&old, &tags(&[]), NOW)
        );
    }

    #[test]
    fn errors_name_the_term_and_what_is_wrong() {
        let cases = [
            ("#vip, lang:", 2, "a language code is missing"),
            ("#two+words", 1, "holds `+`"),
            ("vip", 1, "unknown term"),
            ("open ~", 2, "negates a term"),
            ("country:de", 1, "unknown `country:`"),
            ("active:30d", 1, "takes < or >"),
            ("#x active:<0d", 2, "takes < or >"),
            ("active:<3m", 1, "in h, d or w"),
        ];
        for (text, position, reason) in cases {
            let error = Segment::parse(text).unwrap_err();
            assert_eq!(error.position, position, "{text}: {error}");
            assert!(error.reason.contains(reason), "{text}: {error}");
        }
    }
}
