//! Who is in a circle, and who may do what, derived from signed records.
//!
//! A circle starts with a [`Genesis`] signed by its founder; the circle id is derived from the
//! founder's key and a random nonce, so a genesis cannot be swapped for another. A member's own
//! [`Profile`] (name, key for sealed delivery, node) is signed by that member.
//!
//! Everything after the genesis is an [`Op`]: a membership operation carried as an ordinary
//! message in its author's chain (so it is sealed, signed, numbered and synced like a share).
//! [`Membership::derive`] computes members, roles, policy, invites and key epochs from the
//! genesis and any set of operations, whatever order they arrived in (see `derive.rs` and
//! docs/PROTOCOL.md, "Membership").

mod derivation;
mod derive;
mod ops;
#[cfg(test)]
mod tests;

pub use derivation::Derivation;
pub(crate) use derive::InviteUnusable;
pub use derive::{Departed, InviteState, Member, Membership, OpEntry, Role};
pub use ops::{
    Acked, InvitePolicy, JOIN_PROOF_DOMAIN, MAX_GUIDELINES_BYTES, MAX_MEMBERS, MAX_SEEN_AUTHORS,
    Op, RETURN_DOMAIN, return_vouch_bytes,
};
pub use ops::{EPOCH_DOMAIN, KEY_COMMITMENT_DOMAIN, epoch_of, key_commitment};

use circle_crypto::{CircleId, ExchangeKey, MemberKey, MemberSecret, Signature};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

/// Longest member nickname, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest circle name, in characters.
pub const MAX_CIRCLE_NAME_CHARS: usize = 100;
/// Largest signed membership record, in bytes.
pub const MAX_RECORD_BYTES: usize = 4096;

const PROFILE_DOMAIN: &str = "circle/profile/v2";
const GENESIS_DOMAIN: &str = "circle/genesis/v2";
/// Version of the genesis record this build writes and reads.
pub const GENESIS_VERSION: u8 = 2;

/// Checks a nickname or circle name typed by a person.
pub fn check_name(what: &str, name: &str, max: usize) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid(format!("the {what} cannot be empty")));
    }
    if name.chars().count() > max {
        return Err(Error::Invalid(format!(
            "the {what} is too long (at most {max} characters)"
        )));
    }
    if name == "." || name == ".." {
        // They would turn into path steps in the local API's URLs.
        return Err(Error::Invalid(format!("the {what} cannot be '.' or '..'")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "the {what} cannot contain control characters"
        )));
    }
    Ok(name.to_string())
}

/// Bytes and the signature over them: how every membership record travels.
#[derive(Serialize, Deserialize)]
struct Signed {
    bytes: Vec<u8>,
    signature: Signature,
}

fn sign<T: Serialize>(secret: &MemberSecret, domain: &str, value: &T) -> Vec<u8> {
    let bytes = postcard::to_allocvec(value).expect("membership records always encode");
    let signature = secret.sign(domain, &bytes);
    postcard::to_allocvec(&Signed { bytes, signature }).expect("signed records always encode")
}

/// Decodes postcard bytes that hold exactly one value in its one canonical form: trailing bytes
/// and over-long length prefixes (which postcard would accept) are refused, so a record has
/// exactly one wire form.
pub(crate) fn decode_exact<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) if postcard::to_allocvec(&value).ok()? == bytes => Some(value),
        _ => None,
    }
}

/// Decodes a signed record, then verifies it with the key `signer` names in it.
fn open<T: DeserializeOwned + Serialize>(
    what: &str,
    domain: &str,
    wire: &[u8],
    signer: impl Fn(&T) -> Result<MemberKey>,
) -> Result<T> {
    if wire.len() > MAX_RECORD_BYTES {
        return Err(Error::Refused(format!("{what} is too large")));
    }
    let undecodable = || Error::Refused(format!("{what} does not decode"));
    let signed: Signed = decode_exact(wire).ok_or_else(undecodable)?;
    let value: T = decode_exact(&signed.bytes).ok_or_else(undecodable)?;
    signer(&value)?
        .verify(domain, &signed.bytes, &signed.signature)
        .map_err(|_| Error::Refused(format!("{what} has a bad signature")))?;
    Ok(value)
}

/// A member's self-description inside one circle, signed by the member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The circle this profile belongs to.
    pub circle: CircleId,
    /// The member's signing key in this circle.
    pub member: MemberKey,
    /// The key circle keys are sealed to for this member.
    pub exchange: ExchangeKey,
    /// The member's nickname in this circle.
    pub name: String,
    /// The peer id (bytes) of the node this member runs: only member nodes may connect.
    pub node: Vec<u8>,
}

