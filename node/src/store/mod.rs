//! The node's sled store. Nothing in it is plaintext circle content.
//!
//! - Envelopes are stored exactly as they travel: sealed with the circle key, signed.
//! - Every other record's value that says anything about a circle or a person (circle records
//!   with the member's own secret key, circle keys, membership operations with nicknames,
//!   pending joins, peer addresses) is sealed under the node's data key, with the record's tree and key
//!   as associated data so records cannot be swapped. The data key itself is sealed under a key
//!   derived with argon2id from the passphrase.
//! - Envelopes are sealed once more at rest (their headers name the circle and the author),
//!   each behind its message id.
//! - Record keys are not sealed, and name no one: where a key stands for a circle, a member
//!   or a peer it holds a keyed hash of it under a sub-key of the data key (see `keys`), and
//!   the clear ids live in sealed values. Keys otherwise hold sequence numbers, message and
//!   invite ids, so the store reveals how many circles, members and messages there are, but
//!   not which circles or people, no names and no content.
//! - Integer parts of keys are big-endian, so ranges scan in order.
//! - Format 2 stores (clear ids in keys) are rewritten as format 3 on first open (`migrate`).
//!
//! Each incoming message is written in one multi-tree transaction (message, id index, author
//! head, arrival order, and for a membership operation its record; for another version of a
//! message, the version and its flag), so a crash never leaves half a message. Chains, forks
//! and gaps: see the `chain` module.

mod addresses;
mod chain;
mod config;
mod gone;
mod held;
mod ids;
mod keys;
mod migrate;
mod notable;
mod own;
mod private;
mod recovery;

use std::path::Path;

use circle_crypto::{
    CircleId, CircleKey, Envelope, InviteId, KdfParams, MemberKey, MessageId, PassphraseSalt,
    StoreKey,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::membership::{Op, OpEntry};
use keys::{Names, Place, seq_of};

pub use chain::{ForkedSeq, MAX_FORK_VERSIONS};
pub(crate) use config::sled_config;
pub use gone::{Gone, GoneRecord};
pub use held::HeldRecord;
pub(crate) use notable::NotableChange;

/// Version of the on-disk layout.
pub const STORE_FORMAT: u8 = 3;

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
        let (op, seen, legacy) = match &content.body {
            Body::Op(op) => (op, Vec::new(), true),
            Body::Acked(a) => (&a.op, a.seen.clone(), false),
            _ => return None,
        };
        Some(OpRecord {
            at: content.sent_at,
            id,
            op: op.clone(),
            seen,
            legacy,
        })
    }
}

impl OpRecord {
    /// The operation as the membership derivation takes it: by `author`, numbered `seq`.
    pub fn entry(self, author: MemberKey, seq: u64) -> OpEntry {
        OpEntry {
            author,
            seq,
            at: self.at,
            id: self.id,
            op: self.op,
            seen: self.seen,
            legacy: self.legacy,
        }
    }

    /// Reads a record as this version keeps it, or as it was kept before: without its format
    /// (an empty `seen` was then taken to mean content tag 1, as it still is for those
    /// records), or before membership version 4 (tag 1, with nothing seen).
    pub(crate) fn decode_any(bytes: &[u8]) -> Result<OpRecord> {
        if let Ok(record) = Store::decode::<OpRecord>(bytes) {
            return Ok(record);
        }
        if let Ok(old) = Store::decode::<OpRecordV4>(bytes) {
            return Ok(OpRecord {
                at: old.at,
                id: old.id,
                op: old.op,
                legacy: old.seen.is_empty(),
                seen: old.seen,
            });
        }
        let old: OpRecordV3 = Store::decode(bytes)?;
        Ok(OpRecord {
            at: old.at,
            id: old.id,
            op: old.op,
            seen: Vec::new(),
            legacy: true,
        })
    }
}

/// How [`OpRecord`] was kept before it said its format (read, never written).
#[derive(Deserialize)]
struct OpRecordV4 {
    at: u64,
    id: MessageId,
    op: Op,
    seen: Vec<(MemberKey, u64)>,
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
    /// Whether it came in content tag 1 (`Op`, before membership version 4) rather than
    /// tag 15 (`Acked`): see [`OpEntry::legacy`].
    pub legacy: bool,
}

