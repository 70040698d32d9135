//! What makes a circle a support circle: replies and reactions, withdrawn and expiring shares,
//! check-ins, recovery clocks and milestones, goals, accountability partners and their private
//! messages, reaching out, meetings, resources.
//!
//! Every kind here is a message in the circle's sealed log (a [`crate::content::Body`]
//! variant), so it syncs, is stored sealed and follows membership. What only a person's
//! partners may read travels as [`Private`], sealed once more to each reader ([`sealed`]).
//! What a person keeps to themselves (check-ins for "me", their clocks) never leaves their
//! node ([`crate::store`]'s private records). This module holds the wire types and their
//! checks; the pure time logic is in [`clock`] and [`schedule`].

pub mod clock;
pub mod crisis;
pub mod schedule;
pub mod sealed;

use circle_crypto::{MemberKey, MessageId};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kind::Kind;

pub use schedule::Schedule;

/// Longest note, goal, title or reach-out text, in bytes of UTF-8.
pub const MAX_NOTE_BYTES: usize = 4 * 1024;
/// Longest title (meeting, resource), in characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// Longest link, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Most trigger tags on one check-in.
pub const MAX_TRIGGERS: usize = 16;
/// Longest trigger tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;
/// Longest reaction, in bytes (an emoji with modifiers, or a short word).
pub const MAX_REACTION_BYTES: usize = 32;
/// Most messages one "seen" message acknowledges.
pub const MAX_SEEN: usize = 64;
/// Longest clock name, in characters.
pub const MAX_CLOCK_NAME_CHARS: usize = 60;
/// Longest callback number, in characters.
pub const MAX_CALLBACK_CHARS: usize = 40;
/// Longest time zone name, in bytes.
pub const MAX_ZONE_BYTES: usize = 64;
/// Longest a share can be set to last before it expires (one year), in milliseconds.
pub const MAX_EXPIRY_MS: u64 = 366 * 24 * 3600 * 1000;

/// A share with the options the first share format lacked: a reply to another message, a time
/// after which every member's node drops it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// The text.
    pub text: String,
    /// The message this answers.
    pub reply_to: Option<MessageId>,
    /// When every node drops it (unix ms, by the author's clock).
    pub expires_at: Option<u64>,
}

/// Who a check-in or a goal is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Everyone in the circle.
    Circle,
    /// Only the person's accountability partners in the circle (sealed to each).
    Partner,
    /// Only the person: kept on their own node, never sent.
    Me,
}

impl Audience {
    /// Reads `circle`, `partner` or `me`.
    pub fn parse(text: &str) -> Result<Audience> {
        match text.trim().to_ascii_lowercase().as_str() {
            "circle" | "all" => Ok(Audience::Circle),
            "partner" | "partners" => Ok(Audience::Partner),
            "me" | "myself" | "private" => Ok(Audience::Me),
            _ => Err(Error::Invalid(format!(
                "'{text}' is not an audience: use circle, partner or me"
            ))),
        }
    }

    /// `circle`, `partner` or `me`.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Circle => "circle",
            Audience::Partner => "partner",
            Audience::Me => "me",
        }
    }
}

/// How someone is doing today.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Checkin {
    /// How the day is going, 1 (very hard) to 5 (good).
    pub day: u8,
    /// Mood, 0 to 10.
    pub mood: Option<u8>,
    /// Craving, 0 (none) to 10.
    pub craving: Option<u8>,
    /// What made today harder ("work", "payday", ...).
    pub triggers: Vec<String>,
    /// Anything else.
    pub note: Option<String>,
}

/// Something a person means to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// What.
    pub text: String,
    /// By when (YYYY-MM-DD), if they set a date.
    pub by: Option<String>,
}

/// A milestone of a clock the person shares with the circle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MilestoneNote {
    /// The clock's name ("sober", "no gambling").
    pub clock: String,
    /// The milestone ("30 days", "1 year").
    pub label: String,
    /// Days counted, in the person's own time zone.
    pub days: i64,
}

/// A call for help: every online member's node surfaces it at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReachOut {
    /// What the person wants to say, if anything.
    pub text: Option<String>,
    /// A number to call them back on.
    pub callback: Option<String>,
}

/// A meeting of the circle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    /// What it is called.
    pub title: String,
    /// When.
    pub schedule: Schedule,
    /// The time zone the schedule is in (IANA name).
    pub zone: String,
    /// Where to join online.
    pub link: Option<String>,
}

