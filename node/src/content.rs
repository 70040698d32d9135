//! What is inside a sealed envelope: the plaintext every member's node decrypts.

use serde::{Deserialize, Serialize};

use circle_crypto::MessageId;

use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::membership::{Acked, Op};
use crate::support::{
    Checkin, Goal, MAX_SEEN, Meeting, MilestoneNote, Post, ReachOut, Resource, sealed::Sealed,
};

/// Longest share or private message as it travels, in bytes of UTF-8 (well under the
/// envelope limit): what a node accepts from others.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Longest share or private message a person may write, in characters: any text this long
/// fits [`MAX_TEXT_BYTES`] (a character takes at most 4 bytes).
pub const MAX_TEXT_CHARS: usize = MAX_TEXT_BYTES / 4;

/// The decrypted content of one message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Content {
    /// When the author sent it, unix milliseconds, by the author's clock.
    pub sent_at: u64,
    /// What it is.
    pub body: Body,
}

/// The kinds of message a circle carries. New kinds are appended, never reordered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
// A decoded body lives only while one message is handled; boxing the operation would only add
// an allocation to every membership message.
#[allow(clippy::large_enum_variant)]
pub enum Body {
    /// A story, a struggle or a win, shared with the circle.
    Share {
        /// The text.
        text: String,
    },
    /// A membership operation (admit, remove, leave, roles, policy, invites, new keys).
    Op(Op),
    /// A share with a reply or an expiry (this version writes every share so).
    Post(Post),
    /// A reaction to a message.
    React {
        /// The message.
        to: MessageId,
        /// The emoji (or a short word).
        emoji: String,
    },
    /// The author takes back one of their own messages: every node drops its content.
    Withdraw {
        /// Its number in the author's chain.
        seq: u64,
        /// Its id.
        id: MessageId,
    },
    /// A check-in for the whole circle.
    Checkin(Checkin),
    /// A goal shared with the circle.
    Goal(Goal),
    /// A goal reached (its message, by the same author).
    GoalDone {
        /// The goal's message.
        goal: MessageId,
    },
    /// A milestone of a clock the author shares with the circle.
    Milestone(MilestoneNote),
    /// The author restarted a clock they share with the circle, and chose to say so.
    ClockReset {
        /// The clock's name.
        clock: String,
        /// What they want to say about it.
        note: Option<String>,
    },
    /// A call for help.
    ReachOut(ReachOut),
    /// The author's node showed them these reach-outs.
    Seen {
        /// The reach-outs.
        of: Vec<MessageId>,
    },
    /// A meeting of the circle.
    Meeting(Meeting),
    /// A pinned resource.
    Resource(Resource),
    /// What only the author's partners may read (sealed to each).
    Private(Sealed),
    /// A membership operation with what its author had seen (membership version 4: what
    /// this version writes; [`Body::Op`] is still read, as having seen nothing).
    Acked(Acked),
    /// The author's member moved to a restored copy of their node, of this generation (the
    /// copy after the one of `generation - 1`): an older copy that reads it stops writing
    /// (docs/PROTOCOL.md, section 4.5). Not shown in feeds.
    Moved {
        /// 1 for the first restored copy, one more for each restore after it.
        generation: u64,
    },
}

impl Body {
    /// What it is, as feeds, notices and JSON name it.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Share { .. } | Body::Post(_) => Kind::Share,
            Body::Op(op) | Body::Acked(Acked { op, .. }) => op.kind(),
            Body::React { .. } => Kind::Reaction,
            Body::Withdraw { .. } => Kind::Withdraw,
            Body::Checkin(_) => Kind::Checkin,
            Body::Goal(_) => Kind::Goal,
            Body::GoalDone { .. } => Kind::GoalDone,
            Body::Milestone(_) => Kind::Milestone,
            Body::ClockReset { .. } => Kind::ClockReset,
            Body::ReachOut(_) => Kind::ReachOut,
            Body::Seen { .. } => Kind::Seen,
            Body::Meeting(_) => Kind::Meeting,
            Body::Resource(_) => Kind::Resource,
            Body::Private(_) => Kind::Private,
            Body::Moved { .. } => Kind::Moved,
        }
    }

    /// The membership operation this carries, if it carries one.
    pub fn op(&self) -> Option<&Op> {
        match self {
            Body::Op(op) | Body::Acked(Acked { op, .. }) => Some(op),
            _ => None,
        }
    }

    /// When every node drops this message's content (unix ms), if it expires.
    pub fn expires_at(&self) -> Option<u64> {
        match self {
            Body::Post(p) => p.expires_at,
            _ => None,
        }
    }
}

