//! The network task: the one owner of the Swarm.
//!
//! It `select!`s over swarm events, commands from [`crate::Node`] handles and two timers
//! (sync and redial). Local commands are handled first. It only moves bytes and asks
//! [`Circles`] to judge them: nothing is forwarded by gossipsub or stored before
//! [`Circles::ingest`] has accepted it.

mod behaviour;

use std::collections::{HashMap, HashSet};

use circle_crypto::{CircleId, Envelope, Invite, MemberSecret};
use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm, gossipsub, identify, mdns,
    multiaddr::Protocol,
    request_response::{self, OutboundRequestId},
    swarm::SwarmEvent,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

pub use behaviour::build_swarm;
use behaviour::{Behaviour, BehaviourEvent};

use crate::{
    circles::{Circles, Ingest},
    config::NodeConfig,
    error::{Error, Result},
    protocol::{JoinResponse, SyncResponse},
    time::now_secs,
};

/// Most addresses put in an invite or a peer list.
const MAX_SHARED_ADDRS: usize = 8;

/// What the network task reports about itself.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NetStatus {
    /// This node's peer id.
    pub peer_id: String,
    /// Addresses it listens on, each ending in /p2p/<peer id>.
    pub listen: Vec<String>,
    /// Number of connected nodes.
    pub connected: usize,
}

