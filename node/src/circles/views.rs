//! Reading a circle as a support circle: its messages decrypted once, then folded into what
//! each command shows (check-ins, goals, partners, reach-outs, meetings, resources).
//!
//! Everything is derived on demand from the sealed log (circles hold tens of members and
//! thousands of messages, not millions); nothing derived is written back to disk.

use std::collections::{BTreeMap, BTreeSet};

use circle_crypto::MessageId;

use super::*;
use crate::store::{Gone, GoneRecord};
use crate::support::{
    Audience, Checkin, Goal, Meeting, PartnerStep, Private, ReachOut, Resource, clock, schedule,
};

/// One message of a circle, decrypted for this node's member.
pub(crate) struct Msg {
    pub id: MessageId,
    pub author: MemberKey,
    pub seq: u64,
    pub cursor: u64,
    pub sent_at: u64,
    pub fork: bool,
    /// The content, unless it is gone.
    pub body: Option<Body>,
    /// What a private message says, when it was sealed to this node's member.
    pub private: Option<Private>,
    /// Why the content is gone.
    pub gone: Option<GoneRecord>,
}

/// A check-in as shown.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CheckinItem {
    /// Its message id (none for one kept on this node only).
    pub id: Option<String>,
    /// Who (member key).
    pub author: String,
    /// Their name.
    pub author_name: String,
    /// Their fingerprint ([`MemberKey::fingerprint`]).
    pub author_fingerprint: String,
    /// Who it is for.
    pub to: Audience,
    /// When, RFC 3339.
    pub sent_at: String,
    /// When, unix ms.
    #[serde(skip)]
    pub sent_at_ms: u64,
    /// What they said.
    #[serde(flatten)]
    pub checkin: Checkin,
}

/// Someone who shares check-ins with the circle and has not for a while.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct QuietMember {
    /// Member key.
    pub member: String,
    /// Name.
    pub name: String,
    /// Their fingerprint ([`MemberKey::fingerprint`]).
    pub fingerprint: String,
    /// Their last check-in the circle saw, RFC 3339.
    pub last_checkin: String,
    /// Whole days since.
    pub days: u64,
}

/// What `circle checkins` shows.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CheckinsView {
    /// Recent check-ins this member may see, oldest first.
    pub checkins: Vec<CheckinItem>,
    /// Members who share check-ins with the circle and have not checked in for a while.
    pub quiet: Vec<QuietMember>,
}

/// A goal as shown.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct GoalItem {
    /// Its message id: pass it to `circle goal done`.
    pub id: String,
    /// Who set it (member key).
    pub author: String,
    /// Their name.
    pub author_name: String,
    /// Their fingerprint ([`MemberKey::fingerprint`]).
    pub author_fingerprint: String,
    /// Who it is for (`me`: kept on this node only).
    pub to: Audience,
    /// What.
    pub text: String,
    /// By when, if set.
    pub by: Option<String>,
    /// When it was reached, RFC 3339, if it was.
    pub done_at: Option<String>,
    /// When set, RFC 3339.
    pub sent_at: String,
}

/// An accountability partner, or a request to become one.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PartnerItem {
    /// Their member key.
    pub member: String,
    /// Their name.
    pub name: String,
    /// Their fingerprint ([`MemberKey::fingerprint`]).
    pub fingerprint: String,
    /// Where the two stand.
    pub state: crate::api::contract::PartnerState,
    /// Since when, RFC 3339.
    pub since: String,
    /// Their last check-in you may see, RFC 3339.
    pub last_checkin: Option<String>,
    /// Whether they have missed their usual check-in.
    pub missed_checkin: bool,
}

/// A reach-out as shown, with who has seen it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ReachOutItem {
    /// Its message id.
    pub id: String,
    /// Who reached out (member key).
    pub author: String,
    /// Their name.
    pub author_name: String,
    /// Their fingerprint ([`MemberKey::fingerprint`]).
    pub author_fingerprint: String,
    /// What they said.
    #[serde(flatten)]
    pub reach_out: ReachOut,
    /// When, RFC 3339.
    pub sent_at: String,
    /// Names of the members whose node showed it to them.
    pub seen_by: Vec<String>,
    /// The members whose node showed it to them, with their fingerprints.
    pub seen_by_members: Vec<MemberName>,
    /// How many other members there are.
    pub members: usize,
}

