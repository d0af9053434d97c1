//! Segments as one query: [`Segment::conditions`] compiled to a `WHERE` clause over
//! `conversations`, shared by both backends (they differ in placeholders only).
//!
//! A tag is `user_id IN (SELECT user_id FROM user_tags WHERE tag = ?)`, so a rare tag is read
//! through the `user_tags_by_tag` index rather than by testing every user. Every term is
//! wrapped in `COALESCE(..., FALSE)`: a user without a language is not `lang:de`, so they are
//! `~lang:de`, as the desk's own test says.

use hotline_core::Timestamp;
use hotline_core::segment::{Condition, Segment};

/// A value bound to a compiled query, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bound {
    Text(String),
    Int(i64),
}

/// `SELECT user_id FROM conversations WHERE ... ORDER BY user_id` for `segment` at `now`, and
/// its values in order. `placeholder(n)` writes the n-th (from 1): `?n` or `$n`.
pub(crate) fn members_query(
    segment: &Segment,
    now: Timestamp,
    placeholder: impl Fn(usize) -> String,
) -> (String, Vec<Bound>) {
    let mut bound = Vec::new();
    let next = |value: Bound, bound: &mut Vec<Bound>| {
        bound.push(value);
        placeholder(bound.len())
    };
    let mut sql =
        String::from("SELECT user_id FROM conversations WHERE NOT banned AND NOT blocked");
    let alternatives = segment.conditions(now);
    if !alternatives.is_empty() {
        let mut any = Vec::new();
        for terms in &alternatives {
            let mut all = Vec::new();
            for (negated, condition) in terms {
                let test = match condition {
                    Condition::Tag(tag) => format!(
                        "user_id IN (SELECT user_id FROM user_tags WHERE tag = {})",
                        next(Bound::Text(tag.as_str().to_owned()), &mut bound)
                    ),
                    Condition::Language(lang) => {
                        let exact = next(Bound::Text((*lang).to_owned()), &mut bound);
                        let prefix = next(Bound::Text(format!("{lang}-")), &mut bound);
                        let length = next(Bound::Int(lang.len() as i64 + 1), &mut bound);
                        format!(
                            "(lower(language_code) = {exact} \
                             OR substr(lower(language_code), 1, CAST({length} AS INTEGER)) = {prefix})"
                        )
                    }
                    Condition::StartPayload(payload) => format!(
                        "start_payload = {}",
                        next(Bound::Text((*payload).to_owned()), &mut bound)
                    ),
                    Condition::Open => OPEN.to_owned(),
                    Condition::Closed => format!("(topic_id IS NOT NULL AND NOT {OPEN})"),
                    Condition::ActiveAfter(time) => {
                        format!("last_active > {}", next(Bound::Int(time.0), &mut bound))
                    }
                    Condition::IdleSince(time) => {
                        format!("last_active <= {}", next(Bound::Int(time.0), &mut bound))
                    }
                    // A condition this store does not know yet selects nobody, rather than
                    // everybody.
                    _ => "FALSE".to_owned(),
                };
                let test = format!("COALESCE({test}, FALSE)");
                all.push(if *negated {
                    format!("NOT {test}")
                } else {
                    test
                });
            }
            any.push(format!("({})", all.join(" AND ")));
        }
        sql.push_str(" AND (");
        sql.push_str(&any.join(" OR "));
        sql.push(')');
    }
    sql.push_str(" ORDER BY user_id");
    (sql, bound)
}

/// A topic that is open: `user_answered` or `support_answered`.
const OPEN: &str = "(topic_id IS NOT NULL AND status IN ('user_answered', 'support_answered'))";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_become_one_where_clause() {
        let segment = Segment::parse("#vip ~lang:de, active:<1d").expect("a segment");
        let (sql, bound) = members_query(&segment, Timestamp(100_000), |n| format!("${n}"));
        assert_eq!(
            sql,
            "SELECT user_id FROM conversations WHERE NOT banned AND NOT blocked AND \
             ((COALESCE(user_id IN (SELECT user_id FROM user_tags WHERE tag = $1), FALSE) AND \
             NOT COALESCE((lower(language_code) = $2 OR substr(lower(language_code), 1, CAST($4 AS INTEGER)) = $3), FALSE)) \
             OR (COALESCE(last_active > $5, FALSE))) ORDER BY user_id"
        );
        assert_eq!(
            bound,
            [
                Bound::Text("vip".into()),
                Bound::Text("de".into()),
                Bound::Text("de-".into()),
                Bound::Int(3),
                Bound::Int(100_000 - 86_400),
            ]
        );
        let (everyone, none) =
            members_query(&Segment::everyone(), Timestamp(0), |n| format!("?{n}"));
        assert_eq!(
            everyone,
            "SELECT user_id FROM conversations WHERE NOT banned AND NOT blocked ORDER BY user_id"
        );
        assert!(none.is_empty());
    }
}
