//! How each kind of message reads in a feed. Messages that are bookkeeping (withdrawals,
//! "seen" notes, invites, keys, operations that took no effect) and private messages this
//! member cannot read are not shown.

use super::views::{Msg, gone_text};
use super::*;
use crate::membership::InvitePolicy;
use crate::support::{Checkin, PartnerStep, Private};

/// The feed item for one decrypted message, if it is shown.
pub(super) fn item(c: &CircleState, circle: &CircleId, m: &Msg) -> Option<FeedItem> {
    let mut item = FeedItem {
        id: m.id.to_string(),
        circle: circle.to_string(),
        author: m.author.to_string(),
        author_name: c.author_name(&m.author),
        author_fingerprint: m.author.fingerprint(),
        kind: Kind::Share,
        text: String::new(),
        sent_at: crate::time::rfc3339(m.sent_at),
        sent_at_ms: m.sent_at,
        cursor: m.cursor,
        seq: m.seq,
        fork: m.fork,
        reply_to: None,
        reply_text: None,
        expires_at: None,
        gone: None,
        private_to: None,
        private_to_members: None,
        urgent: false,
    };
    if let Some(gone) = &m.gone {
        item.kind = match gone.why {
            Gone::Withdrawn => Kind::Withdrawn,
            Gone::Expired => Kind::Expired,
        };
        item.gone = Some(gone.why);
        item.text = gone_text(gone.why).to_string();
        return Some(item);
    }
    let body = m.body.as_ref()?;
    item.kind = body.kind();
    item.text = match body {
        Body::Share { text } => text.clone(),
        Body::Post(p) => {
            item.reply_to = p.reply_to.map(|r| r.to_string());
            item.expires_at = p.expires_at.map(crate::time::rfc3339);
            p.text.clone()
        }
        Body::React { to, emoji } => {
            item.reply_to = Some(to.to_string());
            emoji.clone()
        }
        Body::Checkin(ci) => checkin_text(ci),
        Body::Goal(g) => goal_text(&g.text, g.by.as_deref()),
        Body::GoalDone { goal } => {
            item.reply_to = Some(goal.to_string());
            "reached a goal".to_string()
        }
        Body::Milestone(ms) => format!("{}: {} 🎉", ms.clock, ms.label),
        Body::ClockReset { clock, note } => match note {
            Some(n) => format!("started their {clock} clock again. {n}"),
            None => format!("started their {clock} clock again"),
        },
        Body::ReachOut(r) => {
            item.urgent = true;
            let mut text = "is reaching out".to_string();
            if let Some(t) = &r.text {
                text = format!("{text}: {t}");
            }
            if let Some(n) = &r.callback {
                text = format!("{text} (call back: {n})");
            }
            text
        }
        Body::Meeting(mt) => format!(
            "added a meeting: {}, {} ({}){}",
            mt.title,
            mt.schedule.describe(),
            mt.zone,
            mt.link
                .as_ref()
                .map(|l| format!(" {l}"))
                .unwrap_or_default()
        ),
        Body::Resource(r) => format!(
            "pinned a resource: {}: {}",
            r.title,
            r.text
                .as_ref()
                .or(r.url.as_ref())
                .map_or("", |s| s.as_str())
        ),
        Body::Private(sealed) => {
            let private = m.private.as_ref()?;
            item.kind = private.kind();
            let readers: Vec<MemberName> = sealed
                .readers()
                .filter(|k| **k != m.author)
                .map(|k| c.member_name(k))
                .collect();
            item.private_to = Some(readers.iter().map(|r| r.name.clone()).collect());
            item.private_to_members = Some(readers);
            private_text(c, &m.author, private, &mut item)
        }
        Body::Withdraw { .. } | Body::Seen { .. } | Body::Moved { .. } => return None,
        Body::Op(op) | Body::Acked(crate::membership::Acked { op, .. }) => {
            op_text(c, &m.id, &m.author, op)?
        }
    };
    Some(item)
}

