use proptest::prelude::*;

use super::*;

const NOW: u64 = 1_750_000_000;
const WEEK: u64 = 7 * 24 * 3600;

fn addrs() -> Vec<String> {
    vec![
        "/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWExampleExampleExampleExampleExampleExample".to_owned(),
        "/ip6/2001:db8::7/udp/4001/quic-v1/p2p/12D3KooWExampleExampleExampleExample".to_owned(),
    ]
}

fn alices_invite(alice: &MemberSecret) -> Invite {
    Invite::create(
        alice,
        CircleId::random(),
        "Tuesday evening group",
        NOW + WEEK,
        addrs(),
    )
}

/// Re-encodes a payload into a token, with a correct checksum.
fn token_of(payload: &[u8]) -> String {
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&blake3::hash(payload).as_bytes()[..CHECKSUM_LEN]);
    format!("{PREFIX}{}", text::encode(&bytes))
}

fn payload_of(token: &str) -> Vec<u8> {
    let mut bytes = text::decode(&token[PREFIX.len()..]).unwrap();
    bytes.truncate(bytes.len() - CHECKSUM_LEN);
    bytes
}

#[test]
fn bob_reads_the_invite_alice_made() {
    let alice = MemberSecret::generate();
    let invite = alices_invite(&alice);
    let token = invite.to_token();
    assert!(token.starts_with("circle1"));
    assert!(token.len() < 1000, "{} chars", token.len());
    assert_eq!(token, token.to_lowercase());

    let read = Invite::from_token(&token).unwrap();
    assert_eq!(read, invite);
    assert_eq!(read.inviter, alice.public());
    assert_eq!(read.circle_name, "Tuesday evening group");
    assert_eq!(read.addrs, addrs());
    assert_eq!(read.id(), invite.secret.id());
    assert_eq!(read.verify(), Ok(()));
    assert_eq!(read.to_token(), token);
}

