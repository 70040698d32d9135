//! The web app's door, tried as another web site, a page that rebinds its host name to
//! 127.0.0.1, a browser without a session, and someone replaying a sign-in link: each rule of
//! node/src/web/guard.rs and the session cookie, against a real node started by the real
//! `circle` binary, over plain HTTP as a browser would send it. (What a person sees in a real
//! browser is proven by the Playwright suite in web-tests/.)
#![cfg(unix)] // nodes are stopped with SIGTERM

#[path = "../util/mod.rs"]
mod util;

mod http;
mod service;

use http::{get, post};
use util::{DELIVERY_TIMEOUT, Person, TUESDAY, eventually, text, tuesday_circle};

/// The port and one-time sign-in path of `circle open --print`.
fn sign_in_link(person: &Person) -> (u16, String) {
    let url = person.ok(["open", "--print"]);
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("a loopback sign-in URL, not '{url}'"));
    let (port, path) = rest.split_once('/').expect("a path after the port");
    (port.parse().expect("a port"), format!("/{path}"))
}

/// Signs in with a fresh link; returns the port and the session cookie (`name=value`).
fn signed_in(person: &Person) -> (u16, String) {
    let (port, path) = sign_in_link(person);
    let answer = get(port, &path, &[]);
    assert_eq!(answer.status, 303, "the link signs in: {answer:?}");
    let cookie = answer
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "the cookie is {part}: {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().trim().to_string();
    (port, pair)
}

fn own_origin(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_sign_in_link_works_once_and_a_browser_without_the_cookie_sees_only_how_to_open_circle() {
    let mut alice = Person::init("alice");
    alice.up();
    let (port, path) = sign_in_link(&alice);
    let first = get(port, &path, &[]);
    assert_eq!(first.status, 303, "{first:?}");
    let again = get(port, &path, &[]);
    assert_eq!(again.status, 410, "a second use is refused: {again:?}");
    assert!(
        again.body.contains("already used") && again.body.contains("circle open"),
        "it says what to do: {}",
        again.body
    );
    let stranger = get(port, "/", &[]);
    assert_eq!(stranger.status, 401, "{stranger:?}");
    assert!(stranger.body.contains("circle open"), "{}", stranger.body);
    assert!(!stranger.body.contains("Your circles"));
    let forged = get(port, "/", &[("cookie", "circle_session=made-up")]);
    assert_eq!(forged.status, 401, "a made-up cookie opens nothing");
    let api = get(port, "/v1/circles", &[]);
    assert_eq!(api.status, 401, "the API asks for the token or a session");
}

#[test]
fn a_page_that_points_its_own_host_name_at_this_node_gets_nothing() {
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    let (port, cookie) = signed_in(&alice);
    let evil = format!("evil.example:{port}");
    for path in [
        "/",
        "/v1/circles",
        "/v1/hello?challenge=x",
        "/assets/app.js",
    ] {
        let answer = get(port, path, &[("host", &evil), ("cookie", &cookie)]);
        assert_eq!(answer.status, 403, "{path} with a foreign Host: {answer:?}");
        assert!(!answer.body.contains(TUESDAY) && !answer.body.contains("proof"));
    }
    let with_own_host = get(port, "/", &[("cookie", &cookie)]);
    assert_eq!(with_own_host.status, 200);
    assert!(
        with_own_host.body.contains(TUESDAY),
        "the real page shows it"
    );
}

#[test]
fn another_web_site_cannot_write_even_with_the_session_cookie() {
    let mut alice = Person::init("alice");
    alice.up();
    let circle = alice.create(TUESDAY);
    let (port, cookie) = signed_in(&alice);
    let route = format!("/v1/circles/{circle}/shares");
    let attempts: [(&str, &[(&str, &str)]); 3] = [
        ("a foreign Origin", &[("origin", "http://evil.example")]),
        ("an opaque Origin", &[("origin", "null")]),
        ("no Origin at all", &[]),
    ];
    for (what, extra) in attempts {
        let mut headers = vec![("cookie", cookie.as_str())];
        headers.extend_from_slice(extra);
        let answer = post(
            port,
            &route,
            &headers,
            r#"{"text":"written by another site"}"#,
        );
        assert_eq!(answer.status, 403, "{what}: {answer:?}");
        assert!(
            answer.header("access-control-allow-origin").is_none(),
            "no CORS header, ever"
        );
    }
    let feed = alice.feed(TUESDAY);
    assert!(
        !feed
            .iter()
            .any(|i| text(&i["text"]).contains("another site")),
        "nothing was written: {feed:?}"
    );
    // The app's own page may.
    let origin = own_origin(port);
    let answer = post(
        port,
        &route,
        &[("cookie", &cookie), ("origin", &origin)],
        r#"{"text":"written on the page"}"#,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        alice
            .feed(TUESDAY)
            .iter()
            .any(|i| i["text"] == "written on the page")
    );
    // A sign-in link is made only with the API token, never by a page.
    let link = post(
        port,
        "/v1/sign-in",
        &[("cookie", &cookie), ("origin", &origin)],
        "{}",
    );
    assert_eq!(link.status, 403, "{link:?}");
}

#[test]
fn signing_out_everywhere_ends_every_session() {
    let mut alice = Person::init("alice");
    alice.up();
    let (port, cookie) = signed_in(&alice);
    assert_eq!(get(port, "/", &[("cookie", &cookie)]).status, 200);
    alice.ok(["open", "--sign-out-all"]);
    assert_eq!(get(port, "/", &[("cookie", &cookie)]).status, 401);
    let (_, fresh) = signed_in(&alice);
    assert_eq!(get(port, "/", &[("cookie", &fresh)]).status, 200);
}

#[test]
fn script_in_a_members_share_name_and_guidelines_is_shown_as_text() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init_as("bob", "<img src=x onerror=alert(1)>");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    let attack = "<script>alert('x')</script>";
    bob.share(TUESDAY, attack);
    eventually(DELIVERY_TIMEOUT, "alice to hold bob's share", || {
        alice
            .feed(TUESDAY)
            .iter()
            .any(|i| i["text"] == attack)
            .then_some(())
    });
    let (port, cookie) = signed_in(&alice);
    let page = get(port, &format!("/c/{circle}"), &[("cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "{}",
        page.body
    );
    assert!(page.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!page.body.contains(attack) && !page.body.contains("<img"));
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
}

/// Waits until the node of `person` answers (locked or not).
fn answering(person: &Person) -> serde_json::Value {
    eventually(DELIVERY_TIMEOUT, "the node to answer", || {
        let status = person.status();
        (status["running"] == true || status["locked"] == true).then_some(status)
    })
}

#[test]
fn a_new_person_sets_up_circle_in_the_browser_after_circle_open() {
    let sam = Person::new("sam");
    // No `circle init`: `circle open` starts a locked node in the background, which serves
    // the first-run page.
    let (port, cookie) = signed_in(&sam);
    let api: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sam.api_file()).unwrap()).unwrap();
    let pid = api["pid"].as_u64().expect("the node's pid");
    // Stopped however the story ends, so the node never outlives the test.
    let _stop = KillOnDrop(pid);
    let page = get(port, "/", &[("cookie", &cookie)]);
    assert!(page.body.contains("Welcome to circle"), "{}", page.body);
    let origin = own_origin(port);
    let headers = [("cookie", cookie.as_str()), ("origin", origin.as_str())];
    let short = post(
        port,
        "/v1/setup",
        &headers,
        r#"{"name":"sam","passphrase":"short","again":"short"}"#,
    );
    assert_eq!(short.status, 400, "{short:?}");
    assert!(short.body.contains("at least 8 characters"), "{short:?}");
    let weak = post(
        port,
        "/v1/setup",
        &headers,
        r#"{"name":"sam","passphrase":"one day at a time","again":"one day at a time"}"#,
    );
    assert_eq!(weak.status, 400, "{weak:?}");
    assert!(weak.body.contains("too easy to guess"), "{weak:?}");
    let differ = post(
        port,
        "/v1/setup",
        &headers,
        &format!(
            r#"{{"name":"sam","passphrase":"{0}","again":"{0}x"}}"#,
            util::PASSPHRASE
        ),
    );
    assert!(differ.body.contains("differ"), "{differ:?}");
    assert!(
        !sam.home().join("store").exists(),
        "nothing is set up on a refusal"
    );
    let done = post(
        port,
        "/v1/setup",
        &headers,
        &format!(
            r#"{{"name":"sam","passphrase":"{0}","again":"{0}"}}"#,
            util::PASSPHRASE
        ),
    );
    assert_eq!(done.status, 200, "{done:?}");
    let home = get(port, "/", &[("cookie", &cookie)]);
    assert!(
        home.body.contains("Your circles"),
        "the same session goes on: {}",
        home.body
    );
    assert_eq!(answering(&sam)["running"], true);
    sam.create(TUESDAY);
    let members = sam.members(TUESDAY);
    assert_eq!(members[0]["name"], "sam", "{members:?}");
}

