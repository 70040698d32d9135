//! Stories of a support circle on the command line: replies and reactions, withdrawn and
//! expiring shares, check-ins for the circle, a partner or oneself, accountability partners
//! and what only they may read, reaching out, meetings in each member's own time, resources,
//! guidelines read before joining, recovery clocks and their milestones, and the everyday
//! mistakes each command must explain without writing anything.
//!
//! Like `membership.rs`, everyone runs the real binary in a home of their own and their nodes
//! talk over loopback; every look at another node is an `eventually` under a generous timeout.
#![cfg(unix)] // nodes are stopped with SIGTERM

mod util;

use std::{
    thread,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;
use util::{
    DELIVERY_TIMEOUT, Person, TUESDAY, eventually, named, shared_id, shares, text, texts,
    tuesday_circle,
};

/// How long something that must not arrive is given to arrive anyway, once something sent
/// after it has. Gossip takes well under a second over loopback.
const GRACE: Duration = Duration::from_secs(5);

/// alice and bob with their nodes up, in the Tuesday circle. Returns the circle id.
fn alice_and_bob() -> (Person, Person, String) {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    (alice, bob, circle)
}

/// Whether a feed holds a share with exactly `words`.
fn has_share(feed: &[Value], words: &str) -> bool {
    shares(feed).iter().any(|(_, t)| t == words)
}

/// The feed item with this id.
fn item<'a>(feed: &'a [Value], id: &str) -> Option<&'a Value> {
    feed.iter().find(|i| i["id"] == id)
}

/// `--json` output of a command that prints one object.
fn one(person: &Person, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let lines = person.circle(all).json_lines();
    assert_eq!(
        lines.len(),
        1,
        "`{}` prints one object: {lines:?}",
        args.join(" ")
    );
    lines.into_iter().next().unwrap()
}

/// `--json` output of a command that lists (one object per line).
fn listed(person: &Person, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    person.circle(all).json_lines()
}

/// Everything `person` could print about `circle`: the feed and check-ins as JSON and as
/// text, goals and partners.
fn everything_shown(person: &Person, circle: &str) -> String {
    [
        person.circle(["--json", "feed", circle]).ok(),
        person.ok(["feed", circle]),
        person.circle(["--json", "checkins", circle]).ok(),
        person.ok(["checkins", circle]),
        person.circle(["--json", "goals", circle]).ok(),
        person.circle(["--json", "partners", circle]).ok(),
    ]
    .join("\n")
}

/// alice shares `words` and waits until `others` have it: what was written before it has had
/// every chance to arrive.
fn marker(alice: &Person, circle: &str, others: &[&Person], words: &str) {
    alice.share(TUESDAY, words);
    for person in others {
        person.feed_when(circle, words, |feed| has_share(feed, words));
    }
}

/// The date `days` from today (UTC), `YYYY-MM-DD`; negative is in the past.
fn date_in(days: i64) -> String {
    let (y, m, d) = civil(now_secs().div_euclid(86_400) + days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC date and minute `minutes` from now, `(YYYY-MM-DD, HH:MM)`.
fn utc_in(minutes: i64) -> (String, String) {
    let at = now_secs() + minutes * 60;
    let (y, m, d) = civil(at.div_euclid(86_400));
    let of_day = at.rem_euclid(86_400);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}", of_day / 3600, of_day % 3600 / 60),
    )
}

fn now_secs() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[test]
fn the_test_calendar_is_right() {
    assert_eq!(civil(0), (1970, 1, 1));
    assert_eq!(civil(19_782), (2024, 2, 29));
    assert_eq!(civil(20_454), (2026, 1, 1));
}

