//! Logs that show their gaps: each author's messages form a hash-linked chain, so a gap or a
//! fork (two messages with one number) is seen. A fork is kept, flagged and shown, and sync
//! passes it on until every member holds every version; a gap is reported until sync fills
//! it. Sync costs what is missing, not the history.
//!
//! alice, bob and carol are real nodes' circles: in temp homes with no network where messages
//! move by hand through the calls the network task makes (`ingest`, `answer_sync`,
//! `check_page`, `apply_sync_page`), and two real nodes on 127.0.0.1 for gossip and sync.
//! bob's second versions come from a modified program: a message sealed and signed with his
//! own member secret, read from his node's store (tests/util/forge.rs).

mod util;

use circle::crypto::{CircleId, CircleKey, Envelope, MAX_ENVELOPE_BYTES, MemberSecret, MessageId};
use circle::node::{
    CircleLog, Circles, ForkLog, Ingest, InvitePolicy, MAX_FORK_VERSIONS, MAX_HELD_RANGES,
    MAX_REQUEST_BYTES, MAX_SYNC_VERSIONS, Op, SyncPage, SyncRequest, SyncResponse, now_ms,
};
use util::fixture::circle_of_three;
use util::forge::{Forger, acked, share};
use util::{Member, eventually, peer_of, sync_offline};

/// Someone's program writing another version of message `seq` of its chain, linked like the
/// first.
fn other_version(forger: &Forger, node: &Circles, seq: u64, text: &str) -> Envelope {
    let first = node
        .store()
        .envelope_at(&forger.circle, &forger.secret.public(), seq)
        .unwrap()
        .expect("the first version is held");
    forger.seal_after(seq, first.header().prev, share(text))
}

/// The one circle's log on `node`.
fn log_of(node: &Circles) -> CircleLog {
    let [log]: [CircleLog; 1] = node.log_health().unwrap().try_into().unwrap();
    log
}

/// (name, missing, forks) of each author with a gap or a fork on `node`.
fn problems(node: &Circles) -> Vec<(String, u64, Vec<ForkLog>)> {
    log_of(node)
        .authors
        .into_iter()
        .map(|a| (a.name, a.missing, a.forks))
        .collect()
}

fn fork(seq: u64, versions: usize, held: usize) -> ForkLog {
    ForkLog {
        seq,
        versions,
        held,
    }
}

/// Texts of `node`'s shares, each with whether it is marked as another version.
fn shares(node: &Circles, circle: &CircleId) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = node
        .feed(circle, 0, None)
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == circle::node::contract::Kind::Share)
        .map(|i| (i.text, i.fork))
        .collect();
    out.sort();
    out
}

/// One sync exchange from `to`'s side (`to` asks `from`), page taken in; returns the page.
fn one_page(to: &Circles, from: &Circles, circle: &CircleId) -> SyncPage {
    let (local, remote) = (peer_of(to), peer_of(from));
    let request = to.sync_request(circle, &local, &remote).unwrap();
    let SyncResponse::Page(page) = from.answer_sync(&request, &local, &remote, vec![]).unwrap()
    else {
        panic!("a member's request was refused");
    };
    to.check_page(circle, &page, &remote, &local).unwrap();
    to.apply_sync_page(circle, &page.ops, &page.envelopes, &page.forks)
        .unwrap();
    *page
}

/// Both ways until nothing new moves.
fn sync_both(a: &Circles, b: &Circles, circle: &CircleId) {
    for _ in 0..8 {
        let p = one_page(a, b, circle);
        let q = one_page(b, a, circle);
        let moved = p.envelopes.len() + p.forks.len() + q.envelopes.len() + q.forks.len();
        if moved == 0 {
            return;
        }
    }
    panic!("sync did not settle");
}