/// The `meta` record saying other versions' operations were recorded.
const OTHER_VERSIONS_RECORDED: &[u8] = b"other-versions-recorded";

/// Result of storing an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// New in its author's chain: written.
    New,
    /// Already held (as the chain's message or as another version).
    Duplicate,
    /// Another version of a message already held (same author and seq, another id): kept
    /// beside it and flagged; a membership operation in it is recorded under its fork key.
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
    /// Membership operations: the chain's version under its message key, every other version
    /// under its fork key (circle || author || seq || id) -> sealed [`OpRecord`].
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
    /// On a home server, members' backups it keeps: holder -> record; holder || generation ||
    /// part -> bytes (see `held`).
    held: sled::Tree,
    data_key: StoreKey,
    names: Names,
    /// Added to sled's id counter (see `ids`): the highest id of a store rebuilt from records.
    id_base: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

const DATA_KEY_AAD: &[u8] = b"circle/data-key/v1";

/// Seals `data_key` under `passphrase` with a fresh salt and `kdf`, and writes the vault
/// (salt, parameters, sealed key) into `meta` in one batch.
fn write_vault(
    meta: &sled::Tree,
    passphrase: &[u8],
    data_key: &StoreKey,
    kdf: &KdfParams,
) -> Result<()> {
    let salt = PassphraseSalt::generate();
    let wrap = StoreKey::from_passphrase(passphrase, &salt, kdf)?;
    let mut batch = sled::Batch::default();
    batch.insert("salt", salt.as_bytes().as_slice());
    batch.insert("kdf", kdf.to_bytes().as_slice());
    batch.insert(
        "data_key",
        wrap.seal(DATA_KEY_AAD, data_key.to_bytes().as_slice()),
    );
    meta.apply_batch(batch)?;
    Ok(())
}

/// What unlocking a store gave.
pub(crate) enum Unlocked {
    /// The store, ready.
    Ready(Store),
    /// The passphrase is right, but the store is to be rewritten first: an older format, or a
    /// vault under weaker argon2id parameters than asked for.
    Upgrade(Upgrade),
}

/// A store unlocked for its upgrade: its database and data key.
pub(crate) struct Upgrade {
    db: sled::Db,
    data_key: StoreKey,
    format: u8,
}

impl Upgrade {
    /// The data key (the upgraded store keeps it).
    pub(crate) fn data_key(&self) -> StoreKey {
        self.data_key.clone()
    }
}

impl Store {
    /// Whether a store exists at `path`.
    pub fn exists(path: &Path) -> bool {
        path.join("conf").exists()
    }

    /// Creates a new store protected by `passphrase` (stretched with argon2id under `kdf`),
    /// holding the node's network key.
    pub fn create(
        db: sled::Db,
        passphrase: &[u8],
        node_key: &[u8],
        peer_id: &str,
        kdf: &KdfParams,
    ) -> Result<Store> {
        let meta = db.open_tree("meta")?;
        if meta.get("format")?.is_some() {
            return Err(Error::AlreadyInitialized("this store".into()));
        }
        let data_key = StoreKey::generate();
        write_vault(&meta, passphrase, &data_key, kdf)?;
        meta.insert("peer_id", peer_id.as_bytes())?;
        let store = Store::with_key(db, data_key)?;
        store.put_sealed(&store.meta, b"node_key", node_key)?;
        store.meta.insert("format", &[STORE_FORMAT])?;
        store.flush()?;
        Ok(store)
    }