#[test]
fn bob_replies_to_alice_and_she_sees_his_reaction() {
    let (alice, bob, circle) = alice_and_bob();
    let words = "Day 30 today. Did not think I would get here.";
    let first = alice.share(TUESDAY, words);
    bob.feed_when(&circle, "alice's day 30", |feed| has_share(feed, words));
    let short = &first[..8];

    let reply = bob.ok(["share", TUESDAY, "So proud of you.", "--reply-to", short]);
    let short_reply = reply
        .strip_prefix("Shared in 'Tuesday circle' as #")
        .and_then(|r| r.strip_suffix('.'))
        .unwrap_or_else(|| panic!("`share` says where and as what: {reply}"));
    let reply = bob
        .feed(&circle)
        .iter()
        .find(|i| text(&i["id"]).starts_with(short_reply))
        .map(|i| text(&i["id"]))
        .expect("bob's reply in his own feed, under the id he was told");
    let said = bob.ok(["react", &format!("#{short}"), "🎉"]);
    assert_eq!(
        said,
        format!("You reacted 🎉 to #{short} in 'Tuesday circle'.")
    );

    let feed = alice.feed_when(&circle, "bob's reply and reaction", |feed| {
        has_share(feed, "So proud of you.") && feed.iter().any(|i| i["kind"] == "reaction")
    });
    let answer = item(&feed, &reply).expect("bob's reply is in alice's feed");
    assert_eq!(answer["reply_to"], first.as_str(), "{answer}");
    let reaction = feed.iter().find(|i| i["kind"] == "reaction").unwrap();
    assert_eq!(reaction["author_name"], "bob");
    assert_eq!(reaction["text"], "🎉");
    assert_eq!(reaction["reply_to"], first.as_str());

    let shown = alice.ok(["feed", TUESDAY]);
    let (alice_named, bob_named) = (
        named(&alice, TUESDAY, "alice"),
        named(&alice, TUESDAY, "bob"),
    );
    for line in [
        // The reaction is gathered under the message it is for.
        format!("{alice_named} (#{short}): {words}\n    🎉 1: {bob_named}\n"),
        format!(
            "{bob_named} (#{}) ↳ re #{short} \"{words}\": So proud of you.",
            &reply[..8]
        ),
    ] {
        assert!(shown.contains(&line), "the feed shows '{line}':\n{shown}");
    }
}

#[test]
fn alice_withdraws_a_share_and_its_words_are_gone_from_every_feed() {
    let (alice, bob, circle) = alice_and_bob();
    let words = "I drank on Saturday and I feel ashamed.";
    let id = alice.share(TUESDAY, words);
    bob.feed_when(&circle, "alice's share", |feed| has_share(feed, words));

    let said = alice.ok(["withdraw", &id[..10]]);
    assert!(
        said.starts_with(&format!("Withdrawn #{} from 'Tuesday circle'.", &id[..8])),
        "{said}"
    );
    bob.feed_when(&circle, "alice's share withdrawn", |feed| {
        item(feed, &id).is_some_and(|i| i["kind"] == "withdrawn")
    });
    for person in [&alice, &bob] {
        let json = person.circle(["--json", "feed", TUESDAY]).ok();
        let shown = person.ok(["feed", TUESDAY]);
        assert!(
            !json.contains("ashamed") && !shown.contains("ashamed"),
            "{}'s node keeps none of the words:\n{json}\n{shown}",
            person.name
        );
        assert!(
            shown.contains(&format!(
                "{} (#{}): (withdrawn",
                named(person, TUESDAY, "alice"),
                &id[..8]
            )),
            "{}'s feed says it was withdrawn:\n{shown}",
            person.name
        );
    }
}

#[test]
fn a_share_set_to_expire_disappears_from_both_feeds() {
    let (alice, bob, circle) = alice_and_bob();
    let run = alice
        .circle([
            "--json",
            "share",
            TUESDAY,
            "Call me tonight if you can: 555-0100",
            "--expires",
            "3s",
        ])
        .run();
    assert!(run.status.success(), "{}", run.stderr);
    assert!(run.stderr.contains("disappears"), "{}", run.stderr);
    let id = shared_id(&run.stdout);

    for person in [&alice, &bob] {
        person.feed_when(&circle, "the share to have expired", |feed| {
            item(feed, &id).is_some_and(|i| i["kind"] == "expired")
        });
        let json = person.circle(["--json", "feed", TUESDAY]).ok();
        let shown = person.ok(["feed", TUESDAY]);
        assert!(
            !json.contains("555-0100") && !shown.contains("555-0100"),
            "{}'s node keeps nothing of an expired share:\n{json}\n{shown}",
            person.name
        );
        assert!(shown.contains("(expired)"), "{shown}");
    }
}

