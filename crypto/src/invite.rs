//! [`Invite`]: a signed, one-time ticket into a circle, passed between people as text.
//!
//! Token form: `circle1` followed by base32 of `payload || checksum`, where `payload` is
//! the postcard encoding of the invite's fields and then the inviter's 64-byte signature over
//! those field bytes (domain `"circle/invite/v1"`), and `checksum` is the first 4 bytes of
//! `blake3(payload)`. The checksum tells a copying mistake ([`InviteError::Damaged`]) from
//! tampering ([`InviteError::BadSignature`]).

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::wire::{self, impl_byte_text, impl_id};
use crate::{CircleId, CryptoError, InviteError, MemberKey, MemberSecret, Signature, rng, text};

/// The invite format version this build writes and reads.
pub const INVITE_VERSION: u8 = 1;

/// The longest token text accepted, not counting whitespace.
pub const MAX_INVITE_TOKEN_CHARS: usize = 8192;

const DOMAIN: &str = "circle/invite/v1";
const PREFIX: &str = "circle1";
const CHECKSUM_LEN: usize = 4;

/// The secret inside an invite: whoever holds it may ask to join, once.
///
/// Members learn only its [`id`](Self::id) and the public half of its [`join_key`](Self::join_key),
/// with which they check a joiner's proof; neither reveals the secret. Wiped from memory on drop;
/// `Debug` prints `InviteSecret(..)`;
/// equality is constant-time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct InviteSecret([u8; 32]);

impl InviteSecret {
    /// A fresh secret from the operating system's randomness.
    pub fn generate() -> Self {
        Self(rng::array())
    }

    /// Reads 32 bytes; another length is [`CryptoError::BadKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: &[u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(*array))
    }

    /// The 32 secret bytes, wiped when the returned value drops.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    /// The public name of this invite: `blake3::derive_key("circle/invite-id/v1", secret)`.
    pub fn id(&self) -> InviteId {
        InviteId(blake3::derive_key("circle/invite-id/v1", &self.0))
    }

    /// The signing key of this invite: an ed25519 key whose 64-byte [`MemberSecret`] form is
    /// read from blake3 in key-derivation mode (`"circle/invite-key/v1"`) keyed by the secret.
    ///
    /// The inviter publishes its public half to the circle, so every member can check that a
    /// joiner held the invite: the joiner signs its profile with this key
    /// ([`MemberSecret::sign`], a domain of its own).
    pub fn join_key(&self) -> MemberSecret {
        let mut bytes = Zeroizing::new([0u8; 64]);
        blake3::Hasher::new_derive_key("circle/invite-key/v1")
            .update(&self.0)
            .finalize_xof()
            .fill(bytes.as_mut_slice());
        MemberSecret::from_bytes(bytes.as_slice()).expect("64 bytes make a member secret")
    }
}

impl PartialEq for InviteSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for InviteSecret {}

impl std::fmt::Debug for InviteSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InviteSecret(..)")
    }
}

/// The public id of an invite, derived from its secret (see [`InviteSecret::id`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InviteId([u8; 32]);

impl_id!(InviteId, "an invite id");
impl_byte_text!(InviteId, 32);

/// An invitation into a circle, signed by the member who made it.
///
/// Make one with [`create`](Self::create) and pass [`to_token`](Self::to_token) to the
/// invitee, who reads it with [`from_token`](Self::from_token) and then checks
/// [`check_expiry`](Self::check_expiry). The fields are public to read; changing one after
/// `create` leaves the signature stale, and [`verify`](Self::verify) (and `from_token` on the
/// resulting token) will refuse it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    /// Format version; [`INVITE_VERSION`] for invites this build makes.
    pub version: u8,
    /// The circle to join.
    pub circle: CircleId,
    /// The circle's name, as the inviter calls it (shown to the invitee before joining).
    pub circle_name: String,
    /// The member who made and signed the invite.
    pub inviter: MemberKey,
    /// When the invite stops being valid, in unix seconds.
    pub expires_at: u64,
    /// The one-time secret the invitee proves knowledge of when joining.
    pub secret: InviteSecret,
    /// Where to reach members: libp2p multiaddrs ending in `/p2p/<peer id>`, as text.
    pub addrs: Vec<String>,
    signature: Signature,
}

#[derive(Serialize)]
struct FieldsRef<'a> {
    version: u8,
    circle: CircleId,
    circle_name: &'a str,
    inviter: MemberKey,
    expires_at: u64,
    secret: &'a [u8; 32],
    addrs: &'a [String],
}

#[derive(Deserialize)]
struct Fields {
    version: u8,
    circle: CircleId,
    circle_name: String,
    inviter: MemberKey,
    expires_at: u64,
    secret: SecretBytes,
    addrs: Vec<String>,
}

/// Holds decoded secret bytes until they move into an [`InviteSecret`], and wipes them.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct SecretBytes([u8; 32]);

