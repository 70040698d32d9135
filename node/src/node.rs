//! [`Node`]: a cloneable handle to a running node.

use std::time::Duration;

use circle_crypto::{CircleId, Envelope, Invite, MessageId};
use futures::StreamExt;
use libp2p::{PeerId, identity::Keypair, swarm::SwarmEvent};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

use crate::{
    circles::Circles,
    config::NodeConfig,
    error::{Error, Result},
    membership::InvitePolicy,
    net::{Access, Command, EventLoop, NetStatus, build_swarm},
    time::now_secs,
};

/// Capacity of the command channel from handles to the network task.
const COMMAND_CAPACITY: usize = 256;
/// How long start-up waits for listeners to report their addresses.
const LISTEN_WAIT: Duration = Duration::from_secs(5);

/// A running node. Cloning gives another handle to the same node.
#[derive(Clone)]
pub struct Node {
    circles: Circles,
    commands: mpsc::Sender<Command>,
    events: tokio::sync::broadcast::Sender<crate::notice::Event>,
    peer_id: PeerId,
    task: std::sync::Arc<tokio::sync::Mutex<Option<JoinHandle<()>>>>,
    /// Whether the network runs: false for a node from [`Node::offline`].
    online: bool,
    /// Messages an offline node wrote, to be sent when the network next runs.
    queued: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("peer_id", &self.peer_id)
            .finish_non_exhaustive()
    }
}

/// Fails clearly if a fixed port in `addr` is taken. libp2p binds its TCP listeners with
/// SO_REUSEPORT, so without this a second node on the same computer would silently share the
/// port with the first, and the kernel would hand each of them half the connections.
fn check_port_free(addr: &libp2p::Multiaddr) -> Result<()> {
    use libp2p::multiaddr::Protocol;
    use std::net::{IpAddr, SocketAddr};
    let mut ip: Option<IpAddr> = None;
    for part in addr.iter() {
        let (port, tcp) = match part {
            Protocol::Ip4(a) => {
                ip = Some(a.into());
                continue;
            }
            Protocol::Ip6(a) => {
                ip = Some(a.into());
                continue;
            }
            Protocol::Tcp(port) => (port, true),
            Protocol::Udp(port) => (port, false),
            _ => continue,
        };
        let Some(ip) = ip else { return Ok(()) };
        if port == 0 {
            return Ok(());
        }
        let at = SocketAddr::new(ip, port);
        let probe = if tcp {
            std::net::TcpListener::bind(at).map(drop)
        } else {
            std::net::UdpSocket::bind(at).map(drop)
        };
        return match probe {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(Error::Net(format!(
                "port {port} is already in use on this computer, perhaps by another circle node: \
                 stop it, or choose another port with --listen (e.g. /ip4/0.0.0.0/tcp/{})",
                port.wrapping_add(1).max(1024)
            ))),
            _ => Ok(()),
        };
    }
    Ok(())
}

/// Shortest time an invite can stay valid. Expiry is counted in whole seconds, so anything
/// shorter would make an invite that is expired when it is made.
pub const MIN_INVITE_TTL: Duration = Duration::from_secs(1);
/// Longest time an invite can stay valid.
pub const MAX_INVITE_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Checks how long an invite is to stay valid.
pub fn check_invite_ttl(ttl: Duration) -> Result<()> {
    if ttl < MIN_INVITE_TTL {
        return Err(Error::Invalid(
            "an invite must stay valid for at least a second: use for example 24h".into(),
        ));
    }
    if ttl > MAX_INVITE_TTL {
        return Err(Error::Invalid(
            "an invite can stay valid for at most a year: use for example 7d".into(),
        ));
    }
    Ok(())
}