#[test]
fn alice_checks_in_with_the_circle_keeps_one_to_herself_and_reaches_a_goal() {
    let (alice, bob, circle) = alice_and_bob();
    let said = alice.ok([
        "checkin",
        TUESDAY,
        "--day",
        "2",
        "--mood",
        "4",
        "--craving",
        "7",
        "--trigger",
        "lonely",
        "--trigger",
        "tired",
        "--note",
        "Rough night, but I did not use.",
    ]);
    assert!(
        said.starts_with("Checked in with 'Tuesday circle': day 2/5 (hard)."),
        "{said}"
    );
    let own = one(
        &alice,
        &[
            "checkin",
            TUESDAY,
            "--day",
            "very-hard",
            "--to",
            "me",
            "--note",
            "Only for me: I thought about calling my old dealer.",
        ],
    );
    assert_eq!(own["id"], Value::Null, "nothing was sent: {own}");
    assert_eq!(own["to"], "me");

    let view = eventually(DELIVERY_TIMEOUT, "bob to see alice's check-in", || {
        let view = one(&bob, &["checkins", TUESDAY]);
        (!view["checkins"].as_array()?.is_empty()).then_some(view)
    });
    let seen = &view["checkins"][0];
    assert_eq!(seen["author_name"], "alice");
    assert_eq!(seen["to"], "circle");
    assert_eq!(seen["day"], 2);
    assert_eq!(seen["craving"], 7);
    assert_eq!(texts(&seen["triggers"]), ["lonely", "tired"]);
    assert_eq!(seen["note"], "Rough night, but I did not use.");
    let shown = bob.ok(["checkins", TUESDAY]);
    assert!(
        shown.contains("alice") && shown.contains("day 2/5 (hard) · mood 4/10 · craving 7/10"),
        "{shown}"
    );

    let mine = one(&alice, &["checkins", TUESDAY]);
    let notes: Vec<String> = mine["checkins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| text(&c["note"]))
        .collect();
    assert!(
        notes.contains(&"Only for me: I thought about calling my old dealer.".to_string()),
        "alice sees what she kept to herself: {mine}"
    );

    let goal = one(
        &alice,
        &[
            "goal",
            "add",
            TUESDAY,
            "Call my sister",
            "--by",
            &date_in(7),
        ],
    );
    let goal_id = text(&goal["id"]);
    assert_eq!(goal["circle"], circle.as_str());
    let goals = eventually(DELIVERY_TIMEOUT, "bob to see alice's goal", || {
        let goals = listed(&bob, &["goals", TUESDAY]);
        (!goals.is_empty()).then_some(goals)
    });
    assert_eq!(goals[0]["text"], "Call my sister");
    assert_eq!(goals[0]["by"], date_in(7).as_str());
    assert_eq!(goals[0]["done_at"], Value::Null);
    let said = alice.ok(["goal", "done", &goal_id[..8]]);
    assert!(said.starts_with("Well done!"), "{said}");
    eventually(DELIVERY_TIMEOUT, "bob to see the goal done", || {
        listed(&bob, &["goals", TUESDAY])[0]["done_at"]
            .is_string()
            .then_some(())
    });
    let shown = bob.ok(["goals", TUESDAY]);
    assert!(
        shown.contains(&format!(
            "#{} {}: Call my sister",
            &goal_id[..8],
            named(&bob, TUESDAY, "alice")
        )) && shown.contains("✓ done"),
        "{shown}"
    );

    marker(&alice, &circle, &[&bob], "That is all for today.");
    thread::sleep(GRACE);
    let everything = everything_shown(&bob, TUESDAY);
    assert!(
        !everything.contains("old dealer"),
        "a check-in for alice alone never leaves her node:\n{everything}"
    );
}

#[test]
fn partners_read_each_others_private_words_and_carol_reads_none_of_them() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    for person in [&mut alice, &mut bob, &mut carol] {
        person.up();
    }
    let circle = tuesday_circle(&alice, &[&bob, &carol]);
    for person in [&alice, &bob, &carol] {
        eventually(DELIVERY_TIMEOUT, "everyone to know all three", || {
            (person.members(&circle).len() == 3).then_some(())
        });
    }

    let (alice_named, bob_named) = (named(&bob, TUESDAY, "alice"), named(&alice, TUESDAY, "bob"));
    let said = alice.ok(["partner", "request", TUESDAY, "bob"]);
    assert!(
        said.starts_with(&format!(
            "Asked {bob_named} to be your accountability partner in 'Tuesday circle'."
        )),
        "{said}"
    );
    eventually(DELIVERY_TIMEOUT, "bob to be asked", || {
        let partners = listed(&bob, &["partners", TUESDAY]);
        (partners.len() == 1 && partners[0]["state"] == "asked-you").then_some(())
    });
    let shown = bob.ok(["partners", TUESDAY]);
    assert!(
        shown.starts_with(&format!("{alice_named}: asked you")),
        "{shown}"
    );
    let said = bob.ok(["partner", "accept", TUESDAY, "alice"]);
    assert!(
        said.starts_with(&format!(
            "You and {alice_named} are now accountability partners"
        )),
        "{said}"
    );
    eventually(DELIVERY_TIMEOUT, "alice to have bob as her partner", || {
        let partners = listed(&alice, &["partners", TUESDAY]);
        (partners.len() == 1 && partners[0]["name"] == "bob" && partners[0]["state"] == "partner")
            .then_some(())
    });

    let checkin_words = "Craving is bad tonight, I am near the bar on Elm Street.";
    let dm_words = "Can you call me after nine? Please do not tell the group yet.";
    alice.ok([
        "checkin",
        TUESDAY,
        "--day",
        "1",
        "--craving",
        "9",
        "--note",
        checkin_words,
        "--to",
        "partner",
    ]);
    let said = alice.ok(["dm", TUESDAY, "bob", dm_words]);
    assert_eq!(
        said,
        format!("Sent to {bob_named} only: nobody else in the circle can read it.")
    );

    let feed = bob.feed_when(&circle, "alice's private message", |feed| {
        feed.iter().any(|i| i["kind"] == "dm")
    });
    let dm = feed.iter().find(|i| i["kind"] == "dm").unwrap();
    assert_eq!(dm["text"], dm_words);
    assert_eq!(dm["author_name"], "alice");
    assert_eq!(texts(&dm["private_to"]), ["bob"]);
    let shown = bob.ok(["feed", TUESDAY]);
    assert!(
        shown.contains(&format!("(private, to {bob_named}): {dm_words}")),
        "{shown}"
    );
    eventually(
        DELIVERY_TIMEOUT,
        "bob to read alice's partner check-in",
        || {
            let view = one(&bob, &["checkins", TUESDAY]);
            view["checkins"]
                .as_array()?
                .iter()
                .any(|c| c["note"] == checkin_words && c["to"] == "partner")
                .then_some(())
        },
    );

    marker(&alice, &circle, &[&bob, &carol], "Thanks for tonight, all.");
    thread::sleep(GRACE);
    let everything = everything_shown(&carol, TUESDAY);
    for secret in [checkin_words, dm_words, "Elm Street", "after nine"] {
        assert!(
            !everything.contains(secret),
            "carol, who is not alice's partner, must not read '{secret}':\n{everything}"
        );
    }
    let feed = carol.feed(&circle);
    assert!(
        !feed
            .iter()
            .any(|i| i["kind"] == "dm" || i["kind"] == "partner"),
        "carol's feed shows no private message: {feed:#?}"
    );
    let error = carol.fails(["dm", TUESDAY, "alice", "Are you okay?"]);
    assert!(
        error.contains("not your accountability partner"),
        "carol is told why she cannot: {error}"
    );
}

