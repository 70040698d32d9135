//! The circles this node belongs to: the store plus what is derived from it (members, keys).
//!
//! Both the running node and offline CLI commands go through [`Circles`], so the same checks
//! apply however a message is written or received. Nothing reaches the store before it has
//! passed every check: decodes, strict author signature, author is a member (or wrote it before
//! leaving), key epoch known, decrypts, content decodes.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::{Arc, Mutex, RwLock},
};

use circle_crypto::{
    CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, Invite, MemberKey, MemberSecret,
};
use tokio::sync::watch;

use crate::{
    api::contract::{Kind, PartnerState, Standing},
    content::{Body, Content, check_text},
    error::{Error, Result},
    membership::{
        Acked, Derivation, Genesis, MAX_NAME_CHARS, MAX_SEEN_AUTHORS, Membership, Op, OpEntry,
        Profile, Role, check_name, epoch_of, key_commitment,
    },
    protocol::{
        JoinRequest, JoinResponse, SealedKey, SyncPage, SyncRequest, SyncResponse, Welcome,
    },
    store::{CircleRecord, Gone, OpRecord, Store, Stored},
    time::now_ms,
};

mod addresses;

pub(crate) use addresses::is_unspecified;
pub use addresses::{AddressRecord, MAX_RECORD_ADDRS, MAX_RECORD_BYTES, MAX_RECORDS};
mod admin;
mod clocks;
mod feed;
mod ingest;
mod join;
mod logs;
mod names;
mod notable;
mod own_goals;
mod pinned;
mod restore;
mod support;
mod sync;
mod views;
mod write;

pub use admin::InviteInfo;
pub use clocks::{ClockItem, CrisisLines, MAX_CLOCKS, MAX_OWN_LINES, MilestoneItem, Settings};
pub use join::{seal_key_for, seal_new_key_for};
pub use logs::{AuthorLog, CircleLog, ForkLog};
pub use restore::{CATCHING_UP_REFUSAL, REPLACED_REFUSAL};
pub use support::MIN_ID_PREFIX;
pub use sync::{SYNC_PAGE_BYTES, SYNC_PAGE_MESSAGES};
pub use views::{
    CheckinItem, CheckinsView, CircleDetails, GoalItem, MeetingItem, PartnerItem, QuietMember,
    ReachOutItem, ResourceItem,
};

/// A circle as listed to people.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CircleInfo {
    /// Circle id (text form).
    pub id: String,
    /// Circle name.
    pub name: String,
    /// Number of members.
    pub members: usize,
    /// This node's member key in the circle.
    pub me: String,
    /// Where this node's member stands.
    pub standing: crate::api::contract::Standing,
    /// Who may invite.
    pub invites: crate::membership::InvitePolicy,
}

/// A member as listed to people.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MemberInfo {
    /// Member key (text form).
    pub member: String,
    /// Nickname.
    pub name: String,
    /// Three words that tell members with one nickname apart ([`MemberKey::fingerprint`]).
    pub fingerprint: String,
    /// Their role.
    pub role: crate::membership::Role,
    /// Whether this is this node's own member.
    pub me: bool,
}

/// A member as named to people: key, nickname, and the fingerprint that tells two members
/// with one nickname apart.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MemberName {
    /// Member key (text form).
    pub member: String,
    /// Nickname.
    pub name: String,
    /// Three words from the member key ([`MemberKey::fingerprint`]).
    pub fingerprint: String,
}

/// One message as shown in a feed.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FeedItem {
    /// Message id.
    pub id: String,
    /// Circle id.
    pub circle: String,
    /// Author's member key.
    pub author: String,
    /// Author's nickname.
    pub author_name: String,
    /// Author's fingerprint ([`MemberKey::fingerprint`]).
    pub author_fingerprint: String,
    /// What it is: something a member said or did, or what happened to the circle.
    pub kind: Kind,
    /// The text.
    pub text: String,
    /// When sent, RFC 3339.
    pub sent_at: String,
    /// When sent, unix ms (for sorting).
    #[serde(skip)]
    pub sent_at_ms: u64,
    /// Position in this node's arrival order: pass it back to get only newer messages.
    pub cursor: u64,
    /// Its number in its author's chain.
    pub seq: u64,
    /// Whether it is another version of the author's message `seq`: the author wrote two
    /// messages with one number (a fork), and this is not the one its chain holds.
    pub fork: bool,
    /// The message this one answers or reacts to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The start of what `reply_to` said (its first line, at most [`REPLY_TEXT_CHARS`]
    /// characters), when this node holds it and may read it: so a reply, a reaction or a
    /// reached goal shows what it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<String>,
    /// When every node drops it, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Why its content is gone, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone: Option<crate::store::Gone>,
    /// For a private message: the names of its readers besides its author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_to: Option<Vec<String>>,
    /// For a private message: its readers besides its author, with their fingerprints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_to_members: Option<Vec<MemberName>>,
    /// A reach-out: show it at once, prominently.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub urgent: bool,
}

