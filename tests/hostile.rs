//! Hostile input is normal input: every decoder and handler of a node, fed forged, replayed,
//! oversized and random data, and operations its senders have no right to. Each case is refused
//! with a reason (or kept without effect, where the protocol says so), stores nothing it should
//! not, and does not panic.
//!
//! alice (founder, admin), bob and carol are real nodes' circles in temp homes, with no network:
//! envelopes move between them through the same calls the network task makes (`ingest`,
//! `admit`, `answer_sync`, `check_page`). Where a case needs a member's modified program, the
//! test reads that member's secret from its own node's store and seals by hand; mallory is an
//! outsider.

mod util;

use circle::crypto::{
    CircleId, CircleKey, Envelope, ExchangeKey, Invite, InviteSecret, MAX_ENVELOPE_BYTES,
    MemberKey, MemberSecret,
};
use circle::node::{
    Acked, Body, Circles, Content, Genesis, Ingest, InvitePolicy, JOIN_PROOF_DOMAIN, JoinRequest,
    JoinResponse, MAX_MEMBERS, MAX_TEXT_BYTES, Op, OpRecord, PeerId, PeerRefusal, Profile, Refusal,
    SYNC_PAGE_MESSAGES, Stored, SyncPage, SyncRequest, SyncResponse, Welcome, epoch_of,
    key_commitment, now_ms, now_secs, seal_key_for, seal_new_key_for,
};
use proptest::prelude::*;
use util::fixture::{Fixture, circle_of_three, node};
use util::forge::{Forger, acked, header, op, share};
use util::{admit_offline, peer_of, sync_offline};

impl Fixture {
    /// The member secret `node` holds in the circle: what a member's modified program signs
    /// with.
    fn secret(&self, node: &Circles) -> MemberSecret {
        util::forge::secret_of(node, &self.circle)
    }

    /// `node`'s member as a modified program: seals anything, numbered after its last message.
    fn forger(&self, node: &Circles) -> Forger {
        Forger::of(node, &self.circle)
    }

    fn key_of(&self, node: &Circles) -> MemberKey {
        node.my_key(&self.circle).unwrap()
    }

    fn count(&self, node: &Circles) -> usize {
        node.store().message_count(&self.circle)
    }

    /// (name, role) of every member as `node` sees them, admins first.
    fn roles(&self, node: &Circles) -> Vec<(String, String)> {
        node.members(&self.circle)
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.role.as_str().to_string()))
            .collect()
    }

    /// The circle's (name, invite policy) as `node` sees it.
    fn settings(&self, node: &Circles) -> (String, String) {
        let list = node.list().unwrap();
        let info = list
            .iter()
            .find(|i| i.id == self.circle.to_string())
            .unwrap();
        (info.name.clone(), info.invites.as_str().to_string())
    }

    fn shares(&self, node: &Circles) -> Vec<String> {
        node.feed(&self.circle, 0, None)
            .unwrap()
            .into_iter()
            .filter(|i| i.kind == circle::node::contract::Kind::Share)
            .map(|i| i.text)
            .collect()
    }
}

fn roles(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect()
}

/// A circle key sealed to `who` the way a rekey seals it.
fn sealed_to(circle: CircleId, who: &MemberSecret, epoch: u64, key: &CircleKey) -> Vec<u8> {
    let profile = Profile {
        circle,
        member: who.public(),
        exchange: who.exchange_key(),
        name: String::new(),
        node: Vec::new(),
    };
    seal_key_for(&profile, epoch, key).unwrap().sealed
}

fn rejected(got: Ingest) -> Refusal {
    match got {
        Ingest::Rejected(why) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

enum Expect {
    /// The bytes do not even decode as a signed envelope.
    Undecodable,
    /// Decodes, but the node refuses it.
    Rejected,
    /// Cannot be judged now; not stored (sync will bring it again if it is real).
    Later,
}

#[test]
fn forged_tampered_and_malformed_envelopes_are_refused_and_nothing_is_stored() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob = f.forger(&f.bob);
    let valid = bob.seal(1, share("a real message")).to_bytes().to_vec();
    let mut bad_signature = valid.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 1;
    let mut bad_ciphertext = valid.clone();
    bad_ciphertext[valid.len() / 2] ^= 0x10;
    let not_content = Envelope::seal(
        &bob.secret,
        &bob.key,
        header(&bob.secret, c, 0, 1),
        b"\xff\xff not postcard content",
    )
    .unwrap();
    let now = now_ms();
    let outsider = Forger::outsider(c, bob.key.clone());
    let other_key = CircleKey::generate();
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("signature altered", bad_signature, Expect::Undecodable),
        ("ciphertext altered", bad_ciphertext, Expect::Undecodable),
        (
            "truncated",
            valid[..valid.len() - 10].to_vec(),
            Expect::Undecodable,
        ),
        ("empty", vec![], Expect::Undecodable),
        (
            "oversized",
            vec![7u8; MAX_ENVELOPE_BYTES + 1],
            Expect::Undecodable,
        ),
        (
            "an outsider with a leaked key",
            outsider.next(share("let me in")).to_bytes().to_vec(),
            Expect::Later,
        ),
        (
            "a member sealing with another key",
            bob.seal_with(&other_key, c, 0, 1, now, share("x"))
                .to_bytes()
                .to_vec(),
            Expect::Rejected,
        ),
        (
            "another circle",
            bob.seal_with(&bob.key, CircleId::random(), 0, 1, now, share("x"))
                .to_bytes()
                .to_vec(),
            Expect::Rejected,
        ),
        (
            "a key epoch this node does not hold",
            bob.seal_with(&bob.key, c, 7, 1, now, share("x"))
                .to_bytes()
                .to_vec(),
            Expect::Later,
        ),
        (
            "content that does not decode",
            not_content.to_bytes().to_vec(),
            Expect::Rejected,
        ),
        (
            "an empty share",
            bob.seal(1, share("   ")).to_bytes().to_vec(),
            Expect::Rejected,
        ),
        (
            "a share over the text limit",
            bob.seal(1, share(&"x".repeat(MAX_TEXT_BYTES + 1)))
                .to_bytes()
                .to_vec(),
            Expect::Rejected,
        ),
    ];
    let feed_before = f.carol.feed(&c, 0, None).unwrap().len();
    for (name, bytes, expect) in cases {
        let before = f.count(&f.carol);
        match (Envelope::from_bytes(&bytes), expect) {
            (Err(_), Expect::Undecodable) => {}
            (Ok(env), Expect::Rejected) => {
                let got = f.carol.ingest(&env).unwrap();
                assert!(
                    matches!(got, Ingest::Rejected(_)),
                    "{name}: expected rejection, got {got:?}"
                );
            }
            (Ok(env), Expect::Later) => {
                let got = f.carol.ingest(&env).unwrap();
                assert!(
                    matches!(got, Ingest::Later(_)),
                    "{name}: expected 'later', got {got:?}"
                );
            }
            (decoded, _) => panic!(
                "{name}: unexpected decoding result {:?}",
                decoded.map(|e| e.id())
            ),
        }
        assert_eq!(f.count(&f.carol), before, "{name}: something was stored");
        assert_eq!(f.carol.members(&c).unwrap().len(), 3, "{name}");
    }
    assert_eq!(f.carol.feed(&c, 0, None).unwrap().len(), feed_before);
}

#[test]
fn a_replay_is_stored_once_and_a_fork_is_kept_flagged_and_changes_nothing() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob = f.forger(&f.bob);
    let first = bob.next(share("first"));
    assert_eq!(f.carol.ingest(&first).unwrap(), Ingest::New);
    assert_eq!(f.carol.ingest(&first).unwrap(), Ingest::Duplicate);
    // bob's program wrote another message with the same number: kept beside it, marked.
    let fork = bob.seal(first.header().seq, share("a different first"));
    assert_eq!(f.carol.ingest(&fork).unwrap(), Ingest::Fork);
    assert_eq!(f.carol.ingest(&fork).unwrap(), Ingest::Duplicate);
    let mut marked: Vec<(String, bool)> = f
        .carol
        .feed(&c, 0, None)
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == circle::node::contract::Kind::Share)
        .map(|i| (i.text, i.fork))
        .collect();
    marked.sort();
    assert_eq!(
        marked,
        [("a different first".into(), true), ("first".into(), false)]
    );

    // Membership operations too: alice's whole log again, twice over in one page.
    let ops = f.alice.store().op_envelopes(&c).unwrap();
    assert!(ops.len() >= 4, "two invites and two admissions");
    let before = (f.count(&f.carol), f.roles(&f.carol));
    let twice = ops.iter().chain(&ops).map(Vec::as_slice);
    assert_eq!(f.carol.ingest_all(&c, twice).unwrap(), 0);
    for bytes in &ops {
        let env = Envelope::from_bytes(bytes).unwrap();
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::Duplicate);
    }
    assert_eq!(f.carol.apply_page(&c, &ops, &ops).unwrap(), 0);
    assert_eq!((f.count(&f.carol), f.roles(&f.carol)), before);

    // alice's chain forked at her first operation: kept and flagged, and it counts like any
    // operation (every node that holds it derives the same), so the rename takes effect.
    let alice = f.forger(&f.alice);
    let forked = alice.seal(
        1,
        Body::Acked(circle::node::Acked {
            op: Op::Rename {
                name: "Forked".into(),
            },
            seen: Vec::new(),
        }),
    );
    assert_eq!(f.carol.ingest(&forked).unwrap(), Ingest::Fork);
    assert_eq!(f.carol.ingest(&forked).unwrap(), Ingest::Duplicate);
    assert_eq!(f.settings(&f.carol).0, "Forked");
    assert_eq!(f.count(&f.carol), before.0);
    assert_eq!(f.carol.store().fork_count(&c), 2);
}

/// Everyone's view of the circle as `node` derives it: (name, role) of every member, and the
/// key epoch its next share is sealed under (the current one: nothing else is written first).
fn view_after_writing(f: &Fixture, node: &Circles, text: &str) -> (Vec<(String, String)>, u64) {
    let written = node.share(&f.circle, text).unwrap();
    assert_eq!(written.len(), 1, "{text}: no new key was due");
    // bob's node is left out: bob's modified program wrote what his node does not hold.
    for other in [&f.alice, &f.carol] {
        if other.node_id() != node.node_id() {
            assert_eq!(other.ingest(&written[0]).unwrap(), Ingest::New, "{text}");
        }
    }
    (f.roles(node), written[0].header().epoch)
}

/// Both nodes hold both versions of `author`'s message `seq`, and flag the number.
fn both_versions_held(f: &Fixture, nodes: [&Circles; 2], author: &MemberKey, seq: u64) {
    for node in nodes {
        let forked = node.store().forked(&f.circle).unwrap();
        assert!(
            forked
                .iter()
                .any(|x| x.author == *author && x.seq == seq && x.held.len() == 2),
            "both versions held and flagged"
        );
    }
}

