//! Shared helpers for the testkit's integration tests: a started server with a standard
//! world, raw HTTP calls, and spec validation of every `result` the tests see.
#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;

use hotline_testkit::spec::Spec;
use hotline_testkit::{FakeTelegram, NewGroup, NewUser};
use serde_json::{Value, json};

pub const TOKEN: &str = "123456:TEST-token_abc";
pub const ANN: i64 = 1001;
pub const BOB: i64 = 1002;
pub const OLGA: i64 = 2001;
pub const GROUP: i64 = -1_001_000_000_001;
pub const PLAIN_GROUP: i64 = -1_001_000_000_002;

/// The spec, loaded once; a missing file fails the test with instructions.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| match Spec::load() {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    })
}

pub struct H {
    pub tg: FakeTelegram,
    pub http: reqwest::Client,
}

impl H {
    /// A server with Ann and Bob (users), Olga (operator), a forum backend group where the
    /// bot is admin, and a plain group where it is not.
    pub async fn new() -> H {
        let tg = FakeTelegram::start(TOKEN).await.expect("start");
        tg.add_user(
            NewUser::new(ANN, "Ann")
                .last_name("Lee")
                .username("ann")
                .language_code("en"),
        );
        tg.add_user(NewUser::new(BOB, "Bob"));
        tg.add_user(NewUser::new(OLGA, "Olga"));
        tg.add_group(NewGroup::forum(GROUP, "Support"));
        tg.add_group(NewGroup::plain(PLAIN_GROUP, "Chat"));
        tg.add_member(GROUP, OLGA).expect("member");
        tg.add_member(PLAIN_GROUP, OLGA).expect("member");
        H {
            tg,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.tg.api_url(), self.tg.token())
    }

    /// POSTs JSON; the answer, or the error of a connection that closed without one.
    pub async fn post(&self, method: &str, params: &Value) -> reqwest::Result<reqwest::Response> {
        self.http.post(self.url(method)).json(params).send().await
    }

    /// POSTs JSON; returns (HTTP status, envelope).
    pub async fn raw(&self, method: &str, params: Value) -> (u16, Value) {
        let resp = self.post(method, &params).await.expect("request");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("json envelope");
        (status, body)
    }

    /// Calls a method that must succeed; checks its result against the spec.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let (status, body) = self.raw(method, params.clone()).await;
        assert_eq!(
            (status, &body["ok"]),
            (200, &json!(true)),
            "{method} {params} failed: {body}"
        );
        check(method, &body["result"]);
        body["result"].clone()
    }

    /// Calls a method that must fail; returns (error_code, description, envelope).
    pub async fn fail(&self, method: &str, params: Value) -> (i64, String, Value) {
        let (status, body) = self.raw(method, params.clone()).await;
        assert_eq!(
            body["ok"],
            json!(false),
            "{method} {params} succeeded: {body}"
        );
        let code = body["error_code"].as_i64().expect("error_code");
        assert_eq!(i64::from(status), code, "HTTP status = error_code");
        let desc = body["description"]
            .as_str()
            .expect("description")
            .to_owned();
        (code, desc, body)
    }

    /// getUpdates with a zero timeout from `offset`; confirms nothing beyond what Telegram does.
    pub async fn updates(&self, offset: i64) -> Vec<Value> {
        let r = self
            .call("getUpdates", json!({"offset": offset, "timeout": 0}))
            .await;
        r.as_array().expect("array").clone()
    }

    /// Drains all pending updates and returns them.
    pub async fn drain(&self) -> Vec<Value> {
        let ups = self.updates(0).await;
        if let Some(last) = ups.last() {
            let next = last["update_id"].as_i64().expect("id") + 1;
            self.call("getUpdates", json!({"offset": next, "timeout": 0}))
                .await;
        }
        ups
    }

    /// Asserts the server itself recorded no spec violation, then stops it.
    pub async fn finish(self) {
        let v = self.tg.stats().spec_violations;
        assert!(v.is_empty(), "spec violations: {v:#?}");
        self.tg.shutdown().await;
    }
}

/// Checks a result against the spec, panicking with the validator's message.
pub fn check(method: &str, result: &Value) {
    if let Err(e) = spec().check_result(method, result) {
        panic!("{e}\nresult: {result}");
    }
}

/// Checks an object against a spec type.
pub fn check_type(ty: &str, v: &Value) {
    if let Err(e) = spec().check_type(ty, v) {
        panic!("{e}\nvalue: {v}");
    }
}
