//! The circles this node belongs to: the store plus what is derived from it (members, keys).
//!
//! Both the running node and offline CLI commands go through [`Circles`], so the same checks
//! apply however a message is written or received. Nothing reaches the store before it has
//! passed every check: decodes, strict author signature, author is a member, key epoch known,
//! decrypts, content decodes.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, RwLock},
};

use circle_crypto::{
    CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, Invite, InviteSecret, MemberKey,
    MemberSecret,
};
use tokio::sync::watch;

use crate::{
    content::{Body, Content, check_text},
    error::{Error, Result},
    membership::{
        Admission, Genesis, MAX_NAME_CHARS, MemberSet, Profile, Role, check_name, merge_admission,
    },
    protocol::{
        JoinRequest, JoinResponse, SealedKey, SyncPage, SyncRequest, SyncResponse, Welcome,
    },
    store::{CircleRecord, InviteRecord, Store, Stored},
    time::now_ms,
};

mod ingest;
mod join;
mod sync;

pub use join::seal_key_for;
pub use sync::{SYNC_PAGE_BYTES, SYNC_PAGE_MESSAGES};

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
    /// `share` or `joined`.
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
}

/// What became of an envelope from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingest {
    /// Verified and stored.
    New,
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
    admissions: Vec<Admission>,
    members: MemberSet,
}

impl CircleState {
    fn current_key(&self) -> (u64, &CircleKey) {
        let (epoch, key) = self.keys.iter().next_back().expect("a circle has a key");
        (*epoch, key)
    }

    fn author_name(&self, key: &MemberKey) -> String {
        self.members
            .get(key)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| format!("member {}", key.short()))
    }
}