/// Shortest start of a member key that [`Circles::resolve_member`] accepts in place of the
/// whole key.
pub const MIN_KEY_PREFIX: usize = 6;

/// The current members of `c` whose key starts with `text`, if it is long enough to be meant
/// as the start of a key.
fn key_prefix_matches(c: &CircleState, text: &str) -> Vec<MemberKey> {
    let typed = text.to_ascii_lowercase();
    if typed.chars().count() < MIN_KEY_PREFIX
        || !typed
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    {
        return Vec::new();
    }
    c.members
        .iter()
        .filter(|m| m.key.to_string().starts_with(&typed))
        .map(|m| m.key)
        .collect()
}

/// How much of an answered message a [`FeedItem`] quotes in `reply_text`.
pub const REPLY_TEXT_CHARS: usize = 60;

/// Notes a receiver of [`Circles::news`] may fall behind by before it misses some.
pub const NEWS_CAPACITY: usize = 1024;

/// A message just stored, as the node's notices need it (no content).
#[derive(Clone, Debug)]
pub struct News {
    /// Its circle.
    pub circle: CircleId,
    /// Its id.
    pub id: circle_crypto::MessageId,
    /// Its author.
    pub author: MemberKey,
    /// Its kind (as [`Body::kind`]).
    pub kind: Kind,
}

/// What became of an envelope from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingest {
    /// Verified and stored.
    New,
    /// Verified and stored as another version of a message already held (a fork): flagged,
    /// shown, passed on; it does not count for membership.
    Fork,
    /// Verified, but another version of a message of which the most versions kept are held
    /// already: not stored, not forwarded.
    Dropped(crate::refusal::Refusal),
    /// Already held.
    Duplicate,
    /// Cannot be judged yet (unknown author or key epoch): not stored, sync will bring it back.
    Later(crate::refusal::Refusal),
    /// Invalid: not stored, not forwarded.
    Rejected(crate::refusal::Refusal),
}

/// What deriving a circle's membership has cost a node since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivationCost {
    /// How many times it derived from all operations.
    pub derivations: u64,
    /// How many operations were applied, over every derivation and every single step.
    pub steps: u64,
}

struct CircleState {
    genesis: Genesis,
    genesis_wire: Vec<u8>,
    me: MemberSecret,
    /// The member secrets this node had here before it came back under `me`.
    former: Vec<MemberSecret>,
    keys: BTreeMap<u64, CircleKey>,
    /// The circle's operations and the membership derived from them, kept up to date one
    /// operation at a time where that is exact.
    derivation: Derivation,
    /// A copy of `derivation`'s membership.
    members: Membership,
    /// Epochs this node did not take (their key failed its checks) and has already started a
    /// new epoch in place of, since it started.
    replaced: BTreeSet<u64>,
    /// Per departed member whose cut is pinned: their hash chain down from the pin, as far as
    /// this node holds it (see `pinned`).
    chains: BTreeMap<MemberKey, pinned::ChainDown>,
}

impl CircleState {
    /// Whether this node must start a new key epoch before writing: the current key went to
    /// someone no longer in, or a member lacks it, or this node refused it (it failed its
    /// checks) and has not started one in its place yet.
    fn rekey_due(&self) -> bool {
        let current = self.members.current_epoch;
        self.members.needs_rekey()
            || (!self.keys.contains_key(&current) && !self.replaced.contains(&current))
    }

    fn author_name(&self, key: &MemberKey) -> String {
        self.members
            .get(key)
            .map(|m| m.name.clone())
            .or_else(|| self.members.departed(key).map(|d| d.name.clone()))
            .unwrap_or_else(|| format!("member {}", key.short()))
    }

    /// A member (current or departed) as named to people.
    fn member_name(&self, key: &MemberKey) -> MemberName {
        MemberName {
            member: key.to_string(),
            name: self.author_name(key),
            fingerprint: key.fingerprint(),
        }
    }

