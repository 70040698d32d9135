//! What its author takes back, or sets to disappear, is gone from every node: the feed says
//! so where it was, the number still counts as held, and the same message never comes back.

use std::time::Duration;

use circle::crypto::CircleId;
use circle::node::{Ingest, SyncResponse};

use crate::util::{Member, disk_contains, eventually};
use crate::{Three, feed, holds, item, key, three_members, write};

const WITHDRAWN: &str = "I said something at work today that I regret";
const EXPIRING: &str = "I am at the bar across from the station, someone call me";

fn count(m: &Member, circle: &CircleId) -> usize {
    m.circles().store().message_count(circle)
}

fn in_feed(m: &Member, circle: &CircleId, text: &str) -> bool {
    feed(m, circle).iter().any(|i| i.text.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_share_is_gone_from_every_node_and_never_comes_back() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Taking it back").await;
    let a = key(&alice, &circle);
    let id = alice.node.share(&circle, WITHDRAWN).await.unwrap();
    for m in [&bob, &carol] {
        eventually(&format!("{} has alice's share", m.name), || async {
            in_feed(m, &circle, WITHDRAWN)
        })
        .await;
    }
    let seq = item(&bob, &circle, &id).unwrap().seq;
    let copy = bob
        .circles()
        .store()
        .envelope_at(&circle, &a, seq)
        .unwrap()
        .expect("bob holds the envelope");
    assert_eq!(copy.id(), id);

    // Only its author can take it back.
    let err = bob
        .circles()
        .withdraw(&id.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("only its author can withdraw"), "{err}");
    assert!(in_feed(&bob, &circle, WITHDRAWN));

    write(&alice, move |x| x.withdraw(&id.to_string()).map(|(_, w)| w))
        .await
        .expect("a withdrawal is a message");
    for m in [&alice, &bob, &carol] {
        eventually(
            &format!("{}'s feed says it was withdrawn", m.name),
            || async {
                item(m, &circle, &id).is_some_and(|i| i.gone == Some(circle::node::Gone::Withdrawn))
            },
        )
        .await;
        assert!(!in_feed(m, &circle, WITHDRAWN), "{}", m.name);
        let store = m.circles().store();
        assert!(holds(m, &id), "{}: the number still counts as held", m.name);
        assert!(store.is_gone(&id).unwrap());
        assert!(store.envelope_at(&circle, &a, seq).unwrap().is_none());
    }
    let err = alice
        .circles()
        .withdraw(&id.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("already gone"), "{err}");

    // The same envelope again (a replay, or a late copy from sync) is a duplicate.
    for m in [&bob, &carol] {
        let before = count(m, &circle);
        assert_eq!(m.circles().ingest(&copy).unwrap(), Ingest::Duplicate);
        assert_eq!(count(m, &circle), before);
        assert!(!in_feed(m, &circle, WITHDRAWN));
    }
    // Its text was never on any disk (the envelope is sealed under the circle key).
    for m in [&alice, &bob, &carol] {
        m.circles().store().flush().unwrap();
        assert_eq!(disk_contains(m.dir.path(), WITHDRAWN.as_bytes()), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_share_is_gone_from_every_node_even_one_that_was_offline() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Disappearing").await;
    let a = key(&alice, &circle);
    let (carol_name, carol_dir) = carol.stop().await;

    let id = write(&alice, move |x| {
        x.share_with(&circle, EXPIRING, None, Some(Duration::from_secs(2)))
    })
    .await
    .expect("a share");
    let shared = item(&alice, &circle, &id).expect("alice's feed shows her share");
    assert!(shared.expires_at.is_some(), "{shared:?}");
    let seq = shared.seq;
    eventually("bob holds the expiring share", || async {
        holds(&bob, &id)
    })
    .await;

    // Each running node drops it when its time is up, on its own.
    for m in [&alice, &bob] {
        eventually(
            &format!("{} has dropped the expired share", m.name),
            || async { m.circles().store().is_gone(&id).unwrap() },
        )
        .await;
        assert!(!in_feed(m, &circle, EXPIRING), "{}", m.name);
        if let Some(i) = item(m, &circle, &id) {
            assert_eq!(
                i.gone,
                Some(circle::node::Gone::Expired),
                "{}: {i:?}",
                m.name
            );
        }
        let store = m.circles().store();
        assert!(store.envelope_at(&circle, &a, seq).unwrap().is_none());
        assert!(store.head(&circle, &a).unwrap() >= seq, "{}", m.name);
    }

    // carol was away the whole time: she never gets its content, and her copy of alice's
    // chain is whole again once she has what came after it.
    let later = alice
        .node
        .share(&circle, "Still here after the expiry.")
        .await
        .unwrap();
    let later_seq = item(&alice, &circle, &later).unwrap().seq;
    let carol = Member::restart(carol_name, carol_dir).await;
    eventually("carol has alice's later share", || async {
        holds(&carol, &later)
    })
    .await;
    assert!(!in_feed(&carol, &circle, EXPIRING));
    assert!(
        carol
            .circles()
            .store()
            .envelope_at(&circle, &a, seq)
            .unwrap()
            .is_none()
    );
    // No node holds the expired share any more, so carol's chain of alice's keeps a gap
    // there; her sync requests say what she holds past it, so the answer carries nothing
    // again (not everything after the gap at every sync).
    assert!(carol.circles().store().head(&circle, &a).unwrap() < seq);
    assert!(carol.circles().store().max_seq(&circle, &a).unwrap() >= later_seq);
    let (carol_peer, alice_peer) = (carol.node.peer_id(), alice.node.peer_id());
    let request = carol
        .circles()
        .sync_request(&circle, &carol_peer, &alice_peer)
        .unwrap();
    match alice
        .circles()
        .answer_sync(&request, &carol_peer, &alice_peer, vec![])
        .unwrap()
    {
        SyncResponse::Page(page) => assert!(
            page.envelopes.is_empty() && page.ops.is_empty() && !page.more,
            "the answer resends {} messages",
            page.envelopes.len() + page.ops.len()
        ),
        SyncResponse::Refused { reason } => panic!("sync refused: {reason}"),
    }
}
