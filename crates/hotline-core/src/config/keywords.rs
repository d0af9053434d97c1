//! Hotline's keyword syntax: `"w1","w2",["w3","w4"],["w5","~w6"]`.
//!
//! Items separated by commas are alternatives (OR); the words inside brackets must all match (AND);
//! `~` before a word negates it. Matching ignores case. A word is found anywhere in the text,
//! except a word starting with `/`, which is a command: `/help` matches `/help`, `/help@AnyBot` and
//! `/HELP now`, but not `/helpme`.

use crate::message::Command;
use std::fmt;

/// A parsed keyword expression (see the module docs for the syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordSet {
    /// Alternatives: the set matches when any item matches.
    items: Vec<Vec<Term>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    /// Lower-cased; a leading `/` makes it a command.
    word: String,
    negated: bool,
}

/// Where and why a keyword expression could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based character position of the fault.
    pub position: usize,
    /// What was wrong there.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

impl KeywordSet {
    /// Parses Hotline's syntax. Quotes may be straight (`"`, `'`) or typographic (`“”`, `«»`, as
    /// phones insert them); a word without quotes runs to the next comma or bracket.
    pub fn parse(input: &str) -> Result<Self, SyntaxError> {
        Parser {
            chars: input.chars().collect(),
            at: 0,
        }
        .parse()
    }

    /// Whether `text` (a message's text or caption) matches.
    pub fn matches(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        let command = Command::parse(&lower).map(|c| c.name);
        self.items.iter().any(|terms| {
            terms.iter().all(|term| {
                let found = match term.word.strip_prefix('/') {
                    Some(name) => command == Some(name),
                    None => lower.contains(&term.word),
                };
                found != term.negated
            })
        })
    }

    /// How many alternatives the set has.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set has no alternative (never the case for a parsed set).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl fmt::Display for KeywordSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let term = |t: &Term| format!("\"{}{}\"", if t.negated { "~" } else { "" }, t.word);
        let items: Vec<String> = self
            .items
            .iter()
            .map(|terms| match terms.as_slice() {
                [one] => term(one),
                many => format!("[{}]", many.iter().map(term).collect::<Vec<_>>().join(",")),
            })
            .collect();
        f.write_str(&items.join(","))
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

fn closing_quote(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '\'' => Some('\''),
        '“' => Some('”'),
        '„' => Some('“'),
        '«' => Some('»'),
        _ => None,
    }
}

