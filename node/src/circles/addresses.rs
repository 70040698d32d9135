//! Members' nodes' signed address records: checking one, keeping it, and choosing which to pass
//! on. Each record is a libp2p signed peer record: a node's current addresses (relayed ones
//! included), signed with its node key.

use libp2p::{
    Multiaddr, PeerId,
    core::{PeerRecord, SignedEnvelope},
    multiaddr::Protocol,
};

use super::*;

/// Largest record accepted (eight addresses of a few dozen bytes, a signature and a key).
pub const MAX_RECORD_BYTES: usize = 2048;
/// Most records in one sync page (one per member node: a circle has at most 250 members).
pub const MAX_RECORDS: usize = 256;
/// Most addresses in a record (and in an invite).
pub const MAX_RECORD_ADDRS: usize = 8;
/// Most hashes of checked records remembered, so they are not verified again.
const MAX_KNOWN_RECORDS: usize = 4 * MAX_RECORDS;

/// A record whose signature checked out: whose, which addresses, and its sequence number.
#[derive(Debug)]
pub struct AddressRecord {
    /// The node it is about (the key that signed it).
    pub peer: PeerId,
    /// Its addresses.
    pub addrs: Vec<Multiaddr>,
    /// Its sequence number (the signing time in seconds).
    pub seq: u64,
}

impl AddressRecord {
    /// Decodes and verifies a signed record: a valid signature by the key of the peer it names,
    /// 1 to [`MAX_RECORD_ADDRS`] addresses, none unspecified.
    pub fn check(bytes: &[u8]) -> std::result::Result<AddressRecord, String> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(format!("record larger than {MAX_RECORD_BYTES} bytes"));
        }
        let envelope = SignedEnvelope::from_protobuf_encoding(bytes)
            .map_err(|e| format!("record does not decode: {e}"))?;
        let record = PeerRecord::from_signed_envelope(envelope)
            .map_err(|e| format!("record does not verify: {e}"))?;
        let addrs = record.addresses();
        if addrs.is_empty() || addrs.len() > MAX_RECORD_ADDRS || addrs.iter().any(is_unspecified) {
            return Err(format!(
                "a record needs 1 to {MAX_RECORD_ADDRS} specific addresses"
            ));
        }
        let peer = record.peer_id();
        if addrs
            .iter()
            .any(|a| matches!(a.iter().last(), Some(Protocol::P2p(p)) if p != peer))
        {
            return Err("a record may only give addresses of the node that signed it".into());
        }
        Ok(AddressRecord {
            peer,
            addrs: addrs.to_vec(),
            seq: record.seq(),
        })
    }

    /// Its addresses, each ending in `/p2p/<its peer id>`.
    pub fn dial_addrs(&self) -> Vec<String> {
        self.addrs
            .iter()
            .map(|a| {
                if matches!(a.iter().last(), Some(Protocol::P2p(_))) {
                    a.to_string()
                } else {
                    a.clone().with(Protocol::P2p(self.peer)).to_string()
                }
            })
            .collect()
    }
}

/// Whether an address names no particular host (`0.0.0.0`, `::`): something to listen on,
/// never something to give others.
pub(crate) fn is_unspecified(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_unspecified(),
        Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}

impl Circles {
    /// Takes in an address record that came with a sync page of `circle`: kept if it checks
    /// out, names the node of a current member of that circle other than this node, and is
    /// newer than the record held for that node. Returns the addresses to dial, or why the
    /// record was not taken ([`Error::Refused`]).
    pub fn take_address_record(&self, circle: &CircleId, bytes: &[u8]) -> Result<Vec<String>> {
        // A record seen before can only be refused again (held records only get newer), so
        // its signature is not verified again.
        let hash = *blake3::hash(bytes).as_bytes();
        if self.known_record(&hash) {
            return Err(Error::Refused(
                "not newer than the record held (checked before)".into(),
            ));
        }
        let record = AddressRecord::check(bytes).map_err(Error::Refused)?;
        let node = record.peer.to_bytes();
        if node == self.inner.node {
            self.remember_record(hash);
            return Err(Error::Refused("a record of this node itself".into()));
        }
        if !self.is_member_node(circle, &node) {
            return Err(Error::Refused(
                "a record of a node that is not a member's in this circle".into(),
            ));
        }
        let peer = record.peer.to_string();
        // Nodes sign at most one record per second (its number), so a higher number is newer.
        if let Some((seq, _)) = self.store().address_record(&peer)?
            && seq >= record.seq
        {
            self.remember_record(hash);
            return Err(Error::Refused("not newer than the record held".into()));
        }
        let addrs = record.dial_addrs();
        self.store()
            .put_address_record(&peer, record.seq, bytes, &addrs)?;
        self.remember_record(hash);
        Ok(addrs)
    }

    fn known_record(&self, hash: &[u8; 32]) -> bool {
        self.inner
            .known_records
            .lock()
            .map(|known| known.contains(hash))
            .unwrap_or(false)
    }

    /// Remembers a record that was verified and is held or older than the one held.
    fn remember_record(&self, hash: [u8; 32]) {
        if let Ok(mut known) = self.inner.known_records.lock() {
            // Bounded: forgetting only costs a verification.
            if known.len() >= MAX_KNOWN_RECORDS {
                known.clear();
            }
            known.insert(hash);
        }
    }

    /// The records held of `circle`'s current member nodes other than `to`, to pass on to it
    /// (at most [`MAX_RECORDS`] - 1, leaving room for the sender's own).
    pub fn address_records_for(&self, circle: &CircleId, to: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for (peer, bytes) in self.store().address_records()? {
            if out.len() + 1 >= MAX_RECORDS {
                break;
            }
            let Ok(peer) = peer.parse::<PeerId>() else {
                continue;
            };
            let node = peer.to_bytes();
            if node != to && self.is_member_node(circle, &node) {
                out.push(bytes);
            }
        }
        Ok(out)
    }
}
