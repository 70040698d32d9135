//! The local API: only the holder of the token gets in, bad requests get clear errors, and the
//! feed long-poll wakes up when a message arrives.

mod util;

use std::time::Duration;

use circle::node::Api;
use serde_json::{Value, json};
use util::Member;

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(&self.token.clone()), None)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            path,
            Some(&self.token.clone()),
            Some(body.to_string()),
        )
        .await
    }
}

async fn api_for(member: &Member) -> (Api, Client) {
    let api = Api::start(member.node.clone()).await.unwrap();
    let client = Client {
        http: reqwest::Client::new(),
        url: api.info.url.clone(),
        token: api.info.token.clone(),
    };
    (api, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_token_holder_gets_in_and_bad_requests_are_refused_clearly() {
    let alice = Member::new("alice").await;
    let (api, c) = api_for(&alice).await;
    assert!(
        api.info.url.starts_with("http://127.0.0.1:"),
        "the API must listen on loopback only"
    );

    let (status, _) = c.call(reqwest::Method::GET, "/v1/status", None, None).await;
    assert_eq!(status, 401);
    let (status, body) = c
        .call(
            reqwest::Method::GET,
            "/v1/circles",
            Some("not the token"),
            None,
        )
        .await;
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("token"));

    let (status, body) = c.get("/v1/status").await;
    assert_eq!(status, 200);
    assert_eq!(body["running"], true);

    let (status, body) = c.post("/v1/circles", json!({ "name": "  " })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("empty"));
    let (status, _) = c
        .call(
            reqwest::Method::POST,
            "/v1/circles",
            Some(&c.token),
            Some("{not json".into()),
        )
        .await;
    assert!((400..500).contains(&status));
    let huge = json!({ "text": "x".repeat(200 * 1024) });
    let (status, body) = c.post("/v1/circles/anything/shares", huge).await;
    assert_eq!(status, 413);
    assert!(
        body["error"].as_str().unwrap().contains("too large"),
        "{body}"
    );
    let (status, body) = c.get("/v1/no/such/route").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "every error is JSON: {body}");
    let (status, body) = c.get("/v1/circles/no%20such%20circle/members").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("no such circle"));
    let (status, body) = c
        .post("/v1/join", json!({ "token": "circle1garbage" }))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("damaged"));
    assert!(
        alice.circles().list().unwrap().is_empty(),
        "nothing may have been created"
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_long_poll_wakes_when_a_member_shares() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = alice.node.create("Evening", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    let (api, c) = api_for(&alice).await;

    let (_, first) = c.get("/v1/circles/Evening/feed").await;
    let cursor = first["cursor"].as_u64().unwrap();
    let waiting = tokio::spawn(async move {
        c.get(&format!(
            "/v1/circles/Evening/feed?after={cursor}&wait_ms=20000"
        ))
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    bob.node.share(&circle, "anyone up?").await.unwrap();
    let (status, page) = tokio::time::timeout(util::PATIENCE, waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    let texts: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"anyone up?"), "{page}");
    assert!(page["cursor"].as_u64().unwrap() > cursor);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_api_ends_a_waiting_long_poll_at_once() {
    let alice = Member::new("alice").await;
    alice.node.create("Evening", None).await.unwrap();
    let (api, c) = api_for(&alice).await;
    let waiting = tokio::spawn(async move {
        c.get("/v1/circles/Evening/feed?after=1000000000&wait_ms=60000")
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), api.stop())
        .await
        .expect("the API should stop without waiting for the long poll to time out");
    let (status, page) = waiting.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    assert!(started.elapsed() < Duration::from_secs(10));
}
