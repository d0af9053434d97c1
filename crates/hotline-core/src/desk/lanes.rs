//! Ordered lanes: events dispatched without waiting still run one at a time per lane, in order.

use crate::error::Error;
use crate::event::{Event, Lane};
use futures_util::FutureExt;
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use tokio::sync::oneshot;

use super::{Desk, Outcome};

type Job = (Event, oneshot::Sender<Result<Outcome, Error>>);

/// The queues of lanes that have work. A lane exists only while its worker task runs: the worker
/// removes it, under the same lock dispatchers take, when it finds the queue empty, so a job is
/// never left in a queue without a worker.
#[derive(Debug, Default)]
pub(crate) struct Lanes {
    queues: Mutex<HashMap<Lane, VecDeque<Job>>>,
}

impl Lanes {
    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<Lane, VecDeque<Job>>> {
        self.queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The result of a dispatched event, once the desk has handled it. Dropping the ticket does not
/// cancel the event.
#[derive(Debug)]
#[must_use = "a ticket does nothing unless awaited; drop it to not wait"]
pub struct Ticket(TicketInner);

#[derive(Debug)]
enum TicketInner {
    Waiting(oneshot::Receiver<Result<Outcome, Error>>),
    Failed(Option<Error>),
}

impl Future for Ticket {
    type Output = Result<Outcome, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            TicketInner::Waiting(rx) => Pin::new(rx).poll(cx).map(|r| {
                r.unwrap_or_else(|_| {
                    Err(Error::Stopped(
                        "the desk stopped before handling the event".into(),
                    ))
                })
            }),
            TicketInner::Failed(error) => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::Stopped("ticket polled after completion".into())))),
        }
    }
}

impl Desk {
    /// Queues `event` in its lane (a user's, a topic's) and returns at once. Events of one lane
    /// are handled one at a time in dispatch order; lanes run concurrently on the Tokio runtime.
    /// Errors go to the error hook as well as to the ticket.
    ///
    /// Must be called from within a Tokio runtime; outside one, the ticket holds an error.
    pub fn dispatch(&self, event: Event) -> Ticket {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Ticket(TicketInner::Failed(Some(Error::Stopped(
                "Desk::dispatch needs a Tokio runtime".into(),
            ))));
        };
        let (tx, rx) = oneshot::channel();
        let lane = event.lane();
        let start_worker = {
            let mut queues = self.inner.lanes.queues();
            match queues.get_mut(&lane) {
                Some(queue) => {
                    queue.push_back((event, tx));
                    false
                }
                None => {
                    queues.insert(lane, VecDeque::from([(event, tx)]));
                    true
                }
            }
        };
        if start_worker {
            let desk = self.clone();
            runtime.spawn(async move { desk.drain_lane(lane).await });
        }
        Ticket(TicketInner::Waiting(rx))
    }

    async fn drain_lane(self, lane: Lane) {
        loop {
            let job = {
                let mut queues = self.inner.lanes.queues();
                let next = queues.get_mut(&lane).and_then(VecDeque::pop_front);
                if next.is_none() {
                    queues.remove(&lane);
                }
                next
            };
            let Some((event, reply)) = job else { return };
            // A bug that panics fails this one event, with an error on its ticket, instead of
            // stranding the rest of the lane's queue. (Caught here rather than by a task of its
            // own per event: a spawn per message is a measurable share of a relay.) The desk's
            // state is only its store and locks, which a panic leaves consistent: the commit
            // either landed or not, and lock guards are released as the panic unwinds.
            let result = AssertUnwindSafe(self.handle(event))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    Err(Error::Stopped(format!(
                        "handling the event failed: it panicked: {}",
                        panic_message(panic.as_ref())
                    )))
                });
            if let Err(error) = &result {
                self.report(error);
            }
            // The caller may have dropped its ticket; the event was handled all the same.
            let _ = reply.send(result);
        }
    }
}

/// The text a panic was raised with, where it is a string.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
