//! Home servers and NAT: relaying for members only, reserving relayed addresses at the
//! circles' home servers, hole punching and reachability (reported by `status.rs`).
//!
//! A node run with `relay` (a member's always-on home server) serves circuit relay v2 and
//! AutoNAT v2 to the nodes of its circles' members. Every other node reserves a relayed address
//! at each home server it is connected to, so members that cannot reach each other directly
//! still connect (through the home server), and DCUtR then tries to make the path direct.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    num::NonZeroU32,
    sync::{Arc, RwLock},
    time::{Duration, Instant, SystemTime},
};

use libp2p::{
    Multiaddr, PeerId, autonat, core::ConnectedPoint, dcutr, identify, multiaddr::Protocol, relay,
    swarm::ConnectionId,
};
use tracing::{debug, info, warn};

use super::{EventLoop, MAX_SHARED_ADDRS, limit::Budget};
use crate::circles::is_unspecified;

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

/// Relayed connections strangers (joiners) may open through a home server per minute, all
/// together: enough for people joining, too few to use it as an open relay.
const STRANGER_CIRCUITS_PER_MINUTE: usize = 20;
/// Of those, how many may come from one source address: a joiner needs one (a retry or two at
/// most), so one source cannot use up the budget of everyone else joining.
const STRANGER_CIRCUITS_PER_SOURCE: usize = 4;

/// Who may use this node as a relay, shared with the relay behaviour's filters: the nodes of
/// current members, and (for circuits only, while an invite of the circle is live, within a
/// small budget) a stranger bringing a join request to a member behind NAT.
#[derive(Clone, Default)]
pub struct Access(Arc<RwLock<AccessInner>>);

#[derive(Default)]
struct AccessInner {
    members: HashSet<PeerId>,
    door_open: bool,
    /// When strangers' circuits were allowed in the last minute.
    strangers: VecDeque<Instant>,
    /// Strangers' circuits per source address in the last minute.
    sources: Option<Budget<Source>>,
}

/// Where a stranger's circuit comes from: its IP address (new peer ids cost nothing), or its
/// peer id when the address names no IP.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Source {
    Ip(std::net::IpAddr),
    Peer(PeerId),
}

impl Source {
    fn of(peer: &PeerId, addr: &Multiaddr) -> Source {
        addr.iter()
            .find_map(|p| match p {
                Protocol::Ip4(ip) => Some(Source::Ip(ip.into())),
                Protocol::Ip6(ip) => Some(Source::Ip(ip.into())),
                _ => None,
            })
            .unwrap_or(Source::Peer(*peer))
    }
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

    pub(super) fn is_member(&self, peer: &PeerId) -> bool {
        self.0
            .read()
            .map(|a| a.members.contains(peer))
            .unwrap_or(false)
    }

    /// Whether `peer`, connected from `addr`, may open a relayed connection now.
    fn allows_circuit(&self, peer: &PeerId, addr: &Multiaddr, now: Instant) -> bool {
        let Ok(mut a) = self.0.write() else {
            return false;
        };
        if a.members.contains(peer) {
            return true;
        }
        if !a.door_open {
            return false;
        }
        while a
            .strangers
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            a.strangers.pop_front();
        }
        if a.strangers.len() >= STRANGER_CIRCUITS_PER_MINUTE {
            return false;
        }
        let sources = a.sources.get_or_insert_with(|| {
            Budget::new(STRANGER_CIRCUITS_PER_SOURCE, Duration::from_secs(60))
        });
        sources.prune(now);
        if !sources.take(&Source::of(peer, addr), now) {
            return false;
        }
        a.strangers.push_back(now);
        true
    }

    /// The relay server's configuration: limits for chats that stay open, and filters that
    /// refuse anyone but members (and a few joiners, for circuits, while the door is open).
    /// libp2p's default per-IP and per-peer limits are replaced: they are checked before the
    /// filters and would let members' own redials (or strangers sharing their address) lock
    /// them out for minutes.
    pub(super) fn relay_config(&self) -> relay::Config {
        let (reservations, circuits) = (self.clone(), self.clone());
        let mut config = relay::Config {
            max_reservations: MAX_RESERVATIONS,
            max_reservations_per_peer: 4,
            reservation_duration: RESERVATION_DURATION,
            reservation_rate_limiters: Vec::new(),
            max_circuits: MAX_CIRCUITS,
            max_circuits_per_peer: MAX_CIRCUITS_PER_PEER,
            max_circuit_duration: CIRCUIT_DURATION,
            max_circuit_bytes: CIRCUIT_BYTES,
            circuit_src_rate_limiters: Vec::new(),
        };
        config.reservation_rate_limiters.push(Box::new(Filter(
            move |peer: &PeerId, _: &Multiaddr, _| reservations.is_member(peer),
        )));
        config.circuit_src_rate_limiters.push(Box::new(Filter(
            move |peer: &PeerId, addr: &Multiaddr, now| circuits.allows_circuit(peer, addr, now),
        )));
        config
            .reservation_rate_per_peer(
                NonZeroU32::new(60).expect("non-zero"),
                Duration::from_secs(10),
            )
            .circuit_src_per_peer(
                NonZeroU32::new(120).expect("non-zero"),
                Duration::from_secs(1),
            )
    }
}

