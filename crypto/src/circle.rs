//! A circle's identity ([`CircleId`]), its shared message key ([`CircleKey`]), and the
//! gossip topic derived from its id ([`topic_for`]).

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::wire::{impl_byte_text, impl_id};
use crate::{CryptoError, rng, text};

/// A circle's 32-byte identifier.
///
/// circle-node derives it from the founder's key and a random nonce, so it is unpredictable.
/// Not secret by itself, but it is only shared with members and invitees: it travels in
/// envelope headers, invites, and join and sync messages, always inside the encrypted
/// connections between nodes. Text form: 52 characters of base32.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CircleId([u8; 32]);

impl CircleId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(rng::array())
    }
}

impl_id!(CircleId, "a circle id");
impl_byte_text!(CircleId, 32);

/// The symmetric key that members of a circle share for one key epoch (XChaCha20-Poly1305).
///
/// Wiped from memory on drop; `Debug` prints `CircleKey(..)`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CircleKey([u8; 32]);

impl CircleKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        Self(rng::array())
    }

    /// Reads 32 bytes; another length is [`CryptoError::BadKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: &[u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(*array))
    }

    /// The 32 key bytes, wiped when the returned value drops.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    pub(crate) fn as_array(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for CircleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CircleKey(..)")
    }
}

/// The gossipsub topic name for a circle: base32 of
/// `blake3::derive_key("circle/topic/v1", circle id)`, 52 characters.
///
/// Those who know the circle id can compute it; those who see only the topic learn nothing
/// about the circle (not even its id).
pub fn topic_for(circle: &CircleId) -> String {
    text::encode(&blake3::derive_key("circle/topic/v1", circle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_id_text_form_round_trips() {
        let id = CircleId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 52);
        assert_eq!(text.parse::<CircleId>(), Ok(id));
        assert_eq!(id.short(), &text[..8]);
        assert_eq!(format!("{id:?}"), format!("CircleId({})", id.short()));
        assert_eq!(CircleId::from_bytes(id.as_bytes()), Ok(id));
        assert!(matches!(
            CircleId::from_bytes(&[0; 31]),
            Err(CryptoError::Malformed(_))
        ));
        let bytes = postcard::to_allocvec(&id).unwrap();
        assert_eq!(bytes, id.as_bytes());
        assert_eq!(postcard::from_bytes::<CircleId>(&bytes).unwrap(), id);
    }

    #[test]
    fn topic_is_stable_opaque_and_per_circle() {
        let a = CircleId::random();
        let b = CircleId::random();
        assert_eq!(topic_for(&a), topic_for(&a));
        assert_ne!(topic_for(&a), topic_for(&b));
        assert_eq!(topic_for(&a).len(), 52);
        assert!(!topic_for(&a).contains(&a.to_string()));
        assert_ne!(topic_for(&a), a.to_string());
    }

    #[test]
    fn circle_key_round_trips_and_hides_in_debug() {
        let key = CircleKey::generate();
        let again = CircleKey::from_bytes(key.to_bytes().as_slice()).unwrap();
        assert_eq!(again.to_bytes(), key.to_bytes());
        assert_eq!(format!("{key:?}"), "CircleKey(..)");
        assert_eq!(
            CircleKey::from_bytes(&[0; 16]).err(),
            Some(CryptoError::BadKey)
        );
    }
}
