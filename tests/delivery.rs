//! Nothing is lost: a message reaches a member who was never online with its author, and a
//! circle split in two holds exactly the same messages on every node once the split heals.
//!
//! Real nodes in this process, on 127.0.0.1 (sync and redial every 2 s). The split is made with
//! the nodes' `cut_off` test hook; `cli/tests/netns.rs` makes the same split with network
//! namespaces when it runs as root.

mod util;

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    time::Duration,
};

use circle::crypto::CircleId;
use circle::node::PeerId;
use util::{Member, settles};

/// Longest a circle may take to settle after a change in who can reach whom. With sync and
/// redial every 2 s a few seconds is normal: the time taken is printed.
const SETTLE: Duration = Duration::from_secs(60);

/// How long a cut must keep the sides apart: several sync and redial rounds (2 s each).
const HOLD: Duration = Duration::from_secs(6);

/// One item of a circle as a node holds it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Said {
    id: String,
    author: String,
    kind: String,
    text: String,
}

impl fmt::Debug for Said {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = &self.id[..self.id.len().min(8)];
        write!(f, "{} {} {:?} ({id})", self.author, self.kind, self.text)
    }
}

/// Everything `member` holds of `circle`: shares and what happened to the circle.
fn held(member: &Member, circle: &CircleId) -> BTreeSet<Said> {
    member
        .circles()
        .feed(circle, 0, None)
        .expect("feed")
        .into_iter()
        .map(|item| Said {
            id: item.id,
            author: item.author_name,
            kind: item.kind.to_string(),
            text: item.text,
        })
        .collect()
}

/// The ids of `member`'s shares in `circle`.
fn share_ids(member: &Member, circle: &CircleId) -> BTreeSet<String> {
    held(member, circle)
        .into_iter()
        .filter(|s| s.kind == "share")
        .map(|s| s.id)
        .collect()
}

/// What was posted, by id: (author, text).
type Posted = BTreeMap<String, (String, String)>;

/// `Ok` if `member` holds every message in `posted`, or which ones it lacks.
fn has_all(member: &Member, circle: &CircleId, posted: &Posted) -> Result<(), String> {
    let ids = share_ids(member, circle);
    let missing: Vec<_> = posted
        .iter()
        .filter(|(id, _)| !ids.contains(*id))
        .map(|(_, said)| said)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{} lacks {missing:?}", member.name))
    }
}

/// `Ok` if `member` holds none of `posted`, or which ones it has.
fn has_none(member: &Member, circle: &CircleId, posted: &Posted) -> Result<(), String> {
    let ids = share_ids(member, circle);
    let leaked: Vec<_> = posted
        .iter()
        .filter(|(id, _)| ids.contains(*id))
        .map(|(_, said)| said)
        .collect();
    if leaked.is_empty() {
        Ok(())
    } else {
        Err(format!("{} has {leaked:?}", member.name))
    }
}

/// Every complaint of `check` over `members`, one a line; `Ok` if there are none.
fn all_of(
    members: &[&Member],
    mut check: impl FnMut(&Member) -> Result<(), String>,
) -> Result<(), String> {
    let complaints: Vec<String> = members.iter().filter_map(|m| check(m).err()).collect();
    if complaints.is_empty() {
        Ok(())
    } else {
        Err(complaints.join("\n"))
    }
}

/// `Ok` if every member holds exactly the same items of `circle`, or who lacks what.
fn same_everywhere(members: &[&Member], circle: &CircleId) -> Result<(), String> {
    let sets: Vec<BTreeSet<Said>> = members.iter().map(|m| held(m, circle)).collect();
    let union: BTreeSet<Said> = sets.iter().flatten().cloned().collect();
    let lacking: Vec<String> = members
        .iter()
        .zip(&sets)
        .filter(|(_, set)| set.len() != union.len())
        .map(|(m, set)| {
            let missing: Vec<_> = union.difference(set).collect();
            format!("{} lacks {missing:?}", m.name)
        })
        .collect();
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(lacking.join("\n"))
    }
}

