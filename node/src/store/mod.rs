//! The node's sled store. Nothing in it is plaintext circle content.
//!
//! - Envelopes are stored exactly as they travel: sealed with the circle key, signed.
//! - Every other record's value that says anything about a circle or a person (circle records
//!   with the member's own secret key, circle keys, membership operations with nicknames,
//!   pending joins, peer addresses) is sealed under the node's data key, with the record's tree and key
//!   as associated data so records cannot be swapped. The data key itself is sealed under a key
//!   derived with argon2id from the passphrase.
//! - Record keys are not sealed: they are random or public identifiers (circle ids, member
//!   keys, sequence numbers, message, invite and peer ids), so the store reveals how many
//!   circles, members and messages there are, but no names and no content.
//! - Integer parts of keys are big-endian, so ranges scan in order.
//!
//! Each incoming message is written in one multi-tree transaction (message, id index, author
//! head, arrival order, and for a membership operation its record; for another version of a
//! message, the version and its flag), so a crash never leaves half a message. Chains, forks
//! and gaps: see the `chain` module.

mod addresses;
mod chain;
mod gone;
mod keys;
mod private;

use std::path::Path;

use circle_crypto::{
    CircleId, CircleKey, Envelope, InviteId, MemberKey, MessageId, PassphraseSalt, StoreKey,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::membership::{Op, OpEntry};
use keys::{author_key, message_key, seq_of};

pub use chain::{ForkedSeq, MAX_FORK_VERSIONS};
pub use gone::{Gone, GoneRecord};

/// Version of the on-disk layout.
pub const STORE_FORMAT: u8 = 2;

/// What a circle record holds (sealed at rest).
#[derive(Serialize, Deserialize)]
pub struct CircleRecord {
    /// Wire bytes of the genesis record.
    pub genesis: Vec<u8>,
    /// This node's member secret in the circle (64 bytes).
    pub me: Vec<u8>,
    /// When this node joined or created it (unix ms).
    pub joined_at: u64,
}

impl OpRecord {
    /// The record to keep beside a message, if its content is a membership operation.
    pub fn of(content: &crate::content::Content, id: MessageId) -> Option<OpRecord> {
        use crate::content::Body;
        let (op, seen) = match &content.body {
            Body::Op(op) => (op, Vec::new()),
            Body::Acked(a) => (&a.op, a.seen.clone()),
            _ => return None,
        };
        Some(OpRecord {
            at: content.sent_at,
            id,
            op: op.clone(),
            seen,
        })
    }
}

/// How [`OpRecord`] was kept before membership version 4 (read, never written).
#[derive(Deserialize)]
struct OpRecordV3 {
    at: u64,
    id: MessageId,
    op: Op,
}

impl Drop for CircleRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.me);
    }
}

/// A membership operation as kept beside its message (sealed at rest), so a circle's
/// membership is derived at start-up without decrypting its whole history.
#[derive(Serialize, Deserialize)]
pub struct OpRecord {
    /// When its author sent it (unix ms).
    pub at: u64,
    /// The message that carried it.
    pub id: MessageId,
    /// The operation.
    pub op: Op,
    /// What its author had seen ([`crate::membership::Acked::seen`]; empty before
    /// membership version 4).
    pub seen: Vec<(MemberKey, u64)>,
}

/// Result of storing an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// New in its author's chain: written.
    New,
    /// Already held (as the chain's message or as another version).
    Duplicate,
    /// Another version of a message already held (same author and seq, another id): kept
    /// beside it and flagged; any membership operation in it is not recorded.
    Fork,
    /// Another version of a message of which [`MAX_FORK_VERSIONS`] are held already: not
    /// written.
    TooManyVersions,
    /// This node's own message, numbered like one already held: not written
    /// ([`Store::put_own_envelope`] only).
    Conflict,
}

/// One stored envelope with its position in arrival order.
pub struct Arrival {
    /// Position in this node's arrival order (a cursor for feeds).
    pub cursor: u64,
    /// The message's id.
    pub id: MessageId,
    /// Its author.
    pub author: MemberKey,
    /// The envelope, unless its content is gone.
    pub envelope: Option<Envelope>,
    /// Why its content is gone, if it is.
    pub gone: Option<GoneRecord>,
    /// Whether it is another version of its author's message `seq`, not the chain's.
    pub fork: bool,
    /// Its number in its author's chain.
    pub seq: u64,
}

