//! Text formatting as Telegram does it: `parse_mode` (HTML, MarkdownV2, Markdown) turned into
//! plain text plus entities, and the entities Telegram detects by itself (`bot_command`).
//! Offsets and lengths are in UTF-16 code units, as in the Bot API.

use serde_json::{Value, json};

use crate::params::ApiError;

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Entities Telegram adds by itself: `/command` (optionally `@bot`) at a word start.
pub(crate) fn auto_entities(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut offset16 = 0usize;
    let mut prev: Option<char> = None;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        let at_word_start = prev.is_none_or(char::is_whitespace);
        if c == '/' && at_word_start {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            if j > i + 1 {
                if j < chars.len() && chars[j].1 == '@' {
                    let mut k = j + 1;
                    while k < chars.len()
                        && (chars[k].1.is_ascii_alphanumeric() || chars[k].1 == '_')
                    {
                        k += 1;
                    }
                    if k > j + 1 {
                        j = k;
                    }
                }
                let len: usize = chars[i..j].iter().map(|(_, c)| c.len_utf16()).sum();
                out.push(json!({"type": "bot_command", "offset": offset16, "length": len}));
                for (_, c) in &chars[i..j] {
                    offset16 += c.len_utf16();
                }
                prev = Some(chars[j - 1].1);
                i = j;
                continue;
            }
        }
        offset16 += c.len_utf16();
        prev = Some(c);
        i += 1;
    }
    out
}

/// Merges explicit entities with automatic ones that do not overlap them, sorted by offset.
pub(crate) fn merge_auto(text: &str, mut entities: Vec<Value>) -> Vec<Value> {
    for a in auto_entities(text) {
        let (ao, al) = (
            a["offset"].as_i64().unwrap_or(0),
            a["length"].as_i64().unwrap_or(0),
        );
        let overlaps = entities.iter().any(|e| {
            let (o, l) = (
                e["offset"].as_i64().unwrap_or(0),
                e["length"].as_i64().unwrap_or(0),
            );
            ao < o + l && o < ao + al
        });
        if !overlaps {
            entities.push(a);
        }
    }
    entities.sort_by_key(|e| e["offset"].as_i64().unwrap_or(0));
    entities
}

fn parse_error(msg: String) -> ApiError {
    ApiError::bad(&format!("can't parse entities: {msg}"))
}

/// Applies `parse_mode` (case-insensitive). Unknown modes are an error, like on Telegram.
pub(crate) fn parse(text: &str, mode: &str) -> Result<(String, Vec<Value>), ApiError> {
    match mode.to_ascii_lowercase().as_str() {
        "html" => parse_html(text),
        "markdownv2" => parse_markdown(text, true),
        "markdown" => parse_markdown(text, false),
        "" => Ok((text.to_owned(), Vec::new())),
        _ => Err(ApiError::bad(&format!("unsupported parse_mode \"{mode}\""))),
    }
}