#[test]
fn a_member_admitting_two_sockpuppets_through_one_single_use_invite_to_two_nodes_lets_the_same_one_in_everywhere()
 {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    // bob's modified program registers an invite for one person, then writes two versions of
    // the admission through it: mallory's goes to alice's node, trudy's to carol's.
    let ForkedAdmission {
        seq,
        registered,
        for_alice,
        for_carol,
        ..
    } = forked_admission(&f);
    for (node, version) in [(&f.alice, &for_alice), (&f.carol, &for_carol)] {
        assert_eq!(node.ingest(&registered).unwrap(), Ingest::New);
        assert_eq!(node.ingest(version).unwrap(), Ingest::New);
    }
    let names =
        |node: &Circles| -> Vec<String> { f.roles(node).into_iter().map(|(n, _)| n).collect() };
    assert!(names(&f.alice).contains(&"mallory".to_string()));
    assert!(names(&f.carol).contains(&"trudy".to_string()));

    // The nodes sync both ways: each now holds both versions, and both let in the same one,
    // the version first in the order (the lower message id), whichever they stored first;
    // so does bob's own node, which held neither and gets both through sync.
    sync_offline(&f.alice, &f.carol, &c);
    sync_offline(&f.carol, &f.alice, &c);
    sync_offline(&f.bob, &f.alice, &c);
    both_versions_held(&f, [&f.alice, &f.carol], &f.key_of(&f.bob), seq);
    let winner = if for_alice.id() < for_carol.id() {
        "mallory"
    } else {
        "trudy"
    };
    let mut want = roles(&[
        ("alice", "admin"),
        ("bob", "member"),
        ("carol", "member"),
        (winner, "member"),
    ]);
    want.sort();
    for node in [&f.alice, &f.carol, &f.bob] {
        let mut got = f.roles(node);
        got.sort();
        assert_eq!(got, want, "one single-use invite let in one person");
    }
    let seen = view_after_writing(&f, &f.alice, "from alice");
    assert_eq!(view_after_writing(&f, &f.carol, "from carol"), seen);
    // dave, let in afterwards, gets both versions in his welcome and sees the same.
    let dave = node("dave");
    admit_offline(&f.alice, &c, &dave, "dave");
    both_versions_held(&f, [&dave, &f.alice], &f.key_of(&f.bob), seq);
    let mut with_dave = f.roles(&f.alice);
    with_dave.sort();
    let mut got = f.roles(&dave);
    got.sort();
    assert_eq!(got, with_dave);
}

/// bob's modified program registers an invite for one person and writes two versions of the
/// admission through it, mallory's and trudy's, mallory's first in the order (the lower id, so
/// it would win if both counted); his next message builds on trudy's.
struct ForkedAdmission {
    seq: u64,
    registered: Envelope,
    for_alice: Envelope,
    for_carol: Envelope,
    next: Envelope,
}

fn forked_admission(f: &Fixture) -> ForkedAdmission {
    let c = f.circle;
    for env in f.alice.set_policy(&c, InvitePolicy::Members).unwrap() {
        for other in [&f.bob, &f.carol] {
            assert_eq!(other.ingest(&env).unwrap(), Ingest::New);
        }
    }
    let bob = f.forger(&f.bob);
    let invite = InviteSecret::generate();
    let registered = bob.next(acked(
        &f.bob,
        &c,
        Op::Invite {
            id: invite.id(),
            key: invite.join_key().public(),
            expires_at: now_secs() + 3600,
            uses: 1,
            bound: None,
        },
    ));
    let admission = |name: &str| {
        let puppet = MemberSecret::generate();
        let profile = Profile::sign(&puppet, c, name, &PeerId::random().to_bytes()).unwrap();
        acked(
            &f.bob,
            &c,
            Op::Admit {
                proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
                profile,
                invite: invite.id(),
                epochs: vec![0],
            },
        )
    };
    let seq = bob.seq.get() + 1;
    let (for_alice, for_carol) = loop {
        let a = bob.seal(seq, admission("mallory"));
        let b = bob.seal(seq, admission("trudy"));
        if a.id() < b.id() {
            break (a, b);
        }
    };
    // His next message builds on trudy's version.
    let next = bob.seal_after(seq + 1, Some(for_carol.id()), share("welcome, trudy"));
    ForkedAdmission {
        seq,
        registered,
        for_alice,
        for_carol,
        next,
    }
}

#[test]
fn a_member_forking_an_admission_to_two_nodes_and_removed_before_they_sync_leaves_both_with_the_version_his_chain_names()
 {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let ForkedAdmission {
        seq,
        registered,
        for_alice,
        for_carol,
        next,
    } = forked_admission(&f);
    // mallory's version goes to alice's node, trudy's to carol's; both get his next message.
    for (node, version) in [(&f.alice, &for_alice), (&f.carol, &for_carol)] {
        assert_eq!(node.ingest(&registered).unwrap(), Ingest::New);
        assert_eq!(node.ingest(version).unwrap(), Ingest::New);
        assert_eq!(node.ingest(&next).unwrap(), Ingest::New);
    }
    // alice removes bob before the nodes swap versions: her removal pins his last message,
    // the one that names trudy's version.
    let removal = f.alice.remove(&c, &f.key_of(&f.bob)).unwrap();
    assert!(!removal.is_empty());

    // The nodes sync both ways: both hold trudy's version, and both let in trudy, not mallory,
    // whichever version each stored first.
    sync_offline(&f.carol, &f.alice, &c);
    sync_offline(&f.alice, &f.carol, &c);
    sync_offline(&f.carol, &f.alice, &c);
    let bob_key = f.key_of(&f.bob);
    for node in [&f.alice, &f.carol] {
        let held: Vec<_> = node
            .store()
            .versions_at(&c, &bob_key, seq)
            .unwrap()
            .iter()
            .map(|bytes| Envelope::from_bytes(bytes).unwrap().id())
            .collect();
        assert!(
            held.contains(&for_carol.id()),
            "the version on his chain held"
        );
    }
    let mut want = roles(&[("alice", "admin"), ("carol", "member"), ("trudy", "member")]);
    want.sort();
    for node in [&f.alice, &f.carol] {
        let mut got = f.roles(node);
        got.sort();
        assert_eq!(got, want, "the admission his chain names, on every node");
    }
    // The version off his chain is not shown either.
    for node in [&f.alice, &f.carol] {
        let feed = node.feed(&c, 0, None).unwrap();
        assert!(
            feed.iter().all(|i| !i.text.contains("mallory")),
            "{:?}",
            feed.iter().map(|i| &i.text).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_member_forking_a_share_to_two_nodes_and_removed_before_they_sync_is_read_alike_on_both() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    // bob's modified program writes two versions of one share: one to alice's node, the
    // other to carol's; his next message builds on carol's, and both nodes get it.
    let bob = f.forger(&f.bob);
    let seq = bob.seq.get() + 1;
    let for_alice = bob.seal(seq, share("what alice was told"));
    let for_carol = bob.seal(seq, share("what carol was told"));
    let next = bob.seal_after(seq + 1, Some(for_carol.id()), share("and then"));
    for (node, version) in [(&f.alice, &for_alice), (&f.carol, &for_carol)] {
        assert_eq!(node.ingest(version).unwrap(), Ingest::New);
        assert_eq!(node.ingest(&next).unwrap(), Ingest::New);
    }
    // alice removes bob before the nodes swap versions, pinning his last message.
    for env in f.alice.remove(&c, &f.key_of(&f.bob)).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    // carol refuses the version his chain does not name; alice takes the one it names,
    // though she holds another, and stops showing hers.
    let why = rejected(f.carol.ingest(&for_alice).unwrap());
    assert!(
        matches!(why, Refusal::DepartedVersion { author, .. } if author == f.key_of(&f.bob)),
        "{why}"
    );
    assert_eq!(f.alice.ingest(&for_carol).unwrap(), Ingest::Fork);
    sync_offline(&f.alice, &f.carol, &c);
    sync_offline(&f.carol, &f.alice, &c);
    for node in [&f.alice, &f.carol] {
        let mut shares = f.shares(node);
        shares.sort();
        assert_eq!(shares, ["and then", "what carol was told"]);
    }
    // So after alice's node starts again.
    let alice = circle::node::Circles::load(f.alice.store().clone()).unwrap();
    let mut shares = f.shares(&alice);
    shares.sort();
    assert_eq!(shares, ["and then", "what carol was told"]);
}

/// Every order of `items`.
fn orders<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut order in orders(&rest) {
            order.insert(0, first.clone());
            out.push(order);
        }
    }
    out
}

#[test]
fn a_member_forking_an_admission_and_removed_leaves_a_node_getting_it_all_in_any_order_with_the_version_his_chain_names()
 {
    // alice holds mallory's version and bob's next message, and removes bob; carol gets both
    // versions, the next message and the removal in every order (what cannot be taken yet is
    // offered again until nothing more is), then the nodes sync.
    for order in orders(&[0, 1, 2, 3]) {
        let f = circle_of_three("Hostile test");
        let c = f.circle;
        let forked = forked_admission(&f);
        for env in [&forked.registered, &forked.for_alice, &forked.next] {
            assert_eq!(f.alice.ingest(env).unwrap(), Ingest::New);
        }
        let removal = f.alice.remove(&c, &f.key_of(&f.bob)).unwrap();
        assert_eq!(f.carol.ingest(&forked.registered).unwrap(), Ingest::New);
        let groups = [
            vec![forked.for_alice.clone()],
            vec![forked.for_carol.clone()],
            vec![forked.next.clone()],
            removal.clone(),
        ];
        let mut pending: Vec<Envelope> = order.iter().flat_map(|i| groups[*i].clone()).collect();
        loop {
            let before = pending.len();
            pending.retain(|env| matches!(f.carol.ingest(env).unwrap(), Ingest::Later(_)));
            if pending.len() == before {
                break;
            }
        }
        sync_offline(&f.carol, &f.alice, &c);
        sync_offline(&f.alice, &f.carol, &c);
        let mut want = roles(&[("alice", "admin"), ("carol", "member"), ("trudy", "member")]);
        want.sort();
        for node in [&f.alice, &f.carol] {
            let mut got = f.roles(node);
            got.sort();
            assert_eq!(got, want, "order {order:?}");
        }
    }
}

#[test]
fn a_member_sending_two_versions_of_a_new_key_to_two_nodes_leaves_them_one_key_after_sync() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    let bob = f.forger(&f.bob);
    let seq = bob.seq.get() + 1;
    let epoch = epoch_of(&c, &bob_key, seq);
    let members = [f.secret(&f.alice), f.secret(&f.bob), f.secret(&f.carol)];
    let everyone: Vec<&MemberSecret> = members.iter().collect();
    // Two good new keys for one epoch, each sealed alike to everyone: one version to alice's
    // node, the other to carol's.
    let version = |key: &CircleKey| {
        acked(
            &f.bob,
            &c,
            Op::NewKey {
                keys: copies(c, &everyone, epoch, key),
                commitment: key_commitment(&c, epoch, &key.to_bytes()),
            },
        )
    };
    let for_alice = bob.seal(seq, version(&CircleKey::generate()));
    let for_carol = bob.seal(seq, version(&CircleKey::generate()));
    assert_eq!(f.alice.ingest(&for_alice).unwrap(), Ingest::New);
    assert_eq!(f.carol.ingest(&for_carol).unwrap(), Ingest::New);

    // After sync both hold both versions, take the epoch from the same one, and read each
    // other's writes under it.
    sync_offline(&f.alice, &f.carol, &c);
    sync_offline(&f.carol, &f.alice, &c);
    both_versions_held(&f, [&f.alice, &f.carol], &bob_key, seq);
    let seen = view_after_writing(&f, &f.alice, "from alice");
    assert_eq!(seen.1, epoch, "the forked epoch is current");
    assert_eq!(view_after_writing(&f, &f.carol, "from carol"), seen);
    for node in [&f.alice, &f.carol] {
        assert_eq!(f.shares(node), ["from alice", "from carol"]);
    }
}

