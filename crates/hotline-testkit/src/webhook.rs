//! Webhook delivery: while a webhook is set, queued updates are POSTed to it one at a time,
//! in order, with `X-Telegram-Bot-Api-Secret-Token` when a secret was given. An answer that
//! is itself a Bot API call (`{"method": ...}` in the body) is executed, as Telegram does.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::params::Params;
use crate::state::now_unix;
use crate::{FakeTelegram, Shared, api};

pub(crate) async fn run(fake: FakeTelegram) {
    let shared: Arc<Shared> = fake.shared.clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .no_proxy()
        .build();
    let Ok(client) = client else {
        tracing::error!("cannot build the webhook HTTP client");
        return;
    };
    let mut shutdown = shared.shutdown.subscribe();
    let mut failures: u32 = 0;
    loop {
        let notified = shared.updates.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let job = {
            let st = shared.lock();
            match (&st.webhook, st.updates.front()) {
                (Some(w), Some(u)) => Some((w.url.clone(), w.secret_token.clone(), u.clone())),
                _ => None,
            }
        };
        let Some((url, secret, update)) = job else {
            tokio::select! {
                _ = &mut notified => continue,
                _ = shutdown.changed() => return,
            }
        };
        let update_id = update.id;
        let mut req = client
            .post(&url)
            .header("content-type", "application/json")
            .body(update.json);
        if let Some(s) = &secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        let outcome = tokio::select! {
            r = req.send() => r,
            _ = shutdown.changed() => return,
        };
        let error = match outcome {
            Ok(resp) if resp.status().is_success() => {
                let body = resp.bytes().await.unwrap_or_default();
                {
                    let mut st = shared.lock();
                    if st.updates.front().map(|u| u.id) == Some(update_id) {
                        st.updates.pop_front();
                        st.stats.updates_delivered += 1;
                    }
                    st.webhook_last_error = None;
                    // A reply that is a method call is executed.
                    if let Ok(Value::Object(mut call)) = serde_json::from_slice::<Value>(&body)
                        && let Some(Value::String(m)) = call.remove("method")
                        && let Some(canonical) = api::canonical(&m)
                        && canonical != "getUpdates"
                    {
                        *st.stats.calls.entry(canonical.to_owned()).or_insert(0) += 1;
                        let _ =
                            api::call(&mut st, canonical, &Params::from_json(Value::Object(call)));
                    }
                }
                fake.bump();
                failures = 0;
                None
            }
            Ok(resp) => Some(format!(
                "Wrong response from the webhook: {}",
                resp.status()
            )),
            Err(e) if e.is_timeout() => Some("Read timeout expired".to_owned()),
            Err(_) => Some("Connection refused".to_owned()),
        };
        if let Some(msg) = error {
            {
                let mut st = shared.lock();
                st.stats.webhook_errors += 1;
                st.webhook_last_error = Some((now_unix(), msg));
            }
            fake.bump();
            failures = failures.saturating_add(1);
            let backoff = Duration::from_millis(50u64 << failures.min(5));
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
