//! # circle-node
//!
//! A circle node keeps its circles' messages in a sealed [sled] store and exchanges them with
//! the other members' nodes over libp2p: gossipsub for speed, a pull-based sync protocol for
//! delivery. It also serves a local HTTP API for the `circle` CLI.
//!
//! - [`Home`]: a node's directory; creates and opens its [`Store`] with a passphrase.
//! - [`Circles`]: the circles, their members and keys; every check on every message.
//! - [`Node`]: the running network (one task owns the libp2p Swarm) behind a cloneable handle.
//! - [`Api`]: the local control API.
//!
//! ```no_run
//! # async fn run() -> circle_node::Result<()> {
//! use circle_node::{Circles, Home, Node, NodeConfig};
//!
//! let home = Home::new("/tmp/alice");
//! let store = home.init(b"a long passphrase", "alice")?;
//! let node = Node::start(Circles::load(store)?, NodeConfig::local()).await?;
//! let circle = node.create("Tuesday evening", None).await?;
//! node.share(&circle, "Day 12. Hard one, but here.").await?;
//! node.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod api;
pub mod backup;
mod circles;
mod config;
mod content;
mod error;
mod held;
mod home;
mod kind;
mod membership;
mod net;
mod node;
mod notice;
mod protocol;
mod refusal;
mod store;
pub mod support;
mod time;
mod web;

pub use api::{Api, LocalApi, api_proof, contract};
pub use circles::{
    AddressRecord, AuthorLog, CATCHING_UP_REFUSAL, CheckinItem, CheckinsView, CircleDetails,
    CircleInfo, CircleLog, Circles, ClockItem, CrisisLines, DerivationCost, FeedItem, ForkLog,
    GoalItem, Ingest, InviteInfo, MAX_CLOCKS, MAX_RECORD_BYTES, MIN_ID_PREFIX, MIN_KEY_PREFIX,
    MeetingItem, MemberInfo, MemberName, MilestoneItem, NEWS_CAPACITY, News, PartnerItem,
    QuietMember, REPLACED_REFUSAL, ReachOutItem, ResourceItem, SYNC_PAGE_BYTES, SYNC_PAGE_MESSAGES,
    Settings, seal_key_for, seal_new_key_for,
};
pub use config::{DEFAULT_BACKUP_LIMIT, DEFAULT_PORT, NodeConfig};
pub use content::{Body, Content, MAX_TEXT_BYTES, MAX_TEXT_CHARS, check_text};
pub use error::{Error, Result};
pub use held::{MAX_UPLOADS, human_size};
pub use home::{
    ApiInfo, CATCHING_UP_FILE, DEFAULT_LOCK_WAIT, Home, MIN_PASSPHRASE_CHARS, TEST_KDF_ENV,
    check_new_passphrase,
};
pub use kind::Kind;
pub use membership::{
    Acked, Departed, Derivation, EPOCH_DOMAIN, Genesis, InvitePolicy, InviteState,
    JOIN_PROOF_DOMAIN, KEY_COMMITMENT_DOMAIN, MAX_MEMBERS, MAX_SEEN_AUTHORS, Member, Membership,
    Op, OpEntry, Profile, Role, epoch_of, key_commitment,
};
pub use net::{FetchedBackup, LeftBackup, fetch_backup};
pub use net::{GossipPeers, NetStatus};
pub use node::{MAX_INVITE_TTL, MIN_INVITE_TTL, Node, check_invite_ttl};
pub use notice::{EVENT_CAPACITY, Event, NoticeConfig};
pub use protocol::{
    BACKUP_FETCH_PART_BYTES, BACKUP_LEAVE_DOMAIN, BACKUP_LEAVE_PART_BYTES, BACKUP_PROTOCOL,
    BackupRequest, BackupResponse, CirclePreview, Codec, JOIN_PROTOCOL, JoinRequest, JoinResponse,
    LeavePart, MAX_HELD_RANGES, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, MAX_SYNC_VERSIONS,
    Returning, SYNC_PROTOCOL, SealedKey, SyncPage, SyncRequest, SyncResponse, Welcome,
    leave_proof_bytes,
};
pub use refusal::{PeerRefusal, Refusal};
pub use store::{
    ForkedSeq, Gone, GoneRecord, HeldRecord, MAX_FORK_VERSIONS, OpRecord, Store, Stored,
};
pub use time::{now_ms, now_secs, rfc3339};
pub use web::Locked;

/// Re-exported so users of this crate name the same types.
pub use libp2p::{Multiaddr, PeerId};