    fn standing(&self) -> Standing {
        let me = self.me.public();
        match (self.members.get(&me), self.members.departed(&me)) {
            (Some(m), _) => m.role.into(),
            (None, Some(d)) if d.by == me => Standing::Left,
            (None, Some(_)) => Standing::Removed,
            (None, None) => Standing::Joining,
        }
    }

    /// The member key of `me` if still a member, or why not.
    fn check_member(&self) -> Result<MemberKey> {
        let me = self.me.public();
        if self.members.contains(&me) {
            return Ok(me);
        }
        Err(Error::Invalid(match self.standing() {
            Standing::Left => format!(
                "you left '{}': nothing can be sent there",
                self.members.name
            ),
            Standing::Removed => format!(
                "you were removed from '{}': nothing can be sent there",
                self.members.name
            ),
            _ => format!("you are not a member of '{}'", self.members.name),
        }))
    }

    /// Whether this node still talks to the circle: its member is in it, or left it.
    fn takes_part(&self) -> bool {
        matches!(
            self.standing(),
            Standing::Admin | Standing::Member | Standing::Left
        )
    }

    /// Takes in one more operation.
    fn learn(&mut self, e: OpEntry) {
        self.derivation.learn(&self.genesis, e);
        self.members = self.derivation.membership().clone();
    }

    /// Takes in one more operation of a batch (a sync page, a welcome): `members` stays as
    /// it was once an operation needs a whole derivation, until [`CircleState::settle`].
    fn take(&mut self, e: OpEntry) {
        self.derivation.take(&self.genesis, e);
        if !self.derivation.is_stale() {
            self.members = self.derivation.membership().clone();
        }
    }

    /// Derives once for the operations of a batch taken so far.
    fn settle(&mut self) {
        if self.derivation.is_stale() {
            self.derivation.settle(&self.genesis);
            self.members = self.derivation.membership().clone();
        }
    }
}

struct Inner {
    store: Store,
    /// This node's peer id (bytes), written into the profiles of its members.
    node: Vec<u8>,
    state: RwLock<BTreeMap<CircleId, CircleState>>,
    /// Serialises this node's own writes, so its sequence numbers never fork.
    writer: Mutex<()>,
    /// Serialises changes to the person's clocks (read, change, save), so two never overlap.
    /// Taken before `writer` when both are needed.
    clocks: Mutex<()>,
    arrivals: watch::Sender<u64>,
    /// One note per message stored, for the node's notices (no receiver: nothing is kept).
    news: tokio::sync::broadcast::Sender<News>,
    /// Changes whenever any circle's membership does.
    membership: watch::Sender<u64>,
    /// Hashes of address records already verified and held (or older than the one held):
    /// every sync page repeats the circle's records, and verifying each again cost most of
    /// a 32-node circle's CPU (see BENCHMARKS.md).
    known_records: Mutex<HashSet<[u8; 32]>>,
    /// Where each circle's notable messages are (in memory only).
    notable: notable::NotableIndex,
    /// The circles this node catches up with its own messages in, after a restore (see
    /// [`Circles::catch_up_after_restore`]), and the marker file to remove when none is left.
    catching_up: Mutex<(BTreeSet<CircleId>, Option<std::path::PathBuf>)>,
    /// Whether a newer copy of this node replaced it: it never writes again.
    replaced: std::sync::atomic::AtomicBool,
}

/// The circles of one node. Cheap to clone.
#[derive(Clone)]
pub struct Circles {
    inner: Arc<Inner>,
}

pub(crate) fn poisoned<T>(_: T) -> Error {
    Error::Internal("internal state was poisoned by an earlier failure".into())
}

