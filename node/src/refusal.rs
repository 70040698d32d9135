//! Why a node did not take a message from the network ([`Refusal`]): one enum, so logs and
//! the CLI read today's words (its `Display`) and tests match the reason, not its text.

use circle_crypto::MemberKey;

/// Why an envelope was refused, dropped or left for later (see [`Ingest`](crate::Ingest)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// It is for a circle this node is not in.
    #[error("not a circle of this node")]
    UnknownCircle,
    /// Its author was removed or left.
    #[error("author {} is no longer a member", .author.short())]
    NoLongerMember {
        /// The author.
        author: MemberKey,
    },
    /// Its author's admission is not held (yet).
    #[error("author {} is not a member (yet)", .author.short())]
    NotMemberYet {
        /// The author.
        author: MemberKey,
    },
    /// A version of a departed member's message other than the one their chain keeps.
    #[error("another version of message {seq} by {}, who is no longer a member", .author.short())]
    DepartedVersion {
        /// The author.
        author: MemberKey,
        /// The message's number.
        seq: u64,
    },
    /// A departed member's message below their pinned cut that no held message links to yet.
    #[error(
        "message {seq} by {}, who is no longer a member, is not linked to from the next one \
         of theirs (not held yet)",
        .author.short()
    )]
    DepartedUnlinked {
        /// The author.
        author: MemberKey,
        /// The message's number.
        seq: u64,
    },
    /// The key of its epoch is not held (yet).
    #[error("key epoch {0} not held")]
    EpochNotHeld(u64),
    /// It does not decrypt under the key of its epoch.
    #[error("does not decrypt under the circle key")]
    Undecryptable,
    /// Its content fails a check; the text says which.
    #[error("{0}")]
    Malformed(String),
    /// A new key sealed to a member whose admission is not held (yet).
    #[error("a new key sealed to {}, whose admission is not here (yet)", .member.short())]
    RecipientNotHere {
        /// The recipient.
        member: MemberKey,
    },
    /// Its author withdrew it before it arrived.
    #[error("withdrawn by its author")]
    Withdrawn,
    /// It disappeared before it arrived.
    #[error("its time is up")]
    Expired,
    /// Its author wrote more membership operations than gossip takes one by one for now.
    #[error(
        "{} wrote more membership operations than a node takes one by one for now",
        .author.short()
    )]
    TooManyOps {
        /// The author.
        author: MemberKey,
    },
    /// The most versions of its message kept are held already.
    #[error(
        "{} versions of message {seq} by {} are held already",
        crate::store::MAX_FORK_VERSIONS,
        .author.short()
    )]
    TooManyVersions {
        /// The author.
        author: MemberKey,
        /// The message's number.
        seq: u64,
    },
    /// The author already has a different message with this number.
    #[error("author {} already has a different message with seq {seq}", .author.short())]
    Conflict {
        /// The author.
        author: MemberKey,
        /// The message's number.
        seq: u64,
    },
}

/// Why a node refused a join request or a sync request (docs/PROTOCOL.md, sections on join
/// and sync). On the wire it is the text of its words, as before this enum: a peer that reads
/// the text as text reads it unchanged, and a peer that reads it as this enum gets the
/// variant back from the words ([`PeerRefusal::Other`] for words it does not know).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerRefusal {
    /// A sync request from someone this node cannot confirm as a member (says nothing more).
    #[error("not served: this node cannot confirm that membership")]
    NotServed,
    /// Too many join requests from the joiner's address.
    #[error("too many join requests from this address: wait a minute, then try again")]
    Busy,
    /// The invite is not one this node holds.
    #[error("this invite is not known here: it may be for a circle this node is not in")]
    UnknownInvite,
    /// The proof of holding the invite's secret does not verify.
    #[error("the invite's proof does not match")]
    InviteProof,
    /// The joiner's profile names another circle.
    #[error("the join request is for another circle")]
    OtherCircle,
    /// The joiner's profile does not read; the text says why.
    #[error("the joiner's profile does not read: {0}")]
    BadProfile(String),
    /// The joiner's profile names another node than the one asking.
    #[error("the join request names another node than the one asking")]
    OtherNode,
    /// The invite was revoked.
    #[error("this invite was revoked by the person who made it: ask them for a new one")]
    InviteRevoked,
    /// The invite expired.
    #[error("this invite has expired: ask for a new one")]
    InviteExpired,
    /// The invite's uses are spent.
    #[error("this invite has already been used: ask for a new one")]
    InviteUsedUp,
    /// The invite is bound to another node.
    #[error("this invite was made for another person's node")]
    InviteForAnotherNode,
    /// Whoever made the invite may no longer invite.
    #[error("whoever made this invite can no longer invite people: ask for a new one")]
    IssuerCannotInvite,
    /// The joiner's member key left the circle.
    #[error("this member key has left the circle: join with a new one")]
    KeyLeft,
    /// The inviter's member may no longer admit (not a member, or the policy changed).
    #[error("the inviter can no longer admit people to the circle")]
    InviterCannotAdmit,
    /// The circle has its most members.
    #[error("the circle is full")]
    Full,
    /// A return by someone who is in the circle.
    #[error("you are already in this circle: there is nothing to join")]
    AlreadyMember,
    /// A return the inviter's node cannot place yet: it has not heard that they left.
    #[error(
        "the inviter's node does not know yet that you left the circle: try again in a \
         little while"
    )]
    DepartureNotKnown,
    /// A second return of the same former member.
    #[error("you came back to the circle already, on another node or with another invite")]
    AlreadyReturned,
    /// The former member's vouch for the new key does not verify.
    #[error("the proof that you were in the circle before does not match")]
    ReturnProof,
    /// A removed member's return with an invite that is not an admin's.
    #[error("you were removed from this circle: only an invite from an admin can bring you back")]
    RemovedNeedsAdmin,
    /// The joiner's key cannot receive the circle key.
    #[error("the joiner's key cannot receive the circle key")]
    NoExchangeKey,
    /// The answering node failed inside (storage, io): nothing about the request, and
    /// nothing of its own error's words.
    #[error("the other node could not process the request: try again later")]
    Failed,
    /// Words this node does not know (a newer node's reason), kept as they came.
    #[error("{0}")]
    Other(String),
}

