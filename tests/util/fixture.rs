//! A circle of three offline nodes: alice (founder and admin), bob and carol, every node
//! knowing all three. Messages move between them by hand (see the parent module).

use std::ops::Deref;

use circle::crypto::CircleId;
use circle::node::Circles;
use tempfile::TempDir;

use super::{admit_offline, offline_node, sync_offline};

/// A node's circles with its home, which lives as long as the node.
pub struct Node {
    circles: Circles,
    _home: TempDir,
}

impl Deref for Node {
    type Target = Circles;
    fn deref(&self) -> &Circles {
        &self.circles
    }
}

/// A node in a fresh home.
pub fn node(nick: &str) -> Node {
    let (circles, home) = offline_node(nick);
    Node {
        circles,
        _home: home,
    }
}

/// The circle and its three members' nodes.
pub struct Fixture {
    pub circle: CircleId,
    pub alice: Node,
    pub bob: Node,
    pub carol: Node,
}

/// alice starts a circle called `name` and lets bob and carol in; bob learns that carol came in.
pub fn circle_of_three(name: &str) -> Fixture {
    let (alice, bob, carol) = (node("alice"), node("bob"), node("carol"));
    let circle = alice.create(name, None).expect("create");
    admit_offline(&alice, &circle, &bob, "bob");
    admit_offline(&alice, &circle, &carol, "carol");
    sync_offline(&bob, &alice, &circle);
    Fixture {
        circle,
        alice,
        bob,
        carol,
    }
}
