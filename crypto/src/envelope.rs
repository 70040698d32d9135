//! [`Envelope`]: the signed, sealed unit that travels between members and is stored.
//!
//! Wire form (postcard), version 1:
//!
//! ```text
//! envelope = { body: bytes, signature: [u8; 64] }         signature by header.author over
//! body     = { header: Header, nonce: [u8; 24],            body, domain "circle/envelope/v1"
//!              ciphertext: bytes }
//! ciphertext = XChaCha20-Poly1305(circle key, nonce, aad = the header's bytes in body)
//! ```
//!
//! The header's first byte is its version, so a reader can refuse a newer format before
//! trying to decode it. The outer `{ body, signature }` frame stays the same in every version.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::wire::{self, impl_byte_text, impl_id};
use crate::{CircleId, CircleKey, CryptoError, MemberKey, MemberSecret, Signature, rng, sym};

/// The envelope format version this build writes and reads.
pub const ENVELOPE_VERSION: u8 = 1;

/// The largest envelope, in wire bytes, that is sealed or accepted.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024;

const DOMAIN: &str = "circle/envelope/v1";

/// The clear part of an envelope: who wrote it, where, and in what order.
///
/// It travels unencrypted (members and relaying peers need it to order and sync), is signed
/// with the rest of the envelope, and is bound to the ciphertext as associated data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Format version; [`ENVELOPE_VERSION`] for envelopes this build seals.
    pub version: u8,
    /// The circle this envelope belongs to.
    pub circle: CircleId,
    /// The key epoch whose [`CircleKey`] sealed the body.
    pub epoch: u64,
    /// The member who wrote and signed the envelope.
    pub author: MemberKey,
    /// The author's sequence number in this circle, starting at 1. Not checked here.
    pub seq: u64,
    /// The id of the author's previous envelope in this circle (`None` for the first). Not
    /// checked here.
    pub prev: Option<MessageId>,
}

/// An envelope's id: the blake3 hash of its full wire bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId([u8; 32]);

impl_id!(MessageId, "a message id");
impl_byte_text!(MessageId, 32);

#[derive(Serialize, Deserialize)]
struct Frame<'a> {
    body: &'a [u8],
    signature: Signature,
}

#[derive(Serialize)]
struct BodyRef<'a> {
    header: &'a Header,
    nonce: [u8; sym::NONCE_LEN],
    ciphertext: &'a [u8],
}

