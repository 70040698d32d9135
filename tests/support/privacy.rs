//! What a person shares with their partner is read by their partner and no one else; what
//! they keep to themselves never leaves their node.

use std::collections::BTreeSet;

use circle::crypto::{CircleId, MemberKey};
use circle::node::support::sealed::Sealed;
use circle::node::support::{Audience, Checkin, Goal, PartnerStep};
use circle::node::{Body, Content, now_ms};

use crate::util::forge::secret_of;
use crate::util::{Member, disk_contains, eventually};
use crate::{Three, feed, holds, item, key, three_members, write};

const CHECKIN_NOTE: &str = "payday tomorrow and I keep thinking about the pub";
const GOAL_TEXT: &str = "tell my brother I am in recovery";
const DM_TEXT: &str = "can you call me after work tonight?";
const ME_NOTE: &str = "only for me: the wedding on Saturday scares me";

/// Where `m` stands with the member called `other`: `partner`, `asked-you`, `you-asked`.
fn pairing(m: &Member, circle: &CircleId, other: &str) -> Option<String> {
    m.circles()
        .partners(circle, now_ms())
        .unwrap()
        .into_iter()
        .find(|p| p.name == other)
        .map(|p| p.state.to_string())
}

/// The sealed copies of `author`'s private message `seq`, as `m`'s node holds it, opened with
/// `m`'s circle key.
fn sealed_at(m: &Member, circle: &CircleId, author: &MemberKey, seq: u64) -> Sealed {
    let store = m.circles().store();
    let envelope = store
        .envelope_at(circle, author, seq)
        .unwrap()
        .unwrap_or_else(|| panic!("{} holds message {seq}", m.name));
    let (_, circle_key) = store
        .keys(circle)
        .unwrap()
        .into_iter()
        .find(|(epoch, _)| *epoch == envelope.header().epoch)
        .expect("the circle key of its epoch");
    let plain = envelope
        .open(&circle_key)
        .expect("a member opens the envelope");
    match Content::from_bytes(&plain).unwrap().body {
        Body::Private(sealed) => sealed,
        other => panic!("message {seq} is not private: {other:?}"),
    }
}