/// A meeting as shown, in the viewer's time.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MeetingItem {
    /// Its message id.
    pub id: String,
    /// Who added it.
    pub added_by: String,
    /// Their fingerprint ([`MemberKey::fingerprint`]).
    pub added_by_fingerprint: String,
    /// Title.
    pub title: String,
    /// When, in the meeting's own words ("every Tuesday at 19:30").
    pub when: String,
    /// The meeting's time zone.
    pub zone: String,
    /// Link.
    pub link: Option<String>,
    /// The next start, RFC 3339 (none when a one-off meeting has passed).
    pub next: Option<String>,
    /// The next start, unix ms.
    #[serde(skip)]
    pub next_ms: Option<u64>,
    /// The next start in the viewer's time zone.
    pub next_local: Option<String>,
}

/// A resource as shown.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ResourceItem {
    /// Its message id.
    pub id: String,
    /// Who pinned it.
    pub added_by: String,
    /// Their fingerprint ([`MemberKey::fingerprint`]).
    pub added_by_fingerprint: String,
    /// What it is.
    #[serde(flatten)]
    pub resource: Resource,
}

/// What `circle info` shows.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CircleDetails {
    /// The circle as listed.
    #[serde(flatten)]
    pub circle: CircleInfo,
    /// The format it follows, if an admin set one.
    pub format: Option<crate::support::Format>,
    /// Its guidelines, if any.
    pub guidelines: Option<String>,
    /// Admins' names.
    pub admins: Vec<String>,
    /// Admins, with their fingerprints.
    pub admin_members: Vec<MemberName>,
}

/// A check-in kept on this node only (sealed at rest, never sent).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct OwnCheckin {
    pub at: u64,
    pub checkin: Checkin,
}

/// How long a member who shares check-ins may stay quiet before `checkins` lists them.
pub const QUIET_AFTER_MS: u64 = 3 * 24 * 3600 * 1000;
/// How far back `checkins` shows check-ins.
pub const RECENT_MS: u64 = 14 * 24 * 3600 * 1000;

impl Circles {
    /// One message of `circle` by id, decrypted for this node's member (only that one is
    /// read), if it is held and counts.
    pub(crate) fn message(&self, circle: &CircleId, id: &MessageId) -> Result<Option<Msg>> {
        let Some(arrival) = self.store().arrival_of(id)? else {
            return Ok(None);
        };
        self.with_circle(circle, |c| Ok(decrypt(c, circle, vec![arrival]).pop()))
    }

    /// Recent check-ins this node's member may see, and who has gone quiet.
    pub fn checkins(&self, circle: &CircleId, now: u64) -> Result<CheckinsView> {
        let msgs = self.notable(circle)?;
        let own: Vec<OwnCheckin> = self.store().private_entries(circle)?;
        self.with_circle(circle, |c| {
            let me = c.me.public();
            let since = now.saturating_sub(RECENT_MS);
            let mut all = Vec::new();
            let mut last_shared: BTreeMap<MemberKey, u64> = BTreeMap::new();
            for m in &msgs {
                let (checkin, to) = match (&m.body, &m.private) {
                    (Some(Body::Checkin(ci)), _) => {
                        let last = last_shared.entry(m.author).or_default();
                        *last = (*last).max(m.sent_at);
                        (ci, Audience::Circle)
                    }
                    (_, Some(Private::Checkin(ci))) => (ci, Audience::Partner),
                    _ => continue,
                };
                all.push(checkin_item(
                    c,
                    m.id.to_string().into(),
                    &m.author,
                    to,
                    m.sent_at,
                    checkin,
                ));
            }
            for o in own {
                all.push(checkin_item(c, None, &me, Audience::Me, o.at, &o.checkin));
            }
            all.retain(|i| i.sent_at_ms >= since);
            all.sort_by_key(|i| i.sent_at_ms);
            let quiet = last_shared
                .iter()
                .filter(|(k, at)| {
                    **k != me && c.members.contains(k) && now.saturating_sub(**at) > QUIET_AFTER_MS
                })
                .map(|(k, at)| QuietMember {
                    member: k.to_string(),
                    name: c.author_name(k),
                    fingerprint: k.fingerprint(),
                    last_checkin: crate::time::rfc3339(*at),
                    days: now.saturating_sub(*at) / (24 * 3600 * 1000),
                })
                .collect();
            Ok(CheckinsView {
                checkins: all,
                quiet,
            })
        })
    }

