//! The API's contract: every request and response body of `/v1/...` as a Rust type, in one
//! place. The node's routes answer with these types, the CLI reads them through its typed
//! client, and `docs/openapi.json` is generated from them ([`openapi`]).
//!
//! Closed sets are enums (a message's [`Kind`], a member's [`Role`], where this node's member
//! [`Standing`]s, an [`Audience`], a circle's [`Format`], an [`InvitePolicy`], a
//! [`PartnerState`]), spelled in JSON as the words people see (`admin`, `reach-out`,
//! `12-step`). Request fields a person types (a format, an audience, a partner step, a
//! policy) stay text: the node reads them leniently (`12step`, `myself`) and answers a
//! mistake with one clear message, the same for the CLI, the web app and scripts; the
//! document lists the canonical words.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::circles::{
    AuthorLog, CheckinItem, CheckinsView, CircleDetails, CircleInfo, CircleLog, ClockItem,
    CrisisLines, FeedItem, ForkLog, GoalItem, InviteInfo, MeetingItem, MemberInfo, MemberName,
    MilestoneItem, PartnerItem, QuietMember, ReachOutItem, ResourceItem,
};
pub use crate::kind::Kind;
pub use crate::membership::{InvitePolicy, Role};
pub use crate::net::{Link, PeerPath, Reachability, RelayStatus, Seen};
pub use crate::notice::Event;
pub use crate::store::Gone;
pub use crate::support::crisis::CrisisLine;
pub use crate::support::{Audience, Checkin, Format, PartnerStep, ReachOut, Resource};

pub use super::openapi::openapi;

/// Every error: what happened and what to do, in one lowercase line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
}

/// Where this node's member stands in a circle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// A member who may run the circle.
    Admin,
    /// A member.
    Member,
    /// Left the circle.
    Left,
    /// Removed by an admin.
    Removed,
    /// Joining: admitted, not yet seen as a member.
    Joining,
}

impl Standing {
    /// The word people see.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Admin => "admin",
            Standing::Member => "member",
            Standing::Left => "left",
            Standing::Removed => "removed",
            Standing::Joining => "joining",
        }
    }

    /// Whether the member is in the circle (admin or member).
    pub fn inside(self) -> bool {
        matches!(self, Standing::Admin | Standing::Member)
    }
}

impl From<Role> for Standing {
    fn from(role: Role) -> Standing {
        match role {
            Role::Admin => Standing::Admin,
            Role::Member => Standing::Member,
        }
    }
}

/// Where this node's member and another stand as accountability partners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PartnerState {
    /// Partners.
    Partner,
    /// They asked; accept or decline.
    AskedYou,
    /// You asked; they have not answered.
    YouAsked,
}

impl PartnerState {
    /// The words people see.
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerState::Partner => "partner",
            PartnerState::AskedYou => "asked-you",
            PartnerState::YouAsked => "you-asked",
        }
    }
}

/// Each enum prints as the word people see (as in JSON).
macro_rules! words {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

words!(Standing, PartnerState);

/// `GET /v1/hello?challenge=...`: proof that the server holds the API token.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Hello {
    /// [`api_proof`](crate::api_proof) of the challenge's first 128 characters.
    pub proof: String,
}

/// The query of `GET /v1/hello`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HelloQuery {
    /// Any text (its first 128 characters count): a fresh random one each time.
    pub challenge: String,
}

/// Successful and failed hole punches since the node started.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct HolePunches {
    /// Connections upgraded from relayed to direct.
    pub direct: u64,
    /// Attempts that failed.
    pub failed: u64,
}

/// `GET /v1/status`: the node and its network.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// Whether the network runs (false when served with the node stopped).
    pub running: bool,
    /// This node's peer id.
    pub peer_id: String,
    /// Addresses it listens on, each ending in /p2p/<peer id>.
    pub listen: Vec<String>,
    /// Number of connected nodes.
    pub connected: usize,
    /// Addresses others reach this node at from outside.
    pub external: Vec<String>,
    /// Whether this node runs as its circles' home server.
    pub home_server: bool,
    /// Connected nodes and their paths.
    pub peers: Vec<PeerPath>,
    /// Home servers this node reserved a relayed address at.
    pub relays: Vec<RelayStatus>,
    /// What home servers found when they tried to reach this node.
    pub reachability: Vec<Reachability>,
    /// Every member node this node knows of and when it was last connected.
    pub seen: Vec<Seen>,
    /// Hole punches since start.
    pub hole_punches: HolePunches,
    /// How many circles this node holds.
    pub circles: usize,
    /// Gaps and forks in each author's chain, per circle.
    pub logs: Vec<CircleLog>,
    /// The backup written last (by `circle backup` or on a schedule), if any.
    #[serde(default)]
    pub last_backup: Option<BackupInfo>,
}