impl Content {
    /// Encodes for sealing.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("content always encodes")
    }

    /// Decodes decrypted bytes; trailing bytes are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Content> {
        let (content, rest) = postcard::take_from_bytes::<Content>(bytes)
            .map_err(|_| Error::Refused("message content does not decode".into()))?;
        if !rest.is_empty() {
            return Err(Error::Refused("message content has trailing bytes".into()));
        }
        // One content, one encoding: postcard also reads numbers written longer than needed.
        if content.to_bytes() != bytes {
            return Err(Error::Refused(
                "message content is not in its one canonical encoding".into(),
            ));
        }
        if content.sent_at >= crate::time::MAX_TIMESTAMP_MS {
            return Err(Error::Refused(
                "message is dated after the year 9999".into(),
            ));
        }
        match &content.body {
            Body::Share { text } => check_wire_text(text)?,
            Body::Op(op) => op.check()?,
            Body::Post(p) => p.check(content.sent_at)?,
            Body::React { emoji, .. } => crate::support::check_reaction(emoji)?,
            Body::Withdraw { seq, .. } => {
                if *seq == 0 {
                    return Err(Error::Refused("a withdrawal of message number 0".into()));
                }
            }
            Body::Checkin(c) => c.check()?,
            Body::Goal(g) => g.check()?,
            Body::GoalDone { .. } => {}
            Body::Milestone(m) => m.check()?,
            Body::ClockReset { clock, note } => {
                crate::support::check_short(
                    "clock name",
                    clock,
                    crate::support::MAX_CLOCK_NAME_CHARS,
                )?;
                if let Some(note) = note {
                    crate::support::check_field("note", note, crate::support::MAX_NOTE_BYTES)?;
                }
            }
            Body::ReachOut(r) => r.check()?,
            Body::Seen { of } => {
                if of.is_empty() || of.len() > MAX_SEEN {
                    return Err(Error::Refused(
                        "a 'seen' message acknowledging nothing or too much".into(),
                    ));
                }
            }
            Body::Meeting(m) => m.check()?,
            Body::Resource(r) => r.check()?,
            Body::Private(s) => s.check()?,
            Body::Acked(a) => a.check()?,
            Body::Moved { generation } => {
                if *generation == 0 {
                    return Err(Error::Refused("a move to a copy of generation 0".into()));
                }
            }
        }
        Ok(content)
    }
}

/// Checks the text of a share or private message a person writes: at most
/// [`MAX_TEXT_CHARS`] characters, whatever their script.
pub fn check_text(text: &str) -> Result<()> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Error::Invalid(format!(
            "the text is too long: at most {MAX_TEXT_CHARS} characters (this one has {chars}); \
             split it into two shares"
        )));
    }
    check_wire_text(text)
}

/// Checks the text of a share or private message from another node: at most
/// [`MAX_TEXT_BYTES`], as every version of circle has sent.
pub(crate) fn check_wire_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::Invalid(
            "there is nothing to share: the text is empty".into(),
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(Error::Invalid(format!(
            "the text is too long: at most {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_measured_in_characters_whatever_its_script() {
        // 4 bytes each: the longest text a person may write is still within the wire bound.
        assert!(check_text(&"😀".repeat(MAX_TEXT_CHARS)).is_ok());
        let error = check_text(&"😀".repeat(MAX_TEXT_CHARS + 1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the text is too long: at most 4096 characters (this one has 4097); split it into \
             two shares"
        );
        // What an older node sent within the byte bound still reads.
        let older = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(check_wire_text(&older).is_ok() && check_text(&older).is_err());
        assert!(check_wire_text(&"x".repeat(MAX_TEXT_BYTES + 1)).is_err());
    }

    #[test]
    fn a_note_is_measured_in_characters() {
        use crate::support::{MAX_NOTE_CHARS, check_note};
        assert!(check_note("note", &"é".repeat(MAX_NOTE_CHARS)).is_ok());
        let error = check_note("note", &"é".repeat(MAX_NOTE_CHARS + 1)).unwrap_err();
        assert!(
            error.to_string().contains("at most 1024 characters"),
            "{error}"
        );
    }

    #[test]
    fn round_trip_and_hostile_bytes() {
        let c = Content {
            sent_at: 5,
            body: Body::Share {
                text: "day 3, still here".into(),
            },
        };
        assert_eq!(Content::from_bytes(&c.to_bytes()).unwrap(), c);
        let mut extra = c.to_bytes();
        extra.push(0);
        assert!(Content::from_bytes(&extra).is_err());
        assert!(Content::from_bytes(&[0xff; 7]).is_err());
        assert!(Content::from_bytes(&[]).is_err());
        let empty = Content {
            sent_at: 5,
            body: Body::Share { text: " ".into() },
        };
        assert!(Content::from_bytes(&empty.to_bytes()).is_err());
    }
}
