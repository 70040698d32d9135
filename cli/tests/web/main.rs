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

/// A sign-in link of `circle open --print`: its host (`<secret>.localhost:PORT`), port and
/// path.
struct Link {
    host: String,
    port: u16,
    path: String,
}

fn sign_in_link(person: &Person) -> Link {
    let url = person.ok(["open", "--print"]);
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("an http sign-in URL, not '{url}'"));
    let (host, path) = rest.split_once('/').expect("a path after the host");
    let (name, port) = host.rsplit_once(':').expect("a port");
    assert!(
        name.ends_with(".localhost"),
        "the app lives at a *.localhost name: {url}"
    );
    Link {
        host: host.to_string(),
        port: port.parse().expect("a port"),
        path: format!("/{path}"),
    }
}

/// A browser signed in to a person's web app: where it is, and its session cookie
/// (`name=value`).
struct App {
    host: String,
    port: u16,
    cookie: String,
}

impl App {
    /// The app's own `Origin`.
    fn origin(&self) -> String {
        format!("http://{}", self.host)
    }

    /// What the app's own page sends, with `extra` headers.
    fn headers<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut headers = vec![
            ("host", self.host.as_str()),
            ("cookie", self.cookie.as_str()),
        ];
        headers.extend_from_slice(extra);
        headers
    }

    /// GET as the app's own page does.
    fn get(&self, path: &str) -> http::Answer {
        get(self.port, path, &self.headers(&[]))
    }

    /// POST from the app's own page (its `Origin`).
    fn post(&self, path: &str, body: &str) -> http::Answer {
        let origin = self.origin();
        let headers = self.headers(&[("origin", &origin), ("sec-fetch-site", "same-origin")]);
        post(self.port, path, &headers, body)
    }
}

/// Signs in with a fresh link.
fn signed_in(person: &Person) -> App {
    let link = sign_in_link(person);
    let answer = get(link.port, &link.path, &[("host", &link.host)]);
    assert_eq!(answer.status, 200, "the link signs in: {answer:?}");
    let cookie = answer
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "the cookie is {part}: {cookie}");
    }
    assert!(
        !cookie.to_ascii_lowercase().contains("domain"),
        "the cookie is for the app's host alone: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap().trim().to_string();
    App {
        host: link.host,
        port: link.port,
        cookie: pair,
    }
}