    /// The goals this node's member may see, oldest first.
    pub fn goals(&self, circle: &CircleId) -> Result<Vec<GoalItem>> {
        let msgs = self.notable(circle)?;
        let own = self.own_goal_items(circle)?;
        self.with_circle(circle, |c| {
            let mut done: BTreeMap<(MemberKey, MessageId), u64> = BTreeMap::new();
            for m in &msgs {
                match (&m.body, &m.private) {
                    (Some(Body::GoalDone { goal }), _) | (_, Some(Private::GoalDone { goal })) => {
                        done.entry((m.author, *goal)).or_insert(m.sent_at);
                    }
                    _ => {}
                }
            }
            let mut out = Vec::new();
            for m in &msgs {
                let (goal, to): (&Goal, _) = match (&m.body, &m.private) {
                    (Some(Body::Goal(g)), _) => (g, Audience::Circle),
                    (_, Some(Private::Goal(g))) => (g, Audience::Partner),
                    _ => continue,
                };
                out.push(GoalItem {
                    id: m.id.to_string(),
                    author: m.author.to_string(),
                    author_name: c.author_name(&m.author),
                    author_fingerprint: m.author.fingerprint(),
                    to,
                    text: goal.text.clone(),
                    by: goal.by.clone(),
                    done_at: done
                        .get(&(m.author, m.id))
                        .map(|t| crate::time::rfc3339(*t)),
                    sent_at: crate::time::rfc3339(m.sent_at),
                });
            }
            out.extend(own);
            out.sort_by(|a, b| a.sent_at.cmp(&b.sent_at));
            Ok(out)
        })
    }

    /// This node's member's partners and partner requests in `circle`.
    pub fn partners(&self, circle: &CircleId, now: u64) -> Result<Vec<PartnerItem>> {
        let msgs = self.notable(circle)?;
        self.with_circle(circle, |c| {
            let me = c.me.public();
            let states = partner_states(&me, &msgs);
            let mut out = Vec::new();
            for (other, (state, since)) in states {
                if !c.members.contains(&other) {
                    continue;
                }
                let seen: Vec<u64> = msgs
                    .iter()
                    .filter(|m| m.author == other)
                    .filter(|m| {
                        matches!(m.body, Some(Body::Checkin(_)))
                            || matches!(m.private, Some(Private::Checkin(_)))
                    })
                    .map(|m| m.sent_at)
                    .collect();
                out.push(PartnerItem {
                    member: other.to_string(),
                    name: c.author_name(&other),
                    fingerprint: other.fingerprint(),
                    state: state.public(),
                    since: crate::time::rfc3339(since),
                    last_checkin: seen.iter().max().map(|t| crate::time::rfc3339(*t)),
                    missed_checkin: state == Pairing::Partners && missed_usual(&seen, now),
                });
            }
            Ok(out)
        })
    }