struct Inner {
    store: Store,
    state: RwLock<BTreeMap<CircleId, CircleState>>,
    /// Serialises this node's own writes, so its sequence numbers never fork.
    writer: Mutex<()>,
    arrivals: watch::Sender<u64>,
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
        let mut state = BTreeMap::new();
        for (id, record) in store.circles()? {
            let genesis = Genesis::open(&record.genesis)?;
            let me = MemberSecret::from_bytes(&record.me)?;
            let keys = store.keys(&id)?.into_iter().collect::<BTreeMap<_, _>>();
            if keys.is_empty() {
                return Err(Error::Refused(format!("circle {} has no key", id.short())));
            }
            let admissions = store
                .admissions(&id)?
                .iter()
                .filter_map(|w| Admission::open(&id, w).ok())
                .collect::<Vec<_>>();
            let members = MemberSet::derive(&genesis, &admissions);
            state.insert(
                id,
                CircleState {
                    genesis,
                    genesis_wire: record.genesis.clone(),
                    me,
                    keys,
                    admissions,
                    members,
                },
            );
        }
        Ok(Circles {
            inner: Arc::new(Inner {
                store,
                state: RwLock::new(state),
                writer: Mutex::new(()),
                arrivals: watch::channel(0).0,
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
                .filter(|(_, c)| c.genesis.name == text)
                .map(|(id, _)| *id)
                .collect();
            match named.as_slice() {
                [one] => Ok(*one),
                [] => Err(Error::UnknownCircle(text.to_string())),
                _ => Err(Error::AmbiguousCircle(text.to_string())),
            }
        })?
    }

    /// Every circle's id and gossip topic.
    pub fn topics(&self) -> Result<Vec<(CircleId, String)>> {
        self.read(|s| {
            s.keys()
                .map(|id| (*id, circle_crypto::topic_for(id)))
                .collect()
        })
    }

    /// The circles, by name.
    pub fn list(&self) -> Result<Vec<CircleInfo>> {
        let mut list = self.read(|s| {
            s.iter()
                .map(|(id, c)| CircleInfo {
                    id: id.to_string(),
                    name: c.genesis.name.clone(),
                    members: c.members.len(),
                    me: c.me.public().to_string(),
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

    fn insert_circle(
        &self,
        genesis_wire: Vec<u8>,
        me: MemberSecret,
        keys: Vec<(u64, CircleKey)>,
        admissions: Vec<Vec<u8>>,
    ) -> Result<CircleId> {
        let genesis = Genesis::open(&genesis_wire)?;
        let id = genesis.circle;
        let store = self.store();
        for (epoch, key) in &keys {
            store.put_key(&id, *epoch, key)?;
        }
        let mut verified = Vec::new();
        for wire in &admissions {
            let a = Admission::open(&id, wire)?;
            let member = a.profile.member;
            let members = MemberSet::derive(&genesis, &verified);
            if merge_admission(&members, &mut verified, a) {
                store.put_admission(&id, &member, wire)?;
            }
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
        let members = MemberSet::derive(&genesis, &verified);
        self.inner.state.write().map_err(poisoned)?.insert(
            id,
            CircleState {
                genesis,
                genesis_wire,
                me,
                keys: keys.into_iter().collect(),
                admissions: verified,
                members,
            },
        );
        Ok(id)
    }

    /// Creates a circle with this node's member as founder and first admin.
    pub fn create(&self, name: &str, nick: Option<&str>) -> Result<CircleId> {
        let nick = self.nick_or(nick)?;
        let me = MemberSecret::generate();
        let genesis = Genesis::create(&me, name, &nick, now_ms())?;
        self.insert_circle(genesis, me, vec![(0, CircleKey::generate())], Vec::new())
    }

    /// Writes a message by this node's member, durably, before returning it for gossip.
    fn post(&self, circle: &CircleId, body: Body) -> Result<Envelope> {
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        let store = self.store();
        let envelope = self.with_circle(circle, |c| {
            let me = c.me.public();
            let seq = store.head(circle, &me)? + 1;
            let prev = match seq {
                1 => None,
                _ => store.envelope_at(circle, &me, seq - 1)?.map(|e| e.id()),
            };
            let (epoch, key) = c.current_key();
            let header = Header {
                version: ENVELOPE_VERSION,
                circle: *circle,
                epoch,
                author: me,
                seq,
                prev,
            };
            let content = Content {
                sent_at: now_ms(),
                body,
            };
            Ok(Envelope::seal(&c.me, key, header, &content.to_bytes())?)
        })?;
        match store.put_envelope(&envelope)? {
            Stored::New => {}
            // Never report as saved what the store did not take.
            Stored::Duplicate | Stored::Conflict => {
                return Err(Error::Refused(format!(
                    "this node already holds another message numbered {} by you: nothing was \
                     saved (was the store restored from a backup?)",
                    envelope.header().seq
                )));
            }
        }
        store.flush()?;
        self.inner.arrivals.send_modify(|n| *n += 1);
        Ok(envelope)
    }

    /// Shares text with a circle. When this returns, the message is on disk.
    pub fn share(&self, circle: &CircleId, text: &str) -> Result<Envelope> {
        check_text(text)?;
        self.post(
            circle,
            Body::Share {
                text: text.to_string(),
            },
        )
    }

    /// The feed of a circle after `cursor` (0 for everything), oldest first, at most `limit`
    /// of the newest.
    pub fn feed(
        &self,
        circle: &CircleId,
        cursor: u64,
        limit: Option<usize>,
    ) -> Result<Vec<FeedItem>> {
        let arrivals = self.store().arrivals_after(circle, cursor);
        // With a limit, only the newest arrivals are read and decrypted, not the whole history.
        let mut arrivals: Vec<_> = match limit {
            Some(n) => arrivals.rev().take(n).collect::<Result<_>>()?,
            None => arrivals.collect::<Result<_>>()?,
        };
        if limit.is_some() {
            arrivals.reverse();
        }
        let mut items = self.with_circle(circle, |c| {
            let mut items = Vec::with_capacity(arrivals.len());
            for a in arrivals {
                let h = a.envelope.header();
                let Some(key) = c.keys.get(&h.epoch) else {
                    continue;
                };
                let Ok(plain) = a.envelope.open(key) else {
                    continue;
                };
                let Ok(content) = Content::from_bytes(&plain) else {
                    continue;
                };
                let text = match &content.body {
                    Body::Share { text } => text.clone(),
                    Body::Admit { admission } => match Admission::open(circle, admission) {
                        // Only a join that really counted is shown.
                        Ok(a) if c.members.contains(&a.profile.member) => {
                            format!("{} joined the circle", c.author_name(&a.profile.member))
                        }
                        _ => continue,
                    },
                };
                items.push(FeedItem {
                    id: a.envelope.id().to_string(),
                    circle: circle.to_string(),
                    author: h.author.to_string(),
                    author_name: c.author_name(&h.author),
                    kind: content.body.kind().to_string(),
                    text,
                    sent_at: crate::time::rfc3339(content.sent_at),
                    sent_at_ms: content.sent_at,
                    cursor: a.cursor,
                });
            }
            Ok(items)
        })?;
        items.sort_by(|a, b| (a.sent_at_ms, &a.id).cmp(&(b.sent_at_ms, &b.id)));
        if let Some(limit) = limit {
            let skip = items.len().saturating_sub(limit);
            items.drain(..skip);
        }
        Ok(items)
    }

    /// Whether this node is in `circle`.
    pub fn contains(&self, circle: &CircleId) -> bool {
        self.read(|s| s.contains_key(circle)).unwrap_or(false)
    }
}
