//! The network task: the one owner of the Swarm.
//!
//! It `select!`s over swarm events, commands from [`crate::Node`] handles and two timers
//! (sync and redial). Local commands are handled first. It only moves bytes and asks
//! [`Circles`] to judge them: nothing is forwarded by gossipsub or stored before
//! [`Circles::ingest`] has accepted it.

mod behaviour;
mod gossip;
mod join;
mod peers;
mod sync;

use std::collections::{HashMap, HashSet};

use circle_crypto::{CircleId, Envelope, Invite, MemberSecret};
use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm, gossipsub, identify, mdns, request_response::OutboundRequestId,
    swarm::SwarmEvent,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

pub use behaviour::build_swarm;
use behaviour::{Behaviour, BehaviourEvent};
use peers::{is_unspecified, peer_of, with_peer};

use crate::{
    circles::Circles,
    config::NodeConfig,
    error::{Error, Result},
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
        envelope: Box<Envelope>,
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
    /// Nodes that proved membership of circles (by a sync proof or by admitting us).
    proven: HashMap<PeerId, HashSet<CircleId>>,
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
            proven: HashMap::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        for addr in self.config.external.clone() {
            self.swarm.add_external_address(addr);
        }
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
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
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
}
