//! A member's keys: [`MemberSecret`] (kept private), [`MemberKey`] (who signed), [`ExchangeKey`]
//! (where to seal data for them), and [`Signature`].

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::wire::impl_byte_text;
use crate::{CryptoError, rng};

/// A member's secret for one circle: an ed25519 signing key and an x25519 key for receiving
/// sealed data (see [`seal_to`](crate::seal_to)).
///
/// Both halves are wiped from memory on drop. `Debug` prints `MemberSecret(..)`; there is no
/// `Display`. Store it only sealed (see [`StoreKey`](crate::StoreKey)).
#[derive(Clone)]
pub struct MemberSecret {
    signing: SigningKey,
    exchange: StaticSecret,
}

impl MemberSecret {
    /// A fresh secret from the operating system's randomness.
    pub fn generate() -> Self {
        let bytes = Zeroizing::new(rng::array::<64>());
        Self::from_array(&bytes)
    }

    /// The 64-byte form: the 32-byte ed25519 seed, then the 32-byte x25519 secret.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        let (signing, exchange) = out.split_at_mut(32);
        signing.copy_from_slice(self.signing.as_bytes());
        exchange.copy_from_slice(self.exchange.as_bytes());
        out
    }

    /// Reads the form [`to_bytes`](Self::to_bytes) writes; anything but 64 bytes is
    /// [`CryptoError::BadKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: &[u8; 64] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::from_array(array))
    }

    fn from_array(bytes: &[u8; 64]) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        let mut exchange = Zeroizing::new([0u8; 32]);
        let (left, right) = bytes.split_at(32);
        seed.copy_from_slice(left);
        exchange.copy_from_slice(right);
        Self {
            signing: SigningKey::from_bytes(&seed),
            exchange: StaticSecret::from(*exchange),
        }
    }

    /// The public key others use to check this member's signatures.
    pub fn public(&self) -> MemberKey {
        MemberKey(self.signing.verifying_key())
    }

    /// The public key others use to seal data to this member.
    pub fn exchange_key(&self) -> ExchangeKey {
        ExchangeKey(x25519_dalek::PublicKey::from(&self.exchange))
    }

    /// Signs `msg` for use in `domain`.
    ///
    /// The signed bytes are `domain.len() as u8 || domain || msg`, so a signature made for one
    /// purpose (say `"circle/envelope/v1"`) never verifies for another (`"circle/invite/v1"`).
    /// Domains are short constant strings of at most 255 bytes; a longer one has its length
    /// byte capped at 255, which keeps the domains of up to 255 bytes apart from each other
    /// but not from longer ones.
    pub fn sign(&self, domain: &str, msg: &[u8]) -> Signature {
        let signed = signed_bytes(domain, msg);
        Signature(self.signing.sign(&signed).to_bytes())
    }

    /// The x25519 secret, for opening sealed data.
    pub(crate) fn exchange_secret(&self) -> &StaticSecret {
        &self.exchange
    }
}

impl std::fmt::Debug for MemberSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberSecret(..)")
    }
}

fn signed_bytes(domain: &str, msg: &[u8]) -> Vec<u8> {
    let len = u8::try_from(domain.len()).unwrap_or(u8::MAX);
    let mut out = Vec::with_capacity(1 + domain.len() + msg.len());
    out.push(len);
    out.extend_from_slice(domain.as_bytes());
    out.extend_from_slice(msg);
    out
}

/// A member's public signing key (ed25519): their identity within a circle.
///
/// Text form: 52 characters of base32 (`Display`/`FromStr`); [`short`](Self::short) for logs.
/// Serde: 32 raw bytes in postcard, the text form in JSON. Decoding refuses bytes that are
/// not a usable key (not a curve point, or a small-order point).
#[derive(Clone, Copy)]
pub struct MemberKey(VerifyingKey);

impl MemberKey {
    /// Checks a signature made with [`MemberSecret::sign`] for the same `domain`.
    ///
    /// Uses ed25519 strict verification (no small-order keys or non-canonical signatures), so
    /// a valid signature cannot be altered into another valid one.
    pub fn verify(&self, domain: &str, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        let signed = signed_bytes(domain, msg);
        self.0
            .verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&sig.0))
            .map_err(|_| CryptoError::BadSignature)
    }

    /// The 32-byte compressed point.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Reads 32 bytes; fails with [`CryptoError::BadKey`] for another length, bytes that are
    /// not a curve point, or a weak (small-order) key that could never verify strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: &[u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        let key = VerifyingKey::from_bytes(array).map_err(|_| CryptoError::BadKey)?;
        if key.is_weak() {
            return Err(CryptoError::BadKey);
        }
        Ok(Self(key))
    }
}

impl_byte_text!(MemberKey, 32);

impl PartialEq for MemberKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes() == other.0.as_bytes()
    }
}

impl Eq for MemberKey {}

impl Hash for MemberKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_bytes().hash(state);
    }
}

impl PartialOrd for MemberKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MemberKey {
    /// Orders by the 32-byte form.
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.as_bytes().cmp(other.0.as_bytes())
    }
}

/// A member's public key for receiving sealed data (x25519).
///
/// Any 32 bytes decode; a degenerate key is refused when sealing
/// ([`seal_to`](crate::seal_to) returns [`CryptoError::BadKey`]): check
/// [`ExchangeKey::can_be_sealed_to`] before accepting one from someone else.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExchangeKey(x25519_dalek::PublicKey);

impl ExchangeKey {
    /// The 32-byte Montgomery u-coordinate.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Reads 32 bytes; another length is [`CryptoError::BadKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(x25519_dalek::PublicKey::from(array)))
    }

    /// Whether data can be sealed to this key: false for a low-order point (zero, one and the
    /// other points of small order), with which every exchange gives the all-zero secret that
    /// [`seal_to`](crate::seal_to) refuses. Every exchange key a real secret makes passes.
    pub fn can_be_sealed_to(&self) -> bool {
        // Clamped scalars are multiples of the cofactor, so an exchange with any of them is
        // all zero exactly when the point has small order (RFC 7748, section 6.1).
        StaticSecret::from([1u8; 32])
            .diffie_hellman(&self.0)
            .was_contributory()
    }
}

impl_byte_text!(ExchangeKey, 32);

impl PartialOrd for ExchangeKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ExchangeKey {
    /// Orders by the 32-byte form.
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.as_bytes().cmp(other.0.as_bytes())
    }
}

/// An ed25519 signature (64 bytes), made by [`MemberSecret::sign`].
///
/// Serde: 64 raw bytes in postcard (no length prefix), base32 text in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 64]);

impl Signature {
    /// The 64 signature bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }

    /// Reads 64 bytes; another length is [`CryptoError::BadSignature`]. Whether the bytes
    /// are a valid signature is checked by [`MemberKey::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; 64] = bytes.try_into().map_err(|_| CryptoError::BadSignature)?;
        Ok(Self(array))
    }

    pub(crate) const fn from_array(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }
}

impl_byte_text!(Signature, 64);

#[cfg(test)]
mod tests;
