//! Messages whose content is gone: withdrawn by their author, or past their expiry.
//!
//! The envelope is deleted from `messages` (or `forks`) and a small sealed record takes its
//! place in `gone`, under the same key: the id index and the arrival order keep pointing at
//! it, so feeds show "withdrawn" where the share was, the chain's head counts the number as
//! held (sync neither asks for it nor serves it), and the same envelope arriving again is a
//! duplicate, never stored. A number can be marked gone before its message ever arrived (a
//! withdrawal or an expiry seen first).
//!
//! sled is log-structured: deleted bytes stay in its segment files until it reuses them. They
//! are ciphertext under the circle key (never plaintext); docs/SECURITY.md says so.

use circle_crypto::{CircleId, MemberKey, MessageId};
use serde::{Deserialize, Serialize};
use sled::{
    Transactional,
    transaction::{ConflictableTransactionError, TransactionalTree},
};

use super::Store;
use super::keys::{Names, Place, seq_of};
use crate::error::{Error, Result};

/// Why a message's content is gone.
// Names in JSON only: at rest, postcard numbers the variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Gone {
    /// Its author withdrew it.
    Withdrawn,
    /// Its time was up.
    Expired,
}

impl Gone {
    /// `withdrawn` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gone::Withdrawn => "withdrawn",
            Gone::Expired => "expired",
        }
    }
}

/// What is kept of a message whose content is gone (sealed at rest).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GoneRecord {
    /// The message's id (its chain's `prev` links name it).
    pub id: MessageId,
    /// Why.
    pub why: Gone,
    /// When its author sent it (unix ms), if it was held.
    pub sent_at: Option<u64>,
}

/// Advances `author`'s head past every number held or gone after it, when `seq` fills the
/// next gap. Used inside a transaction.
pub(super) fn advance_head(
    heads: &TransactionalTree,
    messages: &TransactionalTree,
    gone: &TransactionalTree,
    names: &Names,
    sealed_author: &[u8],
    (circle, author, seq): (&CircleId, &MemberKey, u64),
) -> std::result::Result<(), ConflictableTransactionError<Error>> {
    let akey = names.author_key(circle, author);
    let mut head = heads.get(akey)?.map(|v| seq_of(&v)).unwrap_or(0);
    if seq != head + 1 {
        return Ok(());
    }
    head += 1;
    loop {
        let next = names.message_key(circle, author, head + 1);
        if messages.get(next)?.is_none() && gone.get(next)?.is_none() {
            break;
        }
        head += 1;
    }
    // The author's key, sealed, then the head in clear (see `Store::heads`).
    let value = [sealed_author, &head.to_be_bytes()].concat();
    heads.insert(akey.as_slice(), value)?;
    Ok(())
}

impl Store {
    /// Drops the content of `author`'s message `seq` with id `id`, or, when it is not held,
    /// marks it gone so that it is never stored. Returns whether anything changed.
    pub fn drop_content(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
        id: &MessageId,
        why: Gone,
        sent_at: Option<u64>,
    ) -> Result<bool> {
        if seq == 0 {
            return Ok(false);
        }
        let mkey = self.names.message_key(circle, author, seq);
        let fkey = self.names.fork_key(circle, author, seq, id);
        let record = GoneRecord {
            id: *id,
            why,
            sent_at,
        };
        let bytes =
            zeroize::Zeroizing::new(postcard::to_allocvec(&record).expect("records always encode"));
        let sealed_m = self.data_key.seal(&Self::aad(&self.gone, &mkey), &bytes);
        let sealed_f = self.data_key.seal(&Self::aad(&self.gone, &fkey), &bytes);
        let place = Place {
            circle: *circle,
            author: *author,
            seq,
            fork: None,
        };
        let indexed = self.sealed_place(id, &place);
        let head_author = self.sealed_head_author(circle, author);
        let trees = (
            &self.messages,
            &self.forks,
            &self.ids,
            &self.gone,
            &self.heads,
            &self.expiries,
        );
        let changed = trees.transaction(|(messages, forks, ids, gone, heads, expiries)| {
            if let Some(held) = ids.get(id.as_bytes())? {
                let key = self
                    .place(id.as_bytes(), &held)
                    .map_err(ConflictableTransactionError::Abort)?
                    .key(&self.names);
                if gone.get(&key)?.is_some() {
                    return Ok(false);
                }
                let sealed = if key.as_slice() == mkey.as_slice() {
                    messages.remove(key.as_slice())?;
                    &sealed_m
                } else {
                    forks.remove(key.as_slice())?;
                    &sealed_f
                };
                gone.insert(key.as_slice(), sealed.as_slice())?;
                expiries.remove(key.as_slice())?;
                return Ok(true);
            }
            // Not held, and another version has the number: nothing is written (versions are
            // capped where they are stored, and this one has no content to keep).
            if messages.get(mkey)?.is_some() || gone.get(mkey)?.is_some() {
                return Ok(false);
            }
            ids.insert(id.as_bytes().as_slice(), indexed.as_slice())?;
            gone.insert(mkey.as_slice(), sealed_m.as_slice())?;
            advance_head(
                heads,
                messages,
                gone,
                &self.names,
                &head_author,
                (circle, author, seq),
            )?;
            Ok::<_, ConflictableTransactionError<Error>>(true)
        })?;
        Ok(changed)
    }

