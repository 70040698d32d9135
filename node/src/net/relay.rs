//! Home servers and NAT: relaying for members only, reserving relayed addresses at the
//! circles' home servers, hole punching, reachability, and what `status`/`doctor` report.
//!
//! A node run with `relay` (a member's always-on home server) serves circuit relay v2 and
//! AutoNAT v2 to the nodes of its circles' members. Every other node reserves a relayed address
//! at each home server it is connected to, so members that cannot reach each other directly
//! still connect (through the home server), and DCUtR then tries to make the path direct.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroU32,
    sync::{Arc, RwLock},
    time::{Duration, Instant, SystemTime},
};

use libp2p::{
    Multiaddr, PeerId, autonat, core::ConnectedPoint, dcutr, identify, multiaddr::Protocol, relay,
    swarm::ConnectionId,
};
use serde::Serialize;
use tracing::{debug, info, warn};

use super::{
    EventLoop,
    peers::{is_unspecified, with_peer},
};

/// How long a relayed connection may last before the member's node opens a new one. A chat
/// stays open for hours; the default two minutes would cut it all day.
const CIRCUIT_DURATION: Duration = Duration::from_secs(24 * 3600);
/// How many bytes one relayed connection may carry (messages are at most 64 KiB each).
const CIRCUIT_BYTES: u64 = 1 << 30;
/// How long a reservation lasts before the member's node renews it.
const RESERVATION_DURATION: Duration = Duration::from_secs(3600);
/// Members' nodes a home server relays for at once (a circle has at most 250 members).
const MAX_RESERVATIONS: usize = 512;
/// Relayed connections at once, and per node.
const MAX_CIRCUITS: usize = 1024;
const MAX_CIRCUITS_PER_PEER: usize = 64;

/// Who may use this node as a relay, shared with the relay behaviour's filters: the nodes of
/// current members, and (for circuits only, while an invite of the circle is live) a stranger
/// bringing a join request to a member behind NAT.
#[derive(Clone, Default)]
pub struct Access(Arc<RwLock<AccessInner>>);

#[derive(Default)]
struct AccessInner {
    members: HashSet<PeerId>,
    door_open: bool,
}

impl Access {
    pub(super) fn set_members(&self, members: HashSet<PeerId>) {
        if let Ok(mut inner) = self.0.write() {
            inner.members = members;
        }
    }

    pub(super) fn set_door(&self, open: bool) {
        if let Ok(mut inner) = self.0.write() {
            inner.door_open = open;
        }
    }

    fn allows(&self, peer: &PeerId, strangers: bool) -> bool {
        self.0
            .read()
            .map(|a| a.members.contains(peer) || (strangers && a.door_open))
            .unwrap_or(false)
    }

    /// The relay server's configuration: limits for chats that stay open, and filters that
    /// refuse anyone but members (and joiners, for circuits, while the door is open).
    pub(super) fn relay_config(&self) -> relay::Config {
        let reservations = self.clone();
        let circuits = self.clone();
        relay::Config {
            max_reservations: MAX_RESERVATIONS,
            max_reservations_per_peer: 4,
            reservation_duration: RESERVATION_DURATION,
            max_circuits: MAX_CIRCUITS,
            max_circuits_per_peer: MAX_CIRCUITS_PER_PEER,
            max_circuit_duration: CIRCUIT_DURATION,
            max_circuit_bytes: CIRCUIT_BYTES,
            ..relay::Config::default()
        }
        .reservation_rate_per_peer(
            NonZeroU32::new(60).expect("non-zero"),
            Duration::from_secs(10),
        )
        .circuit_src_per_peer(
            NonZeroU32::new(120).expect("non-zero"),
            Duration::from_secs(1),
        )
        .with_reservation_filter(move |peer| reservations.allows(peer, false))
        .with_circuit_filter(move |peer| circuits.allows(peer, true))
    }
}

