//! End-to-end stories of the `circle` binary.
//!
//! alice, bob and carol each have a home of their own and run the real binary as separate
//! processes, exactly as a person or a script would; their nodes talk over loopback
//! (`--listen /ip4/127.0.0.1/tcp/0 --no-mdns`). Every wait is under a timeout, and every node
//! is killed when its person goes out of scope, even when a story fails half-way.
#![cfg(unix)] // nodes are stopped with SIGTERM, and file modes are part of the story

mod util;

use std::{
    collections::BTreeSet,
    os::unix::fs::PermissionsExt,
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use util::{
    DELIVERY_TIMEOUT, PASSPHRASE, Person, TUESDAY, UP_TIMEOUT, eventually, is_rfc3339, names,
    shares, text, tuesday_circle,
};

fn assert_no_circle(person: &Person) {
    assert_eq!(
        person.circles(),
        Vec::<Value>::new(),
        "{} should be in no circle",
        person.name
    );
}

#[test]
fn alice_bob_and_carol_share_in_a_circle() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    alice.up();
    bob.up();
    carol.up();
    let circle = tuesday_circle(&alice, &[&bob, &carol]);

    let said = [
        (&alice, "Day 90. I did not think I would get here."),
        (
            &bob,
            "Rough week at work, but I called my sponsor instead of going to the bar.",
        ),
        (&carol, "First time sharing. Thank you for having me."),
    ];
    let mut ids = BTreeSet::new();
    for (who, words) in said {
        let id = who.share(TUESDAY, words);
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "share prints the message id alone, not '{id}'"
        );
        ids.insert(id);
    }
    let expected: Vec<(String, String)> = said
        .iter()
        .map(|(who, words)| (who.name.to_string(), words.to_string()))
        .collect();

    for person in [&alice, &bob, &carol] {
        let feed = person.feed_when(&circle, "three shares and two arrivals", |feed| {
            shares(feed).len() >= 3
                && feed.iter().filter(|item| item["kind"] == "joined").count() >= 2
        });
        assert_eq!(
            shares(&feed),
            expected,
            "{} reads everyone's share, in order",
            person.name
        );
        let joined: Vec<String> = feed
            .iter()
            .filter(|item| item["kind"] == "joined")
            .map(|item| text(&item["text"]))
            .collect();
        assert_eq!(
            joined,
            ["bob joined the circle", "carol joined the circle"],
            "{} sees who arrived",
            person.name
        );
        for item in &feed {
            assert_eq!(item["circle"], circle.as_str());
            assert!(
                is_rfc3339(item["sent_at"].as_str().unwrap_or_default()),
                "sent_at is RFC 3339: {item}"
            );
            assert!(
                !text(&item["author"]).is_empty(),
                "every item names its author's key: {item}"
            );
            match item["kind"].as_str() {
                Some("share") => assert!(
                    ids.contains(&text(&item["id"])),
                    "{item} has an id that `share` printed"
                ),
                _ => assert_eq!(
                    item["author_name"], "alice",
                    "alice admitted everyone: {item}"
                ),
            }
        }
    }

    for person in [&alice, &bob, &carol] {
        let what = format!("{} to know all three members", person.name);
        let members = eventually(DELIVERY_TIMEOUT, &what, || {
            Some(person.members(TUESDAY)).filter(|m| m.len() == 3)
        });
        assert_eq!(
            names(&members),
            BTreeSet::from(["alice", "bob", "carol"].map(String::from))
        );
        for m in &members {
            let role = if m["name"] == "alice" {
                "admin"
            } else {
                "member"
            };
            assert_eq!(m["role"], role, "{}'s list: {m}", person.name);
            assert_eq!(
                m["me"],
                m["name"] == person.name,
                "{}'s list marks only them as me: {m}",
                person.name
            );
        }
        let circles = person.circles();
        assert_eq!(circles.len(), 1, "{}'s circles: {circles:?}", person.name);
        assert_eq!(circles[0]["id"], circle.as_str());
        assert_eq!(circles[0]["name"], TUESDAY);
        assert_eq!(circles[0]["members"], 3);
        let standing = if person.name == "alice" {
            "admin"
        } else {
            "member"
        };
        assert_eq!(
            circles[0]["standing"], standing,
            "{}'s circles",
            person.name
        );
        assert_eq!(
            circles[0]["invites"], "admins",
            "only admins invite in a new circle"
        );
    }

    let alice_key = alice
        .members(&circle)
        .into_iter()
        .find(|m| m["me"] == true)
        .expect("alice is a member")["member"]
        .clone();
    let feed = bob.feed(&circle);
    let alices_share = feed
        .iter()
        .find(|i| i["author_name"] == "alice" && i["kind"] == "share")
        .expect("alice's share");
    assert_eq!(
        alices_share["author"], alice_key,
        "the author key of alice's share is her member key"
    );
}

