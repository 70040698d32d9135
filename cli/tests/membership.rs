//! Stories of who is in a circle: removing someone, leaving, admins, who may invite, and
//! invites that are listed, revoked or made for one person's node.
//!
//! Like `cli.rs`, everyone runs the real binary in a home of their own and their nodes talk
//! over loopback. What one node decides reaches the others as a signed operation, so every
//! look at another node is an `eventually` under a generous timeout.
#![cfg(unix)] // nodes are stopped with SIGTERM

mod util;

use std::{collections::BTreeSet, thread, time::Duration};

use serde_json::Value;
use util::{
    DELIVERY_TIMEOUT, Person, TUESDAY, eventually, named, names, shares, text, tuesday_circle,
};

/// How long a share that must not arrive is given to arrive anyway, once a member who should
/// have it does. Gossip takes well under a second over loopback.
const GRACE: Duration = Duration::from_secs(5);

/// Waits until `person` knows exactly the members `expected` of `circle`.
fn members_become(person: &Person, circle: &str, expected: &[&str]) {
    let want = names_of(expected);
    let what = format!("{}'s members of {circle} to be {expected:?}", person.name);
    eventually(DELIVERY_TIMEOUT, &what, || {
        (names(&person.members(circle)) == want).then_some(())
    });
}

/// Waits until `person` stands in `circle` as `standing`.
fn standing_becomes(person: &Person, circle: &str, standing: &str) {
    let what = format!("{} to stand in the circle as {standing}", person.name);
    eventually(DELIVERY_TIMEOUT, &what, || {
        (person.standing(circle) == standing).then_some(())
    });
}

/// Whether a feed holds a share with exactly `words`.
fn has_share(feed: &[Value], words: &str) -> bool {
    shares(feed).iter().any(|(_, t)| t == words)
}

/// `invite --json` for `circle` with `options`: (token, id).
fn invite_with_id(person: &Person, circle: &str, options: &[&str]) -> (String, String) {
    let mut args = vec!["--json", "invite", circle];
    args.extend_from_slice(options);
    let made = person.circle(args).json_lines();
    assert_eq!(made.len(), 1, "`invite --json` prints one object: {made:?}");
    (text(&made[0]["token"]), text(&made[0]["id"]))
}

#[test]
fn alice_removes_bob_and_nothing_said_after_reaches_him() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    alice.up();
    bob.up();
    carol.up();
    let circle = tuesday_circle(&alice, &[&bob, &carol]);
    for person in [&bob, &carol] {
        members_become(person, &circle, &["alice", "bob", "carol"]);
    }
    alice.share(TUESDAY, "Before the break.");
    bob.feed_when(&circle, "alice's share before the break", |feed| {
        has_share(feed, "Before the break.")
    });

    let bob_named = named(&alice, TUESDAY, "bob");
    let said = alice.ok(["remove", TUESDAY, "bob"]);
    assert_eq!(
        said,
        format!(
            "Removed {bob_named} from 'Tuesday circle'. The circle has a new key; bob cannot \
             read anything said from now on."
        )
    );
    assert_eq!(
        names(&alice.members(TUESDAY)),
        names_of(&["alice", "carol"]),
        "alice's list drops bob at once"
    );
    members_become(&carol, &circle, &["alice", "carol"]);

    let after = "Now that it is just us: I relapsed on Friday.";
    alice.share(TUESDAY, after);
    carol.feed_when(&circle, "alice's share after the removal", |feed| {
        has_share(feed, after)
    });
    let feed = carol.feed(&circle);
    assert!(
        feed.iter().any(|i| i["kind"] == "removed"),
        "carol's feed tells that bob was removed: {feed:#?}"
    );
    thread::sleep(GRACE);
    let feed = bob.feed(&circle);
    assert!(
        !has_share(&feed, after),
        "bob must never read what was said after his removal: {feed:#?}"
    );
    assert!(
        has_share(&feed, "Before the break."),
        "what bob read before stays with him"
    );

    // bob's node learns of it too, so bob is not left sharing into the void.
    standing_becomes(&bob, &circle, "removed");
    let error = bob.fails(["share", TUESDAY, "Am I still here?"]);
    assert!(
        error.contains("you were removed"),
        "bob is told he was removed: {error}"
    );
    let shown = bob.ok(["circles"]);
    assert!(shown.contains("(you were removed)"), "{shown}");
}