#[test]
fn a_sign_in_link_works_once_and_a_browser_without_the_cookie_sees_only_how_to_open_circle() {
    let mut alice = Person::init("alice");
    alice.up();
    let link = sign_in_link(&alice);
    let at_app = [("host", link.host.as_str())];
    let first = get(link.port, &link.path, &at_app);
    assert_eq!(first.status, 200, "{first:?}");
    assert!(
        first
            .body
            .contains(r#"http-equiv="refresh" content="0; url=/""#),
        "the app's own page goes on home: {}",
        first.body
    );
    let again = get(link.port, &link.path, &at_app);
    assert_eq!(again.status, 410, "a second use is refused: {again:?}");
    assert!(
        again.body.contains("already used") && again.body.contains("circle open"),
        "it says what to do: {}",
        again.body
    );
    let stranger = get(link.port, "/", &at_app);
    assert_eq!(stranger.status, 401, "{stranger:?}");
    assert!(stranger.body.contains("circle open"), "{}", stranger.body);
    assert!(!stranger.body.contains("Your circles"));
    let forged = get(
        link.port,
        "/",
        &[("host", &link.host), ("cookie", "circle_session=made-up")],
    );
    assert_eq!(forged.status, 401, "a made-up cookie opens nothing");
    let api = get(link.port, "/v1/circles", &at_app);
    assert_eq!(api.status, 401, "the API asks for the token or a session");
}

#[test]
fn a_sign_in_link_to_127_0_0_1_leads_on_to_the_secret_host_only_while_its_code_works() {
    let mut alice = Person::init("alice");
    alice.up();
    let link = sign_in_link(&alice);
    let plain = get(link.port, &link.path, &[]);
    assert_eq!(plain.status, 303, "{plain:?}");
    assert_eq!(
        plain.header("location"),
        Some(format!("http://{}{}", link.host, link.path).as_str())
    );
    assert!(
        plain.header("set-cookie").is_none(),
        "no cookie for 127.0.0.1, ever"
    );
    let used = get(link.port, &link.path, &[("host", &link.host)]);
    assert_eq!(used.status, 200, "the code still works once: {used:?}");
    for path in [link.path.as_str(), "/sign-in?code=made-up"] {
        let refused = get(link.port, path, &[]);
        assert_eq!(refused.status, 410, "{refused:?}");
        let name = link.host.split(':').next().unwrap();
        assert!(
            !refused.body.contains(name) && refused.header("location").is_none(),
            "without a working code, the secret name is told to no one: {refused:?}"
        );
    }
}

#[test]
fn a_session_cookie_replayed_to_a_plain_loopback_host_opens_nothing() {
    // Browsers keep cookies per host, not per port: another user's server on any 127.0.0.1
    // port would receive a cookie set for 127.0.0.1, and could replay it from a program of
    // its own with any Origin it likes.
    let mut alice = Person::init("alice");
    alice.up();
    let circle = alice.create(TUESDAY);
    let app = signed_in(&alice);
    assert_eq!(app.get("/").status, 200);
    let port = app.port;
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let origin = format!("http://{host}");
        let headers = [
            ("host", host.as_str()),
            ("cookie", app.cookie.as_str()),
            ("origin", origin.as_str()),
            ("sec-fetch-site", "same-origin"),
        ];
        let page = get(port, "/", &headers);
        assert_eq!(page.status, 401, "{host}: {page:?}");
        assert!(page.body.contains("circle open"), "{}", page.body);
        assert!(!page.body.contains(TUESDAY), "{host}: {}", page.body);
        let read = get(port, "/v1/circles", &headers);
        assert_eq!(read.status, 401, "{host}: {read:?}");
        let write = post(
            port,
            &format!("/v1/circles/{circle}/shares"),
            &headers,
            r#"{"text":"written with a replayed cookie"}"#,
        );
        assert_eq!(write.status, 401, "{host}: {write:?}");
    }
    assert!(
        !alice
            .feed(TUESDAY)
            .iter()
            .any(|i| text(&i["text"]).contains("replayed")),
        "nothing was written"
    );
    assert_eq!(app.get("/").status, 200, "the app's own host still works");
}

#[test]
fn a_signed_in_request_that_another_site_started_is_refused() {
    // SameSite=Strict and the secret name keep a browser from sending the cookie for another
    // site's page; should one send it anyway, the browser's own `Sec-Fetch-Site` tells.
    let mut alice = Person::init("alice");
    alice.up();
    let circle = alice.create(TUESDAY);
    let app = signed_in(&alice);
    let feed = format!("/c/{circle}");
    for site in ["same-site", "cross-site"] {
        for path in ["/", "/v1/circles", feed.as_str(), "/app/events"] {
            let answer = get(app.port, path, &app.headers(&[("sec-fetch-site", site)]));
            assert_eq!(answer.status, 403, "{site} {path}: {answer:?}");
            assert!(!answer.body.contains(TUESDAY), "{site} {path}");
        }
    }
    let origin = app.origin();
    let shares = format!("/v1/circles/{circle}/shares");
    for extra in [
        vec![("origin", origin.as_str()), ("sec-fetch-site", "same-site")],
        // A browser that sends an Origin says where from, or is not believed.
        vec![("origin", origin.as_str())],
    ] {
        let answer = post(
            app.port,
            &shares,
            &app.headers(&extra),
            r#"{"text":"written from next door"}"#,
        );
        assert_eq!(answer.status, 403, "{extra:?}: {answer:?}");
    }
    assert!(
        !alice
            .feed(TUESDAY)
            .iter()
            .any(|i| text(&i["text"]).contains("next door")),
        "nothing was written"
    );
    for site in ["same-origin", "none"] {
        let answer = get(app.port, "/", &app.headers(&[("sec-fetch-site", site)]));
        assert_eq!(answer.status, 200, "{site}: {answer:?}");
    }
    assert_eq!(
        app.get("/").status,
        200,
        "a browser too old to say, with no Origin"
    );
}