impl Circles {
    /// Loads every circle from the store.
    pub fn load(store: Store) -> Result<Circles> {
        let node = libp2p::identity::Keypair::from_protobuf_encoding(&store.node_key()?)
            .map_err(|e| Error::Internal(format!("the node key does not decode: {e}")))?
            .public()
            .to_peer_id()
            .to_bytes();
        let mut state = BTreeMap::new();
        // Once per store: what other versions of operations were kept before they counted.
        let recorded_other_versions = store.other_versions_recorded()?;
        for (id, record) in store.circles()? {
            let genesis = Genesis::open(&record.genesis)?;
            let me = MemberSecret::from_bytes(&record.me)?;
            let keys = store.keys(&id)?.into_iter().collect::<BTreeMap<_, _>>();
            if keys.is_empty() {
                return Err(Error::Refused(format!("circle {} has no key", id.short())));
            }
            if !recorded_other_versions {
                store.record_other_versions(&id, &keys)?;
            }
            let derivation = Derivation::new(&genesis, store.ops(&id)?);
            let members = derivation.membership().clone();
            let former = store
                .former_secrets(&id)?
                .iter()
                .map(|b| MemberSecret::from_bytes(b))
                .collect::<std::result::Result<_, _>>()?;
            state.insert(
                id,
                CircleState {
                    genesis,
                    genesis_wire: record.genesis.clone(),
                    me,
                    former,
                    keys,
                    derivation,
                    members,
                    replaced: BTreeSet::new(),
                    chains: BTreeMap::new(),
                },
            );
        }
        if !recorded_other_versions {
            store.set_other_versions_recorded()?;
        }
        let circles = Circles {
            inner: Arc::new(Inner {
                node,
                state: RwLock::new(state),
                writer: Mutex::new(()),
                clocks: Mutex::new(()),
                arrivals: watch::channel(0).0,
                news: tokio::sync::broadcast::channel(NEWS_CAPACITY).0,
                membership: watch::channel(0).0,
                known_records: Mutex::new(HashSet::new()),
                notable: notable::NotableIndex::default(),
                catching_up: Mutex::new((BTreeSet::new(), None)),
                replaced: std::sync::atomic::AtomicBool::new(store.replaced()?),
                store,
            }),
        };
        let ids: Vec<CircleId> = circles.read(|s| s.keys().copied().collect())?;
        for id in ids {
            circles.follow_chains(&id)?;
        }
        Ok(circles)
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// A receiver that changes whenever a message is stored.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.inner.arrivals.subscribe()
    }

    /// A note for every message stored from now on (taken in or written here), without its
    /// content: for the node's notices, which then need not decrypt what ingest already did.
    pub fn news(&self) -> tokio::sync::broadcast::Receiver<News> {
        self.inner.news.subscribe()
    }

    /// A circle's current name (empty if this node is not in it).
    pub fn name_of(&self, circle: &CircleId) -> String {
        self.with_circle(circle, |c| Ok(c.members.name.clone()))
            .unwrap_or_default()
    }

    /// The name a member (current or departed) goes by in a circle.
    pub fn member_name(&self, circle: &CircleId, member: &MemberKey) -> String {
        self.with_circle(circle, |c| Ok(c.author_name(member)))
            .unwrap_or_default()
    }

    /// A member (current or departed) of `circle` as named to people, with their fingerprint.
    pub fn named(&self, circle: &CircleId, member: &MemberKey) -> Result<MemberName> {
        self.with_circle(circle, |c| Ok(c.member_name(member)))
    }

    /// One message as its feed shows it, if it is held and shown.
    pub fn feed_item(&self, circle: &CircleId, id: &circle_crypto::MessageId) -> Option<FeedItem> {
        let message = self.message(circle, id).ok().flatten()?;
        let mut item = self
            .with_circle(circle, |c| Ok(feed::item(c, circle, &message)))
            .ok()
            .flatten()?;
        self.quote_answered(circle, std::slice::from_mut(&mut item), HashMap::new());
        Some(item)
    }

    fn tell(&self, circle: &CircleId, envelope: &Envelope, kind: Kind) {
        let _ = self.inner.news.send(News {
            circle: *circle,
            id: envelope.id(),
            author: envelope.header().author,
            kind,
        });
    }

    /// A receiver that changes whenever any circle's membership changes.
    pub fn watch_membership(&self) -> watch::Receiver<u64> {
        self.inner.membership.subscribe()
    }

    fn read<R>(&self, f: impl FnOnce(&BTreeMap<CircleId, CircleState>) -> R) -> Result<R> {
        Ok(f(&*self.inner.state.read().map_err(poisoned)?))
    }

    fn with_circle<R>(
        &self,
        id: &CircleId,
        f: impl FnOnce(&CircleState) -> Result<R>,
    ) -> Result<R> {
        let state = self.inner.state.read().map_err(poisoned)?;
        let c = state
            .get(id)
            .ok_or_else(|| Error::UnknownCircle(id.to_string()))?;
        f(c)
    }

