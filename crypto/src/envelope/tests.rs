use proptest::prelude::*;

use super::*;

struct Circle {
    id: CircleId,
    key: CircleKey,
}

fn circle() -> Circle {
    Circle {
        id: CircleId::random(),
        key: CircleKey::generate(),
    }
}

fn header(circle: &Circle, author: &MemberSecret, seq: u64, prev: Option<MessageId>) -> Header {
    Header {
        version: ENVELOPE_VERSION,
        circle: circle.id,
        epoch: 0,
        author: author.public(),
        seq,
        prev,
    }
}

/// Frames an arbitrary body with a signature by `signer`, as a forger with that key could.
fn frame(signer: &MemberSecret, body: &[u8]) -> Vec<u8> {
    wire::to_vec(&Frame {
        body,
        signature: signer.sign(DOMAIN, body),
    })
}

#[test]
fn alice_seals_and_bob_opens() {
    let home = circle();
    let alice = MemberSecret::generate();
    let sealed =
        Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"hi all").unwrap();

    let received = Envelope::from_bytes(sealed.to_bytes()).unwrap();
    assert_eq!(received.to_bytes(), sealed.to_bytes());
    assert_eq!(received.id(), sealed.id());
    assert_eq!(
        received.id().as_bytes(),
        blake3::hash(sealed.to_bytes()).as_bytes()
    );
    assert_eq!(received.header(), sealed.header());
    assert_eq!(received, sealed);
    assert_eq!(received.open(&home.key).unwrap().as_slice(), b"hi all");

    let next = Envelope::seal(
        &alice,
        &home.key,
        header(&home, &alice, 2, Some(sealed.id())),
        b"",
    )
    .unwrap();
    let next = Envelope::from_bytes(next.to_bytes()).unwrap();
    assert_eq!(next.header().prev, Some(sealed.id()));
    assert!(next.open(&home.key).unwrap().is_empty());
}

#[test]
fn the_same_message_sealed_twice_gets_two_ids() {
    let home = circle();
    let alice = MemberSecret::generate();
    let a = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"x").unwrap();
    let b = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"x").unwrap();
    assert_ne!(a.id(), b.id());
}

#[test]
fn a_wrong_circle_key_cannot_open() {
    let home = circle();
    let alice = MemberSecret::generate();
    let sealed = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"x").unwrap();
    assert_eq!(
        sealed.open(&CircleKey::generate()).map(|_| ()),
        Err(CryptoError::Decrypt)
    );
}

#[test]
fn flipping_any_bit_of_the_wire_bytes_is_refused() {
    let home = circle();
    let alice = MemberSecret::generate();
    let sealed =
        Envelope::seal(&alice, &home.key, header(&home, &alice, 3, None), b"secret").unwrap();
    for i in 0..sealed.to_bytes().len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bytes = sealed.to_bytes().to_vec();
            bytes[i] ^= mask;
            assert!(
                Envelope::from_bytes(&bytes).is_err(),
                "byte {i} xor {mask:#x} was accepted"
            );
        }
    }
}

#[test]
fn a_re_signed_header_does_not_open_the_old_ciphertext() {
    let home = circle();
    let alice = MemberSecret::generate();
    let sealed = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"x").unwrap();

    // Alice (or her stolen key) moves the ciphertext under another header.
    let mut moved = sealed.header().clone();
    moved.seq = 7;
    let body = wire::to_vec(&BodyRef {
        header: &moved,
        nonce: sealed.nonce,
        ciphertext: &sealed.ciphertext,
    });
    let forged = Envelope::from_bytes(&frame(&alice, &body)).unwrap();
    assert_eq!(forged.header().seq, 7);
    assert_eq!(
        forged.open(&home.key).map(|_| ()),
        Err(CryptoError::Decrypt)
    );
}

#[test]
fn a_signature_by_someone_else_is_refused() {
    let home = circle();
    let alice = MemberSecret::generate();
    let mallory = MemberSecret::generate();
    let sealed = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"x").unwrap();
    let body = wire::to_vec(&BodyRef {
        header: sealed.header(),
        nonce: sealed.nonce,
        ciphertext: &sealed.ciphertext,
    });
    assert_eq!(
        Envelope::from_bytes(&frame(&mallory, &body)),
        Err(CryptoError::BadSignature)
    );
    assert!(Envelope::from_bytes(&frame(&alice, &body)).is_ok());
}

#[test]
fn sealing_checks_author_and_version() {
    let home = circle();
    let alice = MemberSecret::generate();
    let bob = MemberSecret::generate();
    assert_eq!(
        Envelope::seal(&alice, &home.key, header(&home, &bob, 1, None), b"x"),
        Err(CryptoError::BadKey)
    );
    let mut future = header(&home, &alice, 1, None);
    future.version = 2;
    assert_eq!(
        Envelope::seal(&alice, &home.key, future, b"x"),
        Err(CryptoError::UnsupportedVersion(2))
    );
}

#[test]
fn a_newer_version_is_refused_by_version_not_as_damage() {
    let home = circle();
    let alice = MemberSecret::generate();
    let mut future = header(&home, &alice, 1, None);
    future.version = 2;
    let mut body = wire::to_vec(&BodyRef {
        header: &future,
        nonce: [0; 24],
        ciphertext: b"whatever",
    });
    body.extend_from_slice(b"fields a later version added");
    assert_eq!(
        Envelope::from_bytes(&frame(&alice, &body)),
        Err(CryptoError::UnsupportedVersion(2))
    );
}

