//! What lists and feeds show: two people with one nickname told apart by their fingerprints,
//! replies and goals that show what they answer, a share that says where it went, "seen by"
//! that counts everyone who looked, a taken-back request called that, a goal reached once, a
//! milestone that is due, and dates that have not passed.

use serde_json::Value;

use crate::util::{DELIVERY_TIMEOUT, Person, TUESDAY, eventually, text, tuesday_circle};

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