    /// Opens an existing store with `passphrase`. A store of an older format, or whose vault
    /// was sealed under weaker argon2id parameters than `kdf`, comes back as
    /// [`Unlocked::Upgrade`]: the home rewrites it ([`Store::upgrade_into`]).
    pub(crate) fn unlock(db: sled::Db, passphrase: &[u8], kdf: &KdfParams) -> Result<Unlocked> {
        let meta = db.open_tree("meta")?;
        let format = match meta.get("format")? {
            Some(v) if v.as_ref() == [STORE_FORMAT] => STORE_FORMAT,
            Some(v) if v.as_ref() == [migrate::FORMAT_2] => migrate::FORMAT_2,
            Some(v) => {
                return Err(Error::Refused(format!(
                    "store format {:?} is not supported by this version",
                    v.as_ref()
                )));
            }
            None => return Err(Error::NotInitialized("this home".into())),
        };
        let salt = meta
            .get("salt")?
            .ok_or_else(|| Error::Refused("store has no salt".into()))?;
        let salt = PassphraseSalt::from_bytes(&salt)?;
        // A vault without parameters was sealed before they were stored.
        let held = match meta.get("kdf")? {
            Some(bytes) => KdfParams::from_bytes(&bytes)?,
            None => KdfParams::FORMAT_2,
        };
        let wrap = StoreKey::from_passphrase(passphrase, &salt, &held)?;
        let sealed = meta
            .get("data_key")?
            .ok_or_else(|| Error::Refused("store has no data key".into()))?;
        let data_key = wrap
            .open(DATA_KEY_AAD, &sealed)
            .map_err(|_| Error::WrongPassphrase)?;
        let data_key = StoreKey::from_bytes(&data_key)?;
        if format == STORE_FORMAT && !held.weaker_than(kdf) {
            return Ok(Unlocked::Ready(Store::with_key(db, data_key)?));
        }
        Ok(Unlocked::Upgrade(Upgrade {
            db,
            data_key,
            format,
        }))
    }

    /// Opens a store of the current format whose data key is known (after an upgrade).
    pub(crate) fn reopen(db: sled::Db, data_key: StoreKey) -> Result<Store> {
        let meta = db.open_tree("meta")?;
        if meta.get("format")?.as_deref() != Some([STORE_FORMAT].as_slice()) {
            return Err(Error::Refused("the upgraded store is not complete".into()));
        }
        Store::with_key(db, data_key)
    }

    /// The argon2id parameters this store's vault is sealed under.
    pub fn kdf(&self) -> Result<KdfParams> {
        Ok(match self.meta.get("kdf")? {
            Some(bytes) => KdfParams::from_bytes(&bytes)?,
            None => KdfParams::FORMAT_2,
        })
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
            held: db.open_tree("held")?,
            id_base: Self::read_id_base(&db)?,
            db,
            names: Names::new(&data_key),
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
        aad_in(&tree.name(), key)
    }

    /// What `messages` and `forks` hold for an envelope under `key`: its id, then its wire
    /// bytes sealed (the header names the circle and the author).
    fn sealed_envelope(&self, tree: &sled::Tree, key: &[u8], env: &Envelope) -> Vec<u8> {
        seal_envelope(&self.data_key, &tree.name(), key, env)
    }

    /// The wire bytes of an envelope held under `key` in `tree` (see [`Store::sealed_envelope`]).
    fn open_envelope(&self, tree: &sled::Tree, key: &[u8], value: &[u8]) -> Result<Vec<u8>> {
        open_envelope_in(&self.data_key, &tree.name(), key, value)
    }

    /// The envelope held under `key` in `tree`, as wire bytes.
    fn envelope_bytes(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match tree.get(key)? {
            Some(value) => Ok(Some(self.open_envelope(tree, key, &value)?)),
            None => Ok(None),
        }
    }

    /// Where the message with id `id` lives, from the sealed `ids` index.
    fn place(&self, id: &[u8], sealed: &[u8]) -> Result<Place> {
        let plain = self.open_sealed(&self.ids, id, sealed)?;
        Place::from_bytes(&plain).ok_or_else(|| Error::Refused("a stored index is damaged".into()))
    }

    /// The `ids` index's entry for a message at `place`.
    fn sealed_place(&self, id: &MessageId, place: &Place) -> Vec<u8> {
        self.data_key
            .seal(&Self::aad(&self.ids, id.as_bytes()), &place.to_bytes())
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
        let key = [b"former:".as_slice(), &self.names.circle(circle)].concat();
        Ok(self
            .get_sealed(&self.meta, &key)?
            .map(|b| b.chunks_exact(64).map(<[u8]>::to_vec).collect())
            .unwrap_or_default())
    }

