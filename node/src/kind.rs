//! What a message is: one [`Kind`] for every kind of message a circle carries, and for what
//! its feed shows in a message's place (a withdrawn or expired one). Content, feeds, notices,
//! the API's JSON and the CLI all read this enum: a new kind of message is a variant here and
//! a body in [`Body`](crate::Body), and the compiler points at every match that must say how
//! it reads.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a message in a feed is, spelled in JSON, feeds and notices as a kebab-case word
/// (`reach-out`, `goal-done`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A share (possibly a reply, possibly disappearing).
    Share,
    /// A reaction to a message.
    Reaction,
    /// A withdrawal (bookkeeping, not shown).
    Withdraw,
    /// A check-in.
    Checkin,
    /// A goal.
    Goal,
    /// A goal reached.
    GoalDone,
    /// A clock's milestone.
    Milestone,
    /// A clock restarted.
    ClockReset,
    /// A call for help.
    ReachOut,
    /// A reach-out seen (bookkeeping, not shown).
    Seen,
    /// A meeting.
    Meeting,
    /// A pinned resource.
    Resource,
    /// A private message this member cannot read (not shown).
    Private,
    /// A private message.
    Dm,
    /// An accountability partnership step.
    Partner,
    /// A message its author withdrew.
    Withdrawn,
    /// A disappearing message whose time was up.
    Expired,
    /// An invite made.
    Invite,
    /// An invite revoked.
    InviteRevoked,
    /// Someone joined.
    Joined,
    /// Someone who left or was removed came back.
    Returned,
    /// Someone was removed.
    Removed,
    /// Someone left.
    Left,
    /// Someone was made an admin.
    AdminGranted,
    /// Someone is no longer an admin.
    AdminRevoked,
    /// The invite policy changed.
    Policy,
    /// The circle was renamed.
    Renamed,
    /// The circle's key was renewed.
    Rekey,
    /// The format and guidelines changed.
    Guidelines,
    /// The author's member moved to a restored copy of their node (bookkeeping, not shown).
    Moved,
}

impl Kind {
    /// Every kind, in the order above.
    pub const ALL: [Kind; 30] = [
        Kind::Share,
        Kind::Reaction,
        Kind::Withdraw,
        Kind::Checkin,
        Kind::Goal,
        Kind::GoalDone,
        Kind::Milestone,
        Kind::ClockReset,
        Kind::ReachOut,
        Kind::Seen,
        Kind::Meeting,
        Kind::Resource,
        Kind::Private,
        Kind::Dm,
        Kind::Partner,
        Kind::Withdrawn,
        Kind::Expired,
        Kind::Invite,
        Kind::InviteRevoked,
        Kind::Joined,
        Kind::Returned,
        Kind::Removed,
        Kind::Left,
        Kind::AdminGranted,
        Kind::AdminRevoked,
        Kind::Policy,
        Kind::Renamed,
        Kind::Rekey,
        Kind::Guidelines,
        Kind::Moved,
    ];

