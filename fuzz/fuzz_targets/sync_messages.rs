//! The join and sync protocols' messages: any bytes, read as each message in turn, the way the
//! node's codec reads them (size limit, then postcard with no trailing bytes). What a message
//! carries is then read as the node reads it: envelopes, admissions, profiles, sealed keys.

#![no_main]

use circle_crypto::{CircleId, Envelope, MemberSecret, open_sealed};
use circle_node::{
    Admission, Genesis, JoinRequest, JoinResponse, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Profile,
    SyncRequest, SyncResponse,
};
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};

/// Reads one message as the node's codec does: within `limit`, and nothing after it.
fn decode<T: DeserializeOwned + Serialize>(data: &[u8], limit: u64) -> Option<T> {
    if data.len() as u64 > limit {
        return None;
    }
    let (value, rest) = postcard::take_from_bytes::<T>(data).ok()?;
    if !rest.is_empty() {
        return None;
    }
    // What a node writes back is read back the same.
    let bytes = postcard::to_allocvec(&value).expect("a message that reads also encodes");
    assert!(bytes.len() <= data.len());
    let (again, rest) = postcard::take_from_bytes::<T>(&bytes).expect("re-encoded reads");
    assert!(rest.is_empty());
    assert_eq!(postcard::to_allocvec(&again).unwrap(), bytes);
    Some(value)
}

fn fallback_circle() -> CircleId {
    CircleId::from_bytes(&[7; 32]).unwrap()
}

fn read_envelopes(envelopes: &[Vec<u8>]) {
    for bytes in envelopes {
        if let Ok(envelope) = Envelope::from_bytes(bytes) {
            assert_eq!(envelope.to_bytes(), bytes.as_slice());
        }
    }
}

fn read_admissions(circle: &CircleId, admissions: &[Vec<u8>]) {
    for wire in admissions {
        if let Ok(admission) = Admission::open(circle, wire) {
            assert_eq!(admission.profile.circle, *circle);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(request) = decode::<SyncRequest>(data, MAX_REQUEST_BYTES) {
        let _ = request.member.to_string();
    }

    if let Some(response) = decode::<SyncResponse>(data, MAX_RESPONSE_BYTES) {
        match response {
            SyncResponse::Page(page) => {
                read_admissions(&fallback_circle(), &page.admissions);
                read_envelopes(&page.envelopes);
            }
            SyncResponse::Refused { reason } => drop(reason),
        }
    }

    if let Some(request) = decode::<JoinRequest>(data, MAX_REQUEST_BYTES) {
        let _ = Profile::open(&request.profile);
    }

    if let Some(response) = decode::<JoinResponse>(data, MAX_RESPONSE_BYTES) {
        match response {
            JoinResponse::Welcome(welcome) => {
                let circle = match Genesis::open(&welcome.genesis) {
                    Ok(genesis) => genesis.circle,
                    Err(_) => fallback_circle(),
                };
                read_admissions(&circle, &welcome.admissions);
                // Keys sealed to someone else never open for a member who just came to be.
                let stranger = MemberSecret::generate();
                for key in &welcome.keys {
                    let aad = stranger.public().to_bytes();
                    assert!(open_sealed(&stranger, b"circle/fuzz", &aad, &key.sealed).is_err());
                }
            }
            JoinResponse::Refused { reason } => drop(reason),
        }
    }
});
