//! The network task: the one owner of the Swarm.
//!
//! It `select!`s over swarm events, commands from [`crate::Node`] handles and two timers
//! (sync and redial). Local commands are handled first. It only moves bytes and asks
//! [`Circles`] to judge them: nothing is forwarded by gossipsub or stored before
//! [`Circles::ingest`] has accepted it.

mod backup;
mod behaviour;
mod fetch;
mod gate;
mod gossip;
mod join;
mod limit;
mod peers;
mod records;
mod relay;
mod serve;
mod status;
mod sync;

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use circle_crypto::{CircleId, Envelope, Invite, MemberSecret};
use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm, gossipsub, identify, mdns, request_response::OutboundRequestId,
    swarm::SwarmEvent,
};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use crate::circles::is_unspecified;
pub use backup::LeftBackup;
pub use behaviour::build_swarm;
use behaviour::{Behaviour, BehaviourEvent};
pub use fetch::{FetchedBackup, fetch_backup};
pub use gossip::GossipPeers;
use peers::{peer_of, with_peer};
pub use relay::Access;
pub use status::{Link, PeerPath, Reachability, RelayStatus, Seen};

use crate::{
    circles::Circles,
    config::NodeConfig,
    error::{Error, Result},
};

/// Most addresses put in an invite or a peer list.
const MAX_SHARED_ADDRS: usize = crate::circles::MAX_RECORD_ADDRS;
/// How long a node that is not a member's may stay connected to bring a join request.
const JOIN_GRACE: Duration = Duration::from_secs(10);
/// How long a stranger's connection stays after its join request was refused (to carry the
/// answer).
const REFUSED_GRACE: Duration = Duration::from_secs(2);
/// How often the gate looks at strangers' deadlines and expired invites.
const GATE_TICK: Duration = Duration::from_secs(1);

/// What the network task reports about itself.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NetStatus {
    /// This node's peer id.
    pub peer_id: String,
    /// Addresses it listens on, each ending in /p2p/<peer id>.
    pub listen: Vec<String>,
    /// Number of connected nodes.
    pub connected: usize,
    /// Addresses others reach this node at from outside (given, or confirmed by AutoNAT).
    pub external: Vec<String>,
    /// Whether this node runs as its circles' home server (relay).
    pub home_server: bool,
    /// Connected nodes, their members' names, and whether each path is direct or relayed.
    pub peers: Vec<PeerPath>,
    /// Home servers this node reserved a relayed address at.
    pub relays: Vec<RelayStatus>,
    /// What home servers found when they tried to reach this node's addresses.
    pub reachability: Vec<Reachability>,
    /// Every member node this node knows of and when it was last connected.
    pub seen: Vec<Seen>,
    /// Hole punches that made a relayed connection direct, and those that failed.
    pub hole_punches: (u32, u32),
}

impl NetStatus {
    /// The status of a node whose network does not run.
    pub(crate) fn offline(peer_id: PeerId) -> NetStatus {
        NetStatus {
            peer_id: peer_id.to_string(),
            listen: Vec::new(),
            connected: 0,
            external: Vec::new(),
            home_server: false,
            peers: Vec::new(),
            relays: Vec::new(),
            reachability: Vec::new(),
            seen: Vec::new(),
            hole_punches: (0, 0),
        }
    }
}

