//! Key layouts for the store's trees. Integers are big-endian so ranges scan in order.
//!
//! No key names a circle, a member or a peer: where a key needs one, it holds a keyed hash of
//! it ([`Names`]), under a sub-key derived from the store's data key. Without the passphrase
//! the keys cannot be matched against a circle id, member key or peer id seen elsewhere; the
//! clear ids, where the node has to list them back, are kept in sealed values.

use circle_crypto::{CircleId, MemberKey, MessageId, StoreKey};
use zeroize::Zeroizing;

/// The context of the sub-key that names things in keys (blake3's `derive_key`).
const NAMES_CONTEXT: &str = "circle store 2026-12 key names v1";

/// Turns circle ids, member keys and peer ids into the keyed hashes that stand for them in
/// the store's keys: blake3 keyed with a sub-key of the data key, one domain per kind.
#[derive(Clone)]
pub struct Names {
    key: Zeroizing<[u8; 32]>,
}

impl Names {
    /// The names of the store sealed under `data_key`.
    pub fn new(data_key: &StoreKey) -> Names {
        Names {
            key: Zeroizing::new(blake3::derive_key(
                NAMES_CONTEXT,
                data_key.to_bytes().as_slice(),
            )),
        }
    }

    fn hash(&self, domain: &[u8], id: &[u8]) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(domain);
        h.update(&[0]);
        h.update(id);
        *h.finalize().as_bytes()
    }

    /// What stands for `circle` in keys.
    pub fn circle(&self, circle: &CircleId) -> [u8; 32] {
        self.hash(b"circle", circle.as_bytes())
    }

    /// What stands for `member` in keys.
    pub fn member(&self, member: &MemberKey) -> [u8; 32] {
        self.hash(b"member", &member.to_bytes())
    }

    /// What stands for a backup's holder key in keys.
    pub fn holder(&self, holder: &[u8; 32]) -> [u8; 32] {
        self.hash(b"holder", holder)
    }

    /// What stands for a peer (its id as text) in keys.
    pub fn peer(&self, peer: &str) -> [u8; 32] {
        self.hash(b"peer", peer.as_bytes())
    }

    /// circle (32) || n (8): key epochs, arrival order, private entries.
    pub fn epoch_key(&self, circle: &CircleId, n: u64) -> [u8; 40] {
        let mut k = [0u8; 40];
        k[..32].copy_from_slice(&self.circle(circle));
        k[32..].copy_from_slice(&n.to_be_bytes());
        k
    }

    /// circle (32) || member (32): heads.
    pub fn author_key(&self, circle: &CircleId, author: &MemberKey) -> [u8; 64] {
        let mut k = [0u8; 64];
        k[..32].copy_from_slice(&self.circle(circle));
        k[32..].copy_from_slice(&self.member(author));
        k
    }

    /// circle (32) || author (32) || seq (8): messages.
    pub fn message_key(&self, circle: &CircleId, author: &MemberKey, seq: u64) -> [u8; 72] {
        let mut k = [0u8; 72];
        k[..64].copy_from_slice(&self.author_key(circle, author));
        k[64..].copy_from_slice(&seq.to_be_bytes());
        k
    }

    /// circle (32) || author (32) || seq (8) || message id (32): another version of a message.
    pub fn fork_key(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
        id: &MessageId,
    ) -> [u8; 104] {
        let mut k = [0u8; 104];
        k[..72].copy_from_slice(&self.message_key(circle, author, seq));
        k[72..].copy_from_slice(id.as_bytes());
        k
    }
}

/// Where a message lives, in clear: what the `ids` index keeps (sealed) for each message id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub circle: CircleId,
    pub author: MemberKey,
    pub seq: u64,
    /// Set for another version of a message (kept in `forks`).
    pub fork: Option<MessageId>,
}

impl Place {
    /// circle (32) || author (32) || seq (8) [|| id (32)]: the layout of format 2's keys.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(104);
        out.extend_from_slice(self.circle.as_bytes());
        out.extend_from_slice(&self.author.to_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        if let Some(id) = &self.fork {
            out.extend_from_slice(id.as_bytes());
        }
        out
    }

    /// Reads [`Place::to_bytes`]; `None` for damaged bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Place> {
        if bytes.len() != 72 && bytes.len() != 104 {
            return None;
        }
        Some(Place {
            circle: CircleId::from_bytes(&bytes[..32]).ok()?,
            author: MemberKey::from_bytes(&bytes[32..64]).ok()?,
            seq: seq_in(bytes),
            fork: match bytes.get(72..) {
                Some(id) if !id.is_empty() => Some(MessageId::from_bytes(id).ok()?),
                _ => None,
            },
        })
    }

    /// Its key in `messages` (or `forks`) under `names`.
    pub fn key(&self, names: &Names) -> Vec<u8> {
        match &self.fork {
            Some(id) => names
                .fork_key(&self.circle, &self.author, self.seq, id)
                .to_vec(),
            None => names
                .message_key(&self.circle, &self.author, self.seq)
                .to_vec(),
        }
    }
}

/// The big-endian u64 at the end of a key or value (0 if it is shorter than 8 bytes).
pub fn seq_of(bytes: &[u8]) -> u64 {
    bytes
        .len()
        .checked_sub(8)
        .and_then(|start| bytes[start..].try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// The seq inside a message or fork key (0 if it is too short).
pub fn seq_in(key: &[u8]) -> u64 {
    key.get(64..72)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}
