//! Protocols served only on members' connections.
//!
//! A stranger let in through the open door (to bring a join request) gets a connection on which
//! only the join exchange runs (and, on a home server, a relayed connection within the
//! strangers' budget). [`MembersOnly`] wraps a behaviour so that on any connection whose peer
//! was not a member's node when it was established, the wrapped protocol is not spoken at all:
//! its handler is `dummy` (the stranger is told nothing, not even that the protocol exists), and
//! the wrapped behaviour never hears of the connection, so it sends nothing on it (gossipsub's
//! hello with this node's topics, identify's protocol list, a sync request, an AutoNAT dial).

use std::{
    collections::{HashMap, HashSet},
    task::{Context, Poll},
};

use libp2p::{
    Multiaddr, PeerId,
    core::{Endpoint, transport::PortUse},
    swarm::{
        ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour,
        NotifyHandler, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
        behaviour::ConnectionEstablished, dummy,
    },
};

use super::relay::Access;

/// `B`, spoken only on connections of members' nodes (as [`Access`] knows them when the
/// connection is established).
pub struct MembersOnly<B> {
    inner: B,
    access: Access,
    /// Connections `inner` serves, by peer (in the order they were established).
    served: HashMap<PeerId, Vec<ConnectionId>>,
    /// Connections it does not.
    limited: HashSet<ConnectionId>,
}

impl<B> MembersOnly<B> {
    pub fn new(inner: B, access: Access) -> Self {
        MembersOnly {
            inner,
            access,
            served: HashMap::new(),
            limited: HashSet::new(),
        }
    }

    fn serves(&mut self, peer: PeerId, id: ConnectionId) -> bool {
        if self.access.is_member(&peer) {
            true
        } else {
            self.limited.insert(id);
            false
        }
    }
}

impl<B> std::ops::Deref for MembersOnly<B> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.inner
    }
}

impl<B> std::ops::DerefMut for MembersOnly<B> {
    fn deref_mut(&mut self) -> &mut B {
        &mut self.inner
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for MembersOnly<B> {
    type ConnectionHandler = either::Either<THandler<B>, dummy::ConnectionHandler>;
    type ToSwarm = B::ToSwarm;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner
            .handle_pending_inbound_connection(id, local, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if !self.serves(peer, id) {
            return Ok(either::Either::Right(dummy::ConnectionHandler));
        }
        let handler = self
            .inner
            .handle_established_inbound_connection(id, peer, local, remote);
        if handler.is_err() {
            self.limited.insert(id);
        }
        handler.map(either::Either::Left)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: Option<PeerId>,
        addresses: &[Multiaddr],
        role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner
            .handle_pending_outbound_connection(id, peer, addresses, role)
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if !self.serves(peer, id) {
            return Ok(either::Either::Right(dummy::ConnectionHandler));
        }
        let handler = self
            .inner
            .handle_established_outbound_connection(id, peer, addr, role, port_use);
        if handler.is_err() {
            self.limited.insert(id);
        }
        handler.map(either::Either::Left)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                if self.limited.contains(&e.connection_id) {
                    return;
                }
                let served = self.served.entry(e.peer_id).or_default();
                // The wrapped behaviour counts only the connections it serves.
                let other_established = served.len();
                served.push(e.connection_id);
                self.inner.on_swarm_event(FromSwarm::ConnectionEstablished(
                    ConnectionEstablished {
                        other_established,
                        ..e
                    },
                ));
            }
            FromSwarm::ConnectionClosed(e) => {
                if self.limited.remove(&e.connection_id) {
                    return;
                }
                let Some(served) = self.served.get_mut(&e.peer_id) else {
                    return;
                };
                served.retain(|id| *id != e.connection_id);
                let remaining_established = served.len();
                if served.is_empty() {
                    self.served.remove(&e.peer_id);
                }
                self.inner
                    .on_swarm_event(FromSwarm::ConnectionClosed(ConnectionClosed {
                        remaining_established,
                        ..e
                    }));
            }
            FromSwarm::AddressChange(e) if self.limited.contains(&e.connection_id) => {}
            other => self.inner.on_swarm_event(other),
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            either::Either::Left(event) => self.inner.on_connection_handler_event(peer, id, event),
            either::Either::Right(never) => match never {},
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<B::ToSwarm, THandlerInEvent<Self>>> {
        loop {
            let event = match self.inner.poll(cx) {
                Poll::Ready(event) => event,
                Poll::Pending => return Poll::Pending,
            };
            let event = match event {
                // Never to a connection the wrapped behaviour does not serve: it has no
                // handler of its there.
                ToSwarm::NotifyHandler {
                    peer_id,
                    handler,
                    event,
                } => {
                    let served = self.served.get(&peer_id);
                    let target = match handler {
                        NotifyHandler::One(id) if served.is_some_and(|s| s.contains(&id)) => id,
                        NotifyHandler::Any => match served.and_then(|s| s.first()) {
                            Some(id) => *id,
                            None => continue,
                        },
                        NotifyHandler::One(_) => continue,
                    };
                    ToSwarm::NotifyHandler {
                        peer_id,
                        handler: NotifyHandler::One(target),
                        event: either::Either::Left(event),
                    }
                }
                other => other.map_in(either::Either::Left),
            };
            return Poll::Ready(event);
        }
    }
}