fn count(m: &Member, circle: &CircleId) -> usize {
    m.circles().store().message_count(circle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_read_each_others_private_checkins_goals_and_messages_and_carol_reads_none() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Thursday night").await;
    let (a, b, c) = (
        key(&alice, &circle),
        key(&bob, &circle),
        key(&carol, &circle),
    );

    write(&alice, move |x| {
        x.partner(&circle, &b, PartnerStep::Request)
    })
    .await;
    eventually("bob sees alice's request", || async {
        pairing(&bob, &circle, "alice").as_deref() == Some("asked-you")
    })
    .await;
    write(&bob, move |x| x.partner(&circle, &a, PartnerStep::Accept)).await;
    eventually("alice sees bob as her partner", || async {
        pairing(&alice, &circle, "bob").as_deref() == Some("partner")
    })
    .await;
    assert_eq!(pairing(&bob, &circle, "alice").as_deref(), Some("partner"));

    let checkin = Checkin {
        day: 2,
        mood: Some(3),
        craving: Some(8),
        triggers: vec!["payday".into()],
        note: Some(CHECKIN_NOTE.into()),
    };
    let checkin = write(&alice, move |x| {
        x.checkin(&circle, checkin, Audience::Partner)
    })
    .await
    .expect("a partner check-in is a message");
    let goal = Goal {
        text: GOAL_TEXT.into(),
        by: None,
    };
    let goal = write(&alice, move |x| x.goal(&circle, goal, Audience::Partner))
        .await
        .expect("a partner goal is a message");
    let dm = write(&alice, move |x| x.dm(&circle, &b, DM_TEXT))
        .await
        .expect("a message to a partner is a message");

    // bob reads all three.
    eventually("bob holds alice's three private messages", || async {
        [checkin, goal, dm].iter().all(|id| holds(&bob, id))
    })
    .await;
    let checkin_item = item(&bob, &circle, &checkin).expect("bob's feed shows the check-in");
    assert_eq!(checkin_item.kind, circle::node::contract::Kind::Checkin);
    assert_eq!(checkin_item.private_to, Some(vec!["bob".to_string()]));
    assert!(checkin_item.text.contains(CHECKIN_NOTE), "{checkin_item:?}");
    let goal_item = item(&bob, &circle, &goal).expect("bob's feed shows the goal");
    assert_eq!(goal_item.kind, circle::node::contract::Kind::Goal);
    assert!(goal_item.text.contains(GOAL_TEXT), "{goal_item:?}");
    let dm_item = item(&bob, &circle, &dm).expect("bob's feed shows the message");
    assert_eq!(
        (dm_item.kind.as_str(), dm_item.text.as_str()),
        ("dm", DM_TEXT)
    );
    let seen = bob.circles().checkins(&circle, now_ms()).unwrap().checkins;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (
            seen[0].author_name.as_str(),
            seen[0].to,
            seen[0].checkin.note.as_deref()
        ),
        ("alice", Audience::Partner, Some(CHECKIN_NOTE))
    );
    let goals = bob.circles().goals(&circle).unwrap();
    assert_eq!(goals.len(), 1, "{goals:?}");
    assert_eq!(
        (goals[0].to, goals[0].text.as_str()),
        (Audience::Partner, GOAL_TEXT)
    );

    // carol holds the same sealed messages (they travel with the circle) and reads none.
    eventually("carol holds alice's three private messages", || async {
        [checkin, goal, dm].iter().all(|id| holds(&carol, id))
    })
    .await;
    let carol_feed = feed(&carol, &circle);
    for id in [checkin, goal, dm] {
        assert!(
            carol_feed.iter().all(|i| i.id != id.to_string()),
            "carol's feed shows {id}: {carol_feed:#?}"
        );
    }
    assert!(
        carol_feed
            .iter()
            .all(|i| !["checkin", "goal", "dm", "partner"].contains(&i.kind.as_str())),
        "{carol_feed:#?}"
    );
    for text in [CHECKIN_NOTE, GOAL_TEXT, DM_TEXT] {
        assert!(carol_feed.iter().all(|i| !i.text.contains(text)));
    }
    let carol_checkins = carol.circles().checkins(&circle, now_ms()).unwrap();
    assert!(carol_checkins.checkins.is_empty(), "{carol_checkins:?}");
    assert!(carol.circles().goals(&circle).unwrap().is_empty());
    assert!(
        carol
            .circles()
            .partners(&circle, now_ms())
            .unwrap()
            .is_empty()
    );

    // Even with carol's circle key in hand, the copies do not open for her.
    let carol_secret = secret_of(carol.circles(), &circle);
    let bob_secret = secret_of(bob.circles(), &circle);
    for seq in [checkin_item.seq, goal_item.seq, dm_item.seq] {
        let sealed = sealed_at(&carol, &circle, &a, seq);
        let readers: BTreeSet<MemberKey> = sealed.readers().copied().collect();
        assert_eq!(readers, BTreeSet::from([a, b]));
        assert!(sealed.open(&circle, &a, &carol_secret).unwrap().is_none());
        assert!(
            sealed.open(&circle, &a, &bob_secret).unwrap().is_some(),
            "bob's copy opens for bob"
        );
        let (_, bobs_copy) = sealed.to.iter().find(|(k, _)| *k == b).unwrap().clone();
        let relabelled = Sealed {
            to: vec![(c, bobs_copy)],
        };
        assert!(
            relabelled.open(&circle, &a, &carol_secret).is_err(),
            "bob's copy, relabelled as carol's, does not open with carol's key"
        );
    }
    carol.circles().store().flush().unwrap();
    for text in [CHECKIN_NOTE, GOAL_TEXT, DM_TEXT] {
        assert_eq!(disk_contains(carol.dir.path(), text.as_bytes()), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_for_me_never_leaves_my_node_and_is_sealed_on_it() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Sunday mornings").await;
    let before = [
        count(&alice, &circle),
        count(&bob, &circle),
        count(&carol, &circle),
    ];

    let checkin = Checkin {
        day: 4,
        mood: Some(6),
        craving: Some(2),
        triggers: vec![],
        note: Some(ME_NOTE.into()),
    };
    let written = write(&alice, move |x| x.checkin(&circle, checkin, Audience::Me)).await;
    assert_eq!(written, None, "a check-in for me writes no message");
    let mine = alice
        .circles()
        .checkins(&circle, now_ms())
        .unwrap()
        .checkins;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        (
            mine[0].id.as_deref(),
            mine[0].to,
            mine[0].checkin.note.as_deref()
        ),
        (None, Audience::Me, Some(ME_NOTE))
    );

    // A share written after it reaches everyone; it is the only message alice wrote.
    let after = alice
        .node
        .share(&circle, "Made it to the meeting.")
        .await
        .unwrap();
    for m in [&bob, &carol] {
        eventually(&format!("{} has alice's share", m.name), || async {
            holds(m, &after)
        })
        .await;
    }
    let now = [
        count(&alice, &circle),
        count(&bob, &circle),
        count(&carol, &circle),
    ];
    assert_eq!(now, before.map(|n| n + 1), "only the share was sent");
    for m in [&bob, &carol] {
        let view = m.circles().checkins(&circle, now_ms()).unwrap();
        assert!(view.checkins.is_empty(), "{}: {view:?}", m.name);
        assert!(feed(m, &circle).iter().all(|i| !i.text.contains(ME_NOTE)));
    }

    // On alice's disk it is sealed: not there as text, yet there after a restart.
    let (name, dir) = alice.stop().await;
    assert_eq!(disk_contains(dir.path(), ME_NOTE.as_bytes()), None);
    let alice = Member::restart(name, dir).await;
    let mine = alice
        .circles()
        .checkins(&circle, now_ms())
        .unwrap()
        .checkins;
    assert_eq!(
        mine.len(),
        1,
        "the check-in is kept across a restart: {mine:?}"
    );
    assert_eq!(mine[0].checkin.note.as_deref(), Some(ME_NOTE));
}
