//! Writing a support circle's messages: shares with replies and expiry, reactions,
//! withdrawals, check-ins, goals, partnerships and their private messages, reach-outs,
//! meetings, resources, guidelines. Each is checked here so a person gets a clear reason
//! before anything is written; every node checks what it receives again.

use std::time::Duration;

use circle_crypto::MessageId;

use super::views::{Msg, OwnCheckin};
use super::*;
use crate::store::Gone;
use crate::support::{
    Audience, Checkin, Format, Goal, Meeting, PartnerStep, Post, Private, ReachOut, Resource,
    check_note, clock,
    schedule::{self, Schedule},
    sealed::Sealed,
};

/// `ms` (unix milliseconds) as a jiff timestamp.
fn timestamp(ms: u64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX))
        .map_err(|e| Error::Invalid(format!("the clock is off: {e}")))
}

/// Shortest start of a message id accepted in place of the whole id.
pub const MIN_ID_PREFIX: usize = 6;

impl Circles {
    /// Shares text, optionally as a reply and with an expiry. On disk when this returns.
    pub fn share_with(
        &self,
        circle: &CircleId,
        text: &str,
        reply_to: Option<&str>,
        expires: Option<Duration>,
    ) -> Result<Vec<Envelope>> {
        check_text(text)?;
        let reply_to = match reply_to {
            Some(r) => {
                let (c, id) = self.find_message(r)?;
                if c != *circle {
                    return Err(Error::Invalid(
                        "that message is in another circle: reply in its own circle".into(),
                    ));
                }
                self.public_target(circle, &id)?;
                Some(id)
            }
            None => None,
        };
        let expires_at = match expires {
            Some(d) => {
                let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                if !(1000..=crate::support::MAX_EXPIRY_MS).contains(&ms) {
                    return Err(Error::Invalid(
                        "a share can expire after 1 second to 366 days (for example 24h)".into(),
                    ));
                }
                Some(now_ms().saturating_add(ms))
            }
            None => None,
        };
        self.post(
            circle,
            Body::Post(Post {
                text: text.to_string(),
                reply_to,
                expires_at,
            }),
        )
    }