struct Open {
    kind: &'static str,
    tag: String,
    start16: usize,
    extra: Option<(&'static str, String)>,
}

fn parse_html(text: &str) -> Result<(String, Vec<Value>), ApiError> {
    let mut out = String::new();
    let mut out16 = 0usize;
    let mut stack: Vec<Open> = Vec::new();
    let mut entities = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with('<') {
            let end = rest
                .find('>')
                .ok_or_else(|| parse_error(format!("Unclosed start tag at byte offset {i}")))?;
            let inner = rest[1..end].trim();
            if let Some(name) = inner.strip_prefix('/') {
                let name = name.trim().to_ascii_lowercase();
                let open = stack
                    .pop()
                    .ok_or_else(|| parse_error(format!("Unexpected end tag at byte offset {i}")))?;
                if open.tag != name {
                    return Err(parse_error(format!(
                        "Can't find end tag corresponding to start tag \"{}\"",
                        open.tag
                    )));
                }
                if out16 > open.start16 {
                    let mut e = json!({"type": open.kind, "offset": open.start16, "length": out16 - open.start16});
                    if let Some((k, v)) = open.extra {
                        e[k] = json!(v);
                    }
                    entities.push(e);
                }
            } else {
                let (name, attrs) = match inner.find(char::is_whitespace) {
                    Some(p) => (&inner[..p], inner[p..].trim()),
                    None => (inner, ""),
                };
                let tag = name.to_ascii_lowercase();
                let (kind, extra): (&'static str, Option<(&'static str, String)>) =
                    match tag.as_str() {
                        "b" | "strong" => ("bold", None),
                        "i" | "em" => ("italic", None),
                        "u" | "ins" => ("underline", None),
                        "s" | "strike" | "del" => ("strikethrough", None),
                        "tg-spoiler" => ("spoiler", None),
                        "span" if attrs.contains("tg-spoiler") => ("spoiler", None),
                        "code" => ("code", None),
                        "pre" => ("pre", None),
                        "blockquote" => {
                            if attrs.contains("expandable") {
                                ("expandable_blockquote", None)
                            } else {
                                ("blockquote", None)
                            }
                        }
                        "a" => {
                            let href = attr_value(attrs, "href").unwrap_or_default();
                            if let Some(id) = href.strip_prefix("tg://user?id=") {
                                ("text_mention", Some(("user_id_raw", id.to_owned())))
                            } else {
                                ("text_link", Some(("url", href)))
                            }
                        }
                        _ => {
                            return Err(parse_error(format!(
                                "Unsupported start tag \"{tag}\" at byte offset {i}"
                            )));
                        }
                    };
                // text_mention needs a User object we do not have: keep it a text_link.
                let (kind, extra) = match extra {
                    Some(("user_id_raw", id)) => {
                        ("text_link", Some(("url", format!("tg://user?id={id}"))))
                    }
                    other => (kind, other),
                };
                stack.push(Open {
                    kind,
                    tag,
                    start16: out16,
                    extra,
                });
            }
            i += end + 1;
        } else if rest.starts_with('&') {
            let (ch, used) = match rest.find(';') {
                Some(semi) if semi <= 10 => {
                    let name = &rest[1..semi];
                    let ch = match name {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "quot" => Some('"'),
                        _ => name
                            .strip_prefix("#x")
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                            .and_then(char::from_u32),
                    };
                    match ch {
                        Some(c) => (c, semi + 1),
                        None => ('&', 1),
                    }
                }
                _ => ('&', 1),
            };
            out.push(ch);
            out16 += ch.len_utf16();
            i += used;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            out16 += c.len_utf16();
            i += c.len_utf8();
        }
        let _ = bytes;
    }
    if let Some(open) = stack.pop() {
        return Err(parse_error(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            open.tag
        )));
    }
    entities.sort_by_key(|e| e["offset"].as_i64().unwrap_or(0));
    Ok((out, entities))
}