#[test]
fn a_fork_is_kept_flagged_shown_and_replayed_as_a_duplicate() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let bob = Forger::of(&f.bob, &c);
    let first = bob.next(share("Day 3. Made it to the meeting."));
    assert_eq!(f.carol.ingest(&first).unwrap(), Ingest::New);
    assert_eq!(problems(&f.carol), []);
    let seq = first.header().seq;
    let other = other_version(&bob, &f.carol, seq, "Day 3. Skipped the meeting.");
    assert_eq!(f.carol.ingest(&other).unwrap(), Ingest::Fork);
    assert_eq!(f.carol.ingest(&other).unwrap(), Ingest::Duplicate);
    assert_eq!(
        problems(&f.carol),
        [("bob".to_string(), 0, vec![fork(seq, 2, 2)])]
    );
    assert_eq!(
        shares(&f.carol, &c),
        [
            ("Day 3. Made it to the meeting.".into(), false),
            ("Day 3. Skipped the meeting.".into(), true)
        ]
    );
    // The chain keeps the first version; bob's next message goes on as usual.
    assert_eq!(f.carol.store().head(&c, &bob.secret.public()).unwrap(), seq);
    assert_eq!(
        f.carol.ingest(&bob.next(share("Day 4."))).unwrap(),
        Ingest::New
    );
}

#[test]
fn a_member_who_tells_two_nodes_two_stories_is_found_out_when_they_sync() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let bob = Forger::of(&f.bob, &c);
    let to_alice = bob.next(share("I am fine."));
    let seq = to_alice.header().seq;
    let to_carol = bob.seal_after(seq, to_alice.header().prev, share("I am not fine."));
    assert_eq!(f.alice.ingest(&to_alice).unwrap(), Ingest::New);
    assert_eq!(f.carol.ingest(&to_carol).unwrap(), Ingest::New);
    // Each holds one version, at the head of bob's chain: neither can tell yet.
    assert_eq!(problems(&f.alice), []);
    assert_eq!(problems(&f.carol), []);

    sync_both(&f.alice, &f.carol, &c);
    for node in [&f.alice, &f.carol] {
        assert_eq!(
            problems(node),
            [("bob".to_string(), 0, vec![fork(seq, 2, 2)])]
        );
    }
    // Each keeps the version it got first in bob's chain, and shows the other as another
    // version.
    assert_eq!(
        shares(&f.alice, &c),
        [
            ("I am fine.".into(), false),
            ("I am not fine.".into(), true)
        ]
    );
    assert_eq!(
        shares(&f.carol, &c),
        [
            ("I am fine.".into(), true),
            ("I am not fine.".into(), false)
        ]
    );
    // Once both hold both, sync has nothing more to say about it.
    let page = one_page(&f.alice, &f.carol, &c);
    assert_eq!((page.envelopes.len(), page.forks.len()), (0, 0));
}

#[test]
fn a_fork_known_only_by_a_later_link_is_filled_by_sync() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let bob = Forger::of(&f.bob, &c);
    let first = bob.next(share("one"));
    let second = bob.next(share("two"));
    // bob's program wrote another "one" and went on from it; carol gets that branch only.
    let other_first = bob.seal_after(first.header().seq, first.header().prev, share("one, again"));
    let other_second = bob.seal_after(
        second.header().seq,
        Some(other_first.id()),
        share("two, again"),
    );
    for e in [&first, &second, &other_second] {
        f.alice.ingest(e).unwrap();
    }
    f.carol.ingest(&other_first).unwrap();
    // alice sees that bob's second message on the other branch names a first she lacks.
    let seq = first.header().seq;
    assert_eq!(
        problems(&f.alice),
        [(
            "bob".to_string(),
            0,
            vec![fork(seq, 2, 1), fork(seq + 1, 2, 2)]
        )]
    );
    sync_both(&f.alice, &f.carol, &c);
    for node in [&f.alice, &f.carol] {
        for e in [&first, &second, &other_first, &other_second] {
            assert!(node.store().has_message(&e.id()).unwrap());
        }
        assert_eq!(
            problems(node),
            [(
                "bob".to_string(),
                0,
                vec![fork(seq, 2, 2), fork(seq + 1, 2, 2)]
            )]
        );
    }
}