impl PeerRefusal {
    /// Every refusal whose words are fixed, for reading them back.
    const FIXED: [PeerRefusal; 21] = [
        PeerRefusal::NotServed,
        PeerRefusal::Busy,
        PeerRefusal::UnknownInvite,
        PeerRefusal::InviteProof,
        PeerRefusal::OtherCircle,
        PeerRefusal::OtherNode,
        PeerRefusal::InviteRevoked,
        PeerRefusal::InviteExpired,
        PeerRefusal::InviteUsedUp,
        PeerRefusal::InviteForAnotherNode,
        PeerRefusal::IssuerCannotInvite,
        PeerRefusal::KeyLeft,
        PeerRefusal::InviterCannotAdmit,
        PeerRefusal::Full,
        PeerRefusal::AlreadyMember,
        PeerRefusal::DepartureNotKnown,
        PeerRefusal::AlreadyReturned,
        PeerRefusal::ReturnProof,
        PeerRefusal::RemovedNeedsAdmin,
        PeerRefusal::NoExchangeKey,
        PeerRefusal::Failed,
    ];

    /// The refusal its words name.
    pub fn from_words(words: &str) -> PeerRefusal {
        if let Some(fixed) = PeerRefusal::FIXED
            .into_iter()
            .find(|r| r.to_string() == words)
        {
            return fixed;
        }
        match words.strip_prefix("the joiner's profile does not read: ") {
            Some(why) => PeerRefusal::BadProfile(why.to_string()),
            None => PeerRefusal::Other(words.to_string()),
        }
    }
}

impl From<crate::membership::InviteUnusable> for PeerRefusal {
    fn from(why: crate::membership::InviteUnusable) -> PeerRefusal {
        use crate::membership::InviteUnusable;
        match why {
            InviteUnusable::Revoked => PeerRefusal::InviteRevoked,
            InviteUnusable::Expired => PeerRefusal::InviteExpired,
            InviteUnusable::UsedUp => PeerRefusal::InviteUsedUp,
            InviteUnusable::OtherNode => PeerRefusal::InviteForAnotherNode,
            InviteUnusable::IssuerCannotInvite => PeerRefusal::IssuerCannotInvite,
        }
    }
}

impl serde::Serialize for PeerRefusal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PeerRefusal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PeerRefusal, D::Error> {
        let words = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(PeerRefusal::from_words(&words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the wire a refusal is the text of its words: the bytes a node wrote before the
    /// enum existed, and a node that reads them as text reads them unchanged.
    #[test]
    fn a_refusal_travels_as_its_words_and_reads_back_as_itself() {
        let mut every: Vec<PeerRefusal> = PeerRefusal::FIXED.to_vec();
        every.push(PeerRefusal::BadProfile(
            "member profile has no valid node id".into(),
        ));
        every.push(PeerRefusal::Other("a newer node's reason".into()));
        for refusal in every {
            let bytes = postcard::to_allocvec(&refusal).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&refusal.to_string()).unwrap());
            let back: PeerRefusal = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(back, refusal);
        }
    }

    /// Every refusal with fixed words is in [`PeerRefusal::FIXED`] once: a new variant fails
    /// to compile here until it is placed.
    #[test]
    fn every_fixed_refusal_is_listed_once() {
        let fixed = |r: &PeerRefusal| match r {
            PeerRefusal::BadProfile(_) | PeerRefusal::Other(_) => false,
            PeerRefusal::NotServed
            | PeerRefusal::Busy
            | PeerRefusal::UnknownInvite
            | PeerRefusal::InviteProof
            | PeerRefusal::OtherCircle
            | PeerRefusal::OtherNode
            | PeerRefusal::InviteRevoked
            | PeerRefusal::InviteExpired
            | PeerRefusal::InviteUsedUp
            | PeerRefusal::InviteForAnotherNode
            | PeerRefusal::IssuerCannotInvite
            | PeerRefusal::KeyLeft
            | PeerRefusal::InviterCannotAdmit
            | PeerRefusal::Full
            | PeerRefusal::AlreadyMember
            | PeerRefusal::DepartureNotKnown
            | PeerRefusal::AlreadyReturned
            | PeerRefusal::ReturnProof
            | PeerRefusal::RemovedNeedsAdmin
            | PeerRefusal::NoExchangeKey
            | PeerRefusal::Failed => true,
        };
        let words: std::collections::BTreeSet<String> =
            PeerRefusal::FIXED.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            words.len(),
            PeerRefusal::FIXED.len(),
            "two share their words"
        );
        assert!(PeerRefusal::FIXED.iter().all(fixed));
    }
}
