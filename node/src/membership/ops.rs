//! Membership operations: what a member can do to the circle itself.
//!
//! An [`Op`] travels as the content of an ordinary message (`Body::Op`), so it is sealed under
//! the circle key, signed by its author and numbered in the author's chain. Whether it takes
//! effect is decided by [`super::Membership::derive`]; [`Op::check`] only refuses what no
//! circle could ever accept (sizes, shapes), so that such bytes are never stored.

use circle_crypto::{InviteId, MemberKey, MessageId, Signature};
use serde::{Deserialize, Serialize};

use super::{MAX_CIRCLE_NAME_CHARS, MAX_NODE_ID_BYTES, MAX_RECORD_BYTES, Profile, check_name};
use crate::error::{Error, Result};
use crate::kind::Kind;

/// Most members a circle can hold (support circles are 5 to 50 people).
pub const MAX_MEMBERS: usize = 250;
/// Domain of a joiner's signature over its profile with the invite's key.
pub const JOIN_PROOF_DOMAIN: &str = "circle/join-proof/v2";
/// Domain of a returning member's signature, with the member key they had before, over the
/// circle id and their new member key ([`return_vouch_bytes`]).
pub const RETURN_DOMAIN: &str = "circle/return/v1";
/// Largest sealed circle key for one member (HPKE: 32-byte encapsulation + 32 + 16).
const MAX_SEALED_KEY_BYTES: usize = 128;
/// Most key epochs handed to a joiner in one admission.
const MAX_ADMIT_EPOCHS: usize = 4096;

/// Most authors an operation's [`Acked::seen`] names: every member and as many departed.
pub const MAX_SEEN_AUTHORS: usize = 2 * MAX_MEMBERS;

/// A membership operation with what its author had seen when writing it (content tag 15,
/// membership version 4). What an author acknowledged bounds what their later removals and
/// demotions can cut (docs/PROTOCOL.md, section 6.5, step 3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Acked {
    /// The operation.
    pub op: Op,
    /// For each author, the highest number up to which the writing node held every message
    /// of theirs; sorted by author key, each author once, no zero.
    pub seen: Vec<(MemberKey, u64)>,
}

impl Acked {
    /// Refuses what no circle could accept: a malformed operation or acknowledgement.
    pub fn check(&self) -> Result<()> {
        self.op.check()?;
        if self.seen.len() > MAX_SEEN_AUTHORS {
            return Err(Error::Refused(
                "an operation acknowledging too many authors".into(),
            ));
        }
        let sorted = self.seen.windows(2).all(|w| w[0].0 < w[1].0);
        if !sorted || self.seen.iter().any(|(_, seq)| *seq == 0) {
            return Err(Error::Refused(
                "an operation whose acknowledgement is out of order".into(),
            ));
        }
        Ok(())
    }
}

/// Who may invite people into a circle.
// Names in JSON only: the wire form, postcard, numbers the variants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitePolicy {
    /// Only admins (the default).
    #[default]
    Admins,
    /// Any member.
    Members,
}

impl InvitePolicy {
    /// The word people type and see.
    pub fn as_str(&self) -> &'static str {
        match self {
            InvitePolicy::Admins => "admins",
            InvitePolicy::Members => "members",
        }
    }
}

impl std::str::FromStr for InvitePolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "admins" => Ok(InvitePolicy::Admins),
            "members" => Ok(InvitePolicy::Members),
            other => Err(Error::Invalid(format!(
                "'{other}' is not an invite policy: use admins or members"
            ))),
        }
    }
}

