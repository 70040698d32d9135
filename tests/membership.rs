//! Membership with teeth, on real nodes: removal and leave rotate the key, a removed member
//! reads and sends nothing new, strangers are refused at the door, and one member flooding
//! the circle does not crowd out the others.

mod util;

use std::time::Duration;

use circle::crypto::{Invite, MemberSecret};
use circle::node::{Ingest, NodeConfig, Op};
use util::forge::{Forger, acked, share};
use util::{Member, eventually};

/// The circle of alice (founder), bob and carol, everyone seeing everyone.
async fn tuesday(alice: &Member, others: &[&Member]) -> circle::crypto::CircleId {
    let circle = alice.node.create("Tuesday evening", None).await.unwrap();
    for m in others {
        alice.bring_in(&circle, m).await;
    }
    let all = others.len() + 1;
    for m in others.iter().copied().chain([alice]) {
        eventually(&format!("{} sees {all} members", m.name), || async {
            m.circles().members(&circle).unwrap().len() == all
        })
        .await;
    }
    circle
}

/// The newest message `author` wrote in `circle`, as held by `holder`.
fn newest_by(
    holder: &Member,
    author: &Member,
    circle: &circle::crypto::CircleId,
) -> circle::crypto::Envelope {
    let key = author.circles().my_key(circle).unwrap();
    let store = holder.circles().store();
    let seq = store.max_seq(circle, &key).unwrap();
    store.envelope_at(circle, &key, seq).unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_reads_and_sends_nothing_new_and_is_disconnected() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let carol = Member::new("carol").await;
    let circle = tuesday(&alice, &[&bob, &carol]).await;

    bob.node
        .share(&circle, "Thanks for having me.")
        .await
        .unwrap();
    for m in [&alice, &carol] {
        eventually(&format!("{} sees bob's share", m.name), || async {
            m.shares(&circle)
                .contains(&"Thanks for having me.".to_string())
        })
        .await;
    }

    alice.node.remove(&circle, "bob").await.unwrap();
    eventually("carol sees bob removed", || async {
        carol.circles().members(&circle).unwrap().len() == 2
    })
    .await;
    eventually("bob's node learns it was removed", || async {
        bob.circles().list().unwrap()[0].standing == circle::node::contract::Standing::Removed
    })
    .await;

    alice
        .node
        .share(&circle, "Said after bob left.")
        .await
        .unwrap();
    eventually("carol reads the share under the new key", || async {
        carol
            .shares(&circle)
            .contains(&"Said after bob left.".to_string())
    })
    .await;

    // Even handed the sealed message directly, bob's node cannot open it.
    let after = newest_by(&alice, &alice, &circle);
    assert!(
        matches!(
            bob.circles().ingest(&after).unwrap(),
            Ingest::Later(circle::node::Refusal::EpochNotHeld(_))
        ),
        "bob's node must not hold the new key"
    );
    assert!(
        !bob.shares(&circle)
            .contains(&"Said after bob left.".to_string())
    );
    // What was said before stays readable to him.
    assert!(
        bob.shares(&circle)
            .contains(&"Thanks for having me.".to_string())
    );

    // Bob can send nothing: his node refuses, and every other node refuses what he wrote.
    let err = bob.node.share(&circle, "Still here?").await.unwrap_err();
    assert!(err.to_string().contains("removed"), "{err}");
    eventually(
        "the members' nodes close their connections to bob's",
        || async { bob.node.status().await.unwrap().connected == 0 },
    )
    .await;
    let members = carol.circles().members(&circle).unwrap();
    assert!(members.iter().all(|m| m.name != "bob"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_offline_during_a_removal_gets_the_new_key_and_loses_nothing() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let carol = Member::new("carol").await;
    let circle = tuesday(&alice, &[&bob, &carol]).await;

    let (name, dir) = carol.stop().await;
    alice.node.remove(&circle, "bob").await.unwrap();
    for i in 0..5 {
        alice
            .node
            .share(&circle, &format!("while carol was away {i}"))
            .await
            .unwrap();
    }
    let carol = Member::restart(name, dir).await;
    eventually("carol gets every share sent under the new key", || async {
        let shares = carol.shares(&circle);
        (0..5).all(|i| shares.contains(&format!("while carol was away {i}")))
    })
    .await;
    assert_eq!(carol.circles().members(&circle).unwrap().len(), 2);
    // Carol can write in the new epoch and alice reads it.
    carol
        .node
        .share(&circle, "Back, and caught up.")
        .await
        .unwrap();
    eventually("alice reads carol", || async {
        alice
            .shares(&circle)
            .contains(&"Back, and caught up.".to_string())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_member_leaves_the_next_message_is_sealed_without_them() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let carol = Member::new("carol").await;
    let circle = tuesday(&alice, &[&bob, &carol]).await;

    bob.node.leave(&circle).await.unwrap();
    eventually("alice sees bob gone", || async {
        alice.circles().members(&circle).unwrap().len() == 2
    })
    .await;
    carol
        .node
        .share(&circle, "Said after bob left.")
        .await
        .unwrap();
    eventually("alice reads it", || async {
        alice
            .shares(&circle)
            .contains(&"Said after bob left.".to_string())
    })
    .await;
    let after = newest_by(&alice, &carol, &circle);
    assert!(matches!(
        bob.circles().ingest(&after).unwrap(),
        Ingest::Later(_)
    ));
    assert_eq!(
        bob.circles().list().unwrap()[0].standing,
        circle::node::contract::Standing::Left
    );
    assert!(bob.node.share(&circle, "one more").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_refused_at_the_door_and_let_in_only_to_present_an_invite() {
    // No grace after bob's invite is used up: the door shuts at once.
    let config = NodeConfig::local().with_ended_invite_grace(Duration::ZERO);
    let alice = Member::with_config("alice", config).await;
    let bob = Member::new("bob").await;
    let circle = tuesday(&alice, &[&bob]).await;
    let stranger = Member::new("stranger").await;

    // A well-formed invite alice never made, pointing at alice's node.
    let status = alice.node.status().await.unwrap();
    let forged = Invite::create(
        &MemberSecret::generate(),
        circle,
        "Tuesday evening",
        circle::node::now_secs() + 3600,
        status.listen.clone(),
    );
    // Alice has no invite out: the connection is refused right after the handshake.
    let err = stranger
        .node
        .join(&forged.to_token(), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no longer valid"),
        "refused at the door, not answered: {err}"
    );

    // With an invite of hers out, a stranger may come in to present one, and only that.
    let real = alice
        .node
        .invite(&circle, Duration::from_secs(3600), 1)
        .await
        .unwrap();
    let err = stranger
        .node
        .join(&forged.to_token(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not known"), "{err}");
    eventually("alice closes the stranger's connection", || async {
        stranger.node.status().await.unwrap().connected == 0
    })
    .await;
    assert!(!stranger.circles().contains(&circle));

    // The real invite still works for whoever holds it.
    let joined = stranger.node.join(&real.to_token(), None).await.unwrap();
    assert_eq!(joined, circle);
    eventually("bob sees the newcomer", || async {
        bob.circles().members(&circle).unwrap().len() == 3
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_flooding_does_not_hold_up_the_others_and_nothing_is_lost() {
    // Carol takes at most 5 of an author's messages a second from gossip, 10 at once.
    let config = NodeConfig::local().with_author_limit(5, 10);
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let carol = Member::with_config("carol", config).await;
    let circle = tuesday(&alice, &[&bob, &carol]).await;

    const FLOOD: usize = 300;
    let flooder = {
        let node = bob.node.clone();
        tokio::spawn(async move {
            for i in 0..FLOOD {
                node.share(&circle, &format!("flood {i}")).await.unwrap();
            }
        })
    };
    // Alice speaks while bob floods: her message arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    alice
        .node
        .share(&circle, "I need to talk tonight.")
        .await
        .unwrap();
    eventually("carol gets alice's message during the flood", || async {
        carol
            .shares(&circle)
            .contains(&"I need to talk tonight.".to_string())
    })
    .await;
    flooder.await.unwrap();
    // And sync delivers every message of bob's in the end: nothing is lost.
    eventually("carol holds all of bob's messages", || async {
        carol
            .shares(&circle)
            .iter()
            .filter(|t| t.starts_with("flood "))
            .count()
            == FLOOD
    })
    .await;
}

/// Of `envelopes`, how many `member`'s node holds.
fn held(member: &Member, envelopes: &[circle::crypto::Envelope]) -> usize {
    let store = member.circles().store();
    envelopes
        .iter()
        .filter(|e| store.has_message(&e.id()).unwrap())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_flooding_operations_by_gossip_makes_no_node_derive_past_its_budget_and_sync_brings_them_all()
 {
    // alice's node takes any number of bob's messages by gossip, but at most 5 of his
    // membership operations a minute; it syncs only when asked to.
    const BUDGET: usize = 5;
    let config = NodeConfig::local()
        .with_author_limit(10_000, 10_000)
        .with_author_ops_per_minute(BUDGET)
        .with_sync_interval(Duration::from_secs(3600));
    let alice = Member::with_config("alice", config).await;
    let bob = Member::new("bob").await;
    let circle = tuesday(&alice, &[&bob]).await;
    let before = alice.circles().derivation_cost(&circle).unwrap();

    // bob's modified program writes 100 renames (a plain member's: no effect) and gossips
    // them with a share after them. (It keeps them on his node for sync only afterwards, so
    // a sync still running from when bob came in cannot bring them meanwhile.)
    const FLOOD: usize = 100;
    let forger = Forger::of(bob.circles(), &circle);
    let flood: Vec<_> = (0..FLOOD)
        .map(|i| {
            let rename = Op::Rename {
                name: format!("flood {i}"),
            };
            forger.next(acked(bob.circles(), &circle, rename))
        })
        .collect();
    let after = forger.next(share("Still here."));
    let gossiped: Vec<_> = flood.iter().chain([&after]).cloned().collect();
    eventually("alice's node takes the share after the flood", || async {
        // Again until the mesh carries it (identical bytes again are gossip duplicates).
        bob.node.publish(gossiped.clone()).await.unwrap();
        alice.circles().store().has_message(&after.id()).unwrap()
    })
    .await;
    // Gossip took only the budget's worth of operations: only those could each make the
    // node derive again.
    let by_gossip = held(&alice, &flood);
    assert!(
        by_gossip <= BUDGET,
        "{by_gossip} operations taken by gossip"
    );
    let cost = alice.circles().derivation_cost(&circle).unwrap();
    assert!(cost.derivations - before.derivations <= BUDGET as u64);

    // Nothing is lost: the next sync (here, when the connection comes back) brings the rest,
    // a page of them at a time.
    for env in &gossiped {
        bob.circles().store().put_envelope(env, None).unwrap();
    }
    let bob_peer = bob.node.peer_id();
    alice.node.cut_off(vec![bob_peer]).await.unwrap();
    alice.node.cut_off(vec![]).await.unwrap();
    eventually("alice's node holds every operation by sync", || async {
        held(&alice, &flood) == FLOOD
    })
    .await;
    let cost = alice.circles().derivation_cost(&circle).unwrap();
    assert!(
        cost.steps - before.steps <= 20 * FLOOD as u64,
        "{} steps",
        cost.steps - before.steps
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_members_messages_republished_by_a_colluding_member_are_not_stored() {
    // alice's node takes at most 4 messages of one author at once by gossip, whoever
    // delivers them; it syncs only when a connection opens.
    let config = NodeConfig::local()
        .with_author_limit(2, 4)
        .with_sync_interval(Duration::from_secs(3600));
    let alice = Member::with_config("alice", config).await;
    let bob = Member::new("bob").await;
    let carol = Member::new("carol").await;
    let circle = tuesday(&alice, &[&bob, &carol]).await;
    let mut said = Vec::new();
    for text in ["Day 1.", "Day 2.", "Day 3."] {
        said.push(bob.node.share(&circle, text).await.unwrap());
    }
    eventually("alice and carol hold bob's shares", || async {
        [&alice, &carol].iter().all(|m| {
            said.iter()
                .all(|id| m.circles().store().has_message(id).unwrap())
        })
    })
    .await;
    alice.node.remove(&circle, "bob").await.unwrap();
    eventually("carol sees bob removed", || async {
        carol.circles().members(&circle).unwrap().len() == 2
    })
    .await;
    // bob's secret, for carol's modified program; then bob's node goes away.
    let bob_forger = Forger::of(bob.circles(), &circle);
    let _bob_home = bob.stop().await;

    // carol's modified program republishes bob's old messages, other versions of them and
    // 30 new ones, as fast as it can.
    let store = carol.circles().store();
    let bob_key = bob_forger.secret.public();
    let mut republished = Vec::new();
    let mut refused = Vec::new();
    for seq in 1..=bob_forger.seq.get() {
        let Some(old) = store.envelope_at(&circle, &bob_key, seq).unwrap() else {
            continue;
        };
        let other = bob_forger.seal_after(seq, old.header().prev, share("Another version."));
        republished.push(old);
        refused.push(other);
    }
    for i in 0..30 {
        refused.push(bob_forger.next(share(&format!("Back again {i}."))));
    }
    republished.extend(refused.iter().cloned());
    carol.node.publish(republished).await.unwrap();
    // Then carol's own messages, until one arrives: whatever bob's limit, hers is her own
    // (scored down for what she passed on, her node is heard again once that decays).
    let carol_forger = Forger::of(carol.circles(), &circle);
    let hers = std::sync::Mutex::new(Vec::new());
    eventually("carol's own message reaches alice by gossip", || async {
        let mine = carol_forger.next(share("Carol here."));
        carol.node.publish(vec![mine.clone()]).await.unwrap();
        let mut hers = hers.lock().unwrap();
        hers.push(mine.id());
        hers.iter()
            .any(|id| alice.circles().store().has_message(id).unwrap())
    })
    .await;
    let store = alice.circles().store();
    for envelope in &refused {
        assert!(
            !store.has_message(&envelope.id()).unwrap(),
            "alice's node stored bob's message {} after his removal",
            envelope.header().seq
        );
    }
    let members = alice.circles().members(&circle).unwrap();
    assert!(members.iter().all(|m| m.name != "bob"));
}

/// Whether `who`'s node is connected to `other`'s.
async fn is_connected(who: &Member, other: &Member) -> bool {
    let other = other.node.peer_id().to_string();
    let status = who.node.status().await.expect("status");
    status.peers.iter().any(|p| p.peer_id == other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_members_node_still_connected_through_another_circle_passes_on_nothing_in_the_old_one()
 {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let carol = Member::new("carol").await;
    let tuesday = tuesday(&alice, &[&bob, &carol]).await;
    // alice and bob also meet on Thursdays, without carol.
    let thursday = alice.node.create("Thursday", None).await.unwrap();
    alice.bring_in(&thursday, &bob).await;
    eventually("alice sees bob on Thursday", || async {
        alice.circles().members(&thursday).unwrap().len() == 2
    })
    .await;

    alice.node.remove(&tuesday, "bob").await.unwrap();
    eventually("carol sees bob removed", || async {
        carol.circles().members(&tuesday).unwrap().len() == 2
    })
    .await;
    // For a while alice's node does not hear carol's, so what carol writes next is something
    // alice does not hold yet.
    alice
        .node
        .cut_off(vec![carol.node.peer_id()])
        .await
        .unwrap();
    carol
        .node
        .cut_off(vec![alice.node.peer_id()])
        .await
        .unwrap();
    eventually("alice's and carol's nodes are apart", || async {
        !is_connected(&alice, &carol).await && !is_connected(&carol, &alice).await
    })
    .await;
    let said = carol
        .node
        .share(&tuesday, "Said after bob was removed.")
        .await
        .unwrap();
    let hers = newest_by(&carol, &carol, &tuesday);
    assert_eq!(hers.id(), said);
    assert!(!alice.circles().store().has_message(&said).unwrap());

    // bob's node is still connected to alice's through Thursday. His modified program passes
    // carol's message (which it got as ciphertext) on to Tuesday's topic, then shares
    // something on Thursday: once alice holds that, she has judged carol's message too.
    assert!(
        is_connected(&alice, &bob).await,
        "Thursday keeps bob's node connected"
    );
    let marker = std::sync::Mutex::new(Vec::new());
    eventually("bob's Thursday share reaches alice by gossip", || async {
        bob.node.publish(vec![hers.clone()]).await.unwrap();
        let id = bob
            .node
            .share(&thursday, "See you Thursday.")
            .await
            .unwrap();
        let mut marker = marker.lock().unwrap();
        marker.push(id);
        marker
            .iter()
            .any(|id| alice.circles().store().has_message(id).unwrap())
    })
    .await;
    assert!(
        !alice.circles().store().has_message(&said).unwrap(),
        "alice's node took carol's message from the node of bob, no longer a member of Tuesday"
    );

    // Together again, alice gets it from carol.
    alice.node.cut_off(vec![]).await.unwrap();
    carol.node.cut_off(vec![]).await.unwrap();
    eventually("alice gets carol's message from carol", || async {
        alice.circles().store().has_message(&said).unwrap()
    })
    .await;
    assert!(
        alice
            .shares(&tuesday)
            .contains(&"Said after bob was removed.".to_string())
    );
}
