//! `circle status` says when someone's messages are not all here, or when someone wrote two
//! versions of one message; `circle feed` marks the other version. Real `circle` processes
//! on temporary homes; the second version comes from a modified program that signs with
//! alice's own member key, read from her store while her node is stopped.

mod util;

use circle_crypto::{ENVELOPE_VERSION, Envelope, Header, MemberSecret};
use circle_node::{Body, Circles, Content, DEFAULT_LOCK_WAIT, Home, Ingest, now_ms};
use serde_json::Value;
use util::{PASSPHRASE, Person, TUESDAY, named};

/// alice's modified program writes another version of her message `seq` into her store.
fn write_another_version(alice: &Person, circle: &str, seq: u64, text: &str) {
    let store = Home::new(alice.home())
        .with_cheap_kdf_for_tests()
        .open(PASSPHRASE.as_bytes(), DEFAULT_LOCK_WAIT, |_| {})
        .expect("alice's store opens");
    let circles = Circles::load(store).expect("alice's circles load");
    let id = circles.resolve(circle).expect("the circle");
    let record = circles
        .store()
        .circles()
        .unwrap()
        .into_iter()
        .find(|(c, _)| *c == id)
        .map(|(_, r)| r)
        .unwrap();
    let me = MemberSecret::from_bytes(&record.me).unwrap();
    let store = circles.store();
    let first = store
        .envelope_at(&id, &me.public(), seq)
        .unwrap()
        .expect("the first version");
    let (_, key) = store
        .keys(&id)
        .unwrap()
        .into_iter()
        .find(|(e, _)| *e == first.header().epoch)
        .unwrap();
    let header = Header {
        version: ENVELOPE_VERSION,
        prev: first.header().prev,
        ..first.header().clone()
    };
    let content = Content {
        sent_at: now_ms(),
        body: Body::Share { text: text.into() },
    };
    let other = Envelope::seal(&me, &key, header, &content.to_bytes()).unwrap();
    assert_eq!(circles.ingest(&other).unwrap(), Ingest::Fork);
    store.flush().unwrap();
}

fn forks_in(status: &Value) -> Vec<(String, u64, u64)> {
    let mut out = Vec::new();
    for circle in status["logs"].as_array().expect("status has logs") {
        for author in circle["authors"].as_array().unwrap() {
            for fork in author["forks"].as_array().unwrap() {
                out.push((
                    author["name"].as_str().unwrap().to_string(),
                    fork["seq"].as_u64().unwrap(),
                    fork["versions"].as_u64().unwrap(),
                ));
            }
        }
    }
    out
}

#[test]
fn status_shows_who_wrote_two_versions_of_a_message_and_feed_marks_the_other() {
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    alice.share(TUESDAY, "Day 3. Made it to the meeting.");
    let all_well = alice.ok(["status"]);
    assert!(all_well.contains("logs:      complete"), "{all_well}");
    assert!(!all_well.contains("fork:"), "{all_well}");
    let feed = alice.feed(TUESDAY);
    let seq = feed[0]["seq"].as_u64().expect("feed items have seq");
    assert_eq!(feed[0]["fork"], false);
    alice.stop();

    write_another_version(&alice, TUESDAY, seq, "Day 3. Skipped the meeting.");
    let alice_named = named(&alice, TUESDAY, "alice");
    let line =
        format!("fork:      '{TUESDAY}' — {alice_named} wrote two versions of message #{seq}");

    // With the node stopped, status reads the store (the passphrase is in the environment).
    let offline = alice.ok(["status"]);
    assert!(offline.contains(&line), "{offline}");
    assert_eq!(forks_in(&alice.status()), [("alice".into(), seq, 2)]);
    // Without the passphrase it still answers, without logs.
    let bare = alice.circle(["status"]).no_passphrase().ok();
    assert!(!bare.contains("fork:") && !bare.contains("logs:"), "{bare}");

    alice.up();
    let running = alice.ok(["status"]);
    assert!(running.contains(&line), "{running}");
    let json = alice.status();
    assert_eq!(json["running"], true);
    assert_eq!(forks_in(&json), [("alice".into(), seq, 2)]);
    assert_eq!(json["logs"][0]["name"], TUESDAY);

    let text = alice.ok(["feed", TUESDAY]);
    let marked: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&format!("(another version of #{seq})")))
        .collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains("Skipped the meeting"), "{text}");
    let forks: Vec<bool> = alice
        .feed(TUESDAY)
        .iter()
        .map(|i| i["fork"].as_bool().unwrap())
        .collect();
    assert_eq!(forks.iter().filter(|f| **f).count(), 1, "{forks:?}");
    alice.stop();
}
