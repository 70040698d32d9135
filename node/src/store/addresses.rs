//! Members' nodes' signed address records (sealed like everything else).

use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::Result;

/// The tree of address records, by peer (keyed hash of its id).
const TREE: &str = "address_records";

#[derive(Serialize, Deserialize)]
struct Held {
    peer: String,
    seq: u64,
    record: Vec<u8>,
}

impl Store {
    /// Keeps a member node's signed address record (already checked) with its sequence
    /// number, and makes its addresses the ones redialled.
    pub fn put_address_record(
        &self,
        peer: &str,
        seq: u64,
        record: &[u8],
        addrs: &[String],
    ) -> Result<()> {
        let tree = self.db.open_tree(TREE)?;
        let held = Held {
            peer: peer.to_owned(),
            seq,
            record: record.to_vec(),
        };
        self.put_record(&tree, &self.names.peer(peer), &held)?;
        self.put_peer(peer, addrs)
    }

    /// The record held for `peer`, if any, with its sequence number.
    pub fn address_record(&self, peer: &str) -> Result<Option<(u64, Vec<u8>)>> {
        let tree = self.db.open_tree(TREE)?;
        match self.get_sealed(&tree, &self.names.peer(peer))? {
            Some(bytes) => {
                let held = Self::decode::<Held>(&bytes)?;
                Ok(Some((held.seq, held.record)))
            }
            None => Ok(None),
        }
    }

    /// Every record held, by peer id.
    pub fn address_records(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let tree = self.db.open_tree(TREE)?;
        let mut out = Vec::new();
        for item in tree.iter() {
            let (k, v) = item?;
            let bytes = self.open_sealed(&tree, &k, &v)?;
            let held = Self::decode::<Held>(&bytes)?;
            out.push((held.peer, held.record));
        }
        Ok(out)
    }
}