impl Invite {
    /// Makes and signs an invite with a fresh random secret.
    ///
    /// Keep `circle_name` and `addrs` short: a token over [`MAX_INVITE_TOKEN_CHARS`] is
    /// refused by `from_token` (about 5,000 bytes of name and addresses in all).
    pub fn create(
        inviter: &MemberSecret,
        circle: CircleId,
        circle_name: &str,
        expires_at: u64,
        addrs: Vec<String>,
    ) -> Invite {
        let mut invite = Invite {
            version: INVITE_VERSION,
            circle,
            circle_name: circle_name.to_owned(),
            inviter: inviter.public(),
            expires_at,
            secret: InviteSecret::generate(),
            addrs,
            signature: Signature::from_array([0; 64]),
        };
        invite.signature = inviter.sign(DOMAIN, &invite.signed_bytes());
        invite
    }

    /// The text form to hand to the invitee: `circle1` and base32, one line, lower case.
    pub fn to_token(&self) -> String {
        let mut payload = self.signed_bytes();
        payload.extend_from_slice(&self.signature.to_bytes());
        let checksum = blake3::hash(&payload);
        payload.extend_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
        format!("{PREFIX}{}", text::encode(&payload))
    }

    /// Reads a token as pasted: ASCII whitespace anywhere (line breaks, spaces) and letter
    /// case are ignored.
    ///
    /// In order: more than [`MAX_INVITE_TOKEN_CHARS`] non-whitespace characters is
    /// [`InviteError::TooLarge`]; no `circle1` prefix is [`InviteError::NotAnInvite`]; bad
    /// base32, a checksum mismatch, or fields that do not decode is [`InviteError::Damaged`];
    /// another format version is [`InviteError::UnsupportedVersion`]; a signature that does
    /// not verify under `inviter` is [`InviteError::BadSignature`]. Expiry is not checked
    /// here: call [`check_expiry`](Self::check_expiry).
    pub fn from_token(text: &str) -> Result<Invite, InviteError> {
        let compact = compact(text)?;
        let body = compact
            .get(..PREFIX.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
            .and_then(|_| compact.get(PREFIX.len()..))
            .ok_or(InviteError::NotAnInvite)?;
        let decoded = Zeroizing::new(text::decode(body).map_err(|_| InviteError::Damaged)?);
        let split = decoded
            .len()
            .checked_sub(CHECKSUM_LEN)
            .ok_or(InviteError::Damaged)?;
        let (payload, checksum) = decoded
            .split_at_checked(split)
            .ok_or(InviteError::Damaged)?;
        if blake3::hash(payload).as_bytes().get(..CHECKSUM_LEN) != Some(checksum) {
            return Err(InviteError::Damaged);
        }
        Self::from_payload(payload)
    }

    fn from_payload(payload: &[u8]) -> Result<Invite, InviteError> {
        match payload.first() {
            None => return Err(InviteError::Damaged),
            Some(&version) if version != INVITE_VERSION => {
                return Err(InviteError::UnsupportedVersion(version));
            }
            Some(_) => {}
        }
        let (fields, signature) =
            postcard::take_from_bytes::<Fields>(payload).map_err(|_| InviteError::Damaged)?;
        let signed = payload
            .get(..payload.len() - signature.len())
            .ok_or(InviteError::Damaged)?;
        let signature = Signature::from_bytes(signature).map_err(|_| InviteError::Damaged)?;
        let invite = Invite {
            version: fields.version,
            circle: fields.circle,
            circle_name: fields.circle_name,
            inviter: fields.inviter,
            expires_at: fields.expires_at,
            secret: InviteSecret(fields.secret.0),
            addrs: fields.addrs,
            signature,
        };
        // One invite, one encoding: a token must re-encode to the bytes that were signed.
        if invite.signed_bytes().as_slice() != signed {
            return Err(InviteError::Damaged);
        }
        invite.verify()?;
        Ok(invite)
    }

    /// `Ok` while `now_unix` is before `expires_at`; [`InviteError::Expired`] from then on.
    pub fn check_expiry(&self, now_unix: u64) -> Result<(), InviteError> {
        if now_unix >= self.expires_at {
            return Err(InviteError::Expired {
                expired_at: self.expires_at,
            });
        }
        Ok(())
    }

    /// The invite's public id (see [`InviteSecret::id`]).
    pub fn id(&self) -> InviteId {
        self.secret.id()
    }

    /// Checks the inviter's signature over the current fields. Invites from
    /// [`create`](Self::create) and [`from_token`](Self::from_token) pass unless a field has
    /// been changed since.
    pub fn verify(&self) -> Result<(), InviteError> {
        self.inviter
            .verify(DOMAIN, &self.signed_bytes(), &self.signature)
            .map_err(|_| InviteError::BadSignature)
    }

    /// The inviter's signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The field bytes the inviter signs. They contain the secret: wiped on drop.
    fn signed_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(wire::to_vec(&FieldsRef {
            version: self.version,
            circle: self.circle,
            circle_name: &self.circle_name,
            inviter: self.inviter,
            expires_at: self.expires_at,
            secret: &self.secret.0,
            addrs: &self.addrs,
        }))
    }
}

/// The token without ASCII whitespace, refusing overly long text early.
fn compact(text: &str) -> Result<Zeroizing<String>, InviteError> {
    let mut out = Zeroizing::new(String::new());
    for (count, c) in text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .enumerate()
    {
        if count >= MAX_INVITE_TOKEN_CHARS {
            return Err(InviteError::TooLarge);
        }
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