#[test]
fn a_gap_is_reported_until_sync_fills_it() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let bob = Forger::of(&f.bob, &c);
    let chain: Vec<Envelope> = (1..=5)
        .map(|i| bob.next(share(&format!("message {i}"))))
        .collect();
    for e in &chain {
        assert_eq!(f.bob.ingest(e).unwrap(), Ingest::New);
    }
    // carol got the first and the last by gossip; three in between went missing.
    for e in [&chain[0], &chain[4]] {
        f.carol.ingest(e).unwrap();
    }
    let log = log_of(&f.carol);
    assert_eq!(log.name, "Tuesday");
    assert_eq!(log.id, c.to_string());
    let [bob_log] = log.authors.try_into().unwrap();
    assert_eq!((bob_log.name.as_str(), bob_log.missing), ("bob", 3));
    assert_eq!(bob_log.head, chain[0].header().seq);
    assert!(bob_log.forks.is_empty());

    // A page carries the gap only: the three missing, not the one held past it (the request
    // says what is held above its head).
    let page = one_page(&f.carol, &f.bob, &c);
    assert_eq!(page.envelopes.len(), 3);
    assert!(log_of(&f.carol).complete());
    assert_eq!(problems(&f.carol), []);
}

#[test]
fn an_up_to_date_member_gets_an_empty_page_however_long_the_history() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    for i in 0..3000 {
        f.alice.share(&c, &format!("check-in {i}")).unwrap();
    }
    assert_eq!(sync_offline(&f.bob, &f.alice, &c), 3000);

    let page = one_page(&f.bob, &f.alice, &c);
    let encoded = postcard::to_allocvec(&SyncResponse::Page(Box::new(page.clone()))).unwrap();
    assert_eq!(
        (
            page.ops.len(),
            page.envelopes.len(),
            page.forks.len(),
            page.more
        ),
        (0, 0, 0, false)
    );
    assert!(
        encoded.len() < 200,
        "an empty page is {} bytes",
        encoded.len()
    );

    // Five more: exactly those five, one of them an operation, each once.
    for i in 0..4 {
        f.alice.share(&c, &format!("late {i}")).unwrap();
    }
    f.alice.set_policy(&c, InvitePolicy::Members).unwrap();
    let before = f.bob.store().message_count(&c);
    let page = one_page(&f.bob, &f.alice, &c);
    assert_eq!(
        (page.ops.len(), page.envelopes.len(), page.forks.len()),
        (1, 4, 0)
    );
    let sizes: usize = page.ops.iter().chain(&page.envelopes).map(Vec::len).sum();
    let encoded = postcard::to_allocvec(&SyncResponse::Page(Box::new(page))).unwrap();
    assert!(
        encoded.len() < sizes + 200,
        "{} bytes for {sizes}",
        encoded.len()
    );
    assert_eq!(f.bob.store().message_count(&c), before + 5);
    assert_eq!(
        f.bob.list().unwrap()[0].invites,
        circle::node::InvitePolicy::Members
    );

    // The requests stay small too: a head and one id per author.
    let request = f
        .bob
        .sync_request(&c, &peer_of(&f.bob), &peer_of(&f.alice))
        .unwrap();
    assert!(postcard::to_allocvec(&request).unwrap().len() < 500);
}

