//! What is inside a sealed envelope: the plaintext every member's node decrypts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::membership::Op;

/// Longest share, in bytes of UTF-8 (well under the envelope limit).
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

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
}

impl Body {
    /// The kind's name in feeds and JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Share { .. } => "share",
            Body::Op(op) => op.kind(),
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
        if content.sent_at >= crate::time::MAX_TIMESTAMP_MS {
            return Err(Error::Refused(
                "message is dated after the year 9999".into(),
            ));
        }
        match &content.body {
            Body::Share { text } => check_text(text)?,
            Body::Op(op) => op.check()?,
        }
        Ok(content)
    }
}

/// Checks the text of a share.
pub fn check_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::Invalid(
            "there is nothing to share: the text is empty".into(),
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(Error::Invalid(format!(
            "the text is too long ({} bytes; at most {MAX_TEXT_BYTES})",
            text.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
