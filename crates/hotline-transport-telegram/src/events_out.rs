//! Events out on the Telegram desk: the desk's event stream, and the `WEBHOOKS` deliverer
//! started beside the runners (see `webhooks/`).

use crate::hotline::Hotline;
use hotline_core::Events;

impl Hotline {
    /// The desk's events as a stream, from now on: `dialog_created`, `dialog_reopened`,
    /// `dialog_closed`, `message_received`, `message_sent`, `message_intercepted`,
    /// `message_edited`, `user_blocked`, `dead_lettered` (see [`hotline_core::DeskEvent`]).
    ///
    /// A slow reader never slows the desk: it misses the oldest events and is told how many
    /// ([`hotline_core::Lagged`]).
    ///
    /// ```no_run
    /// # async fn demo(hotline: hotline_transport_telegram::Hotline) {
    /// let mut events = hotline.events();
    /// while let Some(event) = events.next().await {
    ///     match event {
    ///         Ok(event) => println!("{} {} in topic {:?}", event.kind, event.user, event.topic),
    ///         Err(lagged) => eprintln!("{lagged}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> Events {
        self.desk.events()
    }
}
