use proptest::prelude::*;

use super::*;

const DOMAIN: &str = "circle/test/v1";

#[test]
fn a_signature_verifies_only_for_its_key_domain_and_message() {
    let alice = MemberSecret::generate();
    let bob = MemberSecret::generate();
    let sig = alice.sign(DOMAIN, b"hello");

    assert_eq!(alice.public().verify(DOMAIN, b"hello", &sig), Ok(()));
    assert_eq!(
        bob.public().verify(DOMAIN, b"hello", &sig),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        alice.public().verify("circle/other/v1", b"hello", &sig),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        alice.public().verify(DOMAIN, b"hellO", &sig),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn the_domain_length_prefix_keeps_domain_and_message_apart() {
    let alice = MemberSecret::generate();
    // Without the length byte, "ab" + "c" and "a" + "bc" would sign the same bytes.
    let sig = alice.sign("ab", b"c");
    assert_eq!(
        alice.public().verify("a", b"bc", &sig),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(signed_bytes("ab", b"c"), b"\x02abc");
}

#[test]
fn member_secret_round_trips_through_its_64_bytes() {
    let alice = MemberSecret::generate();
    let again = MemberSecret::from_bytes(alice.to_bytes().as_slice()).unwrap();
    assert_eq!(again.public(), alice.public());
    assert_eq!(again.exchange_key(), alice.exchange_key());
    assert_eq!(again.to_bytes(), alice.to_bytes());

    assert_eq!(
        MemberSecret::from_bytes(&[7; 63]).err(),
        Some(CryptoError::BadKey)
    );
    assert_eq!(
        MemberSecret::from_bytes(&[7; 65]).err(),
        Some(CryptoError::BadKey)
    );
    assert_eq!(
        MemberSecret::from_bytes(&[]).err(),
        Some(CryptoError::BadKey)
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let alice = MemberSecret::generate();
    assert_eq!(format!("{alice:?}"), "MemberSecret(..)");
    assert_eq!(format!("{alice:#?}"), "MemberSecret(..)");
}

#[test]
fn member_key_text_form_round_trips() {
    let key = MemberSecret::generate().public();
    let text = key.to_string();
    assert_eq!(text.len(), 52);
    assert_eq!(text, text.to_lowercase());
    assert_eq!(key.short(), &text[..8]);
    assert_eq!(format!("{key:?}"), format!("MemberKey({})", key.short()));
    assert_eq!(text.parse::<MemberKey>(), Ok(key));
    assert_eq!(
        format!("  {}\n", text.to_uppercase()).parse::<MemberKey>(),
        Ok(key)
    );
    assert_eq!(
        "not base32!".parse::<MemberKey>(),
        Err(CryptoError::BadText)
    );
    assert_eq!("mzxw6ytboi".parse::<MemberKey>(), Err(CryptoError::BadKey));
}

#[test]
fn member_key_refuses_non_points_and_weak_points() {
    // The identity point (y = 1) decodes but is weak: it could never verify strictly.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(MemberKey::from_bytes(&identity), Err(CryptoError::BadKey));

    // About half of all y values are not on the curve; find one.
    let not_a_point = (0u8..=255)
        .map(|b| [b; 32])
        .find(|bytes| VerifyingKey::from_bytes(bytes).is_err())
        .expect("some constant byte string is not a curve point");
    assert_eq!(
        MemberKey::from_bytes(&not_a_point),
        Err(CryptoError::BadKey)
    );
    let postcard_bytes = not_a_point.to_vec();
    assert!(postcard::from_bytes::<MemberKey>(&postcard_bytes).is_err());
    assert_eq!(MemberKey::from_bytes(&[1; 31]), Err(CryptoError::BadKey));
}

#[test]
fn keys_and_signatures_are_raw_bytes_in_postcard() {
    let alice = MemberSecret::generate();
    let key = alice.public();
    let bytes = postcard::to_allocvec(&key).unwrap();
    assert_eq!(bytes, key.to_bytes());
    assert_eq!(postcard::from_bytes::<MemberKey>(&bytes).unwrap(), key);

    let exchange = alice.exchange_key();
    let bytes = postcard::to_allocvec(&exchange).unwrap();
    assert_eq!(bytes, exchange.to_bytes());
    assert_eq!(
        postcard::from_bytes::<ExchangeKey>(&bytes).unwrap(),
        exchange
    );

    let sig = alice.sign(DOMAIN, b"x");
    let bytes = postcard::to_allocvec(&sig).unwrap();
    assert_eq!(bytes, sig.to_bytes());
    assert_eq!(postcard::from_bytes::<Signature>(&bytes).unwrap(), sig);
    assert!(postcard::from_bytes::<Signature>(&bytes[..63]).is_err());
}

#[test]
fn keys_are_text_in_json() {
    let alice = MemberSecret::generate();
    let key = alice.public();
    let json = serde_json::to_string(&key).unwrap();
    assert_eq!(json, format!("\"{key}\""));
    assert_eq!(serde_json::from_str::<MemberKey>(&json).unwrap(), key);

    let sig = alice.sign(DOMAIN, b"x");
    let json = serde_json::to_string(&sig).unwrap();
    assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
    assert!(serde_json::from_str::<MemberKey>("\"mzxw6ytboi\"").is_err());
}

#[test]
fn wrong_lengths_are_refused() {
    assert_eq!(ExchangeKey::from_bytes(&[0; 33]), Err(CryptoError::BadKey));
    assert_eq!(
        Signature::from_bytes(&[0; 32]),
        Err(CryptoError::BadSignature)
    );
    assert!(Signature::from_bytes(&[0; 64]).is_ok());
}

#[test]
fn a_garbage_signature_is_refused_not_panicked_on() {
    let alice = MemberSecret::generate();
    for fill in [0u8, 0xff, 0x7f] {
        let sig = Signature::from_bytes(&[fill; 64]).unwrap();
        assert_eq!(
            alice.public().verify(DOMAIN, b"x", &sig),
            Err(CryptoError::BadSignature)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn member_key_from_any_bytes_does_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..70)) {
        let _ = MemberKey::from_bytes(&bytes);
        let _ = postcard::from_bytes::<MemberKey>(&bytes);
        let _ = postcard::from_bytes::<Signature>(&bytes);
    }

    #[test]
    fn any_signature_bytes_fail_to_verify_without_panicking(bytes in any::<[u8; 32]>(), more in any::<[u8; 32]>()) {
        let alice = MemberSecret::from_bytes(&[3; 64]).unwrap();
        let mut raw = [0u8; 64];
        raw[..32].copy_from_slice(&bytes);
        raw[32..].copy_from_slice(&more);
        let sig = Signature::from_bytes(&raw).unwrap();
        prop_assert_eq!(alice.public().verify(DOMAIN, b"x", &sig), Err(CryptoError::BadSignature));
    }
}

/// The points of small order on curve25519 (and their non-canonical twins): an exchange with
/// any of them is all zero, whatever the secret.
const LOW_ORDER: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

#[test]
fn low_order_exchange_keys_cannot_be_sealed_to_and_real_ones_can() {
    for hex in LOW_ORDER {
        let bytes = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
        let key = ExchangeKey::from_bytes(&bytes).unwrap();
        assert!(!key.can_be_sealed_to(), "{hex}");
        assert_eq!(
            crate::seal_to(&key, b"info", b"", b"x"),
            Err(CryptoError::BadKey),
            "{hex}"
        );
    }
    for _ in 0..32 {
        assert!(MemberSecret::generate().exchange_key().can_be_sealed_to());
    }
}