    /// The newest `limit` private messages this node's member can read in `circle`, oldest
    /// first, as the feed shows them (withdrawn ones left out): read from the circle's notable
    /// messages, so a long history of shares costs nothing.
    pub fn direct_messages(&self, circle: &CircleId, limit: usize) -> Result<Vec<FeedItem>> {
        let msgs = self.notable(circle)?;
        let mut items = self.with_circle(circle, |c| {
            Ok(msgs
                .iter()
                .filter(|m| matches!(m.private, Some(Private::Dm { .. })) && m.gone.is_none())
                .filter_map(|m| feed::item(c, circle, m))
                .collect::<Vec<_>>())
        })?;
        items.sort_by(|a, b| (a.sent_at_ms, &a.id).cmp(&(b.sent_at_ms, &b.id)));
        let skip = items.len().saturating_sub(limit);
        items.drain(..skip);
        Ok(items)
    }

    /// This node's member's current partners in `circle`.
    pub(crate) fn partner_keys(&self, circle: &CircleId) -> Result<Vec<MemberKey>> {
        let msgs = self.notable(circle)?;
        self.with_circle(circle, |c| {
            let me = c.me.public();
            Ok(partner_states(&me, &msgs)
                .into_iter()
                .filter(|(k, (s, _))| *s == Pairing::Partners && c.members.contains(k))
                .map(|(k, _)| k)
                .collect())
        })
    }

    /// Where this node's member stands with `other` (`partner`, `asked-you`, `you-asked` or
    /// `none`), and the date of the last partnership step between them: one pass over the
    /// circle's messages.
    pub(crate) fn pairing(
        &self,
        circle: &CircleId,
        other: &MemberKey,
    ) -> Result<(Option<PartnerState>, Option<u64>)> {
        let msgs = self.notable(circle)?;
        let me = self.my_key(circle)?;
        let last = msgs
            .iter()
            .filter_map(|m| match &m.private {
                Some(Private::Partner { with, .. })
                    if (m.author == me && with == other) || (m.author == *other && *with == me) =>
                {
                    Some(m.sent_at)
                }
                _ => None,
            })
            .max();
        let state = partner_states(&me, &msgs)
            .get(other)
            .map(|(s, _)| s.public());
        Ok((state, last))
    }

    /// The circle's reach-outs, newest last, with who has seen each.
    pub fn reach_outs(&self, circle: &CircleId) -> Result<Vec<ReachOutItem>> {
        let msgs = self.notable(circle)?;
        self.with_circle(circle, |c| {
            let mut seen: BTreeMap<MessageId, BTreeSet<MemberKey>> = BTreeMap::new();
            for m in &msgs {
                if let Some(Body::Seen { of }) = &m.body {
                    for id in of {
                        seen.entry(*id).or_default().insert(m.author);
                    }
                }
            }
            let mut out = Vec::new();
            for m in &msgs {
                let Some(Body::ReachOut(r)) = &m.body else {
                    continue;
                };
                let by: Vec<MemberName> = seen
                    .get(&m.id)
                    .into_iter()
                    .flatten()
                    .filter(|k| **k != m.author)
                    .map(|k| c.member_name(k))
                    .collect();
                out.push(ReachOutItem {
                    id: m.id.to_string(),
                    author: m.author.to_string(),
                    author_name: c.author_name(&m.author),
                    author_fingerprint: m.author.fingerprint(),
                    reach_out: r.clone(),
                    sent_at: crate::time::rfc3339(m.sent_at),
                    seen_by: by.iter().map(|w| w.name.clone()).collect(),
                    seen_by_members: by,
                    members: c.members.len().saturating_sub(1),
                });
            }
            Ok(out)
        })
    }