/// Answers the commands of an offline node: writes are already on disk and wait for the
/// network; what needs other nodes now is refused with [`Error::Offline`].
async fn offline_loop(circles: Circles, peer_id: PeerId, mut commands: mpsc::Receiver<Command>) {
    while let Some(command) = commands.recv().await {
        match command {
            // Stored already (see `Node::gossip`): sent when the network next runs.
            Command::Subscribe { .. } | Command::Publish { .. } => {}
            Command::Invite { reply, .. } => {
                let _ = reply.send(Err(Error::Offline("making an invite")));
            }
            Command::Join { reply, .. } => reply.fail(Error::Offline("joining a circle")),
            Command::Status { reply } => {
                let _ = reply.send(NetStatus::offline(peer_id));
            }
            Command::CutOff { reply, .. } => {
                let _ = reply.send(());
            }
            Command::GossipPeers { reply, .. } => {
                let _ = reply.send(crate::net::GossipPeers::default());
            }
            Command::LeaveBackup { reply, .. } => {
                let _ = reply.send(Err(Error::Offline("leaving a backup with a home server")));
            }
            Command::HeldChanged => {}
            Command::Shutdown { reply } => {
                if let Err(e) = circles.store().flush() {
                    tracing::warn!("could not flush the store: {e}");
                }
                let _ = reply.send(());
                return;
            }
        }
    }
}

/// `addr` with the port this node got for it last time, if it was given with port 0, that
/// port is remembered, and it is free now.
fn same_port_again(store: &crate::Store, addr: &libp2p::Multiaddr) -> Option<libp2p::Multiaddr> {
    use libp2p::multiaddr::Protocol;
    let port = store.listen_port(&addr.to_string()).ok()??;
    let mut again = libp2p::Multiaddr::empty();
    for part in addr.iter() {
        again.push(match part {
            Protocol::Tcp(0) => Protocol::Tcp(port),
            Protocol::Udp(0) => Protocol::Udp(port),
            Protocol::Tcp(_) | Protocol::Udp(_) => return None,
            other => other,
        });
    }
    check_port_free(&again).ok().map(|()| again)
}

/// Remembers, for each listen address given with port 0, the port it got: that of the
/// address listened on with the same IP and transport, or else the same transport (an
/// unspecified IP is listened on at each interface's).
fn remember_ports(store: &crate::Store, asked: &[libp2p::Multiaddr], got: &[libp2p::Multiaddr]) {
    use libp2p::multiaddr::Protocol;
    /// The IP, the transport (`tcp`, `udp/quic-v1`) and the port of an address.
    fn split(addr: &libp2p::Multiaddr) -> (String, String, Option<u16>) {
        let (mut ip, mut transport, mut port) = (String::new(), String::new(), None);
        for part in addr.iter() {
            match part {
                Protocol::Ip4(_) | Protocol::Ip6(_) => ip = part.to_string(),
                Protocol::Tcp(p) | Protocol::Udp(p) => {
                    port = Some(p);
                    transport.push_str(if matches!(part, Protocol::Tcp(_)) {
                        "/tcp"
                    } else {
                        "/udp"
                    });
                }
                Protocol::P2p(_) => {}
                other => transport.push_str(&other.to_string()),
            }
        }
        (ip, transport, port)
    }
    let got: Vec<_> = got.iter().map(split).collect();
    for addr in asked {
        let (ip, transport, port) = split(addr);
        if port != Some(0) {
            continue;
        }
        let found = got
            .iter()
            .find(|(i, t, _)| *i == ip && *t == transport)
            .or_else(|| got.iter().find(|(_, t, _)| *t == transport));
        if let Some((_, _, Some(port))) = found
            && let Err(e) = store.set_listen_port(&addr.to_string(), *port)
        {
            tracing::warn!("could not remember the port {port}: {e}");
        }
    }
}

/// Runs store work that waits for the disk (writes and flushes) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(format!("the task saving it stopped: {e}")))?
}

