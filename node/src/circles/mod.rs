//! The circles this node belongs to: the store plus what is derived from it (members, keys).
//!
//! Both the running node and offline CLI commands go through [`Circles`], so the same checks
//! apply however a message is written or received. Nothing reaches the store before it has
//! passed every check: decodes, strict author signature, author is a member (or wrote it before
//! leaving), key epoch known, decrypts, content decodes.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex, RwLock},
};

use circle_crypto::{
    CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, Invite, MemberKey, MemberSecret,
};
use tokio::sync::watch;

use crate::{
    content::{Body, Content, check_text},
    error::{Error, Result},
    membership::{Genesis, MAX_NAME_CHARS, Membership, Op, OpEntry, Profile, Role, check_name},
    protocol::{
        JoinRequest, JoinResponse, SealedKey, SyncPage, SyncRequest, SyncResponse, Welcome,
    },
    store::{CircleRecord, OpRecord, Store, Stored},
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
mod own_goals;
mod support;
mod sync;
mod views;
mod write;

pub use admin::InviteInfo;
pub use clocks::{ClockItem, CrisisLines, MAX_CLOCKS, MAX_OWN_LINES, MilestoneItem, Settings};
pub use join::seal_key_for;
pub use logs::{AuthorLog, CircleLog, ForkLog};
pub use support::MIN_ID_PREFIX;
pub use sync::{SYNC_PAGE_BYTES, SYNC_PAGE_MESSAGES};
pub use views::{
    CheckinItem, CheckinsView, CircleDetails, GoalItem, MeetingItem, PartnerItem, QuietMember,
    ReachOutItem, ResourceItem,
};

/// A circle as listed to people.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CircleInfo {
    /// Circle id (text form).
    pub id: String,
    /// Circle name.
    pub name: String,
    /// Number of members.
    pub members: usize,
    /// This node's member key in the circle.
    pub me: String,
    /// `admin`, `member`, `left` or `removed`: where this node's member stands.
    pub standing: String,
    /// Who may invite: `admins` or `members`.
    pub invites: String,
}

/// A member as listed to people.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MemberInfo {
    /// Member key (text form).
    pub member: String,
    /// Nickname.
    pub name: String,
    /// `admin` or `member`.
    pub role: String,
    /// Whether this is this node's own member.
    pub me: bool,
}

/// One message as shown in a feed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FeedItem {
    /// Message id.
    pub id: String,
    /// Circle id.
    pub circle: String,
    /// Author's member key.
    pub author: String,
    /// Author's nickname.
    pub author_name: String,
    /// `share`, `reaction`, `checkin`, `goal`, `goal-done`, `milestone`, `clock-reset`,
    /// `reach-out`, `meeting`, `resource`, `dm`, `partner`, `withdrawn`, `expired`, or what
    /// happened to the circle: `joined`, `left`, `removed`, `admin-granted`, `admin-revoked`,
    /// `policy`, `renamed`, `guidelines`.
    pub kind: String,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// When every node drops it, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `withdrawn` or `expired` when its content is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gone: Option<&'static str>,
    /// For a private message: the names of its readers besides its author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_to: Option<Vec<String>>,
    /// A reach-out: show it at once, prominently.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub urgent: bool,
}

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
    pub kind: &'static str,
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
    Dropped(String),
    /// Already held.
    Duplicate,
    /// Cannot be judged yet (unknown author or key epoch): not stored, sync will bring it back.
    Later(String),
    /// Invalid: not stored, not forwarded.
    Rejected(String),
}

struct CircleState {
    genesis: Genesis,
    genesis_wire: Vec<u8>,
    me: MemberSecret,
    keys: BTreeMap<u64, CircleKey>,
    ops: Vec<OpEntry>,
    members: Membership,
}

impl CircleState {
    fn author_name(&self, key: &MemberKey) -> String {
        self.members
            .get(key)
            .map(|m| m.name.clone())
            .or_else(|| self.members.departed(key).map(|d| d.name.clone()))
            .unwrap_or_else(|| format!("member {}", key.short()))
    }

    fn standing(&self) -> &'static str {
        let me = self.me.public();
        match (self.members.get(&me), self.members.departed(&me)) {
            (Some(m), _) => m.role.as_str(),
            (None, Some(d)) if d.by == me => "left",
            (None, Some(_)) => "removed",
            (None, None) => "joining",
        }
    }

    /// The member key of `me` if still a member, or why not.
    fn check_member(&self) -> Result<MemberKey> {
        let me = self.me.public();
        if self.members.contains(&me) {
            return Ok(me);
        }
        Err(Error::Invalid(match self.standing() {
            "left" => format!(
                "you left '{}': nothing can be sent there",
                self.members.name
            ),
            "removed" => format!(
                "you were removed from '{}': nothing can be sent there",
                self.members.name
            ),
            _ => format!("you are not a member of '{}'", self.members.name),
        }))
    }

    /// Whether this node still talks to the circle: its member is in it, or left it.
    fn takes_part(&self) -> bool {
        matches!(self.standing(), "admin" | "member" | "left")
    }

    fn rederive(&mut self) {
        self.members = Membership::derive(&self.genesis, &self.ops);
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
}

/// The circles of one node. Cheap to clone.
#[derive(Clone)]
pub struct Circles {
    inner: Arc<Inner>,
}