/// A relay "rate limiter" that admits by who the peer is (checked first, so a refused peer
/// uses up no one's tokens).
struct Filter<F>(F);

impl<F: FnMut(&PeerId, &Multiaddr, Instant) -> bool + Send> relay::RateLimiter for Filter<F> {
    fn try_next(&mut self, peer: PeerId, addr: &Multiaddr, now: Instant) -> bool {
        (self.0)(&peer, addr, now)
    }
}

/// One open connection, as `status` shows it.
#[derive(Clone, Debug)]
pub(super) struct Path {
    pub peer: PeerId,
    pub address: Multiaddr,
    pub relayed: bool,
    /// Whether this node dialled it (so the address is where the other node listens).
    pub dialled: bool,
    pub opened: Instant,
}

/// A home server this node reserves a relayed address at.
#[derive(Clone, Debug)]
pub(super) struct Reservation {
    /// The relayed address being listened on.
    pub address: Multiaddr,
    pub listener: libp2p::core::transport::ListenerId,
    pub accepted: bool,
}

/// Relay, reachability and path state kept by the network task.
#[derive(Default)]
pub(super) struct RelayState {
    pub paths: HashMap<ConnectionId, Path>,
    /// Member nodes that serve relay v2 (seen through identify), with the listen addresses
    /// they announced.
    pub home_servers: HashMap<PeerId, Vec<Multiaddr>>,
    pub reservations: HashMap<PeerId, Reservation>,
    /// When a reservation was last asked for at each home server.
    pub reserve_tried: HashMap<PeerId, Instant>,
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
    /// --external-address, its own specific listen addresses stand in (loopback only when it
    /// listens on nothing else, as in tests on one machine).
    pub(super) fn home_server_address(&mut self, address: Multiaddr) {
        if !self.config.relay || !self.config.external.is_empty() || !announceable(&address) {
            return;
        }
        let loopback_only = self.config.listen.iter().all(is_loopback);
        if loopback_only || !is_loopback(&address) {
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
                dialled: endpoint.is_dialer(),
                opened: Instant::now(),
            },
        );
        if self.swarm.behaviour().gate.is_member(&peer) {
            self.relay.last_seen.insert(peer, SystemTime::now());
        }
    }

    /// Forgets a closed connection's path; returns how long it lived. A home server's last
    /// connection closing drops the reservation there (made again when it is back).
    pub(super) fn path_closed(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        remaining: u32,
    ) -> Duration {
        let lived = self
            .relay
            .paths
            .remove(&id)
            .map(|p| p.opened.elapsed())
            .unwrap_or_default();
        if self.swarm.behaviour().gate.is_member(&peer) {
            self.relay.last_seen.insert(peer, SystemTime::now());
        }
        if remaining == 0 {
            self.relay.home_servers.remove(&peer);
            if let Some(r) = self.relay.reservations.remove(&peer) {
                debug!(relay = %peer, "link to a home server closed; reservation dropped");
                self.swarm.remove_listener(r.listener);
            }
        }
        lived
    }

    /// The ids of `peer`'s open connections.
    pub(super) fn connections_of(&self, peer: &PeerId) -> Vec<ConnectionId> {
        self.relay
            .paths
            .iter()
            .filter(|(_, p)| p.peer == *peer)
            .map(|(id, _)| *id)
            .collect()
    }

    /// A member's node told us what it speaks: note whether it is a home server, and reserve
    /// there if so.
    pub(super) fn on_identified(&mut self, peer: PeerId, info: &identify::Info) {
        if info.protocols.contains(&relay::HOP_PROTOCOL_NAME)
            && self.swarm.behaviour().gate.is_member(&peer)
        {
            let addrs = info
                .listen_addrs
                .iter()
                .filter(|a| announceable(a))
                .take(MAX_SHARED_ADDRS)
                .cloned()
                .collect();
            self.relay.home_servers.insert(peer, addrs);
            self.ensure_reservations();
        } else {
            self.relay.home_servers.remove(&peer);
        }
    }

    /// Reserves a relayed address at every connected home server of this node's circles that
    /// has none (at most every 10 s per home server), unless this node is a home server itself.
    /// Runs on identify and every second, so a reservation lost or refused (a home server that
    /// had not yet heard of this member) is asked for again.
    pub(super) fn ensure_reservations(&mut self) {
        if self.config.relay {
            return;
        }
        let now = Instant::now();
        let wanted: Vec<PeerId> = self
            .relay
            .home_servers
            .keys()
            .filter(|p| !self.relay.reservations.contains_key(p))
            .filter(|p| self.swarm.behaviour().gate.is_member(p))
            .filter(|p| {
                self.relay
                    .reserve_tried
                    .get(p)
                    .is_none_or(|t| now.duration_since(*t) >= RESERVE_RETRY)
            })
            .copied()
            .collect();
        for peer in wanted {
            self.relay.reserve_tried.insert(peer, now);
            self.reserve_at(peer);
        }
    }

    fn reserve_at(&mut self, peer: PeerId) {
        // Where this node reaches the home server (if it dialled it), else where the home
        // server says it listens: members behind similar networks reach it there too.
        let dialled = self
            .relay
            .paths
            .values()
            .find(|p| p.peer == peer && !p.relayed && p.dialled)
            .map(|p| p.address.clone());
        let announced = self
            .relay
            .home_servers
            .get(&peer)
            .cloned()
            .unwrap_or_default();
        let Some(base) = dialled
            .or_else(|| announced.iter().find(|a| !is_loopback(a)).cloned())
            .or_else(|| announced.first().cloned())
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

    /// A relayed listener closed: its reservation is gone (and is asked for again).
    pub(super) fn reservation_closed(
        &mut self,
        listener: libp2p::core::transport::ListenerId,
        error: Option<std::io::Error>,
    ) {
        let gone: Vec<PeerId> = self
            .relay
            .reservations
            .iter()
            .filter(|(_, r)| r.listener == listener)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in gone {
            self.relay.reservations.remove(&peer);
            match &error {
                Some(e) => info!(relay = %peer, "relay reservation ended: {e}"),
                None => debug!(relay = %peer, "relay reservation ended"),
            }
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
        let now = Instant::now();
        // Only recent answers matter (and observed addresses change with every network).
        self.relay
            .reachability
            .retain(|_, (_, _, at)| now.duration_since(*at) < Duration::from_secs(3600));
        self.relay
            .reachability
            .insert(event.tested_addr, (reachable, event.server, now));
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

/// How long to wait before asking a home server for a reservation again.
const RESERVE_RETRY: Duration = Duration::from_secs(10);

/// Whether an address is worth announcing to others: specific, not link-local, not relayed.
fn announceable(addr: &Multiaddr) -> bool {
    !is_unspecified(addr)
        && !is_relayed(addr)
        && !addr.iter().any(|p| match p {
            Protocol::Ip4(ip) => ip.is_link_local(),
            Protocol::Ip6(ip) => ip.is_unicast_link_local(),
            _ => false,
        })
}

fn is_loopback(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_loopback(),
        Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}

/// `addr` without a trailing `/p2p/<peer>`.
fn strip_peer(addr: &Multiaddr) -> Multiaddr {
    let mut addr = addr.clone();
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr.pop();
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_stranger_cannot_use_up_the_relays_stranger_circuits_for_others() {
        let access = Access::default();
        access.set_door(true);
        let now = Instant::now();
        let mallory: Multiaddr = "/ip4/203.0.113.9/tcp/4001".parse().unwrap();
        // Fresh peer ids cost her nothing: a new one for every try.
        let taken = (0..100)
            .filter(|_| access.allows_circuit(&PeerId::random(), &mallory, now))
            .count();
        assert_eq!(taken, STRANGER_CIRCUITS_PER_SOURCE, "her own budget only");
        let joiner: Multiaddr = "/ip4/198.51.100.20/tcp/51000".parse().unwrap();
        assert!(
            access.allows_circuit(&PeerId::random(), &joiner, now),
            "someone else joining still gets through"
        );
        // And no more than the home server's budget for everyone, per minute.
        let others = (0..100u8)
            .filter(|i| {
                let addr: Multiaddr = format!("/ip4/198.51.100.{i}/tcp/1").parse().unwrap();
                access.allows_circuit(&PeerId::random(), &addr, now)
            })
            .count();
        assert!(taken + 1 + others <= STRANGER_CIRCUITS_PER_MINUTE);
        access.set_door(false);
        assert!(!access.allows_circuit(&PeerId::random(), &joiner, now + Duration::from_secs(61)));
    }
}
