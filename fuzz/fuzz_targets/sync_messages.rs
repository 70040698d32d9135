//! The join and sync protocols' messages: any bytes, read as each message in turn, the way the
//! node's codec reads them (node/src/protocol.rs: the size limit, then postcard in its one
//! canonical form, nothing after it). What a message carries is then read as the node reads
//! it: envelopes (operations among them), the genesis, profiles, sealed keys.

#![no_main]

use circle_crypto::{Envelope, MemberSecret, open_sealed};
use circle_node::{
    Genesis, JoinRequest, JoinResponse, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Profile,
    SyncRequest, SyncResponse, Welcome,
};
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};

/// Reads one message as the node's codec does: within `limit`, exactly one value, and only in
/// the form postcard writes it (no trailing bytes, no over-long length prefixes).
fn decode<T: DeserializeOwned + Serialize>(data: &[u8], limit: u64) -> Option<T> {
    if data.len() as u64 > limit {
        return None;
    }
    let (value, rest) = postcard::take_from_bytes::<T>(data).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let bytes = postcard::to_allocvec(&value).expect("a message that reads also encodes");
    if bytes != data {
        // postcard read a longer form than it writes: the node refuses it.
        assert!(
            bytes.len() < data.len(),
            "a shorter form read as a longer one"
        );
        return None;
    }
    // One wire form: what a node writes back reads back to the same bytes.
    let again: T = postcard::from_bytes(&bytes).expect("re-encoded reads");
    assert_eq!(postcard::to_allocvec(&again).unwrap(), bytes);
    Some(value)
}

fn read_envelopes(envelopes: &[Vec<u8>]) {
    for bytes in envelopes {
        if let Ok(envelope) = Envelope::from_bytes(bytes) {
            assert_eq!(envelope.to_bytes(), bytes.as_slice());
        }
    }
}

fn read_welcome(welcome: &Welcome) {
    if let Ok(genesis) = Genesis::open(&welcome.genesis) {
        assert_eq!(genesis.founder.circle, genesis.circle);
    }
    read_envelopes(&welcome.ops);
    // Keys sealed to someone else never open for a member who just came to be.
    let stranger = MemberSecret::generate();
    for key in &welcome.keys {
        let aad = stranger.public().to_bytes();
        assert!(open_sealed(&stranger, b"circle/fuzz", &aad, &key.sealed).is_err());
    }
    for peer in &welcome.peers {
        let _ = peer.parse::<circle_node::Multiaddr>();
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(request) = decode::<SyncRequest>(data, MAX_REQUEST_BYTES) {
        let _ = request.member.to_string();
    }

    if let Some(response) = decode::<SyncResponse>(data, MAX_RESPONSE_BYTES) {
        match response {
            SyncResponse::Page(page) => {
                read_envelopes(&page.ops);
                read_envelopes(&page.envelopes);
                read_envelopes(&page.forks);
            }
            SyncResponse::Refused { reason } => drop(reason),
        }
    }

    if let Some(request) = decode::<JoinRequest>(data, MAX_REQUEST_BYTES) {
        let _ = Profile::open(&request.profile);
    }

    if let Some(response) = decode::<JoinResponse>(data, MAX_RESPONSE_BYTES) {
        match response {
            JoinResponse::Welcome(welcome) => read_welcome(&welcome),
            JoinResponse::Refused { reason } => drop(reason),
            JoinResponse::Preview(preview) => {
                let _ = (preview.name.len(), preview.format, preview.guidelines);
            }
        }
    }

    if let Some(welcome) = decode::<Welcome>(data, MAX_RESPONSE_BYTES) {
        read_welcome(&welcome);
    }
});