#[test]
fn versions_that_do_not_hold_up_are_refused_and_nothing_is_stored() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let bob = Forger::of(&f.bob, &c);
    let first = bob.next(share("the real one"));
    f.carol.ingest(&first).unwrap();
    let seq = first.header().seq;
    let valid = other_version(&bob, &f.carol, seq, "another");
    let mut bad_signature = valid.to_bytes().to_vec();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 1;
    let now = now_ms();
    let wrong_circle = bob.seal_with(&bob.key, CircleId::random(), 0, seq, now, share("x"));
    let wrong_key = bob.seal_with(&CircleKey::generate(), c, 0, seq, now, share("x"));
    let outsider = Forger::outsider(c, bob.key.clone()).seal(seq, share("x"));
    let empty = bob.seal(seq, share("  "));
    let as_bytes: Vec<(&str, Vec<u8>)> = vec![
        ("a bad signature", bad_signature),
        ("oversized", vec![1; MAX_ENVELOPE_BYTES + 1]),
        ("truncated", valid.to_bytes()[..100].to_vec()),
        ("another circle", wrong_circle.to_bytes().to_vec()),
        ("another key", wrong_key.to_bytes().to_vec()),
        ("an outsider", outsider.to_bytes().to_vec()),
        ("an empty share", empty.to_bytes().to_vec()),
    ];
    for (name, bytes) in &as_bytes {
        if let Ok(env) = Envelope::from_bytes(bytes) {
            let got = f.carol.ingest(&env).unwrap();
            assert!(
                matches!(got, Ingest::Rejected(_) | Ingest::Later(_)),
                "{name}: {got:?}"
            );
        }
    }
    // The same as the fork part of a sync page.
    let junk: Vec<Vec<u8>> = as_bytes.into_iter().map(|(_, b)| b).collect();
    assert_eq!(f.carol.apply_sync_page(&c, &[], &[], &junk).unwrap(), 0);
    assert_eq!(f.carol.store().fork_count(&c), 0);
    assert_eq!(problems(&f.carol), []);
    assert_eq!(shares(&f.carol, &c), [("the real one".into(), false)]);
}

