//! Signed address records as they arrive with sync pages: a member's current addresses are
//! taken, everything else (forged, foreign, stale, oversized, of strangers or of this node
//! itself) is refused with a reason and leaves nothing behind.

mod util;

use circle::crypto::CircleId;
use circle::node::{AddressRecord, Circles, Error, MAX_RECORD_BYTES};
use libp2p::{core::PeerRecord, identity::Keypair};
use util::{admit_offline, offline_node, peer_of};

/// The node key of an in-process node, as its network task uses it.
fn node_key(circles: &Circles) -> Keypair {
    Keypair::from_protobuf_encoding(&circles.store().node_key().expect("node key"))
        .expect("a node key decodes")
}

fn record(key: &Keypair, addrs: &[&str]) -> Vec<u8> {
    let addrs = addrs.iter().map(|a| a.parse().expect("valid")).collect();
    PeerRecord::new(key, addrs)
        .expect("signs")
        .into_signed_envelope()
        .into_protobuf_encoding()
}

fn refusal(result: circle::node::Result<Vec<String>>) -> String {
    match result {
        Err(Error::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

struct Circle {
    id: CircleId,
    alice: Circles,
    bob: Circles,
    _dirs: Vec<tempfile::TempDir>,
}

fn alice_and_bob() -> Circle {
    let (alice, a) = offline_node("alice");
    let (bob, b) = offline_node("bob");
    let id = alice.create("Tuesday", None).expect("create");
    let written = admit_offline(&alice, &id, &bob, "bob");
    assert!(!written.is_empty());
    Circle {
        id,
        alice,
        bob,
        _dirs: vec![a, b],
    }
}

#[test]
fn a_members_record_is_taken_and_its_addresses_are_dialled() {
    let c = alice_and_bob();
    let bob_peer = peer_of(&c.bob);
    let relayed = "/ip4/192.0.2.1/tcp/7117/p2p/12D3KooWBY9T98CkPLCkuC96QXPHayDyzVio7kLrw1YiqjybCf89/p2p-circuit";
    let bytes = record(&node_key(&c.bob), &["/ip4/192.0.2.7/tcp/7117", relayed]);
    let addrs = c.alice.take_address_record(&c.id, &bytes).expect("taken");
    assert_eq!(
        addrs,
        vec![
            format!("/ip4/192.0.2.7/tcp/7117/p2p/{bob_peer}"),
            format!("{relayed}/p2p/{bob_peer}"),
        ]
    );
    let peers = c.alice.store().peers().expect("peers");
    assert!(
        peers
            .iter()
            .any(|(p, a)| *p == bob_peer.to_string() && *a == addrs),
        "bob's addresses replace what alice redials: {peers:?}"
    );
    // Passed on to other members, never back to bob himself.
    let carol = [7u8; 38];
    assert_eq!(
        c.alice.address_records_for(&c.id, &carol).expect("records"),
        vec![bytes.clone()]
    );
    assert!(
        c.alice
            .address_records_for(&c.id, &bob_peer.to_bytes())
            .expect("records")
            .is_empty()
    );
    // The same record again changes nothing.
    let why = refusal(c.alice.take_address_record(&c.id, &bytes));
    assert!(why.contains("not newer"), "{why}");
}

#[test]
fn bad_records_are_refused_and_nothing_is_kept() {
    let c = alice_and_bob();
    let other = c.alice.create("Thursday", None).expect("create");
    let bob_key = node_key(&c.bob);
    let good = record(&bob_key, &["/ip4/192.0.2.7/tcp/7117"]);
    let mut forged = good.clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    let stranger = record(&Keypair::generate_ed25519(), &["/ip4/192.0.2.9/tcp/7117"]);
    let own = record(&node_key(&c.alice), &["/ip4/192.0.2.8/tcp/7117"]);
    let mut oversized = good.clone();
    oversized.resize(MAX_RECORD_BYTES + 1, 0);
    let cases: Vec<(&str, &CircleId, Vec<u8>, &str)> = vec![
        ("garbage", &c.id, vec![0xde, 0xad, 0xbe, 0xef], "decode"),
        ("empty", &c.id, Vec::new(), "decode"),
        ("forged signature", &c.id, forged, "verify"),
        ("oversized", &c.id, oversized, "larger than"),
        (
            "truncated",
            &c.id,
            good[..good.len() - 10].to_vec(),
            "decode",
        ),
        (
            "unspecified address",
            &c.id,
            record(&bob_key, &["/ip4/0.0.0.0/tcp/7117"]),
            "specific addresses",
        ),
        ("a stranger's node", &c.id, stranger, "not a member's"),
        (
            "an address of another node",
            &c.id,
            record(
                &bob_key,
                &[&format!(
                    "/ip4/192.0.2.7/tcp/7117/p2p/{}",
                    peer_of(&c.alice)
                )],
            ),
            "only give addresses of the node that signed it",
        ),
        ("this node itself", &c.id, own, "this node itself"),
        (
            "bob's node, in a circle bob is not in",
            &other,
            good.clone(),
            "not a member's",
        ),
    ];
    for (what, circle, bytes, why) in cases {
        let refused = refusal(c.alice.take_address_record(circle, &bytes));
        assert!(refused.contains(why), "{what}: {refused}");
    }
    assert!(
        c.alice
            .store()
            .address_records()
            .expect("records")
            .is_empty(),
        "nothing refused may be kept"
    );
    assert!(
        c.alice
            .store()
            .peers()
            .expect("peers")
            .iter()
            .all(|(_, addrs)| addrs.iter().all(|a| !a.contains("192.0.2."))),
        "no refused address may be redialled"
    );
    // The good one still goes in afterwards.
    c.alice.take_address_record(&c.id, &good).expect("taken");
}

#[test]
fn a_removed_members_node_is_neither_taken_nor_passed_on() {
    let c = alice_and_bob();
    let bytes = record(&node_key(&c.bob), &["/ip4/192.0.2.7/tcp/7117"]);
    c.alice.take_address_record(&c.id, &bytes).expect("taken");
    let bob = c.alice.resolve_member(&c.id, "bob").expect("bob");
    c.alice.remove(&c.id, &bob).expect("remove");
    let carol = [7u8; 38];
    assert!(
        c.alice
            .address_records_for(&c.id, &carol)
            .expect("records")
            .is_empty(),
        "a removed member's addresses are not passed on"
    );
    let newer = loop {
        // Records are numbered in seconds: wait for a later one.
        let r = record(&node_key(&c.bob), &["/ip4/192.0.2.99/tcp/7117"]);
        let seq = AddressRecord::check(&r).expect("valid").seq;
        if seq > AddressRecord::check(&bytes).expect("valid").seq {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let why = refusal(c.alice.take_address_record(&c.id, &newer));
    assert!(why.contains("not a member's"), "{why}");
}

#[test]
fn only_a_higher_numbered_record_replaces_the_one_held() {
    let c = alice_and_bob();
    let key = node_key(&c.bob);
    let seq = |b: &[u8]| AddressRecord::check(b).expect("valid").seq;
    let (first, same_second) = loop {
        let first = record(&key, &["/ip4/192.0.2.7/tcp/7117"]);
        let other = record(&key, &["/ip4/192.0.2.70/tcp/7117"]);
        if seq(&first) == seq(&other) {
            break (first, other);
        }
    };
    c.alice.take_address_record(&c.id, &first).expect("first");
    // Nodes sign at most one record a second, so one with the same number is a replay or a
    // stale copy: it does not flip the addresses back and forth.
    let why = refusal(c.alice.take_address_record(&c.id, &same_second));
    assert!(why.contains("not newer"), "{why}");
    let later = loop {
        let r = record(&key, &["/ip4/192.0.2.71/tcp/7117"]);
        if seq(&r) > seq(&first) {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    c.alice.take_address_record(&c.id, &later).expect("later");
    let why = refusal(c.alice.take_address_record(&c.id, &first));
    assert!(
        why.contains("not newer"),
        "an older record never goes back in: {why}"
    );
    let held = c.alice.store().address_record(&peer_of(&c.bob).to_string());
    assert_eq!(held.expect("read").expect("held").1, later);
}
