//! Never a fork of yourself, through the real `circle` binary: alice restores an old backup
//! of her home after she wrote more; the restored node keeps what she writes until it has
//! caught up with her own messages from bob, then sends it; nobody sees a fork; and her old
//! laptop, back online, is told it was replaced and refuses to write.
//!
//! The backup and the restore are the real ones: `circle backup FILE` while her node runs,
//! `circle restore FILE` with her recovery phrase on a new home.

mod util;

use serde_json::Value;
use util::{DELIVERY_TIMEOUT, Person, TUESDAY, eventually, shares, tuesday_circle};

/// Whether `person`'s feed of the Tuesday circle has a share with `text`.
fn has_share(person: &Person, text: &str) -> bool {
    shares(&person.feed(TUESDAY)).iter().any(|(_, t)| t == text)
}

/// The forks `status --json` lists, over every circle and author.
fn forks(status: &Value) -> usize {
    status["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["authors"].as_array().into_iter().flatten())
        .map(|a| a["forks"].as_array().map_or(0, Vec::len))
        .sum()
}

#[test]
fn a_restored_old_backup_catches_up_before_sending_and_the_old_laptop_is_told_it_was_replaced() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    tuesday_circle(&alice, &[&bob]);
    alice.share(TUESDAY, "Day 3. Made it to the meeting.");

    // The backup, while her node runs; then she writes more, and bob gets it.
    let phrase = alice.ok(["recovery", "show"]);
    let file = alice.home().with_extension("cbk");
    let file = file.to_str().unwrap();
    alice.ok(["backup", file]);
    alice.share(TUESDAY, "Day 4. Called my sponsor.");
    eventually(DELIVERY_TIMEOUT, "bob has day 4", || {
        has_share(&bob, "Day 4. Called my sponsor.").then_some(())
    });
    // Her laptop dies.
    alice.stop();

    // The old backup restored on a new laptop (her recovery phrase, then a new passphrase);
    // she writes at once, before any network.
    let mut restored = Person::new("alice");
    restored
        .circle(["restore", file])
        .env("CIRCLE_RECOVERY_PHRASE", phrase.trim())
        .ok();
    let kept = restored.ok(["share", TUESDAY, "Day 5. New laptop, same me."]);
    assert!(
        kept.starts_with(&format!("Kept for '{TUESDAY}'")) && kept.contains("catching up"),
        "{kept}"
    );
    let status = restored.ok(["status"]);
    assert!(
        status.contains(&format!(
            "restored:  '{TUESDAY}' — catching up with your own messages"
        )) && status.contains("1 message you wrote waits to be sent"),
        "{status}"
    );

    restored.up();
    eventually(
        DELIVERY_TIMEOUT,
        "bob has what she wrote while catching up",
        || has_share(&bob, "Day 5. New laptop, same me.").then_some(()),
    );
    let status = restored.ok(["status"]);
    assert!(!status.contains("restored:"), "{status}");
    assert!(status.contains("logs:      complete"), "{status}");
    for person in [&bob, &restored] {
        let mine: Vec<(u64, String)> = person
            .feed(TUESDAY)
            .iter()
            .filter(|i| i["kind"] == "share")
            .map(|i| {
                (
                    i["seq"].as_u64().unwrap(),
                    i["text"].as_str().unwrap().into(),
                )
            })
            .collect();
        let texts: Vec<&str> = mine.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Day 3. Made it to the meeting.",
                "Day 4. Called my sponsor.",
                "Day 5. New laptop, same me."
            ],
            "{}: nothing lost",
            person.name
        );
        assert!(
            mine.windows(2).all(|w| w[0].0 < w[1].0),
            "{}: no number used twice: {mine:?}",
            person.name
        );
        assert_eq!(forks(&person.status()), 0, "{}", person.name);
    }

    // The old laptop comes back online: it reads its own chain written elsewhere and stops.
    alice.up();
    eventually(
        DELIVERY_TIMEOUT,
        "the old laptop is told it was replaced",
        || (alice.status()["logs"][0]["replaced"] == true).then_some(()),
    );
    let refused = alice.fails(["share", TUESDAY, "Day 5. Old laptop."]);
    assert!(
        refused
            .contains("this node was replaced by a restored copy on another machine: use that one"),
        "{refused}"
    );
    let status = alice.ok(["status"]);
    assert!(
        status.contains(&format!("replaced:  '{TUESDAY}'")),
        "{status}"
    );

    // The new laptop goes on; bob gets it, and nobody sees a fork.
    restored.share(TUESDAY, "Day 6. All good here.");
    eventually(DELIVERY_TIMEOUT, "bob has day 6", || {
        has_share(&bob, "Day 6. All good here.").then_some(())
    });
    for person in [&bob, &restored, &alice] {
        assert_eq!(forks(&person.status()), 0, "{}", person.name);
    }
    assert!(!has_share(&bob, "Day 5. Old laptop."));
    restored.stop();
    alice.stop();
    bob.stop();
}
