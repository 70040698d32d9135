//! Per-author chains, and the versions that break them.
//!
//! Each author's messages in a circle are numbered 1, 2, 3… (`seq`) and linked: `prev` is the
//! id of the author's message before. The first version of a number this node stores is the
//! chain's message (in `messages`). Another validly signed version with the same number is a
//! *fork*: the author wrote two messages numbered alike. It is kept, not refused (it is sealed
//! like every envelope), in `forks`, and the number is flagged in `forked`, so that feeds and
//! `circle status` can show it and sync can pass it on. A `prev` that names something other
//! than the message held before it flags that earlier number too: its author wrote another
//! version of it, even if that version is not here.
//!
//! At most [`MAX_FORK_VERSIONS`] versions of one number are kept (the chain's and three
//! others), so a member cannot fill a disk through forks; versions that carry a membership
//! operation are exempt (every node must hold all of them to agree on the membership) and
//! bounded by their author's rate limits instead.

use circle_crypto::{CircleId, Envelope, MemberKey, MessageId, StoreKey};
use serde::{Deserialize, Serialize};
use sled::{
    Transactional,
    transaction::{ConflictableTransactionError, TransactionalTree},
};

use super::keys::{Names, Place, seq_of};
use super::{Arrival, OpRecord, Store, Stored, held_id, open_envelope_in};
use crate::error::{Error, Result};

/// Most versions of one message (author and seq) a node keeps: the chain's and three others.
/// Further versions are valid but dropped, so a member cannot fill a disk through forks.
pub const MAX_FORK_VERSIONS: usize = 4;

/// Most ids of versions that are not held, named by later messages' `prev` links, that are
/// remembered for one flagged number.
const MAX_NAMED_VERSIONS: usize = 4;

/// What is known of a flagged number, besides the chain's message: its author, the other
/// versions held, and ids of versions named by a `prev` link but not held (sealed at rest).
#[derive(Serialize, Deserialize)]
struct ForkRecord {
    author: [u8; 32],
    held: Vec<MessageId>,
    named: Vec<MessageId>,
}

/// A message number with more than one version, as this node knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkedSeq {
    /// Who wrote the versions.
    pub author: MemberKey,
    /// Their number.
    pub seq: u64,
    /// Ids of the versions held here, the chain's first.
    pub held: Vec<MessageId>,
    /// How many versions exist that this node knows of (at least 2): those held, and those
    /// only named by a later message's `prev`.
    pub versions: usize,
}

/// Tree names, for the associated data of what is sealed inside transactions.
const MESSAGES: &[u8] = b"messages";
const FORKS: &[u8] = b"forks";
const FORKED: &[u8] = b"forked";

/// A `forked` record (`None` if it does not open: damage).
fn open_fork_record(data_key: &StoreKey, key: &[u8], sealed: &[u8]) -> Option<ForkRecord> {
    let plain = data_key.open(&super::aad_in(FORKED, key), sealed).ok()?;
    postcard::from_bytes(&plain).ok()
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Error>>;

/// The `prev` of a stored envelope (`None` if the record does not decode: it was checked when
/// stored, so that means damage, and no link is judged).
fn prev_of(bytes: &[u8]) -> Option<Option<MessageId>> {
    Envelope::from_bytes(bytes).ok().map(|e| e.header().prev)
}

/// The trees of one author's chain inside a transaction.
struct Chain<'t> {
    messages: &'t TransactionalTree,
    forks: &'t TransactionalTree,
    forked: &'t TransactionalTree,
    circle: CircleId,
    author: MemberKey,
    names: &'t Names,
    data_key: &'t StoreKey,
}

