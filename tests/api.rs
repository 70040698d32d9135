//! The local API: only the holder of the token gets in, bad requests get clear errors, and the
//! feed long-poll wakes up when a message arrives.

mod util;

use std::time::Duration;

use circle::node::Api;
use serde_json::{Value, json};
use util::{Member, PATIENCE, eventually};

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

/// Method, path and body of one request.
type Call = (reqwest::Method, String, Option<Value>);

/// Sends each case; each must get its status and an error containing its words, and change
/// nothing `written` counts.
async fn each_refused_writing_nothing<W: PartialEq + std::fmt::Debug>(
    c: &Client,
    cases: Vec<(&str, Call, u16, &str)>,
    written: impl Fn() -> W,
) {
    let before = written();
    for (name, (method, path, body), status, words) in cases {
        let (got, answer) = c.send(method, &path, body).await;
        assert_eq!(got, status, "{name}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(words), "{name}: {answer}");
        assert_eq!(written(), before, "{name}: something was written");
    }
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
            "no circle called 'Nowhere'",
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
    each_refused_writing_nothing(&c, cases, written).await;
    api.stop().await;
}

/// Two members called sam: the API names each with the fingerprint of their key (the words the
/// CLI and the web app show), and takes their words, or a start of their key, for a member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namesakes_are_told_apart_by_fingerprint_and_found_by_words_or_key_start() {
    use reqwest::Method;
    let alice = Member::new("alice").await;
    let (sam, other_sam) = (Member::new("sam").await, Member::new("sam").await);
    let circle = alice.node.create("Evening", None).await.unwrap();
    alice.bring_in(&circle, &sam).await;
    alice.bring_in(&circle, &other_sam).await;
    let sam_key = sam.circles().my_key(&circle).unwrap();
    let other_key = other_sam.circles().my_key(&circle).unwrap();
    let (api, c) = api_for(&alice).await;

    let (status, members) = c.get("/v1/circles/Evening/members").await;
    assert_eq!(status, 200, "{members}");
    let words_of = |key: &circle::crypto::MemberKey| {
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["member"] == key.to_string().as_str())
            .map(|m| m["fingerprint"].clone())
            .unwrap_or_else(|| panic!("{key} is listed: {members}"))
    };
    assert_eq!(words_of(&sam_key), sam_key.fingerprint().as_str());
    assert_ne!(words_of(&sam_key), words_of(&other_key));

    let start = &sam_key.to_string()[..8];
    let (status, answer) = c
        .send(
            Method::PUT,
            &format!("/v1/circles/Evening/admins/{start}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let named = json!({
        "member": sam_key.to_string(),
        "name": "sam",
        "fingerprint": sam_key.fingerprint(),
    });
    assert_eq!(answer["member"], named, "{answer}");

    let words = other_key.fingerprint().to_uppercase().replace('-', "%20");
    let (status, answer) = c
        .send(
            Method::DELETE,
            &format!("/v1/circles/Evening/members/{words}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["member"]["member"], other_key.to_string().as_str());
    let removal = format!(
        "alice removed sam ({}) from the circle",
        other_key.fingerprint()
    );
    let feed = alice.circles().feed(&circle, 0, None).unwrap();
    assert!(
        feed.iter()
            .any(|i| i.kind == circle::node::contract::Kind::Removed && i.text == removal),
        "{feed:#?}"
    );
    api.stop().await;
}

#[tokio::test]
async fn support_routes_refuse_bad_input_clearly_and_write_nothing() {
    use reqwest::Method;
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = alice.node.create("Evening", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    let share = alice
        .node
        .share(&circle, "day 3")
        .await
        .unwrap()
        .to_string();
    let bobs = bob.node.share(&circle, "day 9").await.unwrap().to_string();
    let id = bobs.parse().unwrap();
    eventually("alice holds bob's share", || async {
        alice.circles().store().has_message(&id).unwrap()
    })
    .await;
    let (api, c) = api_for(&alice).await;
    let post = |path: &str, body: Value| -> Call { (Method::POST, path.to_string(), Some(body)) };
    let checkin = |body: Value| post("/v1/circles/Evening/checkins", body);
    let cases: Vec<(&str, Call, u16, &str)> = vec![
        (
            "a day of 9",
            checkin(json!({ "day": 9 })),
            400,
            "day is 9: use 1 to 5",
        ),
        (
            "a mood of 11",
            checkin(json!({ "day": 3, "mood": 11 })),
            400,
            "mood is 11",
        ),
        (
            "an audience that does not exist",
            checkin(json!({ "day": 3, "to": "everyone" })),
            400,
            "not an audience",
        ),
        (
            "a check-in for a partner nobody is",
            checkin(json!({ "day": 3, "to": "partner" })),
            400,
            "no accountability partner",
        ),
        (
            "a field no check-in has",
            checkin(json!({ "day": 3, "sleep": 8 })),
            422,
            "sleep",
        ),
        (
            "a day that is not a number",
            checkin(json!({ "day": "good" })),
            422,
            "day",
        ),
        (
            "a note one character too long, counted in characters not bytes",
            checkin(
                json!({ "day": 3, "note": "x".repeat(circle::node::support::MAX_NOTE_CHARS + 1) }),
            ),
            400,
            "at most 1024 characters",
        ),
        (
            "a goal one character too long",
            post(
                "/v1/circles/Evening/goals",
                json!({ "text": "x".repeat(circle::node::support::MAX_NOTE_CHARS + 1) }),
            ),
            400,
            "at most 1024 characters",
        ),
        (
            "a share expiring in a year and a half",
            post(
                "/v1/circles/Evening/shares",
                json!({ "text": "hi", "expires": "540d" }),
            ),
            400,
            "1 second to 366 days",
        ),
        (
            "a share expiring at a time that is not a duration",
            post(
                "/v1/circles/Evening/shares",
                json!({ "text": "hi", "expires": "soon" }),
            ),
            400,
            "not a duration",
        ),
        (
            "a reply to a message nobody has",
            post(
                "/v1/circles/Evening/shares",
                json!({ "text": "hi", "reply_to": "zzzzzzzzzz" }),
            ),
            400,
            "no message here",
        ),
        (
            "a reaction with a sentence",
            post(
                &format!("/v1/messages/{share}/reactions"),
                json!({ "emoji": "well done you" }),
            ),
            400,
            "one emoji",
        ),
        (
            "a reaction to a prefix too short",
            post("/v1/messages/ab/reactions", json!({ "emoji": "🎉" })),
            400,
            "too short",
        ),
        (
            "withdrawing bob's share",
            post(&format!("/v1/messages/{bobs}/withdraw"), json!({})),
            400,
            "only its author",
        ),
        (
            "a share marked as a goal reached",
            post(&format!("/v1/messages/{share}/done"), json!({})),
            400,
            "not a goal",
        ),
        (
            "a goal by a date that does not exist",
            post(
                "/v1/circles/Evening/goals",
                json!({ "text": "walk", "by": "2026-02-30" }),
            ),
            400,
            "not a date",
        ),
        (
            "being your own partner",
            post(
                "/v1/circles/Evening/partners",
                json!({ "member": "alice", "step": "request" }),
            ),
            400,
            "your own",
        ),
        (
            "accepting a request never made",
            post(
                "/v1/circles/Evening/partners",
                json!({ "member": "bob", "step": "accept" }),
            ),
            400,
            "has not asked you",
        ),
        (
            "a partner step that does not exist",
            post(
                "/v1/circles/Evening/partners",
                json!({ "member": "bob", "step": "marry" }),
            ),
            400,
            "not a partner step",
        ),
        (
            "a private message to someone who is not a partner",
            post(
                "/v1/circles/Evening/dms",
                json!({ "member": "bob", "text": "hi" }),
            ),
            400,
            "not your accountability partner",
        ),
        (
            "a meeting at 25:00",
            post(
                "/v1/circles/Evening/meetings",
                json!({ "title": "Tuesday", "weekly": "tuesday", "at": "25:00", "tz": "Europe/London" }),
            ),
            400,
            "HH:MM",
        ),
        (
            "a meeting in a zone that does not exist",
            post(
                "/v1/circles/Evening/meetings",
                json!({ "title": "Tuesday", "weekly": "tuesday", "at": "19:30", "tz": "Mars/Olympus" }),
            ),
            400,
            "Mars/Olympus",
        ),
        (
            "a meeting both weekly and once",
            post(
                "/v1/circles/Evening/meetings",
                json!({ "title": "Tuesday", "weekly": "tuesday", "on": "2026-12-01", "at": "19:30", "tz": "Europe/London" }),
            ),
            400,
            "every week on a day, or once on a date",
        ),
        (
            "a meeting linking to a script",
            post(
                "/v1/circles/Evening/meetings",
                json!({ "title": "Tuesday", "weekly": "tuesday", "at": "19:30", "tz": "Europe/London", "link": "javascript:alert(1)" }),
            ),
            400,
            "not a web link",
        ),
        (
            "a resource with both a text and a link",
            post(
                "/v1/circles/Evening/resources",
                json!({ "title": "Breathing", "text": "4-7-8", "url": "https://example.org" }),
            ),
            400,
            "either a text or a link",
        ),
        (
            "guidelines in a format that does not exist",
            (
                Method::PUT,
                "/v1/circles/Evening/guidelines".into(),
                Some(json!({ "format": "13-step" })),
            ),
            400,
            "not a format",
        ),
        (
            "a clock from the future",
            post(
                "/v1/clocks",
                json!({ "name": "sober", "since": "2999-01-01", "tz": "UTC" }),
            ),
            400,
            "in the future",
        ),
        (
            "a clock in a zone that does not exist",
            post(
                "/v1/clocks",
                json!({ "name": "sober", "since": "2026-01-01", "tz": "Nowhere/Town" }),
            ),
            400,
            "Nowhere/Town",
        ),
        (
            "restarting a clock nobody started",
            post("/v1/clocks/sober/reset", json!({})),
            400,
            "no clock called 'sober'",
        ),
        (
            "a country that is not a code",
            (
                Method::PUT,
                "/v1/crisis-lines".into(),
                Some(json!({ "country": "England" })),
            ),
            400,
            "two letters",
        ),
        (
            "a crisis line without a number",
            (
                Method::PUT,
                "/v1/crisis-lines".into(),
                Some(json!({ "lines": ["just a name"] })),
            ),
            400,
            "is not a crisis line",
        ),
        (
            "a reach-out in a circle that does not exist",
            post("/v1/circles/Nowhere/reach-outs", json!({})),
            404,
            "no circle called 'Nowhere'",
        ),
    ];
    let written = || {
        let circles = alice.circles();
        (
            circles.store().message_count(&circle),
            circles.feed(&circle, 0, None).unwrap().len(),
            circles.clocks(circle::node::now_ms()).unwrap().len(),
            circles.settings().unwrap().lines.len(),
        )
    };
    each_refused_writing_nothing(&c, cases, written).await;
    api.stop().await;
}

#[tokio::test]
async fn the_event_stream_tells_at_once_that_a_member_is_reaching_out() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = alice.node.create("Evening", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    let (api, c) = api_for(&alice).await;
    let mut stream = c
        .http
        .get(format!("{}/v1/events", c.url))
        .header("authorization", format!("Bearer {}", c.token))
        .send()
        .await
        .expect("the event stream opens");
    assert_eq!(stream.status(), 200);
    let (bob_api, bob_client) = api_for(&bob).await;
    let (status, sent) = bob_client
        .post(
            "/v1/circles/Evening/reach-outs",
            json!({ "text": "rough night, could use a call", "callback": "+44 7700 900123" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let mut seen = String::new();
    let found = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("\"type\":\"reach-out\"") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "no reach-out event; the stream said: {seen}"
    );
    assert!(seen.contains("rough night"), "{seen}");
    assert!(
        seen.contains(&sent["id"].as_str().unwrap().to_string()),
        "{seen}"
    );
    // Until alice's node says she saw it, bob sees nobody has.
    let (_, list) = bob_client.get("/v1/circles/Evening/reach-outs").await;
    assert_eq!(list[0]["seen_by"], json!([]), "{list}");
    assert_eq!(list[0]["members"], 1);
    let (_, ack) = c.post("/v1/circles/Evening/seen", json!({})).await;
    assert_eq!(ack["acknowledged"], 1, "{ack}");
    eventually("bob sees that alice has seen it", || async {
        bob.circles()
            .reach_outs(&circle)
            .unwrap()
            .first()
            .is_some_and(|r| r.seen_by == ["alice"])
    })
    .await;
    bob_api.stop().await;
    api.stop().await;
}

/// The API's description is served without a token (it holds nothing private) and is the one
/// the code generates; a page of another site reaching the port under its own name (DNS
/// rebinding: a foreign `Host`) does not get it.
#[tokio::test]
async fn the_api_description_needs_no_token_but_a_foreign_host_is_refused() {
    let alice = Member::new("alice").await;
    let (api, c) = api_for(&alice).await;
    let (status, doc) = c
        .call(reqwest::Method::GET, "/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, 200, "{doc}");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert_eq!(
        doc,
        serde_json::to_value(circle::node::contract::openapi()).unwrap()
    );

    let port = c.url.rsplit(':').next().unwrap();
    let answer = c
        .http
        .get(format!("{}/v1/openapi.json", c.url))
        .header("host", format!("rebound.example:{port}"))
        .send()
        .await
        .expect("request");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    let start: String = text.chars().take(200).collect();
    assert_eq!(status, 403, "a foreign Host must be refused: {start}");
    assert!(!text.contains("openapi"), "{start}");
    api.stop().await;
}

/// Every operation the description lists is one the node serves: none answers "no such API
/// route" or "method not allowed" (with made-up ids, each is refused by its handler instead).
#[tokio::test]
async fn every_operation_in_the_description_is_served() {
    let alice = Member::new("alice").await;
    let (api, c) = api_for(&alice).await;
    let doc = serde_json::to_value(circle::node::contract::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 30, "{}", paths.len());
    for (path, operations) in paths {
        let concrete: String = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "nothing-here"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().unwrap().keys() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let mut request = c
                .http
                .request(method.clone(), format!("{}{concrete}", c.url))
                .bearer_auth(&c.token);
            if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
                request = request
                    .header("content-type", "application/json")
                    .body("{}");
            }
            let answer = request.send().await.expect("request");
            let status = answer.status().as_u16();
            assert_ne!(status, 405, "{method} {path} is not served");
            if status == 404 {
                let text = answer.text().await.unwrap_or_default();
                assert!(
                    !text.contains("no such API route"),
                    "{method} {path}: {text}"
                );
            }
        }
    }
    api.stop().await;
}