    /// Keeps a member secret this node had in `circle` (see [`Store::former_secrets`]).
    pub fn add_former_secret(&self, circle: &CircleId, secret: &[u8]) -> Result<()> {
        let key = [b"former:".as_slice(), &self.names.circle(circle)].concat();
        let mut all = Zeroizing::new(self.former_secrets(circle)?.concat());
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
        self.put_record(
            &self.circles,
            &self.names.circle(id),
            &(id.as_bytes(), record),
        )
    }

    /// All circles with their records.
    pub fn circles(&self) -> Result<Vec<(CircleId, CircleRecord)>> {
        let mut out = Vec::new();
        for item in self.circles.iter() {
            let (k, v) = item?;
            let bytes = self.open_sealed(&self.circles, &k, &v)?;
            let (id, record): ([u8; 32], CircleRecord) = Self::decode(&bytes)?;
            out.push((CircleId::from_bytes(&id)?, record));
        }
        Ok(out)
    }

    /// Stores one key epoch's circle key.
    pub fn put_key(&self, circle: &CircleId, epoch: u64, key: &CircleKey) -> Result<()> {
        let k = self.names.epoch_key(circle, epoch);
        self.put_sealed(&self.keys, &k, key.to_bytes().as_slice())
    }

    /// Whether the operations of other versions kept before every version counted were
    /// recorded ([`Store::record_other_versions`], once per store).
    pub fn other_versions_recorded(&self) -> Result<bool> {
        Ok(self.meta.get(OTHER_VERSIONS_RECORDED)?.is_some())
    }

    /// Notes that [`Store::record_other_versions`] ran for every circle.
    pub fn set_other_versions_recorded(&self) -> Result<()> {
        self.meta.insert(OTHER_VERSIONS_RECORDED, &[1])?;
        Ok(())
    }

    /// Forgets one key epoch's circle key (it came from a version of a new key that another
    /// version displaced, and the one that counts did not hold up).
    pub fn drop_key(&self, circle: &CircleId, epoch: u64) -> Result<()> {
        self.keys.remove(self.names.epoch_key(circle, epoch))?;
        Ok(())
    }

    /// All key epochs of a circle.
    pub fn keys(&self, circle: &CircleId) -> Result<Vec<(u64, CircleKey)>> {
        let mut out = Vec::new();
        for item in self.keys.scan_prefix(self.names.circle(circle)) {
            let (k, v) = item?;
            let epoch = seq_of(&k);
            let bytes = self.open_sealed(&self.keys, &k, &v)?;
            out.push((epoch, CircleKey::from_bytes(&bytes)?));
        }
        Ok(out)
    }

    /// The sealed `ops` record of an operation by `author` under `key`.
    fn sealed_op(&self, key: &[u8], author: &MemberKey, op: &OpRecord) -> Vec<u8> {
        let plain = Zeroizing::new(
            postcard::to_allocvec(&(author.to_bytes(), op)).expect("records always encode"),
        );
        self.data_key.seal(&Self::aad(&self.ops, key), &plain)
    }

    /// Every membership operation held for a circle.
    pub fn ops(&self, circle: &CircleId) -> Result<Vec<OpEntry>> {
        let mut out = Vec::new();
        for item in self.ops.scan_prefix(self.names.circle(circle)) {
            let (k, v) = item?;
            let (author, record): ([u8; 32], Vec<u8>) = {
                let bytes = self.open_sealed(&self.ops, &k, &v)?;
                let (author, rest) = bytes
                    .split_first_chunk::<32>()
                    .ok_or_else(|| Error::Refused("a stored record is damaged".into()))?;
                (*author, rest.to_vec())
            };
            let record = OpRecord::decode_any(&record)?;
            // The chain's version under its message key, another under its fork key.
            out.push(record.entry(MemberKey::from_bytes(&author)?, keys::seq_in(&k)));
        }
        Ok(out)
    }