#[test]
fn bob_follows_the_feed_and_sees_alice_share_as_it_happens() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    alice.share(TUESDAY, "Welcome, bob.");
    bob.feed_when(&circle, "alice's welcome", |feed| shares(feed).len() == 1);

    let follower = bob.follow(TUESDAY);
    follower.wait_for("what was already there", |item| {
        item["text"] == "Welcome, bob."
    });
    let id = alice.share(TUESDAY, "Anyone up for coffee before the meeting?");
    let item = follower.wait_for("alice's new share", |item| {
        item["kind"] == "share" && item["author_name"] == "alice" && item["id"] == id.as_str()
    });
    assert_eq!(item["text"], "Anyone up for coffee before the meeting?");
    assert_eq!(item["circle"], circle.as_str());
    assert!(
        is_rfc3339(item["sent_at"].as_str().unwrap_or_default()),
        "{item}"
    );
}

#[test]
fn bob_shares_while_his_node_is_down_and_alice_gets_it_when_he_is_back() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    bob.stop();
    assert_eq!(bob.status()["running"], false);

    let words = "Written on the train with no signal: still sober, day 12.";
    let run = bob.circle(["share", TUESDAY, words]).run();
    assert!(
        run.status.success(),
        "bob can share with his node down:\n{}",
        run.stderr
    );
    let id = run
        .stdout
        .trim()
        .strip_prefix("Shared in 'Tuesday circle' as #")
        .and_then(|s| s.strip_suffix('.'))
        .unwrap_or_else(|| panic!("share says where it went, not '{}'", run.stdout))
        .to_string();
    assert!(
        run.stderr.contains("not running"),
        "bob is told it will be sent later:\n{}",
        run.stderr
    );
    assert_eq!(
        shares(&bob.feed(TUESDAY)),
        [("bob".to_string(), words.to_string())],
        "bob's own feed has it at once"
    );
    assert!(
        shares(&alice.feed(&circle)).is_empty(),
        "alice cannot have it while bob's node is down"
    );

    bob.up();
    let feed = alice.feed_when(&circle, "bob's share from the train", |feed| {
        !shares(feed).is_empty()
    });
    let item = feed.iter().find(|i| i["kind"] == "share").expect("a share");
    assert!(text(&item["id"]).starts_with(&id), "{item}");
    assert_eq!(
        (&item["author_name"], &item["text"]),
        (&Value::from("bob"), &Value::from(words))
    );
}

#[test]
fn alice_catches_up_on_fifty_messages_shared_while_she_was_away() {
    const MESSAGES: usize = 50;
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    alice.stop();

    let written: Vec<String> = (1..=MESSAGES)
        .map(|n| format!("Note {n} of {MESSAGES} from a long night"))
        .collect();
    for words in &written {
        bob.share(TUESDAY, words);
    }
    alice.up();
    let feed = alice.feed_when(&circle, "all of bob's notes", |feed| {
        shares(feed).len() >= MESSAGES
    });
    let expected: Vec<(String, String)> = written
        .iter()
        .map(|w| ("bob".to_string(), w.clone()))
        .collect();
    assert_eq!(
        shares(&feed),
        expected,
        "alice has every note, in the order bob wrote them"
    );

    let last_five = alice
        .circle(["--json", "feed", TUESDAY, "--limit", "5"])
        .json_lines();
    assert_eq!(
        shares(&last_five),
        expected[MESSAGES - 5..],
        "--limit shows the newest"
    );
}