#[test]
fn a_flood_of_versions_of_one_message_is_capped() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let bob = Forger::of(&f.bob, &c);
    let first = bob.next(share("version 0"));
    let seq = first.header().seq;
    let flood: Vec<Envelope> = (1..50)
        .map(|i| bob.seal_after(seq, first.header().prev, share(&format!("version {i}"))))
        .collect();
    f.carol.ingest(&first).unwrap();
    let mut kept = 0;
    for e in &flood {
        match f.carol.ingest(e).unwrap() {
            Ingest::Fork => kept += 1,
            Ingest::Dropped(circle::node::Refusal::TooManyVersions { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(kept, MAX_FORK_VERSIONS - 1);
    assert_eq!(f.carol.store().fork_count(&c), MAX_FORK_VERSIONS - 1);
    assert_eq!(
        problems(&f.carol),
        [(
            "bob".to_string(),
            0,
            vec![fork(seq, MAX_FORK_VERSIONS, MAX_FORK_VERSIONS)]
        )]
    );
    assert_eq!(shares(&f.carol, &c).len(), MAX_FORK_VERSIONS);

    // Through sync too: alice takes the same flood in one page and keeps as many.
    let wire: Vec<Vec<u8>> = flood.iter().map(|e| e.to_bytes().to_vec()).collect();
    let new = f
        .alice
        .apply_sync_page(&c, &[], &[first.to_bytes().to_vec()], &wire)
        .unwrap();
    assert_eq!(new, MAX_FORK_VERSIONS);
    assert_eq!(f.alice.store().fork_count(&c), MAX_FORK_VERSIONS - 1);
}

#[test]
fn a_version_carrying_a_membership_operation_counts_and_is_flagged() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let bob = Forger::of(&f.bob, &c);
    let first = bob.next(share("hello"));
    f.carol.ingest(&first).unwrap();
    let seq = first.header().seq;
    let leave = bob.seal_after(seq, first.header().prev, acked(&f.bob, &c, Op::Leave));
    assert_eq!(f.carol.ingest(&leave).unwrap(), Ingest::Fork);
    // Every version of an operation counts, whichever a node stored first: bob left. His
    // leave pins itself, so the other version numbered alike no longer counts.
    assert_eq!(f.carol.members(&c).unwrap().len(), 2, "bob left");
    assert!(!f.carol.is_member(&c, &bob.secret.public()));
    assert_eq!(shares(&f.carol, &c), [("hello".into(), false)]);
    assert_eq!(
        problems(&f.carol),
        [("bob".to_string(), 0, vec![fork(seq, 2, 2)])]
    );
}

#[test]
fn a_membership_operation_with_another_version_counts_on_every_node_and_is_flagged() {
    // alice (an admin) tells carol "remove bob" and bob something else under the same number.
    // Once each node holds both versions, each counts the removal, whichever it got first;
    // the fork is flagged so people see who did it.
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let alice = Forger::of(&f.alice, &c);
    let bob_key = f.alice.resolve_member(&c, "bob").unwrap();
    let seq = alice.seq.get() + 1;
    let remove = alice.seal(
        seq,
        acked(
            &f.alice,
            &c,
            Op::Remove {
                member: bob_key,
                upto: u64::MAX,
            },
        ),
    );
    let other = alice.seal(seq, share("nothing to see"));
    assert_eq!(f.carol.ingest(&remove).unwrap(), Ingest::New);
    assert_eq!(f.bob.ingest(&other).unwrap(), Ingest::New);
    assert!(
        f.bob.is_member(&c, &bob_key),
        "bob's node has only the share"
    );
    assert_eq!(f.carol.ingest(&other).unwrap(), Ingest::Fork);
    assert_eq!(f.bob.ingest(&remove).unwrap(), Ingest::Fork);
    for (name, node) in [("carol", &f.carol), ("bob", &f.bob)] {
        assert!(!node.is_member(&c, &bob_key), "{name} counted the removal");
    }
    // bob's node says who removed him; carol's flags alice's fork.
    assert_eq!(log_of(&f.bob).removed_by.as_deref(), Some("alice"));
    {
        let (name, node) = ("carol", &f.carol);
        let log = log_of(node);
        let alice_log = log
            .authors
            .iter()
            .find(|a| a.name == "alice")
            .unwrap_or_else(|| panic!("{name}: alice's fork is not flagged: {log:?}"));
        assert!(
            alice_log.forks.iter().any(|fork| fork.seq == seq),
            "{name}: {alice_log:?}"
        );
    }
}

#[test]
fn sync_requests_that_list_too_much_or_nonsense_are_answered_without_harm() {
    let f = circle_of_three("Tuesday");
    let c = f.circle;
    let bob = Forger::of(&f.bob, &c);
    let first = bob.next(share("one"));
    f.alice.ingest(&first).unwrap();
    f.alice
        .ingest(&other_version(&bob, &f.alice, first.header().seq, "two"))
        .unwrap();
    let (carol_peer, alice_peer) = (peer_of(&f.carol), peer_of(&f.alice));
    let own = f.carol.sync_request(&c, &carol_peer, &alice_peer).unwrap();
    let random_ids = |n: usize| -> Vec<MessageId> {
        (0..n)
            .map(|_| MessageId::from_bytes(&MemberSecret::generate().public().to_bytes()).unwrap())
            .collect()
    };
    let bob_key = bob.secret.public();
    let cases: Vec<(&str, SyncRequest)> = vec![
        (
            "far more ids than are read",
            SyncRequest {
                versions: random_ids(MAX_SYNC_VERSIONS * 4),
                ..own.clone()
            },
        ),
        (
            "heads beyond anything written",
            SyncRequest {
                heads: vec![(bob_key, u64::MAX), (bob_key, u64::MAX - 1)],
                ..own.clone()
            },
        ),
        (
            "heads of strangers",
            SyncRequest {
                heads: (0..500)
                    .map(|i| (MemberSecret::generate().public(), i))
                    .collect(),
                ..own.clone()
            },
        ),
        (
            "far more held ranges than are read",
            SyncRequest {
                held: (0..MAX_HELD_RANGES as u64 * 4)
                    .map(|i| (bob_key, i, i + 1))
                    .collect(),
                ..own.clone()
            },
        ),
        (
            "held ranges upside down and to the end of time",
            SyncRequest {
                held: vec![(bob_key, u64::MAX, 0), (bob_key, 0, u64::MAX)],
                ..own.clone()
            },
        ),
        (
            "held ranges of strangers",
            SyncRequest {
                held: (0..500)
                    .map(|i| (MemberSecret::generate().public(), i, i + 10))
                    .collect(),
                ..own.clone()
            },
        ),
    ];
    for (name, request) in cases {
        let encoded = postcard::to_allocvec(&request).unwrap();
        assert!(encoded.len() as u64 <= MAX_REQUEST_BYTES, "{name}");
        match f
            .alice
            .answer_sync(&request, &carol_peer, &alice_peer, vec![])
            .unwrap()
        {
            // At most bob's two versions, and alice's message at carol's head for her when
            // the request does not list its id, whatever else the request says.
            SyncResponse::Page(page) => {
                let moved = page.envelopes.len() + page.forks.len();
                assert!(moved <= 3, "{name}: {moved}");
            }
            SyncResponse::Refused { reason } => panic!("{name}: {reason}"),
        }
    }
}

/// Real nodes: bob's modified program writes other versions of one message. The first goes
/// only by gossip (bob's node publishes it without keeping it, so no sync could carry it to
/// alice), the second only by sync from bob's node, and a third that only alice's node holds
/// reaches bob's node by sync. Both nodes end up holding and flagging all four versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_versions_reach_the_other_node_by_gossip_and_by_sync() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = alice.node.create("Tuesday", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    let first = bob
        .node
        .share(&circle, "Day 3. Made it to the meeting.")
        .await
        .unwrap();
    eventually("alice holds bob's message", || async {
        alice.circles().store().has_message(&first).unwrap()
    })
    .await;

    let forger = Forger::of(bob.circles(), &circle);
    let seq = forger.seq.get();
    let by_gossip = other_version(&forger, bob.circles(), seq, "Day 3. Skipped it.");
    eventually("the other version reaches alice by gossip", || async {
        // Again until it arrives: a publish before the mesh forms is not sent (and the same
        // bytes twice are refused as a duplicate).
        bob.node.publish(vec![by_gossip.clone()]).await.unwrap();
        alice
            .circles()
            .store()
            .has_message(&by_gossip.id())
            .unwrap()
    })
    .await;

    // bob's modified program stores it in his own store, as it stores what it writes (taken
    // in from another node, another version of his own message would tell his node that
    // another copy of it writes, and it would stop: PROTOCOL.md, section 4.5).
    let by_sync = other_version(&forger, bob.circles(), seq, "Day 3. Called my sponsor.");
    assert_eq!(
        bob.circles().store().put_envelope(&by_sync, None).unwrap(),
        circle::node::Stored::Fork
    );
    let only_alice = other_version(&forger, alice.circles(), seq, "Day 3. Went for a walk.");
    assert_eq!(alice.circles().ingest(&only_alice).unwrap(), Ingest::Fork);
    for (member, what) in [
        (&alice, "bob's node's version"),
        (&bob, "the versions alice's node holds"),
    ] {
        eventually(&format!("{} holds {what} by sync", member.name), || async {
            [&by_gossip, &by_sync, &only_alice]
                .iter()
                .all(|e| member.circles().store().has_message(&e.id()).unwrap())
        })
        .await;
    }

    for member in [&alice, &bob] {
        let log = log_of(member.circles());
        let [author] = log.authors.try_into().unwrap();
        assert_eq!(author.name, "bob", "{}", member.name);
        assert_eq!(author.forks, [fork(seq, 4, 4)], "{}", member.name);
        let feed = shares(member.circles(), &circle);
        assert_eq!(feed.len(), 4, "{}: {feed:?}", member.name);
        assert_eq!(feed.iter().filter(|(_, fork)| *fork).count(), 3);
    }
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
