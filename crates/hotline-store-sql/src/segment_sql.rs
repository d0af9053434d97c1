//! Segments as one query: [`Segment::conditions`] compiled to a `WHERE` clause over
//! `conversations`, shared by both backends (they differ in placeholders only).
//!
//! A tag is `user_id IN (SELECT user_id FROM user_tags WHERE tag = ?)`, so a rare tag is read
//! through the `user_tags_by_tag` index rather than by testing every user; a plain term stays
//! plain, or the planner could not see the index through it. A negated term is
//! `NOT COALESCE(..., FALSE)`: a user without a language is not `lang:de`, so they are
//! `~lang:de`, as the desk's own test says (a bare `NOT` of the `NULL` would leave them out).

use hotline_core::Timestamp;
use hotline_core::segment::{Condition, Segment};

/// A value bound to a compiled query, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bound {
    Text(String),
    Int(i64),
}

/// The backend a query is written for (their placeholders differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?n` placeholders.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite,
    /// `$n` placeholders.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

/// `SELECT user_id FROM conversations WHERE ...` for `segment` at `now` (in no order: the
/// backends gather the ids into one value and order them), and its values in order.
pub(crate) fn members_query(
    segment: &Segment,
    now: Timestamp,
    dialect: Dialect,
) -> (String, Vec<Bound>) {
    let placeholder = |n: usize| match dialect {
        Dialect::Sqlite => format!("?{n}"),
        Dialect::Postgres => format!("${n}"),
    };
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
                all.push(if *negated {
                    format!("NOT COALESCE({test}, FALSE)")
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
        let (sql, bound) = members_query(&segment, Timestamp(100_000), Dialect::Postgres);
        assert_eq!(
            sql,
            "SELECT user_id FROM conversations WHERE NOT banned AND NOT blocked AND \
             ((user_id IN (SELECT user_id FROM user_tags WHERE tag = $1) AND \
             NOT COALESCE((lower(language_code) = $2 OR substr(lower(language_code), 1, CAST($4 AS INTEGER)) = $3), FALSE)) \
             OR (last_active > $5))"
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
        let (everyone, none) = members_query(&Segment::everyone(), Timestamp(0), Dialect::Sqlite);
        assert_eq!(
            everyone,
            "SELECT user_id FROM conversations WHERE NOT banned AND NOT blocked"
        );
        assert!(none.is_empty());
        let (sqlite, _) = members_query(&segment, Timestamp(100_000), Dialect::Sqlite);
        assert!(
            sqlite.contains("user_id IN (SELECT user_id FROM user_tags WHERE tag = ?1)"),
            "{sqlite}"
        );
    }
}