/// Handle to the store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    meta: sled::Tree,
    circles: sled::Tree,
    keys: sled::Tree,
    ops: sled::Tree,
    messages: sled::Tree,
    ids: sled::Tree,
    heads: sled::Tree,
    arrivals: sled::Tree,
    peers: sled::Tree,
    joins: sled::Tree,
    /// Other versions of messages: circle || author || seq || id -> envelope.
    forks: sled::Tree,
    /// Numbers with more than one version: circle || author || seq -> what is known of them.
    forked: sled::Tree,
    /// Messages whose content is gone (withdrawn, expired): their key -> why.
    gone: sled::Tree,
    /// Messages that expire: their key -> when.
    expiries: sled::Tree,
    /// Withdrawals whose message has not arrived: its key -> its id.
    withdrawals: sled::Tree,
    /// What the person keeps to themselves (clocks, check-ins for "me", settings).
    private: sled::Tree,
    data_key: StoreKey,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

const DATA_KEY_AAD: &[u8] = b"circle/data-key/v1";

impl Store {
    /// Whether a store exists at `path`.
    pub fn exists(path: &Path) -> bool {
        path.join("conf").exists()
    }

    /// Creates a new store protected by `passphrase`, holding the node's network key.
    pub fn create(
        db: sled::Db,
        passphrase: &[u8],
        node_key: &[u8],
        peer_id: &str,
    ) -> Result<Store> {
        let meta = db.open_tree("meta")?;
        if meta.get("format")?.is_some() {
            return Err(Error::AlreadyInitialized("this store".into()));
        }
        let salt = PassphraseSalt::generate();
        let wrap = StoreKey::from_passphrase(passphrase, &salt)?;
        let data_key = StoreKey::generate();
        meta.insert("salt", salt.as_bytes().as_slice())?;
        meta.insert(
            "data_key",
            wrap.seal(DATA_KEY_AAD, data_key.to_bytes().as_slice()),
        )?;
        meta.insert("peer_id", peer_id.as_bytes())?;
        let store = Store::with_key(db, data_key)?;
        store.put_sealed(&store.meta, b"node_key", node_key)?;
        store.meta.insert("format", &[STORE_FORMAT])?;
        store.flush()?;
        Ok(store)
    }

    /// Opens an existing store with `passphrase`.
    pub fn open(db: sled::Db, passphrase: &[u8]) -> Result<Store> {
        let meta = db.open_tree("meta")?;
        match meta.get("format")? {
            Some(v) if v.as_ref() == [STORE_FORMAT] => {}
            Some(v) => {
                return Err(Error::Refused(format!(
                    "store format {:?} is not supported by this version",
                    v.as_ref()
                )));
            }
            None => return Err(Error::NotInitialized("this home".into())),
        }
        let salt = meta
            .get("salt")?
            .ok_or_else(|| Error::Refused("store has no salt".into()))?;
        let salt = PassphraseSalt::from_bytes(&salt)?;
        let wrap = StoreKey::from_passphrase(passphrase, &salt)?;
        let sealed = meta
            .get("data_key")?
            .ok_or_else(|| Error::Refused("store has no data key".into()))?;
        let data_key = wrap
            .open(DATA_KEY_AAD, &sealed)
            .map_err(|_| Error::WrongPassphrase)?;
        let data_key = StoreKey::from_bytes(&data_key)?;
        Store::with_key(db, data_key)
    }

    fn with_key(db: sled::Db, data_key: StoreKey) -> Result<Store> {
        Ok(Store {
            meta: db.open_tree("meta")?,
            circles: db.open_tree("circles")?,
            keys: db.open_tree("keys")?,
            ops: db.open_tree("ops")?,
            messages: db.open_tree("messages")?,
            ids: db.open_tree("ids")?,
            heads: db.open_tree("heads")?,
            arrivals: db.open_tree("arrivals")?,
            peers: db.open_tree("peers")?,
            joins: db.open_tree("joins")?,
            forks: db.open_tree("forks")?,
            forked: db.open_tree("forked")?,
            gone: db.open_tree("gone")?,
            expiries: db.open_tree("expiries")?,
            withdrawals: db.open_tree("withdrawals")?,
            private: db.open_tree("private")?,
            db,
            data_key,
        })
    }

    /// Makes everything written so far durable against a process crash.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// Like [`Store::flush`], without blocking the async runtime.
    pub async fn flush_async(&self) -> Result<()> {
        self.db.flush_async().await?;
        Ok(())
    }

