//! Envelopes as they arrive from the network: any bytes.
//!
//! An envelope that reads keeps exactly the bytes it came from, has the id those bytes hash
//! to, reads again to an equal envelope, and does not open under a key nobody sealed with.

#![no_main]

use circle_crypto::{CircleKey, ENVELOPE_VERSION, Envelope, MAX_ENVELOPE_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = Envelope::from_bytes(data) else {
        return;
    };
    assert!(data.len() <= MAX_ENVELOPE_BYTES);
    assert_eq!(envelope.to_bytes(), data);
    assert_eq!(envelope.header().version, ENVELOPE_VERSION);

    let id = envelope.id();
    assert_eq!(envelope.id(), id);
    assert_eq!(id.as_bytes(), blake3::hash(data).as_bytes());

    let again = Envelope::from_bytes(envelope.to_bytes()).expect("an envelope reads twice");
    assert_eq!(again, envelope);
    assert_eq!(again.id(), id);
    assert_eq!(again.header(), envelope.header());

    // A fresh random key is never the key it was sealed with.
    assert!(envelope.open(&CircleKey::generate()).is_err());
});