    /// Finds a current member of `circle` from what a person typed: their member key, the
    /// start of it ([`MIN_KEY_PREFIX`] characters or more, unique in the circle), their
    /// fingerprint (`amber-fox-lake`, any case, words apart by `-` or spaces), or a name unique
    /// in the circle. When two members go by the name typed, the error lists both with their
    /// fingerprints, so the person can type one of those instead.
    pub fn resolve_member(&self, circle: &CircleId, text: &str) -> Result<MemberKey> {
        let text = text.trim();
        self.with_circle(circle, |c| {
            let circle_name = &c.members.name;
            if let Ok(key) = text.parse::<MemberKey>() {
                if c.members.contains(&key) {
                    return Ok(key);
                }
                return Err(Error::Invalid(format!(
                    "{} is not a member of '{circle_name}'",
                    key.short()
                )));
            }
            let named: Vec<MemberKey> = c
                .members
                .iter()
                .filter(|m| m.name == text)
                .map(|m| m.key)
                .collect();
            let by_words = || -> Vec<MemberKey> {
                c.members
                    .iter()
                    .filter(|m| circle_crypto::is_fingerprint(text, &m.key.fingerprint()))
                    .map(|m| m.key)
                    .collect()
            };
            /// What the typed text was taken as.
            enum By {
                Name,
                Words,
                KeyStart,
            }
            let (found, by) = if !named.is_empty() {
                (named, By::Name)
            } else {
                match by_words() {
                    words if !words.is_empty() => (words, By::Words),
                    _ => (key_prefix_matches(c, text), By::KeyStart),
                }
            };
            let several = match found.as_slice() {
                [one] => return Ok(*one),
                [] => {
                    return Err(Error::Invalid(format!(
                        "no member of '{circle_name}' is called '{text}': see `circle members '{circle_name}'`"
                    )));
                }
                several => several,
            };
            let who: Vec<String> = several
                .iter()
                .map(|k| format!("{} ({})", c.author_name(k), k.fingerprint()))
                .collect();
            let who = who.join(", ");
            Err(Error::Invalid(match by {
                By::Name => format!(
                    "more than one member of '{circle_name}' is called '{text}': {who}; give the \
                     words in brackets instead"
                ),
                By::Words => format!(
                    "more than one member of '{circle_name}' goes by the words '{text}': {who}; \
                     give the start of their member key instead (see `circle members '{circle_name}'`)"
                ),
                By::KeyStart => format!(
                    "'{text}' is the start of more than one member key in '{circle_name}' \
                     ({who}): give more of it"
                ),
            }))
        })
    }

    /// The circles this node takes part in, with their gossip topics: those its member is
    /// in, and those it left (until the others know it left, they are the ones that must hear
    /// it from this node; they close the connections then). Not those it was removed from.
    pub fn topics(&self) -> Result<Vec<(CircleId, String)>> {
        self.read(|s| {
            s.iter()
                .filter(|(_, c)| c.takes_part())
                .map(|(id, _)| (*id, circle_crypto::topic_for(id)))
                .collect()
        })
    }

    /// The peer ids (bytes) of the nodes of every current member of every circle this node
    /// takes part in (see [`Circles::topics`]), its own excluded: the only nodes it keeps
    /// connections with.
    pub fn member_nodes(&self) -> Result<HashSet<Vec<u8>>> {
        let own = &self.inner.node;
        self.read(|s| {
            s.values()
                .filter(|c| c.takes_part())
                .flat_map(|c| c.members.iter().map(|m| m.node.clone()))
                .filter(|n| n != own)
                .collect()
        })
    }

    /// The names current members go by, by their node (peer id bytes), across this node's
    /// circles, own node included: for showing who a connection is.
    pub fn member_names_by_node(&self) -> Result<HashMap<Vec<u8>, Vec<String>>> {
        self.read(|s| {
            let mut out: HashMap<Vec<u8>, Vec<String>> = HashMap::new();
            for c in s.values().filter(|c| c.takes_part()) {
                for m in c.members.iter() {
                    let names = out.entry(m.node.clone()).or_default();
                    if !names.contains(&m.name) {
                        names.push(m.name.clone());
                    }
                }
            }
            out
        })
    }

    /// Whether `author` may currently send to `circle` (a current member).
    pub fn is_member(&self, circle: &CircleId, author: &MemberKey) -> bool {
        self.read(|s| s.get(circle).is_some_and(|c| c.members.contains(author)))
            .unwrap_or(false)
    }

    /// Whether `author` is or was a member of `circle` (a departed member's messages are held
    /// back by the same rate limit as everyone's: they still cost a check before they are
    /// refused).
    pub fn is_known_author(&self, circle: &CircleId, author: &MemberKey) -> bool {
        self.read(|s| {
            s.get(circle)
                .is_some_and(|c| c.members.contains(author) || c.members.departed(author).is_some())
        })
        .unwrap_or(false)
    }

