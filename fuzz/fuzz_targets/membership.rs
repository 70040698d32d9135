//! Membership records and message content: any bytes, read as each kind in turn.
//!
//! A record that opens opens again to the same thing, keeps the promises of its checks (names,
//! circle binding), and opens as one kind only: the signature domains keep them apart.

#![no_main]

use circle_crypto::CircleId;
use circle_node::{Admission, Body, Content, Genesis, Profile, check_text};
use libfuzzer_sys::fuzz_target;

/// Longest nickname and circle name, in characters (circle-node's membership limits).
const MAX_NAME_CHARS: usize = 64;
const MAX_CIRCLE_NAME_CHARS: usize = 100;

fn assert_checked_name(name: &str, max: usize) {
    assert!(!name.is_empty());
    assert_eq!(name, name.trim());
    assert!(name.chars().count() <= max);
    assert!(name != "." && name != "..");
    assert!(!name.chars().any(char::is_control));
}

fn circle() -> CircleId {
    CircleId::from_bytes(&[7; 32]).unwrap()
}

fn other_circle() -> CircleId {
    CircleId::from_bytes(&[8; 32]).unwrap()
}

fn same_admission(a: &Admission, b: &Admission) -> bool {
    a.profile == b.profile && a.admitted_by == b.admitted_by && a.invite == b.invite && a.at == b.at
}

fuzz_target!(|data: &[u8]| {
    let mut opened = 0;

    if let Ok(genesis) = Genesis::open(data) {
        opened += 1;
        let again = Genesis::open(data).expect("a genesis opens twice");
        assert_eq!(again.circle, genesis.circle);
        assert_eq!(again.name, genesis.name);
        assert_eq!(again.created_at, genesis.created_at);
        assert_eq!(again.founder, genesis.founder);
        assert_eq!(genesis.founder.circle, genesis.circle);
        assert_checked_name(&genesis.name, MAX_CIRCLE_NAME_CHARS);
        assert_checked_name(&genesis.founder.name, MAX_NAME_CHARS);
    }

    if let Ok(profile) = Profile::open(data) {
        opened += 1;
        assert_eq!(Profile::open(data).expect("a profile opens twice"), profile);
        assert_checked_name(&profile.name, MAX_NAME_CHARS);
    }

    if let Ok(admission) = Admission::open(&circle(), data) {
        opened += 1;
        let again = Admission::open(&circle(), data).expect("an admission opens twice");
        assert!(same_admission(&again, &admission));
        assert_eq!(admission.profile.circle, circle());
        assert_checked_name(&admission.profile.name, MAX_NAME_CHARS);
        assert!(
            Admission::open(&other_circle(), data).is_err(),
            "an admission opened for two circles"
        );
    }

    assert!(opened <= 1, "one record opened as {opened} kinds");

    if let Ok(content) = Content::from_bytes(data) {
        let bytes = content.to_bytes();
        assert!(bytes.len() <= data.len());
        assert_eq!(
            Content::from_bytes(&bytes).expect("content re-encodes"),
            content
        );
        match &content.body {
            Body::Share { text } => check_text(text).expect("a share that reads has valid text"),
            Body::Admit { admission } => {
                // What a node does next with an admit message's record.
                if let Ok(a) = Admission::open(&circle(), admission) {
                    assert_eq!(a.profile.circle, circle());
                }
            }
        }
    }
});
