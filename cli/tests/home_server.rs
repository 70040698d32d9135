//! A home server on one machine (loopback): `circle up --relay`, relay reservations, paths in
//! `circle status`, and what `circle doctor` says. Members that truly cannot reach each other
//! are in cli/tests/netns.rs (network namespaces, root only).

mod util;

use serde_json::Value;
use util::{DELIVERY_TIMEOUT, Person, TUESDAY, eventually, shares, text, tuesday_circle};

/// The entry for `peer` in a status's `peers`, if connected.
fn path_to<'a>(status: &'a Value, peer: &str) -> Option<&'a Value> {
    status["peers"]
        .as_array()?
        .iter()
        .find(|p| p["peer_id"] == peer)
}

#[test]
fn members_reserve_a_relayed_address_at_their_home_server_and_doctor_says_so() {
    let mut home = Person::init_as("home", "sams-home-server");
    let mut bob = Person::init("bob");
    let mut carol = Person::init("carol");
    let home_id = home.up_with(&["--relay", "--sync-every", "2s"]);
    let bob_id = bob.up();
    carol.up();
    tuesday_circle(&home, &[&bob, &carol]);

    let status = home.status();
    assert_eq!(status["home_server"], true, "{status}");
    assert!(
        status["external"].as_array().is_some_and(|e| !e.is_empty()),
        "a home server without --external-address announces its listen addresses: {status}"
    );

    // bob's node sees the home server, reserves a relayed address there, and says so.
    let status = eventually(DELIVERY_TIMEOUT, "bob's relay reservation", || {
        let status = bob.status();
        let reserved = status["relays"].as_array()?.iter().any(|r| {
            r["peer_id"] == home_id.as_str()
                && r["reserved"] == true
                && text(&r["address"]).contains("/p2p-circuit/p2p/")
        });
        reserved.then_some(status)
    });
    let to_home = path_to(&status, &home_id).expect("bob is connected to the home server");
    assert_eq!(to_home["path"], "direct", "{status}");
    assert_eq!(to_home["home_server"], true, "{status}");
    assert_eq!(to_home["members"], serde_json::json!(["sams-home-server"]));

    // The relayed address travels: carol learns it from bob's signed record, through sync.
    let relayed = text(&bob.status()["relays"][0]["address"]);
    eventually(
        DELIVERY_TIMEOUT,
        "bob's relayed address at carol's node",
        || {
            let status = carol.status();
            let bob_seen = status["seen"]
                .as_array()?
                .iter()
                .find(|s| s["peer_id"] == bob_id.as_str())?
                .clone();
            bob_seen["addresses"]
                .as_array()?
                .iter()
                .any(|a| text(a) == relayed)
                .then_some(())
        },
    );

    let doctor = bob.ok(["doctor"]);
    assert!(
        doctor.contains("ok relay reservation at a home server"),
        "doctor should report the reservation:\n{doctor}"
    );
    assert!(
        doctor.contains("sams-home-server: connected (direct)"),
        "doctor should list members seen:\n{doctor}"
    );
    assert!(
        doctor.contains("only on this machine"),
        "bob's node listens on loopback only, which doctor should flag:\n{doctor}"
    );
    let json: Value = serde_json::from_str(&bob.ok(["--json", "doctor"])).expect("JSON");
    assert_eq!(json["running"], true);
    assert!(
        json["problems"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| text(p).contains("only on this machine"))),
        "{json}"
    );

    // Messages flow as before.
    bob.share(TUESDAY, "made it to the meeting");
    carol.feed_when(TUESDAY, "bob's share", |feed| {
        shares(feed).contains(&("bob".into(), "made it to the meeting".into()))
    });
}

#[test]
fn a_member_without_a_home_server_is_told_what_to_do() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    tuesday_circle(&alice, &[&bob]);
    let doctor = bob.ok(["doctor"]);
    assert!(
        doctor.contains("-- no home server in your circles yet"),
        "doctor should say there is no home server, as advice (nothing is wrong):\n{doctor}"
    );
    assert!(doctor.contains("circle up --relay"), "{doctor}");
    assert!(
        doctor.contains("alice: connected (direct)"),
        "doctor should list alice as connected:\n{doctor}"
    );
    let status = bob.status();
    assert_eq!(status["home_server"], false);
    assert_eq!(status["relays"], serde_json::json!([]));

    bob.stop();
    let doctor = bob.ok(["doctor"]);
    assert!(
        doctor.contains("!! the node is not running"),
        "doctor without a running node:\n{doctor}"
    );
}