/// One membership operation. New kinds are appended, never reordered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Registers an invite with the circle, so every member's node can check joins through it.
    Invite {
        /// The invite's public id.
        id: InviteId,
        /// The invite's public signing key ([`circle_crypto::InviteSecret::join_key`]).
        key: MemberKey,
        /// Expiry, unix seconds.
        expires_at: u64,
        /// How many people it may let in.
        uses: u32,
        /// If set, only the node with this peer id (bytes) may join through it.
        bound: Option<Vec<u8>>,
    },
    /// Ends an invite before its time.
    RevokeInvite {
        /// Which invite.
        id: InviteId,
    },
    /// Lets a new member in through an invite.
    Admit {
        /// The new member's signed profile.
        profile: Vec<u8>,
        /// The invite used.
        invite: InviteId,
        /// The joiner's signature over `profile` with the invite's key.
        proof: Signature,
        /// The key epochs the admitting node sealed to the new member.
        epochs: Vec<u64>,
    },
    /// Removes a member. Their messages numbered up to `upto` stay; later ones are refused.
    Remove {
        /// Who.
        member: MemberKey,
        /// The highest of their sequence numbers the remover held.
        upto: u64,
    },
    /// The author leaves the circle.
    Leave,
    /// Makes a member an admin.
    Grant {
        /// Who.
        member: MemberKey,
    },
    /// Makes an admin a plain member. Their operations numbered after `upto` have no admin
    /// authority (unless they are made admin again later), however they are dated.
    Revoke {
        /// Who.
        member: MemberKey,
        /// The highest of their sequence numbers the revoker held.
        upto: u64,
    },
    /// Sets who may invite.
    Policy {
        /// The new policy.
        invites: InvitePolicy,
    },
    /// Renames the circle.
    Rename {
        /// The new name.
        name: String,
    },
    /// Starts a new key epoch: a fresh circle key sealed to each member.
    Rekey {
        /// The new epoch's id (random, never 0).
        epoch: u64,
        /// The new key sealed to each member (HPKE to their exchange key).
        keys: Vec<(MemberKey, Vec<u8>)>,
    },
    /// Sets the circle's format and guidelines (admins only), shown to joiners before they
    /// accept.
    Guidelines {
        /// The format the circle follows.
        format: crate::support::Format,
        /// The guidelines (may be empty).
        text: String,
    },
    /// Lets someone who left or was removed back in through an invite, under a new member
    /// key (the old one stays cut), as the same person: the old key vouches for the new one.
    /// Counts as an [`Op::Admit`] that also needs: `former` departed and not back already,
    /// `vouch` by `former`, and, when `former` was removed, an admin's admission through an
    /// admin's invite. Added in membership v3; nodes before it refuse this operation.
    Return {
        /// The returning member's new signed profile.
        profile: Vec<u8>,
        /// The invite used.
        invite: InviteId,
        /// The joiner's signature over `profile` with the invite's key.
        proof: Signature,
        /// The key epochs the admitting node sealed to the new member key.
        epochs: Vec<u64>,
        /// The member key they had before.
        former: MemberKey,
        /// Signature by `former` ([`RETURN_DOMAIN`]) over [`return_vouch_bytes`].
        vouch: Signature,
    },
    /// Starts a new key epoch: a fresh circle key sealed to each member so that anyone who
    /// holds it can check every copy, with a commitment to it. Its epoch id is
    /// [`epoch_of`] its author and number, never chosen. Added in membership v4, replacing
    /// [`Op::Rekey`].
    NewKey {
        /// The new key sealed to each member (checkable HPKE to their exchange key,
        /// docs/PROTOCOL.md section 8).
        keys: Vec<(MemberKey, Vec<u8>)>,
        /// [`key_commitment`] of the new key.
        commitment: [u8; 32],
    },
    /// Removes a member, pinning the last message of theirs that counts by its id: any other
    /// version of that number is refused. Added in membership v5, written instead of
    /// [`Op::Remove`].
    RemoveAt {
        /// Who.
        member: MemberKey,
        /// The number of their last message that counts: the highest up to which the remover
        /// held every one.
        upto: u64,
        /// The id of that message (none when `upto` is 0).
        last: Option<MessageId>,
        /// The new key epoch without them, started by this very operation: the new key sealed
        /// to each member who stays, and [`key_commitment`] of it, as in [`Op::NewKey`] (its
        /// epoch id is [`epoch_of`] this operation's author and number).
        key: Option<NewKey>,
    },
    /// Makes an admin a plain member, pinning their last message with admin authority by its
    /// id, as [`Op::RemoveAt`] does. Added in membership v5, written instead of [`Op::Revoke`].
    RevokeAt {
        /// Who.
        member: MemberKey,
        /// The number of their last message with admin authority.
        upto: u64,
        /// The id of that message (none when `upto` is 0).
        last: Option<MessageId>,
    },
}

/// A new key sealed to each member: (member, sealed copy).
pub type SealedKeys = Vec<(MemberKey, Vec<u8>)>;

/// A new key epoch carried inside another operation: the key sealed to each member, and the
/// commitment to it ([`Op::NewKey`]'s fields).
pub type NewKey = (SealedKeys, [u8; 32]);

/// Domain of a new key epoch's id.
pub const EPOCH_DOMAIN: &str = "circle/epoch/v2";
/// Domain of the commitment to a new circle key.
pub const KEY_COMMITMENT_DOMAIN: &str = "circle/key-commitment/v1";

/// The id of the key epoch that the [`Op::NewKey`] numbered `seq` in `author`'s chain starts:
/// a hash of circle, author and number (never 0), so no other operation can take it.
pub fn epoch_of(circle: &circle_crypto::CircleId, author: &MemberKey, seq: u64) -> u64 {
    let mut input = circle.as_bytes().to_vec();
    input.extend_from_slice(&author.to_bytes());
    input.extend_from_slice(&seq.to_be_bytes());
    let hash = blake3::derive_key(EPOCH_DOMAIN, &input);
    let id = u64::from_le_bytes(hash[..8].try_into().expect("8 bytes"));
    id.max(1)
}