#[test]
fn carol_may_invite_only_once_alice_lets_members_invite() {
    let mut alice = Person::init("alice");
    let mut carol = Person::init("carol");
    let mut dave = Person::init("dave");
    alice.up();
    carol.up();
    dave.up();
    let circle = tuesday_circle(&alice, &[&carol]);

    let error = carol.fails(["invite", TUESDAY]);
    assert!(
        error.contains("only admins"),
        "carol is told only admins may invite: {error}"
    );

    let said = alice.ok(["policy", TUESDAY, "--invites", "members"]);
    assert_eq!(
        said,
        "Now every member of 'Tuesday circle' can invite people."
    );
    assert_eq!(alice.circle_entry(&circle)["invites"], "members");
    let what = "carol to learn that members may invite";
    eventually(DELIVERY_TIMEOUT, what, || {
        (carol.circle_entry(&circle)["invites"] == "members").then_some(())
    });

    let invite = carol.invite(TUESDAY, &[]);
    assert_eq!(dave.join(&invite), circle, "dave joins with carol's invite");
    members_become(&alice, &circle, &["alice", "carol", "dave"]);
    dave.share(TUESDAY, "Thanks for having me, carol.");
    alice.feed_when(&circle, "dave's first share", |feed| {
        has_share(feed, "Thanks for having me, carol.")
    });
}

#[test]
fn alice_lists_her_invites_and_revokes_one() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    alice.up();
    bob.up();
    carol.up();
    let circle = alice.create(TUESDAY);
    let (for_bob, bob_id) = invite_with_id(&alice, TUESDAY, &[]);
    let (for_carol, carol_id) = invite_with_id(&alice, TUESDAY, &["--uses", "1"]);
    assert_ne!(bob_id, carol_id);

    let listed = alice.invites(TUESDAY);
    let ids: Vec<String> = listed.iter().map(|i| text(&i["id"])).collect();
    assert_eq!(listed.len(), 2, "{listed:#?}");
    assert!(ids.contains(&bob_id) && ids.contains(&carol_id), "{ids:?}");
    for invite in &listed {
        assert_eq!(invite["issuer"], "alice", "{invite}");
        assert_eq!(invite["uses_left"], 1, "{invite}");
        assert_eq!(invite["bound_to"], Value::Null, "{invite}");
    }
    let shown = alice.ok(["invites", TUESDAY]);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "one line per invite:\n{shown}");
    for line in &lines {
        assert!(
            (line.starts_with(&bob_id) || line.starts_with(&carol_id))
                && line.contains("alice")
                && line.contains("1 use left"),
            "each line starts with the id and says who made it and what is left: {line}"
        );
    }

    // Enough of the start of an id tells it apart.
    let said = alice.ok(["revoke", TUESDAY, &bob_id[..12]]);
    assert!(said.starts_with("Revoked the invite"), "{said}");
    let left: Vec<String> = alice
        .invites(TUESDAY)
        .iter()
        .map(|i| text(&i["id"]))
        .collect();
    assert_eq!(left, [carol_id], "only carol's invite is still live");

    let error = bob.fails(["join", &for_bob]);
    assert!(
        error.contains("revoked"),
        "bob is told it was revoked: {error}"
    );
    assert!(bob.circles().is_empty(), "bob is in no circle");

    assert_eq!(
        carol.join(&for_carol),
        circle,
        "the other invite still works"
    );
    assert_eq!(
        alice.invites(TUESDAY),
        Vec::<Value>::new(),
        "neither the revoked nor the used invite is listed"
    );
    let run = alice.circle(["invites", TUESDAY]).run();
    assert!(run.status.success() && run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("circle invite"), "{}", run.stderr);
}

#[test]
fn bob_leaves_and_hears_nothing_more() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    alice.up();
    bob.up();
    carol.up();
    let circle = tuesday_circle(&alice, &[&bob, &carol]);
    for person in [&alice, &bob, &carol] {
        members_become(person, &circle, &["alice", "bob", "carol"]);
    }
    bob.share(TUESDAY, "I am moving away. Thank you all.");

    let said = bob.ok(["leave", TUESDAY, "--yes"]);
    assert!(said.starts_with("You left 'Tuesday circle'."), "{said}");
    let error = bob.fails(["share", TUESDAY, "One more thing..."]);
    assert!(error.contains("you left"), "bob is told he left: {error}");
    assert_eq!(bob.standing(&circle), "left");
    let shown = bob.ok(["circles"]);
    assert!(shown.contains("Tuesday circle (you left)"), "{shown}");

    members_become(&alice, &circle, &["alice", "carol"]);
    members_become(&carol, &circle, &["alice", "carol"]);
    let feed = alice.feed_when(&circle, "bob's goodbye", |feed| {
        has_share(feed, "I am moving away. Thank you all.")
    });
    assert!(
        feed.iter().any(|i| i["kind"] == "left"),
        "alice's feed tells that bob left: {feed:#?}"
    );

    let after = "We will miss you, bob.";
    alice.share(TUESDAY, after);
    carol.feed_when(&circle, "alice's share after bob left", |feed| {
        has_share(feed, after)
    });
    thread::sleep(GRACE);
    assert!(
        !has_share(&bob.feed(&circle), after),
        "nothing said after bob left reaches him"
    );
}