#[test]
fn damaged_or_foreign_tokens_are_refused_and_the_real_one_still_works() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    let circle = alice.create(TUESDAY);
    let invite = alice.invite(TUESDAY, &[]);
    assert!(
        invite.starts_with("circle1"),
        "invites start with circle1: {invite}"
    );

    // A damaged invite needs no running node to say so.
    let middle = invite.len() / 2;
    let flipped = if invite.as_bytes()[middle] == b'a' {
        "b"
    } else {
        "a"
    };
    let mut typo = invite.clone();
    typo.replace_range(middle..=middle, flipped);
    let error = bob.fails(["join", &typo]);
    assert!(
        error.contains("damaged"),
        "a typo is called damage: {error}"
    );
    assert_no_circle(&bob);

    bob.up();
    let cut_short = &invite[..invite.len() - 12];
    for (token, problem, what) in [
        (typo.as_str(), "damaged", "one character changed"),
        (cut_short, "damaged", "cut short"),
        (circle.as_str(), "not a circle invite", "a circle id"),
        ("see you on tuesday", "not a circle invite", "a sentence"),
    ] {
        let error = bob.fails(["join", token]);
        assert!(
            error.contains(problem),
            "a token {what} is refused as '{problem}': {error}"
        );
        assert_no_circle(&bob);
    }

    let wrapped: String = invite
        .as_bytes()
        .chunks(60)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        bob.join(&wrapped),
        circle,
        "the intact invite still works, even wrapped over lines as in an email"
    );
}

#[test]
fn expired_and_used_up_invites_are_refused() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    alice.up();
    alice.create(TUESDAY);
    let short_lived = alice.invite(TUESDAY, &["--expires", "2s"]);
    let issued = Instant::now();
    let for_one = alice.invite(TUESDAY, &["--uses", "1"]);
    bob.up();
    carol.up();

    bob.join(&for_one);
    let error = carol.fails(["join", &for_one]);
    assert!(
        error.contains("used"),
        "carol is told bob already used it: {error}"
    );
    assert_no_circle(&carol);

    thread::sleep(Duration::from_secs(3).saturating_sub(issued.elapsed()));
    let error = carol.fails(["join", &short_lived]);
    assert!(
        error.contains("expired"),
        "carol is told the invite expired: {error}"
    );
    assert_no_circle(&carol);
}

#[test]
fn joining_fails_in_words_when_the_inviters_node_is_down() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    alice.create(TUESDAY);
    let invite = alice.invite(TUESDAY, &[]);
    alice.stop();

    bob.up();
    let error = bob.fails(["join", &invite]);
    assert!(
        error.contains("reach"),
        "bob is told alice's node cannot be reached: {error}"
    );
    assert_no_circle(&bob);
}