    /// What is kept of a message whose content is gone, by its store key.
    pub(super) fn gone_at(&self, key: &[u8]) -> Result<Option<GoneRecord>> {
        match self.get_sealed(&self.gone, key)? {
            Some(bytes) => Ok(Some(Self::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The id of `author`'s message `seq` in the chain, held or gone.
    pub fn chain_id(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
    ) -> Result<Option<MessageId>> {
        if let Some(id) = self.id_at(circle, author, seq)? {
            return Ok(Some(id));
        }
        Ok(self
            .gone_at(&self.names.message_key(circle, author, seq))?
            .map(|g| g.id))
    }

    /// Remembers that `author` withdrew their message `seq` with id `id` before it arrived
    /// here. Nothing else changes: only that very envelope, once it arrives and is checked,
    /// is dropped (see [`Store::take_withdrawal`]).
    pub fn note_withdrawal(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
        id: &MessageId,
    ) -> Result<()> {
        let key = self.names.message_key(circle, author, seq);
        self.put_sealed(&self.withdrawals, &key, id.as_bytes())
    }

    /// Whether `author` withdrew their message `seq` with id `id` before it arrived (the
    /// note is removed either way once the message is here).
    pub fn take_withdrawal(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
        id: &MessageId,
    ) -> Result<bool> {
        let key = self.names.message_key(circle, author, seq);
        let Some(noted) = self.get_sealed(&self.withdrawals, &key)? else {
            return Ok(false);
        };
        // Another version of that number leaves the note for the one withdrawn.
        if noted.as_slice() != id.as_bytes() {
            return Ok(false);
        }
        self.withdrawals.remove(key)?;
        Ok(true)
    }

    /// Whether the message with this id is held with its content gone.
    pub fn is_gone(&self, id: &MessageId) -> Result<bool> {
        match self.ids.get(id.as_bytes())? {
            Some(held) => {
                let key = self.place(id.as_bytes(), &held)?.key(&self.names);
                Ok(self.gone.contains_key(key)?)
            }
            None => Ok(false),
        }
    }

    /// Messages whose expiry is at or before `now` (unix ms): circle, author, seq, id.
    pub fn expired(&self, now: u64) -> Result<Vec<(CircleId, MemberKey, u64, MessageId)>> {
        let mut out = Vec::new();
        for item in self.expiries.iter() {
            let (key, sealed) = item?;
            let at = u64::from_be_bytes(
                self.open_sealed(&self.expiries, &key, &sealed)?
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::Refused("a stored expiry is damaged".into()))?,
            );
            if at > now || key.len() < 72 {
                continue;
            }
            let bytes = match self.envelope_bytes(&self.messages, &key)? {
                Some(b) => b,
                None => match self.envelope_bytes(&self.forks, &key)? {
                    Some(b) => b,
                    None => {
                        self.expiries.remove(&key)?;
                        continue;
                    }
                },
            };
            let envelope = circle_crypto::Envelope::from_bytes(&bytes)?;
            let h = envelope.header();
            out.push((h.circle, h.author, h.seq, envelope.id()));
        }
        Ok(out)
    }

    /// The earliest expiry held (unix ms), to know when to look again.
    pub fn next_expiry(&self) -> Result<Option<u64>> {
        let mut next: Option<u64> = None;
        for item in self.expiries.iter() {
            let (key, sealed) = item?;
            let plain = self.open_sealed(&self.expiries, &key, &sealed)?;
            if let Ok(bytes) = <[u8; 8]>::try_from(plain.as_slice()) {
                let at = u64::from_be_bytes(bytes);
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        Ok(next)
    }

    /// The sealed expiry record to write beside a message under `key`.
    pub(super) fn sealed_expiry(&self, key: &[u8], at: u64) -> Vec<u8> {
        self.data_key
            .seal(&Self::aad(&self.expiries, key), &at.to_be_bytes())
    }
}