#[test]
fn a_locked_node_reads_nothing_until_the_passphrase_is_given_in_the_browser() {
    let mut alice = Person::init("alice");
    alice.create(TUESDAY);
    alice.start_up_with(&["--locked"]);
    let status = answering(&alice);
    assert_eq!(status["locked"], true, "{status}");
    let said = alice.ok(["status"]);
    assert!(said.contains("locked"), "{said}");
    let refused = alice.fails(["feed", TUESDAY]);
    assert!(refused.contains("unlock"), "{refused}");
    let (port, cookie) = signed_in(&alice);
    let page = get(port, "/", &[("cookie", &cookie)]);
    assert!(page.body.contains("Unlock circle"), "{}", page.body);
    assert!(
        !page.body.contains(TUESDAY),
        "nothing is read before unlocking"
    );
    let origin = own_origin(port);
    let headers = [("cookie", cookie.as_str()), ("origin", origin.as_str())];
    let wrong = post(
        port,
        "/v1/unlock",
        &headers,
        r#"{"passphrase":"not mine at all"}"#,
    );
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert!(wrong.body.contains("does not open"), "{wrong:?}");
    let foreign = post(
        port,
        "/v1/unlock",
        &[("cookie", &cookie), ("origin", "http://evil.example")],
        &format!(r#"{{"passphrase":"{}"}}"#, util::PASSPHRASE),
    );
    assert_eq!(
        foreign.status, 403,
        "another site cannot unlock it: {foreign:?}"
    );
    let right = post(
        port,
        "/v1/unlock",
        &headers,
        &format!(r#"{{"passphrase":"{}"}}"#, util::PASSPHRASE),
    );
    assert_eq!(right.status, 200, "{right:?}");
    let home = get(port, "/", &[("cookie", &cookie)]);
    assert!(home.body.contains(TUESDAY), "{}", home.body);
    alice.wait_until_up();
    alice.share(TUESDAY, "unlocked and here");
    alice.stop();
}

/// Ends a process (SIGTERM) when dropped.
struct KillOnDrop(u64);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.0.to_string())
            .status();
    }
}
