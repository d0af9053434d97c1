//! A `hotline-desk` process a test started: what its start-up lines tell.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// The `http://host:port` the desk serves `HOTLINE_METRICS` on, read from the start-up line
/// `metrics on <address>/metrics` on its stdout (which must be piped). The rest of stdout is
/// drained in the background, so the desk never blocks on a full pipe.
pub async fn metrics_address(child: &mut Child, wait: Duration) -> String {
    let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let address = loop {
        let line = tokio::time::timeout(wait, lines.next_line())
            .await
            .expect("the start-up lines")
            .expect("stdout")
            .expect("the metrics line before stdout ends");
        if let Some(rest) = line.split("metrics on ").nth(1) {
            break rest
                .split("/metrics")
                .next()
                .expect("an address")
                .to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    address
}
