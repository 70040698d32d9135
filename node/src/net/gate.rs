//! Who may hold a connection to this node: the nodes of current members of its circles; a
//! node it is joining through; and, only while this node has a live invite of its own out, a
//! stranger that may be bringing it (for the join exchange alone, see `EventLoop::on_gate_tick`).
//!
//! On a home server, a node whose peer id is the holder key of a backup kept here is let in
//! too, as a stranger (within the strangers' limits): only the backup protocol serves it.
//!
//! Anything else is refused by the swarm right after the Noise handshake, before any other
//! protocol runs on the connection.

use std::{
    collections::{HashMap, HashSet},
    convert::Infallible,
    net::IpAddr,
    task::{Context, Poll},
};

use libp2p::{
    Multiaddr, PeerId,
    core::{Endpoint, transport::PortUse},
    multiaddr::Protocol,
    swarm::{
        ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
        THandlerOutEvent, ToSwarm, dummy,
    },
};

/// Inbound handshakes in progress from one IP address at once (members' nodes behind one NAT
/// included: a redial storm of a whole household stays under it).
pub const MAX_PENDING_PER_IP: usize = 8;
/// Strangers' connections at once, from everywhere.
pub const MAX_STRANGERS: usize = 64;

/// Why a stranger's connection was refused although the door is open.
#[derive(Debug)]
struct TooMany(&'static str);

impl std::fmt::Display for TooMany {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "too many {}", self.0)
    }
}

impl std::error::Error for TooMany {}

/// The IP address a connection comes from, if it names one (a relayed one does not).
fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    if addr.iter().any(|p| matches!(p, Protocol::P2pCircuit)) {
        return None;
    }
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(ip.into()),
        Protocol::Ip6(ip) => Some(ip.into()),
        _ => None,
    })
}

/// Why a connection was refused.
#[derive(Debug)]
struct NotAMember(PeerId);

impl std::fmt::Display for NotAMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not the node of a member", self.0)
    }
}

impl std::error::Error for NotAMember {}

/// The gate: a behaviour with no protocol of its own that admits or refuses connections.
#[derive(Default)]
pub struct Gate {
    /// Strangers' connections from one IP address at once ([`NodeConfig::strangers_per_ip`]).
    ///
    /// [`NodeConfig::strangers_per_ip`]: crate::NodeConfig::strangers_per_ip
    strangers_per_ip: usize,
    members: HashSet<PeerId>,
    joining: HashSet<PeerId>,
    /// Holder keys of the backups kept here, as peer ids (see `backup.rs`).
    holders: HashSet<PeerId>,
    door_open: bool,
    /// Nodes refused whatever else holds (partition tests).
    cut: HashSet<PeerId>,
    /// Every connection refused: a newer copy of this node replaced it.
    closed: bool,
    /// Inbound handshakes in progress, by where they come from.
    pending: HashMap<ConnectionId, Option<IpAddr>>,
    /// Strangers' open connections, by where they come from.
    strangers: HashMap<ConnectionId, Option<IpAddr>>,
}

impl Gate {
    /// A gate with the door shut, taking at most `strangers_per_ip` strangers' connections
    /// from one IP address once it opens.
    pub fn new(strangers_per_ip: usize) -> Gate {
        Gate {
            strangers_per_ip,
            ..Gate::default()
        }
    }

    /// Sets the member nodes; returns those that were let in before and no longer are.
    pub fn set_members(&mut self, members: HashSet<PeerId>) -> Vec<PeerId> {
        let gone = self
            .members
            .difference(&members)
            .filter(|p| !self.joining.contains(*p))
            .copied()
            .collect();
        self.members = members;
        gone
    }

    /// Whether `peer` is the node of a current member.
    pub fn is_member(&self, peer: &PeerId) -> bool {
        self.members.contains(peer)
    }

    /// Whether `peer` may stay connected for more than a join exchange.
    pub fn is_trusted(&self, peer: &PeerId) -> bool {
        self.members.contains(peer) || self.joining.contains(peer)
    }

    /// Lets this node connect to the inviter's node while it joins (or stops doing so).
    pub fn joining(&mut self, peer: PeerId, on: bool) {
        if on {
            self.joining.insert(peer);
        } else {
            self.joining.remove(&peer);
        }
    }

    /// Sets the holder keys (as peer ids) of the backups kept here.
    pub fn set_holders(&mut self, holders: HashSet<PeerId>) {
        self.holders = holders;
    }

    /// Refuses these nodes whatever else holds (replacing the previous set).
    pub fn cut_off(&mut self, peers: HashSet<PeerId>) {
        self.cut = peers;
    }

    /// Refuses every connection from now on (a newer copy of this node replaced it).
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Opens the door to strangers (for join requests) while this node has live invites.
    pub fn set_door(&mut self, open: bool) {
        self.door_open = open;
    }

    fn check(&self, peer: &PeerId, inbound: bool) -> Result<(), ConnectionDenied> {
        if self.closed || self.cut.contains(peer) {
            Err(ConnectionDenied::new(NotAMember(*peer)))
        } else if self.is_trusted(peer)
            || (inbound && (self.door_open || self.holders.contains(peer)))
        {
            Ok(())
        } else {
            Err(ConnectionDenied::new(NotAMember(*peer)))
        }
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let ip = ip_of(remote);
        let from_there = self.pending.values().filter(|p| ip.is_some() && **p == ip);
        if from_there.count() >= MAX_PENDING_PER_IP {
            return Err(ConnectionDenied::new(TooMany(
                "handshakes from one address",
            )));
        }
        self.pending.insert(id, ip);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.pending.remove(&id);
        self.check(&peer, true)?;
        if !self.is_trusted(&peer) {
            // A stranger let in through the open door: within the strangers' limits.
            let ip = ip_of(remote);
            if self.strangers.len() >= MAX_STRANGERS {
                return Err(ConnectionDenied::new(TooMany("strangers' connections")));
            }
            let from_there = self
                .strangers
                .values()
                .filter(|s| ip.is_some() && **s == ip);
            if from_there.count() >= self.strangers_per_ip {
                return Err(ConnectionDenied::new(TooMany(
                    "strangers' connections from one address",
                )));
            }
            self.strangers.insert(id, ip);
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(&peer, false)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionClosed(e) => {
                self.strangers.remove(&e.connection_id);
            }
            FromSwarm::ListenFailure(e) => {
                self.pending.remove(&e.connection_id);
                self.strangers.remove(&e.connection_id);
            }
            FromSwarm::ConnectionEstablished(e) => {
                self.pending.remove(&e.connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