#[test]
fn bob_reaches_out_and_knows_alice_has_seen_it() {
    let (alice, bob, circle) = alice_and_bob();

    // Without --yes and without a terminal to confirm on, nothing is sent, but the crisis
    // lines are shown all the same.
    let run = bob.circle(["reach-out", TUESDAY, "I need someone."]).run();
    assert!(!run.status.success(), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.contains("--yes"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("findahelpline.com"),
        "the crisis lines come first, whatever happens: {}",
        run.stdout
    );
    assert!(listed(&bob, &["reach-outs", TUESDAY]).is_empty());

    let follower = alice.follow(&circle);
    follower.wait_for("the circle's first item", |_| true);
    let sent = bob.ok([
        "reach-out",
        TUESDAY,
        "Bad night. Please call.",
        "--callback",
        "+44 7700 900123",
        "--yes",
    ]);
    assert!(sent.contains("findahelpline.com"), "{sent}");
    assert!(
        sent.contains("Sent to everyone in 'Tuesday circle'")
            && sent.contains(" of 1")
            && sent.contains("circle reach-outs 'Tuesday circle'"),
        "{sent}"
    );
    let urgent = follower.wait_for("bob's reach-out", |i| i["urgent"] == true);
    assert_eq!(urgent["author_name"], "bob");
    assert_eq!(urgent["kind"], "reach-out");
    assert!(
        text(&urgent["text"]).contains("Bad night. Please call.")
            && text(&urgent["text"]).contains("+44 7700 900123"),
        "{urgent}"
    );
    // alice's follower showed it to her: bob is told so.
    let seen = eventually(DELIVERY_TIMEOUT, "bob to learn alice has seen it", || {
        let all = listed(&bob, &["reach-outs", TUESDAY]);
        (all.len() == 1 && texts(&all[0]["seen_by"]) == ["alice"]).then_some(all)
    });
    assert_eq!(seen[0]["members"], 1, "{seen:?}");
    assert_eq!(seen[0]["callback"], "+44 7700 900123");
    let shown = bob.ok(["reach-outs", TUESDAY]);
    let alice_named = named(&bob, TUESDAY, "alice");
    assert!(
        shown.contains(&format!("seen by 1 of 1 ({alice_named})")),
        "{shown}"
    );
    drop(follower);

    let shown = alice.ok(["feed", TUESDAY]);
    let line = shown
        .lines()
        .find(|l| l.contains("Bad night"))
        .expect("alice's feed shows the reach-out");
    assert!(
        line.starts_with("!! [")
            && line.contains(&format!(
                "{} is reaching out: Bad night. Please call.",
                named(&alice, TUESDAY, "bob")
            )),
        "a reach-out stands out: {line}"
    );
}

#[test]
fn alice_reads_her_feed_and_bob_sees_she_has_seen_his_reach_out() {
    let (alice, bob, circle) = alice_and_bob();
    bob.ok(["reach-out", TUESDAY, "--yes"]);
    alice.feed_when(&circle, "bob's reach-out", |feed| {
        feed.iter()
            .any(|i| i["urgent"] == true && i["author_name"] == "bob")
    });
    eventually(DELIVERY_TIMEOUT, "bob to learn alice has seen it", || {
        let all = listed(&bob, &["reach-outs", TUESDAY]);
        (texts(&all.first()?["seen_by"]) == ["alice"]).then_some(())
    });
}

#[test]
fn meetings_show_in_each_members_own_time_and_resources_are_pinned_for_all() {
    let (alice, bob, _circle) = alice_and_bob();
    let said = alice.ok([
        "meeting",
        "add",
        TUESDAY,
        "New Year check-in",
        "--on",
        "2031-01-14",
        "--at",
        "19:30",
        "--tz",
        "Europe/London",
        "--link",
        "https://meet.example.org/tuesday",
    ]);
    assert!(
        said.starts_with("Added 'New Year check-in' to 'Tuesday circle'"),
        "{said}"
    );
    alice.ok([
        "meeting",
        "add",
        TUESDAY,
        "Tuesday group",
        "--weekly",
        "tuesday",
        "--at",
        "19:30",
        "--tz",
        "Europe/London",
    ]);
    let meetings = eventually(DELIVERY_TIMEOUT, "bob to see both meetings", || {
        let all = listed(&bob, &["meetings", TUESDAY, "--tz", "America/New_York"]);
        (all.len() == 2).then_some(all)
    });
    let once = meetings
        .iter()
        .find(|m| m["title"] == "New Year check-in")
        .unwrap();
    assert_eq!(once["zone"], "Europe/London");
    assert_eq!(once["next_local"], "Tue 14 Jan 14:30 EST", "{once}");
    assert_eq!(once["link"], "https://meet.example.org/tuesday");
    let weekly = meetings
        .iter()
        .find(|m| m["title"] == "Tuesday group")
        .unwrap();
    let local = text(&weekly["next_local"]);
    assert!(
        local.starts_with("Tue ") && (local.ends_with(" EST") || local.ends_with(" EDT")),
        "shown in New York time: {weekly}"
    );
    let shown = bob.ok(["meetings", TUESDAY, "--tz", "America/New_York"]);
    assert!(
        shown.contains("Next: Tue 14 Jan 14:30 EST.") && shown.contains("meet.example.org"),
        "{shown}"
    );
    let in_london = listed(&bob, &["meetings", TUESDAY, "--tz", "Europe/London"]);
    assert!(
        in_london
            .iter()
            .any(|m| m["next_local"] == "Tue 14 Jan 19:30 GMT"),
        "{in_london:?}"
    );

    alice.ok([
        "resource",
        "add",
        TUESDAY,
        "HALT",
        "--text",
        "Hungry, angry, lonely, tired? Deal with that first.",
    ]);
    let said = alice.ok([
        "resource",
        "add",
        TUESDAY,
        "Urge surfing",
        "--url",
        "https://example.org/urge-surfing",
    ]);
    assert!(said.starts_with("Pinned 'Urge surfing'"), "{said}");
    let resources = eventually(DELIVERY_TIMEOUT, "bob to see both resources", || {
        let all = listed(&bob, &["resources", TUESDAY]);
        (all.len() == 2).then_some(all)
    });
    assert!(resources.iter().any(|r| r["title"] == "HALT"
        && r["text"] == "Hungry, angry, lonely, tired? Deal with that first."
        && r["added_by"] == "alice"));
    assert!(
        resources
            .iter()
            .any(|r| r["url"] == "https://example.org/urge-surfing")
    );
    let shown = bob.ok(["resources", TUESDAY]);
    assert!(
        shown.contains(&format!(
            "HALT (pinned by {})",
            named(&bob, TUESDAY, "alice")
        )) && shown.contains("    Hungry, angry"),
        "{shown}"
    );
}

#[test]
fn bob_is_reminded_of_a_meeting_about_to_start() {
    let (alice, bob, circle) = alice_and_bob();
    alice.share(TUESDAY, "Quick meeting soon?");
    let follower = bob.follow(&circle);
    follower.wait_for("the circle's share", |i| i["kind"] == "share");
    // The follower opens the event stream once it has printed the feed so far.
    thread::sleep(Duration::from_secs(2));
    let (date, at) = utc_in(6);
    alice.ok([
        "meeting",
        "add",
        TUESDAY,
        "Quick check-in",
        "--on",
        &date,
        "--at",
        &at,
        "--tz",
        "UTC",
        "--link",
        "https://meet.example.org/quick",
    ]);
    let reminder = follower.wait_for("the reminder", |e| e["type"] == "reminder");
    assert_eq!(reminder["title"], "Quick check-in");
    assert_eq!(reminder["circle"], circle.as_str());
    assert_eq!(reminder["link"], "https://meet.example.org/quick");
    let minutes = reminder["minutes"].as_u64().unwrap();
    assert!((1..=6).contains(&minutes), "{reminder}");
}

#[test]
fn bob_reads_the_guidelines_before_he_joins() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.md");
    let error = alice.fails(["create", TUESDAY, "--guidelines", missing.to_str().unwrap()]);
    assert!(
        error.contains("cannot read the guidelines file") && error.contains("nowhere.md"),
        "{error}"
    );
    let error = alice.fails(["create", TUESDAY, "--format", "cult"]);
    assert!(error.contains("is not a format"), "{error}");
    assert!(alice.circles().is_empty(), "no mistake made a circle");

    let rules = "What is said here stays here.\nNo crosstalk.\nFirst names only.";
    let file = dir.path().join("guidelines.md");
    std::fs::write(&file, format!("{rules}\n")).unwrap();
    let circle = alice.ok([
        "create",
        TUESDAY,
        "--guidelines",
        file.to_str().unwrap(),
        "--format",
        "12-step",
    ]);
    let info = one(&alice, &["info", TUESDAY]);
    assert_eq!(info["id"], circle.as_str());
    assert_eq!(info["format"], "12-step");
    assert_eq!(info["guidelines"], rules);
    assert_eq!(texts(&info["admins"]), ["alice"]);
    let shown = alice.ok(["info", TUESDAY]);
    assert!(
        shown.contains("12-step circle") && shown.contains("    No crosstalk."),
        "{shown}"
    );

    let invite = alice.invite(TUESDAY, &[]);
    let asked = bob.circle(["join", &invite]).run();
    assert!(!asked.status.success(), "{asked:?}");
    assert!(
        asked.stderr.contains("No crosstalk.") && asked.stderr.contains("12-step"),
        "bob reads the guidelines before anything else: {}",
        asked.stderr
    );
    let last = asked.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("--yes"),
        "{}",
        asked.stderr
    );
    assert!(
        bob.circles().is_empty(),
        "bob did not join without saying yes"
    );

    let joined = bob.circle(["join", &invite, "--yes"]).run();
    assert!(joined.status.success(), "{}", joined.stderr);
    assert_eq!(joined.stdout.trim(), circle);
    assert!(
        joined.stderr.contains("First names only.")
            && joined.stderr.contains("Welcome to 'Tuesday circle'"),
        "{}",
        joined.stderr
    );
    let info = eventually(
        DELIVERY_TIMEOUT,
        "bob's node to know the guidelines",
        || {
            let info = one(&bob, &["info", TUESDAY]);
            (info["guidelines"] == rules).then_some(info)
        },
    );
    assert_eq!(info["format"], "12-step");
}

