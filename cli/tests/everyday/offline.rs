//! The same commands with the node on or off: everything that can be done on the store is
//! done, and sent when the node next runs; what needs other nodes says why in one line.

use serde_json::Value;

use crate::util::{DELIVERY_TIMEOUT, Person, TUESDAY, eventually, text, tuesday_circle};

/// `--json` output of a command that prints one object.
fn one(person: &Person, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let mut lines = person.circle(all).json_lines();
    assert_eq!(lines.len(), 1, "`{}` prints one object", args.join(" "));
    lines.remove(0)
}

/// Runs a command that must succeed with the node off and say it was saved for later.
fn saved_for_later(person: &Person, args: &[&str]) -> String {
    let run = person.circle(args).run();
    assert!(
        run.status.success(),
        "`{}` works with the node off:\n{}",
        args.join(" "),
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "Your node is not running: this goes out to the circle when you next run `circle up`"
        ),
        "`{}` says it goes out later:\n{}",
        args.join(" "),
        run.stderr
    );
    run.stdout
}

#[test]
fn checkin_react_goal_clock_meeting_and_resource_work_with_the_node_stopped_and_go_out_at_up() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    tuesday_circle(&alice, &[&bob]);
    let hello = bob.share(TUESDAY, "First week. Glad you are all here.");
    eventually(DELIVERY_TIMEOUT, "alice to hold bob's share", || {
        alice
            .feed(TUESDAY)
            .iter()
            .any(|i| i["id"] == hello.as_str())
            .then_some(())
    });
    alice.stop();

    // Everything a person does on an ordinary evening, with the node off.
    saved_for_later(&alice, &["checkin", TUESDAY, "--day", "4", "--mood", "6"]);
    let private = alice.ok([
        "checkin",
        TUESDAY,
        "--day",
        "2",
        "--note",
        "rough one",
        "--to",
        "me",
    ]);
    assert!(private.contains("never sent"), "{private}");
    saved_for_later(&alice, &["react", &hello, "🙏"]);
    let goal = one(&alice, &["goal", "add", TUESDAY, "Call my sister"]);
    let goal_id = text(&goal["id"]);
    saved_for_later(&alice, &["goal", "done", &goal_id]);
    saved_for_later(
        &alice,
        &[
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
        ],
    );
    saved_for_later(
        &alice,
        &[
            "resource",
            "add",
            TUESDAY,
            "HALT",
            "--text",
            "Hungry, angry, lonely, tired?",
        ],
    );
    alice.ok([
        "clock",
        "start",
        "sober",
        "--since",
        "2026-01-01",
        "--tz",
        "UTC",
    ]);

    // And what she reads back, still offline, is what she wrote.
    let clocks = alice.ok(["clock", "list"]);
    assert!(clocks.contains("sober"), "{clocks}");
    let meetings = alice.ok(["meetings", TUESDAY]);
    assert!(meetings.contains("Tuesday group"), "{meetings}");
    let resources = alice.ok(["resources", TUESDAY]);
    assert!(resources.contains("HALT"), "{resources}");
    let goals = alice.ok(["goals", TUESDAY]);
    assert!(goals.contains("Call my sister"), "{goals}");
    let checkins = alice.ok(["checkins", TUESDAY]);
    assert!(
        checkins.contains("rough one"),
        "her own check-in for herself: {checkins}"
    );
    let info = alice.ok(["info", TUESDAY]);
    assert!(info.contains(TUESDAY), "{info}");
    alice.ok(["partners", TUESDAY]);
    alice.ok(["invites", TUESDAY]);

    // A reach-out with the node off is saved and says plainly that nobody knows yet.
    let run = alice
        .circle(["reach-out", TUESDAY, "Hard night", "--yes"])
        .run();
    assert!(run.status.success(), "{}", run.stderr);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains("nobody has been told yet") && said.contains("circle up"),
        "a reach-out saved offline says it has not reached anyone yet:\n{said}"
    );

    // What needs other members' nodes now says so, in one line, and writes nothing.
    let line = alice.fails(["invite", TUESDAY]);
    assert!(line.contains("circle up"), "{line}");
    let line = alice.fails(["feed", TUESDAY, "--follow"]);
    assert!(line.contains("circle up"), "{line}");

    // Once her node runs, bob gets all of it, and nothing of what was hers alone.
    alice.up();
    let kinds = [
        "checkin",
        "reaction",
        "goal",
        "goal-done",
        "meeting",
        "resource",
        "reach-out",
    ];
    let feed = eventually(
        DELIVERY_TIMEOUT,
        "bob to get what alice did offline",
        || {
            let feed = bob.feed(TUESDAY);
            let from_alice = |kind: &str| {
                feed.iter()
                    .any(|i| i["kind"] == kind && i["author_name"] == "alice")
            };
            kinds.iter().all(|k| from_alice(k)).then_some(feed)
        },
    );
    let shown = serde_json::to_string(&feed).unwrap();
    assert!(
        !shown.contains("rough one"),
        "her check-in for herself stayed hers: {shown}"
    );
}

/// Each `--json` line of `args`, read as the API contract's type `T`, then written back: what
/// a script gets, in a form two runs can be compared in.
fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(
    person: &Person,
    args: &[&str],
) -> Vec<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    person
        .circle(all)
        .json_lines()
        .into_iter()
        .map(|line| {
            let value: T = serde_json::from_value(line.clone()).unwrap_or_else(|e| {
                panic!(
                    "`{}` printed {line}, not the contract's type: {e}",
                    args.join(" ")
                )
            });
            serde_json::to_value(value).unwrap()
        })
        .collect()
}

/// What a script reads does not depend on whether the node runs (the running node's API over
/// HTTP) or not (the same API served inside the command): each answer is the contract's type,
/// and both ways give the same one.
#[test]
fn a_script_reads_the_same_typed_answers_with_the_node_running_or_stopped() {
    use circle_node::contract::{CheckinsView, CircleDetails, CircleInfo, FeedItem, MemberInfo};
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    alice.share(TUESDAY, "Hello, first evening.");
    alice.ok(["checkin", TUESDAY, "--day", "4", "--to", "me"]);
    let read = |p: &Person| {
        vec![
            typed::<CircleInfo>(p, &["circles"]),
            typed::<MemberInfo>(p, &["members", TUESDAY]),
            typed::<CircleDetails>(p, &["info", TUESDAY]),
            typed::<FeedItem>(p, &["feed", TUESDAY]),
            typed::<CheckinsView>(p, &["checkins", TUESDAY]),
        ]
    };
    let running = read(&alice);
    assert!(
        running[3]
            .iter()
            .any(|i| i["text"] == "Hello, first evening."),
        "{running:?}"
    );
    alice.stop();
    let stopped = read(&alice);
    assert_eq!(running, stopped);
}
