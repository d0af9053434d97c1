//! A desk on the fake Telegram with the gateway in front of it on 127.0.0.1:0, and a "bot"
//! (reqwest) calling the gateway.

#![allow(dead_code, unreachable_pub, missing_docs)]

use hotline_core::{ChatId, Config, MemoryStore, Store};
use hotline_gateway::{Gateway, GatewayConfig};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use hotline_transport_telegram::{Hotline, Limits};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "777001:E2E-secret-token-VALUE";
pub const GROUP: i64 = -1_001_000_000_777;
pub const OPERATOR: i64 = 2001;
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Env {
    pub tg: FakeTelegram,
    pub hotline: Hotline,
    pub gateway: Gateway,
    /// `http://127.0.0.1:PORT`, what a bot's API URL is set to.
    pub url: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), hotline_gateway::Error>>>,
}

/// A fake Telegram with the operators' forum group and an operator in it.
pub async fn fake() -> FakeTelegram {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    tg
}

/// The desk and the gateway on a fresh fake, the desk's state in memory.
pub async fn start() -> Env {
    start_on(fake().await, Arc::new(MemoryStore::new())).await
}

/// The desk (on `store`) and the gateway in front of `tg`.
pub async fn start_on(tg: FakeTelegram, store: Arc<dyn Store>) -> Env {
    start_with(tg, store, GatewayConfig::default()).await
}

/// [`start_on`] with a gateway configuration.
pub async fn start_with(tg: FakeTelegram, store: Arc<dyn Store>, config: GatewayConfig) -> Env {
    start_with_params(tg, store, config, &[]).await
}

/// [`start_with`], with Hotline parameters on top of `WELCOME=OFF`.
pub async fn start_with_params(
    tg: FakeTelegram,
    store: Arc<dyn Store>,
    config: GatewayConfig,
    params: &[(&str, &str)],
) -> Env {
    let gateway_config = config;
    let config = Config::builder(ChatId(GROUP))
        .set_all(
            [("WELCOME", "OFF")]
                .into_iter()
                .chain(params.iter().copied()),
        )
        .expect("params")
        .build()
        .expect("config");
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .album_quiet(Duration::from_millis(100))
        .store(store)
        .build()
        .expect("hotline");
    let gateway = Gateway::new(hotline.clone(), gateway_config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = {
        let gateway = gateway.clone();
        tokio::spawn(async move {
            gateway
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    Env {
        tg,
        hotline,
        gateway,
        url,
        http: reqwest::Client::new(),
        stop: Some(stop),
        task: Some(task),
    }
}

impl Env {
    pub fn method_url(&self, method: &str) -> String {
        format!("{}/bot{TOKEN}/{method}", self.url)
    }

    /// A JSON call through the gateway: (HTTP status, body).
    pub async fn call(&self, method: &str, params: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.method_url(method))
            .json(&params)
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    /// `getUpdates` through the gateway, expecting success: the updates.
    pub async fn poll(&self, params: Value) -> Vec<Value> {
        let (status, body) = self.call("getUpdates", params).await;
        assert_eq!(status, 200, "{body}");
        body["result"].as_array().expect("a list").clone()
    }

    pub fn user(&self, id: i64, name: &str) -> i64 {
        self.tg.add_user(NewUser::new(id, name));
        id
    }

    pub fn say(&self, user: i64, text: &str) -> Value {
        self.tg
            .send_message(NewMessage::text(user, user, text))
            .expect("user message")
    }

    pub fn operator_says(&self, thread: i64, text: &str) -> Value {
        self.tg
            .send_message(NewMessage::text(OPERATOR, GROUP, text).thread(thread))
            .expect("operator message")
    }

    /// The user's topic, once the desk has opened one.
    pub async fn topic_of(&self, user: i64) -> i64 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let conv = self
                .hotline
                .desk()
                .store()
                .conversation(hotline_core::UserId(user))
                .await
                .expect("store");
            if let Some(topic) = conv.and_then(|c| c.topic) {
                return topic.0;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no topic for {user}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Texts of a topic's messages.
    pub fn thread_texts(&self, thread: i64) -> Vec<String> {
        self.tg
            .thread_messages(GROUP, thread)
            .iter()
            .map(text_of)
            .collect()
    }

    pub async fn wait(&self, what: &str, cond: impl Fn(&Env) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !cond(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls (without confirming) until `count` updates are there for the bot.
    pub async fn wait_updates(&self, count: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let updates = self.poll(json!({"timeout": 1})).await;
            if updates.len() >= count {
                return updates;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {count} updates reached the bot: {updates:?}",
                updates.len()
            );
        }
    }

    /// Stops the gateway, checks it stopped cleanly, and gives the fake back.
    pub async fn stop(mut self) -> FakeTelegram {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("the gateway stops")
                .expect("gateway task")
                .expect("the gateway exits cleanly");
        }
        self.tg.clone()
    }
}

pub fn text_of(m: &Value) -> String {
    m.get("text")
        .or_else(|| m.get("caption"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The text of an update's message (or edited message).
pub fn update_text(update: &Value) -> String {
    let message = update
        .get("message")
        .or_else(|| update.get("edited_message"))
        .cloned()
        .unwrap_or_default();
    text_of(&message)
}
