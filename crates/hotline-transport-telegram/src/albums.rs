//! Albums: messages sharing a `media_group_id` arrive one update each; operators should get them
//! as one album, so they are held for a short quiet period and copied together.
//!
//! While an album of a chat is being collected, that chat's other messages wait behind it, so the
//! order the user wrote in is the order the topic shows.

use crate::completion::{Completion, Failure};
use hotline_core::{Desk, Event, IncomingMessage, Lane};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

type Done = oneshot::Sender<Result<(), Failure>>;

/// How an event handed to the desk at once is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// On a task of its lane (`Desk::dispatch`): it goes on if nobody waits for it.
    Spawned,
    /// Inside the completion, when its lane is idle (`Desk::run_in_lane`): for a caller that
    /// polls every completion to the end (the polling runner, on a task per update), it saves
    /// the lane's queue and a second task.
    Here,
}

struct Pending {
    media_group: String,
    first: Event,
    messages: Vec<IncomingMessage>,
    waiting: Vec<Done>,
    followers: Vec<(Event, Done)>,
    last_part: Instant,
}

#[derive(Clone)]
pub(crate) struct Albums {
    quiet: Duration,
    pending: Arc<Mutex<HashMap<Lane, Pending>>>,
}

fn media_group(event: &Event) -> Option<(&str, &IncomingMessage)> {
    match event {
        Event::UserMessage { message, .. } | Event::OperatorMessage { message, .. } => {
            message.media_group.as_deref().map(|g| (g, message))
        }
        _ => None,
    }
}

impl Albums {
    pub(crate) fn new(quiet: Duration) -> Self {
        Self {
            quiet,
            pending: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Lane, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `event` to the desk: now, or after the album its lane is collecting.
    pub(crate) fn submit(&self, desk: &Desk, event: Event) -> Completion {
        self.submit_to(desk, event, Run::Spawned)
    }

    /// [`Albums::submit`], choosing how an event that goes to the desk at once is run.
    pub(crate) fn submit_to(&self, desk: &Desk, event: Event, run: Run) -> Completion {
        let lane = event.lane();
        let mut pending = self.lock();
        let part = media_group(&event).map(|(g, m)| (g.to_owned(), m.clone()));
        match (pending.get_mut(&lane), part) {
            (Some(album), Some((group, message))) if album.media_group == group => {
                album.messages.push(message);
                album.last_part = Instant::now();
                let (done, completion) = Completion::waiting();
                album.waiting.push(done);
                completion
            }
            (Some(album), _) => {
                // Another message while an album is collected: it waits behind the album.
                let (done, completion) = Completion::waiting();
                album.followers.push((event, done));
                completion
            }
            (None, Some((group, message))) => {
                let (done, completion) = Completion::waiting();
                pending.insert(
                    lane,
                    Pending {
                        media_group: group,
                        first: event,
                        messages: vec![message],
                        waiting: vec![done],
                        followers: Vec::new(),
                        last_part: Instant::now(),
                    },
                );
                drop(pending);
                let (albums, desk) = (self.clone(), desk.clone());
                tokio::spawn(async move { albums.flush_when_quiet(desk, lane).await });
                completion
            }
            (None, None) => {
                drop(pending);
                match run {
                    Run::Spawned => Completion::ticket(desk.dispatch(event)),
                    Run::Here => Completion::in_lane(desk.run_in_lane(event)),
                }
            }
        }
    }

    async fn flush_when_quiet(self, desk: Desk, lane: Lane) {
        // The album and the messages held behind it are dispatched under the lock that `submit`
        // takes, so a message arriving now cannot overtake them.
        let (album_ticket, waiting, followers) = loop {
            let due = {
                let mut pending = self.lock();
                let Some(album) = pending.get(&lane) else {
                    return;
                };
                let due = album.last_part + self.quiet;
                if due <= Instant::now() {
                    let Some(album) = pending.remove(&lane) else {
                        return;
                    };
                    let event = match album.first {
                        Event::UserMessage { user, .. } => Event::UserAlbum {
                            user,
                            messages: album.messages,
                        },
                        Event::OperatorMessage {
                            chat,
                            topic,
                            operator,
                            ..
                        } => Event::OperatorAlbum {
                            chat,
                            topic,
                            operator,
                            messages: album.messages,
                        },
                        other => other,
                    };
                    let album_ticket = desk.dispatch(event);
                    let followers: Vec<_> = album
                        .followers
                        .into_iter()
                        .map(|(event, done)| (desk.dispatch(event), done))
                        .collect();
                    break (album_ticket, album.waiting, followers);
                }
                due
            };
            tokio::time::sleep_until(due).await;
        };
        let result = album_ticket.await.map(|_| ()).map_err(Arc::new);
        for done in waiting {
            let _ = done.send(result.clone());
        }
        for (ticket, done) in followers {
            let _ = done.send(ticket.await.map(|_| ()).map_err(Arc::new));
        }
    }
}