#[test]
fn commands_before_init_say_how_to_set_up() {
    let alice = Person::new("alice");
    for args in [
        &["status"][..],
        &["circles"],
        &["create", TUESDAY],
        &["invite", TUESDAY],
        &["members", TUESDAY],
        &["share", TUESDAY, "hello"],
        &["feed", TUESDAY],
        &["feed", TUESDAY, "--follow"],
        &["up", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"],
        &["invites", TUESDAY],
        &["revoke", TUESDAY, "abc"],
        &["remove", TUESDAY, "bob"],
        &["leave", TUESDAY],
        &["admin", "grant", TUESDAY, "bob"],
        &["policy", TUESDAY, "--invites", "members"],
    ] {
        let error = alice.fails(args);
        assert!(
            error.contains("circle init"),
            "`circle {}` says to run init first: {error}",
            args.join(" ")
        );
    }
    assert!(
        !alice.home().exists(),
        "a command that failed left a home behind"
    );
}

#[test]
fn setting_up_needs_a_long_enough_passphrase_hard_to_guess_and_happens_once() {
    let alice = Person::new("alice");
    let error = alice
        .circle(["init", "--name", "alice"])
        .passphrase("short")
        .fails();
    assert!(error.contains("too short"), "{error}");
    // Long enough, but the first thing anyone would try on a recovery app.
    for weak in ["one day at a time", "password1234"] {
        let error = alice
            .circle(["init", "--name", "alice"])
            .passphrase(weak)
            .fails();
        assert!(error.contains("too easy to guess"), "{weak:?}: {error}");
        assert_eq!(error.trim().lines().count(), 1, "one line: {error}");
    }
    assert!(!alice.home().join("store").exists(), "nothing is set up");
    let error = alice
        .circle(["init", "--name", "alice"])
        .no_passphrase()
        .fails();
    assert!(
        error.contains("CIRCLE_PASSPHRASE"),
        "without a terminal, alice is told how to give one: {error}"
    );
    let error = alice.fails(["init", "--name", "  "]);
    assert!(error.contains("nickname"), "{error}");
    assert!(!alice.home().exists(), "a refused init left a home behind");

    alice.ok(["init", "--name", "alice"]);
    let error = alice.fails(["init", "--name", "alice again"]);
    assert!(error.contains("already set up"), "{error}");
}

#[test]
fn a_service_reads_the_passphrase_from_a_file() {
    let alice = Person::init("alice");
    alice.create(TUESDAY);
    alice.share(TUESDAY, "kept for the service");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("passphrase");
    // As systemd's LoadCredential= or an editor leaves it: one line, maybe a line break.
    std::fs::write(&file, format!("{PASSPHRASE}\n")).expect("writes");
    let feed = alice
        .circle(["--json", "feed", TUESDAY])
        .passphrase_file(&file)
        .ok();
    assert!(feed.contains("kept for the service"), "{feed}");

    std::fs::write(&file, "not the right one\n").expect("writes");
    let error = alice
        .circle(["feed", TUESDAY])
        .passphrase_file(&file)
        .fails();
    assert!(error.contains("passphrase"), "{error}");
    let missing = dir.path().join("nowhere");
    let error = alice
        .circle(["feed", TUESDAY])
        .passphrase_file(&missing)
        .fails();
    assert!(
        error.contains("could not read the passphrase file") && error.contains("nowhere"),
        "{error}"
    );
}

#[test]
fn a_wrong_or_missing_passphrase_opens_nothing() {
    let alice = Person::init("alice");
    alice.create(TUESDAY);
    alice.share(TUESDAY, "Only for the circle.");

    for args in [
        &["feed", TUESDAY][..],
        &["circles"],
        &["members", TUESDAY],
        &["share", TUESDAY, "written by a stranger"],
        &["create", "Another circle"],
        &["up", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"],
    ] {
        let error = alice.circle(args).passphrase("not the right one").fails();
        assert!(
            error.contains("passphrase"),
            "`circle {}` with a wrong passphrase: {error}",
            args.join(" ")
        );
        let error = alice.circle(args).no_passphrase().fails();
        assert!(
            error.contains("CIRCLE_PASSPHRASE"),
            "`circle {}` with no passphrase: {error}",
            args.join(" ")
        );
    }
    assert_eq!(
        shares(&alice.feed(TUESDAY)),
        [("alice".to_string(), "Only for the circle.".to_string())]
    );
    assert_eq!(
        alice.circles().len(),
        1,
        "nothing was created with the wrong passphrase"
    );
}

#[test]
fn everyday_mistakes_are_explained_in_one_line() {
    let mut alice = Person::init("alice");
    alice.create(TUESDAY);

    // With the node down: commands that need it say so; others check what they can.
    for args in [&["invite", TUESDAY][..], &["feed", TUESDAY, "--follow"]] {
        let error = alice.fails(args);
        assert!(
            error.contains("not running"),
            "`circle {}`: {error}",
            args.join(" ")
        );
    }
    for (args, problem) in [
        (
            &["invite", TUESDAY, "--expires", "soon"][..],
            "not a duration",
        ),
        (&["invite", TUESDAY, "--expires", "0s"], "at least a second"),
        (
            &["invite", TUESDAY, "--expires", "500ms"],
            "at least a second",
        ),
        (&["invite", TUESDAY, "--expires", "400d"], "at most a year"),
        (&["feed", TUESDAY, "--limit", "abc"], "invalid value 'abc'"),
        (&["invite", TUESDAY, "--uses", "0"], "at least one use"),
        (
            &["up", "--listen", "not-an-address", "--no-mdns"],
            "not a valid multiaddr",
        ),
        (&["create", "   "], "name cannot be empty"),
    ] {
        let error = alice.fails(args);
        assert!(
            error.contains(problem),
            "`circle {}` is refused as '{problem}': {error}",
            args.join(" ")
        );
    }

    let too_long = "x".repeat(16 * 1024 + 1);
    for state in ["down", "up"] {
        if state == "up" {
            alice.up();
            let error = alice.fails(["invite", TUESDAY, "--expires", "soon"]);
            assert!(error.contains("not a duration"), "{error}");
        }
        for (args, problem) in [
            (
                &["share", "Wednesday circle", "hello"][..],
                "no circle called",
            ),
            (&["feed", "Wednesday circle"], "no circle called"),
            (&["members", "Wednesday circle"], "no circle called"),
            (&["share", TUESDAY, ""], "nothing to share"),
            (&["share", TUESDAY, "  \n "], "nothing to share"),
        ] {
            let error = alice.fails(args);
            assert!(
                error.contains(problem),
                "`circle {}` with the node {state}: {error}",
                args.join(" ")
            );
        }
        let error = alice
            .circle(["share", TUESDAY, "-"])
            .stdin(too_long.clone())
            .fails();
        assert!(
            error.contains("too long"),
            "a share over 16 KiB with the node {state}: {error}"
        );
    }
    let error = alice.fails(["invite", "Wednesday circle"]);
    assert!(error.contains("no circle called"), "{error}");
    assert!(
        shares(&alice.feed(TUESDAY)).is_empty(),
        "no mistake was shared"
    );
}

/// Regression: over 64 KiB, a share through the running node used to fail with "the node's
/// answer could not be read" (the API's body limit answered without JSON).
#[test]
fn a_very_long_share_is_refused_in_words_with_the_node_running() {
    let mut alice = Person::init("alice");
    alice.create(TUESDAY);
    let too_long = "x".repeat(70 * 1024);
    let error = alice
        .circle(["share", TUESDAY, "-"])
        .stdin(too_long.clone())
        .fails();
    assert!(error.contains("too long"), "node down: {error}");
    alice.up();
    let error = alice
        .circle(["share", TUESDAY, "-"])
        .stdin(too_long)
        .fails();
    assert!(error.contains("too long"), "node up: {error}");
}

#[test]
fn share_dash_reads_the_text_from_stdin() {
    let mut alice = Person::init("alice");
    alice.create(TUESDAY);
    let offline = "Day 3.\nCravings at 4pm.\nWent for a walk instead.";
    alice
        .circle(["share", TUESDAY, "-"])
        .stdin(format!("{offline}\n"))
        .ok();
    alice.up();
    let online = "Made it to the meeting.\n\nStayed for coffee after.";
    alice.circle(["share", TUESDAY, "-"]).stdin(online).ok();
    let error = alice.circle(["share", TUESDAY, "-"]).stdin("").fails();
    assert!(error.contains("nothing to share"), "{error}");

    let texts: Vec<String> = shares(&alice.feed(TUESDAY))
        .into_iter()
        .map(|(_, t)| t.trim_end().to_string())
        .collect();
    assert_eq!(
        texts,
        [offline, online],
        "both texts arrive whole, line breaks and all"
    );
}

#[test]
fn nothing_personal_is_stored_in_plaintext() {
    let mut alice = Person::init_as("alice", "Marigold Wrenfeather");
    let mut bob = Person::init_as("bob", "Juniper Thistlewood");
    let circle_name = "Quokka Lantern Fellowship";
    let secrets = [
        "Marigold Wrenfeather",
        "Juniper Thistlewood",
        circle_name,
        "I drank again on Saturday and told nobody but Zebediah",
        "Nine months clean today, ask me about the orange cat",
        "Written offline: the cravings pass if I wait out the hour",
        PASSPHRASE,
    ];
    alice.up();
    bob.up();

    for person in [&alice, &bob] {
        let mode = std::fs::metadata(person.api_file())
            .expect("api.json while the node runs")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "{}'s api.json is readable by its owner only",
            person.name
        );
    }

    let circle = alice.create(circle_name);
    let invite = alice.invite(circle_name, &[]);
    bob.join(&invite);
    alice.share(circle_name, secrets[3]);
    bob.share(circle_name, secrets[4]);
    bob.feed_when(&circle, "both shares", |feed| shares(feed).len() == 2);
    alice.feed_when(&circle, "both shares", |feed| shares(feed).len() == 2);
    alice.stop();
    bob.stop();
    bob.share(circle_name, secrets[5]);

    let mut needles: Vec<&[u8]> = secrets.iter().map(|s| s.as_bytes()).collect();
    needles.push(invite.as_bytes());
    for person in [&alice, &bob] {
        let files = person.files();
        assert!(!files.is_empty(), "{} has files", person.name);
        for file in files {
            let bytes = std::fs::read(&file).expect("a readable file");
            for needle in &needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == *needle),
                    "{} holds '{}' in plaintext",
                    file.display(),
                    String::from_utf8_lossy(needle)
                );
            }
        }
    }
}