/// Commands from [`crate::Node`] handles.
pub(crate) enum Command {
    Subscribe {
        circle: CircleId,
    },
    Publish {
        envelopes: Vec<Envelope>,
    },
    Invite {
        circle: CircleId,
        expires_at: u64,
        uses: u32,
        bound: Option<Vec<u8>>,
        reply: oneshot::Sender<Result<Invite>>,
    },
    Join {
        invite: Box<Invite>,
        nick: String,
        reply: JoinReply,
    },
    Status {
        reply: oneshot::Sender<NetStatus>,
    },
    CutOff {
        peers: Vec<PeerId>,
        reply: oneshot::Sender<()>,
    },
    /// What gossipsub knows of a circle's topic (for tests).
    GossipPeers {
        circle: CircleId,
        reply: oneshot::Sender<GossipPeers>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    /// Leave a backup with every connected home server of a circle.
    LeaveBackup {
        circle: CircleId,
        blob: std::sync::Arc<Vec<u8>>,
        keys: std::sync::Arc<circle_crypto::recovery::RecoveryKeys>,
        reply: oneshot::Sender<Result<Vec<LeftBackup>>>,
    },
    /// The backups kept here changed (one was dropped).
    HeldChanged,
}

struct PendingJoin {
    invite: Box<Invite>,
    me: MemberSecret,
    inviter: PeerId,
    /// Home servers the invite reaches the inviter through, let in while joining.
    relays: Vec<PeerId>,
    reply: JoinReply,
}

/// Who waits for a join's answer: a join, or a preview of the circle before joining.
pub(crate) enum JoinReply {
    Join(oneshot::Sender<Result<CircleId>>),
    Preview(oneshot::Sender<Result<crate::protocol::CirclePreview>>),
}

impl JoinReply {
    pub(crate) fn fail(self, e: Error) {
        match self {
            JoinReply::Join(tx) => {
                let _ = tx.send(Err(e));
            }
            JoinReply::Preview(tx) => {
                let _ = tx.send(Err(e));
            }
        }
    }
}

pub(crate) struct EventLoop {
    swarm: Swarm<Behaviour>,
    circles: Circles,
    config: NodeConfig,
    commands: mpsc::Receiver<Command>,
    topics: HashMap<gossipsub::TopicHash, CircleId>,
    listen: Vec<Multiaddr>,
    identified: HashMap<PeerId, Vec<Multiaddr>>,
    joins: HashMap<OutboundRequestId, PendingJoin>,
    syncs: HashMap<OutboundRequestId, (PeerId, CircleId)>,
    syncing: HashSet<(PeerId, CircleId)>,
    /// Nodes that proved membership of circles (by a sync proof or by admitting us).
    proven: HashMap<PeerId, HashSet<CircleId>>,
    /// Changes when any circle's membership does.
    membership: watch::Receiver<u64>,
    /// Strangers' connections (possible joiners) and when they must be gone.
    /// (By connection: a stranger's node may open a member's connection beside it.)
    probation: HashMap<libp2p::swarm::ConnectionId, (PeerId, Instant)>,
    /// Connections opened while their node was not a member's: the join exchange alone runs
    /// on them (see `serve.rs`), so once the node is a member's they are replaced.
    limited: HashMap<libp2p::swarm::ConnectionId, PeerId>,
    /// When this node last had a live invite out: the door stays open a while after (see
    /// [`NodeConfig::ended_invite_grace`]), so whoever comes with an invite that just ended is
    /// told why it no longer works rather than finding the door shut. A stranger learns no
    /// more than while an invite is live: only the join exchange runs, and an invite is
    /// named in the answer only to whoever holds its secret.
    last_live_invite: Option<Instant>,
    /// Inviters' nodes to dial again once the connection used for joining has closed.
    reconnect: HashMap<PeerId, Vec<String>>,
    limiter: limit::Limiter,
    /// Membership operations taken by gossip per (circle, author) and minute
    /// ([`NodeConfig::author_ops_per_minute`]).
    op_budget: limit::Budget<(CircleId, circle_crypto::MemberKey)>,
    /// Join requests per stranger's IP address and minute ([`NodeConfig::joins_per_ip`]).
    join_budget: limit::Budget<std::net::IpAddr>,
    /// Who may use this node as a relay (shared with the relay behaviour).
    access: Access,
    relay: relay::RelayState,
    /// Signs this node's address records.
    keypair: libp2p::identity::Keypair,
    /// This node's current signed address record.
    own_record: Option<Vec<u8>>,
    /// The second it was signed in (its sequence number), and whether a newer one is wanted.
    signed_at: u64,
    resign: bool,
    /// Gossiped messages that changed a circle's membership since the gate last learned of it:
    /// the circle, its author's node and the node that passed it on (see
    /// `EventLoop::ask_for_addresses`).
    news: Vec<(CircleId, Option<PeerId>, PeerId)>,
    /// Syncs to start again once the one in flight with that node is answered: it may have
    /// been answered before that node held a new member's address record.
    ask_again: HashSet<(PeerId, CircleId)>,
    /// Lost member nodes: when to try each again, and the step after that.
    retry: HashMap<PeerId, (Instant, Duration)>,
    /// Whether the network is shut down because a newer copy of this node replaced it.
    dark: bool,
    /// On a home server: the backups it keeps for members.
    held: Option<crate::held::Held>,
    /// Their holder keys' peer ids.
    holder_peers: HashMap<PeerId, [u8; 32]>,
    /// Holder proofs' challenges per IP address and minute
    /// ([`NodeConfig::backup_proofs_per_ip`]), and per node where a connection names no IP.
    proof_budget: limit::Budget<std::net::IpAddr>,
    proof_budget_peer: limit::Budget<PeerId>,
    /// Backups being left with home servers, and the parts in flight.
    leave_jobs: HashMap<u64, backup::LeaveJob>,
    leaves: HashMap<OutboundRequestId, (u64, u64)>,
    next_leave: u64,
}

impl EventLoop {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        circles: Circles,
        config: NodeConfig,
        commands: mpsc::Receiver<Command>,
        listen: Vec<Multiaddr>,
        access: Access,
        keypair: libp2p::identity::Keypair,
    ) -> Self {
        let held = config.relay.then(|| {
            crate::held::Held::new(
                circles.store().clone(),
                config.backup_limit,
                swarm.local_peer_id().to_bytes(),
            )
        });
        EventLoop {
            held,
            holder_peers: HashMap::new(),
            proof_budget: limit::Budget::new(config.backup_proofs_per_ip, Duration::from_secs(60)),
            proof_budget_peer: limit::Budget::new(
                config.backup_proofs_per_ip,
                Duration::from_secs(60),
            ),
            leave_jobs: HashMap::new(),
            leaves: HashMap::new(),
            next_leave: 0,
            membership: circles.watch_membership(),
            limiter: limit::Limiter::new(config.author_rate, config.author_burst),
            op_budget: limit::Budget::new(config.author_ops_per_minute, Duration::from_secs(60)),
            join_budget: limit::Budget::new(config.joins_per_ip, Duration::from_secs(60)),
            probation: HashMap::new(),
            limited: HashMap::new(),
            last_live_invite: None,
            reconnect: HashMap::new(),
            swarm,
            circles,
            config,
            commands,
            topics: HashMap::new(),
            listen,
            identified: HashMap::new(),
            joins: HashMap::new(),
            syncs: HashMap::new(),
            syncing: HashSet::new(),
            proven: HashMap::new(),
            access,
            relay: relay::RelayState::default(),
            keypair,
            own_record: None,
            signed_at: 0,
            resign: false,
            news: Vec::new(),
            ask_again: HashSet::new(),
            retry: HashMap::new(),
            dark: false,
        }
    }

