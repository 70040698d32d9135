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
    MemberSecret, MessageId, open_sealed, seal_to,
};
use libp2p::PeerId;
use tokio::sync::watch;

use crate::{
    content::{Body, Content, check_text},
    error::{Error, Result},
    membership::{Admission, Genesis, MAX_NAME_CHARS, MemberSet, Profile, Role, check_name},
    protocol::{JoinRequest, JoinResponse, SealedKey, SyncRequest, SyncResponse, Welcome},
    store::{CircleRecord, InviteRecord, Store, Stored},
    time::now_ms,
};

/// Most envelopes in one sync page.
pub const SYNC_PAGE_MESSAGES: usize = 2000;
/// Most envelope bytes in one sync page (the response limit is 4 MiB).
pub const SYNC_PAGE_BYTES: usize = 2 * 1024 * 1024;

const SYNC_PROOF_DOMAIN: &str = "circle/sync-proof/v1";
const KEY_INFO: &[u8] = b"circle/circle-key/v1";

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
            store.put_admission(&id, &a.profile.member, wire)?;
            verified.push(a);
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
        store.put_envelope(&envelope)?;
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

    /// Checks and stores an envelope from another node.
    pub fn ingest(&self, envelope: &Envelope) -> Result<Ingest> {
        let h = envelope.header().clone();
        let verdict = {
            let state = self.inner.state.read().map_err(poisoned)?;
            let Some(c) = state.get(&h.circle) else {
                return Ok(Ingest::Rejected("not a circle of this node".into()));
            };
            if !c.members.contains(&h.author) {
                return Ok(Ingest::Later(format!(
                    "author {} is not a member (yet)",
                    h.author.short()
                )));
            }
            let Some(key) = c.keys.get(&h.epoch) else {
                return Ok(Ingest::Later(format!("key epoch {} not held", h.epoch)));
            };
            let plain = match envelope.open(key) {
                Ok(p) => p,
                Err(_) => {
                    return Ok(Ingest::Rejected(
                        "does not decrypt under the circle key".into(),
                    ));
                }
            };
            match Content::from_bytes(&plain) {
                Ok(content) => content,
                Err(e) => return Ok(Ingest::Rejected(e.to_string())),
            }
        };
        if let Body::Admit { admission } = &verdict.body {
            match Admission::open(&h.circle, admission) {
                Ok(a) if a.admitted_by == h.author => {
                    self.learn_admission(&h.circle, admission, a)?;
                }
                Ok(_) => return Ok(Ingest::Rejected("admission signed by someone else".into())),
                Err(e) => return Ok(Ingest::Rejected(e.to_string())),
            }
        }
        if self.store().has_message(&envelope.id())? {
            return Ok(Ingest::Duplicate);
        }
        match self.store().put_envelope(envelope)? {
            Stored::New => {
                self.inner.arrivals.send_modify(|n| *n += 1);
                Ok(Ingest::New)
            }
            Stored::Duplicate => Ok(Ingest::Duplicate),
            Stored::Conflict => Ok(Ingest::Rejected(format!(
                "author {} already has a different message with seq {}",
                h.author.short(),
                h.seq
            ))),
        }
    }

    fn learn_admission(&self, circle: &CircleId, wire: &[u8], a: Admission) -> Result<bool> {
        let mut state = self.inner.state.write().map_err(poisoned)?;
        let Some(c) = state.get_mut(circle) else {
            return Ok(false);
        };
        if c.admissions
            .iter()
            .any(|x| x.profile.member == a.profile.member)
        {
            return Ok(false);
        }
        self.store()
            .put_admission(circle, &a.profile.member, wire)?;
        c.admissions.push(a);
        c.members = MemberSet::derive(&c.genesis, &c.admissions);
        Ok(true)
    }

    /// The feed of a circle after `cursor` (0 for everything), oldest first, at most `limit`
    /// of the newest.
    pub fn feed(
        &self,
        circle: &CircleId,
        cursor: u64,
        limit: Option<usize>,
    ) -> Result<Vec<FeedItem>> {
        let arrivals: Vec<_> = self
            .store()
            .arrivals_after(circle, cursor)
            .collect::<Result<_>>()?;
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
                        Ok(a) => format!("{} joined the circle", a.profile.name),
                        Err(_) => continue,
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

    /// Creates an invite to `circle` that the node at `addrs` will honour.
    pub fn create_invite(
        &self,
        circle: &CircleId,
        expires_at: u64,
        uses: u32,
        addrs: Vec<String>,
    ) -> Result<Invite> {
        if uses == 0 {
            return Err(Error::Invalid("an invite needs at least one use".into()));
        }
        let invite = self.with_circle(circle, |c| {
            if c.members.get(&c.me.public()).map(|m| m.role) != Some(Role::Admin) {
                return Err(Error::Invalid(
                    "only the circle's admins can invite in this version: ask an admin for an invite".into(),
                ));
            }
            Ok(Invite::create(&c.me, *circle, &c.genesis.name, expires_at, addrs))
        })?;
        self.store().put_invite(
            &invite.id(),
            &InviteRecord {
                circle: *circle,
                secret: invite.secret.to_bytes().to_vec(),
                expires_at,
                uses_left: uses,
                admitted: Vec::new(),
            },
        )?;
        self.store().flush()?;
        Ok(invite)
    }

    /// Builds a join request for `invite` with a fresh member secret.
    pub fn join_request(invite: &Invite, me: &MemberSecret, nick: &str) -> Result<JoinRequest> {
        let profile = Profile::sign(me, invite.circle, nick)?;
        let proof = invite.secret.proof(&profile).to_vec();
        Ok(JoinRequest {
            invite: invite.id(),
            profile,
            proof,
        })
    }

    /// The default nickname for joining, checked.
    pub fn join_nick(&self, nick: Option<&str>) -> Result<String> {
        self.nick_or(nick)
    }

    /// Answers a join request. On admission, also returns the admit envelope to gossip.
    pub fn admit(
        &self,
        req: &JoinRequest,
        now_secs: u64,
        peers: Vec<String>,
    ) -> Result<(JoinResponse, Option<Envelope>)> {
        let refuse = |reason: &str| {
            Ok((
                JoinResponse::Refused {
                    reason: reason.to_string(),
                },
                None,
            ))
        };
        let Some(mut record) = self.store().invite(&req.invite)? else {
            return refuse(
                "this invite is not known here: it may have been issued by another node",
            );
        };
        let secret = InviteSecret::from_bytes(&record.secret)?;
        if !secret.verify_proof(&req.profile, &req.proof) {
            return refuse("the invite's proof does not match");
        }
        let profile = match Profile::open(&req.profile) {
            Ok(p) if p.circle == record.circle => p,
            Ok(_) => return refuse("the join request is for another circle"),
            Err(e) => return refuse(&e.to_string()),
        };
        let circle = record.circle;
        let again = record.admitted.contains(&profile.member);
        if !again {
            if now_secs >= record.expires_at {
                return refuse("this invite has expired: ask for a new one");
            }
            if record.uses_left == 0 {
                return refuse("this invite has already been used: ask for a new one");
            }
        }
        let envelope = if again {
            None
        } else {
            let wire = self.with_circle(&circle, |c| {
                Ok(Admission::sign(
                    &c.me,
                    circle,
                    req.profile.clone(),
                    req.invite,
                    now_ms(),
                ))
            })?;
            let a = Admission::open(&circle, &wire)?;
            self.learn_admission(&circle, &wire, a)?;
            record.uses_left -= 1;
            record.admitted.push(profile.member);
            self.store().put_invite(&req.invite, &record)?;
            Some(self.post(&circle, Body::Admit { admission: wire })?)
        };
        let welcome = self.with_circle(&circle, |c| {
            let mut keys = Vec::new();
            for (epoch, key) in &c.keys {
                let info = key_info(&circle, *epoch);
                let sealed = seal_to(
                    &profile.exchange,
                    &info,
                    &profile.member.to_bytes(),
                    key.to_bytes().as_slice(),
                )?;
                keys.push(SealedKey {
                    epoch: *epoch,
                    sealed,
                });
            }
            Ok(Welcome {
                genesis: c.genesis_wire.clone(),
                admissions: self.store().admissions(&circle)?,
                keys,
                peers,
            })
        })?;
        Ok((JoinResponse::Welcome(welcome), envelope))
    }

    /// Takes in a welcome for the invite this node redeemed with `me`.
    pub fn accept_welcome(
        &self,
        invite: &Invite,
        me: MemberSecret,
        welcome: &Welcome,
    ) -> Result<CircleId> {
        let genesis = Genesis::open(&welcome.genesis)?;
        if genesis.circle != invite.circle {
            return Err(Error::Refused(
                "the inviter answered for another circle".into(),
            ));
        }
        let mut verified = Vec::new();
        for wire in &welcome.admissions {
            verified.push(Admission::open(&invite.circle, wire)?);
        }
        let members = MemberSet::derive(&genesis, &verified);
        if !members.contains(&me.public()) {
            return Err(Error::Refused(
                "the inviter's answer does not admit us".into(),
            ));
        }
        let mut keys = Vec::new();
        for k in &welcome.keys {
            let info = key_info(&invite.circle, k.epoch);
            let bytes = open_sealed(&me, &info, &me.public().to_bytes(), &k.sealed)?;
            keys.push((k.epoch, CircleKey::from_bytes(&bytes)?));
        }
        if keys.is_empty() {
            return Err(Error::Refused("the inviter sent no circle key".into()));
        }
        if self.read(|s| s.contains_key(&invite.circle))? {
            return Err(Error::Invalid("this node is already in that circle".into()));
        }
        self.insert_circle(
            welcome.genesis.clone(),
            me,
            keys,
            welcome.admissions.clone(),
        )
    }

    /// Whether this node is in `circle`.
    pub fn contains(&self, circle: &CircleId) -> bool {
        self.read(|s| s.contains_key(circle)).unwrap_or(false)
    }

    /// A sync request for `circle`, from this node (`local`) to `remote`.
    pub fn sync_request(
        &self,
        circle: &CircleId,
        local: &PeerId,
        remote: &PeerId,
    ) -> Result<SyncRequest> {
        let heads = self.store().heads(circle)?;
        self.with_circle(circle, |c| {
            let proof =
                c.me.sign(SYNC_PROOF_DOMAIN, &proof_message(circle, local, remote));
            Ok(SyncRequest {
                circle: *circle,
                member: c.me.public(),
                proof,
                heads,
            })
        })
    }

    /// Answers a sync request from `remote` (the connection's peer) to this node (`local`).
    pub fn answer_sync(
        &self,
        req: &SyncRequest,
        remote: &PeerId,
        local: &PeerId,
        peers: Vec<String>,
    ) -> Result<SyncResponse> {
        let refuse = |reason: &str| {
            Ok(SyncResponse::Refused {
                reason: reason.into(),
            })
        };
        let allowed = self.read(|s| s.get(&req.circle).map(|c| c.members.contains(&req.member)))?;
        match allowed {
            None => return refuse("not a circle of this node"),
            Some(false) => return refuse("not a member of this circle"),
            Some(true) => {}
        }
        if req
            .member
            .verify(
                SYNC_PROOF_DOMAIN,
                &proof_message(&req.circle, remote, local),
                &req.proof,
            )
            .is_err()
        {
            return refuse("membership proof does not verify for this connection");
        }
        let theirs: BTreeMap<MemberKey, u64> = req.heads.iter().copied().collect();
        let (mut envelopes, mut bytes, mut more) = (Vec::new(), 0usize, false);
        'authors: for (author, mine) in self.store().heads(&req.circle)? {
            let known = theirs.get(&author).copied().unwrap_or(0);
            if mine <= known {
                continue;
            }
            for env in self.store().envelopes_after(&req.circle, &author, known) {
                let env = env?;
                if envelopes.len() >= SYNC_PAGE_MESSAGES || bytes + env.len() > SYNC_PAGE_BYTES {
                    more = true;
                    break 'authors;
                }
                bytes += env.len();
                envelopes.push(env);
            }
        }
        Ok(SyncResponse::Page {
            admissions: self.store().admissions(&req.circle)?,
            envelopes,
            more,
            peers,
        })
    }

    /// Takes in one sync page: admissions first, then envelopes. Returns how many were new.
    pub fn apply_page(
        &self,
        circle: &CircleId,
        admissions: &[Vec<u8>],
        envelopes: &[Vec<u8>],
    ) -> Result<usize> {
        for wire in admissions {
            if let Ok(a) = Admission::open(circle, wire) {
                self.learn_admission(circle, wire, a)?;
            }
        }
        let mut new = 0;
        let mut later = Vec::new();
        for bytes in envelopes {
            let env = match Envelope::from_bytes(bytes) {
                Ok(env) if env.header().circle == *circle => env,
                Ok(_) => {
                    tracing::debug!("synced envelope for another circle dropped");
                    continue;
                }
                Err(e) => {
                    tracing::debug!("synced envelope dropped: {e}");
                    continue;
                }
            };
            match self.ingest(&env)? {
                Ingest::New => new += 1,
                Ingest::Later(_) => later.push(env),
                Ingest::Duplicate => {}
                Ingest::Rejected(why) => tracing::debug!("synced envelope rejected: {why}"),
            }
        }
        // An admission carried inside this page may have made a later author a member.
        for env in later {
            if self.ingest(&env)? == Ingest::New {
                new += 1;
            }
        }
        if new > 0 {
            self.store().flush()?;
        }
        Ok(new)
    }

    /// Whether the node holds a message.
    pub fn has_message(&self, id: &MessageId) -> Result<bool> {
        self.store().has_message(id)
    }
}

fn key_info(circle: &CircleId, epoch: u64) -> Vec<u8> {
    let mut info = KEY_INFO.to_vec();
    info.extend_from_slice(circle.as_bytes());
    info.extend_from_slice(&epoch.to_be_bytes());
    info
}

fn proof_message(circle: &CircleId, requester: &PeerId, responder: &PeerId) -> Vec<u8> {
    let mut m = circle.as_bytes().to_vec();
    for p in [requester, responder] {
        let b = p.to_bytes();
        m.push(b.len() as u8);
        m.extend_from_slice(&b);
    }
    m
}