    /// The messages (wire bytes) that carried a circle's membership operations, every version
    /// of each.
    pub fn op_envelopes(&self, circle: &CircleId) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for item in self.ops.scan_prefix(self.names.circle(circle)) {
            let (k, _) = item?;
            let tree = if k.len() == 72 {
                &self.messages
            } else {
                &self.forks
            };
            if let Some(bytes) = self.envelope_bytes(tree, &k)? {
                out.push(bytes);
            }
        }
        Ok(out)
    }

    /// The highest sequence number of `author`'s messages held in `circle` (0 if none),
    /// counting messages after a gap.
    pub fn max_seq(&self, circle: &CircleId, author: &MemberKey) -> Result<u64> {
        let start = self.names.message_key(circle, author, 0);
        let end = self.names.message_key(circle, author, u64::MAX);
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
        self.put_record(&self.peers, &self.names.peer(peer), &(peer, addrs))
    }

    /// Known member nodes and their addresses.
    pub fn peers(&self) -> Result<Vec<(String, Vec<String>)>> {
        let mut out = Vec::new();
        for item in self.peers.iter() {
            let (k, v) = item?;
            let bytes = self.open_sealed(&self.peers, &k, &v)?;
            out.push(Self::decode(&bytes)?);
        }
        Ok(out)
    }

    /// For each author in `circle`, the highest seq up to which this node has everything.
    pub fn heads(&self, circle: &CircleId) -> Result<Vec<(MemberKey, u64)>> {
        let mut out = Vec::new();
        for item in self.heads.scan_prefix(self.names.circle(circle)) {
            let (k, v) = item?;
            let sealed = v.get(..v.len().saturating_sub(8)).unwrap_or_default();
            let author = self.open_sealed(&self.heads, &k, sealed)?;
            out.push((MemberKey::from_bytes(&author)?, seq_of(&v)));
        }
        Ok(out)
    }

    /// What `heads` holds for `author` at `seq`: the author sealed, then the seq in clear.
    fn sealed_head_author(&self, circle: &CircleId, author: &MemberKey) -> Vec<u8> {
        let key = self.names.author_key(circle, author);
        self.data_key
            .seal(&Self::aad(&self.heads, &key), &author.to_bytes())
    }

    /// The highest seq of `author`'s contiguous messages in `circle` (0 if none).
    pub fn head(&self, circle: &CircleId, author: &MemberKey) -> Result<u64> {
        Ok(self
            .heads
            .get(self.names.author_key(circle, author))?
            .map(|v| seq_of(&v))
            .unwrap_or(0))
    }

    /// `author`'s envelopes in `circle` with seq greater than `after` and at most `upto`, in
    /// order (or, reversed, from the highest down), as (seq, wire bytes).
    pub fn envelopes_between(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        after: u64,
        upto: u64,
    ) -> impl DoubleEndedIterator<Item = Result<(u64, Vec<u8>)>> + use<> {
        let start = self
            .names
            .message_key(circle, author, after.saturating_add(1));
        let end = self.names.message_key(circle, author, upto);
        let store = self.clone();
        self.messages.range(start..=end).map(move |item| {
            let (k, v) = item?;
            Ok((seq_of(&k), store.open_envelope(&store.messages, &k, &v)?))
        })
    }

    /// One envelope by author and seq.
    pub fn envelope_at(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
    ) -> Result<Option<Envelope>> {
        let key = self.names.message_key(circle, author, seq);
        match self.envelope_bytes(&self.messages, &key)? {
            Some(bytes) => Ok(Some(Envelope::from_bytes(&bytes)?)),
            None => Ok(None),
        }
    }

    /// One message held here by id, as an arrival (its cursor is not looked up: 0).
    pub fn arrival_of(&self, id: &MessageId) -> Result<Option<Arrival>> {
        match self.ids.get(id.as_bytes())? {
            Some(sealed) => Ok(Some(self.arrival(
                0,
                *id,
                &self.place(id.as_bytes(), &sealed)?,
            )?)),
            None => Ok(None),
        }
    }

    /// The circle of a message held (or marked gone) here.
    pub fn message_circle(&self, id: &MessageId) -> Result<Option<CircleId>> {
        match self.ids.get(id.as_bytes())? {
            Some(sealed) => Ok(Some(self.place(id.as_bytes(), &sealed)?.circle)),
            None => Ok(None),
        }
    }

    /// Whether a message is held (as the chain's message or as another version).
    pub fn has_message(&self, id: &MessageId) -> Result<bool> {
        Ok(self.ids.contains_key(id.as_bytes())?)
    }

    /// The arrival an `arrivals` entry (cursor key, message id) points at.
    fn arrival_at(&self, k: &[u8], id: &[u8]) -> Result<Arrival> {
        let sealed = self
            .ids
            .get(id)?
            .ok_or_else(|| Error::Refused("arrival without message".into()))?;
        let place = self.place(id, &sealed)?;
        self.arrival(seq_of(k), MessageId::from_bytes(id)?, &place)
    }

    /// Envelopes of `circle` in arrival order, after `cursor` (exclusive; 0 for all).
    pub fn arrivals_after(
        &self,
        circle: &CircleId,
        cursor: u64,
    ) -> impl DoubleEndedIterator<Item = Result<Arrival>> + use<> {
        let start = self.names.epoch_key(circle, cursor.saturating_add(1));
        let end = self.names.epoch_key(circle, u64::MAX);
        let store = self.clone();
        self.arrivals.range(start..=end).map(move |item| {
            let (k, id) = item?;
            store.arrival_at(&k, &id)
        })
    }

    /// Envelopes of `circle` in arrival order, before `cursor` (exclusive): read from the
    /// back, a page of older history costs only that page.
    pub fn arrivals_before(
        &self,
        circle: &CircleId,
        cursor: u64,
    ) -> impl DoubleEndedIterator<Item = Result<Arrival>> + use<> {
        let start = self.names.epoch_key(circle, 1);
        let end = self.names.epoch_key(circle, cursor);
        let store = self.clone();
        self.arrivals.range(start..end).map(move |item| {
            let (k, id) = item?;
            store.arrival_at(&k, &id)
        })
    }

    /// The cursor of the last arrival in `circle` (0 if none).
    pub fn last_cursor(&self, circle: &CircleId) -> Result<u64> {
        Ok(self
            .arrivals
            .scan_prefix(self.names.circle(circle))
            .next_back()
            .transpose()?
            .map(|(k, _)| seq_of(&k))
            .unwrap_or(0))
    }

    /// Number of messages held in `circle`'s chains (other versions not counted: see
    /// [`Store::fork_count`]).
    pub fn message_count(&self, circle: &CircleId) -> usize {
        self.messages.scan_prefix(self.names.circle(circle)).count()
    }
}

/// The associated data of a record in the tree called `tree` under `key`.
fn aad_in(tree: &[u8], key: &[u8]) -> Vec<u8> {
    let mut aad = tree.to_vec();
    aad.push(0);
    aad.extend_from_slice(key);
    aad
}

fn seal_envelope(data_key: &StoreKey, tree: &[u8], key: &[u8], env: &Envelope) -> Vec<u8> {
    let mut out = env.id().as_bytes().to_vec();
    out.extend_from_slice(&data_key.seal(&aad_in(tree, key), env.to_bytes()));
    out
}

fn open_envelope_in(data_key: &StoreKey, tree: &[u8], key: &[u8], value: &[u8]) -> Result<Vec<u8>> {
    let sealed = value
        .get(32..)
        .ok_or_else(|| Error::Refused("a stored message is damaged".into()))?;
    Ok(data_key.open(&aad_in(tree, key), sealed)?.to_vec())
}

/// The id in front of a value of `messages` or `forks` (`None` only for a damaged record).
fn held_id(value: &[u8]) -> Option<MessageId> {
    MessageId::from_bytes(value.get(..32)?).ok()
}

#[cfg(test)]
mod tests;