/// The start of what a message says, as a reply to it quotes it: its first line, at most
/// [`REPLY_TEXT_CHARS`] characters (with `…` when cut). None for what says nothing to quote
/// (reactions, notes, membership operations) or what is gone.
pub(super) fn start_of(m: &Msg) -> Option<String> {
    let whole = match (m.body.as_ref()?, &m.private) {
        (Body::Share { text }, _) => text.clone(),
        (Body::Post(p), _) => p.text.clone(),
        (Body::Goal(g), _) | (Body::Private(_), Some(Private::Goal(g))) => g.text.clone(),
        (Body::Checkin(ci), _) | (Body::Private(_), Some(Private::Checkin(ci))) => checkin_text(ci),
        (Body::Private(_), Some(Private::Dm { text })) => text.clone(),
        (Body::ReachOut(r), _) => r.text.clone().unwrap_or_else(|| "is reaching out".into()),
        (Body::Milestone(ms), _) => format!("{}: {}", ms.clock, ms.label),
        (Body::Meeting(mt), _) => mt.title.clone(),
        (Body::Resource(r), _) => r.title.clone(),
        _ => return None,
    };
    let line = whole.lines().find(|l| !l.trim().is_empty())?.trim();
    let mut start: String = line.chars().take(REPLY_TEXT_CHARS).collect();
    if start.len() < line.len() || whole.trim() != line {
        start.push('…');
    }
    Some(start)
}

fn checkin_text(ci: &Checkin) -> String {
    let mut parts = vec![format!("checked in: day {}/5", ci.day)];
    if let Some(m) = ci.mood {
        parts.push(format!("mood {m}/10"));
    }
    if let Some(cr) = ci.craving {
        parts.push(format!("craving {cr}/10"));
    }
    if !ci.triggers.is_empty() {
        parts.push(format!("triggers: {}", ci.triggers.join(", ")));
    }
    let mut text = parts.join(" · ");
    if let Some(n) = &ci.note {
        text = format!("{text}. {n}");
    }
    text
}

fn goal_text(text: &str, by: Option<&str>) -> String {
    match by {
        Some(by) => format!("set a goal: {text} (by {by})"),
        None => format!("set a goal: {text}"),
    }
}

fn private_text(c: &CircleState, author: &MemberKey, p: &Private, item: &mut FeedItem) -> String {
    match p {
        Private::Checkin(ci) => checkin_text(ci),
        Private::Goal(g) => goal_text(&g.text, g.by.as_deref()),
        Private::GoalDone { goal } => {
            item.reply_to = Some(goal.to_string());
            "reached a goal".to_string()
        }
        Private::Dm { text } => text.clone(),
        Private::Partner { step, with } => {
            let (by, other) = (c.author_name(author), c.author_name(with));
            match step {
                PartnerStep::Request => {
                    format!("{by} asked {other} to be accountability partners")
                }
                PartnerStep::Accept => format!("{by} and {other} are now accountability partners"),
                PartnerStep::Decline => format!("{by} said no for now to partnering with {other}"),
                PartnerStep::End => format!("{by} ended the partnership with {other}"),
            }
        }
    }
}

/// The feed text of a membership operation, or `None` for those that are not shown
/// (invites, keys, and operations that took no effect).
fn op_text(
    c: &CircleState,
    id: &circle_crypto::MessageId,
    author: &MemberKey,
    op: &Op,
) -> Option<String> {
    // An operation its author had no right to changed nothing, and is not shown.
    if !c.members.took_effect(id) {
        return None;
    }
    // The member an operation is about, with the words that tell them from a namesake.
    let named = |k: &MemberKey| format!("{} ({})", c.author_name(k), k.fingerprint());
    let by = c.author_name(author);
    Some(match op {
        Op::Admit { profile, .. } => {
            format!("{} joined the circle", Profile::open(profile).ok()?.name)
        }
        Op::Return {
            profile, former, ..
        } => {
            let now = Profile::open(profile).ok()?.name;
            let before = c.author_name(former);
            if before == now {
                format!("{now} came back to the circle")
            } else {
                format!("{now} came back to the circle (before, as {before})")
            }
        }
        Op::Leave => format!("{by} left the circle"),
        Op::Remove { member, .. } | Op::RemoveAt { member, .. } => {
            format!("{by} removed {} from the circle", named(member))
        }
        Op::Grant { member } => format!("{by} made {} an admin", named(member)),
        Op::Revoke { member, .. } | Op::RevokeAt { member, .. } => {
            format!("{by} made {} a member (no longer admin)", named(member))
        }
        Op::Policy { invites } => match invites {
            InvitePolicy::Admins => format!("{by} set the circle so only admins can invite"),
            InvitePolicy::Members => format!("{by} set the circle so every member can invite"),
        },
        Op::Rename { name } => format!("{by} renamed the circle to '{name}'"),
        Op::Guidelines { format, .. } => format!(
            "{by} set the circle's guidelines (format: {}): see `circle info`",
            format.as_str()
        ),
        Op::Invite { .. } | Op::RevokeInvite { .. } | Op::Rekey { .. } | Op::NewKey { .. } => {
            return None;
        }
    })
}