#[test]
fn bob_starts_a_new_key_by_hand_and_alice_reads_what_he_says_under_it() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    members_become(&bob, &circle, &["alice", "bob"]);
    let said = bob.ok(["rekey", TUESDAY]);
    assert!(
        said.starts_with("'Tuesday circle' has a new key, sent to every member"),
        "{said}"
    );
    let words = "Said under the key I just made.";
    bob.share(TUESDAY, words);
    alice.feed_when(&circle, "bob's share under his new key", |feed| {
        has_share(feed, words)
    });
    let error = alice.fails(["rekey", "No such circle"]);
    assert!(!error.contains('\n'), "one line: {error}");
}

#[test]
fn carol_removes_bob_as_an_admin_and_cannot_once_she_is_not() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    let mut dave = Person::init("dave");
    for person in [&mut alice, &mut bob, &mut carol, &mut dave] {
        person.up();
    }
    let circle = tuesday_circle(&alice, &[&bob, &carol, &dave]);
    members_become(&carol, &circle, &["alice", "bob", "carol", "dave"]);

    let error = carol.fails(["remove", TUESDAY, "bob"]);
    assert!(error.contains("only admins"), "{error}");

    let carol_named = named(&alice, TUESDAY, "carol");
    let said = alice.ok(["admin", "grant", TUESDAY, "carol"]);
    assert!(
        said.starts_with(&format!(
            "{carol_named} is now an admin of 'Tuesday circle'"
        )),
        "{said}"
    );
    standing_becomes(&carol, &circle, "admin");
    let roles: Vec<(String, String)> = alice
        .members(TUESDAY)
        .iter()
        .map(|m| (text(&m["name"]), text(&m["role"])))
        .collect();
    assert!(
        roles.contains(&("carol".into(), "admin".into())),
        "alice's list shows carol as an admin: {roles:?}"
    );
    let error = carol.fails(["admin", "revoke", TUESDAY, "alice"]);
    assert!(
        error.contains("longer than you"),
        "a newer admin cannot demote the founder: {error}"
    );

    carol.ok(["remove", TUESDAY, "bob"]);
    members_become(&alice, &circle, &["alice", "carol", "dave"]);

    let said = alice.ok(["admin", "revoke", TUESDAY, "carol"]);
    assert_eq!(
        said,
        format!("{carol_named} is no longer an admin of 'Tuesday circle'.")
    );
    standing_becomes(&carol, &circle, "member");
    let error = carol.fails(["remove", TUESDAY, "dave"]);
    assert!(
        error.contains("only admins"),
        "carol is told she is no longer allowed: {error}"
    );
    members_become(&alice, &circle, &["alice", "carol", "dave"]);
}

#[test]
fn an_invite_for_daves_node_lets_in_dave_alone() {
    let mut alice = Person::init("alice");
    let mut dave = Person::init("dave");
    let mut erin = Person::init("erin");
    alice.up();
    dave.up();
    erin.up();
    let circle = alice.create(TUESDAY);
    let daves_node = dave.peer_id();

    let invite = alice.invite(TUESDAY, &["--for", &daves_node]);
    let listed = alice.invites(TUESDAY);
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["bound_to"], daves_node.as_str());
    let shown = alice.ok(["invites", TUESDAY]);
    assert!(
        shown.contains(&format!("only for node {daves_node}")),
        "{shown}"
    );

    let error = erin.fails(["join", &invite]);
    assert!(
        error.contains("another person's node"),
        "erin is told the invite is not hers to use: {error}"
    );
    assert!(erin.circles().is_empty(), "erin is in no circle");

    assert_eq!(dave.join(&invite), circle, "dave joins with his invite");
    members_become(&alice, &circle, &["alice", "dave"]);
}