#[test]
fn size_limits_hold_on_both_sides() {
    let home = circle();
    let alice = MemberSecret::generate();
    let h = header(&home, &alice, 1, None);
    let empty = Envelope::seal(&alice, &home.key, h.clone(), b"").unwrap();
    // Two length prefixes grow from 1 to 3 bytes for a large body.
    let overhead = empty.to_bytes().len() + 4;

    let biggest = vec![7u8; MAX_ENVELOPE_BYTES - overhead];
    let fits = Envelope::seal(&alice, &home.key, h.clone(), &biggest).unwrap();
    assert_eq!(fits.to_bytes().len(), MAX_ENVELOPE_BYTES);
    let fits = Envelope::from_bytes(fits.to_bytes()).unwrap();
    assert_eq!(fits.open(&home.key).unwrap().as_slice(), biggest.as_slice());

    let one_more = vec![7u8; MAX_ENVELOPE_BYTES - overhead + 1];
    assert_eq!(
        Envelope::seal(&alice, &home.key, h.clone(), &one_more),
        Err(CryptoError::TooLarge {
            size: MAX_ENVELOPE_BYTES + 1,
            limit: MAX_ENVELOPE_BYTES
        })
    );
    let huge = vec![0u8; 1 << 20];
    assert_eq!(
        Envelope::seal(&alice, &home.key, h, &huge),
        Err(CryptoError::TooLarge {
            size: 1 << 20,
            limit: MAX_ENVELOPE_BYTES
        })
    );
    assert_eq!(
        Envelope::from_bytes(&vec![0u8; MAX_ENVELOPE_BYTES + 1]),
        Err(CryptoError::TooLarge {
            size: MAX_ENVELOPE_BYTES + 1,
            limit: MAX_ENVELOPE_BYTES
        })
    );
}

#[test]
fn trailing_and_non_canonical_bytes_are_malformed() {
    let home = circle();
    let alice = MemberSecret::generate();
    let sealed = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"x").unwrap();

    let mut trailing = sealed.to_bytes().to_vec();
    trailing.push(0);
    assert!(matches!(
        Envelope::from_bytes(&trailing),
        Err(CryptoError::Malformed(_))
    ));

    // The same body length written as a two-byte varint: a second id for the same envelope.
    let bytes = sealed.to_bytes();
    let len = bytes[0];
    assert!(len < 0x80);
    let mut padded = vec![len | 0x80, 0x00];
    padded.extend_from_slice(&bytes[1..]);
    assert!(matches!(
        Envelope::from_bytes(&padded),
        Err(CryptoError::Malformed(_))
    ));

    let mut body = wire::to_vec(&BodyRef {
        header: sealed.header(),
        nonce: sealed.nonce,
        ciphertext: &sealed.ciphertext,
    });
    body.push(0);
    assert!(matches!(
        Envelope::from_bytes(&frame(&alice, &body)),
        Err(CryptoError::Malformed(_))
    ));
    assert!(matches!(
        Envelope::from_bytes(&frame(&alice, &[])),
        Err(CryptoError::Malformed(_))
    ));
    assert!(matches!(
        Envelope::from_bytes(&[]),
        Err(CryptoError::Malformed(_))
    ));
}

#[test]
fn debug_shows_sizes_not_ciphertext() {
    let home = circle();
    let alice = MemberSecret::generate();
    let sealed = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"x").unwrap();
    let debug = format!("{sealed:?}");
    assert!(debug.contains("ciphertext_len: 17"), "{debug}");
    assert!(debug.contains(&format!("{:?}", sealed.id())));
    assert!(!debug.contains(&format!("{:?}", sealed.ciphertext)));
}

#[test]
fn message_id_text_form_round_trips() {
    let home = circle();
    let alice = MemberSecret::generate();
    let id = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), b"x")
        .unwrap()
        .id();
    assert_eq!(id.to_string().parse::<MessageId>(), Ok(id));
    assert_eq!(MessageId::from_bytes(id.as_bytes()), Ok(id));
    assert!(MessageId::from_bytes(&[1; 5]).is_err());
    assert_eq!(format!("{id:?}"), format!("MessageId({})", id.short()));
}

fn arb_header_fields() -> impl Strategy<Value = (u64, u64, Option<[u8; 32]>)> {
    (
        any::<u64>(),
        any::<u64>(),
        proptest::option::of(any::<[u8; 32]>()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_plaintext_and_header_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..4096),
        (epoch, seq, prev) in arb_header_fields(),
    ) {
        let home = circle();
        let alice = MemberSecret::generate();
        let h = Header {
            version: ENVELOPE_VERSION,
            circle: home.id,
            epoch,
            author: alice.public(),
            seq,
            prev: prev.map(MessageId),
        };
        let sealed = Envelope::seal(&alice, &home.key, h.clone(), &plaintext).unwrap();
        let received = Envelope::from_bytes(sealed.to_bytes()).unwrap();
        prop_assert_eq!(received.header(), &h);
        let opened = received.open(&home.key).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn a_changed_byte_never_yields_other_content(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        index in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let home = circle();
        let alice = MemberSecret::generate();
        let sealed = Envelope::seal(&alice, &home.key, header(&home, &alice, 1, None), &plaintext).unwrap();
        let mut bytes = sealed.to_bytes().to_vec();
        let i = index.index(bytes.len());
        prop_assume!(bytes[i] != replacement);
        bytes[i] = replacement;
        if let Ok(changed) = Envelope::from_bytes(&bytes) {
            prop_assert!(changed.open(&home.key).is_err());
        }
    }

    #[test]
    fn any_bytes_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(Envelope::from_bytes(&bytes).is_err());
    }

    #[test]
    fn any_body_signed_by_a_member_is_handled_without_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let alice = MemberSecret::from_bytes(&[9; 64]).unwrap();
        let _ = Envelope::from_bytes(&frame(&alice, &body));
    }
}
