//! Addresses: this node's, other members' nodes', and remembering them across restarts.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use circle_crypto::CircleId;
use libp2p::{
    Multiaddr, PeerId,
    multiaddr::Protocol,
    swarm::dial_opts::{DialOpts, PeerCondition},
};
use tracing::{debug, warn};

use super::{
    EventLoop, MAX_SHARED_ADDRS,
    relay::{is_relayed, relay_of},
};

/// First retry after losing a member's node.
const FIRST_RETRY: Duration = Duration::from_secs(2);
/// A connection that lasted this long was a real one: retries after it start over.
const STABLE: Duration = Duration::from_secs(30);

impl EventLoop {
    pub(super) fn local_addrs(&self) -> Vec<String> {
        let me = *self.swarm.local_peer_id();
        // Addresses others can reach from outside come first (given or confirmed, then relayed
        // through a home server): invites and records keep only a few.
        // One relayed address per home server is enough (a member connected to it reaches
        // this node through any), and direct ones keep room.
        let external = self.swarm.external_addresses().filter(|a| !is_relayed(a));
        let mut relays = HashSet::new();
        let relayed = self
            .listen
            .iter()
            .filter(|a| is_relayed(a) && relays.insert(relay_of(a)))
            .take(MAX_SHARED_ADDRS / 2);
        let direct = self.listen.iter().filter(|a| !is_relayed(a));
        let mut out: Vec<String> = Vec::new();
        for addr in external.chain(relayed).chain(direct) {
            let text = with_peer(addr, me).to_string();
            if !out.contains(&text) {
                out.push(text);
            }
        }
        out.truncate(MAX_SHARED_ADDRS);
        out
    }

    /// Addresses of other nodes that proved membership of `circle` to this node.
    pub(super) fn member_addrs(&self, circle: &CircleId, except: &PeerId) -> Vec<String> {
        self.proven
            .iter()
            .filter(|(peer, circles)| *peer != except && circles.contains(circle))
            .flat_map(|(peer, _)| {
                let addrs = self.identified.get(peer).into_iter().flatten().take(2);
                addrs.map(|a| with_peer(a, *peer).to_string())
            })
            .take(MAX_SHARED_ADDRS)
            .collect()
    }

    /// Dials member nodes at these addresses: one dial per node (not while connected), its
    /// direct addresses before relayed ones, and one relayed address per home server (each
    /// relayed attempt costs the home server a circuit).
    pub(super) fn dial_all(&mut self, addrs: &[String]) {
        let me = *self.swarm.local_peer_id();
        let mut by_peer: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
        for text in addrs {
            let Ok(addr) = text.parse::<Multiaddr>() else {
                continue;
            };
            let Some(peer) = peer_of(&addr) else { continue };
            // Only members' nodes (the gate would refuse anything else anyway).
            if peer == me
                || self.swarm.is_connected(&peer)
                || !self.swarm.behaviour().gate.is_trusted(&peer)
            {
                continue;
            }
            let list = by_peer.entry(peer).or_default();
            let relay = relay_of(&addr);
            if !list.contains(&addr)
                && (relay.is_none() || !list.iter().any(|a| relay_of(a) == relay))
            {
                list.push(addr);
            }
        }
        for (peer, mut addrs) in by_peer {
            addrs.sort_by_key(is_relayed);
            for addr in &addrs {
                self.swarm.add_peer_address(peer, addr.clone());
            }
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                // Not "and not dialling": an earlier dial may hang on an address that drops
                // packets (a private address across a NAT) for minutes, while a relayed one
                // learned since would connect at once.
                .condition(PeerCondition::Disconnected)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, "dial failed: {e}");
            }
        }
    }

    /// A member's node was lost: try it again soon, then less and less often (2 s, 4 s, ... up
    /// to the redial interval, after which the regular redial takes over).
    /// A connection that lasted `lived` was the last one. If it lasted less than
    /// [`STABLE`] (a node that refuses this one after the handshake, a flapping path), the
    /// retries keep backing off instead of starting over.
    pub(super) fn lost(&mut self, peer: PeerId, lived: Duration) {
        if !self.swarm.behaviour().gate.is_member(&peer) {
            self.retry.remove(&peer);
            return;
        }
        let step = match self.retry.get(&peer) {
            Some((_, step)) if lived < STABLE => *step,
            _ => FIRST_RETRY,
        };
        self.retry.insert(peer, (Instant::now() + step, step));
    }

    /// Redials lost member nodes whose retry is due.
    pub(super) fn retry_due(&mut self) {
        let now = Instant::now();
        let due: Vec<PeerId> = self
            .retry
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(peer, _)| *peer)
            .collect();
        if due.is_empty() {
            return;
        }
        let known = self.known_peers();
        for peer in due {
            let Some((_, step)) = self.retry.remove(&peer) else {
                continue;
            };
            if !self.swarm.behaviour().gate.is_member(&peer) {
                continue;
            }
            let next = (step * 2).min(self.config.redial_interval);
            self.retry.insert(peer, (now + next, next));
            if self.swarm.is_connected(&peer) {
                continue;
            }
            if let Some(addrs) = known.get(&peer.to_string()) {
                debug!(%peer, "trying a lost member's node again");
                self.dial_all(addrs);
            }
        }
    }

    /// Remembered member nodes and the addresses they are dialled at, by peer id.
    pub(super) fn known_peers(&self) -> HashMap<String, Vec<String>> {
        self.circles
            .store()
            .peers()
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    pub(super) fn redial(&mut self) {
        let Ok(peers) = self.circles.store().peers() else {
            return;
        };
        let addrs: Vec<String> = peers.into_iter().flat_map(|(_, a)| a).collect();
        self.dial_all(&addrs);
    }

    /// Saves the addresses of a proven member's node.
    pub(super) fn remember_peer(&mut self, peer: PeerId, known: &[Multiaddr]) {
        let addrs: Vec<String> = self
            .identified
            .get(&peer)
            .into_iter()
            .flatten()
            .chain(known)
            .take(MAX_SHARED_ADDRS)
            .map(|a| with_peer(a, peer).to_string())
            .collect();
        if !addrs.is_empty()
            && let Err(e) = self.circles.store().put_peer(&peer.to_string(), &addrs)
        {
            warn!("could not remember a member's address: {e}");
        }
    }

    /// Records that `peer` proved membership of `circle`, and remembers its addresses (with
    /// `known` ones) so it is redialled after restarts.
    pub(super) fn proven_member(&mut self, peer: PeerId, circle: CircleId, known: &[Multiaddr]) {
        self.proven.entry(peer).or_default().insert(circle);
        self.remember_peer(peer, known);
    }
}

/// The peer id an address ends in, if any (for a relayed address, the node behind the relay).
pub(super) fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

/// `addr` ending in `/p2p/<peer>`.
pub(super) fn with_peer(addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    if peer_of(addr).is_some() {
        addr.clone()
    } else {
        addr.clone().with(Protocol::P2p(peer))
    }
}
