//! This node's own signed address record, and passing records on in sync (the checks are in
//! [`crate::circles::AddressRecord`] and [`Circles::take_address_record`]).

use circle_crypto::{CircleId, MemberKey};
use libp2p::{Multiaddr, PeerId, core::PeerRecord};
use tracing::{debug, warn};

use super::EventLoop;
use crate::{
    circles::{AddressRecord, MAX_RECORDS},
    error::Error,
};

/// Most gossiped membership changes remembered until the gate learns of them.
const MAX_NEWS: usize = 64;

impl EventLoop {
    /// This node's addresses changed: sign a new record (members get it with their next sync
    /// from this node). Records are numbered by the second they are signed in, and members
    /// take only a higher number: a change within the same second is signed a second later.
    pub(super) fn addresses_changed(&mut self) {
        self.resign = true;
        self.sign_if_due();
    }

    /// Signs a new record if one is wanted and the clock has moved past the last one's second.
    pub(super) fn sign_if_due(&mut self) {
        if !self.resign || crate::time::now_secs() <= self.signed_at {
            return;
        }
        let addrs: Vec<Multiaddr> = self
            .local_addrs()
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        if addrs.is_empty() {
            return;
        }
        match PeerRecord::new(&self.keypair, addrs) {
            Ok(record) => {
                self.signed_at = record.seq();
                self.resign = false;
                self.own_record = Some(record.into_signed_envelope().into_protobuf_encoding());
            }
            Err(e) => warn!("could not sign this node's address record: {e}"),
        }
    }

    /// Takes in the records of a sync page of `circle` and dials the member nodes they name.
    pub(super) fn take_records(&mut self, circle: &CircleId, records: &[Vec<u8>]) {
        for bytes in records.iter().take(MAX_RECORDS) {
            match self.circles.take_address_record(circle, bytes) {
                Ok(addrs) => self.dial_all(&addrs),
                Err(Error::Refused(why)) => debug!("address record not taken: {why}"),
                Err(e) => warn!("could not keep a member's address record: {e}"),
            }
        }
    }

    /// Takes the address record a joiner's node sent with its join request, once its member
    /// is admitted: only a record of that node itself.
    pub(super) fn take_joiners_record(&mut self, circle: &CircleId, joiner: PeerId, bytes: &[u8]) {
        match AddressRecord::check(bytes) {
            Ok(record) if record.peer == joiner => self.take_records(circle, &[bytes.to_vec()]),
            Ok(_) => debug!(peer = %joiner, "a joiner sent another node's address record"),
            Err(why) => debug!(peer = %joiner, "a joiner's address record not taken: {why}"),
        }
    }

    /// A gossiped message from `author`, delivered by `from`, changed who is in `circle`:
    /// remembered until the gate learns of the change ([`EventLoop::ask_for_addresses`]).
    pub(super) fn membership_news(&mut self, circle: CircleId, author: &MemberKey, from: PeerId) {
        let node = self
            .circles
            .node_of(&circle, author)
            .and_then(|bytes| PeerId::from_bytes(&bytes).ok());
        if self.news.len() < MAX_NEWS {
            self.news.push((circle, node, from));
        }
    }

    /// New member nodes came in through gossiped messages (admissions): asks the node that
    /// wrote each (the inviter's, which holds the joiner's address record from its join
    /// request), or else the node that passed it on, for a sync of that circle now. Its answer
    /// carries the new member's address record, so this node can reach it from now on, even
    /// if it was online only for a moment, rather than only after the next sync round.
    pub(super) fn ask_for_addresses(&mut self, added: bool) {
        let news = std::mem::take(&mut self.news);
        if !added {
            return;
        }
        let me = *self.swarm.local_peer_id();
        for (circle, author, from) in news {
            let ask = author
                .filter(|node| *node != me && self.swarm.is_connected(node))
                .unwrap_or(from);
            debug!(peer = %ask, circle = %circle.short(), "asking for a new member's address");
            if self.syncing.contains(&(ask, circle)) {
                self.ask_again.insert((ask, circle));
            } else {
                self.start_sync(ask, circle);
            }
        }
    }

    /// The records to send to a member of `circle` (node `to`): this node's own, then those of
    /// the circle's other member nodes.
    pub(super) fn records_for(&self, circle: &CircleId, to: &PeerId) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self.own_record.iter().cloned().collect();
        match self.circles.address_records_for(circle, &to.to_bytes()) {
            Ok(held) => out.extend(held),
            Err(e) => warn!("could not read members' address records: {e}"),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use libp2p::identity::Keypair;

    use super::*;
    use crate::circles::{AddressRecord, MAX_RECORD_ADDRS, MAX_RECORD_BYTES};

    fn signed(key: &Keypair, addrs: &[&str]) -> Vec<u8> {
        let addrs = addrs.iter().map(|a| a.parse().expect("valid")).collect();
        PeerRecord::new(key, addrs)
            .expect("signs")
            .into_signed_envelope()
            .into_protobuf_encoding()
    }

    #[test]
    fn a_signed_record_names_its_node_and_addresses() {
        let key = Keypair::generate_ed25519();
        let relayed = "/ip4/10.0.0.1/tcp/7117/p2p/12D3KooWBY9T98CkPLCkuC96QXPHayDyzVio7kLrw1YiqjybCf89/p2p-circuit";
        let bytes = signed(&key, &["/ip4/192.0.2.7/tcp/7117", relayed]);
        let checked = AddressRecord::check(&bytes).expect("valid");
        assert_eq!(checked.peer, key.public().to_peer_id());
        assert_eq!(checked.addrs.len(), 2);
        assert!(checked.seq > 0, "the sequence number is the signing time");
    }

    #[test]
    fn bad_records_are_refused_with_a_reason() {
        let key = Keypair::generate_ed25519();
        let good = signed(&key, &["/ip4/192.0.2.7/tcp/7117"]);
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let too_many: Vec<String> = (0..=MAX_RECORD_ADDRS)
            .map(|i| format!("/ip4/192.0.2.{i}/tcp/7117"))
            .collect();
        let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("garbage", vec![0xff; 64], "does not decode"),
            ("empty", Vec::new(), "does not decode"),
            ("forged signature", flipped, "verify"),
            ("oversized", vec![0u8; MAX_RECORD_BYTES + 1], "larger than"),
            ("no addresses", signed(&key, &[]), "specific addresses"),
            (
                "unspecified address",
                signed(&key, &["/ip4/0.0.0.0/tcp/7117"]),
                "specific addresses",
            ),
            (
                "too many addresses",
                signed(&key, &too_many),
                "specific addresses",
            ),
            ("truncated", good[..good.len() / 2].to_vec(), "decode"),
        ];
        for (what, bytes, why) in cases {
            match AddressRecord::check(&bytes) {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => assert!(e.contains(why), "{what}: {e}"),
            }
        }
    }

    #[test]
    fn a_record_signed_by_another_key_is_not_its_own() {
        // A record is bound to the key that signed it: re-signing someone's addresses with
        // another key makes a record of that other node, never of the first.
        let (alice, mallory) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
        let bytes = signed(&mallory, &["/ip4/192.0.2.7/tcp/7117"]);
        let checked = AddressRecord::check(&bytes).expect("valid");
        assert_ne!(checked.peer, alice.public().to_peer_id());
        assert_eq!(checked.peer, mallory.public().to_peer_id());
    }
}