    pub(crate) async fn run(mut self) {
        for addr in self.config.external.clone() {
            self.swarm.add_external_address(addr);
        }
        for addr in self.listen.clone() {
            self.home_server_address(addr);
        }
        self.addresses_changed();
        self.refresh_holders();
        self.on_membership();
        self.redial();
        let mut sync_tick = tokio::time::interval(self.config.sync_interval);
        let mut redial_tick = tokio::time::interval(self.config.redial_interval);
        let mut gate_tick = tokio::time::interval(GATE_TICK);
        loop {
            if !self.dark && self.circles.is_replaced() {
                self.go_dark();
            }
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        let _ = self.circles.store().flush_async().await;
                        let _ = reply.send(());
                        break;
                    }
                    Some(command) => self.on_command(command),
                    None => break,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Ok(()) = self.membership.changed() => self.on_membership(),
                _ = sync_tick.tick() => self.sync_all(),
                _ = redial_tick.tick() => self.redial(),
                _ = gate_tick.tick() => self.on_gate_tick(),
            }
        }
        let _ = self.circles.store().flush_async().await;
        debug!("network task stopped");
    }

    /// Shuts the network down for good: a newer copy of this node, restored on another
    /// machine under the same peer id, writes in its place. Two live nodes under one peer id
    /// would each get part of the other members' traffic (libp2p tells connections apart, not
    /// the nodes behind them), so this one leaves: every connection is closed and refused,
    /// and it leaves every topic. The API still answers (reading, and telling why nothing
    /// can be written).
    fn go_dark(&mut self) {
        warn!("{}", crate::circles::REPLACED_REFUSAL);
        self.dark = true;
        self.swarm.behaviour_mut().gate.close();
        let circles: Vec<CircleId> = self.topics.values().copied().collect();
        for circle in circles {
            self.unsubscribe(circle);
        }
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Subscribe { circle } => self.subscribe(circle),
            Command::Publish { envelopes } => {
                for envelope in &envelopes {
                    self.publish(envelope);
                }
                // A local operation may have changed who is in.
                self.on_membership();
            }
            Command::Invite {
                circle,
                expires_at,
                uses,
                bound,
                reply,
            } => {
                let addrs = self.local_addrs();
                let result = if addrs.is_empty() {
                    Err(Error::Net("the node has no listen address yet".into()))
                } else {
                    self.circles
                        .create_invite(&circle, expires_at, uses, bound, addrs)
                        .map(|(invite, envelopes)| {
                            for envelope in &envelopes {
                                self.publish(envelope);
                            }
                            invite
                        })
                };
                self.update_door();
                let _ = reply.send(result);
            }
            Command::Join {
                invite,
                nick,
                reply,
            } => self.start_join(invite, nick, reply),
            Command::Status { reply } => {
                let status = NetStatus {
                    peer_id: self.swarm.local_peer_id().to_string(),
                    listen: self.local_addrs(),
                    connected: self.swarm.connected_peers().count(),
                    external: self
                        .swarm
                        .external_addresses()
                        .map(|a| a.to_string())
                        .collect(),
                    home_server: self.config.relay,
                    peers: self.peer_paths(),
                    relays: self.relay_status(),
                    reachability: self.reachability(),
                    seen: self.seen(),
                    hole_punches: self.relay.hole_punches,
                };
                let _ = reply.send(status);
            }
            Command::CutOff { peers, reply } => {
                for peer in &peers {
                    let _ = self.swarm.disconnect_peer_id(*peer);
                }
                self.swarm
                    .behaviour_mut()
                    .gate
                    .cut_off(peers.into_iter().collect());
                let _ = reply.send(());
            }
            Command::LeaveBackup {
                circle,
                blob,
                keys,
                reply,
            } => self.start_leave(circle, blob, keys, reply),
            Command::HeldChanged => self.refresh_holders(),
            Command::GossipPeers { circle, reply } => {
                let _ = reply.send(self.gossip_peers(circle));
            }
            Command::Shutdown { .. } => unreachable!("handled in run"),
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(
                    "listening on {}",
                    with_peer(&address, *self.swarm.local_peer_id())
                );
                self.home_server_address(address.clone());
                if !self.listen.contains(&address) {
                    self.listen.push(address);
                    self.addresses_changed();
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen.retain(|a| a != &address);
                self.addresses_changed();
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                addresses,
                reason,
            } => {
                // A relayed listener closes without expiring its addresses: the reservation
                // was refused, not renewed, or its connection dropped.
                self.listen.retain(|a| !addresses.contains(a));
                self.reservation_closed(listener_id, reason.err());
                self.addresses_changed();
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                info!("reachable from outside at {address}");
                self.addresses_changed();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                connection_id,
                ..
            } => {
                debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connected");
                self.path_opened(peer_id, connection_id, &endpoint);
                let member = self.swarm.behaviour().gate.is_member(&peer_id);
                if !member {
                    self.limited.insert(connection_id, peer_id);
                }
                if !self.swarm.behaviour().gate.is_trusted(&peer_id) {
                    // A stranger let in through the open door: the join exchange only; a
                    // holder fetching its backup: the backup exchange, for longer.
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .blacklist_peer(&peer_id);
                    let grace = if self.holder_peers.contains_key(&peer_id) {
                        backup::HOLDER_GRACE
                    } else {
                        JOIN_GRACE
                    };
                    self.probation
                        .insert(connection_id, (peer_id, Instant::now() + grace));
                } else if member {
                    // A member's node: compare logs now rather than at the next tick.
                    self.sync_with(peer_id);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } if num_established > 0 => {
                self.probation.remove(&connection_id);
                self.limited.remove(&connection_id);
                self.path_closed(peer_id, connection_id, num_established);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                ..
            } => {
                debug!(peer = %peer_id, "disconnected");
                self.probation.remove(&connection_id);
                self.limited.remove(&connection_id);
                let lived = self.path_closed(peer_id, connection_id, 0);
                self.lost(peer_id, lived);
                if let Some(addrs) = self.reconnect.remove(&peer_id) {
                    self.dial_all(&addrs);
                }
                self.syncing.retain(|(p, _)| p != &peer_id);
                // Only proven members' addresses are worth keeping after they leave; anything
                // else would let strangers grow this map without end.
                if !self.proven.contains_key(&peer_id) {
                    self.identified.remove(&peer_id);
                }
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(event) => self.on_gossip(event),
            BehaviourEvent::Join(event) => self.on_join(event),
            BehaviourEvent::Sync(event) => self.on_sync(event),
            BehaviourEvent::Backup(event) => self.on_backup(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                self.on_identified(peer_id, &info);
                let addrs = info
                    .listen_addrs
                    .into_iter()
                    .filter(|a| !is_unspecified(a))
                    .take(MAX_SHARED_ADDRS)
                    .collect();
                self.identified.insert(peer_id, addrs);
                if self.proven.contains_key(&peer_id) {
                    self.remember_peer(peer_id, &[]);
                }
            }
            BehaviourEvent::Ping(libp2p::ping::Event {
                peer,
                connection,
                result: Err(e),
            }) if !matches!(e, libp2p::ping::Failure::Unsupported) => {
                // A path that stopped answering (a network split, a laptop lid closed): close
                // it so the member is redialled rather than written into a dead socket.
                debug!(%peer, "ping failed, closing that connection: {e}");
                self.swarm.close_connection(connection);
            }
            BehaviourEvent::RelayClient(event) => self.on_relay_client(event),
            BehaviourEvent::Relay(event) => self.on_relay_server(event),
            BehaviourEvent::Dcutr(event) => self.on_dcutr(event),
            BehaviourEvent::Autonat(event) => self.on_autonat(event),
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    // Only members' nodes: anything else on the network is left alone.
                    if self.swarm.behaviour().gate.is_member(&peer)
                        && !self.swarm.is_connected(&peer)
                    {
                        let _ = self.swarm.dial(with_peer(&addr, peer));
                    }
                }
            }
            _ => {}
        }
    }
}