trait Filters {
    fn with_reservation_filter(self, f: impl Fn(&PeerId) -> bool + Send + 'static) -> Self;
    fn with_circuit_filter(self, f: impl Fn(&PeerId) -> bool + Send + 'static) -> Self;
}

/// A relay "rate limiter" that admits by who the peer is.
struct Filter<F>(F);

impl<F: Fn(&PeerId) -> bool + Send> relay::RateLimiter for Filter<F> {
    fn try_next(&mut self, peer: PeerId, _: &Multiaddr, _: std::time::Instant) -> bool {
        (self.0)(&peer)
    }
}

impl Filters for relay::Config {
    fn with_reservation_filter(mut self, f: impl Fn(&PeerId) -> bool + Send + 'static) -> Self {
        self.reservation_rate_limiters.push(Box::new(Filter(f)));
        self
    }

    fn with_circuit_filter(mut self, f: impl Fn(&PeerId) -> bool + Send + 'static) -> Self {
        self.circuit_src_rate_limiters.push(Box::new(Filter(f)));
        self
    }
}

/// One open connection, as `status` shows it.
#[derive(Clone, Debug)]
pub(super) struct Path {
    pub peer: PeerId,
    pub address: Multiaddr,
    pub relayed: bool,
}

/// A home server this node reserves a relayed address at.
#[derive(Clone, Debug)]
pub(super) struct Reservation {
    /// The relayed address being listened on.
    pub address: Multiaddr,
    pub listener: libp2p::core::transport::ListenerId,
    pub accepted: bool,
}

/// What AutoNAT last said about one of this node's addresses.
#[derive(Clone, Debug, Serialize)]
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

/// A connected node and how this node reaches it.
#[derive(Clone, Debug, Serialize)]
pub struct PeerPath {
    /// Its peer id.
    pub peer_id: String,
    /// Its members' names in this node's circles.
    pub members: Vec<String>,
    /// `direct` or `relayed` (the best of its connections).
    pub path: &'static str,
    /// The address of that connection.
    pub address: String,
    /// Whether it is one of the circles' home servers.
    pub home_server: bool,
}

/// A home server and this node's relayed address there.
#[derive(Clone, Debug, Serialize)]
pub struct RelayStatus {
    /// The home server's peer id.
    pub peer_id: String,
    /// The relayed address members dial to reach this node through it.
    pub address: String,
    /// Whether the home server accepted the reservation.
    pub reserved: bool,
}

/// When a member's node was last connected.
#[derive(Clone, Debug, Serialize)]
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

/// Relay, reachability and path state kept by the network task.
#[derive(Default)]
pub(super) struct RelayState {
    pub paths: HashMap<ConnectionId, Path>,
    /// Home servers (nodes that serve relay v2) seen through identify.
    pub home_servers: HashSet<PeerId>,
    pub reservations: HashMap<PeerId, Reservation>,
    pub reachability: HashMap<Multiaddr, (bool, PeerId, Instant)>,
    pub last_seen: HashMap<PeerId, SystemTime>,
    pub hole_punches: (u32, u32),
}

/// Whether an address goes through a relay.
pub(super) fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::P2pCircuit))
}

impl EventLoop {
    /// A home server advertises relaying only with an address it is reachable at; without
    /// --external-address, its own listen addresses stand in.
    pub(super) fn home_server_address(&mut self, address: Multiaddr) {
        if self.config.relay
            && self.config.external.is_empty()
            && !is_unspecified(&address)
            && !is_relayed(&address)
        {
            self.swarm.add_external_address(address);
        }
    }

    /// Notes a new connection's path.
    pub(super) fn path_opened(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        endpoint: &ConnectedPoint,
    ) {
        let address = endpoint.get_remote_address().clone();
        let relayed = endpoint.is_relayed() || is_relayed(&address);
        self.relay.paths.insert(
            id,
            Path {
                peer,
                address,
                relayed,
            },
        );
        self.relay.last_seen.insert(peer, SystemTime::now());
    }

    /// Forgets a closed connection's path; a closed link to a home server drops the
    /// reservation there (it is made again when the node is back).
    pub(super) fn path_closed(&mut self, peer: PeerId, id: ConnectionId, remaining: u32) {
        self.relay.paths.remove(&id);
        self.relay.last_seen.insert(peer, SystemTime::now());
        if remaining == 0
            && let Some(r) = self.relay.reservations.remove(&peer)
        {
            debug!(relay = %peer, "link to a home server closed; reservation dropped");
            self.swarm.remove_listener(r.listener);
        }
    }

