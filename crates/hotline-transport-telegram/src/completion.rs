//! `Completion`: when the desk has finished with an update.

use hotline_core::{Error, InLane, Ticket};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::oneshot;

/// A failure shared by several waiters (the parts of an album, the messages held behind it):
/// each gets the same error, whole, as the source of its own [`Error::Album`].
pub(crate) type Failure = Arc<Error>;

/// Resolves when the desk has handled everything an update gave it (a runner moves its offset
/// only then). Dropping one from [`crate::Hotline::handle_update`] does not cancel anything.
#[derive(Debug)]
#[must_use = "a completion does nothing unless awaited; drop it to not wait"]
pub struct Completion(Inner);

#[derive(Debug)]
enum Inner {
    Ready,
    Ticket(Ticket),
    Waiting(oneshot::Receiver<Result<(), Failure>>),
    Failed(Option<Error>),
    /// Handled while this completion is polled (see [`hotline_core::Desk::run_in_lane`]).
    InLane(InLane),
}

impl Completion {
    pub(crate) fn ready() -> Self {
        Self(Inner::Ready)
    }

    pub(crate) fn ticket(ticket: Ticket) -> Self {
        Self(Inner::Ticket(ticket))
    }

    pub(crate) fn in_lane(run: InLane) -> Self {
        Self(Inner::InLane(run))
    }

    /// A completion that resolves to `error` at once (the update could not be handed over).
    pub(crate) fn failed(error: Error) -> Self {
        Self(Inner::Failed(Some(error)))
    }

    pub(crate) fn waiting() -> (oneshot::Sender<Result<(), Failure>>, Self) {
        let (tx, rx) = oneshot::channel();
        (tx, Self(Inner::Waiting(rx)))
    }
}

impl Future for Completion {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Inner::Ready => Poll::Ready(Ok(())),
            Inner::Ticket(ticket) => Pin::new(ticket).poll(cx).map(|r| r.map(|_| ())),
            Inner::InLane(run) => Pin::new(run).poll(cx).map(|r| r.map(|_| ())),
            Inner::Failed(error) => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                Error::Stopped("the completion was polled after it resolved".into())
            }))),
            Inner::Waiting(rx) => Pin::new(rx).poll(cx).map(|r| match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(shared)) => Err(Error::Album(shared)),
                Err(_) => Err(Error::Stopped(
                    "the desk stopped before handling the update".into(),
                )),
            }),
        }
    }
}
