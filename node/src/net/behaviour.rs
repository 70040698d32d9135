//! The libp2p behaviour of a circle node and how the swarm is built.

use std::time::Duration;

use libp2p::{
    Swarm, autonat, connection_limits, dcutr, gossipsub, identify,
    identity::Keypair,
    mdns, ping, relay, request_response,
    swarm::{NetworkBehaviour, behaviour::toggle::Toggle},
};

use super::serve::{GlobalDialsOnly, MembersOnly};
use crate::{
    config::NodeConfig,
    error::{Error, Result},
    protocol::{
        BACKUP_PROTOCOL, BackupRequest, BackupResponse, Codec, JOIN_PROTOCOL, JoinRequest,
        JoinResponse, SYNC_PROTOCOL, SyncRequest, SyncResponse,
    },
};

/// Largest gossip message: one envelope.
pub const MAX_GOSSIP_BYTES: usize = circle_crypto::MAX_ENVELOPE_BYTES;

/// Everything a circle node speaks. On a connection of a node that is not a member's (a
/// stranger let in to join, an inviter or home server named in a token being redeemed) only the
/// join exchange, and on a home server the strangers' relayed connections, run: every protocol
/// wrapped in [`MembersOnly`] is not spoken there at all.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Connections in total, pending and established, and per node (see [`limits`]).
    pub limits: connection_limits::Behaviour,
    /// Before the protocols, so a connection it refuses never reaches them.
    pub gate: super::gate::Gate,
    pub gossipsub: MembersOnly<gossipsub::Behaviour>,
    pub join: request_response::Behaviour<Codec<JoinRequest, JoinResponse>>,
    pub sync: MembersOnly<request_response::Behaviour<Codec<SyncRequest, SyncResponse>>>,
    /// Leaving backups with home servers and fetching them back. Spoken on every connection:
    /// a restoring node is no member's (its peer id is its backup's holder key); each request
    /// is judged by who sends it (see `backup.rs`).
    pub backup: request_response::Behaviour<Codec<BackupRequest, BackupResponse>>,
    pub identify: MembersOnly<identify::Behaviour>,
    pub ping: MembersOnly<ping::Behaviour>,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    /// Reserving relayed addresses at home servers, and dialing through them.
    pub relay_client: relay::client::Behaviour,
    /// Upgrading relayed connections to direct ones (hole punching).
    pub dcutr: MembersOnly<dcutr::Behaviour>,
    /// Asking home servers whether this node is reachable from outside.
    pub autonat: MembersOnly<autonat::v2::client::Behaviour>,
    /// On a home server (`relay`): relaying for members' nodes only.
    pub relay: Toggle<relay::Behaviour>,
    /// On a home server: answering members' reachability questions, by dialling back global
    /// addresses only.
    pub autonat_server: MembersOnly<GlobalDialsOnly<Toggle<autonat::v2::server::Behaviour>>>,
}

/// libp2p's connection limits. A circle has at most 250 members, and a node keeps one or two
/// connections (direct, relayed) with each member's node across all its circles: these leave
/// room for several full circles and a home server's relaying, and stop a flood of handshakes
/// (each costs a key exchange) or of one node's connections.
pub fn limits() -> connection_limits::ConnectionLimits {
    connection_limits::ConnectionLimits::default()
        // Handshakes in flight: strangers and members reconnecting after a restart.
        .with_max_pending_incoming(Some(64))
        // A node redials every member's node it knows at once after a restart.
        .with_max_pending_outgoing(Some(256))
        .with_max_established_incoming(Some(768))
        .with_max_established(Some(1024))
        // Direct and relayed, TCP and QUIC, and a redial crossing an old connection.
        .with_max_established_per_peer(Some(8))
}

fn gossip_config(config: &NodeConfig) -> Result<gossipsub::Config> {
    gossipsub::ConfigBuilder::default()
        .heartbeat_interval(config.heartbeat)
        // Envelopes are signed by their authors; the network identity adds nothing and would
        // tie messages to a node. Anonymous mode needs content-addressed ids.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::from(blake3::hash(&m.data).as_bytes().to_vec())
        })
        .validate_messages()
        .max_transmit_size(MAX_GOSSIP_BYTES + 1024)
        .flood_publish(true)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| Error::Net(format!("gossipsub config: {e}")))
}

