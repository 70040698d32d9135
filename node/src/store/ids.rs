//! The numbers a store gives out, after it is rebuilt from its records.
//!
//! Arrival cursors, private records, messages kept while catching up and the generations of
//! backups held for others are numbered by sled's id counter (`Db::generate_id`). A restore
//! or an upgrade writes the records into a fresh database, whose counter starts again at 0:
//! left there, the next arrival would take the cursor of one already held and hide it from
//! every feed. So a rebuilt store records the highest number its records use (`id-base` in
//! `meta`), and every number it gives out is above it.

use super::{Result, Store, own::QUEUED};

/// Where the base is kept in `meta` (u64 big-endian; absent means 0).
const ID_BASE: &[u8] = b"id-base";

/// The number at the end of a key (big-endian u64), if the key is long enough.
fn number_at(key: &[u8], end: usize) -> Option<u64> {
    let bytes = key.get(end.checked_sub(8)?..end)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

impl Store {
    /// The base kept in `meta`.
    pub(super) fn read_id_base(db: &sled::Db) -> Result<u64> {
        let meta = db.open_tree("meta")?;
        Ok(meta
            .get(ID_BASE)?
            .and_then(|v| number_at(&v, v.len()))
            .unwrap_or(0))
    }

    /// A number never given out before by this store, nor by the one it was rebuilt from.
    pub(super) fn next_id(&self) -> Result<u64> {
        Ok(self
            .id_base
            .saturating_add(self.db.generate_id()?)
            .saturating_add(1))
    }

    /// The highest number the records use (0 if none).
    fn highest_id(&self) -> Result<u64> {
        let mut highest = 0u64;
        let mut see = |n: Option<u64>| highest = highest.max(n.unwrap_or(0));
        // circle (32) ‖ number (8); `private` also holds records under their names.
        for tree in [&self.arrivals, &self.private] {
            for key in tree.iter().keys() {
                let key = key?;
                if key.len() == 40 {
                    see(number_at(&key, 40));
                }
            }
        }
        // "queued:" ‖ circle (32) ‖ number (8)
        for key in self.meta.scan_prefix(QUEUED).keys() {
            let key = key?;
            if key.len() == QUEUED.len() + 40 {
                see(number_at(&key, key.len()));
            }
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

    /// Makes every number this store gives out from now on higher than any its records use.
    /// For a store just rebuilt from records (a restore, an upgrade), before anything is
    /// written to it.
    pub(crate) fn continue_ids(&mut self) -> Result<()> {
        let base = self.highest_id()?;
        self.meta.insert(ID_BASE, &base.to_be_bytes())?;
        self.id_base = base;
        Ok(())
    }
}