/// Longest peer id, in bytes (an ed25519 peer id is 38).
pub const MAX_NODE_ID_BYTES: usize = 64;

impl Profile {
    /// Signs a profile for `secret` in `circle`, run by the node `node` (peer id bytes).
    pub fn sign(
        secret: &MemberSecret,
        circle: CircleId,
        name: &str,
        node: &[u8],
    ) -> Result<Vec<u8>> {
        let name = check_name("nickname", name, MAX_NAME_CHARS)?;
        if node.is_empty() || node.len() > MAX_NODE_ID_BYTES {
            return Err(Error::Invalid("a profile needs its node's peer id".into()));
        }
        let profile = Profile {
            circle,
            member: secret.public(),
            exchange: secret.exchange_key(),
            name,
            node: node.to_vec(),
        };
        Ok(sign(secret, PROFILE_DOMAIN, &profile))
    }

    /// Decodes and verifies a signed profile.
    pub fn open(wire: &[u8]) -> Result<Profile> {
        let mut p: Profile = open("member profile", PROFILE_DOMAIN, wire, |p: &Profile| {
            Ok(p.member)
        })?;
        p.name = check_name("nickname", &p.name, MAX_NAME_CHARS)?;
        if p.node.is_empty() || p.node.len() > MAX_NODE_ID_BYTES {
            return Err(Error::Refused("member profile has no valid node id".into()));
        }
        // No circle key could ever be sealed to such a member: admitting them would stop
        // every rotation (docs/SECURITY.md, "A member no key can be sealed to").
        if !p.exchange.can_be_sealed_to() {
            return Err(Error::Refused(
                "member profile has an exchange key nothing can be sealed to".into(),
            ));
        }
        Ok(p)
    }

    /// Signs `profile` exactly as given, with no check of its fields: what a modified program
    /// could write. For attacker tests and tools; [`Profile::sign`] is the honest way.
    #[doc(hidden)]
    pub fn sign_as_given(secret: &MemberSecret, profile: &Profile) -> Vec<u8> {
        sign(secret, PROFILE_DOMAIN, profile)
    }
}

/// The record that starts a circle.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct GenesisBody {
    version: u8,
    nonce: [u8; 32],
    name: String,
    created_at: u64,
    founder: Vec<u8>,
}

/// A verified genesis record.
#[derive(Clone, Debug)]
pub struct Genesis {
    /// The circle's id, derived from the founder's key and a nonce.
    pub circle: CircleId,
    /// The circle's name.
    pub name: String,
    /// When the circle was created (unix ms).
    pub created_at: u64,
    /// The founder's profile.
    pub founder: Profile,
}

fn derive_circle_id(founder: &MemberKey, nonce: &[u8; 32]) -> CircleId {
    let mut input = founder.to_bytes().to_vec();
    input.extend_from_slice(nonce);
    let id = blake3::derive_key("circle/id/v1", &input);
    CircleId::from_bytes(&id).expect("32 bytes make a circle id")
}

impl Genesis {
    /// Creates a new circle founded by `founder`, whose node is `node`; returns the wire bytes.
    pub fn create(
        founder: &MemberSecret,
        name: &str,
        nick: &str,
        node: &[u8],
        now_ms: u64,
    ) -> Result<Vec<u8>> {
        let name = check_name("circle name", name, MAX_CIRCLE_NAME_CHARS)?;
        let nonce: [u8; 32] = rand::random();
        let circle = derive_circle_id(&founder.public(), &nonce);
        let body = GenesisBody {
            version: GENESIS_VERSION,
            nonce,
            name,
            created_at: now_ms,
            founder: Profile::sign(founder, circle, nick, node)?,
        };
        Ok(sign(founder, GENESIS_DOMAIN, &body))
    }

    /// Decodes and verifies a genesis record, including the binding of id to founder.
    pub fn open(wire: &[u8]) -> Result<Genesis> {
        // The signer is the founder named in the embedded (self-signed) profile.
        let body: GenesisBody = open("circle record", GENESIS_DOMAIN, wire, |b: &GenesisBody| {
            Profile::open(&b.founder).map(|p| p.member)
        })?;
        if body.version != GENESIS_VERSION {
            return Err(Error::Refused(format!(
                "circle record version {} is not supported",
                body.version
            )));
        }
        let founder = Profile::open(&body.founder)?;
        let circle = derive_circle_id(&founder.member, &body.nonce);
        if founder.circle != circle {
            return Err(Error::Refused(
                "circle record does not match its founder".into(),
            ));
        }
        let name = check_name("circle name", &body.name, MAX_CIRCLE_NAME_CHARS)?;
        Ok(Genesis {
            circle,
            name,
            created_at: body.created_at,
            founder,
        })
    }
}