impl Chain<'_> {
    fn key(&self, seq: u64) -> [u8; 72] {
        self.names.message_key(&self.circle, &self.author, seq)
    }

    fn record(&self, seq: u64) -> TxResult<Option<ForkRecord>> {
        let key = self.key(seq);
        Ok(self
            .forked
            .get(key)?
            .map(|v| open_fork_record(self.data_key, &key, &v).unwrap_or_else(|| self.empty())))
    }

    fn empty(&self) -> ForkRecord {
        ForkRecord {
            author: self.author.to_bytes(),
            held: Vec::new(),
            named: Vec::new(),
        }
    }

    fn save(&self, seq: u64, record: &ForkRecord) -> TxResult<()> {
        let key = self.key(seq);
        let bytes = postcard::to_allocvec(record).expect("records always encode");
        let sealed = self.data_key.seal(&super::aad_in(FORKED, &key), &bytes);
        self.forked.insert(key.as_slice(), sealed)?;
        Ok(())
    }

    /// The wire bytes held in `tree` (`messages` or `forks`, by `name`) under `key`.
    fn bytes(
        &self,
        tree: &TransactionalTree,
        name: &[u8],
        key: &[u8],
    ) -> TxResult<Option<Vec<u8>>> {
        Ok(tree
            .get(key)?
            .and_then(|v| open_envelope_in(self.data_key, name, key, &v).ok()))
    }

    /// The id of the chain's message numbered `seq`, if held.
    fn chain_id(&self, seq: u64) -> TxResult<Option<MessageId>> {
        Ok(self.messages.get(self.key(seq))?.and_then(|b| held_id(&b)))
    }

    /// Flags `seq` (whose chain message is `chain`) as forked; `named` is the id a later
    /// message says came before it, if any.
    fn flag(&self, seq: u64, chain: MessageId, named: Option<MessageId>) -> TxResult<()> {
        let held = self.record(seq)?;
        if held.is_none() {
            tracing::info!(
                circle = %self.circle.short(),
                author = %self.author.short(),
                seq,
                "a later message does not link to the one held before it: two versions"
            );
        }
        let mut record = held.unwrap_or_else(|| self.empty());
        if let Some(named) = named
            && named != chain
            && !record.held.contains(&named)
            && !record.named.contains(&named)
            && record.named.len() < MAX_NAMED_VERSIONS
        {
            record.named.push(named);
        }
        self.save(seq, &record)
    }

    /// Checks a message numbered `seq` that names `prev` against the chain's message before it.
    fn check_prev(&self, seq: u64, prev: Option<MessageId>) -> TxResult<()> {
        if seq <= 1 {
            return Ok(());
        }
        match self.chain_id(seq - 1)? {
            Some(before) if prev != Some(before) => self.flag(seq - 1, before, prev),
            _ => Ok(()),
        }
    }

    /// Checks what is held numbered `seq + 1` (the chain's message and other versions)
    /// against `id`, the chain's new message numbered `seq`.
    fn check_next(&self, seq: u64, id: MessageId) -> TxResult<()> {
        let Some(next) = seq.checked_add(1) else {
            return Ok(());
        };
        let mut prevs = Vec::new();
        if let Some(bytes) = self.bytes(self.messages, MESSAGES, &self.key(next))? {
            prevs.extend(prev_of(&bytes));
        }
        if let Some(record) = self.record(next)? {
            for version in &record.held {
                let key = self
                    .names
                    .fork_key(&self.circle, &self.author, next, version);
                if let Some(bytes) = self.bytes(self.forks, FORKS, &key)? {
                    prevs.extend(prev_of(&bytes));
                }
            }
        }
        for prev in prevs {
            if prev != Some(id) {
                self.flag(seq, id, prev)?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Stores an envelope from another node that has passed every check, in one transaction;
    /// `op` is the membership operation it carries, if any. A second version of a number
    /// already held is kept as a fork ([`Stored::Fork`]); its operation, if any, is recorded
    /// beside the chain's (under the version's fork key), so every version counts for
    /// membership, and is exempt from [`MAX_FORK_VERSIONS`].
    pub fn put_envelope(&self, env: &Envelope, op: Option<&OpRecord>) -> Result<Stored> {
        self.put(env, op, None, true)
    }

    /// [`Store::put_envelope`] for a message that expires at `expires` (unix ms): the expiry
    /// is kept beside it, in the same transaction, for the sweep that drops its content.
    pub fn put_expiring_envelope(
        &self,
        env: &Envelope,
        op: Option<&OpRecord>,
        expires: Option<u64>,
    ) -> Result<Stored> {
        self.put(env, op, expires, true)
    }

    /// Stores one of this node's own messages: never as a fork ([`Stored::Conflict`] if the
    /// number is taken), since a node must not fork its own chain.
    pub fn put_own_envelope(
        &self,
        env: &Envelope,
        op: Option<&OpRecord>,
        expires: Option<u64>,
    ) -> Result<Stored> {
        self.put(env, op, expires, false)
    }

    fn put(
        &self,
        env: &Envelope,
        op: Option<&OpRecord>,
        expires: Option<u64>,
        fork: bool,
    ) -> Result<Stored> {
        let h = env.header();
        let id = env.id();
        let mkey = self.names.message_key(&h.circle, &h.author, h.seq);
        let fkey = self.names.fork_key(&h.circle, &h.author, h.seq, &id);
        // Cursors start at 1: a feed "after 0" means everything.
        let arrival = self.names.epoch_key(&h.circle, self.next_id()?);
        let as_message = self.sealed_envelope(&self.messages, &mkey, env);
        let as_fork = self.sealed_envelope(&self.forks, &fkey, env);
        let mut place = Place {
            circle: h.circle,
            author: h.author,
            seq: h.seq,
            fork: None,
        };
        let id_message = self.sealed_place(&id, &place);
        place.fork = Some(id);
        let id_fork = self.sealed_place(&id, &place);
        let head_author = self.sealed_head_author(&h.circle, &h.author);
        // Every version of an operation is recorded, each under its own key: the chain's
        // under the message's, another under its fork key.
        let op_fork = op.map(|op| self.sealed_op(&fkey, &h.author, op));
        let op = op.map(|op| self.sealed_op(&mkey, &h.author, op));
        let expiry =
            expires.map(|at| (self.sealed_expiry(&mkey, at), self.sealed_expiry(&fkey, at)));
        let trees = (
            &self.messages,
            &self.ids,
            &self.heads,
            &self.arrivals,
            &self.ops,
            &self.forks,
            &self.forked,
            &self.gone,
            &self.expiries,
        );
        let result = trees.transaction(
            |(messages, ids, heads, arrivals, ops, forks, forked, gone, expiries)| {
                if ids.get(id.as_bytes())?.is_some() {
                    return Ok(Stored::Duplicate);
                }
                let chain = Chain {
                    messages,
                    forks,
                    forked,
                    circle: h.circle,
                    author: h.author,
                    names: &self.names,
                    data_key: &self.data_key,
                };
                // Another version of a number whose content is gone is not kept: what its
                // author withdrew (or let expire) does not come back under another id.
                if gone.get(mkey)?.is_some() {
                    return Ok(Stored::Duplicate);
                }
                if let Some(held) = messages.get(mkey)? {
                    if !fork {
                        return Ok(Stored::Conflict);
                    }
                    let Some(held) = held_id(&held) else {
                        return Ok(Stored::Conflict);
                    };
                    let mut record = chain.record(h.seq)?.unwrap_or_else(|| chain.empty());
                    // Versions carrying an operation are exempt: every node must hold the
                    // same set of them to derive the same membership. The author's rate limits
                    // bound them like any message.
                    if op.is_none() && 1 + record.held.len() >= MAX_FORK_VERSIONS {
                        return Ok(Stored::TooManyVersions);
                    }
                    record.named.retain(|n| *n != id);
                    record.held.push(id);
                    chain.save(h.seq, &record)?;
                    tracing::info!(
                        circle = %h.circle.short(),
                        author = %h.author.short(),
                        seq = h.seq,
                        chain = %held.short(),
                        other = %id.short(),
                        "an author wrote two versions of one message: both kept"
                    );
                    forks.insert(fkey.as_slice(), as_fork.as_slice())?;
                    if let Some(op) = &op_fork {
                        ops.insert(fkey.as_slice(), op.as_slice())?;
                    }
                    if let Some((_, sealed)) = &expiry {
                        expiries.insert(fkey.as_slice(), sealed.as_slice())?;
                    }
                    ids.insert(id.as_bytes().as_slice(), id_fork.as_slice())?;
                    arrivals.insert(arrival.as_slice(), id.as_bytes().as_slice())?;
                    chain.check_prev(h.seq, h.prev)?;
                    return Ok(Stored::Fork);
                }
                messages.insert(mkey.as_slice(), as_message.as_slice())?;
                ids.insert(id.as_bytes().as_slice(), id_message.as_slice())?;
                arrivals.insert(arrival.as_slice(), id.as_bytes().as_slice())?;
                if let Some(op) = &op {
                    ops.insert(mkey.as_slice(), op.as_slice())?;
                }
                if let Some((sealed, _)) = &expiry {
                    expiries.insert(mkey.as_slice(), sealed.as_slice())?;
                }
                // The head is the highest seq up to which nothing is missing.
                super::gone::advance_head(
                    heads,
                    messages,
                    gone,
                    &self.names,
                    &head_author,
                    (&h.circle, &h.author, h.seq),
                )?;
                chain.check_prev(h.seq, h.prev)?;
                chain.check_next(h.seq, id)?;
                Ok::<_, ConflictableTransactionError<Error>>(Stored::New)
            },
        )?;
        Ok(result)
    }

    /// Records the membership operation of every other version held in `circle` that has no
    /// `ops` record: before every version of an operation counted, other versions' operations
    /// were not recorded. Opens them with `keys` (by epoch); a version it cannot open stays as
    /// it was. Returns how many it recorded.
    pub fn record_other_versions(
        &self,
        circle: &CircleId,
        keys: &std::collections::BTreeMap<u64, circle_crypto::CircleKey>,
    ) -> Result<usize> {
        let mut recorded = 0;
        for item in self.forked.scan_prefix(self.names.circle(circle)) {
            let (k, v) = item?;
            let Some(record) = open_fork_record(&self.data_key, &k, &v) else {
                continue;
            };
            for id in record.held {
                let fkey = [k.as_ref(), id.as_bytes().as_slice()].concat();
                if self.ops.get(&fkey)?.is_some() {
                    continue;
                }
                let Some(bytes) = self.envelope_bytes(&self.forks, &fkey)? else {
                    continue;
                };
                let Ok(env) = Envelope::from_bytes(&bytes) else {
                    continue;
                };
                let content = keys
                    .get(&env.header().epoch)
                    .and_then(|key| env.open(key).ok())
                    .and_then(|plain| crate::content::Content::from_bytes(&plain).ok());
                if let Some(op) = content.and_then(|c| OpRecord::of(&c, id)) {
                    let sealed = self.sealed_op(&fkey, &env.header().author, &op);
                    self.ops.insert(fkey, sealed)?;
                    recorded += 1;
                }
            }
        }
        Ok(recorded)
    }

    /// The numbers of `circle` that have more than one version, by author and seq.
    pub fn forked(&self, circle: &CircleId) -> Result<Vec<ForkedSeq>> {
        let mut out = Vec::new();
        for item in self.forked.scan_prefix(self.names.circle(circle)) {
            let (k, v) = item?;
            let Some(record) = open_fork_record(&self.data_key, &k, &v) else {
                continue;
            };
            let (author, seq) = (MemberKey::from_bytes(&record.author)?, seq_of(&k));
            let mut held: Vec<MessageId> = self
                .messages
                .get(&k)?
                .and_then(|b| held_id(&b))
                .into_iter()
                .collect();
            held.extend(record.held);
            let versions = (held.len() + record.named.len()).max(2);
            out.push(ForkedSeq {
                author,
                seq,
                held,
                versions,
            });
        }
        Ok(out)
    }

    /// Every version held of `author`'s message `seq` (wire bytes), the chain's first.
    pub fn versions_at(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
    ) -> Result<Vec<Vec<u8>>> {
        let mkey = self.names.message_key(circle, author, seq);
        let mut out: Vec<Vec<u8>> = self
            .envelope_bytes(&self.messages, &mkey)?
            .into_iter()
            .collect();
        for item in self.forks.scan_prefix(mkey) {
            let (k, v) = item?;
            out.push(self.open_envelope(&self.forks, &k, &v)?);
        }
        Ok(out)
    }

    /// Number of versions held in `circle` besides the chains' messages.
    pub fn fork_count(&self, circle: &CircleId) -> usize {
        self.forks.scan_prefix(self.names.circle(circle)).count()
    }

    /// The id of the chain's message `seq` of `author`, if held.
    pub fn id_at(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
    ) -> Result<Option<MessageId>> {
        Ok(self
            .messages
            .get(self.names.message_key(circle, author, seq))?
            .and_then(|b| held_id(&b)))
    }

    /// How many of `author`'s messages numbered above `after` and at most `upto` are held.
    pub fn held_between(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        after: u64,
        upto: u64,
    ) -> Result<u64> {
        if after >= upto {
            return Ok(0);
        }
        let start = self.names.message_key(circle, author, after + 1);
        let end = self.names.message_key(circle, author, upto);
        let mut n = 0;
        for item in self.messages.range(start..=end) {
            item?;
            n += 1;
        }
        // A number whose content is gone (withdrawn, expired) is held too.
        for item in self.gone.range(start..=end) {
            if item?.0.len() == 72 {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The runs of `author`'s numbers above `after` and at most `upto` that are held (or whose
    /// content is gone), as (after, upto] ranges, at most [`crate::protocol::MAX_HELD_RANGES`].
    pub fn held_ranges(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        after: u64,
        upto: u64,
    ) -> Result<Vec<(u64, u64)>> {
        if after >= upto {
            return Ok(Vec::new());
        }
        let start = self.names.message_key(circle, author, after + 1);
        let end = self.names.message_key(circle, author, upto);
        let mut seqs: Vec<u64> = Vec::new();
        for item in self.messages.range(start..=end) {
            seqs.push(seq_of(&item?.0));
        }
        for item in self.gone.range(start..=end) {
            let key = item?.0;
            if key.len() == 72 {
                seqs.push(seq_of(&key));
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for seq in seqs {
            match ranges.last_mut() {
                Some((_, last)) if *last + 1 == seq => *last = seq,
                _ => {
                    if ranges.len() == crate::protocol::MAX_HELD_RANGES {
                        break;
                    }
                    ranges.push((seq - 1, seq));
                }
            }
        }
        Ok(ranges)
    }

    /// `author`'s messages carrying membership operations in `circle`, numbered above `after`
    /// and at most `upto`, in order, as (seq, wire bytes).
    pub fn op_envelopes_between(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        after: u64,
        upto: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut out = Vec::new();
        if after >= upto {
            return Ok(out);
        }
        let start = self.names.message_key(circle, author, after + 1);
        let end = self.names.message_key(circle, author, upto);
        for item in self.ops.range(start..=end) {
            let (k, _) = item?;
            // The chain's only: other versions go with the page's forks.
            if k.len() != 72 {
                continue;
            }
            if let Some(bytes) = self.envelope_bytes(&self.messages, &k)? {
                out.push((seq_of(&k), bytes));
            }
        }
        Ok(out)
    }

    /// One arrival: its message from `messages` or, for another version, from `forks`; or
    /// what is kept of it when its content is gone.
    pub(super) fn arrival(&self, cursor: u64, id: MessageId, place: &Place) -> Result<Arrival> {
        let fork = place.fork.is_some();
        let tree = if fork { &self.forks } else { &self.messages };
        let key = place.key(&self.names);
        let (envelope, gone) = match self.envelope_bytes(tree, &key)? {
            Some(bytes) => (Some(Envelope::from_bytes(&bytes)?), None),
            None => match self.gone_at(&key)? {
                Some(record) => (None, Some(record)),
                None => return Err(Error::Internal("index without message".into())),
            },
        };
        Ok(Arrival {
            cursor,
            id,
            author: place.author,
            envelope,
            gone,
            fork,
            seq: place.seq,
        })
    }
}