    /// The word feeds, notices and JSON use (`reach-out`, `goal-done`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Share => "share",
            Kind::Reaction => "reaction",
            Kind::Withdraw => "withdraw",
            Kind::Checkin => "checkin",
            Kind::Goal => "goal",
            Kind::GoalDone => "goal-done",
            Kind::Milestone => "milestone",
            Kind::ClockReset => "clock-reset",
            Kind::ReachOut => "reach-out",
            Kind::Seen => "seen",
            Kind::Meeting => "meeting",
            Kind::Resource => "resource",
            Kind::Private => "private",
            Kind::Dm => "dm",
            Kind::Partner => "partner",
            Kind::Withdrawn => "withdrawn",
            Kind::Expired => "expired",
            Kind::Invite => "invite",
            Kind::InviteRevoked => "invite-revoked",
            Kind::Joined => "joined",
            Kind::Returned => "returned",
            Kind::Removed => "removed",
            Kind::Left => "left",
            Kind::AdminGranted => "admin-granted",
            Kind::AdminRevoked => "admin-revoked",
            Kind::Policy => "policy",
            Kind::Renamed => "renamed",
            Kind::Rekey => "rekey",
            Kind::Guidelines => "guidelines",
            Kind::Moved => "moved",
        }
    }

    /// The kind a feed word names, if any.
    pub fn named(word: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == word)
    }

    /// Whether it is something that happened to the circle (joins, removals, renames), not
    /// something a member said.
    pub fn is_circle_event(self) -> bool {
        match self {
            Kind::Joined
            | Kind::Returned
            | Kind::Left
            | Kind::Removed
            | Kind::AdminGranted
            | Kind::AdminRevoked
            | Kind::Policy
            | Kind::Renamed
            | Kind::Guidelines
            | Kind::Rekey
            | Kind::Invite
            | Kind::InviteRevoked => true,
            Kind::Share
            | Kind::Reaction
            | Kind::Withdraw
            | Kind::Checkin
            | Kind::Goal
            | Kind::GoalDone
            | Kind::Milestone
            | Kind::ClockReset
            | Kind::ReachOut
            | Kind::Seen
            | Kind::Meeting
            | Kind::Resource
            | Kind::Private
            | Kind::Dm
            | Kind::Partner
            | Kind::Withdrawn
            | Kind::Expired
            | Kind::Moved => false,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words are the API's and the web app's: they must not change when the code does.
    #[test]
    fn every_kind_keeps_its_word_in_json_and_in_feeds() {
        let words = [
            "share",
            "reaction",
            "withdraw",
            "checkin",
            "goal",
            "goal-done",
            "milestone",
            "clock-reset",
            "reach-out",
            "seen",
            "meeting",
            "resource",
            "private",
            "dm",
            "partner",
            "withdrawn",
            "expired",
            "invite",
            "invite-revoked",
            "joined",
            "returned",
            "removed",
            "left",
            "admin-granted",
            "admin-revoked",
            "policy",
            "renamed",
            "rekey",
            "guidelines",
            "moved",
        ];
        assert_eq!(Kind::ALL.len(), words.len());
        for (kind, word) in Kind::ALL.into_iter().zip(words) {
            assert_eq!(kind.as_str(), word);
            assert_eq!(kind.to_string(), word);
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(word));
            assert_eq!(
                serde_json::from_value::<Kind>(serde_json::json!(word)).unwrap(),
                kind
            );
            assert_eq!(Kind::named(word), Some(kind));
        }
    }

    /// [`Kind::ALL`] lists every kind: a new variant fails to compile here until it is placed.
    #[test]
    fn every_kind_is_listed_once() {
        let place = |k: Kind| match k {
            Kind::Share => 0,
            Kind::Reaction => 1,
            Kind::Withdraw => 2,
            Kind::Checkin => 3,
            Kind::Goal => 4,
            Kind::GoalDone => 5,
            Kind::Milestone => 6,
            Kind::ClockReset => 7,
            Kind::ReachOut => 8,
            Kind::Seen => 9,
            Kind::Meeting => 10,
            Kind::Resource => 11,
            Kind::Private => 12,
            Kind::Dm => 13,
            Kind::Partner => 14,
            Kind::Withdrawn => 15,
            Kind::Expired => 16,
            Kind::Invite => 17,
            Kind::InviteRevoked => 18,
            Kind::Joined => 19,
            Kind::Returned => 20,
            Kind::Removed => 21,
            Kind::Left => 22,
            Kind::AdminGranted => 23,
            Kind::AdminRevoked => 24,
            Kind::Policy => 25,
            Kind::Renamed => 26,
            Kind::Rekey => 27,
            Kind::Guidelines => 28,
            Kind::Moved => 29,
        };
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(place(kind), i, "{kind}");
        }
    }
}
