//! On a home server: the backups members' nodes left with it, one per holder key.
//!
//! A backup is opaque (sealed under a key from its owner's recovery phrase); it is kept in
//! parts, each sealed once more under the data key like every record. Keys name no one: the
//! holder key's keyed hash (32), then for a part the generation (8) and the part's number (4).
//! A new backup is written under a new generation and replaces the old one only when complete.

use circle_crypto::CircleId;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::Result;

/// What a home server knows of a backup it keeps (sealed at rest).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeldRecord {
    /// The holder key (ed25519, from the owner's recovery phrase).
    pub holder: [u8; 32],
    /// The circle whose member left it.
    pub circle: CircleId,
    /// The member's node that left it (peer id bytes).
    pub node: Vec<u8>,
    /// Size in bytes.
    pub size: u64,
    /// blake3 hash of the whole backup.
    pub hash: [u8; 32],
    /// When it was complete (unix ms).
    pub at_ms: u64,
    /// Its parts' generation.
    pub generation: u64,
}

impl Store {
    fn part_key(&self, holder: &[u8; 32], generation: u64, part: u32) -> [u8; 44] {
        let mut k = [0u8; 44];
        k[..32].copy_from_slice(&self.names.holder(holder));
        k[32..40].copy_from_slice(&generation.to_be_bytes());
        k[40..].copy_from_slice(&part.to_be_bytes());
        k
    }

    /// A fresh generation for a backup being received.
    pub fn new_held_generation(&self) -> Result<u64> {
        self.next_id()
    }

    /// The backup kept under `holder`, if any.
    pub fn held(&self, holder: &[u8; 32]) -> Result<Option<HeldRecord>> {
        match self.get_sealed(&self.held, &self.names.holder(holder))? {
            Some(bytes) => Ok(Some(Self::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Every backup kept here.
    pub fn held_all(&self) -> Result<Vec<HeldRecord>> {
        let mut out = Vec::new();
        for item in self.held.iter() {
            let (k, v) = item?;
            if k.len() == 32 {
                out.push(Self::decode(&self.open_sealed(&self.held, &k, &v)?)?);
            }
        }
        Ok(out)
    }

    /// Writes part `part` of generation `generation` of the backup under `holder`.
    pub fn put_held_part(
        &self,
        holder: &[u8; 32],
        generation: u64,
        part: u32,
        bytes: &[u8],
    ) -> Result<()> {
        self.put_sealed(&self.held, &self.part_key(holder, generation, part), bytes)
    }

    /// Part `part` of generation `generation` of the backup under `holder`.
    pub fn held_part(
        &self,
        holder: &[u8; 32],
        generation: u64,
        part: u32,
    ) -> Result<Option<Vec<u8>>> {
        let key = self.part_key(holder, generation, part);
        Ok(self.get_sealed(&self.held, &key)?.map(|b| b.to_vec()))
    }

    /// Makes `record` the backup kept under its holder key, dropping every other generation's
    /// parts (the one it replaces, and any left half-received).
    pub fn commit_held(&self, record: &HeldRecord) -> Result<()> {
        self.put_record(&self.held, &self.names.holder(&record.holder), record)?;
        self.drop_held_parts(&record.holder, Some(record.generation))?;
        self.flush()
    }

    /// Drops the parts under `holder` of every generation but `keep`.
    pub fn drop_held_parts(&self, holder: &[u8; 32], keep: Option<u64>) -> Result<()> {
        let prefix = self.names.holder(holder);
        for item in self.held.scan_prefix(prefix) {
            let (k, _) = item?;
            if k.len() != 44 {
                continue;
            }
            let generation = u64::from_be_bytes(k[32..40].try_into().expect("8 bytes"));
            if Some(generation) != keep {
                self.held.remove(k)?;
            }
        }
        Ok(())
    }

    /// Drops the backup kept under `holder`; whether there was one.
    pub fn drop_held(&self, holder: &[u8; 32]) -> Result<bool> {
        let had = self.held.remove(self.names.holder(holder))?.is_some();
        self.drop_held_parts(holder, None)?;
        self.flush()?;
        Ok(had)
    }
}