/// The commitment a new key epoch carries: a hash over circle, epoch and key, with its own
/// domain, that every recipient checks against the copy it opened.
pub fn key_commitment(circle: &circle_crypto::CircleId, epoch: u64, key: &[u8; 32]) -> [u8; 32] {
    let mut input = circle.as_bytes().to_vec();
    input.extend_from_slice(&epoch.to_be_bytes());
    input.extend_from_slice(key);
    blake3::derive_key(KEY_COMMITMENT_DOMAIN, &input)
}

/// What a returning member's former key signs: the circle id, then the new member key.
pub fn return_vouch_bytes(circle: &circle_crypto::CircleId, new: &MemberKey) -> Vec<u8> {
    let mut bytes = circle.as_bytes().to_vec();
    bytes.extend_from_slice(&new.to_bytes());
    bytes
}

/// Longest guidelines, in bytes of UTF-8.
pub const MAX_GUIDELINES_BYTES: usize = 8 * 1024;

/// Refuses a new key's copies that no circle could accept.
fn check_sealed(keys: &[(MemberKey, Vec<u8>)]) -> Result<()> {
    let refuse = |why: &str| Err(Error::Refused(why.to_string()));
    if keys.is_empty() || keys.len() > MAX_MEMBERS {
        return refuse("a new key sealed to no one or to too many");
    }
    if keys.iter().any(|(_, k)| k.len() > MAX_SEALED_KEY_BYTES) {
        return refuse("an oversized sealed key");
    }
    let mut who: Vec<_> = keys.iter().map(|(m, _)| *m).collect();
    who.sort();
    who.dedup();
    if who.len() != keys.len() {
        return refuse("a new key sealed twice to one member");
    }
    Ok(())
}

impl Op {
    /// The new key epoch this operation starts, if any: its sealed copies and commitment.
    pub fn new_key(&self) -> Option<(&SealedKeys, &[u8; 32])> {
        match self {
            Op::NewKey { keys, commitment }
            | Op::RemoveAt {
                key: Some((keys, commitment)),
                ..
            } => Some((keys, commitment)),
            _ => None,
        }
    }

    /// Refuses what no circle could accept: oversized or malformed fields.
    pub fn check(&self) -> Result<()> {
        let refuse = |why: &str| Err(Error::Refused(why.to_string()));
        match self {
            Op::Invite { uses, bound, .. } => {
                if *uses == 0 {
                    return refuse("an invite with no uses");
                }
                if bound
                    .as_ref()
                    .is_some_and(|b| b.is_empty() || b.len() > MAX_NODE_ID_BYTES)
                {
                    return refuse("an invite bound to a malformed node id");
                }
            }
            Op::Admit {
                profile, epochs, ..
            }
            | Op::Return {
                profile, epochs, ..
            } => {
                if profile.len() > MAX_RECORD_BYTES || epochs.len() > MAX_ADMIT_EPOCHS {
                    return refuse("an oversized admission");
                }
                Profile::open(profile)?;
            }
            Op::Rename { name } => {
                check_name("circle name", name, MAX_CIRCLE_NAME_CHARS)
                    .map_err(|e| Error::Refused(e.to_string()))?;
            }
            Op::Rekey { epoch, .. } if *epoch == 0 => {
                return refuse("a new key epoch numbered 0");
            }
            Op::RemoveAt {
                upto,
                last,
                key: Some((keys, _)),
                ..
            } if (*upto == 0) == last.is_none() => {
                return check_sealed(keys);
            }
            Op::Rekey { keys, .. } | Op::NewKey { keys, .. } => {
                return check_sealed(keys);
            }
            Op::Guidelines { text, .. } => {
                if text.len() > MAX_GUIDELINES_BYTES {
                    return refuse("oversized guidelines");
                }
            }
            Op::RevokeInvite { .. }
            | Op::Remove { .. }
            | Op::Leave
            | Op::Grant { .. }
            | Op::Revoke { .. }
            | Op::Policy { .. } => {}
            Op::RemoveAt { upto, last, .. } | Op::RevokeAt { upto, last, .. } => {
                if (*upto == 0) != last.is_none() {
                    return refuse("a cut that names a message it does not number");
                }
            }
        }
        Ok(())
    }

    /// Its kind, for feeds and logs.
    pub fn kind(&self) -> Kind {
        match self {
            Op::Invite { .. } => Kind::Invite,
            Op::RevokeInvite { .. } => Kind::InviteRevoked,
            Op::Admit { .. } => Kind::Joined,
            Op::Return { .. } => Kind::Returned,
            Op::Remove { .. } | Op::RemoveAt { .. } => Kind::Removed,
            Op::Leave => Kind::Left,
            Op::Grant { .. } => Kind::AdminGranted,
            Op::Revoke { .. } | Op::RevokeAt { .. } => Kind::AdminRevoked,
            Op::Policy { .. } => Kind::Policy,
            Op::Rename { .. } => Kind::Renamed,
            Op::Rekey { .. } | Op::NewKey { .. } => Kind::Rekey,
            Op::Guidelines { .. } => Kind::Guidelines,
        }
    }
}
