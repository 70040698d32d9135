//! The web app's door, tried as another web site, a page that rebinds its host name to
//! 127.0.0.1, a browser without a session, and someone replaying a sign-in link: each rule of
//! node/src/web/guard.rs and the session cookie, against a real node started by the real
//! `circle` binary, over plain HTTP as a browser would send it. (What a person sees in a real
//! browser is proven by the Playwright suite in web-tests/.)
#![cfg(unix)] // nodes are stopped with SIGTERM

#[path = "../util/mod.rs"]
mod util;

mod http;

use http::{Answer, get, post};
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

#[test]
fn circle_open_starts_the_node_in_the_background_when_it_is_not_running() {
    let alice = Person::init("alice");
    let (port, path) = sign_in_link(&alice);
    let api: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(alice.api_file()).unwrap()).unwrap();
    let pid = api["pid"].as_u64().expect("the node's pid");
    let signed = get(port, &path, &[]);
    let status = alice.status();
    // Stopped before anything can fail, so the node never outlives the test.
    let stopped = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(stopped.success());
    assert_eq!(signed.status, 303, "{signed:?}");
    assert_eq!(status["running"], true, "{status}");
    eventually(DELIVERY_TIMEOUT, "the node to stop", || {
        (!alice.api_file().exists()).then_some(())
    });
}
