//! Talking in a circle: replies and reactions that point at their message on every node,
//! finding a message by the start of its id, and reaching out when it cannot wait.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use circle::crypto::{Envelope, MessageId};
use circle::node::support::ReachOut;
use circle::node::{Event, Ingest};

use crate::util::eventually;
use crate::util::fixture::circle_of_three;
use crate::util::forge::{Forger, share};
use crate::{Three, feed, holds, item, next_event, three_members, write};

/// How soon a reach-out must be on another member's screen (on one machine it takes well
/// under a second; the bound leaves room for a busy test machine).
const AT_ONCE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_reactions_point_at_their_message_on_every_node() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Day ones").await;
    let first = alice
        .node
        .share(&circle, "Day 1 again. Scared.")
        .await
        .unwrap();
    for m in [&bob, &carol] {
        eventually(&format!("{} has alice's share", m.name), || async {
            holds(m, &first)
        })
        .await;
    }
    // Each names it by the start of its id, as people copy it from `circle feed --ids`.
    let start = first.to_string()[..8].to_string();
    let s = start.clone();
    let reply = write(&bob, move |x| {
        x.share_with(&circle, "Day 1 is the bravest day.", Some(&s), None)
    })
    .await
    .unwrap();
    let s = format!("#{start}");
    let reaction = write(&carol, move |x| x.react(&s, "💪").map(|(_, w)| w))
        .await
        .unwrap();

    for m in [&alice, &bob, &carol] {
        eventually(
            &format!("{} has the reply and the reaction", m.name),
            || async { holds(m, &reply) && holds(m, &reaction) },
        )
        .await;
        let r = item(m, &circle, &reply).expect("the reply is shown");
        assert_eq!(
            (r.kind.as_str(), r.text.as_str(), r.reply_to.clone()),
            (
                "share",
                "Day 1 is the bravest day.",
                Some(first.to_string())
            ),
            "{}",
            m.name
        );
        assert_eq!(r.author_name, "bob");
        let x = item(m, &circle, &reaction).expect("the reaction is shown");
        assert_eq!(
            (x.kind.as_str(), x.text.as_str(), x.reply_to.clone()),
            ("reaction", "💪", Some(first.to_string())),
            "{}",
            m.name
        );
        assert_eq!(x.author_name, "carol");
    }

    // What cannot be found says why.
    let find = |text: &str| alice.circles().find_message(text).map(|(_, id)| id);
    assert_eq!(find(&start).unwrap(), first);
    assert_eq!(find(&first.to_string()).unwrap(), first);
    let err = find("abc").unwrap_err().to_string();
    assert!(err.contains("too short"), "{err}");
    let unknown = MessageId::from_bytes(&[7; 32]).unwrap();
    let err = find(&unknown.to_string()).unwrap_err().to_string();
    assert!(err.contains("no message"), "{err}");
    let err = find(&unknown.to_string()[..12]).unwrap_err().to_string();
    assert!(
        err.contains("no message here has an id starting with"),
        "{err}"
    );
}

#[test]
fn a_start_of_an_id_that_two_messages_share_is_refused_as_ambiguous() {
    let f = circle_of_three("Finding messages");
    let alice = Forger::of(&f.alice, &f.circle);
    let bob = Forger::of(&f.bob, &f.circle);
    // Messages from alice and bob, sealed until one of each starts its id with the same six
    // characters (30 bits: about 2^15 of each, a birthday search).
    let mut seen: [HashMap<String, Envelope>; 2] = [HashMap::new(), HashMap::new()];
    let (one, two) = (0u64..)
        .find_map(|i| {
            let who = (i % 2) as usize;
            let forger = [&alice, &bob][who];
            let envelope = forger.seal(forger.seq.get() + 1, share(&format!("draft {i}")));
            let start = envelope.id().to_string()[..6].to_string();
            if let Some(other) = seen[1 - who].remove(&start) {
                return Some((other, envelope));
            }
            seen[who].insert(start, envelope);
            None
        })
        .unwrap();
    for envelope in [&one, &two] {
        assert_eq!(f.carol.ingest(envelope).unwrap(), Ingest::New);
    }
    let (a, b) = (one.id().to_string(), two.id().to_string());
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    assert!(common >= 6);

    let err = f.carol.find_message(&a[..6]).unwrap_err().to_string();
    assert!(err.contains("more than one message"), "{err}");
    assert!(err.contains("give more of it"), "{err}");
    let (_, found) = f.carol.find_message(&a[..common + 1]).unwrap();
    assert_eq!(found, one.id());
    let (_, found) = f.carol.find_message(&b[..common + 1]).unwrap();
    assert_eq!(found, two.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reach_out_reaches_bob_at_once_and_alice_sees_who_has_seen_it() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Late nights").await;
    let mut bob_events = bob.node.events();

    let sent = Instant::now();
    let reach_out = ReachOut {
        text: Some("craving hard, standing outside the bar".into()),
        callback: Some("+44 7700 900123".into()),
    };
    let id = write(&alice, move |x| x.reach_out(&circle, reach_out))
        .await
        .unwrap();
    let ((who, text), _) = next_event(
        &mut bob_events,
        "bob's node tells him alice is reaching out",
        |e| match e {
            Event::ReachOut {
                id: got,
                author_name,
                text,
                ..
            } if *got == id.to_string() => Some((author_name.clone(), text.clone())),
            _ => None,
        },
    )
    .await;
    assert!(
        sent.elapsed() < AT_ONCE,
        "the reach-out took {:?} to reach bob",
        sent.elapsed()
    );
    assert_eq!(who, "alice");
    assert!(text.contains("standing outside the bar"), "{text}");
    assert!(text.contains("+44 7700 900123"), "{text}");
    let shown = item(&bob, &circle, &id).expect("bob's feed shows it");
    assert!(shown.urgent, "{shown:?}");

    let outs = alice.circles().reach_outs(&circle).unwrap();
    assert_eq!(outs.len(), 1);
    assert!(outs[0].seen_by.is_empty(), "{outs:?}");

    write(&bob, move |x| x.mark_seen(&circle))
        .await
        .expect("bob tells the circle he saw it");
    assert_eq!(
        write(&bob, move |x| x.mark_seen(&circle)).await,
        None,
        "nothing new to acknowledge"
    );
    for m in [&alice, &carol] {
        eventually(&format!("{} sees that bob has seen it", m.name), || async {
            m.circles()
                .reach_outs(&circle)
                .unwrap()
                .first()
                .is_some_and(|r| r.seen_by == ["bob"])
        })
        .await;
    }
    let outs = alice.circles().reach_outs(&circle).unwrap();
    assert_eq!(outs.len(), 1);
    assert_eq!(
        (outs[0].author_name.as_str(), outs[0].members),
        ("alice", 2),
        "{outs:?}"
    );
    // The acknowledgement is bookkeeping, not something to read.
    assert!(
        feed(&alice, &circle)
            .iter()
            .all(|i| i.kind != circle::node::contract::Kind::Seen)
    );
    // Regression: the newest arrival is bob's hidden "seen" note, and a feed of the newest one
    // used to come back empty (and its cursor did not move past the note).
    let (newest, cursor) = alice.circles().feed_page(&circle, 0, Some(1)).unwrap();
    assert_eq!(newest.len(), 1, "{newest:?}");
    assert_eq!(newest[0].id, id.to_string());
    assert_eq!(
        cursor,
        alice.circles().store().last_cursor(&circle).unwrap(),
        "the cursor moves past what is not shown"
    );
}
