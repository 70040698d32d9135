//! What lists and feeds show: two people with one nickname told apart by their fingerprints,
//! replies and goals that show what they answer, a share that says where it went, "seen by"
//! that counts everyone who looked, a taken-back request called that, a goal reached once, a
//! milestone that is due, and dates that have not passed.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::{
    DELIVERY_TIMEOUT, Person, TUESDAY, eventually, named, shared_id, text, texts, tuesday_circle,
};

/// alice and bob, nodes up, in the Tuesday circle; and its id.
fn alice_and_bob() -> (Person, Person, String) {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    members_when(&alice, &circle, 2);
    members_when(&bob, &circle, 2);
    (alice, bob, circle)
}

/// `--json` output of a command that prints one object.
fn one(person: &Person, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let mut lines = person.circle(all).json_lines();
    assert_eq!(
        lines.len(),
        1,
        "`{}` prints one object: {lines:?}",
        args.join(" ")
    );
    lines.remove(0)
}

/// The date `days` from today (UTC), `YYYY-MM-DD`; negative is in the past.
fn date_in(days: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Days from 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = i64::try_from(now / 86_400).unwrap() + days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Waits until `person` sees `count` members in `circle`; returns them (`members --json`).
fn members_when(person: &Person, circle: &str, count: usize) -> Vec<Value> {
    let what = format!("{} to see {count} members", person.name);
    eventually(DELIVERY_TIMEOUT, &what, || {
        let members = person.members(circle);
        (members.len() == count).then_some(members)
    })
}

/// The (member key, fingerprint) of everyone called `name` in a `members --json` list.
fn called(members: &[Value], name: &str) -> Vec<(String, String)> {
    members
        .iter()
        .filter(|m| m["name"] == name)
        .map(|m| (text(&m["member"]), text(&m["fingerprint"])))
        .collect()
}

/// The fingerprint `person`'s list gives to the member with key `key`.
fn fingerprint_of(person: &Person, circle: &str, key: &str) -> String {
    let members = person.members(circle);
    members
        .iter()
        .find(|m| m["member"] == key)
        .map(|m| text(&m["fingerprint"]))
        .unwrap_or_else(|| panic!("{key} is not in {}'s list: {members:#?}", person.name))
}

#[test]
fn two_people_called_alex_are_told_apart_and_one_is_removed_by_their_words() {
    let mut alice = Person::init("alice");
    let mut alex = Person::init_as("alex", "alex");
    let mut namesake = Person::init_as("alexis", "alex");
    alice.up();
    alex.up();
    namesake.up();
    let circle = tuesday_circle(&alice, &[&alex, &namesake]);

    let members = members_when(&alice, &circle, 3);
    let alexes = called(&members, "alex");
    assert_eq!(alexes.len(), 2, "two members are called alex: {members:#?}");
    let (first, second) = (alexes[0].clone(), alexes[1].clone());
    for (_, words) in [&first, &second] {
        assert_eq!(words.split('-').count(), 3, "three words: '{words}'");
    }
    assert_ne!(first.1, second.1, "the two alexes do not look the same");

    // Every node names a member with the same words.
    let alex_key = text(&alex.circle_entry(&circle)["me"]);
    let words = fingerprint_of(&alice, &circle, &alex_key);
    eventually(DELIVERY_TIMEOUT, "alex to see the same words", || {
        (alex.members(&circle).len() == 3).then_some(())
    });
    assert_eq!(fingerprint_of(&alex, &circle, &alex_key), words);
    let shown = alice.ok(["members", TUESDAY]);
    for (_, words) in [&first, &second] {
        assert!(shown.contains(&format!("alex ({words})")), "{shown}");
    }

    // In the feed, the API and the CLI give the author's words beside the name.
    let hello = "First week here. Glad to have found you.";
    alex.share(TUESDAY, hello);
    let feed = alice.feed_when(&circle, "alex's share", |feed| {
        feed.iter().any(|i| i["text"] == hello)
    });
    let item = feed.iter().find(|i| i["text"] == hello).expect("the share");
    assert_eq!(item["author_fingerprint"], words.as_str(), "{item}");
    let shown = alice.ok(["feed", TUESDAY]);
    assert!(
        shown
            .lines()
            .any(|l| l.contains(&format!("alex ({words}) (#")) && l.ends_with(hello)),
        "{shown}"
    );

    // The name alone could be either of them: alice is shown both, with their words.
    let error = alice.fails(["remove", TUESDAY, "alex"]);
    assert!(
        error.contains(&format!("alex ({})", first.1))
            && error.contains(&format!("alex ({})", second.1)),
        "{error}"
    );
    assert_eq!(alice.members(&circle).len(), 3, "nobody was removed");

    // The start of a member key is enough, and so are the words (typed any way).
    let said = alice.ok(["admin", "grant", TUESDAY, &first.0[..8]]);
    assert!(
        said.starts_with(&format!("alex ({}) is now an admin", first.1)),
        "{said}"
    );
    let typed = second.1.to_uppercase().replace('-', " ");
    let said = alice.ok(["remove", TUESDAY, &typed]);
    assert!(
        said.starts_with(&format!(
            "Removed alex ({}) from 'Tuesday circle'. The circle has a new key; alex cannot",
            second.1
        )),
        "{said}"
    );
    let left = alice.members(&circle);
    assert_eq!(called(&left, "alex"), vec![first.clone()], "{left:#?}");

    // The circle's feed says which alex was removed.
    let removal = format!("alice removed alex ({}) from the circle", second.1);
    let feed = alice.feed(&circle);
    assert!(
        feed.iter()
            .any(|i| i["kind"] == "removed" && i["text"] == removal.as_str()),
        "{feed:#?}"
    );
    assert!(alice.ok(["feed", TUESDAY]).contains(&removal));
}

#[test]
fn a_key_start_too_short_or_unknown_words_find_nobody() {
    let alice = Person::init("alice");
    alice.create(TUESDAY);
    let me = text(&alice.circles()[0]["me"]);
    // Offline: the same resolution, on the store.
    let error = alice.fails(["admin", "revoke", TUESDAY, &me[..5]]);
    assert!(
        error.contains(&format!(
            "no member of 'Tuesday circle' is called '{}'",
            &me[..5]
        )),
        "{error}"
    );
    let error = alice.fails(["remove", TUESDAY, "amber fox lake"]);
    assert!(error.contains("no member of"), "{error}");
}

#[test]
fn a_reply_shows_what_it_answers_and_reactions_gather_under_their_message() {
    let (alice, bob, circle) = alice_and_bob();
    let words = "Day 30 today. Did not think I would get here.\nThank you all.";
    let first = alice.share(TUESDAY, words);
    bob.feed_when(&circle, "alice's day 30", |feed| {
        feed.iter().any(|i| i["id"] == first.as_str())
    });
    let short = &first[..8];
    let reply = shared_id(&bob.ok([
        "--json",
        "share",
        TUESDAY,
        "So proud of you.",
        "--reply-to",
        short,
    ]));
    bob.ok(["react", short, "❤"]);
    alice.ok(["react", short, "❤"]);
    let feed = alice.feed_when(&circle, "bob's reply and reaction", |feed| {
        feed.iter().filter(|i| i["kind"] == "reaction").count() == 2
            && feed.iter().any(|i| i["id"] == reply.as_str())
    });

    // The API quotes the start of what is answered: its first line.
    let answer = feed.iter().find(|i| i["id"] == reply.as_str()).unwrap();
    assert_eq!(
        answer["reply_text"],
        "Day 30 today. Did not think I would get here.…"
    );

    let shown = alice.ok(["feed", TUESDAY]);
    let lines: Vec<&str> = shown.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&format!("(#{short}): Day 30 today.")))
        .unwrap_or_else(|| panic!("alice's share is in her feed:\n{shown}"));
    // Right under it (after its second line), the two hearts, on one line.
    let hearts = lines[at + 2];
    assert!(
        hearts.starts_with("    ❤ 2: ")
            && hearts.contains(&named(&alice, TUESDAY, "alice"))
            && hearts.contains(&named(&alice, TUESDAY, "bob")),
        "{shown}"
    );
    assert!(
        !shown.contains("reacted"),
        "no reaction line of its own:\n{shown}"
    );
    assert!(
        shown.contains(&format!(
            "↳ re #{short} \"Day 30 today. Did not think I would get here.…\": So proud of you."
        )),
        "{shown}"
    );
}