#[test]
fn status_tells_whether_the_node_runs() {
    let mut alice = Person::init("alice");
    let before = alice.status();
    assert_eq!(before["running"], false, "{before}");
    assert_eq!(before["circles"], 0, "{before}");
    assert_eq!(before["listen"], Value::Array(Vec::new()), "{before}");
    let peer_id = text(&before["peer_id"]);
    assert!(!peer_id.is_empty(), "{before}");

    assert_eq!(alice.up(), peer_id, "`up` announces the node's peer id");
    alice.create(TUESDAY);
    let running = alice.status();
    assert_eq!(running["running"], true, "{running}");
    assert_eq!(running["peer_id"], peer_id.as_str(), "{running}");
    assert_eq!(running["circles"], 1, "{running}");
    assert_eq!(running["connected"], 0, "{running}");
    let listen = running["listen"].as_array().expect("a list of addresses");
    assert!(
        listen
            .iter()
            .any(|a| text(a).starts_with("/ip4/127.0.0.1/tcp/")
                && text(a).ends_with(&format!("/p2p/{peer_id}"))),
        "{running}"
    );
    let error = alice.fails(["up", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"]);
    assert!(error.contains("already running"), "{error}");

    alice.stop();
    let after = alice.status();
    assert_eq!(after["running"], false, "{after}");
    assert_eq!(after["peer_id"], peer_id.as_str(), "{after}");
    assert_eq!(after["circles"], 1, "{after}");
}

#[test]
fn after_a_crash_nothing_is_lost_and_the_node_starts_again() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    alice.share(TUESDAY, "Shared just before the power cut.");
    alice.crash();
    assert!(
        alice.api_file().exists(),
        "a crashed node cannot clean up after itself"
    );

    assert_eq!(
        alice.status()["running"],
        false,
        "a stale api.json does not fool status"
    );
    alice.share(TUESDAY, "Shared by candlelight.");
    alice.up();
    let expected = [
        (
            "alice".to_string(),
            "Shared just before the power cut.".to_string(),
        ),
        ("alice".to_string(), "Shared by candlelight.".to_string()),
    ];
    assert_eq!(shares(&alice.feed(&circle)), expected, "alice lost nothing");
    let feed = bob.feed_when(&circle, "both of alice's shares", |feed| {
        shares(feed).len() == 2
    });
    assert_eq!(shares(&feed), expected);
}

#[test]
fn two_circles_with_one_name_are_told_apart_by_id() {
    let alice = Person::init("alice");
    let first = alice.create(TUESDAY);
    let second = alice.ok(["create", TUESDAY, "--force"]);
    assert_ne!(first, second);
    let error = alice.fails(["share", TUESDAY, "Which one?"]);
    assert!(error.contains("more than one circle"), "{error}");
    alice.share(&second, "This one.");
    assert!(shares(&alice.feed(&first)).is_empty());
    assert_eq!(
        shares(&alice.feed(&second)),
        [("alice".to_string(), "This one.".to_string())]
    );
}

/// Regression: stopping a node used to take 30 s while a `feed --follow` was attached (the
/// API's graceful shutdown waited for the follower's long poll).
#[test]
fn stopping_the_node_does_not_wait_for_a_follower() {
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    alice.share(TUESDAY, "Good night, everyone.");
    let mut follower = alice.follow(TUESDAY);
    follower.wait_for("alice's share", |item| {
        item["text"] == "Good night, everyone."
    });

    let took = alice.stop();
    assert!(
        took < Duration::from_secs(5),
        "Ctrl-C took {took:?} with a follower attached"
    );
    let (status, stderr) = follower.end();
    assert!(
        !status.success(),
        "the follower cannot go on without the node"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "the follower explains in one line:\n{stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
}

/// Regression: `status` run while `up` was starting (store open, api.json not written yet)
/// used to wait 60 s for the store, then fail with "the store is in use".
#[test]
fn status_answers_at_once_while_the_node_is_starting() {
    let mut alice = Person::init("alice");
    alice.start_up();
    let start = Instant::now();
    loop {
        let asked = Instant::now();
        let status: Value = serde_json::from_str(
            &alice
                .circle(["--json", "status"])
                .timeout(Duration::from_secs(10))
                .ok(),
        )
        .expect("status prints JSON");
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "status took {:?}",
            asked.elapsed()
        );
        if status["running"] == true {
            break;
        }
        assert!(start.elapsed() < UP_TIMEOUT, "the node never came up");
        thread::sleep(Duration::from_millis(5));
    }
    alice.wait_until_up();
}

/// Regression: a circle called '..' or '.' could be created, but not named while the node
/// ran (the URL of the local API was normalised to another route).
#[test]
fn circles_called_dot_or_dot_dot_are_refused() {
    let mut alice = Person::init("alice");
    for name in [".", ".."] {
        let error = alice.fails(["create", name]);
        assert!(error.contains("cannot be"), "node down, '{name}': {error}");
    }
    alice.up();
    for name in [".", ".."] {
        let error = alice.fails(["create", name]);
        assert!(error.contains("cannot be"), "node up, '{name}': {error}");
    }
    assert_no_circle(&alice);
}

/// Regression: a node used to store a member's addresses from the identify info of the
/// previous connection, so after both nodes restarted at new addresses neither could find the
/// other (seen intermittently before the node remembered fresh identify info).
#[test]
fn alice_and_bob_find_each_other_after_both_restart_at_new_addresses() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    for round in 1..=2 {
        // bob comes back at a new address and finds alice where she was.
        bob.stop();
        bob.up();
        let hello = format!("Back from my trip, round {round}.");
        bob.share(TUESDAY, &hello);
        alice.feed_when(&circle, &hello, |feed| {
            shares(feed).iter().any(|(_, t)| *t == hello)
        });
        // Then alice comes back at a new address: she must find bob where he is now.
        alice.stop();
        let news = format!("Missed you at the meeting, round {round}.");
        bob.share(TUESDAY, &news);
        alice.up();
        alice.feed_when(&circle, &news, |feed| {
            shares(feed).iter().any(|(_, t)| *t == news)
        });
    }
}