impl Parser {
    fn error<T>(&self, at: usize, message: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            position: at + 1,
            message: message.into(),
        })
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn parse(mut self) -> Result<KeywordSet, SyntaxError> {
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None if items.is_empty() => return self.error(self.at, "no keyword given"),
                None => return self.error(self.at, "a keyword is missing after the last comma"),
                Some('[') => {
                    let open = self.at;
                    self.at += 1;
                    let mut terms = vec![self.term()?];
                    loop {
                        self.skip_space();
                        match self.peek() {
                            Some(',') => {
                                self.at += 1;
                                terms.push(self.term()?);
                            }
                            Some(']') => {
                                self.at += 1;
                                break;
                            }
                            Some(c) => {
                                return self
                                    .error(self.at, format!("expected `,` or `]`, found `{c}`"));
                            }
                            None => return self.error(open, "this `[` is never closed"),
                        }
                    }
                    items.push(terms);
                }
                Some(_) => items.push(vec![self.term()?]),
            }
            self.skip_space();
            match self.peek() {
                None => return Ok(KeywordSet { items }),
                Some(',') => self.at += 1,
                Some(c) => {
                    return self.error(
                        self.at,
                        format!("expected `,` between keywords, found `{c}`"),
                    );
                }
            }
        }
    }

    fn term(&mut self) -> Result<Term, SyntaxError> {
        self.skip_space();
        let start = self.at;
        let raw: String = match self.peek() {
            None => return self.error(self.at, "a keyword is missing"),
            Some(c @ (']' | ',' | '[')) => {
                return self.error(self.at, format!("expected a keyword, found `{c}`"));
            }
            Some(open) => match closing_quote(open) {
                Some(close) => {
                    self.at += 1;
                    let mut word = String::new();
                    loop {
                        match self.peek() {
                            None => return self.error(start, "this quote is never closed"),
                            Some('\\') if self.chars.get(self.at + 1).is_some() => {
                                word.push(self.chars[self.at + 1]);
                                self.at += 2;
                            }
                            Some(c) if c == close => {
                                self.at += 1;
                                break;
                            }
                            Some(c) => {
                                word.push(c);
                                self.at += 1;
                            }
                        }
                    }
                    word
                }
                None => {
                    let mut word = String::new();
                    while let Some(c) = self.peek().filter(|c| !matches!(c, ',' | '[' | ']')) {
                        if closing_quote(c).is_some() {
                            return self
                                .error(self.at, format!("unexpected quote `{c}` inside a word"));
                        }
                        word.push(c);
                        self.at += 1;
                    }
                    word.trim_end().to_owned()
                }
            },
        };
        let trimmed = raw.trim();
        let (negated, word) = match trimmed.strip_prefix('~') {
            Some(rest) => (true, rest.trim()),
            None => (false, trimmed),
        };
        if word.is_empty() {
            return self.error(start, "empty keyword");
        }
        Ok(Term {
            word: word.to_lowercase(),
            negated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> KeywordSet {
        KeywordSet::parse(s).unwrap()
    }

    #[test]
    fn or_of_items_and_inside_brackets() {
        let k = set(r#""operator","help",["need","human"],["bill","~spam"]"#);
        assert_eq!(k.len(), 4);
        assert!(k.matches("I want an OPERATOR please"));
        assert!(k.matches("Help!"));
        assert!(k.matches("I need a Human"));
        assert!(!k.matches("I need a robot"));
        assert!(k.matches("my bill is wrong"));
        assert!(!k.matches("bill spam offer"));
        assert!(!k.matches("hello there"));
    }

    #[test]
    fn commands_match_with_or_without_bot_suffix() {
        let k = set(r#""/help""#);
        assert!(k.matches("/help"));
        assert!(k.matches("/help@SomeBot"));
        assert!(k.matches("/HELP@SomeBot with payload"));
        assert!(!k.matches("/helpme"));
        assert!(!k.matches("help"));
        assert!(
            !k.matches("please /help"),
            "a command counts only at the start"
        );
    }

    #[test]
    fn case_is_ignored_beyond_ascii() {
        assert!(set("\"ОПЕРАТОР\"").matches("позовите оператора"));
    }

    #[test]
    fn bare_words_and_typographic_quotes() {
        let k = set("operator, “help me”, [need, «human»]");
        assert!(k.matches("operator") && k.matches("please HELP ME") && k.matches("need a human"));
        assert_eq!(k.to_string(), r#""operator","help me",["need","human"]"#);
    }

    #[test]
    fn errors_name_the_position() {
        let e = KeywordSet::parse(r#""a","b" "c""#).unwrap_err();
        assert_eq!(e.position, 9);
        assert!(e.message.contains("expected `,`"), "{e}");
        let e = KeywordSet::parse(r#""a",["b","c""#).unwrap_err();
        assert_eq!(e.position, 5, "{e}");
        assert!(e.message.contains("never closed"));
        let e = KeywordSet::parse(r#""a","#).unwrap_err();
        assert!(e.message.contains("missing"), "{e}");
        let e = KeywordSet::parse(r#""a",""  "#).unwrap_err();
        assert_eq!((e.position, e.message.as_str()), (5, "empty keyword"));
        let e = KeywordSet::parse(r#""abc"#).unwrap_err();
        assert_eq!(e.position, 1);
        assert!(KeywordSet::parse("").is_err());
        assert!(KeywordSet::parse("[]").is_err());
    }
}