#[test]
fn a_member_sending_a_good_and_a_bad_version_of_a_new_key_leaves_no_node_sealing_under_the_good_one()
 {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    let bob = f.forger(&f.bob);
    let seq = bob.seq.get() + 1;
    let epoch = epoch_of(&c, &bob_key, seq);
    let members = [f.secret(&f.alice), f.secret(&f.bob), f.secret(&f.carol)];
    let everyone: Vec<&MemberSecret> = members.iter().collect();
    // A good version to alice's node; to carol's, one whose commitment names another key,
    // and which comes first in the order (sealed again until its id is the lower).
    let key = CircleKey::generate();
    let good = bob.seal(
        seq,
        acked(
            &f.bob,
            &c,
            Op::NewKey {
                keys: copies(c, &everyone, epoch, &key),
                commitment: key_commitment(&c, epoch, &key.to_bytes()),
            },
        ),
    );
    let bad = std::iter::repeat_with(|| {
        let key = CircleKey::generate();
        bob.seal(
            seq,
            acked(
                &f.bob,
                &c,
                Op::NewKey {
                    keys: copies(c, &everyone, epoch, &key),
                    commitment: [7; 32],
                },
            ),
        )
    })
    .find(|bad| bad.id() < good.id())
    .unwrap();
    assert_eq!(f.alice.ingest(&good).unwrap(), Ingest::New);
    assert_eq!(f.carol.ingest(&bad).unwrap(), Ingest::New);
    sync_offline(&f.alice, &f.carol, &c);
    sync_offline(&f.carol, &f.alice, &c);
    both_versions_held(&f, [&f.alice, &f.carol], &bob_key, seq);
    // The bad version counts, so alice forgets the good key: her next write starts a new
    // epoch, which carol reads, and carol writes under it.
    let written = f.alice.share(&c, "can you read this?").unwrap();
    assert_eq!(written.len(), 2, "a new key, then the share");
    assert_ne!(written[1].header().epoch, epoch);
    for env in &written {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    let answer = f.carol.share(&c, "yes").unwrap();
    assert_eq!(answer.len(), 1, "carol took alice's new key");
    assert_eq!(answer[0].header().epoch, written[1].header().epoch);
    assert_eq!(f.alice.ingest(&answer[0]).unwrap(), Ingest::New);
}

#[test]
fn membership_operations_no_circle_could_accept_are_refused_and_not_stored() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    // Even the founder's signature does not make these acceptable.
    let alice = f.forger(&f.alice);
    let invite = InviteSecret::generate();
    let dave = MemberSecret::generate();
    let profile = Profile::sign(&dave, c, "dave", &PeerId::random().to_bytes()).unwrap();
    let mut bad_profile_signature = profile.clone();
    let last = bad_profile_signature.len() - 1;
    bad_profile_signature[last] ^= 1;
    let admit = |profile: Vec<u8>, epochs: Vec<u64>| {
        op(Op::Admit {
            proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
            profile,
            invite: invite.id(),
            epochs,
        })
    };
    let register = |uses: u32, bound: Option<Vec<u8>>| {
        op(Op::Invite {
            id: invite.id(),
            key: invite.join_key().public(),
            expires_at: now_secs() + 60,
            uses,
            bound,
        })
    };
    let rename = |name: &str| op(Op::Rename { name: name.into() });
    let cases: Vec<(&str, Body)> = vec![
        ("an invite with no uses", register(0, None)),
        (
            "an invite bound to an empty node id",
            register(1, Some(vec![])),
        ),
        (
            "an invite bound to an oversized node id",
            register(1, Some(vec![1; 65])),
        ),
        (
            "an admission of an oversized profile",
            admit(vec![0; 5000], vec![0]),
        ),
        (
            "an admission handing over too many key epochs",
            admit(profile.clone(), (0..4097).collect()),
        ),
        (
            "an admission whose profile does not decode",
            admit(vec![0xAB; 40], vec![0]),
        ),
        (
            "an admission whose profile has a bad signature",
            admit(bad_profile_signature, vec![0]),
        ),
        ("a circle renamed to nothing", rename("   ")),
        ("a circle renamed at great length", rename(&"x".repeat(101))),
        ("a circle renamed to terminal codes", rename("a\u{1b}[2Jb")),
    ];
    let before = (f.count(&f.carol), f.roles(&f.carol), f.settings(&f.carol));
    for (name, body) in cases {
        let why = rejected(f.carol.ingest(&alice.next(body)).unwrap());
        assert!(!why.to_string().is_empty(), "{name}: no reason given");
        assert_eq!(
            (f.count(&f.carol), f.roles(&f.carol), f.settings(&f.carol)),
            before,
            "{name}: stored or took effect"
        );
    }
    // No node can even make an envelope over the size limit, and none reads one.
    let huge = Content {
        sent_at: now_ms(),
        body: rename(&"x".repeat(MAX_ENVELOPE_BYTES)),
    };
    assert!(
        Envelope::seal(
            &alice.secret,
            &alice.key,
            header(&alice.secret, c, 0, 99),
            &huge.to_bytes()
        )
        .is_err()
    );
}

/// `key` sealed to each of `who` as a new key of `epoch` is, checkably.
fn copies(
    circle: CircleId,
    who: &[&MemberSecret],
    epoch: u64,
    key: &CircleKey,
) -> Vec<(MemberKey, Vec<u8>)> {
    who.iter()
        .map(|m| {
            let sealed =
                seal_new_key_for(&circle, &m.public(), &m.exchange_key(), epoch, key).unwrap();
            (m.public(), sealed)
        })
        .collect()
}

#[test]
fn new_key_epochs_that_do_not_hold_up_are_refused_or_change_nothing() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob = f.forger(&f.bob);
    let members = [f.secret(&f.alice), f.secret(&f.bob), f.secret(&f.carol)];
    let mallory = MemberSecret::generate();
    let key = CircleKey::generate();
    let everyone: Vec<&MemberSecret> = members.iter().collect();
    let with_mallory: Vec<&MemberSecret> = members.iter().chain([&mallory]).collect();
    let too_many: Vec<(MemberKey, Vec<u8>)> = (0..=MAX_MEMBERS)
        .map(|_| (MemberSecret::generate().public(), vec![0; 80]))
        .collect();
    let mut oversized = copies(c, &everyone, 11, &key);
    oversized[0].1 = vec![0; 200];
    let mut twice = copies(c, &everyone, 12, &key);
    twice.push(twice[0].clone());

    enum Outcome {
        Refused,
        Later,
        NoEffect,
    }
    let new_key = |keys| {
        op(Op::NewKey {
            keys,
            commitment: [0; 32],
        })
    };
    let cases: Vec<(&str, Body, Outcome)> = vec![
        ("sealed to no one", new_key(vec![]), Outcome::Refused),
        (
            "sealed to more people than a circle holds",
            new_key(too_many),
            Outcome::Refused,
        ),
        (
            "with an oversized sealed key",
            new_key(oversized),
            Outcome::Refused,
        ),
        (
            "sealed twice to one member",
            new_key(twice),
            Outcome::Refused,
        ),
        (
            "sealed to an outsider as well as every member",
            new_key(copies(c, &with_mallory, 13, &key)),
            Outcome::Later,
        ),
        (
            "in the old format, numbered 0",
            op(Op::Rekey {
                epoch: 0,
                keys: copies(c, &everyone, 0, &key),
            }),
            Outcome::Refused,
        ),
        (
            "in the old format, with an epoch id of its own choosing",
            op(Op::Rekey {
                epoch: 14,
                keys: copies(c, &everyone, 14, &key),
            }),
            Outcome::NoEffect,
        ),
    ];
    for (name, body, outcome) in cases {
        let before = f.count(&f.carol);
        let got = f.carol.ingest(&bob.next(body)).unwrap();
        match outcome {
            Outcome::Refused => {
                assert!(matches!(got, Ingest::Rejected(_)), "{name}: got {got:?}");
                assert_eq!(f.count(&f.carol), before, "{name}: stored");
            }
            Outcome::Later => {
                assert!(matches!(got, Ingest::Later(_)), "{name}: got {got:?}");
                assert_eq!(f.count(&f.carol), before, "{name}: stored");
            }
            Outcome::NoEffect => {
                assert_eq!(got, Ingest::New, "{name}: kept in bob's chain");
                // carol still writes under the founding key, with no new epoch of her own.
                let written = f.carol.share(&c, name).unwrap();
                assert_eq!(written.len(), 1, "{name}: carol had to rekey");
                assert_eq!(written[0].header().epoch, 0, "{name}: took effect");
            }
        }
    }
    // One key sealed alike to everyone, but committed to as another: carol does not take it,
    // and starts a new epoch at her next write.
    let epoch = epoch_of(&c, &bob.secret.public(), bob.seq.get() + 1);
    let miscommitted = Op::NewKey {
        keys: copies(c, &everyone, epoch, &key),
        commitment: key_commitment(&c, epoch, &CircleKey::generate().to_bytes()),
    };
    assert_eq!(
        f.carol
            .ingest(&bob.next(acked(&f.bob, &c, miscommitted)))
            .unwrap(),
        Ingest::New
    );
    let written = f.carol.share(&c, "not under that one").unwrap();
    assert_eq!(
        written.len(),
        2,
        "carol took a key that fails its commitment"
    );
    assert_ne!(written[1].header().epoch, epoch);
    // The same observation sees a new key that does hold up.
    let epoch = epoch_of(&c, &bob.secret.public(), bob.seq.get() + 1);
    let holds_up = Op::NewKey {
        keys: copies(c, &everyone, epoch, &key),
        commitment: key_commitment(&c, epoch, &key.to_bytes()),
    };
    assert_eq!(
        f.carol
            .ingest(&bob.next(acked(&f.bob, &c, holds_up)))
            .unwrap(),
        Ingest::New
    );
    let written = f.carol.share(&c, "under the new key").unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].header().epoch, epoch);
}

#[test]
fn a_member_who_seals_a_different_key_to_each_member_splits_no_one_and_his_removal_is_read() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let (alice_key, bob_key) = (f.key_of(&f.alice), f.key_of(&f.bob));
    let bob = f.forger(&f.bob);
    let epoch = epoch_of(&c, &bob_key, bob.seq.get() + 1);
    // A valid key for each, and a commitment to alice's.
    let (for_alice, for_bob, for_carol) = (
        CircleKey::generate(),
        CircleKey::generate(),
        CircleKey::generate(),
    );
    let mut keys = copies(c, &[&f.secret(&f.alice)], epoch, &for_alice);
    keys.extend(copies(c, &[&f.secret(&f.bob)], epoch, &for_bob));
    keys.extend(copies(c, &[&f.secret(&f.carol)], epoch, &for_carol));
    let split = bob.next(acked(
        &f.bob,
        &c,
        Op::NewKey {
            keys,
            commitment: key_commitment(&c, epoch, &for_alice.to_bytes()),
        },
    ));
    for victim in [&f.alice, &f.carol] {
        assert_eq!(victim.ingest(&split).unwrap(), Ingest::New);
    }
    // alice's copy matches the commitment but carol's is another key: neither takes the
    // epoch. alice's next write starts a new one, which carol reads, and so on.
    let written = f.alice.share(&c, "can everyone read this?").unwrap();
    assert_eq!(written.len(), 2, "a new key, then the share");
    assert_ne!(written[1].header().epoch, epoch);
    for env in &written {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    let written = f.carol.share(&c, "yes").unwrap();
    assert_eq!(written.len(), 1, "carol took alice's new key");
    assert_eq!(f.alice.ingest(&written[0]).unwrap(), Ingest::New);
    // alice removes bob, and carol reads the removal.
    for env in f.alice.remove(&c, &bob_key).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    assert_eq!(
        f.roles(&f.carol),
        roles(&[("alice", "admin"), ("carol", "member")])
    );
    let written = f.carol.share(&c, "after bob").unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(f.alice.ingest(&written[0]).unwrap(), Ingest::New);
    for node in [&f.alice, &f.carol] {
        assert_eq!(
            f.shares(node),
            ["can everyone read this?", "yes", "after bob"]
        );
    }
    assert!(
        f.alice
            .members(&c)
            .unwrap()
            .iter()
            .all(|m| m.member != bob_key.to_string())
    );
    let _ = alice_key;
}