/// The helper that checks `sent_at` must have teeth.
#[test]
fn the_rfc3339_check_tells_dates_from_other_text() {
    for good in [
        "2025-03-04T19:30:05.123Z",
        "2025-03-04T19:30:05Z",
        "2025-12-31T23:59:60+01:00",
    ] {
        assert!(is_rfc3339(good), "{good}");
    }
    for bad in [
        "",
        "2025-03-04",
        "2025-03-04 19:30:05Z",
        "2025-13-04T19:30:05Z",
        "2025-03-04T19:30:05",
        "1741116605123",
    ] {
        assert!(!is_rfc3339(bad), "{bad}");
    }
}

#[test]
fn a_line_break_in_a_share_cannot_pass_for_another_members_line() {
    let alice = Person::init("alice");
    alice.create(TUESDAY);
    let forged = "fine today\n[2026-11-22 14:50] bob: I relapsed last night";
    alice.share(TUESDAY, forged);
    let shown = alice.ok(["feed", TUESDAY]);
    let lines: Vec<&str> = shown.lines().collect();
    let second = lines
        .iter()
        .position(|l| l.contains("I relapsed"))
        .map(|i| lines[i])
        .expect("the whole text is shown");
    assert!(
        second.starts_with("    "),
        "a continuation line is indented, not printed as a feed line: {shown:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with('[')).count(),
        1,
        "one share, one feed line: {shown:?}"
    );
}