impl EventLoop {
    /// Brings the gate, the gossip topics and connections in line with who is in each circle.
    fn on_membership(&mut self) {
        if self.dark {
            return;
        }
        let members: HashSet<PeerId> = self
            .circles
            .member_nodes()
            .unwrap_or_default()
            .iter()
            .filter_map(|bytes| PeerId::from_bytes(bytes).ok())
            .collect();
        let soon = Instant::now() + REFUSED_GRACE;
        for peer in &members {
            self.swarm
                .behaviour_mut()
                .gossipsub
                .remove_blacklisted_peer(peer);
            // A stranger's connection whose node just became a member's (it joined here, or
            // through an inviter this home server relays for): gossip ignored it, so it closes
            // once the join answer is out, and both sides reconnect as members.
            self.hasten_probation(peer, soon);
        }
        // Connections opened before their node was a member's (the joiner's to the inviter and
        // its home servers) carry the join exchange alone: they close once the answer is out,
        // and the member's node is dialled again.
        let upgraded: Vec<_> = self
            .limited
            .iter()
            .filter(|(_, p)| members.contains(p))
            .map(|(id, p)| (*id, *p))
            .collect();
        for (id, peer) in upgraded {
            let deadline = self.probation.entry(id).or_insert((peer, soon));
            deadline.1 = deadline.1.min(soon);
        }
        let added = members
            .iter()
            .any(|p| !self.swarm.behaviour().gate.is_member(p));
        let gone = self.swarm.behaviour_mut().gate.set_members(members.clone());
        self.access.set_members(members);
        for peer in gone {
            info!(%peer, "closing connections to a node that is no longer a member's");
            self.proven.remove(&peer);
            self.identified.remove(&peer);
            // Not at once: what was just published (the removal itself, the new key) is still
            // on its way out. New connections from it are refused already.
            let soon = Instant::now() + REFUSED_GRACE;
            for id in self.connections_of(&peer) {
                self.probation.insert(id, (peer, soon));
            }
        }
        let mine: HashMap<_, _> = self
            .circles
            .topics()
            .unwrap_or_default()
            .into_iter()
            .collect();
        for circle in mine.keys() {
            if !self.topics.values().any(|c| c == circle) {
                self.subscribe(*circle);
            }
        }
        let left: Vec<CircleId> = self
            .topics
            .values()
            .filter(|c| !mine.contains_key(c))
            .copied()
            .collect();
        for circle in left {
            self.unsubscribe(circle);
        }
        self.ask_for_addresses(added);
        self.update_door();
    }