#[test]
fn a_new_key_dated_in_the_year_9999_does_not_make_every_later_write_start_another() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    let bob = f.forger(&f.bob);
    let epoch = epoch_of(&c, &bob_key, bob.seq.get() + 1);
    let key = CircleKey::generate();
    let members = [f.secret(&f.alice), f.secret(&f.bob), f.secret(&f.carol)];
    let everyone: Vec<&MemberSecret> = members.iter().collect();
    let late = acked(
        &f.bob,
        &c,
        Op::NewKey {
            keys: copies(c, &everyone, epoch, &key),
            commitment: key_commitment(&c, epoch, &key.to_bytes()),
        },
    );
    // 9999-12-31T23:59:59Z, the last second a message may be dated.
    let late = bob.seal_with(&bob.key, c, 0, bob.seq.get() + 1, 253_402_300_799_000, late);
    for node in [&f.alice, &f.carol] {
        assert_eq!(node.ingest(&late).unwrap(), Ingest::New);
    }
    // alice lets dave in, having seen bob's key, and hands it to him: her admission comes
    // after the key, whatever its date, so dave holds the current key.
    let dave = node("dave");
    for env in admit_offline(&f.alice, &c, &dave, "dave") {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    for writer in [&f.carol, &f.alice, &f.carol] {
        let written = writer.share(&c, "hello dave").unwrap();
        assert_eq!(written.len(), 1, "a new key before every write");
        assert_eq!(written[0].header().epoch, epoch);
        assert_eq!(dave.ingest(&written[0]).unwrap(), Ingest::New);
    }
}

#[test]
fn copying_the_epoch_id_of_an_honest_new_key_with_an_earlier_date_voids_nothing() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let alice_key = f.key_of(&f.alice);
    // bob knows the epoch id alice's next message would start, and gets there first, in the
    // old format, dated earlier, with a key of his own for carol.
    let next = f.alice.store().max_seq(&c, &alice_key).unwrap() + 1;
    let predicted = epoch_of(&c, &alice_key, next);
    let bob = f.forger(&f.bob);
    let his = CircleKey::generate();
    let carol = f.secret(&f.carol);
    let squat = Op::Rekey {
        epoch: predicted,
        keys: vec![(carol.public(), sealed_to(c, &carol, predicted, &his))],
    };
    // Dated after carol came in, before alice writes.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let squat = bob.seal_with(&bob.key, c, 0, bob.seq.get() + 1, now_ms() - 10, op(squat));
    for victim in [&f.alice, &f.carol] {
        assert_eq!(victim.ingest(&squat).unwrap(), Ingest::New);
    }
    // alice starts a new key by hand: it is the epoch bob squatted on.
    let written = f.alice.rekey(&c).unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(f.carol.ingest(&written[0]).unwrap(), Ingest::New);
    let written = f.alice.share(&c, "under my new key").unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].header().epoch, predicted);
    assert_eq!(f.carol.ingest(&written[0]).unwrap(), Ingest::New);
    assert_eq!(f.shares(&f.carol), ["under my new key"]);
}

/// What bob's modified program writes to take over the circle as a plain member.
fn plain_member_takeover(f: &Fixture) -> (Vec<(&'static str, Envelope)>, Invite) {
    let c = f.circle;
    let (live, written) = f
        .alice
        .create_invite(&c, now_secs() + 3600, 1, None, vec![])
        .unwrap();
    for env in &written {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    let bob = f.forger(&f.bob);
    let mallory = MemberSecret::generate();
    let mallory_profile =
        Profile::sign(&mallory, c, "mallory", &PeerId::random().to_bytes()).unwrap();
    let his_invite = InviteSecret::generate();
    let admit_mallory = |invite: &InviteSecret| Op::Admit {
        profile: mallory_profile.clone(),
        invite: invite.id(),
        proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &mallory_profile),
        epochs: vec![0],
    };
    let (alice, bob_key, carol) = (f.key_of(&f.alice), f.key_of(&f.bob), f.key_of(&f.carol));
    let ops = vec![
        (
            "removes the founder",
            Op::Remove {
                member: alice,
                upto: 99,
            },
        ),
        (
            "removes another member",
            Op::Remove {
                member: carol,
                upto: 0,
            },
        ),
        ("makes himself an admin", Op::Grant { member: bob_key }),
        (
            "demotes the founder",
            Op::Revoke {
                member: alice,
                upto: 0,
            },
        ),
        (
            "lets every member invite",
            Op::Policy {
                invites: InvitePolicy::Members,
            },
        ),
        (
            "renames the circle",
            Op::Rename {
                name: "Taken over".into(),
            },
        ),
        (
            "revokes the founder's invite",
            Op::RevokeInvite { id: live.id() },
        ),
        (
            "registers an invite of his own",
            Op::Invite {
                id: his_invite.id(),
                key: his_invite.join_key().public(),
                expires_at: now_secs() + 3600,
                uses: 5,
                bound: None,
            },
        ),
        ("admits mallory through it", admit_mallory(&his_invite)),
        (
            "admits mallory through the founder's invite",
            admit_mallory(&live.secret),
        ),
    ];
    let envelopes = ops
        .into_iter()
        .map(|(name, o)| (name, bob.next(op(o))))
        .collect();
    (envelopes, live)
}

/// A point of order 8 on curve25519: every exchange with it is all zero.
const LOW_ORDER_POINT: &str = "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800";

#[test]
fn a_member_who_admits_a_key_nothing_can_be_sealed_to_and_leaves_freezes_no_one() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    for env in f.alice.set_policy(&c, InvitePolicy::Members).unwrap() {
        for other in [&f.bob, &f.carol] {
            assert_eq!(other.ingest(&env).unwrap(), Ingest::New);
        }
    }
    // bob's modified program registers an invite, lets in a "member" whose exchange key is a
    // low-order point, and leaves.
    let bob = f.forger(&f.bob);
    let invite = InviteSecret::generate();
    let point: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&LOW_ORDER_POINT[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mallory = MemberSecret::generate();
    let profile = Profile::sign_as_given(
        &mallory,
        &Profile {
            circle: c,
            member: mallory.public(),
            exchange: ExchangeKey::from_bytes(&point).unwrap(),
            name: "mallory".into(),
            node: PeerId::random().to_bytes(),
        },
    );
    let register = bob.next(acked(
        &f.bob,
        &c,
        Op::Invite {
            id: invite.id(),
            key: invite.join_key().public(),
            expires_at: now_secs() + 3600,
            uses: 1,
            bound: None,
        },
    ));
    let admit = bob.next(acked(
        &f.bob,
        &c,
        Op::Admit {
            proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
            profile,
            invite: invite.id(),
            epochs: vec![0],
        },
    ));
    let leave = bob.next(acked(&f.bob, &c, Op::Leave));
    for victim in [&f.alice, &f.carol] {
        assert_eq!(victim.ingest(&register).unwrap(), Ingest::New);
        let stored = f.count(victim);
        let why = rejected(victim.ingest(&admit).unwrap());
        assert!(
            matches!(&why, Refusal::Malformed(text) if text.contains("exchange key")),
            "{why}"
        );
        assert_eq!(f.count(victim), stored, "the admission was stored");
        assert_eq!(victim.ingest(&leave).unwrap(), Ingest::New);
        assert_eq!(
            f.roles(victim),
            roles(&[("alice", "admin"), ("carol", "member")])
        );
    }
    // A new key is due (bob left): both still write, under a key sealed to both.
    let written = f.carol.share(&c, "still here").unwrap();
    assert_eq!(written.len(), 2, "a new key, then the share");
    for env in &written {
        assert_eq!(f.alice.ingest(env).unwrap(), Ingest::New);
    }
    assert_eq!(f.shares(&f.alice), ["still here"]);
    let written = f.alice.share(&c, "so am I").unwrap();
    assert_eq!(written.len(), 1, "alice already holds carol's new key");
    assert_eq!(f.carol.ingest(&written[0]).unwrap(), Ingest::New);
}

#[test]
fn a_plain_members_admin_operations_are_kept_in_his_chain_but_change_nothing() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let (takeover, live) = plain_member_takeover(&f);
    let everyone = roles(&[("alice", "admin"), ("bob", "member"), ("carol", "member")]);
    for victim in [&f.alice, &f.carol] {
        for (name, env) in &takeover {
            assert_eq!(victim.ingest(env).unwrap(), Ingest::New, "bob {name}");
            assert_eq!(f.roles(victim), everyone, "bob {name}: took effect");
        }
        assert_eq!(
            f.settings(victim),
            ("Hostile test".to_string(), "admins".to_string())
        );
        let invites: Vec<_> = victim
            .invites(&c, now_secs())
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(invites, [live.id().to_string()], "only alice's live invite");
    }
    // alice is still in charge: her operations take effect after bob's.
    let written = f.alice.set_policy(&c, InvitePolicy::Members).unwrap();
    for env in &written {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    assert_eq!(f.settings(&f.carol).1, "members");
}

#[test]
fn a_plain_members_admin_operations_that_change_nothing_are_not_in_the_feed() {
    let f = circle_of_three("Hostile test");
    let (takeover, _) = plain_member_takeover(&f);
    for (name, env) in &takeover {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New, "bob {name}");
    }
    let bob = f.key_of(&f.bob).to_string();
    let shown: Vec<_> = f
        .carol
        .feed(&f.circle, 0, None)
        .unwrap()
        .into_iter()
        .filter(|i| i.author == bob)
        .map(|i| i.text)
        .collect();
    assert!(shown.is_empty(), "the feed claims: {shown:?}");
}