/// Builds the swarm for `keypair` with TCP+Noise+Yamux, QUIC and relayed connections; who may
/// use this node as a relay is decided by `access`.
pub fn build_swarm(
    keypair: Keypair,
    config: &NodeConfig,
    access: &super::relay::Access,
) -> Result<Swarm<Behaviour>> {
    let gossip = gossip_config(config)?;
    let rr = request_response::Config::default().with_request_timeout(config.request_timeout);
    let (mdns_on, relay_on) = (config.mdns, config.relay);
    let strangers_per_ip = config.strangers_per_ip;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| Error::Net(e.to_string()))?
        .with_quic()
        .with_dns()
        .map_err(|e| Error::Net(e.to_string()))?
        .with_relay_client(libp2p::noise::Config::new, libp2p::yamux::Config::default)
        .map_err(|e| Error::Net(e.to_string()))?
        .with_behaviour(|key, relay_client| {
            let peer_id = key.public().to_peer_id();
            let mdns = if mdns_on {
                Some(mdns::tokio::Behaviour::new(
                    mdns::Config::default(),
                    peer_id,
                )?)
            } else {
                None
            };
            let mut gossipsub =
                gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip)?;
            // Scores count only invalid messages (see `topic_score`): quiet circles are normal.
            gossipsub.with_peer_score(peer_score(), gossipsub::PeerScoreThresholds::default())?;
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(limits()),
                gate: super::gate::Gate::new(strangers_per_ip),
                gossipsub: MembersOnly::new(gossipsub, access.clone()),
                join: request_response::Behaviour::new(
                    [(JOIN_PROTOCOL, request_response::ProtocolSupport::Full)],
                    rr.clone(),
                ),
                sync: MembersOnly::new(
                    request_response::Behaviour::new(
                        [(SYNC_PROTOCOL, request_response::ProtocolSupport::Full)],
                        rr.clone(),
                    ),
                    access.clone(),
                ),
                backup: request_response::Behaviour::new(
                    [(BACKUP_PROTOCOL, request_response::ProtocolSupport::Full)],
                    rr,
                ),
                identify: MembersOnly::new(
                    identify::Behaviour::new(identify::Config::new(
                        "/circle/id/1".into(),
                        key.public(),
                    )),
                    access.clone(),
                ),
                // A dead path is noticed within about half a minute (libp2p lets the first
                // failure pass; the connection closes on the second).
                ping: MembersOnly::new(
                    ping::Behaviour::new(
                        ping::Config::new()
                            .with_interval(Duration::from_secs(10))
                            .with_timeout(Duration::from_secs(10)),
                    ),
                    access.clone(),
                ),
                mdns: Toggle::from(mdns),
                relay_client,
                dcutr: MembersOnly::new(dcutr::Behaviour::new(peer_id), access.clone()),
                autonat: MembersOnly::new(
                    autonat::v2::client::Behaviour::default(),
                    access.clone(),
                ),
                relay: Toggle::from(
                    relay_on.then(|| relay::Behaviour::new(peer_id, access.relay_config())),
                ),
                autonat_server: MembersOnly::new(
                    GlobalDialsOnly::new(Toggle::from(
                        relay_on.then(autonat::v2::server::Behaviour::default),
                    )),
                    access.clone(),
                ),
            })
        })
        .map_err(|e| Error::Net(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_timeout))
        .build();
    Ok(swarm)
}

/// Gossipsub's global scoring: libp2p's defaults without the penalty for many peers at one IP
/// address. That penalty stands against Sybil nodes, which the gate already keeps out (only
/// members' nodes speak gossipsub), while members' nodes often share an address: a household
/// behind one NAT, every member relayed through one home server (a relayed connection counts
/// at the relay's address), or a circle on one machine. With it, more than 10 such nodes took
/// each other out of their meshes (from 12 nodes) and out of the recipients of their own
/// messages (from 15), so in a circle of 32 most members got messages only at the next sync.
pub fn peer_score() -> gossipsub::PeerScoreParams {
    gossipsub::PeerScoreParams {
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    }
}

/// Gossipsub scoring for a circle's topic: only invalid deliveries (forged, undecryptable,
/// from non-members, or over an author's rate limit when sent by that author's own node) count,
/// heavily; nothing is held against a node for being quiet or slow.
pub fn topic_score() -> gossipsub::TopicScoreParams {
    gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        first_message_deliveries_weight: 0.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -20.0,
        invalid_message_deliveries_decay: 0.5,
        ..Default::default()
    }
}