#[test]
fn a_goal_reached_says_which_and_is_reached_only_once() {
    let (alice, bob, circle) = alice_and_bob();
    let goal = text(&one(&alice, &["goal", "add", TUESDAY, "Call my sister"])["id"]);
    let said = alice.ok(["goal", "done", &goal[..8]]);
    assert!(
        said.starts_with("Well done! Marked 'Call my sister' done"),
        "{said}"
    );
    let feed = bob.feed_when(&circle, "alice's goal reached", |feed| {
        feed.iter().any(|i| i["kind"] == "goal-done")
    });
    let done = feed.iter().find(|i| i["kind"] == "goal-done").unwrap();
    assert_eq!(done["text"], "reached a goal: Call my sister", "{done}");
    let shown = bob.ok(["feed", TUESDAY]);
    assert!(
        shown.contains("reached a goal: Call my sister ↳ re #"),
        "{shown}"
    );

    // Twice is refused by the node, and nothing more is written.
    let error = alice.fails(["goal", "done", &goal[..8]]);
    assert!(error.contains("that goal is already done"), "{error}");
    alice.share(TUESDAY, "That is all for today.");
    let feed = bob.feed_when(&circle, "alice's last share", |feed| {
        feed.iter().any(|i| i["text"] == "That is all for today.")
    });
    let reached = feed.iter().filter(|i| i["kind"] == "goal-done").count();
    assert_eq!(reached, 1, "the circle heard it once: {feed:#?}");
}