#[test]
fn a_demoted_admin_cannot_act_by_dating_an_operation_before_the_demotion() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    let pause = || std::thread::sleep(std::time::Duration::from_millis(20));
    let mut written = f.alice.set_admin(&c, &bob_key, true).unwrap();
    pause();
    let while_admin = now_ms();
    pause();
    written.extend(f.alice.set_admin(&c, &bob_key, false).unwrap());
    for env in &written {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    assert_eq!(f.roles(&f.carol)[1], ("bob".into(), "member".into()));
    // Written after the demotion (say bob's node had not heard), but dated while he was admin,
    // and then one dated honestly. Only the date tells them apart.
    let bob = f.forger(&f.bob);
    let rename = Op::Rename {
        name: "Backdated".into(),
    };
    let backdated = bob.seal_with(&bob.key, c, 0, 1, while_admin, op(rename));
    let policy = Op::Policy {
        invites: InvitePolicy::Members,
    };
    for env in [backdated, bob.seal(2, op(policy))] {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    assert_eq!(
        f.settings(&f.carol),
        ("Hostile test".to_string(), "admins".to_string())
    );
}

#[test]
fn a_removed_member_is_cut_off_after_the_removal_and_kept_before_it() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    // bob shares; alice has it, carol does not yet.
    let before = f.bob.share(&c, "before the cut").unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(f.alice.ingest(&before[0]).unwrap(), Ingest::New);
    let removal = f.alice.remove(&c, &f.key_of(&f.bob)).unwrap();
    for env in &removal {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    // Gone from the members, but still an author the gossip rate limit holds back (what he
    // sends still costs a check before it is refused); a stranger is neither.
    let bob_key = f.key_of(&f.bob);
    assert!(!f.carol.is_member(&c, &bob_key));
    assert!(f.carol.is_known_author(&c, &bob_key));
    assert!(
        !f.carol
            .is_known_author(&c, &MemberSecret::generate().public())
    );
    // What bob wrote before alice cut him off still counts, wherever it arrives later.
    assert_eq!(f.carol.ingest(&before[0]).unwrap(), Ingest::New);

    // bob's node has not heard and writes on.
    let after = f.bob.share(&c, "after the cut").unwrap();
    let bob = f.forger(&f.bob);
    let cases = [
        ("a share after the removal", after[0].clone()),
        (
            "an operation after the removal",
            bob.next(op(Op::Rename {
                name: "Still here".into(),
            })),
        ),
        ("a leave after the removal", bob.next(op(Op::Leave))),
    ];
    for victim in [&f.alice, &f.carol] {
        for (name, env) in &cases {
            let stored = f.count(victim);
            let why = rejected(victim.ingest(env).unwrap());
            assert!(
                matches!(why, Refusal::NoLongerMember { .. }),
                "{name}: {why}"
            );
            assert_eq!(f.count(victim), stored, "{name}: stored");
        }
        assert_eq!(f.shares(victim), ["before the cut"]);
        assert_eq!(
            f.roles(victim),
            roles(&[("alice", "admin"), ("carol", "member")])
        );
        assert_eq!(f.settings(victim).0, "Hostile test");
    }
    // Once bob's node hears, it refuses to write at all.
    for env in &removal {
        assert_eq!(f.bob.ingest(env).unwrap(), Ingest::New);
    }
    let err = f.bob.share(&c, "let me back").unwrap_err().to_string();
    assert!(err.contains("removed"), "{err}");
}

#[test]
fn an_admin_cannot_cut_below_what_it_acknowledged_to_hide_history_or_unadmit_people() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    let mut written = f.alice.set_admin(&c, &bob_key, true).unwrap();
    for env in &written {
        assert_eq!(f.bob.ingest(env).unwrap(), Ingest::New);
    }
    // bob, an admin, lets dave in, and shares; alice's node takes it all in.
    let dave = node("dave");
    let mut bobs = admit_offline(&f.bob, &c, &dave, "dave");
    bobs.extend(f.bob.share(&c, "bob's story").unwrap());
    for env in &bobs {
        assert_eq!(f.alice.ingest(env).unwrap(), Ingest::New);
    }
    written.extend(bobs);
    // alice's node writes something having seen all that.
    written.extend(f.alice.set_policy(&c, InvitePolicy::Members).unwrap());
    // Then alice's modified program demotes and removes bob as if it had seen nothing of his.
    let alice = f.forger(&f.alice);
    let revoke = Op::Revoke {
        member: bob_key,
        upto: 0,
    };
    written.push(alice.next(acked(&f.alice, &c, revoke)));
    let remove = Op::Remove {
        member: bob_key,
        upto: 0,
    };
    written.push(alice.next(acked(&f.alice, &c, remove)));
    for env in &written {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    assert_eq!(
        f.roles(&f.carol),
        roles(&[("alice", "admin"), ("carol", "member"), ("dave", "member")]),
        "dave was un-admitted"
    );
    assert_eq!(
        f.shares(&f.carol),
        ["bob's story"],
        "bob's history is hidden"
    );
}

#[test]
fn an_admin_cannot_hide_what_another_members_operation_its_removal_acknowledged_had_seen() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    let dave = node("dave");
    for env in admit_offline(&f.alice, &c, &dave, "dave") {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    // dave is an admin: a plain member's claims do not raise a cut.
    let dave_key = dave.my_key(&c).unwrap();
    for env in f.alice.set_admin(&c, &dave_key, true).unwrap() {
        for other in [&f.carol, &dave] {
            assert_eq!(other.ingest(&env).unwrap(), Ingest::New);
        }
    }
    // bob shares three messages; carol's and dave's nodes take them in, alice's does not.
    let mut bobs = Vec::new();
    for text in ["bob's first", "bob's second", "bob's third"] {
        bobs.extend(f.bob.share(&c, text).unwrap());
    }
    for env in &bobs {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
        assert_eq!(dave.ingest(env).unwrap(), Ingest::New);
    }
    // dave's node writes an operation (a new key) as an admin, having seen them; alice's
    // takes it in.
    let daves = dave.rekey(&c).unwrap();
    for env in &daves {
        assert_eq!(f.alice.ingest(env).unwrap(), Ingest::New);
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    // alice's modified program removes bob "as of nothing", acknowledging dave's operation but
    // none of bob's messages, to hide all three.
    let alice = f.forger(&f.alice);
    let remove = Op::Remove {
        member: bob_key,
        upto: 0,
    };
    let removal = alice.next(acked(&f.alice, &c, remove));
    assert_eq!(f.carol.ingest(&removal).unwrap(), Ingest::New);
    assert!(
        !f.carol.members(&c).unwrap().iter().any(|m| m.name == "bob"),
        "bob was not removed"
    );
    // (Sorted: shares sent within the same millisecond may be listed in either order.)
    let mut shown = f.shares(&f.carol);
    shown.sort();
    assert_eq!(
        shown,
        ["bob's first", "bob's second", "bob's third"],
        "bob's history is hidden"
    );
}

#[test]
fn a_plain_member_claiming_numbers_bob_had_not_yet_written_does_not_keep_him_writing_after_his_removal()
 {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    let dave = node("dave");
    for env in admit_offline(&f.alice, &c, &dave, "dave") {
        for other in [&f.bob, &f.carol] {
            assert_eq!(other.ingest(&env).unwrap(), Ingest::New);
        }
    }
    // bob shares three messages; every node takes them in.
    let mut bobs = Vec::new();
    for text in ["bob's first", "bob's second", "bob's third"] {
        bobs.extend(f.bob.share(&c, text).unwrap());
    }
    for env in &bobs {
        for other in [&f.alice, &f.carol, &dave] {
            assert_eq!(other.ingest(env).unwrap(), Ingest::New);
        }
    }
    let written = bobs.last().unwrap().header().seq;
    assert!(written + 1 < 50);
    // carol, a plain member working with bob, has her modified program write an operation
    // (one that changes nothing: she is no admin) claiming to hold bob's chain up to 50.
    let carol = f.forger(&f.carol);
    let Body::Acked(mut claim) = acked(
        &f.carol,
        &c,
        Op::Rename {
            name: "Carol's".into(),
        },
    ) else {
        unreachable!("acked writes content tag 15")
    };
    claim.seen.retain(|(author, _)| *author != bob_key);
    claim.seen.push((bob_key, 50));
    claim.seen.sort();
    let claim = carol.next(Body::Acked(claim));
    for other in [&f.alice, &dave] {
        assert_eq!(other.ingest(&claim).unwrap(), Ingest::New);
    }
    // alice's node, holding carol's operation, removes bob.
    for env in f.alice.remove(&c, &bob_key).unwrap() {
        assert_eq!(dave.ingest(&env).unwrap(), Ingest::New);
    }
    // bob's node has not heard and writes on, under numbers carol's claim covers.
    let mut after = Vec::new();
    for text in ["bob after the removal", "bob, still writing"] {
        after.extend(f.bob.share(&c, text).unwrap());
    }
    assert!(after.iter().all(|env| env.header().seq <= 50));
    for victim in [&f.alice, &dave] {
        for env in &after {
            let stored = f.count(victim);
            let why = rejected(victim.ingest(env).unwrap());
            assert_eq!(why, Refusal::NoLongerMember { author: bob_key }, "{why}");
            assert_eq!(f.count(victim), stored, "stored");
        }
        // (Sorted: shares sent within the same millisecond may be listed in either order.)
        let mut shown = f.shares(victim);
        shown.sort();
        assert_eq!(
            shown,
            ["bob's first", "bob's second", "bob's third"],
            "bob's messages after the removal are shown"
        );
    }
}

#[test]
fn an_admin_let_in_by_a_current_node_writing_old_format_operations_changes_nothing() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    for env in f.alice.set_admin(&c, &bob_key, true).unwrap() {
        for other in [&f.bob, &f.carol] {
            assert_eq!(other.ingest(&env).unwrap(), Ingest::New);
        }
    }
    // bob's modified program writes in content tag 1, which acknowledges nothing: a rename,
    // and an invite and admission of a sockpuppet.
    let bob = f.forger(&f.bob);
    let invite = InviteSecret::generate();
    let mallory = MemberSecret::generate();
    let profile = Profile::sign(&mallory, c, "mallory", &PeerId::random().to_bytes()).unwrap();
    let old_format = [
        op(Op::Rename {
            name: "Bob's".into(),
        }),
        op(Op::Invite {
            id: invite.id(),
            key: invite.join_key().public(),
            expires_at: now_secs() + 3600,
            uses: 1,
            bound: None,
        }),
        op(Op::Admit {
            proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
            profile,
            invite: invite.id(),
            epochs: vec![0],
        }),
    ];
    for body in old_format {
        assert_eq!(f.carol.ingest(&bob.next(body)).unwrap(), Ingest::New);
    }
    let everyone = roles(&[("alice", "admin"), ("bob", "admin"), ("carol", "member")]);
    assert_eq!(f.roles(&f.carol), everyone, "the sockpuppet came in");
    assert_eq!(
        f.settings(&f.carol).0,
        "Hostile test",
        "the rename took effect"
    );
    // The same rename as a current node writes it does.
    let rename = Op::Rename {
        name: "Bob's".into(),
    };
    assert_eq!(
        f.carol
            .ingest(&bob.next(acked(&f.bob, &c, rename)))
            .unwrap(),
        Ingest::New
    );
    assert_eq!(f.settings(&f.carol).0, "Bob's");
}

#[test]
fn an_old_circles_admin_writing_the_old_format_once_the_senior_admins_node_is_upgraded_changes_nothing()
 {
    // A circle made before membership version 4, built by the forger: alice founded it, and
    // her old program let dave in and made him an admin, all in content tag 1, kept in her
    // node's store as its own messages.
    let home = node("alice");
    let c = home.create("Old circle", None).unwrap();
    let founder = Forger::of(&home, &c);
    let dave = Forger::outsider(c, founder.key.clone());
    let dave_key = dave.secret.public();
    let invite = InviteSecret::generate();
    let profile = Profile::sign(&dave.secret, c, "dave", &PeerId::random().to_bytes()).unwrap();
    let history = [
        op(Op::Invite {
            id: invite.id(),
            key: invite.join_key().public(),
            expires_at: now_secs() + 3600,
            uses: 1,
            bound: None,
        }),
        op(Op::Admit {
            proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
            profile,
            invite: invite.id(),
            epochs: vec![0],
        }),
        op(Op::Grant { member: dave_key }),
    ];
    for (seq, body) in (1..).zip(history) {
        let sent_at = now_ms();
        let env = founder.seal_with(&founder.key, c, 0, seq, sent_at, body.clone());
        let record = OpRecord::of(&Content { sent_at, body }, env.id());
        let stored = home.store().put_own_envelope(&env, record.as_ref(), None);
        assert_eq!(stored.unwrap(), Stored::New);
    }
    // alice's node opens that store.
    let alice = Circles::load(home.store().clone()).unwrap();
    // dave's program, never upgraded, renames the circle: the old circle works as before.
    let rename = |name: &str| {
        op(Op::Rename {
            name: name.to_string(),
        })
    };
    assert_eq!(
        alice.ingest(&dave.next(rename("Dave's"))).unwrap(),
        Ingest::New
    );
    assert_eq!(alice.name_of(&c), "Dave's");
    // alice's node, upgraded, opens its store: as the circle's most senior admin it writes a
    // current operation (a new key), once.
    let alice_key = alice.my_key(&c).unwrap();
    let written = alice.store().max_seq(&c, &alice_key).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for _ in 0..2 {
        runtime
            .block_on(async { circle::node::Node::offline(alice.clone()).map(drop) })
            .unwrap();
    }
    assert_eq!(
        alice.store().max_seq(&c, &alice_key).unwrap(),
        written + 1,
        "the upgraded senior admin's node did not write one current operation"
    );
    // dave's modified program goes on in the old format, judged by the order alone: a
    // rename, and an invite and admission of a sockpuppet. Stored, and none counts.
    let invite = InviteSecret::generate();
    let mallory = MemberSecret::generate();
    let profile = Profile::sign(&mallory, c, "mallory", &PeerId::random().to_bytes()).unwrap();
    let old_format = [
        rename("Dave's again"),
        op(Op::Invite {
            id: invite.id(),
            key: invite.join_key().public(),
            expires_at: now_secs() + 3600,
            uses: 1,
            bound: None,
        }),
        op(Op::Admit {
            proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
            profile,
            invite: invite.id(),
            epochs: vec![0],
        }),
    ];
    for body in old_format {
        assert_eq!(alice.ingest(&dave.next(body)).unwrap(), Ingest::New);
    }
    assert_eq!(
        alice.name_of(&c),
        "Dave's",
        "the old circle's history was lost, or dave renamed it"
    );
    let members: Vec<(String, String)> = alice
        .members(&c)
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.role.as_str().to_string()))
        .collect();
    assert_eq!(
        members,
        roles(&[("alice", "admin"), ("dave", "admin")]),
        "the sockpuppet came in"
    );
}

