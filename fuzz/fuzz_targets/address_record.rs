//! Signed address records as they come in sync pages: any bytes.
//!
//! A record that checks out names 1 to 8 specific addresses, and every address it gives to
//! dial ends in the peer id that signed it.

#![no_main]

use circle_node::{AddressRecord, MAX_RECORD_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = AddressRecord::check(data) else {
        return;
    };
    assert!(data.len() <= MAX_RECORD_BYTES);
    assert!((1..=8).contains(&record.addrs.len()));
    let suffix = format!("/p2p/{}", record.peer);
    for addr in record.dial_addrs() {
        assert!(addr.ends_with(&suffix), "{addr} does not end in {suffix}");
    }
});