    /// Finds a message by its id, or by a start of it at least [`MIN_ID_PREFIX`] characters
    /// long that only one message has, in any of this node's circles.
    pub fn find_message(&self, text: &str) -> Result<(CircleId, MessageId)> {
        let text = text.trim().trim_start_matches('#');
        let circles: Vec<CircleId> = self.read(|s| s.keys().copied().collect())?;
        if let Ok(id) = text.parse::<MessageId>() {
            for c in &circles {
                if self.store().message_circle(&id)? == Some(*c) {
                    return Ok((*c, id));
                }
            }
            return Err(Error::Invalid(format!(
                "no message {} is on this node",
                id.short()
            )));
        }
        if text.chars().count() < MIN_ID_PREFIX {
            return Err(Error::Invalid(format!(
                "'{text}' is too short to find a message: give at least {MIN_ID_PREFIX} \
                 characters of its id (`circle feed` shows 8)"
            )));
        }
        let mut found = Vec::new();
        for c in &circles {
            for a in self.store().arrivals_after(c, 0) {
                let a = a?;
                if a.id.to_string().starts_with(text) {
                    found.push((*c, a.id));
                }
            }
        }
        found.dedup();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::Invalid(format!(
                "no message here has an id starting with '{text}'"
            ))),
            _ => Err(Error::Invalid(format!(
                "more than one message has an id starting with '{text}': give more of it"
            ))),
        }
    }

    /// Refuses to answer or react in the open to what the circle cannot read: a private
    /// message (that would tell everyone something about it), or one not shown here.
    fn public_target(&self, circle: &CircleId, id: &MessageId) -> Result<()> {
        match self.message(circle, id)? {
            Some(m) if matches!(m.body, Some(Body::Private(_))) => Err(Error::Invalid(
                "that is a private message: answer it privately with `circle dm`".into(),
            )),
            Some(m) if m.gone.is_some() => Err(Error::Invalid(
                "that message was withdrawn or has expired".into(),
            )),
            Some(_) => Ok(()),
            None => Err(Error::Invalid("that message cannot be read here".into())),
        }
    }

    /// Reacts to a message. Returns its circle and what to gossip.
    pub fn react(&self, message: &str, emoji: &str) -> Result<(CircleId, Vec<Envelope>)> {
        crate::support::check_reaction(emoji)?;
        let (circle, to) = self.find_message(message)?;
        self.public_target(&circle, &to)?;
        let written = self.post(
            &circle,
            Body::React {
                to,
                emoji: emoji.to_string(),
            },
        )?;
        Ok((circle, written))
    }

    /// Takes back one of this node's member's messages: the withdrawal is written, then the
    /// message's content is dropped here (every other node drops it when the withdrawal
    /// reaches it).
    pub fn withdraw(&self, message: &str) -> Result<(CircleId, Vec<Envelope>)> {
        let (circle, id) = self.find_message(message)?;
        let me = self.my_key(&circle)?;
        let target = self
            .message(&circle, &id)?
            .ok_or_else(|| Error::Invalid("that message cannot be read here".into()))?;
        if matches!(target.private, Some(Private::Partner { .. })) {
            return Err(Error::Invalid(
                "a step in a partnership cannot be withdrawn: end the partnership with \
                 `circle partner end` instead"
                    .into(),
            ));
        }
        if target.author != me {
            return Err(Error::Invalid(
                "only its author can withdraw a message: this one is someone else's".into(),
            ));
        }
        if target.gone.is_some() {
            return Err(Error::Invalid("that message is already gone".into()));
        }
        if matches!(
            target.body,
            Some(
                Body::Op(_)
                    | Body::Acked(_)
                    | Body::Withdraw { .. }
                    | Body::Seen { .. }
                    | Body::Moved { .. }
            )
        ) {
            return Err(Error::Invalid(
                "only shares, check-ins, goals and other things you wrote can be withdrawn, \
                 not changes to the circle"
                    .into(),
            ));
        }
        let written = self.post(
            &circle,
            Body::Withdraw {
                seq: target.seq,
                id,
            },
        )?;
        self.store().drop_content(
            &circle,
            &me,
            target.seq,
            &id,
            Gone::Withdrawn,
            Some(target.sent_at),
        )?;
        self.store().flush()?;
        self.inner.arrivals.send_modify(|n| *n += 1);
        Ok((circle, written))
    }

    /// Applies a withdrawal by `author` of their message `seq`: drops its content if held
    /// (unless it is a membership operation, which cannot be withdrawn), or marks it gone.
    pub(super) fn apply_withdraw(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        seq: u64,
        id: &MessageId,
    ) -> Result<()> {
        let held = if self.store().has_message(id)? {
            let target = self.message(circle, id)?;
            match target {
                Some(Msg { gone: Some(_), .. }) => return Ok(()),
                // Membership operations and partnership steps make state other messages
                // build on: they stay.
                Some(Msg {
                    body: Some(Body::Op(_) | Body::Acked(_)),
                    ..
                })
                | Some(Msg {
                    private: Some(Private::Partner { .. }),
                    ..
                }) => {
                    tracing::info!(circle = %circle.short(), "a withdrawal of an operation or a partnership step is ignored");
                    return Ok(());
                }
                Some(m) if m.author == *author && m.seq == seq => Some(m.sent_at),
                _ => return Ok(()),
            }
        } else {
            // Not here yet: only that very envelope is dropped when it comes, once it is
            // checked (a withdrawal cannot keep out someone else's message, or an operation).
            return self.store().note_withdrawal(circle, author, seq, id);
        };
        self.store()
            .drop_content(circle, author, seq, id, Gone::Withdrawn, held)?;
        Ok(())
    }

    /// Drops the content of every message whose time is up. Returns how many.
    pub fn sweep_expired(&self, now: u64) -> Result<usize> {
        let expired = self.store().expired(now)?;
        let mut n = 0;
        for (circle, author, seq, id) in expired {
            let sent_at = self.message(&circle, &id).ok().flatten().map(|m| m.sent_at);
            if self
                .store()
                .drop_content(&circle, &author, seq, &id, Gone::Expired, sent_at)?
            {
                n += 1;
            }
        }
        if n > 0 {
            self.store().flush()?;
            self.inner.arrivals.send_modify(|x| *x += 1);
        }
        Ok(n)
    }

    /// Writes a check-in for its audience: the circle, the member's partners (sealed to each),
    /// or only this node (nothing is sent; returns no envelopes).
    pub fn checkin(
        &self,
        circle: &CircleId,
        checkin: Checkin,
        to: Audience,
    ) -> Result<Vec<Envelope>> {
        checkin.check()?;
        // What this person writes is measured in characters (what arrives from others, in
        // bytes: older nodes counted them so).
        if let Some(note) = &checkin.note {
            check_note("note", note)?;
        }
        match to {
            Audience::Circle => self.post(circle, Body::Checkin(checkin)),
            Audience::Partner => self.post_private(circle, None, Private::Checkin(checkin)),
            Audience::Me => {
                self.with_circle(circle, |c| c.check_member().map(|_| ()))?;
                self.store().add_private_entry(
                    circle,
                    &OwnCheckin {
                        at: now_ms(),
                        checkin,
                    },
                )?;
                self.store().flush()?;
                Ok(Vec::new())
            }
        }
    }

    /// Writes a goal for the circle or for the member's partners, or keeps it on this node
    /// only (nothing is sent; returns no envelopes: [`Circles::own_goal`] gives its id). A date
    /// it is due by must not have passed: today, in this machine's time zone (the person's),
    /// is the earliest.
    pub fn goal(&self, circle: &CircleId, goal: Goal, to: Audience) -> Result<Vec<Envelope>> {
        goal.check()?;
        check_note("goal", &goal.text)?;
        if let Some(by) = &goal.by {
            let zone = clock::parse_zone(&clock::system_zone_name())?;
            let today = clock::today_in(&zone, timestamp(now_ms())?);
            if clock::parse_date(by)? < today {
                return Err(Error::Invalid(format!(
                    "{} has passed: give a date from today ({today}) on, or no date",
                    by.trim()
                )));
            }
        }
        match to {
            Audience::Circle => self.post(circle, Body::Goal(goal)),
            Audience::Partner => self.post_private(circle, None, Private::Goal(goal)),
            Audience::Me => self.own_goal(circle, goal).map(|_| Vec::new()),
        }
    }

    /// Marks one of the member's goals reached, told to the same audience as the goal.
    pub fn goal_done(&self, goal: &str) -> Result<(CircleId, Vec<Envelope>)> {
        let (circle, id) = self.find_message(goal)?;
        let me = self.my_key(&circle)?;
        let target = self
            .message(&circle, &id)?
            .ok_or_else(|| Error::Invalid("that goal cannot be read here".into()))?;
        let private = match (&target.body, &target.private) {
            (Some(Body::Goal(_)), _) => false,
            (_, Some(Private::Goal(_))) => true,
            _ => return Err(Error::Invalid("that message is not a goal".into())),
        };
        if target.author != me {
            return Err(Error::Invalid(
                "that is someone else's goal: only they can mark it done (you can react to it)"
                    .into(),
            ));
        }
        // Reached once is reached: a second note would tell the circle twice.
        let done_at = self.notable(&circle)?.iter().find_map(|m| {
            let done = match (&m.body, &m.private) {
                (Some(Body::GoalDone { goal }), _) | (_, Some(Private::GoalDone { goal })) => {
                    *goal == id
                }
                _ => false,
            };
            (done && m.author == me).then_some(m.sent_at)
        });
        if let Some(at) = done_at {
            let day = crate::time::rfc3339(at);
            return Err(Error::Invalid(format!(
                "that goal is already done (you marked it on {}): nothing new was sent",
                day.get(..10).unwrap_or(&day)
            )));
        }
        let written = if private {
            self.post_private(&circle, None, Private::GoalDone { goal: id })?
        } else {
            self.post(&circle, Body::GoalDone { goal: id })?
        };
        Ok((circle, written))
    }

    /// A step in a partnership with `other`, sealed to the two of them.
    pub fn partner(
        &self,
        circle: &CircleId,
        other: &MemberKey,
        step: PartnerStep,
    ) -> Result<Vec<Envelope>> {
        let me = self.my_key(circle)?;
        if *other == me {
            return Err(Error::Invalid(
                "you cannot be your own accountability partner".into(),
            ));
        }
        let name = self.with_circle(circle, |c| Ok(c.author_name(other)))?;
        let (now, last) = self.pairing(circle, other)?;
        let ok = match step {
            PartnerStep::Request => matches!(now, None | Some(PartnerState::AskedYou)),
            PartnerStep::Accept | PartnerStep::Decline => now == Some(PartnerState::AskedYou),
            PartnerStep::End => matches!(now, Some(PartnerState::Partner | PartnerState::YouAsked)),
        };
        if !ok {
            return Err(Error::Invalid(match (step, now) {
                (PartnerStep::Request, Some(PartnerState::Partner)) => {
                    format!("{name} is already your partner")
                }
                (PartnerStep::Request, _) => {
                    format!("you already asked {name}: they can accept or decline")
                }
                (PartnerStep::Accept | PartnerStep::Decline, _) => {
                    format!("{name} has not asked you to be partners")
                }
                (PartnerStep::End, _) => format!("{name} is not your partner"),
            }));
        }
        // Steps are read in the order of their dates: an answer is dated after the last step
        // between the two, even when the other's clock runs ahead (or was set to the future).
        let at = last.map(|t| {
            t.saturating_add(1)
                .max(now_ms())
                .min(crate::time::MAX_TIMESTAMP_MS - 1)
        });
        self.post_private_at(
            circle,
            Some(other),
            Private::Partner { step, with: *other },
            at,
        )
    }

    /// A private message to a partner, sealed to them (and to the author).
    pub fn dm(&self, circle: &CircleId, to: &MemberKey, text: &str) -> Result<Vec<Envelope>> {
        check_text(text)?;
        if self.pairing(circle, to)?.0 != Some(PartnerState::Partner) {
            let name = self.with_circle(circle, |c| Ok(c.author_name(to)))?;
            return Err(Error::Invalid(format!(
                "{name} is not your accountability partner: private messages are between \
                 partners (ask with `circle partner request`)"
            )));
        }
        self.post_private(
            circle,
            Some(to),
            Private::Dm {
                text: text.to_string(),
            },
        )
    }

    /// Seals `private` to `to` (or, with `None`, to every current partner) and to the author,
    /// and writes it.
    fn post_private(
        &self,
        circle: &CircleId,
        to: Option<&MemberKey>,
        private: Private,
    ) -> Result<Vec<Envelope>> {
        self.post_private_at(circle, to, private, None)
    }

    fn post_private_at(
        &self,
        circle: &CircleId,
        to: Option<&MemberKey>,
        private: Private,
        at: Option<u64>,
    ) -> Result<Vec<Envelope>> {
        let readers: Vec<MemberKey> = match to {
            Some(k) => vec![*k],
            None => self.partner_keys(circle)?,
        };
        if readers.is_empty() {
            let name = self.with_circle(circle, |c| Ok(c.members.name.clone()))?;
            return Err(Error::Invalid(format!(
                "you have no accountability partner in '{name}' yet: ask someone with \
                 `circle partner request '{name}' NAME`"
            )));
        }
        let sealed = self.with_circle(circle, |c| {
            let me = c.check_member()?;
            let mut keys = vec![(me, c.me.exchange_key())];
            for r in &readers {
                let m = c.members.get(r).ok_or_else(|| {
                    Error::Invalid(format!("{} is no longer in the circle", c.author_name(r)))
                })?;
                keys.push((m.key, m.exchange));
            }
            Sealed::seal(circle, &me, &keys, &private)
        })?;
        self.post_dated(circle, Body::Private(sealed), at)
    }

    /// Reaches out to the circle.
    pub fn reach_out(&self, circle: &CircleId, reach_out: ReachOut) -> Result<Vec<Envelope>> {
        reach_out.check()?;
        if let Some(text) = &reach_out.text {
            check_note("message", text)?;
        }
        self.post(circle, Body::ReachOut(reach_out))
    }

    /// Tells the circle this member has seen every reach-out their node has shown them.
    /// Returns nothing when there is nothing new to acknowledge.
    pub fn mark_seen(&self, circle: &CircleId) -> Result<Vec<Envelope>> {
        let unseen = self.unseen_reach_outs(circle)?;
        if unseen.is_empty() {
            return Ok(Vec::new());
        }
        let of = unseen
            .into_iter()
            .rev()
            .take(crate::support::MAX_SEEN)
            .collect();
        self.post(circle, Body::Seen { of })
    }

    /// Adds a meeting. A one-off meeting must start later than now (in its own time zone).
    pub fn add_meeting(&self, circle: &CircleId, meeting: Meeting) -> Result<Vec<Envelope>> {
        meeting.check()?;
        if matches!(meeting.schedule, Schedule::Once { .. })
            && schedule::next_occurrence(
                &meeting.schedule,
                &clock::parse_zone(&meeting.zone)?,
                timestamp(now_ms())?,
            )
            .is_none()
        {
            return Err(Error::Invalid(format!(
                "a meeting {} ({}) would already have started: give a date and time to come",
                meeting.schedule.describe(),
                meeting.zone
            )));
        }
        self.post(circle, Body::Meeting(meeting))
    }

    /// Pins a resource.
    pub fn add_resource(&self, circle: &CircleId, resource: Resource) -> Result<Vec<Envelope>> {
        resource.check()?;
        self.post(circle, Body::Resource(resource))
    }

    /// Sets the circle's format and guidelines (admins only).
    pub fn set_guidelines(
        &self,
        circle: &CircleId,
        format: Format,
        text: &str,
    ) -> Result<Vec<Envelope>> {
        if text.len() > crate::membership::MAX_GUIDELINES_BYTES {
            return Err(Error::Invalid(format!(
                "the guidelines are too long ({} bytes; at most {})",
                text.len(),
                crate::membership::MAX_GUIDELINES_BYTES
            )));
        }
        self.with_circle(circle, |c| {
            let me = c.check_member()?;
            match c.members.get(&me).map(|m| m.role) {
                Some(Role::Admin) => Ok(()),
                _ => Err(Error::Invalid(format!(
                    "only admins of '{}' can set its guidelines",
                    c.members.name
                ))),
            }
        })?;
        self.post(
            circle,
            Body::Op(Op::Guidelines {
                format,
                text: text.to_string(),
            }),
        )
    }
}