fn attr_value(attrs: &str, name: &str) -> Option<String> {
    let pos = attrs.find(name)?;
    let rest = attrs[pos + name.len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let (q, rest) = match rest.chars().next()? {
        q @ ('"' | '\'') => (q, &rest[1..]),
        _ => {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            return Some(rest[..end].to_owned());
        }
    };
    let end = rest.find(q)?;
    Some(rest[..end].replace("&amp;", "&"))
}

const RESERVED_V2: &str = "_*[]()~`>#+-=|{}.!";

fn parse_markdown(text: &str, v2: bool) -> Result<(String, Vec<Value>), ApiError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut out16 = 0usize;
    let mut entities = Vec::new();
    // open markers: (marker, start16)
    let mut open: Vec<(&'static str, usize)> = Vec::new();
    let mut link_start: Option<usize> = None;
    let mut i = 0;
    let push = |out: &mut String, out16: &mut usize, c: char| {
        out.push(c);
        *out16 += c.len_utf16();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\\' && v2 {
            match next {
                Some(n) if (n as u32) < 127 => {
                    push(&mut out, &mut out16, n);
                    i += 2;
                    continue;
                }
                _ => {
                    return Err(parse_error(
                        "Character '\\' is reserved and must be escaped with the preceding '\\'"
                            .to_string(),
                    ));
                }
            }
        }
        if c == '`' {
            // code or pre: raw content until the closing marker
            let fence = next == Some('`') && chars.get(i + 2) == Some(&'`');
            let marker_len = if fence { 3 } else { 1 };
            let mut j = i + marker_len;
            let mut language: Option<String> = None;
            if fence {
                let line_end = chars[j..].iter().position(|c| *c == '\n').map(|p| j + p);
                if let Some(le) = line_end {
                    let lang: String = chars[j..le].iter().collect();
                    if !lang.trim().is_empty() && !lang.contains(' ') {
                        language = Some(lang.trim().to_owned());
                    }
                    if language.is_some() || lang.trim().is_empty() {
                        j = le + 1;
                    }
                }
            }
            let start16 = out16;
            let mut closed = false;
            while j < chars.len() {
                if chars[j] == '\\' && v2 && j + 1 < chars.len() {
                    push(&mut out, &mut out16, chars[j + 1]);
                    j += 2;
                    continue;
                }
                if chars[j] == '`'
                    && (!fence
                        || (chars.get(j + 1) == Some(&'`') && chars.get(j + 2) == Some(&'`')))
                {
                    closed = true;
                    break;
                }
                push(&mut out, &mut out16, chars[j]);
                j += 1;
            }
            if !closed {
                return Err(parse_error(format!(
                    "Can't find end of the entity starting at byte offset {}",
                    byte_offset(&chars, i)
                )));
            }
            let mut e = json!({"type": if fence {"pre"} else {"code"}, "offset": start16, "length": out16 - start16});
            if let Some(l) = language {
                e["language"] = json!(l);
            }
            if out16 > start16 {
                entities.push(e);
            }
            i = j + marker_len;
            continue;
        }
        let marker: Option<(&'static str, &'static str, usize)> = match c {
            '*' => Some(("*", "bold", 1)),
            '_' if v2 && next == Some('_') => Some(("__", "underline", 2)),
            '_' => Some(("_", "italic", 1)),
            '~' if v2 => Some(("~", "strikethrough", 1)),
            '|' if v2 && next == Some('|') => Some(("||", "spoiler", 2)),
            _ => None,
        };
        if let Some((m, kind, len)) = marker {
            if let Some(pos) = open.iter().rposition(|(o, _)| *o == m) {
                let (_, start) = open.remove(pos);
                if out16 > start {
                    entities.push(json!({"type": kind, "offset": start, "length": out16 - start}));
                }
            } else {
                open.push((m, out16));
            }
            i += len;
            continue;
        }
        if c == '[' {
            if link_start.is_some() && v2 {
                return Err(parse_error(
                    "Character '[' is reserved and must be escaped with the preceding '\\'".into(),
                ));
            }
            link_start = Some(out16);
            i += 1;
            continue;
        }
        if c == ']' && link_start.is_some() && next == Some('(') {
            let close = chars[i + 2..]
                .iter()
                .position(|c| *c == ')')
                .map(|p| i + 2 + p);
            let Some(close) = close else {
                return Err(parse_error("Can't find end of a URL".into()));
            };
            let url: String = chars[i + 2..close].iter().filter(|c| **c != '\\').collect();
            let start = link_start.take().unwrap_or(out16);
            if out16 > start {
                entities.push(json!({"type": "text_link", "offset": start, "length": out16 - start, "url": url}));
            }
            i = close + 1;
            continue;
        }
        if v2 && RESERVED_V2.contains(c) && !(c == '>' && (i == 0 || chars[i - 1] == '\n')) {
            return Err(parse_error(format!(
                "Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )));
        }
        if v2 && c == '>' {
            // a blockquote marker at line start: dropped (quote entity not modelled)
            i += 1;
            continue;
        }
        push(&mut out, &mut out16, c);
        i += 1;
    }
    if let Some((m, _)) = open.first() {
        return Err(parse_error(format!(
            "Can't find end of {} entity",
            match *m {
                "*" => "Bold",
                "_" => "Italic",
                "__" => "Underline",
                "~" => "Strikethrough",
                _ => "Spoiler",
            }
        )));
    }
    if link_start.is_some() {
        return Err(parse_error("Can't find end of a URL".into()));
    }
    entities.sort_by_key(|e| e["offset"].as_i64().unwrap_or(0));
    Ok((out, entities))
}

fn byte_offset(chars: &[char], i: usize) -> usize {
    chars[..i].iter().map(|c| c.len_utf8()).sum()
}

/// Length of a text as Telegram counts it (UTF-16 code units).
pub(crate) fn telegram_len(s: &str) -> usize {
    utf16_len(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_detected() {
        let e = auto_entities("/start@hotline_bot payload /help x/no");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0]["length"], 18);
        assert_eq!(e[1]["offset"], 27);
    }

    #[test]
    fn html_and_markdown() {
        let (t, e) = parse("<b>Hi</b> &lt;3 <a href=\"https://x.y\">l</a>", "HTML").expect("html");
        assert_eq!(t, "Hi <3 l");
        assert_eq!(e.len(), 2);
        let (t, e) = parse("*bold* \\. _it_ `c\\`d`", "MarkdownV2").expect("md2");
        assert_eq!(t, "bold . it c`d");
        assert_eq!(e.len(), 3);
        assert!(parse("Hello.", "MarkdownV2").is_err());
        assert!(parse("<x>a</x>", "HTML").is_err());
    }
}
