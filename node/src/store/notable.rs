//! Where each circle's notable messages are (see `circles::notable`), kept so that a node
//! that starts again does not open its whole history to find them: before, the notices'
//! first look after start decrypted every message, and sled kept every page it read (a node
//! holding 110 000 messages sat at about 230 MiB). In `meta`, sealed like every record;
//! keys hold a kind, a circle's keyed hash and an arrival cursor, the message id is in the
//! sealed value. Which messages are check-ins or reach-outs is as private as the messages
//! themselves, so nothing of it is in clear.

use circle_crypto::{CircleId, MessageId};

use super::Store;
use crate::error::{Error, Result};

const NOTABLE: &[u8] = b"notable:";
const UNOPENED: &[u8] = b"unopened:";
const UPTO: &[u8] = b"notable-upto:";

/// What was found of a circle's notable messages, as last saved.
#[derive(Debug, Default, PartialEq)]
pub struct NotableSaved {
    /// Every arrival up to this cursor has been looked at.
    pub upto: u64,
    /// Notable messages: (cursor, id), in arrival order.
    pub notable: Vec<(u64, MessageId)>,
    /// Arrivals that could not be opened when looked at: (cursor, id).
    pub unopened: Vec<(u64, MessageId)>,
}

/// What changed since the last save.
#[derive(Debug, Default)]
pub struct NotableChange {
    /// Every arrival up to this cursor has now been looked at.
    pub upto: u64,
    /// Notable messages found.
    pub notable: Vec<(u64, MessageId)>,
    /// Arrivals that could not be opened.
    pub unopened: Vec<(u64, MessageId)>,
    /// Cursors no longer unopened (looked at again).
    pub retried: Vec<u64>,
}

fn damaged() -> Error {
    Error::Refused("a stored index is damaged".into())
}

impl Store {
    fn notable_prefix(&self, kind: &[u8], circle: &CircleId) -> Vec<u8> {
        [kind, self.names.circle(circle).as_slice()].concat()
    }

    fn notable_entries(&self, kind: &[u8], circle: &CircleId) -> Result<Vec<(u64, MessageId)>> {
        let prefix = self.notable_prefix(kind, circle);
        let mut out = Vec::new();
        for item in self.meta.scan_prefix(&prefix) {
            let (k, v) = item?;
            let cursor = k
                .get(prefix.len()..)
                .and_then(|c| <[u8; 8]>::try_from(c).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(damaged)?;
            let id = self.open_sealed(&self.meta, &k, &v)?;
            out.push((cursor, MessageId::from_bytes(&id).map_err(|_| damaged())?));
        }
        Ok(out)
    }

    /// What was last saved of `circle`'s notable messages (nothing for a circle never looked
    /// at).
    pub fn notable_saved(&self, circle: &CircleId) -> Result<NotableSaved> {
        let Some(upto) = self.get_sealed(&self.meta, &self.notable_prefix(UPTO, circle))? else {
            return Ok(NotableSaved::default());
        };
        let upto = <[u8; 8]>::try_from(upto.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| damaged())?;
        Ok(NotableSaved {
            upto,
            notable: self.notable_entries(NOTABLE, circle)?,
            unopened: self.notable_entries(UNOPENED, circle)?,
        })
    }

    /// Saves what was found since the last save, in one batch.
    pub fn save_notable(&self, circle: &CircleId, change: &NotableChange) -> Result<()> {
        let mut batch = sled::Batch::default();
        let mut put = |key: Vec<u8>, value: &[u8]| {
            let sealed = self.data_key.seal(&Self::aad(&self.meta, &key), value);
            batch.insert(key, sealed);
        };
        for (kind, entries) in [(NOTABLE, &change.notable), (UNOPENED, &change.unopened)] {
            for (cursor, id) in entries {
                let key = [
                    self.notable_prefix(kind, circle),
                    cursor.to_be_bytes().to_vec(),
                ]
                .concat();
                put(key, id.as_bytes());
            }
        }
        put(
            self.notable_prefix(UPTO, circle),
            &change.upto.to_be_bytes(),
        );
        for cursor in &change.retried {
            batch.remove(
                [
                    self.notable_prefix(UNOPENED, circle),
                    cursor.to_be_bytes().to_vec(),
                ]
                .concat(),
            );
        }
        self.meta.apply_batch(batch)?;
        Ok(())
    }
}
