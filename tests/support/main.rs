//! A support circle on real nodes: what only partners may read, what the author takes back or
//! lets expire, replies and reactions, reaching out, meetings, resources and guidelines,
//! clocks, milestones and goals; and hostile versions of every new kind of message.
//!
//! alice founds the circle and is its admin; bob and carol are members. The online tests run
//! three real nodes on 127.0.0.1 with real sled stores in this process; the hostile tests
//! (`hostile`, and some in `talk` and `clocks`) move messages between nodes' circles by hand,
//! as tests/hostile.rs does; `encoding` feeds content decoding arbitrary bytes.

#[path = "../util/mod.rs"]
mod util;

mod clocks;
mod encoding;
mod gathering;
mod gone;
mod hostile;
mod privacy;
mod talk;

use circle::crypto::{CircleId, Envelope, MemberKey, MessageId};
use circle::node::{Circles, Event, FeedItem, NodeConfig, Result};
use util::{Member, PATIENCE, eventually};

/// The circle and its three members' running nodes.
pub struct Three {
    pub circle: CircleId,
    pub alice: Member,
    pub bob: Member,
    pub carol: Member,
}

/// alice starts a circle called `name` and brings in bob and carol; returns when every node
/// knows all three members.
pub async fn three_members(name: &str) -> Three {
    three_members_with(
        name,
        [
            NodeConfig::local(),
            NodeConfig::local(),
            NodeConfig::local(),
        ],
    )
    .await
}

/// [`three_members`] with each node's config (alice, bob, carol).
pub async fn three_members_with(name: &str, configs: [NodeConfig; 3]) -> Three {
    let [a, b, c] = configs;
    let alice = Member::with_config("alice", a).await;
    let bob = Member::with_config("bob", b).await;
    let carol = Member::with_config("carol", c).await;
    let circle = alice.node.create(name, None).await.expect("create");
    alice.bring_in(&circle, &bob).await;
    alice.bring_in(&circle, &carol).await;
    for m in [&alice, &bob, &carol] {
        eventually(&format!("{} knows all three members", m.name), || async {
            m.circles().members(&circle).unwrap().len() == 3
        })
        .await;
    }
    Three {
        circle,
        alice,
        bob,
        carol,
    }
}

/// `m`'s member key in `circle`.
pub fn key(m: &Member, circle: &CircleId) -> MemberKey {
    m.circles().my_key(circle).expect("a member of the circle")
}

/// Writes through `m`'s node (on disk, then gossiped), as the API does. Returns the id of the
/// last message written, `None` when nothing was.
pub async fn write(
    m: &Member,
    f: impl FnOnce(&Circles) -> Result<Vec<Envelope>> + Send + 'static,
) -> Option<MessageId> {
    m.node
        .write_with(f)
        .await
        .unwrap_or_else(|e| panic!("{} could not write: {e}", m.name))
}

/// `m`'s whole feed of `circle`.
pub fn feed(m: &Member, circle: &CircleId) -> Vec<FeedItem> {
    m.circles().feed(circle, 0, None).expect("feed")
}

/// The item of message `id` in `m`'s feed of `circle`, if shown.
pub fn item(m: &Member, circle: &CircleId, id: &MessageId) -> Option<FeedItem> {
    feed(m, circle).into_iter().find(|i| i.id == id.to_string())
}

/// Whether `m`'s node holds message `id` (its content, or the record that it is gone).
pub fn holds(m: &Member, id: &MessageId) -> bool {
    m.circles().store().has_message(id).expect("store")
}

/// Waits, under [`PATIENCE`], for the first event on `events` that `wanted` picks; returns it
/// with every event seen before it.
pub async fn next_event<T>(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    what: &str,
    mut wanted: impl FnMut(&Event) -> Option<T>,
) -> (T, Vec<Event>) {
    let mut before = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Ok(event) => match wanted(&event) {
                    Some(found) => return found,
                    None => before.push(event),
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    panic!("the test fell {n} events behind while waiting until {what}")
                }
                Err(e) => panic!("the node's events ended while waiting until {what}: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out after {PATIENCE:?} waiting until {what}"));
    (found, before)
}