#[test]
fn alice_shares_her_clock_and_the_circle_celebrates_her_first_week() {
    let (alice, bob, circle) = alice_and_bob();
    let since = date_in(-7);
    let clock = one(
        &alice,
        &["clock", "start", "sober", "--since", &since, "--tz", "UTC"],
    );
    assert_eq!(clock["days"], 7, "{clock}");
    assert_eq!(clock["reached"]["label"], "7 days");
    assert_eq!(clock["next"]["label"], "30 days");
    assert_eq!(clock["next"]["date"], date_in(23).as_str());
    assert!(texts(&clock["shared_with"]).is_empty());
    let shown = alice.ok(["clock", "list"]);
    assert!(
        shown.starts_with(&format!("sober: 7 days (since {since}, UTC)."))
            && shown.contains(&format!("Next: 30 days on {}.", date_in(23)))
            && shown.contains("Private"),
        "{shown}"
    );

    let said = alice.ok(["clock", "share", "sober", TUESDAY]);
    assert!(
        said.starts_with("'Tuesday circle' will hear of your 'sober' milestones"),
        "{said}"
    );
    let feed = bob.feed_when(&circle, "alice's milestone", |feed| {
        feed.iter().any(|i| i["kind"] == "milestone")
    });
    let milestone = feed.iter().find(|i| i["kind"] == "milestone").unwrap();
    assert_eq!(milestone["author_name"], "alice");
    assert!(
        text(&milestone["text"]).contains("sober") && text(&milestone["text"]).contains("7 days"),
        "{milestone}"
    );
    let listed_clocks = listed(&alice, &["clock", "list"]);
    assert_eq!(texts(&listed_clocks[0]["shared_with"]), [TUESDAY]);

    let said = alice.ok(["clock", "reset", "sober", "--note", "Slipped on Friday."]);
    assert!(said.contains("Nobody was told"), "{said}");
    assert_eq!(listed(&alice, &["clock", "list"])[0]["days"], 0);
    let said = alice.ok([
        "clock",
        "reset",
        "sober",
        "--share",
        "--note",
        "Starting again, with you.",
    ]);
    assert!(said.contains("Told 'Tuesday circle'."), "{said}");
    bob.feed_when(&circle, "alice's shared reset", |feed| {
        feed.iter().any(|i| {
            i["kind"] == "clock-reset" && text(&i["text"]).contains("Starting again, with you.")
        })
    });
    marker(&alice, &circle, &[&bob], "Onwards.");
    thread::sleep(GRACE);
    let everything = everything_shown(&bob, TUESDAY);
    assert!(
        !everything.contains("Slipped on Friday"),
        "a private reset stays with alice:\n{everything}"
    );
}

