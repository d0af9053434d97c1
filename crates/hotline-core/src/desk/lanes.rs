//! Ordered lanes: events dispatched without waiting still run one at a time per lane, in order.

use crate::error::Error;
use crate::event::{Event, Lane};
use foldhash::HashMap;
use futures_util::FutureExt;
use std::any::Any;
use std::collections::VecDeque;
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
        metrics::gauge!(crate::metrics::QUEUE_DEPTH).increment(1.0);
        if start_worker {
            let desk = self.clone();
            runtime.spawn(async move { desk.drain_lane(lane).await });
        }
        Ticket(TicketInner::Waiting(rx))
    }

    /// Like [`Desk::dispatch`], for a caller that will wait: when the event's lane is idle, the
    /// event is handled inside the returned future, on the caller's task, instead of by a task
    /// of its own (spawning a task and waking its waiter cost more than a relay's own logic);
    /// when the lane is busy, the event is queued there as `dispatch` would queue it.
    ///
    /// The lane stays in order either way: while the future handles its event, other events of
    /// the lane queue behind it; when it finishes, a task takes over whatever queued meanwhile.
    /// Unlike a [`Ticket`], the future must be polled to completion: dropped while its event is
    /// being handled, it abandons that event (as a cancelled [`Desk::handle`] would: it may be
    /// sent again) and hands the rest of the lane to a task.
    ///
    /// Must be called from within a Tokio runtime; outside one, the future fails at once.
    pub fn run_in_lane(&self, event: Event) -> InLane {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return InLane(InLaneInner::Queued(Ticket(TicketInner::Failed(Some(
                Error::Stopped("Desk::run_in_lane needs a Tokio runtime".into()),
            )))));
        };
        let lane = event.lane();
        {
            let mut queues = self.inner.lanes.queues();
            if let Some(queue) = queues.get_mut(&lane) {
                let (tx, rx) = oneshot::channel();
                queue.push_back((event, tx));
                metrics::gauge!(crate::metrics::QUEUE_DEPTH).increment(1.0);
                return InLane(InLaneInner::Queued(Ticket(TicketInner::Waiting(rx))));
            }
            // An empty queue marks the lane busy: events dispatched meanwhile wait in it.
            queues.insert(lane, VecDeque::new());
        }
        let hand_off = LaneHandOff {
            desk: self.clone(),
            lane,
            runtime,
        };
        InLane(InLaneInner::Here(Box::pin(async move {
            let result = hand_off.desk.handle_caught(event).await;
            drop(hand_off);
            result
        })))
    }

    /// Handles one event of a lane, tried again on failure by the event policy; the error that
    /// ends it is reported.
    async fn handle_caught(&self, event: Event) -> Result<Outcome, Error> {
        let result = self.handle_retrying(event).await;
        if let Err(error) = &result
            && !error.is_interrupted()
        {
            self.report(error);
        }
        result
    }

    /// One attempt at an event: a panic fails this attempt alone.
    pub(super) async fn handle_guarded(&self, event: Event) -> Result<Outcome, Error> {
        // A bug that panics fails this one event, with an error on its ticket, instead of
        // stranding the rest of the lane's queue. (Caught here rather than by a task of its
        // own per event: a spawn per message is a measurable share of a relay.) The desk's
        // state is only its store and locks, which a panic leaves consistent: the commit
        // either landed or not, and lock guards are released as the panic unwinds.
        AssertUnwindSafe(self.handle(event))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                let message = panic_message(panic.as_ref()).to_owned();
                tracing::error!(panic = %message, "hotline: handling an event panicked");
                Err(Error::Panicked(message))
            })
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
            metrics::gauge!(crate::metrics::QUEUE_DEPTH).decrement(1.0);
            let result = self.handle_caught(event).await;
            // The caller may have dropped its ticket; the event was handled all the same.
            let _ = reply.send(result);
        }
    }
}

/// Ends a [`Desk::run_in_lane`] run, however it ends (done, or dropped half-way): the lane is
/// forgotten if nothing queued behind the event, and otherwise a task drains it, so no event is
/// ever left in a queue without a worker.
struct LaneHandOff {
    desk: Desk,
    lane: Lane,
    runtime: tokio::runtime::Handle,
}

impl Drop for LaneHandOff {
    fn drop(&mut self) {
        let backlog = {
            let mut queues = self.desk.inner.lanes.queues();
            let backlog = queues.get(&self.lane).is_some_and(|q| !q.is_empty());
            if !backlog {
                queues.remove(&self.lane);
            }
            backlog
        };
        if backlog {
            let (desk, lane) = (self.desk.clone(), self.lane);
            self.runtime
                .spawn(async move { desk.drain_lane(lane).await });
        }
    }
}

/// The result of [`Desk::run_in_lane`]: the event handled here, or queued behind its lane.
#[must_use = "the event is handled only while this future is polled"]
pub struct InLane(InLaneInner);

enum InLaneInner {
    Here(Pin<Box<dyn Future<Output = Result<Outcome, Error>> + Send>>),
    Queued(Ticket),
}

impl std::fmt::Debug for InLane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            InLaneInner::Here(_) => "InLane::Here",
            InLaneInner::Queued(_) => "InLane::Queued",
        })
    }
}

impl Future for InLane {
    type Output = Result<Outcome, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            InLaneInner::Here(run) => run.as_mut().poll(cx),
            InLaneInner::Queued(ticket) => Pin::new(ticket).poll(cx),
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
