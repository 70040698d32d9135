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

/// `B` (the AutoNAT server), dialling only global addresses: a member's node asks a home server
/// to dial an address of its choosing, which must not turn the home server into a scanner of
/// its own network (loopback, private ranges) or of anyone else's.
pub struct GlobalDialsOnly<B> {
    inner: B,
    /// Dials `inner` asked for, until the swarm has looked at their addresses.
    dials: HashSet<ConnectionId>,
}

impl<B> GlobalDialsOnly<B> {
    pub fn new(inner: B) -> Self {
        GlobalDialsOnly {
            inner,
            dials: HashSet::new(),
        }
    }
}

/// Why a dial-back was refused.
#[derive(Debug)]
struct NotGlobal;

impl std::fmt::Display for NotGlobal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("only global addresses are dialled back")
    }
}

impl std::error::Error for NotGlobal {}

/// Whether `addr` is a direct address on the public internet: an IP address outside the
/// loopback, private, shared (CGNAT), link-local, documentation, multicast and reserved
/// ranges; no DNS name (it could resolve to anything), no relayed address.
pub fn is_global(addr: &Multiaddr) -> bool {
    use libp2p::multiaddr::Protocol;
    let mut ip = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
            Protocol::Ip6(v6) => ip = Some(std::net::IpAddr::V6(v6)),
            Protocol::Dns(_)
            | Protocol::Dns4(_)
            | Protocol::Dns6(_)
            | Protocol::Dnsaddr(_)
            | Protocol::P2pCircuit => return false,
            _ => {}
        }
    }
    match ip {
        Some(std::net::IpAddr::V4(v4)) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0))
        }
        Some(std::net::IpAddr::V6(v6)) => {
            let first = v6.segments()[0];
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_global(&Multiaddr::empty().with(Protocol::Ip4(v4)));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
        None => false,
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for GlobalDialsOnly<B> {
    type ConnectionHandler = THandler<B>;
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
        self.inner
            .handle_established_inbound_connection(id, peer, local, remote)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: Option<PeerId>,
        addresses: &[Multiaddr],
        role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        // The swarm reports the refusal to every behaviour as a failed dial: the server answers
        // its client that the dial-back failed.
        if self.dials.remove(&id) && !addresses.iter().all(is_global) {
            return Err(ConnectionDenied::new(NotGlobal));
        }
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
        self.inner
            .handle_established_outbound_connection(id, peer, addr, role, port_use)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::DialFailure(e) = &event {
            self.dials.remove(&e.connection_id);
        }
        self.inner.on_swarm_event(event)
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.inner.on_connection_handler_event(peer, id, event)
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<B::ToSwarm, THandlerInEvent<Self>>> {
        let event = self.inner.poll(cx);
        if let Poll::Ready(ToSwarm::Dial { opts }) = &event {
            self.dials.insert(opts.connection_id());
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::swarm::dial_opts::DialOpts;

    /// Stands in for the AutoNAT server: asks for one dial-back to `addr`.
    struct DialsBack(Option<DialOpts>);

    impl NetworkBehaviour for DialsBack {
        type ConnectionHandler = dummy::ConnectionHandler;
        type ToSwarm = std::convert::Infallible;

        fn handle_established_inbound_connection(
            &mut self,
            _: ConnectionId,
            _: PeerId,
            _: &Multiaddr,
            _: &Multiaddr,
        ) -> Result<THandler<Self>, ConnectionDenied> {
            Ok(dummy::ConnectionHandler)
        }

        fn handle_established_outbound_connection(
            &mut self,
            _: ConnectionId,
            _: PeerId,
            _: &Multiaddr,
            _: Endpoint,
            _: PortUse,
        ) -> Result<THandler<Self>, ConnectionDenied> {
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

        fn poll(
            &mut self,
            _: &mut Context<'_>,
        ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
            match self.0.take() {
                Some(opts) => Poll::Ready(ToSwarm::Dial { opts }),
                None => Poll::Pending,
            }
        }
    }

    /// Whether the swarm would start the dial-back a member asked for to `addr`.
    fn dialled_back(addr: &str) -> bool {
        let addr: Multiaddr = addr.parse().unwrap();
        let opts = DialOpts::peer_id(PeerId::random())
            .addresses(vec![addr.clone()])
            .build();
        let id = opts.connection_id();
        let mut server = GlobalDialsOnly::new(DialsBack(Some(opts)));
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        assert!(matches!(
            server.poll(&mut cx),
            Poll::Ready(ToSwarm::Dial { .. })
        ));
        server
            .handle_pending_outbound_connection(id, None, &[addr], Endpoint::Dialer)
            .is_ok()
    }

    #[test]
    fn a_members_request_to_dial_back_a_private_address_is_refused_before_it_starts() {
        assert!(!dialled_back("/ip4/127.0.0.1/tcp/22"));
        assert!(!dialled_back("/ip4/192.168.1.1/tcp/80"));
        assert!(dialled_back("/ip4/8.8.8.8/tcp/7117"));
    }

    #[test]
    fn a_home_server_dials_back_only_addresses_on_the_public_internet() {
        for addr in [
            "/ip4/127.0.0.1/tcp/7117",
            "/ip4/10.0.0.5/tcp/7117",
            "/ip4/192.168.1.20/udp/7117/quic-v1",
            "/ip4/172.16.0.1/tcp/1",
            "/ip4/100.64.0.1/tcp/1",
            "/ip4/169.254.1.1/tcp/1",
            "/ip4/0.0.0.0/tcp/1",
            "/ip4/224.0.0.1/tcp/1",
            "/ip4/203.0.113.9/tcp/1",
            "/ip6/::1/tcp/1",
            "/ip6/fd00::1/tcp/1",
            "/ip6/fe80::1/tcp/1",
            "/ip6/::ffff:192.168.0.1/tcp/1",
            "/dns4/localhost/tcp/1",
            "/ip4/8.8.8.8/tcp/1/p2p/12D3KooWBY9T98CkPLCkuC96QXPHayDyzVio7kLrw1YiqjybCf89/p2p-circuit",
        ] {
            let addr: Multiaddr = addr.parse().unwrap();
            assert!(!is_global(&addr), "{addr} is not dialled back");
        }
        for addr in [
            "/ip4/8.8.8.8/tcp/7117",
            "/ip4/81.2.69.160/udp/7117/quic-v1",
            "/ip6/2a00:1450:4001::1/tcp/7117",
        ] {
            let addr: Multiaddr = addr.parse().unwrap();
            assert!(is_global(&addr), "{addr} is dialled back");
        }
    }
}
