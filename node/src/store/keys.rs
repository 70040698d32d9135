//! Key layouts for the store's trees. Integers are big-endian so ranges scan in order.

use circle_crypto::{CircleId, MemberKey, MessageId};

/// circle (32) || n (8): key epochs, arrival order.
pub fn epoch_key(circle: &CircleId, n: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(circle.as_bytes());
    k[32..].copy_from_slice(&n.to_be_bytes());
    k
}

/// circle (32) || member (32): heads, admissions.
pub fn author_key(circle: &CircleId, author: &MemberKey) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(circle.as_bytes());
    k[32..].copy_from_slice(&author.to_bytes());
    k
}

/// circle (32) || author (32) || seq (8): messages.
pub fn message_key(circle: &CircleId, author: &MemberKey, seq: u64) -> [u8; 72] {
    let mut k = [0u8; 72];
    k[..64].copy_from_slice(&author_key(circle, author));
    k[64..].copy_from_slice(&seq.to_be_bytes());
    k
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

/// circle (32) || author (32) || seq (8) || message id (32): another version of a message.
pub fn fork_key(circle: &CircleId, author: &MemberKey, seq: u64, id: &MessageId) -> [u8; 104] {
    let mut k = [0u8; 104];
    k[..72].copy_from_slice(&message_key(circle, author, seq));
    k[72..].copy_from_slice(id.as_bytes());
    k
}

/// The seq inside a message or fork key (0 if it is too short).
pub fn seq_in(key: &[u8]) -> u64 {
    key.get(64..72)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}