    fn aad(tree: &sled::Tree, key: &[u8]) -> Vec<u8> {
        let mut aad = tree.name().to_vec();
        aad.push(0);
        aad.extend_from_slice(key);
        aad
    }

    fn put_sealed(&self, tree: &sled::Tree, key: &[u8], value: &[u8]) -> Result<()> {
        tree.insert(key, self.data_key.seal(&Self::aad(tree, key), value))?;
        Ok(())
    }

    fn open_sealed(
        &self,
        tree: &sled::Tree,
        key: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.data_key.open(&Self::aad(tree, key), sealed)?)
    }

    fn get_sealed(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match tree.get(key)? {
            Some(sealed) => Ok(Some(self.open_sealed(tree, key, &sealed)?)),
            None => Ok(None),
        }
    }

    fn put_record<T: Serialize>(&self, tree: &sled::Tree, key: &[u8], value: &T) -> Result<()> {
        let bytes = Zeroizing::new(postcard::to_allocvec(value).expect("records always encode"));
        self.put_sealed(tree, key, &bytes)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
        postcard::from_bytes(bytes).map_err(|_| Error::Refused("a stored record is damaged".into()))
    }

    /// The node's network key (protobuf encoding of the libp2p keypair).
    pub fn node_key(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.get_sealed(&self.meta, b"node_key")?
            .ok_or_else(|| Error::Refused("store has no node key".into()))
    }

    /// The node's libp2p peer id as text (public; readable without the passphrase).
    pub fn peer_id_of(db: &sled::Db) -> Result<Option<String>> {
        let meta = db.open_tree("meta")?;
        Ok(meta
            .get("peer_id")?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// How many circles a store holds (readable without the passphrase).
    pub fn circle_count_of(db: &sled::Db) -> Result<usize> {
        Ok(db.open_tree("circles")?.len())
    }

    /// The default nickname used when creating or joining.
    pub fn nickname(&self) -> Result<Option<String>> {
        Ok(self
            .get_sealed(&self.meta, b"nick")?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Sets the default nickname.
    pub fn set_nickname(&self, nick: &str) -> Result<()> {
        self.put_sealed(&self.meta, b"nick", nick.as_bytes())
    }

    /// The port this node last got for a listen address given with port 0 (its text), so it
    /// asks for the same one again: the addresses in its invites stay good after a restart.
    pub fn listen_port(&self, asked: &str) -> Result<Option<u16>> {
        let key = [b"port:".as_slice(), asked.as_bytes()].concat();
        Ok(self
            .get_sealed(&self.meta, &key)?
            .and_then(|b| <[u8; 2]>::try_from(b.as_slice()).ok())
            .map(u16::from_be_bytes))
    }

    /// The member secrets this node had in `circle` before it came back under a new one
    /// (64 bytes each, oldest first): private messages sealed to them stay readable.
    pub fn former_secrets(&self, circle: &CircleId) -> Result<Vec<Vec<u8>>> {
        let key = [b"former:".as_slice(), circle.as_bytes()].concat();
        Ok(self
            .get_sealed(&self.meta, &key)?
            .map(|b| b.chunks_exact(64).map(<[u8]>::to_vec).collect())
            .unwrap_or_default())
    }

    /// Keeps a member secret this node had in `circle` (see [`Store::former_secrets`]).
    pub fn add_former_secret(&self, circle: &CircleId, secret: &[u8]) -> Result<()> {
        let key = [b"former:".as_slice(), circle.as_bytes()].concat();
        let mut all: Vec<u8> = self.former_secrets(circle)?.concat();
        all.extend_from_slice(secret);
        self.put_sealed(&self.meta, &key, &all)
    }

    /// Remembers the port this node got for a listen address given with port 0.
    pub fn set_listen_port(&self, asked: &str, port: u16) -> Result<()> {
        let key = [b"port:".as_slice(), asked.as_bytes()].concat();
        self.put_sealed(&self.meta, &key, &port.to_be_bytes())
    }

    /// Stores a circle with its first key and founding/joining records, atomically enough: the
    /// circle record is written last, so a crash before it leaves no visible circle.
    pub fn put_circle(&self, id: &CircleId, record: &CircleRecord) -> Result<()> {
        self.put_record(&self.circles, id.as_bytes(), record)
    }

    /// All circles with their records.
    pub fn circles(&self) -> Result<Vec<(CircleId, CircleRecord)>> {
        let mut out = Vec::new();
        for item in self.circles.iter() {
            let (k, v) = item?;
            let id = CircleId::from_bytes(&k)?;
            let bytes = self.open_sealed(&self.circles, &k, &v)?;
            out.push((id, Self::decode(&bytes)?));
        }
        Ok(out)
    }

    /// Stores one key epoch's circle key.
    pub fn put_key(&self, circle: &CircleId, epoch: u64, key: &CircleKey) -> Result<()> {
        let k = keys::epoch_key(circle, epoch);
        self.put_sealed(&self.keys, &k, key.to_bytes().as_slice())
    }

    /// All key epochs of a circle.
    pub fn keys(&self, circle: &CircleId) -> Result<Vec<(u64, CircleKey)>> {
        let mut out = Vec::new();
        for item in self.keys.scan_prefix(circle.as_bytes()) {
            let (k, v) = item?;
            let epoch = seq_of(&k);
            let bytes = self.open_sealed(&self.keys, &k, &v)?;
            out.push((epoch, CircleKey::from_bytes(&bytes)?));
        }
        Ok(out)
    }

    /// Every membership operation held for a circle.
    pub fn ops(&self, circle: &CircleId) -> Result<Vec<OpEntry>> {
        let mut out = Vec::new();
        for item in self.ops.scan_prefix(circle.as_bytes()) {
            let (k, v) = item?;
            let bytes = self.open_sealed(&self.ops, &k, &v)?;
            let record: OpRecord = match Self::decode(&bytes) {
                Ok(record) => record,
                Err(_) => {
                    let old: OpRecordV3 = Self::decode(&bytes)?;
                    OpRecord {
                        at: old.at,
                        id: old.id,
                        op: old.op,
                        seen: Vec::new(),
                    }
                }
            };
            out.push(OpEntry {
                author: MemberKey::from_bytes(&k[32..64])?,
                seq: seq_of(&k),
                at: record.at,
                id: record.id,
                op: record.op,
                seen: record.seen,
            });
        }
        Ok(out)
    }

    /// The messages (wire bytes) that carried a circle's membership operations.
    pub fn op_envelopes(&self, circle: &CircleId) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for item in self.ops.scan_prefix(circle.as_bytes()) {
            let (k, _) = item?;
            if let Some(bytes) = self.messages.get(&k)? {
                out.push(bytes.to_vec());
            }
        }
        Ok(out)
    }

    /// The highest sequence number of `author`'s messages held in `circle` (0 if none),
    /// counting messages after a gap.
    pub fn max_seq(&self, circle: &CircleId, author: &MemberKey) -> Result<u64> {
        let start = message_key(circle, author, 0);
        let end = message_key(circle, author, u64::MAX);
        let held = match self.messages.range(start..=end).next_back() {
            Some(item) => seq_of(&item?.0),
            None => 0,
        };
        // A number whose content is gone is still taken: the author's next message follows
        // it (a node whose last share expired must not number its next one alike).
        let gone = match self.gone.range(start..=end).next_back() {
            Some(item) => keys::seq_in(&item?.0),
            None => 0,
        };
        Ok(held.max(gone))
    }

    /// Keeps the member secret made to redeem an invite, until the join completes.
    pub fn put_pending_join(&self, invite: &InviteId, secret: &[u8]) -> Result<()> {
        self.put_sealed(&self.joins, invite.as_bytes(), secret)
    }

    /// The member secret kept for redeeming `invite`, if a join was started.
    pub fn pending_join(&self, invite: &InviteId) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.get_sealed(&self.joins, invite.as_bytes())
    }

    /// Forgets a completed join's secret (it now lives in the circle record).
    pub fn remove_pending_join(&self, invite: &InviteId) -> Result<()> {
        self.joins.remove(invite.as_bytes())?;
        Ok(())
    }

    /// Remembers addresses of a member's node.
    pub fn put_peer(&self, peer: &str, addrs: &[String]) -> Result<()> {
        self.put_record(&self.peers, peer.as_bytes(), &addrs)
    }

    /// Known member nodes and their addresses.
    pub fn peers(&self) -> Result<Vec<(String, Vec<String>)>> {
        let mut out = Vec::new();
        for item in self.peers.iter() {
            let (k, v) = item?;
            let bytes = self.open_sealed(&self.peers, &k, &v)?;
            out.push((
                String::from_utf8_lossy(&k).into_owned(),
                Self::decode(&bytes)?,
            ));
        }
        Ok(out)
    }

    /// For each author in `circle`, the highest seq up to which this node has everything.
    pub fn heads(&self, circle: &CircleId) -> Result<Vec<(MemberKey, u64)>> {
        let mut out = Vec::new();
        for item in self.heads.scan_prefix(circle.as_bytes()) {
            let (k, v) = item?;
            out.push((MemberKey::from_bytes(&k[32..])?, seq_of(&v)));
        }
        Ok(out)
    }

    /// The highest seq of `author`'s contiguous messages in `circle` (0 if none).
    pub fn head(&self, circle: &CircleId, author: &MemberKey) -> Result<u64> {
        Ok(self
            .heads
            .get(author_key(circle, author))?
            .map(|v| seq_of(&v))
            .unwrap_or(0))
    }

    /// `author`'s envelopes in `circle` with seq greater than `after` and at most `upto`, in
    /// order, as (seq, wire bytes).
    pub fn envelopes_between(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        after: u64,
        upto: u64,
    ) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + use<> {
        let start = message_key(circle, author, after.saturating_add(1));
        let end = message_key(circle, author, upto);
        self.messages.range(start..=end).map(|item| {
            let (k, v) = item?;
            Ok((seq_of(&k), v.to_vec()))
        })
    }

    /// One envelope by author and seq.
    pub fn envelope_at(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
    ) -> Result<Option<Envelope>> {
        match self.messages.get(message_key(circle, author, seq))? {
            Some(bytes) => Ok(Some(Envelope::from_bytes(&bytes)?)),
            None => Ok(None),
        }
    }

    /// One message held here by id, as an arrival (its cursor is not looked up: 0).
    pub fn arrival_of(&self, id: &MessageId) -> Result<Option<Arrival>> {
        match self.ids.get(id.as_bytes())? {
            Some(key) => Ok(Some(self.arrival(0, *id, &key)?)),
            None => Ok(None),
        }
    }

    /// The circle of a message held (or marked gone) here.
    pub fn message_circle(&self, id: &MessageId) -> Result<Option<CircleId>> {
        match self.ids.get(id.as_bytes())? {
            Some(key) if key.len() >= 32 => Ok(Some(CircleId::from_bytes(&key[..32])?)),
            _ => Ok(None),
        }
    }

    /// Whether a message is held (as the chain's message or as another version).
    pub fn has_message(&self, id: &MessageId) -> Result<bool> {
        Ok(self.ids.contains_key(id.as_bytes())?)
    }

    /// Envelopes of `circle` in arrival order, after `cursor` (exclusive; 0 for all).
    pub fn arrivals_after(
        &self,
        circle: &CircleId,
        cursor: u64,
    ) -> impl DoubleEndedIterator<Item = Result<Arrival>> + use<> {
        let start = keys::epoch_key(circle, cursor.saturating_add(1));
        let end = keys::epoch_key(circle, u64::MAX);
        let store = self.clone();
        self.arrivals.range(start..=end).map(move |item| {
            let (k, id) = item?;
            let key = store
                .ids
                .get(&id)?
                .ok_or_else(|| Error::Refused("arrival without message".into()))?;
            store.arrival(seq_of(&k), MessageId::from_bytes(&id)?, &key)
        })
    }

    /// Envelopes of `circle` in arrival order, before `cursor` (exclusive): read from the
    /// back, a page of older history costs only that page.
    pub fn arrivals_before(
        &self,
        circle: &CircleId,
        cursor: u64,
    ) -> impl DoubleEndedIterator<Item = Result<Arrival>> + use<> {
        let start = keys::epoch_key(circle, 1);
        let end = keys::epoch_key(circle, cursor);
        let store = self.clone();
        self.arrivals.range(start..end).map(move |item| {
            let (k, id) = item?;
            let key = store
                .ids
                .get(&id)?
                .ok_or_else(|| Error::Refused("arrival without message".into()))?;
            store.arrival(seq_of(&k), MessageId::from_bytes(&id)?, &key)
        })
    }

    /// The cursor of the last arrival in `circle` (0 if none).
    pub fn last_cursor(&self, circle: &CircleId) -> Result<u64> {
        Ok(self
            .arrivals
            .scan_prefix(circle.as_bytes())
            .next_back()
            .transpose()?
            .map(|(k, _)| seq_of(&k))
            .unwrap_or(0))
    }

    /// Number of messages held in `circle`'s chains (other versions not counted: see
    /// [`Store::fork_count`]).
    pub fn message_count(&self, circle: &CircleId) -> usize {
        self.messages.scan_prefix(circle.as_bytes()).count()
    }
}

#[cfg(test)]
mod tests;