#[test]
fn dates_that_have_passed_are_refused_for_goals_and_meetings() {
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    for by in ["2020-01-01", &date_in(-2)] {
        let error = alice.fails(["goal", "add", TUESDAY, "Go to two meetings", "--by", by]);
        assert!(error.contains(&format!("{by} has passed")), "{error}");
    }
    let error = alice.fails([
        "meeting",
        "add",
        TUESDAY,
        "Reunion",
        "--on",
        "2020-01-01",
        "--at",
        "19:00",
        "--tz",
        "UTC",
    ]);
    assert!(error.contains("would already have started"), "{error}");
    assert!(
        alice
            .feed(TUESDAY)
            .iter()
            .all(|i| i["kind"] != "goal" && i["kind"] != "meeting")
    );

    // A date to come is fine.
    alice.ok([
        "goal",
        "add",
        TUESDAY,
        "Go to two meetings",
        "--by",
        &date_in(1),
    ]);
    alice.ok([
        "meeting",
        "add",
        TUESDAY,
        "Reunion",
        "--on",
        &date_in(30),
        "--at",
        "19:00",
        "--tz",
        "UTC",
    ]);
}

#[test]
fn share_says_where_it_went_and_json_gives_id_and_circle() {
    let mut alice = Person::init("alice");
    let circle = alice.create(TUESDAY);
    for state in ["down", "up"] {
        if state == "up" {
            alice.up();
        }
        let said = alice.ok(["share", TUESDAY, &format!("Node {state}.")]);
        let short = said
            .strip_prefix("Shared in 'Tuesday circle' as #")
            .and_then(|s| s.strip_suffix('.'))
            .unwrap_or_else(|| panic!("node {state}: {said}"));
        assert_eq!(short.len(), 8, "{said}");
        let json = one(
            &alice,
            &["share", TUESDAY, &format!("Node {state}, for a script.")],
        );
        assert_eq!(json["circle"], circle.as_str(), "{json}");
        let id = text(&json["id"]);
        assert!(
            alice.feed(&circle).iter().any(|i| i["id"] == id.as_str()),
            "node {state}: the id is the message's"
        );
    }
}