/// After a crash, api.json still names the old port; another program may have taken it. It
/// must learn nothing (not the token, not the text), and the share must still be saved.
#[test]
fn after_a_crash_a_program_on_the_old_api_port_gets_nothing() {
    use std::io::{Read, Write};
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    alice.crash();
    let api: Value = serde_json::from_slice(&std::fs::read(alice.api_file()).unwrap()).unwrap();
    let url = api["url"].as_str().unwrap().to_string();
    let port = url.rsplit(':').next().unwrap().to_string();
    let impostor = std::net::TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
    impostor.set_nonblocking(true).unwrap();
    let heard = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = {
        let (heard, stop) = (heard.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut conn, _)) = impostor.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut buf = [0u8; 65536];
                let n = conn.read(&mut buf).unwrap_or(0);
                heard
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
                // Answer everything with success, as a hostile program would.
                let body = r#"{"running":true,"id":"fake","proof":"fake","items":[],"cursor":0}"#;
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
            }
        })
    };
    let id = alice.share(TUESDAY, "a secret struggle");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();
    let heard = heard.lock().unwrap().clone();
    assert!(
        !heard.contains("a secret struggle"),
        "the text leaked: {heard}"
    );
    assert!(
        !heard.contains(api["token"].as_str().unwrap()),
        "the token leaked: {heard}"
    );
    assert_ne!(id, "fake");
    assert!(
        alice
            .feed(TUESDAY)
            .iter()
            .any(|i| i["text"] == "a secret struggle"),
        "the share was saved in alice's own store"
    );
}