/// A signed, sealed message.
///
/// A value of this type always carries a valid signature by `header().author`: the only ways
/// to get one are [`seal`](Self::seal) and [`from_bytes`](Self::from_bytes), which verifies.
/// Whether the author belongs to the circle, and whether `seq`/`prev` fit, is for the caller.
///
/// `Debug` shows the id, header and sizes, never ciphertext bytes. Two envelopes are equal
/// when their wire bytes are.
#[derive(Clone)]
pub struct Envelope {
    bytes: Vec<u8>,
    id: MessageId,
    header: Header,
    /// The header exactly as it appears in the body: the associated data.
    header_bytes: Vec<u8>,
    nonce: [u8; sym::NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl Envelope {
    /// Encrypts `plaintext` under `key`, binds `header` to it, and signs the result.
    ///
    /// Fails with [`CryptoError::BadKey`] if `header.author` is not `author.public()`,
    /// [`CryptoError::UnsupportedVersion`] if `header.version` is not [`ENVELOPE_VERSION`], and
    /// [`CryptoError::TooLarge`] if the envelope would exceed [`MAX_ENVELOPE_BYTES`] (`size`
    /// is the plaintext's length when it alone is over the limit, else the envelope's).
    pub fn seal(
        author: &MemberSecret,
        key: &CircleKey,
        header: Header,
        plaintext: &[u8],
    ) -> Result<Envelope, CryptoError> {
        if header.version != ENVELOPE_VERSION {
            return Err(CryptoError::UnsupportedVersion(header.version));
        }
        if header.author != author.public() {
            return Err(CryptoError::BadKey);
        }
        if plaintext.len() > MAX_ENVELOPE_BYTES {
            return Err(too_large(plaintext.len()));
        }
        let header_bytes = wire::to_vec(&header);
        let nonce = rng::array::<{ sym::NONCE_LEN }>();
        let ciphertext = sym::encrypt(key.as_array(), &nonce, &header_bytes, plaintext)?;
        let body = wire::to_vec(&BodyRef {
            header: &header,
            nonce,
            ciphertext: &ciphertext,
        });
        let signature = author.sign(DOMAIN, &body);
        let bytes = wire::to_vec(&Frame {
            body: &body,
            signature,
        });
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(too_large(bytes.len()));
        }
        Ok(Envelope {
            id: MessageId(blake3::hash(&bytes).into()),
            bytes,
            header,
            header_bytes,
            nonce,
            ciphertext,
        })
    }

    /// Reads and verifies received wire bytes.
    ///
    /// In order: over [`MAX_ENVELOPE_BYTES`] is [`CryptoError::TooLarge`]; bytes that do not
    /// decode, have trailing bytes, or frame the body non-canonically (which would give one
    /// envelope two ids) are [`CryptoError::Malformed`]; another version is
    /// [`CryptoError::UnsupportedVersion`]; a signature that does not verify strictly under
    /// the header's author is [`CryptoError::BadSignature`]. The ciphertext is not checked
    /// until [`open`](Self::open).
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, CryptoError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(too_large(bytes.len()));
        }
        let frame: Frame = take_all(bytes, "the envelope frame")?;
        if wire::to_vec(&frame) != bytes {
            return Err(malformed("the envelope frame is not in canonical form"));
        }
        let body = frame.body;
        match body.first() {
            None => return Err(malformed("the envelope body is empty")),
            Some(&version) if version != ENVELOPE_VERSION => {
                return Err(CryptoError::UnsupportedVersion(version));
            }
            Some(_) => {}
        }
        let (header, rest) = postcard::take_from_bytes::<Header>(body)
            .map_err(|_| malformed("the envelope header does not decode"))?;
        let header_bytes = body
            .get(..body.len() - rest.len())
            .ok_or_else(|| malformed("the envelope header does not decode"))?;
        let (nonce, rest) = postcard::take_from_bytes::<[u8; sym::NONCE_LEN]>(rest)
            .map_err(|_| malformed("the envelope nonce is cut short"))?;
        let ciphertext: &[u8] = take_all(rest, "the envelope ciphertext")?;

        header.author.verify(DOMAIN, body, &frame.signature)?;

        Ok(Envelope {
            id: MessageId(blake3::hash(bytes).into()),
            bytes: bytes.to_vec(),
            header,
            header_bytes: header_bytes.to_vec(),
            nonce,
            ciphertext: ciphertext.to_vec(),
        })
    }

    /// The wire bytes: exactly those received by [`from_bytes`](Self::from_bytes).
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The clear, signed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The id: blake3 of the wire bytes.
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// Decrypts the body with the circle key of the header's epoch.
    ///
    /// A wrong key, or a ciphertext or header that was changed, is [`CryptoError::Decrypt`].
    /// The plaintext is wiped when the returned value drops.
    pub fn open(&self, key: &CircleKey) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        sym::decrypt(
            key.as_array(),
            &self.nonce,
            &self.header_bytes,
            &self.ciphertext,
        )
    }
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("id", &self.id)
            .field("header", &self.header)
            .field("ciphertext_len", &self.ciphertext.len())
            .field("wire_len", &self.bytes.len())
            .finish()
    }
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Envelope {}

/// Decodes a `T` that must use all of `bytes`.
fn take_all<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, CryptoError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err(CryptoError::Malformed(format!("{what} has trailing bytes"))),
        Err(_) => Err(CryptoError::Malformed(format!("{what} does not decode"))),
    }
}

fn malformed(what: &str) -> CryptoError {
    CryptoError::Malformed(what.to_owned())
}

fn too_large(size: usize) -> CryptoError {
    CryptoError::TooLarge {
        size,
        limit: MAX_ENVELOPE_BYTES,
    }
}

#[cfg(test)]
mod tests;