    /// Whether `node` (peer id bytes) is the node of a current member of `circle`.
    pub fn is_member_node(&self, circle: &CircleId, node: &[u8]) -> bool {
        self.read(|s| {
            s.get(circle)
                .is_some_and(|c| c.members.iter().any(|m| m.node == node))
        })
        .unwrap_or(false)
    }

    /// Whether `node` (peer id bytes) is the node of a member who left `circle` or was removed
    /// from it (whether or not it is also a current member's).
    pub fn is_departed_node(&self, circle: &CircleId, node: &[u8]) -> bool {
        self.read(|s| {
            s.get(circle)
                .is_some_and(|c| c.members.all_departed().any(|(_, d)| d.node == node))
        })
        .unwrap_or(false)
    }

    /// The node (peer id bytes) of a current member.
    pub fn node_of(&self, circle: &CircleId, member: &MemberKey) -> Option<Vec<u8>> {
        self.read(|s| {
            s.get(circle)
                .and_then(|c| c.members.get(member).map(|m| m.node.clone()))
        })
        .ok()
        .flatten()
    }

    /// The circles, by name.
    pub fn list(&self) -> Result<Vec<CircleInfo>> {
        let mut list = self.read(|s| {
            s.iter()
                .map(|(id, c)| CircleInfo {
                    id: id.to_string(),
                    name: c.members.name.clone(),
                    members: c.members.len(),
                    me: c.me.public().to_string(),
                    standing: c.standing(),
                    invites: c.members.policy,
                })
                .collect::<Vec<_>>()
        })?;
        list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    /// The members of a circle, admins first, then by name.
    pub fn members(&self, circle: &CircleId) -> Result<Vec<MemberInfo>> {
        self.with_circle(circle, |c| {
            let me = c.me.public();
            let mut list: Vec<_> = c
                .members
                .iter()
                .map(|m| MemberInfo {
                    member: m.key.to_string(),
                    name: m.name.clone(),
                    fingerprint: m.key.fingerprint(),
                    role: m.role,
                    me: m.key == me,
                })
                .collect();
            list.sort_by(|a, b| {
                (a.role != Role::Admin, &a.name).cmp(&(b.role != Role::Admin, &b.name))
            });
            Ok(list)
        })
    }

    /// This node's member key in a circle.
    pub fn my_key(&self, circle: &CircleId) -> Result<MemberKey> {
        self.with_circle(circle, |c| Ok(c.me.public()))
    }

    /// The node's default nickname, or `fallback`.
    fn nick_or(&self, nick: Option<&str>) -> Result<String> {
        let nick = match nick {
            Some(n) => n.to_string(),
            None => self
                .store()
                .nickname()?
                .ok_or_else(|| Error::Invalid("choose a nickname with --name".into()))?,
        };
        check_name("nickname", &nick, MAX_NAME_CHARS)
    }

    /// Records a circle this node founded or joined; its operations come in as messages.
    fn insert_circle(
        &self,
        genesis_wire: Vec<u8>,
        me: MemberSecret,
        keys: Vec<(u64, CircleKey)>,
    ) -> Result<CircleId> {
        let genesis = Genesis::open(&genesis_wire)?;
        let id = genesis.circle;
        let store = self.store();
        for (epoch, key) in &keys {
            store.put_key(&id, *epoch, key)?;
        }
        store.put_circle(
            &id,
            &CircleRecord {
                genesis: genesis_wire.clone(),
                me: me.to_bytes().to_vec(),
                joined_at: now_ms(),
            },
        )?;
        store.flush()?;
        let derivation = Derivation::new(&genesis, Vec::new());
        let members = derivation.membership().clone();
        self.inner.state.write().map_err(poisoned)?.insert(
            id,
            CircleState {
                genesis,
                genesis_wire,
                me,
                former: Vec::new(),
                keys: keys.into_iter().collect(),
                derivation,
                members,
                replaced: BTreeSet::new(),
                chains: BTreeMap::new(),
            },
        );
        self.inner.membership.send_modify(|n| *n += 1);
        Ok(id)
    }

    /// Takes up a circle this node left or was removed from again, under the member secret
    /// `me` it was let back in with and the keys sealed to it; its history stays.
    fn rejoin_circle(
        &self,
        id: &CircleId,
        me: MemberSecret,
        keys: BTreeMap<u64, CircleKey>,
    ) -> Result<CircleId> {
        let store = self.store();
        for (epoch, key) in &keys {
            store.put_key(id, *epoch, key)?;
        }
        let mut state = self.inner.state.write().map_err(poisoned)?;
        let c = state
            .get_mut(id)
            .ok_or_else(|| Error::UnknownCircle(id.to_string()))?;
        // Kept first: a crash between the two writes loses no secret.
        store.add_former_secret(id, c.me.to_bytes().as_slice())?;
        store.put_circle(
            id,
            &CircleRecord {
                genesis: c.genesis_wire.clone(),
                me: me.to_bytes().to_vec(),
                joined_at: now_ms(),
            },
        )?;
        store.flush()?;
        let before = std::mem::replace(&mut c.me, me);
        c.former.push(before);
        c.keys.extend(keys);
        drop(state);
        self.inner.membership.send_modify(|n| *n += 1);
        Ok(*id)
    }

    /// Creates a circle with this node's member as founder and first admin.
    pub fn create(&self, name: &str, nick: Option<&str>) -> Result<CircleId> {
        let nick = self.nick_or(nick)?;
        let me = MemberSecret::generate();
        let genesis = Genesis::create(&me, name, &nick, &self.inner.node, now_ms())?;
        self.insert_circle(genesis, me, vec![(0, CircleKey::generate())])
    }

    /// The feed of a circle after `cursor` (0 for everything), oldest first, at most `limit`
    /// of the newest.
    pub fn feed(
        &self,
        circle: &CircleId,
        cursor: u64,
        limit: Option<usize>,
    ) -> Result<Vec<FeedItem>> {
        Ok(self.feed_page(circle, cursor, limit)?.0)
    }

    /// [`Circles::feed`], and the cursor to pass back for what comes after: the last arrival
    /// read, shown or not (messages that are not shown, such as "seen" notes, still move it).
    pub fn feed_page(
        &self,
        circle: &CircleId,
        cursor: u64,
        limit: Option<usize>,
    ) -> Result<(Vec<FeedItem>, u64)> {
        let mut arrivals = self.store().arrivals_after(circle, cursor);
        let mut next = cursor;
        let mut items = Vec::new();
        match limit {
            None => {
                let all: Vec<_> = arrivals.collect::<Result<_>>()?;
                next = all.last().map_or(cursor, |a| a.cursor);
                items = self.feed_items(circle, all)?;
            }
            // None of the history, and the cursor at its end: a follower goes on from now,
            // as `--limit 0` means with or without `--follow`.
            Some(0) => {
                if let Some(last) = arrivals.next_back() {
                    next = last?.cursor;
                }
            }
            // Only the newest arrivals are read and decrypted, not the whole history: a batch
            // at a time until `n` are shown (some messages are not).
            Some(n) => {
                while items.len() < n {
                    let mut batch: Vec<_> = arrivals
                        .by_ref()
                        .rev()
                        .take(n.saturating_sub(items.len()).max(16))
                        .collect::<Result<_>>()?;
                    if batch.is_empty() {
                        break;
                    }
                    if next == cursor {
                        next = batch.first().map_or(cursor, |a| a.cursor);
                    }
                    batch.reverse();
                    let mut shown = self.feed_items(circle, batch)?;
                    shown.append(&mut items);
                    items = shown;
                }
            }
        }
        items.sort_by(|a, b| (a.sent_at_ms, &a.id).cmp(&(b.sent_at_ms, &b.id)));
        if let Some(limit) = limit {
            let skip = items.len().saturating_sub(limit);
            items.drain(..skip);
        }
        Ok((items, next))
    }

    /// The newest `n` feed items that arrived before `before` (all of them for `None`), read
    /// from the newest back, a batch at a time, so a page costs only what it shows; and the
    /// cursor to pass back for the page before it, if older messages remain.
    pub fn feed_before(
        &self,
        circle: &CircleId,
        before: Option<u64>,
        n: usize,
    ) -> Result<(Vec<FeedItem>, Option<u64>)> {
        let mut arrivals = self
            .store()
            .arrivals_before(circle, before.unwrap_or(u64::MAX))
            .rev()
            .peekable();
        let mut items = Vec::new();
        let mut oldest = None;
        while items.len() < n {
            // Never more arrivals than items still wanted: each shows at most one item.
            let mut batch: Vec<_> = arrivals
                .by_ref()
                .take(n - items.len())
                .collect::<Result<_>>()?;
            let Some(last) = batch.last() else {
                break;
            };
            oldest = Some(last.cursor);
            batch.reverse();
            items.extend(self.feed_items(circle, batch)?);
        }
        let older = oldest.filter(|_| arrivals.peek().is_some());
        items.sort_by(|a, b| (a.sent_at_ms, &a.id).cmp(&(b.sent_at_ms, &b.id)));
        Ok((items, older))
    }

    fn feed_items(
        &self,
        circle: &CircleId,
        arrivals: Vec<crate::store::Arrival>,
    ) -> Result<Vec<FeedItem>> {
        let (mut items, starts, ends) = self.with_circle(circle, |c| {
            let msgs = views::decrypt(c, circle, arrivals);
            let starts: HashMap<String, String> = msgs
                .iter()
                .filter_map(|m| Some((m.id.to_string(), feed::start_of(m)?)))
                .collect();
            let items: Vec<FeedItem> = msgs
                .iter()
                .filter_map(|m| feed::item(c, circle, m))
                .collect();
            Ok((items, starts, views::partnership_ends(&msgs)))
        })?;
        self.quote_answered(circle, &mut items, starts);
        if !ends.is_empty() {
            // Whether an end took back a request or ended a partnership depends on the steps
            // before it: read them only when the page has one.
            let taken_back = views::requests_taken_back(&self.notable(circle)?);
            for item in items.iter_mut().filter(|i| taken_back.contains(&i.id)) {
                let other = item
                    .private_to
                    .as_ref()
                    .and_then(|to| to.first())
                    .cloned()
                    .unwrap_or_default();
                item.text = format!("{} took back their request to {other}", item.author_name);
            }
        }
        Ok(items)
    }

    /// Fills in `reply_text` for the items that answer a message: from `starts` (the page's
    /// own messages), else by reading the one answered message. A reached goal says which.
    fn quote_answered(
        &self,
        circle: &CircleId,
        items: &mut [FeedItem],
        mut starts: HashMap<String, String>,
    ) {
        for item in items.iter_mut() {
            let Some(to) = item.reply_to.clone() else {
                continue;
            };
            if !starts.contains_key(&to)
                && let Ok(id) = to.parse::<circle_crypto::MessageId>()
                && let Ok(Some(m)) = self.message(circle, &id)
                && let Some(start) = feed::start_of(&m)
            {
                starts.insert(to.clone(), start);
            }
            item.reply_text = starts.get(&to).cloned();
            if item.kind == Kind::GoalDone
                && let Some(goal) = &item.reply_text
            {
                item.text = format!("reached a goal: {goal}");
            }
        }
    }

    /// Whether this node is in `circle`.
    pub fn contains(&self, circle: &CircleId) -> bool {
        self.read(|s| s.contains_key(circle)).unwrap_or(false)
    }
}

/// A node's circles on a new store in a temporary directory (kept while the directory lives),
/// with no network: for unit tests.
#[cfg(test)]
pub(crate) fn offline_for_tests() -> (Circles, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let keypair = libp2p::identity::Keypair::generate_ed25519();
    let key = keypair.to_protobuf_encoding().unwrap();
    let peer = keypair.public().to_peer_id().to_string();
    let store = Store::create(
        db,
        b"passphrase",
        &key,
        &peer,
        &circle_crypto::KdfParams::TESTS_ONLY,
    )
    .unwrap();
    (Circles::load(store).unwrap(), dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_page_before_a_cursor_holds_the_newest_n_before_it_and_says_where_to_go_on() {
        let (circles, _dir) = offline_for_tests();
        let circle = circles.create("Tuesday", Some("alice")).unwrap();
        for n in 1..=7 {
            circles.share(&circle, &format!("note {n}")).unwrap();
        }
        // Sorted: shares written within one millisecond have no order by time.
        let texts = |items: &[FeedItem]| -> Vec<String> {
            let mut t: Vec<String> = items
                .iter()
                .filter(|i| i.kind == Kind::Share)
                .map(|i| i.text.clone())
                .collect();
            t.sort();
            t
        };

        let (first, older) = circles.feed_before(&circle, None, 3).unwrap();
        assert_eq!(texts(&first), ["note 5", "note 6", "note 7"]);
        let (second, older) = circles.feed_before(&circle, older, 3).unwrap();
        assert_eq!(texts(&second), ["note 2", "note 3", "note 4"]);
        // The last page: "note 1" and what the circle began with, and nothing before it.
        let (last, older) = circles.feed_before(&circle, older, 3).unwrap();
        assert_eq!(texts(&last), ["note 1"]);
        assert_eq!(older, None);
        assert!(circles.feed_before(&circle, None, 0).unwrap().0.is_empty());
    }
}