/// bob's modified program numbers on past an invite and an admission of mallory it keeps back,
/// and publishes a share after them. Returns (the withheld two, the share).
fn withheld_sockpuppet(f: &Fixture) -> (Vec<Envelope>, Envelope) {
    let c = f.circle;
    let bob = f.forger(&f.bob);
    let mallory = MemberSecret::generate();
    let profile = Profile::sign(&mallory, c, "mallory", &PeerId::random().to_bytes()).unwrap();
    let invite = InviteSecret::generate();
    let withheld = vec![
        bob.next(op(Op::Invite {
            id: invite.id(),
            key: invite.join_key().public(),
            expires_at: now_secs() + 3600,
            uses: 1,
            bound: None,
        })),
        bob.next(op(Op::Admit {
            proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
            profile,
            invite: invite.id(),
            epochs: vec![0],
        })),
    ];
    (withheld, bob.next(share("nothing to see")))
}

#[test]
fn a_sockpuppet_held_back_before_a_removal_and_released_after_it_is_refused() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    for env in f.alice.set_policy(&c, InvitePolicy::Members).unwrap() {
        for other in [&f.bob, &f.carol] {
            assert_eq!(other.ingest(&env).unwrap(), Ingest::New);
        }
    }
    let (withheld, after_gap) = withheld_sockpuppet(&f);
    for node in [&f.alice, &f.carol] {
        assert_eq!(node.ingest(&after_gap).unwrap(), Ingest::New);
    }
    for env in f.alice.remove(&c, &f.key_of(&f.bob)).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    for node in [&f.alice, &f.carol] {
        for env in &withheld {
            let stored = f.count(node);
            let why = rejected(node.ingest(env).unwrap());
            assert!(matches!(why, Refusal::NoLongerMember { .. }), "{why}");
            assert_eq!(f.count(node), stored);
        }
        assert_eq!(
            f.roles(node),
            roles(&[("alice", "admin"), ("carol", "member")])
        );
        assert!(
            f.shares(node).is_empty(),
            "what bob wrote past the gap counts"
        );
    }
}

#[test]
fn a_sockpuppet_held_back_before_a_demotion_and_released_after_it_is_not_let_in() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    for env in f.alice.set_admin(&c, &bob_key, true).unwrap() {
        for other in [&f.bob, &f.carol] {
            assert_eq!(other.ingest(&env).unwrap(), Ingest::New);
        }
    }
    let (withheld, after_gap) = withheld_sockpuppet(&f);
    for node in [&f.alice, &f.carol] {
        assert_eq!(node.ingest(&after_gap).unwrap(), Ingest::New);
    }
    for env in f.alice.set_admin(&c, &bob_key, false).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    for node in [&f.alice, &f.carol] {
        for env in &withheld {
            assert_eq!(
                node.ingest(env).unwrap(),
                Ingest::New,
                "kept in bob's chain"
            );
        }
        assert_eq!(
            f.roles(node),
            roles(&[("alice", "admin"), ("bob", "member"), ("carol", "member")])
        );
    }
}

#[test]
fn a_removed_member_cannot_add_new_versions_of_his_old_messages() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let said = f.bob.share(&c, "what I really said").unwrap();
    for node in [&f.alice, &f.carol] {
        assert_eq!(node.ingest(&said[0]).unwrap(), Ingest::New);
    }
    for env in f.alice.remove(&c, &f.key_of(&f.bob)).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    // bob signs another version of that message, under the key he still has.
    let bob = f.forger(&f.bob);
    let seq = said[0].header().seq;
    let forged = bob.seal_after(seq, said[0].header().prev, share("what I never said"));
    for node in [&f.alice, &f.carol] {
        let stored = f.count(node);
        let why = rejected(node.ingest(&forged).unwrap());
        assert!(matches!(why, Refusal::DepartedVersion { .. }), "{why}");
        assert_eq!(f.count(node), stored, "stored");
        assert_eq!(node.store().fork_count(&c), 0, "kept as a fork");
        assert_eq!(f.shares(node), ["what I really said"]);
    }
}

#[test]
fn a_removed_member_cannot_slip_in_other_versions_of_messages_a_node_does_not_hold_yet() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    // bob says two things; alice holds both, carol neither yet.
    let first = f.bob.share(&c, "what I really said first").unwrap();
    let last = f.bob.share(&c, "what I really said last").unwrap();
    for env in [&first[0], &last[0]] {
        assert_eq!(f.alice.ingest(env).unwrap(), Ingest::New);
    }
    // alice removes bob: her removal pins his last message by its id.
    for env in f.alice.remove(&c, &f.key_of(&f.bob)).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    // bob signs other versions of both numbers, under the key he still has, and gets them
    // to carol first.
    let bob = f.forger(&f.bob);
    let (one, two) = (first[0].header(), last[0].header());
    let forged_last = bob.seal_after(two.seq, two.prev, share("what I never said last"));
    let why = rejected(f.carol.ingest(&forged_last).unwrap());
    assert!(matches!(why, Refusal::DepartedVersion { .. }), "{why}");
    // The real last message comes; then an other version of the one before it, which the
    // real last one does not name.
    assert_eq!(f.carol.ingest(&last[0]).unwrap(), Ingest::New);
    let forged_first = bob.seal_after(one.seq, one.prev, share("what I never said first"));
    let why = rejected(f.carol.ingest(&forged_first).unwrap());
    assert!(matches!(why, Refusal::DepartedVersion { .. }), "{why}");
    assert_eq!(f.carol.ingest(&first[0]).unwrap(), Ingest::New);
    assert_eq!(f.carol.store().fork_count(&c), 0, "kept as a fork");
    // Only the real versions are held (in either order: both may carry one millisecond, and
    // carol took the last one first).
    let mut held = f.shares(&f.carol);
    held.sort();
    assert_eq!(
        held,
        ["what I really said first", "what I really said last"]
    );
}

#[test]
fn a_removed_members_other_version_of_a_message_a_node_holds_neither_of_nor_its_next_is_refused() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    // bob says three things; alice holds them all, carol none.
    let said: Vec<Envelope> = ["first", "second", "last"]
        .iter()
        .map(|text| f.bob.share(&c, text).unwrap().remove(0))
        .collect();
    for env in &said {
        assert_eq!(f.alice.ingest(env).unwrap(), Ingest::New);
    }
    // alice removes bob: her removal pins his last message by its id.
    for env in f.alice.remove(&c, &f.key_of(&f.bob)).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    // bob signs another version of his first message and gets it to carol first: she holds
    // neither that number nor the next, so nothing yet says which version is his.
    let bob = f.forger(&f.bob);
    let first = said[0].header();
    let forged = bob.seal_after(first.seq, first.prev, share("what I never said"));
    let stored = f.count(&f.carol);
    assert!(matches!(
        f.carol.ingest(&forged).unwrap(),
        Ingest::Later(Refusal::DepartedUnlinked { .. })
    ));
    // Nor is the real first message taken before the one after it.
    assert!(matches!(
        f.carol.ingest(&said[0]).unwrap(),
        Ingest::Later(_)
    ));
    assert_eq!(f.count(&f.carol), stored, "stored");
    // From the pinned message down, the real ones are taken, and the other version is
    // refused for good.
    for env in said.iter().rev() {
        assert_eq!(f.carol.ingest(env).unwrap(), Ingest::New);
    }
    let why = rejected(f.carol.ingest(&forged).unwrap());
    assert!(matches!(why, Refusal::DepartedVersion { .. }), "{why}");
    assert_eq!(f.carol.store().fork_count(&c), 0, "kept as a fork");
    let mut held = f.shares(&f.carol);
    held.sort();
    assert_eq!(held, ["first", "last", "second"]);
}

#[test]
fn a_node_that_missed_all_of_a_removed_members_messages_gets_every_one_up_to_the_cut_by_sync() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    // bob says more than one sync page holds; alice holds it all, carol none of it.
    const SAID: usize = SYNC_PAGE_MESSAGES + 50;
    for i in 0..SAID {
        for env in f.bob.share(&c, &format!("day {i}")).unwrap() {
            assert_eq!(f.alice.ingest(&env).unwrap(), Ingest::New);
        }
    }
    for env in f.alice.remove(&c, &f.key_of(&f.bob)).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    // carol syncs with alice: a removed member's messages come from the pinned one down,
    // a page at a time, and each is taken.
    sync_offline(&f.carol, &f.alice, &c);
    let bob = f.key_of(&f.bob);
    let upto = f.alice.store().max_seq(&c, &bob).unwrap();
    for seq in 1..=upto {
        assert_eq!(
            f.carol.store().id_at(&c, &bob, seq).unwrap(),
            f.alice.store().id_at(&c, &bob, seq).unwrap(),
            "bob's message {seq}"
        );
    }
    assert_eq!(
        f.shares(&f.carol)
            .iter()
            .filter(|t| t.starts_with("day "))
            .count(),
        SAID
    );
}

#[test]
fn a_removal_carries_its_new_key_in_the_one_operation() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    let written = f.alice.remove(&c, &bob_key).unwrap();
    assert_eq!(
        written.len(),
        1,
        "the removal and its new key are one message"
    );
    let removal = &written[0];
    for node in [&f.carol, &f.bob] {
        assert_eq!(node.ingest(removal).unwrap(), Ingest::New);
    }
    // carol writes under the new key at once, with no rotation of her own; bob, who got the
    // removal, cannot read it.
    let said = f.carol.share(&c, "after bob").unwrap();
    assert_eq!(said.len(), 1, "carol had to rekey");
    let epoch = epoch_of(&c, &f.key_of(&f.alice), removal.header().seq);
    assert_eq!(said[0].header().epoch, epoch);
    assert_eq!(f.alice.ingest(&said[0]).unwrap(), Ingest::New);
    assert!(!matches!(f.bob.ingest(&said[0]).unwrap(), Ingest::New));
}