fn poisoned<T>(_: T) -> Error {
    Error::Refused("internal state was poisoned by an earlier failure".into())
}

impl Circles {
    /// Loads every circle from the store.
    pub fn load(store: Store) -> Result<Circles> {
        let node = libp2p::identity::Keypair::from_protobuf_encoding(&store.node_key()?)
            .map_err(|e| Error::Refused(format!("the node key does not decode: {e}")))?
            .public()
            .to_peer_id()
            .to_bytes();
        let mut state = BTreeMap::new();
        for (id, record) in store.circles()? {
            let genesis = Genesis::open(&record.genesis)?;
            let me = MemberSecret::from_bytes(&record.me)?;
            let keys = store.keys(&id)?.into_iter().collect::<BTreeMap<_, _>>();
            if keys.is_empty() {
                return Err(Error::Refused(format!("circle {} has no key", id.short())));
            }
            let ops = store.ops(&id)?;
            let members = Membership::derive(&genesis, &ops);
            state.insert(
                id,
                CircleState {
                    genesis,
                    genesis_wire: record.genesis.clone(),
                    me,
                    keys,
                    ops,
                    members,
                },
            );
        }
        Ok(Circles {
            inner: Arc::new(Inner {
                store,
                node,
                state: RwLock::new(state),
                writer: Mutex::new(()),
                clocks: Mutex::new(()),
                arrivals: watch::channel(0).0,
                news: tokio::sync::broadcast::channel(NEWS_CAPACITY).0,
                membership: watch::channel(0).0,
                known_records: Mutex::new(HashSet::new()),
            }),
        })
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

    /// One message as its feed shows it, if it is held and shown.
    pub fn feed_item(&self, circle: &CircleId, id: &circle_crypto::MessageId) -> Option<FeedItem> {
        let message = self.message(circle, id).ok().flatten()?;
        self.with_circle(circle, |c| Ok(feed::item(c, circle, &message)))
            .ok()
            .flatten()
    }

    fn tell(&self, circle: &CircleId, envelope: &Envelope, kind: &'static str) {
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

    /// Finds a circle by id or by a unique name.
    pub fn resolve(&self, text: &str) -> Result<CircleId> {
        let text = text.trim();
        self.read(|state| {
            if let Ok(id) = text.parse::<CircleId>()
                && state.contains_key(&id)
            {
                return Ok(id);
            }
            let named: Vec<_> = state
                .iter()
                .filter(|(_, c)| c.members.name == text || c.genesis.name == text)
                .map(|(id, _)| *id)
                .collect();
            match named.as_slice() {
                [one] => Ok(*one),
                [] => Err(Error::UnknownCircle(text.to_string())),
                _ => Err(Error::AmbiguousCircle(text.to_string())),
            }
        })?
    }

    /// Finds a current member of `circle` by key or by a name unique in that circle.
    pub fn resolve_member(&self, circle: &CircleId, text: &str) -> Result<MemberKey> {
        let text = text.trim();
        self.with_circle(circle, |c| {
            if let Ok(key) = text.parse::<MemberKey>() {
                if c.members.contains(&key) {
                    return Ok(key);
                }
                return Err(Error::Invalid(format!(
                    "{} is not a member of '{}'",
                    key.short(),
                    c.members.name
                )));
            }
            let named: Vec<_> = c.members.iter().filter(|m| m.name == text).collect();
            match named.as_slice() {
                [one] => Ok(one.key),
                [] => Err(Error::Invalid(format!(
                    "no member of '{}' is called '{text}': see `circle members '{}'`",
                    c.members.name, c.members.name
                ))),
                _ => Err(Error::Invalid(format!(
                    "more than one member of '{}' is called '{text}': use their member key \
                     (see `circle members '{}' --json`)",
                    c.members.name, c.members.name
                ))),
            }
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

    /// Whether `node` (peer id bytes) is the node of a current member of `circle`.
    pub fn is_member_node(&self, circle: &CircleId, node: &[u8]) -> bool {
        self.read(|s| {
            s.get(circle)
                .is_some_and(|c| c.members.iter().any(|m| m.node == node))
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
                    standing: c.standing().to_string(),
                    invites: c.members.policy.as_str().to_string(),
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
                    role: m.role.as_str().to_string(),
                    me: m.key == me,
                })
                .collect();
            list.sort_by(|a, b| (a.role != "admin", &a.name).cmp(&(b.role != "admin", &b.name)));
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
        let members = Membership::derive(&genesis, &[]);
        self.inner.state.write().map_err(poisoned)?.insert(
            id,
            CircleState {
                genesis,
                genesis_wire,
                me,
                keys: keys.into_iter().collect(),
                ops: Vec::new(),
                members,
            },
        );
        self.inner.membership.send_modify(|n| *n += 1);
        Ok(id)
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

    fn feed_items(
        &self,
        circle: &CircleId,
        arrivals: Vec<crate::store::Arrival>,
    ) -> Result<Vec<FeedItem>> {
        self.with_circle(circle, |c| {
            Ok(views::decrypt(c, circle, arrivals)
                .iter()
                .filter_map(|m| feed::item(c, circle, m))
                .collect())
        })
    }

    /// Whether this node is in `circle`.
    pub fn contains(&self, circle: &CircleId) -> bool {
        self.read(|s| s.contains_key(circle)).unwrap_or(false)
    }
}
