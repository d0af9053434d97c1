//! The desk's failures on stderr when no one listens to `tracing`.
//!
//! The desk reports its failures with `tracing` (and the error hook). A host bot that never
//! installed a subscriber would see nothing at all, and its users would get nothing either: so
//! while no global subscriber is set, the first failure of each kind is also printed to stderr,
//! with a hint. Later failures of a kind already shown are left out, so that a failure that
//! repeats for every message does not flood stderr.

use std::sync::Mutex;

/// The kinds already printed, for the life of the process (a handful at most).
static SHOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Prints `what: error` to stderr when no `tracing` subscriber has been installed and no
/// failure of `kind` was printed before (see [`crate::Error::kind`] for the desk's kinds).
/// Returns whether it printed. With a subscriber installed it does nothing: the `tracing`
/// event the caller emits beside it is the report.
pub fn report_unobserved(kind: &str, what: &str, error: &dyn std::fmt::Display) -> bool {
    if tracing::dispatcher::has_been_set() || !first_of_kind(kind) {
        return false;
    }
    eprintln!(
        "{what}: {error} (the first failure of kind `{kind}`; later ones are not shown: \
         install a `tracing` subscriber to see every failure)"
    );
    true
}

/// Whether `kind` is seen for the first time (and marks it seen).
fn first_of_kind(kind: &str) -> bool {
    let mut shown = SHOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if shown.iter().any(|k| k == kind) {
        false
    } else {
        shown.push(kind.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_shown_once() {
        assert!(first_of_kind("test: a"));
        assert!(!first_of_kind("test: a"));
        assert!(first_of_kind("test: b"));
        assert!(!first_of_kind("test: a") && !first_of_kind("test: b"));
    }
}