/// `GET /v1/status` of a node started with `--locked` whose store is not open yet.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LockedStatus {
    /// Always false: nothing runs until the person unlocks it.
    pub running: bool,
    /// Always true.
    pub locked: bool,
    /// Whether the home is set up (else the page asks to set it up).
    pub initialized: bool,
}

/// What `GET /v1/status` answers: a node's status, or that it is still locked.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NodeStatus {
    /// Locked: only the unlock page is served.
    Locked(LockedStatus),
    /// Running (or served with the node stopped).
    Node(Box<Status>),
}

/// `POST /v1/circles`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateCircle {
    /// Its name.
    pub name: String,
    /// This node's member's nickname in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// The format it follows (`12-step`, `smart`, `dharma`, `secular`, `other`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Format>)]
    pub format: Option<String>,
    /// Its guidelines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidelines: Option<String>,
    /// Create it even when a circle of this node goes by the same name.
    #[serde(default)]
    pub force: bool,
}

/// The id of something just made.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Created {
    /// Its id (text form).
    pub id: String,
}

/// `GET /v1/circles/{circle}/feed`: a page of the feed after a cursor.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Only messages after this cursor (0: from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// At most this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Wait up to this long (at most 60 s) for something new (a long poll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
}

/// A page of a feed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FeedPage {
    /// Messages, oldest first.
    pub items: Vec<FeedItem>,
    /// Pass it back as `after` for newer messages.
    pub cursor: u64,
}

/// The answer to a write: the id of the message that carried it, and what it was about.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct Written {
    /// The message written (none when nothing was sent: kept on this node only).
    pub id: Option<String>,
    /// Kept on this node, not numbered or sent yet: restored from a backup, it is catching
    /// up with your own messages in this circle, and sends it once it has.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queued: bool,
    /// Its circle.
    pub circle: String,
    /// Who it was about, with their fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberName>,
    /// Who it is for (check-ins and goals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Audience>,
    /// A partner step: where the two stood before it (none: nothing between them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<PartnerState>,
    /// A goal reached: the goal, in its own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_text: Option<String>,
}

/// `PUT /v1/circles/{circle}/policy`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PolicyChange {
    /// Who may invite: `admins` or `members`.
    #[schema(value_type = InvitePolicy)]
    pub invites: String,
}

/// `PUT /v1/circles/{circle}/name`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Rename {
    /// The new name.
    pub name: String,
}

/// `POST /v1/circles/{circle}/invites`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct InviteRequest {
    /// How long it works, in seconds.
    pub expires_secs: u64,
    /// How many people it may let in.
    pub uses: u32,
    /// The peer id of the only node that may join through it.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
}

/// A new invite.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NewInvite {
    /// The text to give the person.
    pub token: String,
    /// Its id: pass it to revoke it.
    pub id: String,
    /// When it expires, unix seconds.
    pub expires_at: u64,
    /// Where the joiner's node will look for the inviter's: external, relayed, then listen
    /// addresses.
    pub addresses: Vec<String>,
}

/// `POST /v1/join` and `POST /v1/join/preview`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct JoinRequest {
    /// The invite's text.
    pub token: String,
    /// The nickname to join with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
}

/// What a circle says about itself before a person joins.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct JoinPreview {
    /// Its name.
    pub name: String,
    /// The format it follows, if an admin set one.
    pub format: Option<Format>,
    /// Its guidelines, if any.
    pub guidelines: Option<String>,
    /// How many members it has.
    pub members: u32,
}

/// A circle joined.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Joined {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether this node's member had left or been removed and came back.
    pub returned: bool,
}

/// `POST /v1/sign-in`: a one-time sign-in link for the web app.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SignInLink {
    /// Open it once, soon.
    pub url: String,
    /// How long it works.
    pub expires_in_secs: u64,
}

/// `POST /v1/sign-out-all`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SignedOut {
    /// Always true: every web app session ended.
    pub signed_out: bool,
}

/// `POST /v1/circles/{circle}/shares`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// The text.
    pub text: String,
    /// The message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// After how long every node drops it (`90s`, `24h`, `7d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// `POST /v1/messages/{id}/reactions`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactRequest {
    /// The emoji.
    pub emoji: String,
}

/// `POST /v1/circles/{circle}/checkins`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    /// How the day is going, 1 (very hard) to 5 (good).
    pub day: u8,
    /// Mood, 0 to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mood: Option<u8>,
    /// Craving, 0 (none) to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub craving: Option<u8>,
    /// What made today harder.
    #[serde(default)]
    pub triggers: Vec<String>,
    /// Anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who it is for (default: the circle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Audience>)]
    pub to: Option<String>,
}

