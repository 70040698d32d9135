//! Membership operations: what a member can do to the circle itself.
//!
//! An [`Op`] travels as the content of an ordinary message (`Body::Op`), so it is sealed under
//! the circle key, signed by its author and numbered in the author's chain. Whether it takes
//! effect is decided by [`super::Membership::derive`]; [`Op::check`] only refuses what no
//! circle could ever accept (sizes, shapes), so that such bytes are never stored.

use circle_crypto::{InviteId, MemberKey, Signature};
use serde::{Deserialize, Serialize};

use super::{MAX_CIRCLE_NAME_CHARS, MAX_NODE_ID_BYTES, MAX_RECORD_BYTES, Profile, check_name};
use crate::error::{Error, Result};

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
}

/// What a returning member's former key signs: the circle id, then the new member key.
pub fn return_vouch_bytes(circle: &circle_crypto::CircleId, new: &MemberKey) -> Vec<u8> {
    let mut bytes = circle.as_bytes().to_vec();
    bytes.extend_from_slice(&new.to_bytes());
    bytes
}

/// Longest guidelines, in bytes of UTF-8.
pub const MAX_GUIDELINES_BYTES: usize = 8 * 1024;

impl Op {
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
            Op::Rekey { epoch, keys } => {
                if *epoch == 0 {
                    return refuse("a new key epoch numbered 0");
                }
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
        }
        Ok(())
    }

    /// A short name of the kind, for feeds and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Invite { .. } => "invite",
            Op::RevokeInvite { .. } => "invite-revoked",
            Op::Admit { .. } => "joined",
            Op::Return { .. } => "returned",
            Op::Remove { .. } => "removed",
            Op::Leave => "left",
            Op::Grant { .. } => "admin-granted",
            Op::Revoke { .. } => "admin-revoked",
            Op::Policy { .. } => "policy",
            Op::Rename { .. } => "renamed",
            Op::Rekey { .. } => "rekey",
            Op::Guidelines { .. } => "guidelines",
        }
    }
}