#[test]
fn everyday_membership_mistakes_are_explained_in_one_line() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init_as("bob", "sam");
    let mut carol = Person::init_as("carol", "sam");
    alice.up();
    bob.up();
    carol.up();
    let circle = tuesday_circle(&alice, &[&bob, &carol]);
    assert_eq!(alice.members(&circle).len(), 3, "alice let both sams in");
    alice.invite(TUESDAY, &[]);
    alice.stop();

    for state in ["down", "up"] {
        if state == "up" {
            alice.up();
        }
        for (args, problem) in [
            (
                &["remove", TUESDAY, "zed"][..],
                "no member of 'Tuesday circle' is called 'zed'",
            ),
            (&["remove", TUESDAY, "sam"], "more than one member"),
            (&["remove", TUESDAY, "alice"], "circle leave"),
            (&["admin", "grant", TUESDAY, "zed"], "is called 'zed'"),
            (&["remove", "Wednesday circle", "sam"], "no circle called"),
            (
                &["policy", TUESDAY, "--invites", "everyone"],
                "admins or members",
            ),
            (&["revoke", TUESDAY, "nosuchinvite"], "no invite"),
            (&["invites", "Wednesday circle"], "no circle called"),
            (&["invite", TUESDAY, "--for", "my-laptop"], "peer id"),
        ] {
            let error = alice.fails(args);
            assert!(
                error.contains(problem),
                "`circle {}` with the node {state} is refused as '{problem}': {error}",
                args.join(" ")
            );
        }
    }
    assert_eq!(
        alice.invites(TUESDAY).len(),
        1,
        "no mistake touched the invite"
    );
    assert_eq!(alice.members(TUESDAY).len(), 3, "no mistake removed anyone");
}

#[test]
fn alice_runs_the_circle_with_her_node_down_and_the_others_learn_when_it_is_back() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    alice.up();
    bob.up();
    carol.up();
    let circle = tuesday_circle(&alice, &[&bob, &carol]);
    members_become(&carol, &circle, &["alice", "bob", "carol"]);
    let (_, invite) = invite_with_id(&alice, TUESDAY, &[]);
    eventually(DELIVERY_TIMEOUT, "carol to know alice's invite", || {
        (carol.invites(TUESDAY).len() == 1).then_some(())
    });
    alice.stop();

    let (bob_named, carol_named) = (
        named(&alice, TUESDAY, "bob"),
        named(&alice, TUESDAY, "carol"),
    );
    for (args, said) in [
        (
            &["admin", "grant", TUESDAY, "carol"][..],
            format!("{carol_named} is now an admin of 'Tuesday circle'"),
        ),
        (
            &["remove", TUESDAY, "bob"],
            format!("Removed {bob_named} from 'Tuesday circle'."),
        ),
        (
            &["revoke", TUESDAY, invite.as_str()],
            "Revoked the invite".to_string(),
        ),
    ] {
        let run = alice.circle(args).run();
        assert!(run.status.success(), "`{}`: {}", args.join(" "), run.stderr);
        assert!(run.stdout.starts_with(&said), "{}", run.stdout);
        assert!(
            run.stderr.contains("not running"),
            "alice is told it goes out when her node runs: {}",
            run.stderr
        );
    }
    let done = alice
        .circle(["--json", "policy", TUESDAY, "--invites", "members"])
        .json_lines();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["circle"], circle.as_str());
    assert!(!text(&done[0]["id"]).is_empty(), "{done:?}");
    assert_eq!(
        names(&alice.members(TUESDAY)),
        names_of(&["alice", "carol"])
    );
    assert_eq!(alice.invites(TUESDAY), Vec::<Value>::new());

    alice.up();
    standing_becomes(&carol, &circle, "admin");
    members_become(&carol, &circle, &["alice", "carol"]);
    let what = "carol to learn the invite was revoked and members may invite";
    eventually(DELIVERY_TIMEOUT, what, || {
        (carol.invites(TUESDAY).is_empty() && carol.circle_entry(&circle)["invites"] == "members")
            .then_some(())
    });
    let words = "Back online. The circle is smaller now.";
    alice.share(TUESDAY, words);
    carol.feed_when(&circle, "alice's share under the new key", |feed| {
        has_share(feed, words)
    });
}

fn names_of(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|n| n.to_string()).collect()
}

/// bob's node was off when alice removed him: once it is back it must learn that he was
/// removed, rather than let him share into a circle that no longer hears him.
#[test]
#[ignore = "node gap: a removed member's node is refused at the gate before it can learn of its removal"]
fn bob_learns_he_was_removed_when_his_node_comes_back() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    alice.up();
    bob.up();
    carol.up();
    let circle = tuesday_circle(&alice, &[&bob, &carol]);
    members_become(&bob, &circle, &["alice", "bob", "carol"]);
    bob.stop();
    alice.ok(["remove", TUESDAY, "bob"]);
    members_become(&carol, &circle, &["alice", "carol"]);

    bob.up();
    standing_becomes(&bob, &circle, "removed");
    let error = bob.fails(["share", TUESDAY, "Back from holiday!"]);
    assert!(error.contains("you were removed"), "{error}");
}