/// One of the circle's pinned coping strategies, numbers or links.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resource {
    /// Its title.
    pub title: String,
    /// Its text.
    pub text: Option<String>,
    /// Its link.
    pub url: Option<String>,
}

/// A step in an accountability partnership between the author and `with`.
// Names in JSON only: the wire form, postcard, numbers the variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnerStep {
    /// The author asks `with` to be partners.
    Request,
    /// The author accepts `with`'s request.
    Accept,
    /// The author declines `with`'s request.
    Decline,
    /// The author ends the partnership (or withdraws a request).
    End,
}

/// What only the author's partners (and the author) may read, sealed to each of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Private {
    /// A check-in for the author's partners.
    Checkin(Checkin),
    /// A goal shared with the author's partners.
    Goal(Goal),
    /// A partner-only goal reached.
    GoalDone {
        /// The goal's message.
        goal: MessageId,
    },
    /// A direct message to one partner.
    Dm {
        /// The text.
        text: String,
    },
    /// A step in a partnership with `with`.
    Partner {
        /// The step.
        step: PartnerStep,
        /// The other person.
        with: MemberKey,
    },
}

/// The format a circle follows.
// Names in JSON only: the wire form, postcard, numbers the variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Twelve-step fellowship.
    #[serde(rename = "12-step")]
    TwelveStep,
    /// SMART Recovery.
    Smart,
    /// Buddhist-inspired recovery (Recovery Dharma, Refuge Recovery).
    Dharma,
    /// Secular peer support.
    Secular,
    /// Something else.
    Other,
}

impl Format {
    /// Reads `12-step`, `smart`, `dharma`, `secular` or `other`.
    pub fn parse(text: &str) -> Result<Format> {
        match text.trim().to_ascii_lowercase().as_str() {
            "12-step" | "12step" | "twelve-step" => Ok(Format::TwelveStep),
            "smart" => Ok(Format::Smart),
            "dharma" => Ok(Format::Dharma),
            "secular" => Ok(Format::Secular),
            "other" => Ok(Format::Other),
            _ => Err(Error::Invalid(format!(
                "'{text}' is not a format: use 12-step, smart, dharma, secular or other"
            ))),
        }
    }

    /// The name as typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::TwelveStep => "12-step",
            Format::Smart => "smart",
            Format::Dharma => "dharma",
            Format::Secular => "secular",
            Format::Other => "other",
        }
    }
}

fn refuse<T>(why: impl Into<String>) -> Result<T> {
    Err(Error::Refused(why.into()))
}

/// Longest note, goal or reach-out text a person may write, in characters: any text this
/// long fits [`MAX_NOTE_BYTES`].
pub const MAX_NOTE_CHARS: usize = MAX_NOTE_BYTES / 4;

/// Checks a note, goal or message a person writes: not blank, at most [`MAX_NOTE_CHARS`]
/// characters.
pub fn check_note(what: &str, text: &str) -> Result<()> {
    let chars = text.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(Error::Invalid(format!(
            "the {what} is too long: at most {MAX_NOTE_CHARS} characters (this one has {chars})"
        )));
    }
    check_field(what, text, MAX_NOTE_BYTES)
}

/// Checks a free text field: not blank when required, at most `max` bytes, no control
/// characters but line breaks and tabs.
pub fn check_field(what: &str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::Invalid(format!("the {what} is empty")));
    }
    if text.len() > max {
        return Err(Error::Invalid(format!(
            "the {what} is too long: at most {} characters",
            max / 4
        )));
    }
    Ok(())
}

/// Checks a short name-like field: at most `max` characters, one line.
pub fn check_short(what: &str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::Invalid(format!("the {what} is empty")));
    }
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "the {what} must be one line of at most {max} characters"
        )));
    }
    Ok(())
}

fn check_scale(what: &str, value: Option<u8>, low: u8, high: u8) -> Result<()> {
    match value {
        Some(v) if !(low..=high).contains(&v) => Err(Error::Invalid(format!(
            "{what} is {v}: use {low} to {high}"
        ))),
        _ => Ok(()),
    }
}

/// Checks a link: http or https, one line, not too long.
pub fn check_url(url: &str) -> Result<()> {
    check_short("link", url, MAX_URL_BYTES)?;
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) || url.contains(' ') {
        return Err(Error::Invalid(format!(
            "'{url}' is not a web link: it must start with https:// (or http://)"
        )));
    }
    Ok(())
}