#[test]
fn a_token_survives_copy_and_paste() {
    let invite = alices_invite(&MemberSecret::generate());
    let token = invite.to_token();

    let wrapped: String = token
        .as_bytes()
        .chunks(60)
        .map(|line| String::from_utf8(line.to_vec()).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    let spaced: String = token.chars().flat_map(|c| [c, ' ']).collect();
    for pasted in [
        format!("  {token}\n"),
        token.to_uppercase(),
        wrapped,
        spaced,
        format!("\t{}\n\n", token.replacen("circle1", "Circle1", 1)),
    ] {
        assert_eq!(
            Invite::from_token(&pasted).as_ref(),
            Ok(&invite),
            "{pasted:?}"
        );
    }
}

#[test]
fn damaged_tokens_say_so() {
    let invite = alices_invite(&MemberSecret::generate());
    let token = invite.to_token();

    // A changed character anywhere after the prefix.
    for i in PREFIX.len()..token.len() {
        let mut chars: Vec<char> = token.chars().collect();
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let changed: String = chars.into_iter().collect();
        assert_eq!(
            Invite::from_token(&changed),
            Err(InviteError::Damaged),
            "char {i}"
        );
    }
    // Cut short, at several points.
    for keep in [
        token.len() - 1,
        token.len() - 7,
        token.len() / 2,
        PREFIX.len() + 3,
        PREFIX.len(),
    ] {
        assert_eq!(
            Invite::from_token(&token[..keep]),
            Err(InviteError::Damaged),
            "kept {keep}"
        );
    }
    // A character that is not base32.
    let mut with_one = token.clone();
    with_one.insert(20, '1');
    assert_eq!(Invite::from_token(&with_one), Err(InviteError::Damaged));
    // A payload with another invite's checksum.
    let other = alices_invite(&MemberSecret::generate()).to_token();
    let mut mixed = payload_of(&token);
    mixed.extend_from_slice(
        &text::decode(&other[PREFIX.len()..]).unwrap()[payload_of(&other).len()..],
    );
    assert_eq!(
        Invite::from_token(&format!("{PREFIX}{}", text::encode(&mixed))),
        Err(InviteError::Damaged)
    );
    // A checksummed payload that does not decode, or has bytes after the signature.
    assert_eq!(
        Invite::from_token(&token_of(&[1, 2, 3])),
        Err(InviteError::Damaged)
    );
    let mut longer = payload_of(&token);
    longer.push(0);
    assert_eq!(
        Invite::from_token(&token_of(&longer)),
        Err(InviteError::Damaged)
    );
    assert_eq!(
        Invite::from_token(&token_of(&[])),
        Err(InviteError::Damaged)
    );
}

#[test]
fn text_that_is_not_an_invite_says_so() {
    let token = alices_invite(&MemberSecret::generate()).to_token();
    for text in [
        String::new(),
        "   ".to_owned(),
        "circle".to_owned(),
        token.replacen("circle1", "circle2", 1),
        token.replacen("circle1", "", 1),
        format!("x{token}"),
        "héllo wörld".to_owned(),
        "circlé1abc".to_owned(),
    ] {
        assert_eq!(
            Invite::from_token(&text),
            Err(InviteError::NotAnInvite),
            "{text:?}"
        );
    }
}

#[test]
fn an_invite_re_signed_by_someone_else_is_refused() {
    let alice = MemberSecret::generate();
    let mallory = MemberSecret::generate();
    // Mallory makes an invite and claims Alice made it.
    let mut forged = Invite::create(
        &mallory,
        CircleId::random(),
        "Alice's group",
        NOW + WEEK,
        addrs(),
    );
    forged.inviter = alice.public();
    forged.signature = mallory.sign(DOMAIN, &forged.signed_bytes());
    assert_eq!(forged.verify(), Err(InviteError::BadSignature));
    assert_eq!(
        Invite::from_token(&forged.to_token()),
        Err(InviteError::BadSignature)
    );
}

#[test]
fn a_changed_field_is_refused() {
    let alice = MemberSecret::generate();
    let mut invite = alices_invite(&alice);
    invite.expires_at += WEEK;
    assert_eq!(invite.verify(), Err(InviteError::BadSignature));
    assert_eq!(
        Invite::from_token(&invite.to_token()),
        Err(InviteError::BadSignature)
    );

    let mut invite = alices_invite(&alice);
    invite
        .addrs
        .push("/ip4/203.0.113.9/tcp/1/p2p/evil".to_owned());
    assert_eq!(
        Invite::from_token(&invite.to_token()),
        Err(InviteError::BadSignature)
    );
}

#[test]
fn a_newer_version_is_refused_by_version() {
    let alice = MemberSecret::generate();
    let mut invite = alices_invite(&alice);
    invite.version = 2;
    invite.signature = alice.sign(DOMAIN, &invite.signed_bytes());
    let mut payload = payload_of(&invite.to_token());
    payload.extend_from_slice(b"a field from the future");
    assert_eq!(
        Invite::from_token(&token_of(&payload)),
        Err(InviteError::UnsupportedVersion(2))
    );
}

#[test]
fn expiry_is_checked_separately() {
    let invite = alices_invite(&MemberSecret::generate());
    let read = Invite::from_token(&invite.to_token()).unwrap();
    assert_eq!(read.check_expiry(NOW), Ok(()));
    assert_eq!(read.check_expiry(NOW + WEEK - 1), Ok(()));
    assert_eq!(
        read.check_expiry(NOW + WEEK),
        Err(InviteError::Expired {
            expired_at: NOW + WEEK
        })
    );
    assert_eq!(
        read.check_expiry(u64::MAX),
        Err(InviteError::Expired {
            expired_at: NOW + WEEK
        })
    );
}

#[test]
fn overlong_text_is_refused_before_decoding() {
    let long = format!("circle1{}", "a".repeat(MAX_INVITE_TOKEN_CHARS));
    assert_eq!(Invite::from_token(&long), Err(InviteError::TooLarge));
    let huge = Invite::create(
        &MemberSecret::generate(),
        CircleId::random(),
        &"x".repeat(6000),
        NOW,
        vec![],
    );
    assert_eq!(
        Invite::from_token(&huge.to_token()),
        Err(InviteError::TooLarge)
    );
    // Whitespace does not count towards the limit.
    let invite = alices_invite(&MemberSecret::generate());
    let padded = format!(
        "{}{}",
        " \n".repeat(MAX_INVITE_TOKEN_CHARS),
        invite.to_token()
    );
    assert_eq!(Invite::from_token(&padded), Ok(invite));
}

#[test]
fn the_invite_secret_stays_secret() {
    let secret = InviteSecret::generate();
    assert_eq!(format!("{secret:?}"), "InviteSecret(..)");
    let invite = alices_invite(&MemberSecret::generate());
    assert!(format!("{invite:?}").contains("InviteSecret(..)"));

    let id = secret.id();
    assert_ne!(id.as_bytes(), secret.to_bytes().as_ref());
    assert_eq!(
        id,
        InviteSecret::from_bytes(secret.to_bytes().as_slice())
            .unwrap()
            .id()
    );
    assert_ne!(id, InviteSecret::generate().id());
    assert_eq!(id.to_string().parse::<InviteId>(), Ok(id));
    assert_eq!(format!("{id:?}"), format!("InviteId({})", id.short()));
    assert!(InviteId::from_bytes(&[0; 3]).is_err());
    assert_eq!(InviteSecret::from_bytes(&[0; 33]), Err(CryptoError::BadKey));
}

#[test]
fn a_join_proof_checks_out_only_for_the_secret_and_message() {
    let secret = InviteSecret::generate();
    let key = secret.join_key();
    // The same secret always gives the same key, another secret another key.
    assert_eq!(key.public(), secret.join_key().public());
    assert_ne!(key.public(), InviteSecret::generate().join_key().public());
    let proof = key.sign("circle/join-proof/v2", b"bob's key");
    let public = key.public();
    assert!(
        public
            .verify("circle/join-proof/v2", b"bob's key", &proof)
            .is_ok()
    );
    assert!(
        public
            .verify("circle/join-proof/v2", b"carol's key", &proof)
            .is_err()
    );
    assert!(public.verify("circle/other", b"bob's key", &proof).is_err());
    let other = InviteSecret::generate().join_key().public();
    assert!(
        other
            .verify("circle/join-proof/v2", b"bob's key", &proof)
            .is_err()
    );
    // The public key is not the id.
    assert_ne!(&public.to_bytes(), secret.id().as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_invite_round_trips_through_text(
        name in "\\PC{0,40}",
        expires_at in any::<u64>(),
        addrs in proptest::collection::vec("[ -~]{0,80}", 0..4),
        upper in any::<bool>(),
        wrap in 1usize..100,
    ) {
        let alice = MemberSecret::generate();
        let invite = Invite::create(&alice, CircleId::random(), &name, expires_at, addrs);
        let mut token = invite.to_token();
        if upper {
            token = token.to_uppercase();
        }
        let pasted: String = token
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % wrap == 0 { vec!['\n', c] } else { vec![c] })
            .collect();
        prop_assert_eq!(Invite::from_token(&pasted), Ok(invite));
    }

    #[test]
    fn any_text_is_handled_without_panic(text in "\\PC{0,300}") {
        let _ = Invite::from_token(&text);
        let _ = Invite::from_token(&format!("circle1{text}"));
    }

    #[test]
    fn any_checksummed_payload_is_handled_without_panic(payload in proptest::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(Invite::from_token(&token_of(&payload)).is_err());
        let mut versioned = payload.clone();
        versioned.insert(0, INVITE_VERSION);
        prop_assert!(Invite::from_token(&token_of(&versioned)).is_err());
    }
}
