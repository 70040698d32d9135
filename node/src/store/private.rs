//! What a person keeps to themselves: their recovery clocks, check-ins meant for no one else,
//! and their settings (crisis lines, country). Never sent; sealed at rest like every record.
//!
//! Keys say nothing: a record name chosen by the node (`clocks`, `settings`) or a circle's
//! keyed hash followed by a counter (check-ins). Names and contents are in the sealed values.

use circle_crypto::CircleId;
use serde::{Serialize, de::DeserializeOwned};

use super::Store;
use crate::error::Result;

impl Store {
    /// Writes one private record under a fixed name.
    pub fn put_private<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        self.put_record(&self.private, name.as_bytes(), value)
    }

    /// Reads one private record by name.
    pub fn private<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.get_sealed(&self.private, name.as_bytes())? {
            Some(bytes) => Ok(Some(Self::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Adds a private record about `circle` (a check-in for "me").
    pub fn add_private_entry<T: Serialize>(&self, circle: &CircleId, value: &T) -> Result<()> {
        let key = self.names.epoch_key(circle, self.next_id()?);
        self.put_record(&self.private, &key, value)
    }

    /// Every private record about `circle`, oldest first.
    pub fn private_entries<T: DeserializeOwned>(&self, circle: &CircleId) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for item in self.private.scan_prefix(self.names.circle(circle)) {
            let (k, v) = item?;
            if k.len() != 40 {
                continue;
            }
            out.push(Self::decode(&self.open_sealed(&self.private, &k, &v)?)?);
        }
        Ok(out)
    }
}