#[test]
fn a_removal_carrying_a_key_that_fails_its_commitment_removes_and_the_key_is_refused() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let bob_key = f.key_of(&f.bob);
    // alice's modified program removes bob with a key committed to as another.
    let alice = f.forger(&f.alice);
    let seq = alice.seq.get() + 1;
    let epoch = epoch_of(&c, &f.key_of(&f.alice), seq);
    let (key, other) = (CircleKey::generate(), CircleKey::generate());
    let stays = [f.secret(&f.alice), f.secret(&f.carol)];
    let removal = alice.next(acked(
        &f.alice,
        &c,
        Op::RemoveAt {
            member: bob_key,
            upto: 0,
            last: None,
            key: Some((
                copies(c, &stays.iter().collect::<Vec<_>>(), epoch, &key),
                key_commitment(&c, epoch, &other.to_bytes()),
            )),
        },
    ));
    assert_eq!(f.carol.ingest(&removal).unwrap(), Ingest::New);
    assert_eq!(
        f.roles(&f.carol),
        roles(&[("alice", "admin"), ("carol", "member")])
    );
    // carol does not take that key: her next write starts another, without bob.
    let written = f.carol.share(&c, "after bob").unwrap();
    assert_eq!(
        written.len(),
        2,
        "carol took a key that fails its commitment"
    );
    assert_ne!(written[1].header().epoch, epoch);
    assert!(!matches!(f.bob.ingest(&written[1]).unwrap(), Ingest::New));
}

#[test]
fn a_member_who_left_cannot_post_again() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let goodbye = f.carol.share(&c, "thank you all").unwrap();
    let leave = f.carol.leave(&c).unwrap();
    let carol = f.forger(&f.carol);
    let cases = [
        ("a share after leaving", carol.next(share("I am back"))),
        (
            "an operation after leaving",
            carol.next(op(Op::Grant {
                member: f.key_of(&f.carol),
            })),
        ),
    ];
    for victim in [&f.alice, &f.bob] {
        // The leave arrives first; what carol said before it still counts.
        assert_eq!(victim.ingest(&leave[0]).unwrap(), Ingest::New);
        assert_eq!(victim.ingest(&goodbye[0]).unwrap(), Ingest::New);
        for (name, env) in &cases {
            let stored = f.count(victim);
            let why = rejected(victim.ingest(env).unwrap());
            assert!(
                matches!(why, Refusal::NoLongerMember { .. }),
                "{name}: {why}"
            );
            assert_eq!(f.count(victim), stored, "{name}: stored");
        }
        assert_eq!(f.shares(victim), ["thank you all"]);
        assert_eq!(victim.members(&c).unwrap().len(), 2);
    }
    let err = f.carol.share(&c, "one more thing").unwrap_err().to_string();
    assert!(err.contains("you left"), "{err}");
}

#[test]
fn join_requests_that_do_not_hold_up_are_refused_each_with_its_reason() {
    let alice = node("alice");
    let c = alice.create("Joining", None).unwrap();
    let (dave, erin, frank) = (node("dave"), node("erin"), node("frank"));
    let soon = now_secs() + 60;
    let invite = |uses: u32, bound: Option<&[u8]>| {
        alice
            .create_invite(&c, soon, uses, bound.map(<[u8]>::to_vec), vec![])
            .unwrap()
            .0
    };
    let open = invite(2, None);
    let spent = invite(1, None);
    let revoked = invite(1, None);
    alice.revoke_invite(&c, &revoked.id().to_string()).unwrap();
    let bound = invite(1, Some(frank.node_id()));
    let unregistered = Invite::create(&MemberSecret::generate(), c, "Joining", soon, vec![]);

    // erin spends `spent`, then leaves, so her member key is a departed one.
    let erin_secret = erin.join_secret(&spent).unwrap();
    let erin_request = Circles::join_request(&spent, &erin_secret, "erin", erin.node_id()).unwrap();
    let (JoinResponse::Welcome(welcome), _) = alice
        .admit(&erin_request, now_secs(), vec![], erin.node_id())
        .unwrap()
    else {
        panic!("erin was refused");
    };
    erin.accept_welcome(&spent, erin_secret.clone(), &welcome)
        .unwrap();
    for env in erin.leave(&c).unwrap() {
        assert_eq!(alice.ingest(&env).unwrap(), Ingest::New);
    }

    let dave_secret = MemberSecret::generate();
    let request = |invite: &Invite| {
        Circles::join_request(invite, &dave_secret, "dave", dave.node_id()).unwrap()
    };
    let good = request(&open);
    let with_profile = |profile: Vec<u8>| JoinRequest {
        proof: open.secret.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
        profile,
        ..good.clone()
    };
    let mut badly_signed = good.profile.clone();
    let last = badly_signed.len() - 1;
    badly_signed[last] ^= 1;
    let dave_node: &[u8] = dave.node_id();
    let cases: Vec<(&str, JoinRequest, &[u8], u64, PeerRefusal)> = vec![
        (
            "a proof signed with another key",
            JoinRequest {
                proof: MemberSecret::generate().sign(JOIN_PROOF_DOMAIN, &good.profile),
                ..good.clone()
            },
            dave_node,
            now_secs(),
            PeerRefusal::InviteProof,
        ),
        (
            "a proof made with another invite",
            JoinRequest {
                invite: revoked.id(),
                ..good.clone()
            },
            dave_node,
            now_secs(),
            PeerRefusal::InviteProof,
        ),
        (
            "an invite the circle never registered",
            request(&unregistered),
            dave_node,
            now_secs(),
            PeerRefusal::UnknownInvite,
        ),
        (
            "a profile for another circle",
            with_profile(
                Profile::sign(&dave_secret, CircleId::random(), "dave", dave_node).unwrap(),
            ),
            dave_node,
            now_secs(),
            PeerRefusal::OtherCircle,
        ),
        (
            "a profile that does not decode",
            with_profile(vec![0xAB; 40]),
            dave_node,
            now_secs(),
            PeerRefusal::BadProfile("does not decode".into()),
        ),
        (
            "a profile with a bad signature",
            with_profile(badly_signed),
            dave_node,
            now_secs(),
            PeerRefusal::BadProfile("bad signature".into()),
        ),
        (
            "a profile naming another node than the one asking",
            good.clone(),
            erin.node_id(),
            now_secs(),
            PeerRefusal::OtherNode,
        ),
        (
            "an expired invite",
            good.clone(),
            dave_node,
            soon + 1,
            PeerRefusal::InviteExpired,
        ),
        (
            "a used-up invite",
            request(&spent),
            dave_node,
            now_secs(),
            PeerRefusal::InviteUsedUp,
        ),
        (
            "a revoked invite",
            request(&revoked),
            dave_node,
            now_secs(),
            PeerRefusal::InviteRevoked,
        ),
        (
            "an invite made for another node",
            request(&bound),
            dave_node,
            now_secs(),
            PeerRefusal::InviteForAnotherNode,
        ),
        (
            "a member key that left",
            Circles::join_request(&open, &erin_secret, "erin", erin.node_id()).unwrap(),
            erin.node_id(),
            now_secs(),
            PeerRefusal::KeyLeft,
        ),
    ];
    let before = (
        alice.store().message_count(&c),
        alice.members(&c).unwrap().len(),
    );
    for (name, req, remote, now, reason) in cases {
        match alice.admit(&req, now, vec![], remote).unwrap() {
            (JoinResponse::Refused { reason: why }, written) => {
                let same = match (&why, &reason) {
                    // What does not read says why in the profile check's own words.
                    (PeerRefusal::BadProfile(got), PeerRefusal::BadProfile(part)) => {
                        got.contains(part.as_str())
                    }
                    _ => why == reason,
                };
                assert!(same, "{name}: refused with {why:?}");
                assert!(written.is_empty(), "{name}: refused but announced");
            }
            (JoinResponse::Welcome(_) | JoinResponse::Preview(_), _) => panic!("{name}: admitted"),
        }
        assert_eq!(
            (
                alice.store().message_count(&c),
                alice.members(&c).unwrap().len()
            ),
            before,
            "{name}: something was written"
        );
    }
    // The same invites, presented properly, let their people in.
    let frank_secret = MemberSecret::generate();
    let frank_request =
        Circles::join_request(&bound, &frank_secret, "frank", frank.node_id()).unwrap();
    for (who, req, remote) in [
        ("dave", &good, dave.node_id()),
        ("frank", &frank_request, frank.node_id()),
    ] {
        let (response, written) = alice.admit(req, now_secs(), vec![], remote).unwrap();
        assert!(matches!(response, JoinResponse::Welcome(_)), "{who}");
        assert!(!written.is_empty(), "{who}: admission not announced");
    }
    assert_eq!(alice.members(&c).unwrap().len(), 3);
}

#[test]
fn a_retried_join_is_answered_again_without_spending_another_use() {
    let (alice, dave) = (node("alice"), node("dave"));
    let circle = alice.create("One use", None).unwrap();
    let (invite, _) = alice
        .create_invite(&circle, now_secs() + 60, 1, None, vec![])
        .unwrap();
    let first = dave.join_secret(&invite).unwrap();
    let request = Circles::join_request(&invite, &first, "dave", dave.node_id()).unwrap();
    let (JoinResponse::Welcome(_lost), written) = alice
        .admit(&request, now_secs(), vec![], dave.node_id())
        .unwrap()
    else {
        panic!("not admitted");
    };
    assert!(!written.is_empty());
    // The welcome was lost on the way; dave's node tries again with the same invite.
    let again = dave.join_secret(&invite).unwrap();
    assert_eq!(
        again.public(),
        first.public(),
        "a retry must reuse the kept member secret"
    );
    let request = Circles::join_request(&invite, &again, "dave", dave.node_id()).unwrap();
    let (JoinResponse::Welcome(welcome), written) = alice
        .admit(&request, now_secs(), vec![], dave.node_id())
        .unwrap()
    else {
        panic!("the retry was not answered");
    };
    assert!(written.is_empty(), "a retry wrote a second admission");
    assert_eq!(
        dave.accept_welcome(&invite, again, &welcome).unwrap(),
        circle
    );
    assert_eq!(
        alice.members(&circle).unwrap().len(),
        2,
        "one person, one admission"
    );
    let after = dave.join_secret(&invite).unwrap();
    assert_ne!(
        after.public(),
        first.public(),
        "the kept secret is dropped once joined"
    );
    // Someone else with the same (now spent) invite is refused.
    let erin =
        Circles::join_request(&invite, &MemberSecret::generate(), "erin", dave.node_id()).unwrap();
    assert!(matches!(
        alice
            .admit(&erin, now_secs(), vec![], dave.node_id())
            .unwrap(),
        (
            JoinResponse::Refused {
                reason: PeerRefusal::InviteUsedUp
            },
            _
        )
    ));
}

