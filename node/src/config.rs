//! Node configuration: one struct, documented defaults, checked once.

use std::time::Duration;

use libp2p::Multiaddr;

use crate::error::{Error, Result};

/// The port a node listens on by default (TCP and QUIC), so that members' saved addresses stay
/// valid across restarts. Chosen from the unassigned range.
pub const DEFAULT_PORT: u16 = 7117;

/// The largest backup a home server keeps for one member by default (100 MiB).
pub const DEFAULT_BACKUP_LIMIT: u64 = 100 * 1024 * 1024;

/// How a node runs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Addresses to listen on. Default: all interfaces, TCP and QUIC on [`DEFAULT_PORT`].
    pub listen: Vec<Multiaddr>,
    /// Addresses where others can reach this node from outside its network (a forwarded port,
    /// a public address). They go first in invites. Default: none.
    pub external: Vec<Multiaddr>,
    /// Gossipsub heartbeat. Default 500 ms: mesh repair within a second on small circles;
    /// tests use 100 ms.
    pub heartbeat: Duration,
    /// How often every circle is synced with every connected member. Default 30 s: gossip is
    /// the fast path; this bounds how long a missed message can stay missing.
    pub sync_interval: Duration,
    /// How often known member addresses are redialled when not connected. Default 60 s.
    pub redial_interval: Duration,
    /// How long an idle connection stays open. Default 10 min (libp2p's 10 s would drop
    /// quiet circles).
    pub idle_timeout: Duration,
    /// Discover members' nodes on the local network with mDNS. Default on.
    pub mdns: bool,
    /// Gossip taken per author and circle, messages per second on average. Default 10; more
    /// is left to sync.
    pub author_rate: u32,
    /// Gossip taken per author and circle in one burst. Default 50.
    pub author_burst: u32,
    /// Membership operations taken by gossip per author and circle in a minute. Default 20:
    /// an admin letting a few people in writes two or three each; each can make every node
    /// derive the membership again, so more are left to sync, which takes a page of them
    /// with one derivation (issue 13, finding 6).
    pub author_ops_per_minute: usize,
    /// Timeout of one join or sync request. Default 20 s.
    pub request_timeout: Duration,
    /// Run as the circles' always-on home server: a relay (v2) for members' nodes only and an
    /// AutoNAT server. Default off.
    pub relay: bool,
    /// Show a desktop notification when a member reaches out. Default on (tests: off).
    pub desktop_notifications: bool,
    /// How long before a meeting its reminder comes. Default 15 min.
    pub reminder_before: Duration,
    /// How long strangers may still connect to bring a join request after this node's last
    /// live invite ended (revoked, expired, used up), so they are told which instead of
    /// finding the door shut. Default 15 min: long enough for the person who was sent it to
    /// try it that evening; after that they are told it is no longer valid, without the why.
    pub ended_invite_grace: Duration,
    /// Strangers' connections (let in to bring a join request while an invite is live) taken
    /// from one IP address at once. Default 4: one person joining needs one, a preview or a
    /// retry beside it a second.
    pub strangers_per_ip: usize,
    /// Join requests (previews included) taken from strangers at one IP address per minute.
    /// Default 10: a person joining sends one or two, and each costs signature checks and a
    /// store write.
    pub joins_per_ip: usize,
    /// On a home server: the largest backup it keeps for one member, in bytes. Default
    /// 100 MiB: a year of a busy circle's messages, many times over.
    pub backup_limit: u64,
    /// On a home server: challenges for a backup's holder proof given to one IP address per
    /// minute. Default 10: a person restoring needs one, a retry or two beside it.
    pub backup_proofs_per_ip: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            listen: vec![
                format!("/ip4/0.0.0.0/tcp/{DEFAULT_PORT}")
                    .parse()
                    .expect("valid"),
                format!("/ip4/0.0.0.0/udp/{DEFAULT_PORT}/quic-v1")
                    .parse()
                    .expect("valid"),
            ],
            external: Vec::new(),
            heartbeat: Duration::from_millis(500),
            sync_interval: Duration::from_secs(30),
            redial_interval: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(600),
            mdns: true,
            author_rate: 10,
            author_burst: 50,
            author_ops_per_minute: 20,
            request_timeout: Duration::from_secs(20),
            relay: false,
            desktop_notifications: true,
            reminder_before: Duration::from_secs(15 * 60),
            ended_invite_grace: Duration::from_secs(15 * 60),
            strangers_per_ip: 4,
            joins_per_ip: 10,
            backup_limit: DEFAULT_BACKUP_LIMIT,
            backup_proofs_per_ip: 10,
        }
    }
}

impl NodeConfig {
    /// Settings for tests and demos on one machine: loopback, random ports, fast timers, no mDNS.
    pub fn local() -> Self {
        NodeConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("valid")],
            heartbeat: Duration::from_millis(100),
            sync_interval: Duration::from_secs(2),
            redial_interval: Duration::from_secs(2),
            mdns: false,
            desktop_notifications: false,
            ..Default::default()
        }
    }

    /// Sets the listen addresses.
    pub fn with_listen(mut self, listen: Vec<Multiaddr>) -> Self {
        self.listen = listen;
        self
    }

    /// Sets the addresses where others can reach this node from outside.
    pub fn with_external(mut self, external: Vec<Multiaddr>) -> Self {
        self.external = external;
        self
    }

    /// Sets the sync interval.
    pub fn with_sync_interval(mut self, d: Duration) -> Self {
        self.sync_interval = d;
        self
    }

    /// Sets the per-author gossip limit: `rate` messages a second, bursts of `burst`.
    pub fn with_author_limit(mut self, rate: u32, burst: u32) -> Self {
        self.author_rate = rate;
        self.author_burst = burst;
        self
    }

    /// Sets how many membership operations per author and circle gossip takes in a minute.
    pub fn with_author_ops_per_minute(mut self, ops: usize) -> Self {
        self.author_ops_per_minute = ops;
        self
    }

    /// Runs the node as a relay and AutoNAT server for its circles' members, or not.
    pub fn with_relay(mut self, on: bool) -> Self {
        self.relay = on;
        self
    }

    /// Sets how long the door stays open after the last live invite ended.
    pub fn with_ended_invite_grace(mut self, d: Duration) -> Self {
        self.ended_invite_grace = d;
        self
    }

    /// Sets the door's limits per IP address: strangers' connections at once, and their join
    /// requests per minute (many nodes joining from one machine, as in benchmarks, need more).
    pub fn with_door_limits(mut self, strangers_per_ip: usize, joins_per_ip: usize) -> Self {
        self.strangers_per_ip = strangers_per_ip;
        self.joins_per_ip = joins_per_ip;
        self
    }

    /// Sets the largest backup this home server keeps for one member.
    pub fn with_backup_limit(mut self, bytes: u64) -> Self {
        self.backup_limit = bytes;
        self
    }

    /// Turns mDNS on or off.
    pub fn with_mdns(mut self, on: bool) -> Self {
        self.mdns = on;
        self
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        if self.listen.is_empty() {
            return Err(Error::Invalid(
                "give at least one address to listen on".into(),
            ));
        }
        for (what, d) in [
            ("heartbeat", self.heartbeat),
            ("sync interval", self.sync_interval),
            ("redial interval", self.redial_interval),
            ("request timeout", self.request_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::Invalid(format!(
                    "the {what} must be longer than zero"
                )));
            }
        }
        Ok(())
    }
}
