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

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string());
        self.call(method, path, Some(&self.token.clone()), body)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_routes_refuse_bad_input_clearly_and_write_nothing() {
    use reqwest::Method;
    let alice = Member::new("alice").await;
    // Two people who both go by sam.
    let (sam, other_sam) = (Member::new("sam").await, Member::new("sam").await);
    let circle = alice.node.create("Evening", None).await.unwrap();
    alice.bring_in(&circle, &sam).await;
    alice.bring_in(&circle, &other_sam).await;
    let sam_key = sam.circles().my_key(&circle).unwrap().to_string();
    let stranger = circle::crypto::MemberSecret::generate()
        .public()
        .to_string();
    let (api, c) = api_for(&alice).await;

    let invites = |body: Value| {
        (
            Method::POST,
            "/v1/circles/Evening/invites".to_string(),
            Some(body),
        )
    };
    /// Method, path and body of one request.
    type Call = (Method, String, Option<Value>);
    let cases: Vec<(&str, Call, u16, &str)> = vec![
        (
            "removing a member no one is called",
            (
                Method::DELETE,
                "/v1/circles/Evening/members/nobody".into(),
                None,
            ),
            400,
            "no member of 'Evening' is called 'nobody'",
        ),
        (
            "removing someone by a name two members share",
            (
                Method::DELETE,
                "/v1/circles/Evening/members/sam".into(),
                None,
            ),
            400,
            "more than one member",
        ),
        (
            "making an admin of a name two members share",
            (Method::PUT, "/v1/circles/Evening/admins/sam".into(), None),
            400,
            "more than one member",
        ),
        (
            "removing a key that is not a member",
            (
                Method::DELETE,
                format!("/v1/circles/Evening/members/{stranger}"),
                None,
            ),
            400,
            "is not a member",
        ),
        (
            "removing yourself",
            (
                Method::DELETE,
                "/v1/circles/Evening/members/alice".into(),
                None,
            ),
            400,
            "to leave 'Evening' yourself",
        ),
        (
            "demoting the only admin",
            (
                Method::DELETE,
                "/v1/circles/Evening/admins/alice".into(),
                None,
            ),
            400,
            "only admin",
        ),
        (
            "demoting a member who is not an admin",
            (
                Method::DELETE,
                format!("/v1/circles/Evening/admins/{sam_key}"),
                None,
            ),
            400,
            "is not an admin",
        ),
        (
            "a policy word that does not exist",
            (
                Method::PUT,
                "/v1/circles/Evening/policy".into(),
                Some(json!({ "invites": "everyone" })),
            ),
            400,
            "not an invite policy",
        ),
        (
            "a policy without one",
            (
                Method::PUT,
                "/v1/circles/Evening/policy".into(),
                Some(json!({})),
            ),
            422,
            "invites",
        ),
        (
            "an invite for something that is not a peer id",
            invites(json!({ "expires_secs": 3600, "uses": 1, "for": "bob's laptop" })),
            400,
            "not a node id",
        ),
        (
            "an invite with no uses",
            invites(json!({ "expires_secs": 3600, "uses": 0 })),
            400,
            "at least one use",
        ),
        (
            "revoking an invite that does not exist",
            (
                Method::DELETE,
                "/v1/circles/Evening/invites/zzzz".into(),
                None,
            ),
            400,
            "no invite of 'Evening' has the id 'zzzz'",
        ),
        (
            "leaving a circle that does not exist",
            (Method::POST, "/v1/circles/Nowhere/leave".into(), None),
            404,
            "no circle called or numbered 'Nowhere'",
        ),
    ];
    let written = || {
        let circles = alice.circles();
        (
            circles.store().message_count(&circle),
            circles.feed(&circle, 0, None).unwrap().len(),
            circles.members(&circle).unwrap().len(),
            circles
                .invites(&circle, circle::node::now_secs())
                .unwrap()
                .len(),
        )
    };
    let before = written();
    for (name, (method, path, body), status, words) in cases {
        let (got, answer) = c.send(method, &path, body).await;
        assert_eq!(got, status, "{name}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(words), "{name}: {answer}");
        assert_eq!(written(), before, "{name}: something was written");
    }
    api.stop().await;
}