impl Node {
    /// Starts the network for `circles` with `config`. Returns once it listens.
    pub async fn start(circles: Circles, config: NodeConfig) -> Result<Node> {
        config.validate()?;
        circles.close_old_format_doors();
        let keypair = Keypair::from_protobuf_encoding(&circles.store().node_key()?)
            .map_err(|e| Error::Net(format!("the node key does not decode: {e}")))?;
        let peer_id = keypair.public().to_peer_id();
        for addr in &config.listen {
            check_port_free(addr)?;
        }
        let access = Access::default();
        let mut swarm = build_swarm(keypair.clone(), &config, &access)?;
        for addr in &config.listen {
            // A port left to the system: the one got last time if it is free, so invites
            // made before a restart still point at this node.
            if let Some(again) = same_port_again(circles.store(), addr)
                && swarm.listen_on(again).is_ok()
            {
                continue;
            }
            swarm.listen_on(addr.clone()).map_err(|e| match e {
                libp2p::TransportError::MultiaddrNotSupported(_) => Error::Invalid(format!(
                    "cannot listen on {addr}: use a TCP or QUIC address, such as \
                     /ip4/0.0.0.0/tcp/7117 or /ip4/0.0.0.0/udp/7117/quic-v1"
                )),
                libp2p::TransportError::Other(e) => {
                    Error::Net(format!("cannot listen on {addr}: {e}"))
                }
            })?;
        }
        let mut listen = Vec::new();
        let _ = tokio::time::timeout(LISTEN_WAIT, async {
            while listen.len() < config.listen.len() {
                match swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => listen.push(address),
                    SwarmEvent::ListenerError { error, .. } => {
                        tracing::warn!("listener failed: {error}");
                        break;
                    }
                    _ => {}
                }
            }
        })
        .await;
        if listen.is_empty() {
            return Err(Error::Net(
                "the node could not listen on any address".into(),
            ));
        }
        remember_ports(circles.store(), &config.listen, &listen);
        let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
        let (events, _) = tokio::sync::broadcast::channel(crate::notice::EVENT_CAPACITY);
        let notices = crate::notice::NoticeConfig {
            desktop: config.desktop_notifications,
            reminder_before: config.reminder_before,
        };
        tokio::spawn(crate::notice::run(
            circles.clone(),
            tx.clone(),
            events.clone(),
            notices,
        ));
        let task = tokio::spawn(
            EventLoop::new(swarm, circles.clone(), config, rx, listen, access, keypair).run(),
        );
        Ok(Node {
            circles,
            events,
            commands: tx,
            peer_id,
            task: std::sync::Arc::new(tokio::sync::Mutex::new(Some(task))),
            online: true,
            queued: Default::default(),
        })
    }

    /// A node over `circles` whose network does not run: everything that works on the store
    /// works as on a running node (the same checks, the same writes, on disk when a call
    /// returns), and what it writes is sent by the node that next runs on this store (other
    /// members' sync asks for it). What needs other nodes now (inviting, joining) fails with
    /// [`Error::Offline`]. The CLI serves its commands through one of these while `circle up`
    /// is not running, so a command behaves the same whether the node runs or not.
    pub fn offline(circles: Circles) -> Result<Node> {
        circles.close_old_format_doors();
        let keypair = Keypair::from_protobuf_encoding(&circles.store().node_key()?)
            .map_err(|e| Error::Net(format!("the node key does not decode: {e}")))?;
        let peer_id = keypair.public().to_peer_id();
        let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
        let (events, _) = tokio::sync::broadcast::channel(crate::notice::EVENT_CAPACITY);
        let queued = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let task = tokio::spawn(offline_loop(circles.clone(), peer_id, rx));
        Ok(Node {
            circles,
            events,
            commands: tx,
            peer_id,
            task: std::sync::Arc::new(tokio::sync::Mutex::new(Some(task))),
            online: false,
            queued,
        })
    }

    /// Whether this node's network runs (false for a node from [`Node::offline`]).
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// How many messages this offline node has written so far, all waiting for the network.
    pub fn queued(&self) -> u64 {
        self.queued.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// This node's network identity.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The circles (read access and offline-safe operations).
    pub fn circles(&self) -> &Circles {
        &self.circles
    }

    async fn send(&self, command: Command) -> Result<()> {
        self.commands
            .send(command)
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Gossips what this node just wrote; an offline node counts it as waiting for the network
    /// (at once, so the caller can tell the person before it returns).
    async fn gossip(&self, envelopes: Vec<Envelope>) -> Result<()> {
        if !self.online {
            self.queued
                .fetch_add(envelopes.len() as u64, std::sync::atomic::Ordering::SeqCst);
            return Ok(());
        }
        self.send(Command::Publish { envelopes }).await
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx)).await?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Creates a circle and starts gossiping in it.
    pub async fn create(&self, name: &str, nick: Option<&str>) -> Result<CircleId> {
        let (circles, name, nick) = (
            self.circles.clone(),
            name.to_string(),
            nick.map(str::to_string),
        );
        let circle = blocking(move || circles.create(&name, nick.as_deref())).await?;
        self.send(Command::Subscribe { circle }).await?;
        Ok(circle)
    }

    /// Live events for this node's person (new messages, reach-outs, reminders, partners who
    /// missed their check-in). A receiver that falls behind by more than
    /// [`EVENT_CAPACITY`](crate::notice::EVENT_CAPACITY) events misses some.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<crate::notice::Event> {
        self.events.subscribe()
    }

    /// Writes with `write` on the blocking pool (on disk when it returns), then gossips what
    /// it wrote. Returns the id of the last message written, or `None` when `write` wrote
    /// nothing (a check-in kept on this node).
    pub async fn write_with(
        &self,
        write: impl FnOnce(&Circles) -> Result<Vec<Envelope>> + Send + 'static,
    ) -> Result<Option<MessageId>> {
        let circles = self.circles.clone();
        let envelopes = blocking(move || write(&circles)).await?;
        let id = envelopes.last().map(Envelope::id);
        if !envelopes.is_empty() {
            self.gossip(envelopes).await?;
        }
        Ok(id)
    }

    /// Writes with `write` on the blocking pool (on disk when it returns), then gossips what
    /// it wrote. Returns the id of the last message written.
    async fn write(
        &self,
        write: impl FnOnce(&Circles) -> Result<Vec<Envelope>> + Send + 'static,
    ) -> Result<MessageId> {
        let circles = self.circles.clone();
        let envelopes = blocking(move || write(&circles)).await?;
        let id = envelopes
            .last()
            .map(Envelope::id)
            // Only a message kept while catching up after a restore is written as nothing.
            .ok_or_else(|| {
                Error::Invalid(
                    "kept on this node, not sent yet: it is catching up with your own messages \
                     after a restore (see `circle status`)"
                        .into(),
                )
            })?;
        self.gossip(envelopes).await?;
        Ok(id)
    }

    /// Shares text: on disk when this returns, then gossiped.
    pub async fn share(&self, circle: &CircleId, text: &str) -> Result<MessageId> {
        let (circle, text) = (*circle, text.to_string());
        self.write(move |c| c.share(&circle, &text)).await
    }

    /// Removes a member (key or unique name) and starts a new key epoch without them.
    pub async fn remove(&self, circle: &CircleId, member: &str) -> Result<MessageId> {
        let member = self.circles.resolve_member(circle, member)?;
        let circle = *circle;
        self.write(move |c| c.remove(&circle, &member)).await
    }

    /// This node's member leaves the circle.
    pub async fn leave(&self, circle: &CircleId) -> Result<MessageId> {
        let circle = *circle;
        self.write(move |c| c.leave(&circle)).await
    }

    /// Starts a new key epoch in the circle by hand.
    pub async fn rekey(&self, circle: &CircleId) -> Result<MessageId> {
        let circle = *circle;
        self.write(move |c| c.rekey(&circle)).await
    }

    /// Makes a member (key or unique name) an admin, or a plain member again.
    pub async fn set_admin(
        &self,
        circle: &CircleId,
        member: &str,
        admin: bool,
    ) -> Result<MessageId> {
        let member = self.circles.resolve_member(circle, member)?;
        let circle = *circle;
        self.write(move |c| c.set_admin(&circle, &member, admin))
            .await
    }

    /// Sets who may invite.
    pub async fn set_policy(&self, circle: &CircleId, invites: InvitePolicy) -> Result<MessageId> {
        let circle = *circle;
        self.write(move |c| c.set_policy(&circle, invites)).await
    }

    /// Renames a circle (admins only).
    pub async fn rename(&self, circle: &CircleId, name: &str) -> Result<MessageId> {
        let (circle, name) = (*circle, name.to_string());
        self.write(move |c| c.rename(&circle, &name)).await
    }

    /// Ends an invite (by id or a unique start of it).
    pub async fn revoke_invite(&self, circle: &CircleId, id: &str) -> Result<MessageId> {
        let (circle, id) = (*circle, id.to_string());
        self.write(move |c| c.revoke_invite(&circle, &id)).await
    }

    /// Creates an invite to `circle`, valid for `ttl` (from [`MIN_INVITE_TTL`] to
    /// [`MAX_INVITE_TTL`]) and `uses` admissions, carrying this node's current addresses.
    pub async fn invite(&self, circle: &CircleId, ttl: Duration, uses: u32) -> Result<Invite> {
        self.invite_for(circle, ttl, uses, None).await
    }

    /// Like [`Node::invite`], and if `bound` is given only the node with that peer id can
    /// join through it.
    pub async fn invite_for(
        &self,
        circle: &CircleId,
        ttl: Duration,
        uses: u32,
        bound: Option<PeerId>,
    ) -> Result<Invite> {
        check_invite_ttl(ttl)?;
        let expires_at = now_secs().saturating_add(ttl.as_secs());
        let circle = *circle;
        self.ask(|reply| Command::Invite {
            circle,
            expires_at,
            uses,
            bound: bound.map(|p| p.to_bytes()),
            reply,
        })
        .await?
    }

    /// Joins a circle with an invite token. Returns once admitted and the keys are stored.
    pub async fn join(&self, token: &str, nick: Option<&str>) -> Result<CircleId> {
        let (invite, nick) = self.usable_invite(token, nick)?;
        self.ask(|reply| Command::Join {
            invite,
            nick,
            reply: crate::net::JoinReply::Join(reply),
        })
        .await?
    }

    /// Asks the inviter's node what the circle of an invite is (name, format, guidelines,
    /// size) without joining: for a person to read before they accept.
    pub async fn preview_join(
        &self,
        token: &str,
        nick: Option<&str>,
    ) -> Result<crate::protocol::CirclePreview> {
        let (invite, nick) = self.usable_invite(token, nick)?;
        self.ask(|reply| Command::Join {
            invite,
            nick,
            reply: crate::net::JoinReply::Preview(reply),
        })
        .await?
    }

    /// The invite in `token` if this node can use it now, and the nickname to join with.
    fn usable_invite(&self, token: &str, nick: Option<&str>) -> Result<(Box<Invite>, String)> {
        let invite = Invite::from_token(token)?;
        invite.check_expiry(now_secs())?;
        // Not refused here for a circle this node counts its member in: a member removed while
        // its node was away is not told (members' nodes no longer talk to it), so the inviter's
        // node judges, and says "already in this circle" if so.
        let nick = self.circles.join_nick(nick)?;
        Ok((Box::new(invite), nick))
    }

    /// Network status.
    pub async fn status(&self) -> Result<NetStatus> {
        self.ask(|reply| Command::Status { reply }).await
    }

    /// Leaves `backup` (a backup file's bytes, sealed under the recovery phrase `keys` come
    /// from) with every connected home server of `circle`, replacing what each kept for this
    /// member before; says per home server whether it keeps it.
    pub async fn leave_backup(
        &self,
        circle: &CircleId,
        backup: Vec<u8>,
        keys: std::sync::Arc<circle_crypto::recovery::RecoveryKeys>,
    ) -> Result<Vec<crate::net::LeftBackup>> {
        let circle = *circle;
        let blob = std::sync::Arc::new(backup);
        self.ask(|reply| Command::LeaveBackup {
            circle,
            blob,
            keys,
            reply,
        })
        .await?
    }

    /// Leaves the latest backup this node wrote ([`crate::backup::last`]) with every connected
    /// home server of `circle` (see [`Node::leave_backup`]); the holder key comes from the
    /// recovery phrase kept in the store. For `circle backup --to-circle`, and for automatic
    /// backups to call after each one they write.
    pub async fn leave_latest_backup(
        &self,
        circle: &CircleId,
    ) -> Result<(crate::backup::BackupInfo, Vec<crate::net::LeftBackup>)> {
        let store = self.circles().store().clone();
        // argon2id and reading the file: off the async threads.
        let (info, bytes, keys) = tokio::task::spawn_blocking(move || {
            let info = crate::backup::last(&store)?.ok_or_else(|| {
                Error::Refused(
                    "no backup written yet: make one first with `circle backup FILE`".into(),
                )
            })?;
            let bytes = std::fs::read(&info.path).map_err(|e| {
                Error::io(
                    format!(
                        "cannot read the latest backup, {} (make a new one with `circle backup \
                         FILE`)",
                        info.path
                    ),
                    e,
                )
            })?;
            let phrase = store.recovery_phrase()?.ok_or_else(|| {
                Error::Refused("this node has no recovery phrase yet: unlock it once".into())
            })?;
            let keys = phrase.keys(store.kdf()?)?;
            Ok::<_, Error>((info, bytes, keys))
        })
        .await
        .map_err(|_| Error::Stopped)??;
        let left = self
            .leave_backup(circle, bytes, std::sync::Arc::new(keys))
            .await?;
        Ok((info, left))
    }

    /// On a home server: drops the backup kept under `holder`; whether there was one.
    pub async fn drop_held_backup(&self, holder: &[u8; 32]) -> Result<bool> {
        let had = self.circles().store().drop_held(holder)?;
        if self.online {
            let _ = self.send(Command::HeldChanged).await;
        }
        Ok(had)
    }

    /// Cuts this node off from `peers` (refused and disconnected) until the next call; an empty
    /// list heals. For partition tests: a person never needs it.
    #[doc(hidden)]
    pub async fn cut_off(&self, peers: Vec<PeerId>) -> Result<()> {
        self.ask(|reply| Command::CutOff { peers, reply }).await
    }

    /// What this node's gossipsub knows of `circle`'s topic: which connected nodes it heard
    /// subscribe, which are in its mesh, which it will not publish to. For tests that check
    /// every member is reached by gossip. A person never needs it.
    #[doc(hidden)]
    pub async fn gossip_peers(&self, circle: &CircleId) -> Result<crate::net::GossipPeers> {
        let circle = *circle;
        self.ask(|reply| Command::GossipPeers { circle, reply })
            .await
    }

    /// Gossips envelopes as given, whether or not this node holds them: for tests that play
    /// a member's modified program. A person never needs it.
    #[doc(hidden)]
    pub async fn publish(&self, envelopes: Vec<Envelope>) -> Result<()> {
        self.send(Command::Publish { envelopes }).await
    }

    /// Stops the network task after flushing the store. Other handles then fail with
    /// [`Error::Stopped`].
    pub async fn shutdown(&self) {
        let _ = self.ask(|reply| Command::Shutdown { reply }).await;
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}