    /// A member's node told us what it speaks: if it is a home server, reserve a relayed
    /// address there (unless this node is a home server itself).
    pub(super) fn on_identified(&mut self, peer: PeerId, info: &identify::Info) {
        if !info.protocols.contains(&relay::HOP_PROTOCOL_NAME) {
            self.relay.home_servers.remove(&peer);
            return;
        }
        self.relay.home_servers.insert(peer);
        if self.config.relay
            || self.relay.reservations.contains_key(&peer)
            || !self.swarm.behaviour().gate.is_member(&peer)
        {
            return;
        }
        // The address this node reaches the home server at: members behind the same kind of
        // network can reach it there too.
        let Some(base) = self
            .relay
            .paths
            .values()
            .find(|p| p.peer == peer && !p.relayed)
            .map(|p| p.address.clone())
            .or_else(|| {
                info.listen_addrs
                    .iter()
                    .find(|a| !is_unspecified(a) && !is_relayed(a))
                    .cloned()
            })
        else {
            return;
        };
        let address = strip_peer(&base)
            .with(Protocol::P2p(peer))
            .with(Protocol::P2pCircuit);
        match self.swarm.listen_on(address.clone()) {
            Ok(listener) => {
                debug!(relay = %peer, %address, "reserving a relayed address");
                self.relay.reservations.insert(
                    peer,
                    Reservation {
                        address,
                        listener,
                        accepted: false,
                    },
                );
            }
            Err(e) => warn!(relay = %peer, "could not reserve a relayed address: {e}"),
        }
    }

    pub(super) fn on_relay_client(&mut self, event: relay::client::Event) {
        match event {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                if let Some(r) = self.relay.reservations.get_mut(&relay_peer_id) {
                    r.accepted = true;
                }
                if !renewal {
                    info!(relay = %relay_peer_id, "reachable through a home server");
                    // Members learn the relayed address with this node's next record.
                    self.addresses_changed();
                }
            }
            other => debug!("relay client: {other:?}"),
        }
    }

    pub(super) fn on_relay_server(&mut self, event: relay::Event) {
        match event {
            relay::Event::ReservationReqAccepted { src_peer_id, .. } => {
                debug!(peer = %src_peer_id, "relaying for a member's node")
            }
            relay::Event::ReservationReqDenied { src_peer_id, .. } => {
                debug!(peer = %src_peer_id, "refused to relay for a node that is not a member's")
            }
            relay::Event::CircuitReqDenied {
                src_peer_id,
                dst_peer_id,
                ..
            } => debug!(src = %src_peer_id, dst = %dst_peer_id, "refused a relayed connection"),
            other => debug!("relay: {other:?}"),
        }
    }

    pub(super) fn on_dcutr(&mut self, event: dcutr::Event) {
        match event.result {
            Ok(_) => {
                self.relay.hole_punches.0 += 1;
                info!(peer = %event.remote_peer_id, "direct connection made through the relay (hole punching)");
            }
            Err(e) => {
                self.relay.hole_punches.1 += 1;
                debug!(peer = %event.remote_peer_id, "hole punching failed, staying relayed: {e}");
            }
        }
    }

    pub(super) fn on_autonat(&mut self, event: autonat::v2::client::Event) {
        let reachable = event.result.is_ok();
        debug!(addr = %event.tested_addr, server = %event.server, reachable, "reachability tested");
        self.relay
            .reachability
            .insert(event.tested_addr, (reachable, event.server, Instant::now()));
    }

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
                path: if path.relayed { "relayed" } else { "direct" },
                address: path.address.to_string(),
                home_server: self.relay.home_servers.contains(&peer),
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
        let known: HashMap<String, Vec<String>> = self
            .circles
            .store()
            .peers()
            .unwrap_or_default()
            .into_iter()
            .collect();
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

/// The relay a relayed address goes through: the peer just before `/p2p-circuit`.
pub(super) fn relay_of(addr: &Multiaddr) -> Option<PeerId> {
    let mut last = None;
    for p in addr.iter() {
        match p {
            Protocol::P2p(peer) => last = Some(peer),
            Protocol::P2pCircuit => return last,
            _ => {}
        }
    }
    None
}

/// `addr` without a trailing `/p2p/<peer>`.
fn strip_peer(addr: &Multiaddr) -> Multiaddr {
    let mut addr = addr.clone();
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr.pop();
    }
    addr
}