    /// Opens the door to strangers only while this node has an invite out that is still live,
    /// or had one a short while ago (see [`NodeConfig::ended_invite_grace`]).
    fn update_door(&mut self) {
        let now = Instant::now();
        let live = self.door_open();
        if live {
            self.last_live_invite = Some(now);
        }
        let grace = self.config.ended_invite_grace;
        let open = live
            || self
                .last_live_invite
                .is_some_and(|last| now.duration_since(last) < grace);
        self.swarm.behaviour_mut().gate.set_door(open);
        self.access.set_door(open);
    }

    /// Whether strangers may connect (to bring a join request): while this node has a live
    /// invite of its own out; on a home server, while any invite of its circles is live, so a
    /// joiner can reach an inviter behind NAT through it.
    fn door_open(&self) -> bool {
        self.circles
            .has_live_invite(crate::time::now_secs(), self.config.relay)
    }

    /// Closes strangers' connections whose time is up; keeps the rate limiter small.
    fn on_gate_tick(&mut self) {
        let now = Instant::now();
        let due: Vec<(libp2p::swarm::ConnectionId, PeerId)> = self
            .probation
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(id, (peer, _))| (*id, *peer))
            .collect();
        for (id, peer) in due {
            debug!(%peer, "closing a stranger's connection");
            self.probation.remove(&id);
            self.swarm.close_connection(id);
        }
        self.limiter.prune(now);
        self.op_budget.prune(now);
        self.join_budget.prune(now);
        self.proof_budget.prune(now);
        self.proof_budget_peer.prune(now);
        self.update_door();
        self.retry_due();
        self.ensure_reservations();
        self.sign_if_due();
    }

    /// Brings forward to `soon` the closing of `peer`'s connections on probation.
    fn hasten_probation(&mut self, peer: &PeerId, soon: Instant) {
        for (p, deadline) in self.probation.values_mut() {
            if p == peer {
                *deadline = (*deadline).min(soon);
            }
        }
    }
}
