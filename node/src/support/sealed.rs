//! [`Private`] messages, sealed to each reader with HPKE inside the circle-sealed envelope.
//!
//! Every member's node can open the envelope (the circle key) and see that the author wrote
//! something private and to whom; only the readers named can open what it says. Each copy is
//! bound (as HPKE associated data) to the circle, the author and its reader, so nobody can
//! pass off a copy they were given as their own, or as meant for someone else.

use circle_crypto::{CircleId, ExchangeKey, MemberKey, MemberSecret, open_sealed, seal_to};
use serde::{Deserialize, Serialize};

use super::Private;
use crate::error::{Error, Result};

const INFO: &[u8] = b"circle/private/v1";

/// Most readers of one private message (the author and their partners).
pub const MAX_READERS: usize = 16;
/// Largest sealed copy, in bytes.
pub const MAX_SEALED_BYTES: usize = 20 * 1024;

/// A private message as it travels: one sealed copy per reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sealed {
    /// Each reader and their copy.
    pub to: Vec<(MemberKey, Vec<u8>)>,
}

fn aad(circle: &CircleId, author: &MemberKey, reader: &MemberKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(circle.as_bytes());
    out.extend_from_slice(&author.to_bytes());
    out.extend_from_slice(&reader.to_bytes());
    out
}

impl Sealed {
    /// Seals `private` to each reader (their member key and exchange key).
    pub fn seal(
        circle: &CircleId,
        author: &MemberKey,
        readers: &[(MemberKey, ExchangeKey)],
        private: &Private,
    ) -> Result<Sealed> {
        private.check()?;
        if readers.is_empty() || readers.len() > MAX_READERS {
            return Err(Error::Invalid(format!(
                "a private message has 1 to {MAX_READERS} readers"
            )));
        }
        let plain = zeroize::Zeroizing::new(
            postcard::to_allocvec(private).map_err(|e| Error::Invalid(e.to_string()))?,
        );
        let to = readers
            .iter()
            .map(|(key, exchange)| {
                Ok((
                    *key,
                    seal_to(exchange, INFO, &aad(circle, author, key), &plain)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Sealed { to })
    }

    /// Refuses what no node could accept: no readers, too many, one twice, oversized copies.
    pub fn check(&self) -> Result<()> {
        let refuse = |why: &str| Err(Error::Refused(why.to_string()));
        if self.to.is_empty() || self.to.len() > MAX_READERS {
            return refuse("a private message with no readers or too many");
        }
        if self.to.iter().any(|(_, s)| s.len() > MAX_SEALED_BYTES) {
            return refuse("an oversized private message");
        }
        let mut who: Vec<_> = self.to.iter().map(|(m, _)| *m).collect();
        who.sort();
        who.dedup();
        if who.len() != self.to.len() {
            return refuse("a private message sealed twice to one reader");
        }
        Ok(())
    }

    /// The readers named.
    pub fn readers(&self) -> impl Iterator<Item = &MemberKey> {
        self.to.iter().map(|(m, _)| m)
    }

    /// Opens the copy sealed to `me`, if there is one. `None` when this member is not a
    /// reader; an error when the copy is there but does not open or decode (it was forged
    /// or damaged).
    pub fn open(
        &self,
        circle: &CircleId,
        author: &MemberKey,
        me: &MemberSecret,
    ) -> Result<Option<Private>> {
        let key = me.public();
        let Some((_, copy)) = self.to.iter().find(|(m, _)| *m == key) else {
            return Ok(None);
        };
        let plain = open_sealed(me, INFO, &aad(circle, author, &key), copy)?;
        let private: Private = crate::membership::decode_exact(&plain)
            .ok_or_else(|| Error::Refused("a private message does not decode".into()))?;
        private.check()?;
        Ok(Some(private))
    }
}