impl Post {
    /// Checks sizes and the expiry's reach.
    pub fn check(&self, sent_at: u64) -> Result<()> {
        crate::content::check_wire_text(&self.text)?;
        if let Some(at) = self.expires_at
            && (at <= sent_at || at - sent_at > MAX_EXPIRY_MS)
        {
            return refuse("a share expiring before it was sent or more than a year after");
        }
        Ok(())
    }
}

impl Checkin {
    /// Checks every scale and size.
    pub fn check(&self) -> Result<()> {
        check_scale("day", Some(self.day), 1, 5)?;
        check_scale("mood", self.mood, 0, 10)?;
        check_scale("craving", self.craving, 0, 10)?;
        if self.triggers.len() > MAX_TRIGGERS {
            return Err(Error::Invalid(format!(
                "at most {MAX_TRIGGERS} triggers on one check-in"
            )));
        }
        for t in &self.triggers {
            check_short("trigger", t, MAX_TAG_CHARS)?;
        }
        if let Some(note) = &self.note {
            check_field("note", note, MAX_NOTE_BYTES)?;
        }
        Ok(())
    }
}

impl Goal {
    /// Checks the text and the date.
    pub fn check(&self) -> Result<()> {
        check_field("goal", &self.text, MAX_NOTE_BYTES)?;
        if let Some(by) = &self.by {
            clock::parse_date(by)?;
        }
        Ok(())
    }
}

impl MilestoneNote {
    /// Checks sizes.
    pub fn check(&self) -> Result<()> {
        check_short("clock name", &self.clock, MAX_CLOCK_NAME_CHARS)?;
        check_short("milestone", &self.label, MAX_CLOCK_NAME_CHARS)?;
        if !(0..=40_000).contains(&self.days) {
            return refuse("a milestone of an impossible number of days");
        }
        Ok(())
    }
}

impl ReachOut {
    /// Checks sizes.
    pub fn check(&self) -> Result<()> {
        if let Some(text) = &self.text {
            check_field("message", text, MAX_NOTE_BYTES)?;
        }
        if let Some(number) = &self.callback {
            check_short("callback number", number, MAX_CALLBACK_CHARS)?;
        }
        Ok(())
    }
}

impl Meeting {
    /// Checks the title, schedule, zone and link.
    pub fn check(&self) -> Result<()> {
        check_short("meeting title", &self.title, MAX_TITLE_CHARS)?;
        self.schedule.check()?;
        if self.zone.len() > MAX_ZONE_BYTES {
            return refuse("an oversized time zone name");
        }
        clock::parse_zone(&self.zone)?;
        if let Some(link) = &self.link {
            check_url(link)?;
        }
        Ok(())
    }
}

impl Resource {
    /// Checks the title and that there is exactly one of text and link.
    pub fn check(&self) -> Result<()> {
        check_short("title", &self.title, MAX_TITLE_CHARS)?;
        match (&self.text, &self.url) {
            (Some(text), None) => check_field("text", text, MAX_NOTE_BYTES),
            (None, Some(url)) => check_url(url),
            _ => Err(Error::Invalid(
                "a resource has either a text or a link: use --text or --url".into(),
            )),
        }
    }
}

impl Private {
    /// Checks the inner message.
    pub fn check(&self) -> Result<()> {
        match self {
            Private::Checkin(c) => c.check(),
            Private::Goal(g) => g.check(),
            Private::Dm { text } => crate::content::check_wire_text(text),
            Private::GoalDone { .. } | Private::Partner { .. } => Ok(()),
        }
    }

    /// What it is, as feeds and JSON name it.
    pub fn kind(&self) -> Kind {
        match self {
            Private::Checkin(_) => Kind::Checkin,
            Private::Goal(_) => Kind::Goal,
            Private::GoalDone { .. } => Kind::GoalDone,
            Private::Dm { .. } => Kind::Dm,
            Private::Partner { .. } => Kind::Partner,
        }
    }
}

/// Checks a reaction: a short, one-line emoji or word.
pub fn check_reaction(emoji: &str) -> Result<()> {
    if emoji.trim().is_empty()
        || emoji.len() > MAX_REACTION_BYTES
        || emoji.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::Invalid(
            "a reaction is one emoji or a short word, like 🎉 or +1".into(),
        ));
    }
    Ok(())
}
