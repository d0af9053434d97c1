//! A webhook receiver on 127.0.0.1 (axum), for the WEBHOOKS tests: it keeps every post, and can
//! be down (503), hanging (never answers) or up; a command gets an answer.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub const UP: u8 = 0;
pub const DOWN: u8 = 1;
pub const HANGING: u8 = 2;

/// One post as it arrived.
#[derive(Debug, Clone)]
pub struct Post {
    pub signature: String,
    pub body: Vec<u8>,
    pub json: Value,
}

#[derive(Clone, Default)]
pub struct Receiver {
    state: Arc<AtomicU8>,
    posts: Arc<Mutex<Vec<Post>>>,
    refused: Arc<AtomicUsize>,
    pub url: String,
}

impl Receiver {
    /// Starts a receiver in `state` on a free port.
    pub async fn start(state: u8) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let receiver = Receiver {
            state: Arc::new(AtomicU8::new(state)),
            url,
            ..Receiver::default()
        };
        let app = Router::new()
            .route("/hook", post(take))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    pub fn set(&self, state: u8) {
        self.state.store(state, Ordering::SeqCst);
    }

    /// The posts accepted (answered 2xx), in arrival order.
    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// How many posts were refused (503) or left hanging.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

async fn take(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    match receiver.state.load(Ordering::SeqCst) {
        DOWN => {
            receiver.refused.fetch_add(1, Ordering::SeqCst);
            return (StatusCode::SERVICE_UNAVAILABLE, "down".into());
        }
        HANGING => {
            receiver.refused.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
        _ => {}
    }
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let signature = headers
        .get("x-hotline-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let answer = if json["event"] == "command" {
        format!(
            r#"{{"text": "CRM: {} has 2 orders"}}"#,
            json["user_id"].as_i64().unwrap_or_default()
        )
    } else {
        String::new()
    };
    receiver.posts.lock().unwrap().push(Post {
        signature,
        body: body.to_vec(),
        json,
    });
    (StatusCode::OK, answer)
}