/// Panics as soon as `check` fails during `period`: for things that must not happen.
async fn holds_for(what: &str, period: Duration, mut check: impl FnMut() -> Result<(), String>) {
    let end = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < end {
        if let Err(complaint) = check() {
            panic!("{what} stopped holding:\n{complaint}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until each member's node is connected to exactly `peers` other nodes.
async fn connected(members: &[&Member], peers: usize, what: &str) -> Duration {
    settles(what, SETTLE, || async {
        let mut complaints = Vec::new();
        for m in members {
            let connected = m.node.status().await.expect("status").connected;
            if connected != peers {
                complaints.push(format!("{} is connected to {connected} nodes", m.name));
            }
        }
        if complaints.is_empty() {
            Ok(())
        } else {
            Err(complaints.join("\n"))
        }
    })
    .await
}

/// `author` shares `count` numbered notes; returns them by id.
async fn post(author: &Member, circle: &CircleId, count: usize, posted: &mut Posted) {
    for n in 1..=count {
        let text = format!("{} note {n}: still here.", author.name);
        let id = author.node.share(circle, &text).await.expect("share");
        posted.insert(id.to_string(), (author.name.clone(), text));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alices_notes_reach_bob_through_the_home_server_though_they_are_never_online_together() {
    let home = Member::new("home").await;
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = home.node.create("Night owls", None).await.unwrap();
    home.bring_in(&circle, &alice).await;
    home.bring_in(&circle, &bob).await;
    // Everyone knows everyone's node: each is connected to the other two.
    connected(
        &[&home, &alice, &bob],
        2,
        "the three nodes are connected to each other",
    )
    .await;

    let (bob_name, bob_dir) = bob.stop().await;
    let mut posted = Posted::new();
    post(&alice, &circle, 5, &mut posted).await;
    settles("the home server holds alice's notes", SETTLE, || async {
        has_all(&home, &circle, &posted)
    })
    .await;
    // alice goes offline before bob comes back: the two are never online together.
    let (_alice_name, _alice_dir) = alice.stop().await;

    let bob = Member::restart(bob_name, bob_dir).await;
    let took = settles(
        "bob gets alice's notes from the home server",
        SETTLE,
        || async { has_all(&bob, &circle, &posted) },
    )
    .await;
    println!("offline delivery: bob had alice's notes {took:?} after coming back");
    assert_eq!(
        share_ids(&bob, &circle),
        posted.keys().cloned().collect(),
        "bob holds exactly alice's notes"
    );
    assert_eq!(
        home.node.status().await.unwrap().connected,
        1,
        "home sees only bob"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circle_split_in_two_holds_the_same_messages_everywhere_once_it_heals() {
    let mut everyone = Vec::new();
    for name in ["alice", "bob", "carol", "dave", "erin"] {
        everyone.push(Member::new(name).await);
    }
    let circle = everyone[0].node.create("Thursday", None).await.unwrap();
    for other in &everyone[1..] {
        everyone[0].bring_in(&circle, other).await;
    }
    let all: Vec<&Member> = everyone.iter().collect();
    connected(&all, 4, "every node is connected to the other four").await;
    settles(
        "everyone holds the same history before the split",
        SETTLE,
        || async { same_everywhere(&all, &circle) },
    )
    .await;

    // The split: alice and bob on one side, carol, dave and erin on the other.
    let (west, east) = all.split_at(2);
    let ids = |side: &[&Member]| -> Vec<PeerId> { side.iter().map(|m| m.node.peer_id()).collect() };
    for m in west {
        m.node.cut_off(ids(east)).await.unwrap();
    }
    for m in east {
        m.node.cut_off(ids(west)).await.unwrap();
    }
    connected(west, 1, "alice and bob see only each other").await;
    connected(east, 2, "carol, dave and erin see only each other").await;

    let (mut from_west, mut from_east) = (Posted::new(), Posted::new());
    post(west[0], &circle, 3, &mut from_west).await;
    post(west[1], &circle, 2, &mut from_west).await;
    post(east[0], &circle, 2, &mut from_east).await;
    post(east[1], &circle, 2, &mut from_east).await;
    post(east[2], &circle, 1, &mut from_east).await;

    let took = settles("each side holds its own side's notes", SETTLE, || async {
        all_of(west, |m| has_all(m, &circle, &from_west))?;
        all_of(east, |m| has_all(m, &circle, &from_east))
    })
    .await;
    println!("partition: each side had its own notes after {took:?}");
    holds_for(
        "the cut (neither side gets the other's notes)",
        HOLD,
        || {
            all_of(west, |m| has_none(m, &circle, &from_east))?;
            all_of(east, |m| has_none(m, &circle, &from_west))
        },
    )
    .await;

    for m in &all {
        m.node.cut_off(vec![]).await.unwrap();
    }
    let took = settles(
        "all five hold exactly the same messages after healing",
        SETTLE,
        || async {
            all_of(&all, |m| has_all(m, &circle, &from_west))?;
            all_of(&all, |m| has_all(m, &circle, &from_east))?;
            same_everywhere(&all, &circle)
        },
    )
    .await;
    println!("partition: all five nodes held the same messages {took:?} after healing");
    let posted: BTreeSet<String> = from_west.keys().chain(from_east.keys()).cloned().collect();
    for m in &all {
        assert_eq!(
            share_ids(m, &circle),
            posted,
            "{} holds exactly the notes both sides posted",
            m.name
        );
    }
}

/// Members in the gossip test below. With every node on 127.0.0.1, gossipsub's penalty for
/// many peers at one IP address (more than 10) took a node's peers out of its mesh from 12 nodes
/// on and from its own messages' recipients from 15 on; 16 shows both.
const GOSSIP_CIRCLE: usize = 16;

/// Whether every node knows every other node's subscription to the circle's topic, has a full
/// mesh for it, and publishes to all of them.
async fn all_in_the_mesh(members: &[Member], circle: &CircleId) -> Result<(), String> {
    let mut complaints = Vec::new();
    // gossipsub's lowest mesh size (`mesh_n_low`), or everyone in a smaller circle.
    let mesh_low = 5.min(members.len() - 1);
    for m in members {
        let seen = m.node.gossip_peers(circle).await.expect("gossip peers");
        let missing: Vec<&str> = members
            .iter()
            .filter(|o| o.node.peer_id() != m.node.peer_id())
            .filter(|o| !seen.subscribed.contains(&o.node.peer_id()))
            .map(|o| o.name.as_str())
            .collect();
        if !missing.is_empty() {
            complaints.push(format!(
                "{} has not heard {} subscribe",
                m.name,
                missing.join(", ")
            ));
        }
        if seen.mesh.len() < mesh_low {
            complaints.push(format!(
                "{} has {} nodes in its mesh",
                m.name,
                seen.mesh.len()
            ));
        }
        if !seen.shunned.is_empty() {
            complaints.push(format!(
                "{} would not send its own messages to {} nodes",
                m.name,
                seen.shunned.len()
            ));
        }
    }
    if complaints.is_empty() {
        Ok(())
    } else {
        Err(complaints.join("\n"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_circle_of_sixteen_every_member_hears_the_newest_members_note_by_gossip() {
    // Sync only when a connection opens: whatever arrives later came by gossip. Fifteen join
    // requests from one address within a minute are over the door's usual limit.
    let config = || {
        circle::node::NodeConfig::local()
            .with_sync_interval(Duration::from_secs(3600))
            .with_door_limits(4, 100)
    };
    let founder = Member::with_config("m0", config()).await;
    let circle = founder.node.create("Sixteen", None).await.unwrap();
    let uses = u32::try_from(GOSSIP_CIRCLE).unwrap();
    let invite = founder
        .node
        .invite(&circle, Duration::from_secs(3600), uses)
        .await
        .unwrap()
        .to_token();
    let mut members = vec![founder];
    // Each joins as a stranger to the founder's node, the way everyone joins.
    for i in 1..GOSSIP_CIRCLE {
        let m = Member::with_config(&format!("m{i}"), config()).await;
        assert_eq!(m.node.join(&invite, None).await.unwrap(), circle);
        members.push(m);
    }
    let took = settles(
        "every node hears every other subscribe, with a full mesh",
        SETTLE,
        || all_in_the_mesh(&members, &circle),
    )
    .await;
    println!("gossip mesh of {GOSSIP_CIRCLE}: complete after {took:?}");

    let newest = members.last().unwrap();
    let mut posted = Posted::new();
    post(newest, &circle, 1, &mut posted).await;
    let took = settles(
        "every member holds the newest member's note",
        Duration::from_secs(20),
        || async {
            all_of(&members.iter().collect::<Vec<_>>(), |m| {
                has_all(m, &circle, &posted)
            })
        },
    )
    .await;
    println!("gossip delivery to {GOSSIP_CIRCLE} nodes: {took:?}");
}

/// The addresses `member`'s node would dial node `other` at.
async fn addresses_of(member: &Member, other: PeerId) -> Vec<String> {
    let other = other.to_string();
    let seen = member.node.status().await.expect("status").seen;
    seen.into_iter()
        .find(|s| s.peer_id == other)
        .map(|s| s.addresses)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_who_left_right_after_joining_gets_alices_note_later_though_the_inviter_is_gone() {
    // No sync rounds for the two who stay: alice learns where bob's node is with his
    // admission, or not at all.
    let config = || circle::node::NodeConfig::local().with_sync_interval(Duration::from_secs(3600));
    let home = Member::with_config("home", config()).await;
    let alice = Member::with_config("alice", config()).await;
    let bob = Member::new("bob").await;
    let circle = home.node.create("Mornings", None).await.unwrap();
    home.bring_in(&circle, &alice).await;
    // Each has heard the other subscribe: bob's admission reaches alice by gossip.
    settles("home and alice gossip with each other", SETTLE, || async {
        for (m, other) in [(&home, &alice), (&alice, &home)] {
            let seen = m.node.gossip_peers(&circle).await.expect("gossip peers");
            if !seen.subscribed.contains(&other.node.peer_id()) {
                return Err(format!("{} has not heard {} subscribe", m.name, other.name));
            }
        }
        Ok(())
    })
    .await;

    // Bob's node never meets alice's: it joins through home's and goes offline at once. (Once
    // it knows its own address, as any node asked to join some time after it started.)
    settles("bob's node listens", SETTLE, || async {
        match bob.node.status().await.expect("status").listen.is_empty() {
            true => Err("no address yet".into()),
            false => Ok(()),
        }
    })
    .await;
    alice.node.cut_off(vec![bob.node.peer_id()]).await.unwrap();
    home.bring_in(&circle, &bob).await;
    let bob_node = bob.node.peer_id();
    let (bob_name, bob_dir) = bob.stop().await;
    alice.node.cut_off(vec![]).await.unwrap();
    settles(
        "alice's node knows where bob's node is",
        Duration::from_secs(20),
        || async {
            if addresses_of(&alice, bob_node).await.is_empty() {
                Err("it has no address for it".into())
            } else {
                Ok(())
            }
        },
    )
    .await;

    let mut posted = Posted::new();
    post(&alice, &circle, 1, &mut posted).await;
    settles("home holds alice's note", SETTLE, || async {
        has_all(&home, &circle, &posted)
    })
    .await;
    // The inviter goes away for good; bob comes back to find only alice online.
    home.stop().await;
    let bob = Member::restart(bob_name, bob_dir).await;
    let took = settles("bob holds alice's note", SETTLE, || async {
        has_all(&bob, &circle, &posted)
    })
    .await;
    println!("joined and left at once: bob had alice's note {took:?} after coming back");
}