#[test]
fn reading_reach_outs_counts_as_seen_and_nobody_yet_is_said_plainly() {
    let (alice, bob, circle) = alice_and_bob();
    let said = bob.ok(["reach-out", TUESDAY, "Rough night.", "--yes"]);
    assert!(
        said.contains(
            "Sent to everyone in 'Tuesday circle'. Nobody has seen it yet; members whose node \
             is running are told now."
        ),
        "{said}"
    );
    assert!(!said.contains("seen by 0"), "{said}");
    let shown = bob.ok(["reach-outs", TUESDAY]);
    assert!(shown.contains("nobody has seen it yet"), "{shown}");

    // alice looks through `reach-outs`, not the feed: bob learns she has seen it.
    eventually(
        DELIVERY_TIMEOUT,
        "alice's node to have bob's reach-out",
        || {
            let shown = alice.ok(["reach-outs", TUESDAY]);
            shown.contains("Rough night.").then_some(())
        },
    );
    let seen = eventually(DELIVERY_TIMEOUT, "bob to learn alice has seen it", || {
        let all = bob.circle(["--json", "reach-outs", TUESDAY]).json_lines();
        (all.len() == 1 && texts(&all[0]["seen_by"]) == ["alice"]).then_some(all)
    });
    let alice_named = named(&bob, &circle, "alice");
    assert_eq!(
        seen[0]["seen_by_members"][0]["fingerprint"],
        alice_named
            .trim_end_matches(')')
            .rsplit('(')
            .next()
            .unwrap()
    );
    let shown = bob.ok(["reach-outs", TUESDAY]);
    assert!(
        shown.contains(&format!("seen by 1 of 1 ({alice_named})")),
        "{shown}"
    );
}

#[test]
fn taking_back_a_partner_request_is_called_that() {
    let (alice, bob, circle) = alice_and_bob();
    alice.ok(["partner", "request", TUESDAY, "bob"]);
    let said = alice.ok(["partner", "end", TUESDAY, "bob"]);
    assert_eq!(
        said,
        format!(
            "You took back your request to {} in 'Tuesday circle'. Nothing else changes; you \
             can ask again any time.",
            named(&alice, TUESDAY, "bob")
        )
    );
    // bob's side says the same: nobody ended a partnership that never was.
    let feed = bob.feed_when(&circle, "alice's request taken back", |feed| {
        feed.iter().filter(|i| i["kind"] == "partner").count() == 2
    });
    let last = feed.iter().rev().find(|i| i["kind"] == "partner").unwrap();
    assert_eq!(
        last["text"], "alice took back their request to bob",
        "{last}"
    );
    let shown = bob.ok(["feed", TUESDAY]);
    assert!(!shown.contains("ended the partnership"), "{shown}");

    // Partners who part are still told it ended.
    alice.ok(["partner", "request", TUESDAY, "bob"]);
    eventually(DELIVERY_TIMEOUT, "bob to be asked again", || {
        let shown = bob.ok(["partners", TUESDAY]);
        shown.contains("asked you").then_some(())
    });
    bob.ok(["partner", "accept", TUESDAY, "alice"]);
    eventually(DELIVERY_TIMEOUT, "alice to have bob as partner", || {
        let list = alice.circle(["--json", "partners", TUESDAY]).json_lines();
        (list.len() == 1 && list[0]["state"] == "partner").then_some(())
    });
    let said = alice.ok(["partner", "end", TUESDAY, "bob"]);
    assert!(
        said.starts_with("You are no longer accountability partners"),
        "{said}"
    );
}

#[test]
fn sharing_a_clock_started_days_ago_announces_no_stale_milestone() {
    let mut alice = Person::init("alice");
    alice.up();
    let circle = alice.create(TUESDAY);
    let since = date_in(-4);
    alice.ok(["clock", "start", "sober", "--since", &since, "--tz", "UTC"]);
    let said = alice.ok(["clock", "share", "sober", TUESDAY]);
    assert!(said.contains("Next: 7 days"), "{said}");
    // Announced (if at all) before `clock share` answers: nothing, as "1 day" was days ago.
    let milestones = |feed: &[Value]| -> Vec<String> {
        feed.iter()
            .filter(|i| i["kind"] == "milestone")
            .map(|i| text(&i["text"]))
            .collect()
    };
    assert_eq!(milestones(&alice.feed(&circle)), Vec::<String>::new());

    // Nor when it is shared as it starts.
    alice.ok([
        "clock", "start", "gambling", "--since", &since, "--tz", "UTC", "--share", TUESDAY,
    ]);
    assert_eq!(milestones(&alice.feed(&circle)), Vec::<String>::new());

    // Asked for, the count today is told.
    let said = alice.ok(["clock", "share", "sober", TUESDAY, "--now"]);
    assert!(
        said.contains("Told 'Tuesday circle' your count today: 4 days."),
        "{said}"
    );
    assert_eq!(milestones(&alice.feed(&circle)), ["sober: 4 days 🎉"]);
}