/// `POST /v1/circles/{circle}/goals`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalRequest {
    /// What.
    pub text: String,
    /// By when (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Who it is for (default: the circle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Audience>)]
    pub to: Option<String>,
}

/// `POST /v1/circles/{circle}/partners`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerRequest {
    /// The other member (key, start of a key, fingerprint or name).
    pub member: String,
    /// `request`, `accept`, `decline` or `end`.
    #[schema(value_type = PartnerStep)]
    pub step: String,
}

/// `POST /v1/circles/{circle}/dms`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DmRequest {
    /// The other member (key, start of a key, fingerprint or name).
    pub member: String,
    /// The text.
    pub text: String,
}

/// `POST /v1/circles/{circle}/reach-outs`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReachOutRequest {
    /// What the person wants to say, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A number to call them back on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<String>,
}

/// `POST /v1/circles/{circle}/seen`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Acknowledged {
    /// How many reach-outs were marked seen.
    pub acknowledged: usize,
}

/// `POST /v1/circles/{circle}/meetings`: weekly on a day, or once on a date.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingRequest {
    /// What it is called.
    pub title: String,
    /// Every week on this day (`tuesday`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<String>,
    /// Once on this date (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// At (HH:MM).
    pub at: String,
    /// In this time zone (IANA name).
    pub tz: String,
    /// Where to join online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// `GET /v1/circles/{circle}/meetings?tz=...`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ZoneQuery {
    /// The viewer's time zone (default: this computer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
}

/// `POST /v1/circles/{circle}/resources`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    /// Its title.
    pub title: String,
    /// Its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Its link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `PUT /v1/circles/{circle}/guidelines`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuidelinesRequest {
    /// The format it follows.
    #[schema(value_type = Format)]
    pub format: String,
    /// The guidelines.
    #[serde(default)]
    pub text: String,
}

/// `PUT /v1/crisis-lines`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrisisLinesChange {
    /// The country (ISO 3166-1 alpha-2) whose lines to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Lines of the person's own to add, each `name: contact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<String>>,
    /// Forget the person's own lines and country first.
    #[serde(default)]
    pub reset: bool,
}

/// `POST /v1/clocks`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockStart {
    /// Its name.
    pub name: String,
    /// The first day (YYYY-MM-DD, `today`).
    pub since: String,
    /// The time zone days are counted in (default: this computer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Circles to announce its milestones to.
    #[serde(default)]
    pub share: Vec<String>,
}

/// `POST /v1/clocks/{name}/reset`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockResetRequest {
    /// A private note, kept with the old start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Tell the circles the clock is shared with.
    #[serde(default)]
    pub share: bool,
}

/// A clock restarted.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ClockReset {
    /// The clock now.
    pub clock: ClockItem,
    /// The circles told.
    pub told: Vec<String>,
}

/// `POST /v1/clocks/{name}/share`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockShareRequest {
    /// The circle.
    pub circle: String,
    /// Tell the circle the count today as well, rather than only the next milestone.
    #[serde(default)]
    pub now: bool,
}

/// `POST /v1/recovery/phrase`: the recovery phrase, again, after the passphrase.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ShowPhrase {
    /// The node's passphrase.
    pub passphrase: String,
}

impl std::fmt::Debug for ShowPhrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShowPhrase(..)")
    }
}

/// The answer to `POST /v1/recovery/phrase`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct Phrase {
    /// The 24 words, in order, separated by single spaces.
    pub words: String,
}

impl std::fmt::Debug for Phrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Phrase(..)")
    }
}

impl Drop for Phrase {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.words);
    }
}

/// `POST /v1/backup`: write a backup of the whole home to a file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct WriteBackup {
    /// Where: an absolute path on the node's machine. Written to `PATH.partial` (mode 0600)
    /// and renamed over `PATH` when whole.
    pub path: String,
}

pub use crate::backup::BackupInfo;

/// `POST /v1/backup/to-circle`: leave the latest backup with a circle's home servers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct LeaveBackup {
    /// The circle (id or name) whose connected home servers keep it.
    pub circle: String,
}

pub use crate::net::LeftBackup;

/// The answer to `POST /v1/backup/to-circle`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LeftBackups {
    /// The backup file that was left.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// What each connected home server of the circle said.
    pub home_servers: Vec<LeftBackup>,
}

/// A backup a home server keeps for a member (`GET /v1/relay/backups`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HeldBackup {
    /// The holder key it is kept under (base32), which only the member's recovery phrase
    /// opens.
    pub holder: String,
    /// The circle whose member left it (id).
    pub circle: String,
    /// That circle's name.
    pub circle_name: String,
    /// The member whose node left it, while they are still in the circle.
    pub member: Option<MemberName>,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was complete, unix milliseconds.
    pub kept_at_ms: u64,
}
