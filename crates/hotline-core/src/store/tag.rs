//! Tags operators put on users (`/mark TAG`), the segments of mailings to come.

use std::fmt;

/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 32;

/// A tag: one word of letters, digits, `_` or `-`, at most [`MAX_TAG_CHARS`] characters, kept
/// in lower case (`#VIP` and `vip` are one tag). Written with or without its `#`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

/// Why a text is not a tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// Nothing was given.
    #[error("a tag is missing (one word, like vip)")]
    Empty,
    /// Longer than [`MAX_TAG_CHARS`].
    #[error("`{0}` is longer than {MAX_TAG_CHARS} characters")]
    TooLong(String),
    /// A character a tag cannot hold (a space, a sign, ...).
    #[error("`{tag}` holds `{character}`: a tag is one word of letters, digits, _ and -")]
    Character {
        /// The text given.
        tag: String,
        /// The first character refused.
        character: char,
    },
}

impl Tag {
    /// Reads a tag, with or without its `#`.
    pub fn parse(text: &str) -> Result<Self, TagError> {
        let text = text.trim();
        let word = text.strip_prefix('#').unwrap_or(text);
        if word.is_empty() {
            return Err(TagError::Empty);
        }
        if let Some(character) = word
            .chars()
            .find(|c| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(TagError::Character {
                tag: text.to_owned(),
                character,
            });
        }
        if word.chars().count() > MAX_TAG_CHARS {
            return Err(TagError::TooLong(text.to_owned()));
        }
        Ok(Self(word.to_lowercase()))
    }

    /// The tag without its `#`, in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_one_word_in_lower_case_with_or_without_its_hash() {
        assert_eq!(Tag::parse("#VIP").unwrap().as_str(), "vip");
        assert_eq!(
            Tag::parse(" churned_2026 ").unwrap().to_string(),
            "#churned_2026"
        );
        assert_eq!(Tag::parse("Käufer").unwrap().as_str(), "käufer");
        assert_eq!(Tag::parse("#"), Err(TagError::Empty));
        assert_eq!(
            Tag::parse("two words"),
            Err(TagError::Character {
                tag: "two words".into(),
                character: ' '
            })
        );
        assert!(matches!(
            Tag::parse(&"x".repeat(33)),
            Err(TagError::TooLong(_))
        ));
    }
}