#[test]
fn circle_open_makes_a_home_that_others_could_read_private() {
    use std::os::unix::fs::PermissionsExt;
    let mut alice = Person::init("alice");
    alice.up();
    let home = alice.home();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    alice.ok(["open", "--print"]);
    let mode = std::fs::metadata(&home).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "readable by alice alone");
}

#[test]
fn the_sign_in_link_names_a_secret_host_of_its_own_in_every_home() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let (a, b) = (sign_in_link(&alice), sign_in_link(&bob));
    let name = |l: &Link| l.host.rsplit_once(':').unwrap().0.to_string();
    assert_ne!(name(&a), name(&b), "each home has its own name");
    for (person, link) in [(&alice, &a), (&bob, &b)] {
        let label = name(link).strip_suffix(".localhost").unwrap().to_string();
        assert!(label.len() >= 26, "a name nobody guesses: {label}");
        let file = person.home().join("web-name");
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), name(link));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its user alone");
    }
    assert_eq!(
        name(&sign_in_link(&alice)),
        name(&a),
        "the name stays the same"
    );
}

#[test]
fn a_page_that_points_its_own_host_name_at_this_node_gets_nothing() {
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    let app = signed_in(&alice);
    let (port, cookie) = (app.port, app.cookie.clone());
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
    let with_own_host = app.get("/");
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
    let app = signed_in(&alice);
    let route = format!("/v1/circles/{circle}/shares");
    let attempts: [(&str, &[(&str, &str)]); 3] = [
        ("a foreign Origin", &[("origin", "http://evil.example")]),
        ("an opaque Origin", &[("origin", "null")]),
        ("no Origin at all", &[]),
    ];
    for (what, extra) in attempts {
        let answer = post(
            app.port,
            &route,
            &app.headers(extra),
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
    let answer = app.post(&route, r#"{"text":"written on the page"}"#);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        alice
            .feed(TUESDAY)
            .iter()
            .any(|i| i["text"] == "written on the page")
    );
    // A sign-in link is made only with the API token, never by a page.
    let link = app.post("/v1/sign-in", "{}");
    assert_eq!(link.status, 403, "{link:?}");
}

#[test]
fn signing_out_everywhere_ends_every_session() {
    let mut alice = Person::init("alice");
    alice.up();
    let app = signed_in(&alice);
    assert_eq!(app.get("/").status, 200);
    alice.ok(["open", "--sign-out-all"]);
    assert_eq!(app.get("/").status, 401);
    assert_eq!(signed_in(&alice).get("/").status, 200);
}

#[test]
fn a_session_ends_when_the_node_stops() {
    let mut alice = Person::init("alice");
    alice.up();
    let before = signed_in(&alice);
    assert_eq!(before.get("/").status, 200);
    alice.stop();
    alice.up();
    // The browser would send the old cookie to the node's new port (same name, cookies are
    // per host): it opens nothing there.
    let link = sign_in_link(&alice);
    assert_eq!(link.host.split(':').next(), before.host.split(':').next());
    let after = App {
        host: link.host,
        port: link.port,
        cookie: before.cookie.clone(),
    };
    assert_eq!(after.get("/").status, 401);
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
    let page = signed_in(&alice).get(&format!("/c/{circle}"));
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
fn circle_open_hands_the_link_to_the_browser_in_a_private_file_not_in_the_openers_arguments() {
    use std::os::unix::fs::PermissionsExt;
    let mut alice = Person::init("alice");
    alice.up();
    // A stand-in for the desktop's opener, which records the arguments it was given: what
    // every user of the computer can read in the process list.
    let dir = tempfile::tempdir().unwrap();
    let asked = dir.path().join("xdg-open.args");
    let opener = dir.path().join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n", asked.display()),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let opened = std::process::Command::new(util::CIRCLE)
        .arg("--home")
        .arg(alice.home())
        .arg("open")
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(opened.status.success(), "{opened:?}");
    assert!(
        !String::from_utf8_lossy(&opened.stdout).contains("code="),
        "nothing to copy when the browser opened"
    );
    let args = std::fs::read_to_string(&asked).expect("the opener ran");
    assert!(
        !args.contains("code=") && !args.contains("sign-in"),
        "no sign-in code in the opener's arguments: {args}"
    );
    let file = alice.home().join("open.html");
    assert_eq!(args.trim(), format!("file://{}", file.display()));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "readable by alice alone");
    let page = std::fs::read_to_string(&file).unwrap();
    assert!(!page.contains("src="), "it loads nothing: {page}");
    let url = page
        .split("url=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a refresh to the sign-in link")
        .replace("&amp;", "&");
    let rest = url.strip_prefix("http://").expect("an http link");
    let (host, path) = rest.split_once('/').unwrap();
    let port: u16 = host.rsplit_once(':').unwrap().1.parse().unwrap();
    let signed = get(port, &format!("/{path}"), &[("host", host)]);
    assert_eq!(
        signed.status, 200,
        "the page leads to a working sign-in: {signed:?}"
    );
    assert!(signed.header("set-cookie").is_some());
    alice.stop();
    assert!(!file.exists(), "gone when the node stops");
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
    let app = signed_in(&sam);
    let api: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sam.api_file()).unwrap()).unwrap();
    let pid = api["pid"].as_u64().expect("the node's pid");
    // Stopped however the story ends, so the node never outlives the test.
    let _stop = KillOnDrop(pid);
    let page = app.get("/");
    assert!(page.body.contains("Welcome to circle"), "{}", page.body);
    let short = app.post(
        "/v1/setup",
        r#"{"name":"sam","passphrase":"short","again":"short"}"#,
    );
    assert_eq!(short.status, 400, "{short:?}");
    assert!(short.body.contains("at least 8 characters"), "{short:?}");
    let weak = app.post(
        "/v1/setup",
        r#"{"name":"sam","passphrase":"one day at a time","again":"one day at a time"}"#,
    );
    assert_eq!(weak.status, 400, "{weak:?}");
    assert!(weak.body.contains("too easy to guess"), "{weak:?}");
    let differ = app.post(
        "/v1/setup",
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
    let done = app.post(
        "/v1/setup",
        &format!(
            r#"{{"name":"sam","passphrase":"{0}","again":"{0}"}}"#,
            util::PASSPHRASE
        ),
    );
    assert_eq!(done.status, 200, "{done:?}");
    let home = app.get("/");
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
    let app = signed_in(&alice);
    let page = app.get("/");
    assert!(page.body.contains("Unlock circle"), "{}", page.body);
    assert!(
        !page.body.contains(TUESDAY),
        "nothing is read before unlocking"
    );
    let wrong = app.post("/v1/unlock", r#"{"passphrase":"not mine at all"}"#);
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert!(wrong.body.contains("does not open"), "{wrong:?}");
    let foreign = post(
        app.port,
        "/v1/unlock",
        &app.headers(&[("origin", "http://evil.example")]),
        &format!(r#"{{"passphrase":"{}"}}"#, util::PASSPHRASE),
    );
    assert_eq!(
        foreign.status, 403,
        "another site cannot unlock it: {foreign:?}"
    );
    let right = app.post(
        "/v1/unlock",
        &format!(r#"{{"passphrase":"{}"}}"#, util::PASSPHRASE),
    );
    assert_eq!(right.status, 200, "{right:?}");
    let home = app.get("/");
    assert!(home.body.contains(TUESDAY), "{}", home.body);
    alice.wait_until_up();
    alice.share(TUESDAY, "unlocked and here");
    alice.stop();
}

#[test]
fn status_in_a_new_home_says_the_node_runs_and_waits_to_be_set_up_in_the_browser() {
    let mut sam = Person::new("sam");
    // As `circle open` or the login service starts it: locked, in a home not set up yet.
    sam.start_up_with(&["--locked"]);
    eventually(DELIVERY_TIMEOUT, "the node to say where it is", || {
        sam.api_file().exists().then_some(())
    });
    let said = eventually(DELIVERY_TIMEOUT, "status to find the node", || {
        let said = sam.ok(["status"]);
        said.contains("running").then_some(said)
    });
    assert!(
        said.contains("waiting to be set up in your browser") && said.contains("circle open"),
        "{said}"
    );
    assert!(!said.contains("no circle node is set up"), "{said}");
    let status = sam.status();
    assert_eq!(status["locked"], true, "{status}");
    assert_eq!(status["initialized"], false, "{status}");
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
