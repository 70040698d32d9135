//! Who may hold a connection to this node: the nodes of current members of its circles; a
//! node it is joining through; and, only while this node has a live invite of its own out, a
//! stranger that may be bringing it (for the join exchange alone, see `EventLoop::on_gate_tick`).
//!
//! Anything else is refused by the swarm right after the Noise handshake, before any other
//! protocol runs on the connection.

use std::{
    collections::HashSet,
    convert::Infallible,
    task::{Context, Poll},
};

use libp2p::{
    Multiaddr, PeerId,
    core::{Endpoint, transport::PortUse},
    swarm::{
        ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
        THandlerOutEvent, ToSwarm, dummy,
    },
};

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
    members: HashSet<PeerId>,
    joining: HashSet<PeerId>,
    door_open: bool,
    /// Nodes refused whatever else holds (partition tests).
    cut: HashSet<PeerId>,
}

impl Gate {
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

    /// Refuses these nodes whatever else holds (replacing the previous set).
    pub fn cut_off(&mut self, peers: HashSet<PeerId>) {
        self.cut = peers;
    }

    /// Opens the door to strangers (for join requests) while this node has live invites.
    pub fn set_door(&mut self, open: bool) {
        self.door_open = open;
    }

    fn check(&self, peer: &PeerId, inbound: bool) -> Result<(), ConnectionDenied> {
        if self.cut.contains(peer) {
            Err(ConnectionDenied::new(NotAMember(*peer)))
        } else if self.is_trusted(peer) || (inbound && self.door_open) {
            Ok(())
        } else {
            Err(ConnectionDenied::new(NotAMember(*peer)))
        }
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(&peer, true)?;
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

    fn on_swarm_event(&mut self, _: FromSwarm) {}

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
