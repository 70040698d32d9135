//! What `status` and `doctor` report about the network: each connected member and its path,
//! relay reservations, reachability, and when each member's node was last seen.

use std::{collections::HashMap, time::SystemTime};

use libp2p::PeerId;
use serde::Serialize;

use super::{EventLoop, peers::with_peer, relay::Path};

/// What AutoNAT last said about one of this node's addresses.
#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Reachability {
    /// The address tested.
    pub address: String,
    /// Whether a home server could connect to it.
    pub reachable: bool,
    /// Which home server tested it.
    pub tested_by: String,
    /// Seconds since the test.
    pub secs_ago: u64,
}

/// How a connected node is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Link {
    /// Straight to it.
    Direct,
    /// Through a home server.
    Relayed,
}

/// A connected node and how this node reaches it.
#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PeerPath {
    /// Its peer id.
    pub peer_id: String,
    /// Its members' names in this node's circles.
    pub members: Vec<String>,
    /// How it is reached (the best of its connections).
    pub path: Link,
    /// The address of that connection.
    pub address: String,
    /// Whether it is one of the circles' home servers.
    pub home_server: bool,
}

/// A home server and this node's relayed address there.
#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RelayStatus {
    /// The home server's peer id.
    pub peer_id: String,
    /// The relayed address members dial to reach this node through it.
    pub address: String,
    /// Whether the home server accepted the reservation.
    pub reserved: bool,
}

/// When a member's node was last connected.
#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Seen {
    /// The node's peer id.
    pub peer_id: String,
    /// Its members' names in this node's circles.
    pub members: Vec<String>,
    /// Connected now.
    pub connected: bool,
    /// Seconds since it was last connected (0 if now), or none if never since this node started.
    pub secs_ago: Option<u64>,
    /// The addresses this node dials it at (from its signed record, or where it was seen).
    pub addresses: Vec<String>,
}

impl EventLoop {
    /// Connected nodes and the best path to each (direct before relayed).
    pub(super) fn peer_paths(&self) -> Vec<PeerPath> {
        let mut best: HashMap<PeerId, &Path> = HashMap::new();
        for path in self.relay.paths.values() {
            let entry = best.entry(path.peer).or_insert(path);
            if entry.relayed && !path.relayed {
                *entry = path;
            }
        }
        let names = self.circles.member_names_by_node().unwrap_or_default();
        let mut out: Vec<PeerPath> = best
            .into_iter()
            .map(|(peer, path)| PeerPath {
                peer_id: peer.to_string(),
                members: names.get(&peer.to_bytes()).cloned().unwrap_or_default(),
                path: if path.relayed {
                    Link::Relayed
                } else {
                    Link::Direct
                },
                address: path.address.to_string(),
                home_server: self.relay.home_servers.contains_key(&peer),
            })
            .collect();
        out.sort_by(|a, b| a.members.cmp(&b.members).then(a.peer_id.cmp(&b.peer_id)));
        out
    }

    pub(super) fn relay_status(&self) -> Vec<RelayStatus> {
        let mut out: Vec<RelayStatus> = self
            .relay
            .reservations
            .iter()
            .map(|(peer, r)| RelayStatus {
                peer_id: peer.to_string(),
                address: with_peer(&r.address, *self.swarm.local_peer_id()).to_string(),
                reserved: r.accepted,
            })
            .collect();
        out.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        out
    }

    pub(super) fn reachability(&self) -> Vec<Reachability> {
        let mut out: Vec<Reachability> = self
            .relay
            .reachability
            .iter()
            .map(|(addr, (reachable, server, when))| Reachability {
                address: addr.to_string(),
                reachable: *reachable,
                tested_by: server.to_string(),
                secs_ago: when.elapsed().as_secs(),
            })
            .collect();
        out.sort_by(|a, b| a.address.cmp(&b.address));
        out
    }

    /// Every member node this node knows of, and when it was last connected.
    pub(super) fn seen(&self) -> Vec<Seen> {
        let names = self.circles.member_names_by_node().unwrap_or_default();
        let me = self.swarm.local_peer_id().to_bytes();
        let now = SystemTime::now();
        let known = self.known_peers();
        let mut out: Vec<Seen> = names
            .into_iter()
            .filter(|(node, _)| *node != me)
            .filter_map(|(node, members)| {
                let peer = PeerId::from_bytes(&node).ok()?;
                let connected = self.swarm.is_connected(&peer);
                let secs_ago = if connected {
                    Some(0)
                } else {
                    self.relay
                        .last_seen
                        .get(&peer)
                        .map(|t| now.duration_since(*t).unwrap_or_default().as_secs())
                };
                Some(Seen {
                    addresses: known.get(&peer.to_string()).cloned().unwrap_or_default(),
                    peer_id: peer.to_string(),
                    members,
                    connected,
                    secs_ago,
                })
            })
            .collect();
        out.sort_by(|a, b| a.members.cmp(&b.members));
        out
    }
}