#[test]
fn mistakes_are_explained_in_one_line_and_change_nothing() {
    let (mut alice, bob, circle) = alice_and_bob();
    let bobs = bob.share(TUESDAY, "bob's words");
    alice.feed_when(&circle, "bob's share", |feed| {
        has_share(feed, "bob's words")
    });
    let before = (
        alice.feed(&circle),
        one(&alice, &["crisis-lines"]),
        bob.feed(&circle),
    );

    for (args, problem) in [
        (&["checkin", TUESDAY, "--day", "9"][..], "not a day rating"),
        (
            &["checkin", TUESDAY, "--day", "3", "--to", "everyone"],
            "not an audience",
        ),
        (
            &["checkin", TUESDAY, "--day", "3", "--craving", "11"],
            "out of range",
        ),
        (
            &["dm", TUESDAY, "bob", "Just between us."],
            "not your accountability partner",
        ),
        (&["partner", "accept", TUESDAY, "bob"], "has not asked you"),
        (&["partner", "request", TUESDAY, "zed"], "zed"),
        (&["withdraw", &bobs], "someone else's"),
        (&["withdraw", "#abc"], "too short"),
        (&["react", "abc12", "🎉"], "too short"),
        (&["react", &bobs, "me too"], "one emoji"),
        (
            &["share", TUESDAY, "Hi", "--reply-to", "zzzzzzzz"],
            "no message",
        ),
        (
            &["share", TUESDAY, "Hi", "--expires", "forever"],
            "not a duration",
        ),
        (
            &["goal", "add", TUESDAY, "Run", "--by", "2026-02-30"],
            "that month has 28 days",
        ),
        (
            &[
                "meeting", "add", TUESDAY, "Group", "--weekly", "tue", "--at", "25:00", "--tz",
                "UTC",
            ],
            "not a time of day",
        ),
        (
            &[
                "meeting", "add", TUESDAY, "Group", "--weekly", "someday", "--at", "19:00", "--tz",
                "UTC",
            ],
            "not a day of the week",
        ),
        (
            &[
                "meeting",
                "add",
                TUESDAY,
                "Group",
                "--weekly",
                "tue",
                "--at",
                "19:00",
                "--tz",
                "Mars/Olympus",
            ],
            "not a time zone",
        ),
        (
            &[
                "meeting",
                "add",
                TUESDAY,
                "Group",
                "--weekly",
                "tue",
                "--on",
                "2031-01-14",
                "--at",
                "19:00",
                "--tz",
                "UTC",
            ],
            "cannot be used with",
        ),
        (
            &[
                "meeting", "add", TUESDAY, "Group", "--at", "19:00", "--tz", "UTC",
            ],
            "--weekly",
        ),
        (
            &[
                "meeting",
                "add",
                TUESDAY,
                "Group",
                "--weekly",
                "tue",
                "--at",
                "19:00",
                "--tz",
                "UTC",
                "--link",
                "ftp://example.org",
            ],
            "not a web link",
        ),
        (&["resource", "add", TUESDAY, "Nothing"], "--text"),
        (
            &["clock", "start", "sober", "--since", "last spring"],
            "not a date",
        ),
        (
            &[
                "clock",
                "start",
                "sober",
                "--since",
                "2026-01-01",
                "--tz",
                "Nowhere/Land",
            ],
            "not a time zone",
        ),
        (&["clock", "share", "gambling", TUESDAY], "gambling"),
        (
            &["crisis-lines", "--add", "just a number"],
            "not a crisis line",
        ),
        (
            &["crisis-lines", "--country", "England"],
            "not a country code",
        ),
        (
            &["reach-out", "Wednesday circle", "--yes"],
            "no circle called",
        ),
        (&["checkins", "Wednesday circle"], "no circle called"),
    ] {
        let error = alice.fails(args);
        assert!(
            error.contains(problem),
            "`circle {}` is refused as '{problem}': {error}",
            args.join(" ")
        );
    }
    let error = bob.fails(["withdraw", &bobs[..5]]);
    assert!(error.contains("at least 6 characters"), "{error}");

    marker(&alice, &circle, &[&bob], "Nothing else happened.");
    let after = (
        alice.feed(&circle),
        one(&alice, &["crisis-lines"]),
        bob.feed(&circle),
    );
    assert_eq!(after.0.len(), before.0.len() + 1, "{:#?}", after.0);
    assert_eq!(after.1, before.1, "the crisis lines are as they were");
    assert_eq!(after.2.len(), before.2.len() + 1, "{:#?}", after.2);
    assert!(item(&after.2, &bobs).is_some_and(|i| i["text"] == "bob's words"));
    for (what, list) in [
        (
            "check-ins",
            one(&alice, &["checkins", TUESDAY])["checkins"].clone(),
        ),
        ("goals", Value::from(listed(&alice, &["goals", TUESDAY]))),
        (
            "meetings",
            Value::from(listed(&alice, &["meetings", TUESDAY])),
        ),
        (
            "resources",
            Value::from(listed(&alice, &["resources", TUESDAY])),
        ),
        ("clocks", Value::from(listed(&alice, &["clock", "list"]))),
        (
            "partners",
            Value::from(listed(&alice, &["partners", TUESDAY])),
        ),
        (
            "reach-outs",
            Value::from(listed(&alice, &["reach-outs", TUESDAY])),
        ),
    ] {
        assert_eq!(
            list,
            Value::Array(Vec::new()),
            "no mistake wrote any {what}"
        );
    }

    // Without the node, what needs other members' nodes now says how to start it (everything
    // else works on the store: everyday/offline.rs).
    alice.stop();
    for args in [&["invite", TUESDAY][..], &["feed", TUESDAY, "--follow"]] {
        let error = alice.fails(args);
        assert!(error.contains("circle up"), "{error}");
    }
}
