//! This node's own chain after a restore: what the person wrote while the node was catching
//! up (kept, not numbered yet), the generation of the copy, and whether a newer copy replaced
//! this one. In `meta`, sealed like every record; keys say nothing but the record's kind and
//! a circle's keyed hash.

use circle_crypto::CircleId;
use zeroize::Zeroizing;

use super::Store;
use crate::error::Result;

pub(super) const QUEUED: &[u8] = b"queued:";
const GENERATION: &[u8] = b"generation:";
const REPLACED: &[u8] = b"replaced";

/// A message kept while catching up: its key in `meta`, and its content bytes.
pub type Kept = (Vec<u8>, Zeroizing<Vec<u8>>);

impl Store {
    fn queue_prefix(&self, circle: &CircleId) -> Vec<u8> {
        [QUEUED, self.names.circle(circle).as_slice()].concat()
    }

    /// Keeps a message written while `circle` catches up (its content bytes), after those
    /// kept before it.
    pub fn queue_write(&self, circle: &CircleId, content: &[u8]) -> Result<()> {
        let n = self.next_id()?;
        let key = [self.queue_prefix(circle).as_slice(), &n.to_be_bytes()].concat();
        self.put_sealed(&self.meta, &key, content)
    }

    /// The messages kept for `circle`, oldest first: (its key, content bytes).
    pub fn queued(&self, circle: &CircleId) -> Result<Vec<Kept>> {
        let mut out = Vec::new();
        for item in self.meta.scan_prefix(self.queue_prefix(circle)) {
            let (k, v) = item?;
            out.push((k.to_vec(), self.open_sealed(&self.meta, &k, &v)?));
        }
        Ok(out)
    }

    /// How many messages are kept for `circle`.
    pub fn queued_count(&self, circle: &CircleId) -> usize {
        self.meta.scan_prefix(self.queue_prefix(circle)).count()
    }

    /// Forgets a kept message once it is numbered and stored.
    pub fn unqueue(&self, key: &[u8]) -> Result<()> {
        self.meta.remove(key)?;
        Ok(())
    }

    /// (the highest generation of a copy of this node's member named in its own chain in
    /// `circle`, the generation this copy wrote there itself); (0, 0) when none.
    pub fn generations(&self, circle: &CircleId) -> Result<(u64, u64)> {
        let key = [GENERATION, self.names.circle(circle).as_slice()].concat();
        Ok(match self.get_sealed(&self.meta, &key)? {
            Some(b) if b.len() == 16 => {
                let (known, mine) = b.split_at(8);
                (
                    u64::from_be_bytes(known.try_into().unwrap_or_default()),
                    u64::from_be_bytes(mine.try_into().unwrap_or_default()),
                )
            }
            _ => (0, 0),
        })
    }

    /// Records the generations of [`Store::generations`].
    pub fn set_generations(&self, circle: &CircleId, known: u64, mine: u64) -> Result<()> {
        let key = [GENERATION, self.names.circle(circle).as_slice()].concat();
        let value = [known.to_be_bytes(), mine.to_be_bytes()].concat();
        self.put_sealed(&self.meta, &key, &value)
    }

    /// Whether a newer copy of this node (a restore elsewhere) replaced it.
    pub fn replaced(&self) -> Result<bool> {
        Ok(self.get_sealed(&self.meta, REPLACED)?.is_some())
    }

    /// Records that a newer copy replaced this node: it never writes again.
    pub fn set_replaced(&self) -> Result<()> {
        self.put_sealed(&self.meta, REPLACED, &[1])?;
        self.flush()
    }
}
