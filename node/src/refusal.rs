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
