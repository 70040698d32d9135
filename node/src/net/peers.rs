//! Addresses: this node's, other members' nodes', and remembering them across restarts.

use circle_crypto::CircleId;
use libp2p::{Multiaddr, PeerId, multiaddr::Protocol};
use tracing::{debug, warn};

use super::{EventLoop, MAX_SHARED_ADDRS};

impl EventLoop {
    pub(super) fn local_addrs(&self) -> Vec<String> {
        let me = *self.swarm.local_peer_id();
        // Addresses others can reach from outside come first: invites keep only a few.
        self.swarm
            .external_addresses()
            .chain(&self.listen)
            .take(MAX_SHARED_ADDRS)
            .map(|a| with_peer(a, me).to_string())
            .collect()
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

    pub(super) fn dial_all(&mut self, addrs: &[String]) {
        let me = *self.swarm.local_peer_id();
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
            self.swarm.add_peer_address(peer, addr.clone());
            if let Err(e) = self.swarm.dial(addr) {
                debug!(%peer, "dial failed: {e}");
            }
        }
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

/// The peer id at the end of an address, if any.
pub(super) fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// `addr` ending in `/p2p/<peer>`.
pub(super) fn with_peer(addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    if peer_of(addr).is_some() {
        addr.clone()
    } else {
        addr.clone().with(Protocol::P2p(peer))
    }
}

pub(super) fn is_unspecified(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_unspecified(),
        Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}
