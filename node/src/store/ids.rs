//! The database's id counter after a store is rebuilt from its records.
//!
//! Arrival cursors, private records, messages kept while catching up and the generations of
//! backups held for others are numbered by sled's id counter (`Db::generate_id`). A restore
//! or an upgrade writes the records into a fresh database, whose counter starts again at 0:
//! left there, the next arrival would take the cursor of one already held and hide it from
//! every feed. So a rebuilt store moves its counter past every number its records use.

use super::{Result, Store, own::QUEUED};

/// The number at the end of a key (big-endian u64), if the key is long enough.
fn number_at(key: &[u8], end: usize) -> Option<u64> {
    let bytes = key.get(end.checked_sub(8)?..end)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

impl Store {
    /// The highest id the records use (0 if none).
    fn highest_id(&self) -> Result<u64> {
        let mut highest = 0u64;
        let mut see = |n: Option<u64>| highest = highest.max(n.unwrap_or(0));
        // circle (32) ‖ id (8)
        for tree in [&self.arrivals, &self.private] {
            for key in tree.iter().keys() {
                let key = key?;
                see(number_at(&key, key.len()));
            }
        }
        // "queued:" ‖ circle (32) ‖ id (8)
        for key in self.meta.scan_prefix(QUEUED).keys() {
            let key = key?;
            see(number_at(&key, key.len()));
        }
        // holder (32) ‖ generation (8) ‖ part (4)
        for key in self.held.iter().keys() {
            let key = key?;
            if key.len() == 44 {
                see(number_at(&key, 40));
            }
        }
        Ok(highest)
    }

    /// Moves the id counter past every id the records use, so new ones never take an old one's
    /// place. For a store just rebuilt from records (a restore, an upgrade).
    pub(crate) fn continue_ids(&self) -> Result<()> {
        let highest = self.highest_id()?;
        while self.db.generate_id()? < highest {}
        Ok(())
    }
}