    /// Reach-outs by others this node's member has not yet said they saw.
    pub(crate) fn unseen_reach_outs(&self, circle: &CircleId) -> Result<Vec<MessageId>> {
        let msgs = self.notable(circle)?;
        let me = self.my_key(circle)?;
        let acknowledged: BTreeSet<MessageId> = msgs
            .iter()
            .filter(|m| m.author == me)
            .filter_map(|m| match &m.body {
                Some(Body::Seen { of }) => Some(of.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        Ok(msgs
            .iter()
            .filter(|m| m.author != me && matches!(m.body, Some(Body::ReachOut(_))))
            .map(|m| m.id)
            .filter(|id| !acknowledged.contains(id))
            .collect())
    }

    /// The circle's meetings, next first, shown in `viewer`'s time zone.
    pub fn meetings(&self, circle: &CircleId, viewer: &str, now: u64) -> Result<Vec<MeetingItem>> {
        let viewer = clock::parse_zone(viewer)?;
        let msgs = self.notable(circle)?;
        let now_ts = jiff::Timestamp::from_millisecond(now as i64)
            .map_err(|e| Error::Invalid(format!("the clock is off: {e}")))?;
        let mut out = self.with_circle(circle, |c| {
            Ok(msgs
                .iter()
                .filter_map(|m| match &m.body {
                    Some(Body::Meeting(meeting)) => Some((m, meeting)),
                    _ => None,
                })
                .map(|(m, meeting)| meeting_item(c, &m.id, &m.author, meeting, &viewer, now_ts))
                .collect::<Vec<_>>())
        })?;
        out.sort_by_key(|m| m.next_ms.unwrap_or(u64::MAX));
        Ok(out)
    }

    /// The circle's pinned resources, oldest first.
    pub fn resources(&self, circle: &CircleId) -> Result<Vec<ResourceItem>> {
        let msgs = self.notable(circle)?;
        self.with_circle(circle, |c| {
            Ok(msgs
                .iter()
                .filter_map(|m| match &m.body {
                    Some(Body::Resource(r)) => Some(ResourceItem {
                        id: m.id.to_string(),
                        added_by: c.author_name(&m.author),
                        added_by_fingerprint: m.author.fingerprint(),
                        resource: r.clone(),
                    }),
                    _ => None,
                })
                .collect())
        })
    }

    /// The circle's name, format, guidelines and admins.
    pub fn info(&self, circle: &CircleId) -> Result<CircleDetails> {
        let listed = self
            .list()?
            .into_iter()
            .find(|i| i.id == circle.to_string())
            .ok_or_else(|| Error::UnknownCircle(circle.to_string()))?;
        self.with_circle(circle, |c| {
            let (format, guidelines) = match &c.members.guidelines {
                Some((f, text)) => (Some(*f), Some(text.clone())),
                None => (None, None),
            };
            Ok(CircleDetails {
                circle: listed,
                format,
                guidelines: guidelines.filter(|g| !g.trim().is_empty()),
                admins: c
                    .members
                    .iter()
                    .filter(|m| m.role == Role::Admin)
                    .map(|m| m.name.clone())
                    .collect(),
                admin_members: c
                    .members
                    .iter()
                    .filter(|m| m.role == Role::Admin)
                    .map(|m| c.member_name(&m.key))
                    .collect(),
            })
        })
    }
}

/// Decrypts arrivals for `c`'s member: what counts for membership, opened, private parts
/// opened where sealed to this member.
pub(super) fn decrypt(
    c: &CircleState,
    circle: &CircleId,
    arrivals: Vec<crate::store::Arrival>,
) -> Vec<Msg> {
    let mut out = Vec::with_capacity(arrivals.len());
    for a in arrivals {
        // Past a departed member's cut, or a version their chain down from the pin replaced.
        if !c.members.counts(&a.author, a.seq) || c.off_chain(&a.id) {
            continue;
        }
        let mut msg = Msg {
            id: a.id,
            author: a.author,
            seq: a.seq,
            cursor: a.cursor,
            sent_at: 0,
            fork: a.fork,
            body: None,
            private: None,
            gone: None,
        };
        if let Some(gone) = a.gone {
            msg.sent_at = gone.sent_at.unwrap_or(0);
            msg.gone = Some(gone);
            out.push(msg);
            continue;
        }
        let Some(envelope) = a.envelope else {
            continue;
        };
        let Some(key) = c.keys.get(&envelope.header().epoch) else {
            continue;
        };
        let Ok(plain) = envelope.open(key) else {
            continue;
        };
        let Ok(content) = Content::from_bytes(&plain) else {
            continue;
        };
        if let Body::Private(sealed) = &content.body {
            // Sealed to this node's member key, or to one it had before coming back.
            msg.private = std::iter::once(&c.me)
                .chain(&c.former)
                .find_map(|me| sealed.open(circle, &a.author, me).ok().flatten())
                .filter(|p| readers_fit(sealed, &a.author, p));
        }
        msg.sent_at = content.sent_at;
        msg.body = Some(content.body);
        out.push(msg);
    }
    out
}

/// Whether a private message went to the readers its meaning needs: always its author; a
/// partnership step to exactly the two people; a direct message to one other. Anything else
/// was written by a modified program and is not shown.
fn readers_fit(sealed: &crate::support::sealed::Sealed, author: &MemberKey, p: &Private) -> bool {
    let readers: BTreeSet<&MemberKey> = sealed.readers().collect();
    if !readers.contains(author) {
        return false;
    }
    match p {
        Private::Partner { with, .. } => readers.len() == 2 && readers.contains(with),
        Private::Dm { .. } => readers.len() == 2,
        Private::Checkin(_) | Private::Goal(_) | Private::GoalDone { .. } => true,
    }
}

fn checkin_item(
    c: &CircleState,
    id: Option<String>,
    author: &MemberKey,
    to: Audience,
    at: u64,
    checkin: &Checkin,
) -> CheckinItem {
    CheckinItem {
        id,
        author: author.to_string(),
        author_name: c.author_name(author),
        author_fingerprint: author.fingerprint(),
        to,
        sent_at: crate::time::rfc3339(at),
        sent_at_ms: at,
        checkin: checkin.clone(),
    }
}

fn meeting_item(
    c: &CircleState,
    id: &MessageId,
    author: &MemberKey,
    meeting: &Meeting,
    viewer: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
) -> MeetingItem {
    let next = clock::parse_zone(&meeting.zone)
        .ok()
        .and_then(|tz| schedule::next_occurrence(&meeting.schedule, &tz, now));
    MeetingItem {
        id: id.to_string(),
        added_by: c.author_name(author),
        added_by_fingerprint: author.fingerprint(),
        title: meeting.title.clone(),
        when: meeting.schedule.describe(),
        zone: meeting.zone.clone(),
        link: meeting.link.clone(),
        next: next.map(|t| crate::time::rfc3339(t.as_millisecond().max(0) as u64)),
        next_ms: next.map(|t| t.as_millisecond().max(0) as u64),
        next_local: next.map(|t| schedule::local_text(t, viewer)),
    }
}

/// Where two members stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pairing {
    Partners,
    AskedMe,
    IAsked,
}

impl Pairing {
    /// As the API says it.
    fn public(self) -> PartnerState {
        match self {
            Pairing::Partners => PartnerState::Partner,
            Pairing::AskedMe => PartnerState::AskedYou,
            Pairing::IAsked => PartnerState::YouAsked,
        }
    }
}

/// Folds the partnership steps this member can read (each is sealed to both people) into
/// where they stand with each other member, and since when.
fn partner_states(me: &MemberKey, msgs: &[Msg]) -> BTreeMap<MemberKey, (Pairing, u64)> {
    let mut steps: Vec<(u64, MessageId, MemberKey, PartnerStep, MemberKey)> = msgs
        .iter()
        .filter_map(|m| match &m.private {
            Some(Private::Partner { step, with }) => {
                Some((m.sent_at, m.id, m.author, *step, *with))
            }
            _ => None,
        })
        .collect();
    steps.sort_by_key(|(at, id, ..)| (*at, *id));
    let mut out: BTreeMap<MemberKey, (Pairing, u64)> = BTreeMap::new();
    for (at, _, author, step, with) in steps {
        let other = match (author == *me, with == *me) {
            (true, false) => with,
            (false, true) => author,
            _ => continue,
        };
        let mine = author == *me;
        let now = out.get(&other).map(|(s, _)| *s);
        let next = match (step, now) {
            (PartnerStep::Request, None) => Some(if mine {
                Pairing::IAsked
            } else {
                Pairing::AskedMe
            }),
            // Both asked: that is a yes from each.
            (PartnerStep::Request, Some(Pairing::AskedMe)) if mine => Some(Pairing::Partners),
            (PartnerStep::Request, Some(Pairing::IAsked)) if !mine => Some(Pairing::Partners),
            (PartnerStep::Accept, Some(Pairing::AskedMe)) if mine => Some(Pairing::Partners),
            (PartnerStep::Accept, Some(Pairing::IAsked)) if !mine => Some(Pairing::Partners),
            (PartnerStep::Decline, Some(Pairing::AskedMe)) if mine => None,
            (PartnerStep::Decline, Some(Pairing::IAsked)) if !mine => None,
            (PartnerStep::End, Some(_)) => None,
            _ => now,
        };
        match next {
            Some(state) if Some(state) != now => {
                out.insert(other, (state, at));
            }
            Some(_) => {}
            None => {
                out.remove(&other);
            }
        }
    }
    out
}

/// The ids of the partnership ends among `msgs` (this member can read them).
pub(super) fn partnership_ends(msgs: &[Msg]) -> Vec<MessageId> {
    msgs.iter()
        .filter(|m| {
            matches!(
                m.private,
                Some(Private::Partner {
                    step: PartnerStep::End,
                    ..
                })
            )
        })
        .map(|m| m.id)
        .collect()
}

/// The partnership ends (ids, text form) that took back a request nobody had answered yet,
/// rather than ended a partnership: the steps between each two people folded in date order,
/// as [`partner_states`] does for this member.
pub(super) fn requests_taken_back(msgs: &[Msg]) -> BTreeSet<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Between {
        Asked(MemberKey),
        Partners,
    }
    let mut steps: Vec<(u64, MessageId, MemberKey, PartnerStep, MemberKey)> = msgs
        .iter()
        .filter_map(|m| match &m.private {
            Some(Private::Partner { step, with }) => {
                Some((m.sent_at, m.id, m.author, *step, *with))
            }
            _ => None,
        })
        .collect();
    steps.sort_by_key(|(at, id, ..)| (*at, *id));
    let mut pairs: BTreeMap<(MemberKey, MemberKey), Between> = BTreeMap::new();
    let mut taken_back = BTreeSet::new();
    for (_, id, author, step, with) in steps {
        let pair = (author.min(with), author.max(with));
        let now = pairs.get(&pair).copied();
        let next = match (step, now) {
            (PartnerStep::Request, None) => Some(Between::Asked(author)),
            (PartnerStep::Request, Some(Between::Asked(by))) if by != author => {
                Some(Between::Partners)
            }
            (PartnerStep::Accept, Some(Between::Asked(by))) if by != author => {
                Some(Between::Partners)
            }
            (PartnerStep::Decline, Some(Between::Asked(by))) if by != author => None,
            (PartnerStep::End, Some(Between::Asked(by))) if by == author => {
                taken_back.insert(id.to_string());
                None
            }
            (PartnerStep::End, Some(_)) => None,
            _ => now,
        };
        match next {
            Some(state) => pairs.insert(pair, state),
            None => pairs.remove(&pair),
        };
    }
    taken_back
}

/// Whether someone who checks in regularly has missed their usual check-in: at least three
/// check-ins seen, and the time since the last is more than twice their usual gap and more
/// than 36 hours.
pub(crate) fn missed_usual(times: &[u64], now: u64) -> bool {
    let mut times = times.to_vec();
    times.sort_unstable();
    if times.len() < 3 {
        return false;
    }
    let recent = &times[times.len().saturating_sub(7)..];
    let mut gaps: Vec<u64> = recent.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_unstable();
    let usual = gaps[gaps.len() / 2];
    let last = *recent.last().unwrap_or(&0);
    let since = now.saturating_sub(last);
    since > usual.saturating_mul(2) && since > 36 * 3600 * 1000
}

/// Used by the feed to say what happened to a message whose content is gone.
pub(super) fn gone_text(why: Gone) -> &'static str {
    match why {
        Gone::Withdrawn => "(withdrawn by its author)",
        Gone::Expired => "(expired)",
    }
}