#[test]
fn sync_is_served_only_to_members_proving_it_on_this_connection() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let (bob_peer, carol_peer, mallory_peer) =
        (peer_of(&f.bob), peer_of(&f.carol), PeerId::random());
    let own = f.carol.sync_request(&c, &carol_peer, &bob_peer).unwrap();
    let claimed = |member: MemberKey| SyncRequest {
        member,
        ..own.clone()
    };
    let cases: Vec<(&str, SyncRequest, PeerId, bool)> = vec![
        (
            "a member's request on its own connection",
            own.clone(),
            carol_peer,
            true,
        ),
        (
            "claimed by an outsider",
            claimed(MemberSecret::generate().public()),
            carol_peer,
            false,
        ),
        (
            "claimed by another member",
            claimed(f.key_of(&f.alice)),
            carol_peer,
            false,
        ),
        (
            "replayed on another connection",
            own.clone(),
            mallory_peer,
            false,
        ),
        (
            "made for another node",
            f.carol
                .sync_request(&c, &carol_peer, &mallory_peer)
                .unwrap(),
            carol_peer,
            false,
        ),
        (
            "for a circle this node is not in",
            SyncRequest {
                circle: CircleId::random(),
                ..own.clone()
            },
            carol_peer,
            false,
        ),
    ];
    for (name, req, from, served) in cases {
        match f.bob.answer_sync(&req, &from, &bob_peer, vec![]).unwrap() {
            SyncResponse::Page(_) => assert!(served, "{name}: served"),
            SyncResponse::Refused { reason } => {
                assert!(!served, "{name}: refused: {reason}");
                assert_eq!(reason, PeerRefusal::NotServed, "{name}");
            }
        }
    }
}

#[test]
fn a_sync_answer_counts_only_when_its_sender_proves_membership_on_this_connection() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let (bob_peer, carol_peer, mallory_peer) =
        (peer_of(&f.bob), peer_of(&f.carol), PeerId::random());
    let request = f.carol.sync_request(&c, &carol_peer, &bob_peer).unwrap();
    let SyncResponse::Page(page) = f
        .bob
        .answer_sync(&request, &carol_peer, &bob_peer, vec![])
        .unwrap()
    else {
        panic!("a member's request was refused");
    };
    let page = *page;
    let claimed = |member: MemberKey| SyncPage {
        member,
        ..page.clone()
    };
    let cases: Vec<(&str, SyncPage, PeerId, bool)> = vec![
        (
            "the page as bob's node sent it",
            page.clone(),
            bob_peer,
            true,
        ),
        (
            "passed on by another node",
            page.clone(),
            mallory_peer,
            false,
        ),
        (
            "claimed by another member",
            claimed(f.key_of(&f.alice)),
            bob_peer,
            false,
        ),
        (
            "a request's proof reflected as an answer's",
            SyncPage {
                member: request.member,
                proof: request.proof,
                ..page.clone()
            },
            bob_peer,
            false,
        ),
        (
            "claimed by an outsider",
            claimed(MemberSecret::generate().public()),
            bob_peer,
            false,
        ),
    ];
    for (name, page, from, counts) in cases {
        let got = f.carol.check_page(&c, &page, &from, &carol_peer);
        assert_eq!(got.is_ok(), counts, "{name}: {got:?}");
    }
}

#[test]
fn a_removed_member_gets_no_sync_and_its_answers_do_not_count() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let (bob_peer, carol_peer) = (peer_of(&f.bob), peer_of(&f.carol));
    // Before the removal, bob and carol serve each other.
    sync_offline(&f.carol, &f.bob, &c);
    sync_offline(&f.bob, &f.carol, &c);
    for env in f.alice.remove(&c, &f.key_of(&f.bob)).unwrap() {
        assert_eq!(f.carol.ingest(&env).unwrap(), Ingest::New);
    }
    // bob's node has not heard of it: it still asks, and still answers.
    let asks = f.bob.sync_request(&c, &bob_peer, &carol_peer).unwrap();
    match f
        .carol
        .answer_sync(&asks, &bob_peer, &carol_peer, vec![])
        .unwrap()
    {
        SyncResponse::Refused { reason } => assert_eq!(reason, PeerRefusal::NotServed),
        SyncResponse::Page(_) => panic!("a removed member was served"),
    }
    let request = f.carol.sync_request(&c, &carol_peer, &bob_peer).unwrap();
    let SyncResponse::Page(page) = f
        .bob
        .answer_sync(&request, &carol_peer, &bob_peer, vec![])
        .unwrap()
    else {
        panic!("bob's node does not know it was removed");
    };
    let err = f
        .carol
        .check_page(&c, &page, &bob_peer, &carol_peer)
        .unwrap_err();
    assert!(
        err.to_string().contains("did not prove membership"),
        "{err}"
    );
}

#[test]
fn a_sync_page_of_garbage_stores_nothing() {
    let f = circle_of_three("Hostile test");
    let junk: Vec<Vec<u8>> = vec![
        vec![],
        vec![0; 10],
        vec![0xff; 5000],
        b"circle1notreally".to_vec(),
    ];
    let before = f.count(&f.carol);
    assert_eq!(f.carol.apply_page(&f.circle, &junk, &junk).unwrap(), 0);
    assert_eq!(f.count(&f.carol), before);
    assert_eq!(f.carol.members(&f.circle).unwrap().len(), 3);
}

#[test]
fn a_member_admitted_after_us_is_believed_when_the_page_carries_the_admission() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    // dave was admitted by alice after carol last heard anything: carol does not know him.
    let dave = node("dave");
    admit_offline(&f.alice, &c, &dave, "dave");
    assert_eq!(f.carol.members(&c).unwrap().len(), 3);

    // carol asks dave's node (alice, who could vouch, is offline).
    let (carol_peer, dave_peer) = (peer_of(&f.carol), peer_of(&dave));
    let request = f.carol.sync_request(&c, &carol_peer, &dave_peer).unwrap();
    let SyncResponse::Page(page) = dave
        .answer_sync(&request, &carol_peer, &dave_peer, vec![])
        .unwrap()
    else {
        panic!("dave's node refused a member");
    };
    // Without his admission in it, the same page proves nothing.
    let bare = SyncPage {
        ops: f.carol.store().op_envelopes(&c).unwrap(),
        ..(*page).clone()
    };
    assert!(
        f.carol
            .check_page(&c, &bare, &dave_peer, &carol_peer)
            .is_err()
    );
    f.carol
        .check_page(&c, &page, &dave_peer, &carol_peer)
        .unwrap();
    f.carol.apply_page(&c, &page.ops, &page.envelopes).unwrap();
    assert_eq!(f.carol.members(&c).unwrap().len(), 4);
}

/// `forger`'s next operation, a rename (no effect from a plain member), acknowledging only
/// its own chain: as if it had seen nothing of anyone else's.
fn rename_seeing_only_itself(forger: &Forger, name: &str) -> Envelope {
    let own = forger.seq.get();
    let seen = if own > 0 {
        vec![(forger.secret.public(), own)]
    } else {
        vec![]
    };
    let op = Op::Rename { name: name.into() };
    forger.next(Body::Acked(Acked { op, seen }))
}

#[test]
fn a_sync_page_of_two_members_interleaving_floods_of_operations_costs_one_derivation() {
    let f = circle_of_three("Hostile test");
    let c = f.circle;
    let (bob, carol) = (f.forger(&f.bob), f.forger(&f.carol));
    // bob and carol rename in turn, each claiming to have seen none of the other's
    // operations: one at a time, most would make alice's node derive again from all of
    // them. A page of them, as a colluding member's node serves it.
    const FLOOD: usize = 10_000;
    let page: Vec<Vec<u8>> = (0..FLOOD)
        .map(|i| {
            let who = if i % 2 == 0 { &bob } else { &carol };
            rename_seeing_only_itself(who, &format!("flood {i}"))
                .to_bytes()
                .to_vec()
        })
        .collect();
    let before = f.alice.derivation_cost(&c).unwrap();
    assert_eq!(f.alice.apply_page(&c, &page, &[]).unwrap(), FLOOD);
    let after = f.alice.derivation_cost(&c).unwrap();
    let steps = after.steps - before.steps;
    assert!(
        steps <= 3 * FLOOD as u64,
        "{steps} steps for {FLOOD} operations"
    );
    assert!(after.derivations - before.derivations <= 1);
    assert_eq!(f.settings(&f.alice).0, "Hostile test");
}

#[test]
fn a_share_dated_in_the_year_ten_thousand_is_refused_and_cannot_break_the_feed() {
    let f = circle_of_three("Hostile test");
    let bob = f.forger(&f.bob);
    let before = f.count(&f.carol);
    for (name, body) in [
        ("a share", share("from the future")),
        ("an operation", op(Op::Leave)),
    ] {
        let env = bob.seal_with(&bob.key, f.circle, 0, 1, u64::MAX, body);
        let why = rejected(f.carol.ingest(&env).unwrap());
        assert!(
            matches!(&why, Refusal::Malformed(text) if text.contains("9999")),
            "{name}: {why}"
        );
    }
    assert_eq!(f.count(&f.carol), before);
    assert!(f.shares(&f.carol).is_empty());
    assert_eq!(f.carol.members(&f.circle).unwrap().len(), 3);
}

#[test]
fn damaged_invite_tokens_are_refused_with_a_clear_error() {
    let alice = MemberSecret::generate();
    let token = Invite::create(
        &alice,
        CircleId::random(),
        "Tuesday",
        now_secs() + 60,
        vec![],
    )
    .to_token();
    let mid = token.len() / 2;
    let flipped = format!(
        "{}{}{}",
        &token[..mid],
        if &token[mid..mid + 1] == "a" {
            "b"
        } else {
            "a"
        },
        &token[mid + 1..]
    );
    for (bad, words) in [
        (flipped.as_str(), "damaged"),
        (&token[..token.len() - 5], "damaged"),
        ("hello there", "not a circle invite"),
        ("circle1", "damaged"),
    ] {
        let err = Invite::from_token(bad).unwrap_err().to_string();
        assert!(err.contains(words), "{bad:?} gave {err:?}");
    }
    let expired = Invite::create(
        &alice,
        CircleId::random(),
        "Tuesday",
        now_secs() - 1,
        vec![],
    );
    assert!(
        expired
            .check_expiry(now_secs())
            .unwrap_err()
            .to_string()
            .contains("expired")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_bytes_never_panic_any_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Envelope::from_bytes(&bytes);
        let _ = Genesis::open(&bytes);
        let _ = Profile::open(&bytes);
        let _ = Content::from_bytes(&bytes);
        let _ = Invite::from_token(&String::from_utf8_lossy(&bytes));
        let _ = postcard::from_bytes::<Op>(&bytes);
        let _ = postcard::from_bytes::<SyncRequest>(&bytes);
        let _ = postcard::from_bytes::<SyncResponse>(&bytes);
        let _ = postcard::from_bytes::<JoinRequest>(&bytes);
        let _ = postcard::from_bytes::<JoinResponse>(&bytes);
        let _ = postcard::from_bytes::<Welcome>(&bytes);
    }
}

/// Random plaintext sealed and signed by a real member: it gets past every signature check, so
/// only the content checks stand between it and the store.
#[test]
fn random_content_from_a_member_is_refused_without_panic() {
    let f = circle_of_three("Hostile test");
    let bob = f.forger(&f.bob);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..512), |plain| {
            let seq = bob.seq.get() + 1;
            bob.seq.set(seq);
            let env = Envelope::seal(
                &bob.secret,
                &bob.key,
                header(&bob.secret, f.circle, 0, seq),
                &plain,
            )
            .unwrap();
            let before = f.count(&f.carol);
            let got = f.carol.ingest(&env).unwrap();
            if Content::from_bytes(&plain).is_ok() {
                prop_assert_eq!(got, Ingest::New);
            } else {
                prop_assert!(matches!(got, Ingest::Rejected(_)), "got {:?}", got);
                prop_assert_eq!(f.count(&f.carol), before);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(f.carol.members(&f.circle).unwrap().len(), 3);
}