/// Commands from [`crate::Node`] handles.
pub(crate) enum Command {
    Subscribe {
        circle: CircleId,
    },
    Publish {
        envelope: Envelope,
    },
    Invite {
        circle: CircleId,
        expires_at: u64,
        uses: u32,
        reply: oneshot::Sender<Result<Invite>>,
    },
    Join {
        invite: Box<Invite>,
        nick: String,
        reply: oneshot::Sender<Result<CircleId>>,
    },
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<()>>,
    },
    Status {
        reply: oneshot::Sender<NetStatus>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

struct PendingJoin {
    invite: Box<Invite>,
    me: MemberSecret,
    inviter: PeerId,
    reply: oneshot::Sender<Result<CircleId>>,
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
}

impl EventLoop {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        circles: Circles,
        config: NodeConfig,
        commands: mpsc::Receiver<Command>,
        listen: Vec<Multiaddr>,
    ) -> Self {
        EventLoop {
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
        }
    }

    pub(crate) async fn run(mut self) {
        for (circle, _) in self.circles.topics().unwrap_or_default() {
            self.subscribe(circle);
        }
        self.redial();
        let mut sync_tick = tokio::time::interval(self.config.sync_interval);
        let mut redial_tick = tokio::time::interval(self.config.redial_interval);
        loop {
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
                _ = sync_tick.tick() => self.sync_all(),
                _ = redial_tick.tick() => self.redial(),
            }
        }
        let _ = self.circles.store().flush_async().await;
        debug!("network task stopped");
    }

    fn subscribe(&mut self, circle: CircleId) {
        let topic = gossipsub::IdentTopic::new(circle_crypto::topic_for(&circle));
        if let Err(e) = self.swarm.behaviour_mut().gossipsub.subscribe(&topic) {
            warn!(circle = %circle.short(), "could not subscribe: {e}");
        }
        self.topics.insert(topic.hash(), circle);
    }

    fn local_addrs(&self) -> Vec<String> {
        let me = *self.swarm.local_peer_id();
        self.listen
            .iter()
            .chain(self.swarm.external_addresses())
            .take(MAX_SHARED_ADDRS)
            .map(|a| with_peer(a, me).to_string())
            .collect()
    }

    /// Addresses of other member nodes of `circle` this node is connected to.
    fn member_addrs(&self, circle: &CircleId, except: &PeerId) -> Vec<String> {
        let topic = gossipsub::IdentTopic::new(circle_crypto::topic_for(circle)).hash();
        let mut out = Vec::new();
        for (peer, topics) in self.swarm.behaviour().gossipsub.all_peers() {
            if peer == except || !topics.contains(&&topic) {
                continue;
            }
            for addr in self.identified.get(peer).into_iter().flatten().take(2) {
                out.push(with_peer(addr, *peer).to_string());
            }
            if out.len() >= MAX_SHARED_ADDRS {
                break;
            }
        }
        out
    }

    fn dial_all(&mut self, addrs: &[String]) {
        let me = *self.swarm.local_peer_id();
        for text in addrs {
            let Ok(addr) = text.parse::<Multiaddr>() else {
                continue;
            };
            let Some(peer) = peer_of(&addr) else { continue };
            if peer == me || self.swarm.is_connected(&peer) {
                continue;
            }
            self.swarm.add_peer_address(peer, addr.clone());
            if let Err(e) = self.swarm.dial(addr) {
                debug!(%peer, "dial failed: {e}");
            }
        }
    }

    fn redial(&mut self) {
        let Ok(peers) = self.circles.store().peers() else {
            return;
        };
        let addrs: Vec<String> = peers.into_iter().flat_map(|(_, a)| a).collect();
        self.dial_all(&addrs);
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Subscribe { circle } => self.subscribe(circle),
            Command::Publish { envelope } => self.publish(&envelope),
            Command::Invite {
                circle,
                expires_at,
                uses,
                reply,
            } => {
                let addrs = self.local_addrs();
                let result = if addrs.is_empty() {
                    Err(Error::Net("the node has no listen address yet".into()))
                } else {
                    self.circles.create_invite(&circle, expires_at, uses, addrs)
                };
                let _ = reply.send(result);
            }
            Command::Join {
                invite,
                nick,
                reply,
            } => self.start_join(invite, nick, reply),
            Command::Dial { addr, reply } => {
                let result = self
                    .swarm
                    .dial(addr)
                    .map_err(|e| Error::Unreachable(e.to_string()));
                let _ = reply.send(result);
            }
            Command::Status { reply } => {
                let status = NetStatus {
                    peer_id: self.swarm.local_peer_id().to_string(),
                    listen: self.local_addrs(),
                    connected: self.swarm.connected_peers().count(),
                };
                let _ = reply.send(status);
            }
            Command::Shutdown { .. } => unreachable!("handled in run"),
        }
    }

    fn publish(&mut self, envelope: &Envelope) {
        let topic = gossipsub::IdentTopic::new(circle_crypto::topic_for(&envelope.header().circle));
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic, envelope.to_bytes().to_vec())
        {
            Ok(_) => {}
            // Stored already; sync delivers it when members connect.
            Err(e) => debug!("not gossiped now ({e}); sync will deliver it"),
        }
    }

    fn start_join(
        &mut self,
        invite: Box<Invite>,
        nick: String,
        reply: oneshot::Sender<Result<CircleId>>,
    ) {
        let addrs: Vec<Multiaddr> = invite.addrs.iter().filter_map(|a| a.parse().ok()).collect();
        let Some(inviter) = addrs.iter().find_map(peer_of) else {
            let _ = reply.send(Err(Error::Invalid(
                "the invite has no address to reach the inviter".into(),
            )));
            return;
        };
        let me = MemberSecret::generate();
        let request = match Circles::join_request(&invite, &me, &nick) {
            Ok(r) => r,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let addrs = addrs
            .into_iter()
            .filter(|a| peer_of(a) == Some(inviter))
            .collect();
        let id = self
            .swarm
            .behaviour_mut()
            .join
            .send_request_with_addresses(&inviter, request, addrs);
        self.joins.insert(
            id,
            PendingJoin {
                invite,
                me,
                inviter,
                reply,
            },
        );
    }

    fn start_sync(&mut self, peer: PeerId, circle: CircleId) {
        if !self.syncing.insert((peer, circle)) {
            return;
        }
        let local = *self.swarm.local_peer_id();
        match self.circles.sync_request(&circle, &local, &peer) {
            Ok(request) => {
                debug!(%peer, circle = %circle.short(), "sync requested");
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.syncs.insert(id, (peer, circle));
            }
            Err(e) => {
                self.syncing.remove(&(peer, circle));
                warn!("could not build a sync request: {e}");
            }
        }
    }

    fn sync_all(&mut self) {
        let pairs: Vec<(PeerId, CircleId)> = self
            .swarm
            .behaviour()
            .gossipsub
            .all_peers()
            .flat_map(|(peer, topics)| {
                topics
                    .into_iter()
                    .filter_map(|t| self.topics.get(t).map(|c| (*peer, *c)))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (peer, circle) in pairs {
            self.start_sync(peer, circle);
        }
    }

    /// Saves the addresses of a member's node, so it is redialled after restarts.
    fn remember_peer(&mut self, peer: PeerId, known: &[Multiaddr]) {
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

    /// Whether `peer` is subscribed to one of this node's circles.
    fn is_member_node(&self, peer: &PeerId) -> bool {
        self.swarm
            .behaviour()
            .gossipsub
            .all_peers()
            .any(|(p, topics)| p == peer && topics.iter().any(|t| self.topics.contains_key(t)))
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(
                    "listening on {}",
                    with_peer(&address, *self.swarm.local_peer_id())
                );
                if !self.listen.contains(&address) {
                    self.listen.push(address);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => self.listen.retain(|a| a != &address),
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connected");
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                debug!(peer = %peer_id, "disconnected");
                self.syncing.retain(|(p, _)| p != &peer_id);
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
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let addrs = info
                    .listen_addrs
                    .into_iter()
                    .filter(|a| !is_unspecified(a))
                    .collect();
                self.identified.insert(peer_id, addrs);
                if self.is_member_node(&peer_id) {
                    self.remember_peer(peer_id, &[]);
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    if !self.swarm.is_connected(&peer) {
                        let _ = self.swarm.dial(with_peer(&addr, peer));
                    }
                }
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let acceptance = self.judge_gossip(&propagation_source, &message);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                if let Some(circle) = self.topics.get(&topic).copied() {
                    self.remember_peer(peer_id, &[]);
                    self.start_sync(peer_id, circle);
                }
            }
            _ => {}
        }
    }

    fn judge_gossip(
        &mut self,
        from: &PeerId,
        message: &gossipsub::Message,
    ) -> gossipsub::MessageAcceptance {
        use gossipsub::MessageAcceptance::{Accept, Ignore, Reject};
        debug!(peer = %from, bytes = message.data.len(), "gossip received");
        let envelope = match Envelope::from_bytes(&message.data) {
            Ok(e) => e,
            Err(e) => {
                debug!(peer = %from, "rejected gossip: {e}");
                return Reject;
            }
        };
        let circle = envelope.header().circle;
        if self.topics.get(&message.topic) != Some(&circle) {
            debug!(peer = %from, "rejected gossip on the wrong topic");
            return Reject;
        }
        match self.circles.ingest(&envelope) {
            Ok(Ingest::New) => Accept,
            Ok(Ingest::Duplicate) => {
                debug!(peer = %from, "gossip duplicate");
                Ignore
            }
            Ok(Ingest::Later(why)) => {
                debug!(peer = %from, "gossip held back: {why}");
                self.start_sync(*from, circle);
                Ignore
            }
            Ok(Ingest::Rejected(why)) => {
                debug!(peer = %from, "rejected gossip: {why}");
                Reject
            }
            Err(e) => {
                warn!("could not store a message: {e}");
                Ignore
            }
        }
    }

    fn on_join(
        &mut self,
        event: request_response::Event<crate::protocol::JoinRequest, JoinResponse>,
    ) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let response = match self.circles.store().invite(&request.invite) {
                    Ok(Some(record)) => {
                        let peers = self.member_addrs(&record.circle, &peer);
                        self.circles.admit(&request, now_secs(), peers)
                    }
                    Ok(None) => Ok((
                        JoinResponse::Refused {
                            reason: "this invite is not known here".into(),
                        },
                        None,
                    )),
                    Err(e) => Err(e),
                };
                let response = match response {
                    Ok((response, envelope)) => {
                        if let Some(envelope) = envelope {
                            info!(
                                "admitted a new member to circle {}",
                                envelope.header().circle.short()
                            );
                            self.publish(&envelope);
                        }
                        response
                    }
                    Err(e) => {
                        warn!("join request failed: {e}");
                        JoinResponse::Refused {
                            reason: "the inviter's node could not process the request".into(),
                        }
                    }
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .join
                    .send_response(channel, response);
            }
            Event::Message {
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(pending) = self.joins.remove(&request_id) else {
                    return;
                };
                let result = match response {
                    JoinResponse::Welcome(welcome) => {
                        match self
                            .circles
                            .accept_welcome(&pending.invite, pending.me, &welcome)
                        {
                            Ok(circle) => {
                                self.subscribe(circle);
                                let invited: Vec<Multiaddr> = pending
                                    .invite
                                    .addrs
                                    .iter()
                                    .filter_map(|a| a.parse().ok())
                                    .collect();
                                self.remember_peer(pending.inviter, &invited);
                                self.dial_all(&welcome.peers);
                                self.start_sync(pending.inviter, circle);
                                Ok(circle)
                            }
                            Err(e) => Err(e),
                        }
                    }
                    JoinResponse::Refused { reason } => Err(Error::Refused(reason)),
                };
                let _ = pending.reply.send(result);
            }
            Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(pending) = self.joins.remove(&request_id) {
                    let _ = pending
                        .reply
                        .send(Err(Error::Unreachable(error.to_string())));
                }
            }
            _ => {}
        }
    }

    fn on_sync(
        &mut self,
        event: request_response::Event<crate::protocol::SyncRequest, SyncResponse>,
    ) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let local = *self.swarm.local_peer_id();
                let peers = self.member_addrs(&request.circle, &peer);
                let response = self
                    .circles
                    .answer_sync(&request, &peer, &local, peers)
                    .unwrap_or_else(|e| SyncResponse::Refused {
                        reason: e.to_string(),
                    });
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some((_, circle)) = self.syncs.remove(&request_id) else {
                    return;
                };
                self.syncing.remove(&(peer, circle));
                debug!(%peer, circle = %circle.short(), "sync answered");
                match response {
                    SyncResponse::Page {
                        admissions,
                        envelopes,
                        more,
                        peers,
                    } => {
                        debug!(%peer, admissions = admissions.len(), envelopes = envelopes.len(), more, "sync page");
                        match self.circles.apply_page(&circle, &admissions, &envelopes) {
                            Ok(new) if new > 0 => debug!(%peer, new, "synced"),
                            Ok(_) => {}
                            Err(e) => warn!("could not store synced messages: {e}"),
                        }
                        self.dial_all(&peers);
                        if more {
                            self.start_sync(peer, circle);
                        }
                    }
                    SyncResponse::Refused { reason } => debug!(%peer, "sync refused: {reason}"),
                }
            }
            Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                if let Some((_, circle)) = self.syncs.remove(&request_id) {
                    self.syncing.remove(&(peer, circle));
                    debug!(%peer, "sync failed: {error}");
                }
            }
            _ => {}
        }
    }
}

/// The peer id at the end of an address, if any.
fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// `addr` ending in `/p2p/<peer>`.
fn with_peer(addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    if peer_of(addr).is_some() {
        addr.clone()
    } else {
        addr.clone().with(Protocol::P2p(peer))
    }
}

fn is_unspecified(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_unspecified(),
        Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}
