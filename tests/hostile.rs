//! Hostile input is normal input: every decoder and handler of a node, fed forged, replayed,
//! oversized and random data. Each case is refused with a reason, stores nothing, and does not
//! panic.
//!
//! The test plays the circle's founder (alice) with keys it holds itself, and attacks the node
//! of a member (carol) through the same functions the network task calls.

mod util;

use circle::crypto::{
    CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, Invite, InviteSecret,
    MAX_ENVELOPE_BYTES, MemberSecret,
};
use circle::node::{
    Admission, Body, Circles, Content, Genesis, Home, Ingest, JoinRequest, JoinResponse, PeerId,
    Profile, SyncPage, SyncRequest, SyncResponse, Welcome, now_ms, now_secs, seal_key_for,
};
use proptest::prelude::*;
use tempfile::TempDir;

struct Forge {
    alice: MemberSecret,
    bob: MemberSecret,
    mallory: MemberSecret,
    circle: CircleId,
    key: CircleKey,
    carol: Circles,
    /// The welcome carol got (genesis and admissions), to set up more members' nodes.
    welcome: Welcome,
    _home: TempDir,
}

/// A circle of alice (founder), bob and carol, held by carol's node; mallory is an outsider.
fn forge() -> Forge {
    let alice = MemberSecret::generate();
    let genesis = Genesis::create(&alice, "Hostile test", "alice", now_ms()).unwrap();
    let circle = Genesis::open(&genesis).unwrap().circle;
    let key = CircleKey::generate();
    let admit = |who: &MemberSecret, name: &str| {
        let profile = Profile::sign(who, circle, name).unwrap();
        Admission::sign(
            &alice,
            circle,
            profile,
            InviteSecret::generate().id(),
            now_ms(),
        )
    };
    let bob = MemberSecret::generate();
    let carol_secret = MemberSecret::generate();
    let carol_profile =
        Profile::open(&Profile::sign(&carol_secret, circle, "carol").unwrap()).unwrap();
    let welcome = Welcome {
        genesis,
        admissions: vec![admit(&bob, "bob"), admit(&carol_secret, "carol")],
        keys: vec![seal_key_for(&carol_profile, 0, &key).unwrap()],
        peers: vec![],
    };
    let home = tempfile::tempdir().unwrap();
    let store = Home::new(home.path())
        .init(util::PASSPHRASE, "carol")
        .unwrap();
    let carol = Circles::load(store).unwrap();
    let invite = Invite::create(&alice, circle, "Hostile test", now_secs() + 3600, vec![]);
    assert_eq!(
        carol
            .accept_welcome(&invite, carol_secret, &welcome)
            .unwrap(),
        circle
    );
    Forge {
        welcome,
        alice,
        bob,
        mallory: MemberSecret::generate(),
        circle,
        key,
        carol,
        _home: home,
    }
}

fn sealed(
    author: &MemberSecret,
    key: &CircleKey,
    circle: CircleId,
    epoch: u64,
    seq: u64,
    body: Body,
) -> Envelope {
    let header = Header {
        version: ENVELOPE_VERSION,
        circle,
        epoch,
        author: author.public(),
        seq,
        prev: None,
    };
    let content = Content {
        sent_at: now_ms(),
        body,
    };
    Envelope::seal(author, key, header, &content.to_bytes()).unwrap()
}

fn share(text: &str) -> Body {
    Body::Share { text: text.into() }
}

enum Expect {
    /// The bytes do not even decode as a signed envelope.
    Undecodable,
    /// Decodes, but the node refuses it.
    Rejected,
    /// Cannot be judged now; not stored (sync will bring it again if it is real).
    Later,
}

#[test]
fn forged_replayed_and_malformed_envelopes_are_refused_and_nothing_is_stored() {
    let f = forge();
    let c = f.circle;
    let other_key = CircleKey::generate();
    let valid = sealed(&f.bob, &f.key, c, 0, 1, share("a real message"))
        .to_bytes()
        .to_vec();
    let mut bad_signature = valid.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 1;
    let mut bad_ciphertext = valid.clone();
    bad_ciphertext[valid.len() / 2] ^= 0x10;
    let not_content = {
        let header = Header {
            version: ENVELOPE_VERSION,
            circle: c,
            epoch: 0,
            author: f.bob.public(),
            seq: 1,
            prev: None,
        };
        Envelope::seal(&f.bob, &f.key, header, b"\xff\xff not postcard content").unwrap()
    };
    let foreign_admission = {
        // An admit message by bob carrying an admission that alice signed: not bob's to announce.
        let profile = Profile::sign(&f.mallory, c, "mallory").unwrap();
        let wire = Admission::sign(
            &f.alice,
            c,
            profile,
            InviteSecret::generate().id(),
            now_ms(),
        );
        sealed(&f.bob, &f.key, c, 0, 1, Body::Admit { admission: wire })
    };
    let announced_by_non_admin = {
        // bob is a member but not an admin: his own admission of mallory counts for nothing.
        let profile = Profile::sign(&f.mallory, c, "mallory").unwrap();
        let wire = Admission::sign(&f.bob, c, profile, InviteSecret::generate().id(), now_ms());
        sealed(&f.bob, &f.key, c, 0, 1, Body::Admit { admission: wire })
    };
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "a join announced by a member who is not an admin",
            announced_by_non_admin.to_bytes().to_vec(),
            Expect::Rejected,
        ),
        ("signature altered", bad_signature, Expect::Undecodable),
        ("ciphertext altered", bad_ciphertext, Expect::Undecodable),
        (
            "truncated",
            valid[..valid.len() - 10].to_vec(),
            Expect::Undecodable,
        ),
        ("empty", vec![], Expect::Undecodable),
        (
            "oversized",
            vec![7u8; MAX_ENVELOPE_BYTES + 1],
            Expect::Undecodable,
        ),
        (
            "outsider with a leaked key",
            sealed(&f.mallory, &f.key, c, 0, 1, share("let me in"))
                .to_bytes()
                .to_vec(),
            Expect::Later,
        ),
        (
            "member with the wrong key",
            sealed(&f.bob, &other_key, c, 0, 1, share("x"))
                .to_bytes()
                .to_vec(),
            Expect::Rejected,
        ),
        (
            "another circle",
            sealed(&f.bob, &f.key, CircleId::random(), 0, 1, share("x"))
                .to_bytes()
                .to_vec(),
            Expect::Rejected,
        ),
        (
            "unknown key epoch",
            sealed(&f.bob, &f.key, c, 7, 1, share("x"))
                .to_bytes()
                .to_vec(),
            Expect::Later,
        ),
        (
            "content that does not decode",
            not_content.to_bytes().to_vec(),
            Expect::Rejected,
        ),
        (
            "admission announced by the wrong member",
            foreign_admission.to_bytes().to_vec(),
            Expect::Rejected,
        ),
        (
            "empty share text",
            sealed(&f.bob, &f.key, c, 0, 1, share("   "))
                .to_bytes()
                .to_vec(),
            Expect::Rejected,
        ),
    ];
    for (name, bytes, expect) in cases {
        let before = f.carol.store().message_count(&c);
        match (Envelope::from_bytes(&bytes), expect) {
            (Err(_), Expect::Undecodable) => {}
            (Ok(env), Expect::Rejected) => {
                let got = f.carol.ingest(&env).unwrap();
                assert!(
                    matches!(got, Ingest::Rejected(_)),
                    "{name}: expected rejection, got {got:?}"
                );
            }
            (Ok(env), Expect::Later) => {
                let got = f.carol.ingest(&env).unwrap();
                assert!(
                    matches!(got, Ingest::Later(_)),
                    "{name}: expected 'later', got {got:?}"
                );
            }
            (decoded, _) => panic!(
                "{name}: unexpected decoding result {:?}",
                decoded.map(|e| e.id())
            ),
        }
        assert_eq!(
            f.carol.store().message_count(&c),
            before,
            "{name}: something was stored"
        );
        assert!(
            !f.carol
                .members(&c)
                .unwrap()
                .iter()
                .any(|m| m.name == "mallory"),
            "{name}: mallory got in"
        );
    }
}

#[test]
fn a_replay_is_stored_once_and_a_fork_is_refused() {
    let f = forge();
    let first = sealed(&f.bob, &f.key, f.circle, 0, 1, share("first"));
    assert_eq!(f.carol.ingest(&first).unwrap(), Ingest::New);
    assert_eq!(f.carol.ingest(&first).unwrap(), Ingest::Duplicate);
    let fork = sealed(&f.bob, &f.key, f.circle, 0, 1, share("a different first"));
    assert!(matches!(
        f.carol.ingest(&fork).unwrap(),
        Ingest::Rejected(_)
    ));
    let texts: Vec<_> = f
        .carol
        .feed(&f.circle, 0, None)
        .unwrap()
        .into_iter()
        .map(|i| i.text)
        .collect();
    assert_eq!(texts, ["first"]);
}

#[test]
fn join_requests_that_do_not_hold_up_are_refused() {
    let f = forge();
    // carol is not an admin, so alice's node is needed to issue invites: build one from scratch.
    let home = tempfile::tempdir().unwrap();
    let alice = Circles::load(
        Home::new(home.path())
            .init(util::PASSPHRASE, "alice")
            .unwrap(),
    )
    .unwrap();
    let circle = alice.create("Real circle", None).unwrap();
    let invite = alice
        .create_invite(&circle, now_secs() + 60, 1, vec![])
        .unwrap();
    let dave = MemberSecret::generate();
    let good = Circles::join_request(&invite, &dave, "dave").unwrap();

    let refused = |req: &JoinRequest, now: u64| match alice.admit(req, now, vec![]).unwrap() {
        (JoinResponse::Refused { reason }, None) => reason,
        (JoinResponse::Welcome(_), _) => panic!("admitted"),
        (JoinResponse::Refused { .. }, Some(_)) => panic!("refused but announced"),
    };
    let mut wrong_proof = good.clone();
    wrong_proof.proof[0] ^= 1;
    assert!(refused(&wrong_proof, now_secs()).contains("proof"));
    let mut unknown = good.clone();
    unknown.invite = InviteSecret::generate().id();
    assert!(refused(&unknown, now_secs()).contains("not known"));
    let other_profile = Profile::sign(&dave, f.circle, "dave").unwrap();
    let other_circle = JoinRequest {
        invite: invite.id(),
        proof: invite.secret.proof(&other_profile).to_vec(),
        profile: other_profile,
    };
    assert!(refused(&other_circle, now_secs()).contains("another circle"));
    let mut garbage_profile = good.clone();
    garbage_profile.profile = vec![0xAB; 40];
    garbage_profile.proof = invite.secret.proof(&garbage_profile.profile).to_vec();
    refused(&garbage_profile, now_secs());
    assert!(refused(&good, now_secs() + 61).contains("expired"));
    assert_eq!(
        alice.members(&circle).unwrap().len(),
        1,
        "a refused request admitted someone"
    );

    // The real request is admitted once; retrying it is answered again; a second person is not.
    assert!(matches!(
        alice.admit(&good, now_secs(), vec![]).unwrap(),
        (JoinResponse::Welcome(_), Some(_))
    ));
    assert!(matches!(
        alice.admit(&good, now_secs(), vec![]).unwrap(),
        (JoinResponse::Welcome(_), None)
    ));
    let erin = Circles::join_request(&invite, &MemberSecret::generate(), "erin").unwrap();
    assert!(refused(&erin, now_secs()).contains("used"));
    assert_eq!(alice.members(&circle).unwrap().len(), 2);
}

#[test]
fn sync_is_served_only_to_members_proving_it_on_this_connection() {
    let f = forge();
    let (carol_peer, bob_peer, mallory_peer) =
        (PeerId::random(), PeerId::random(), PeerId::random());
    f.carol
        .ingest(&sealed(&f.bob, &f.key, f.circle, 0, 1, share("hello")))
        .unwrap();
    let request = |who: &MemberSecret, from: &PeerId| {
        // A request whose proof carol's key made, claiming to come from `who`.
        let mut req = f.carol.sync_request(&f.circle, from, &carol_peer).unwrap();
        req.member = who.public();
        req
    };
    let is_refused = |r: SyncResponse| matches!(r, SyncResponse::Refused { .. });
    // An outsider, a member whose proof is carol's, and a proof made for another connection.
    assert!(is_refused(
        f.carol
            .answer_sync(
                &request(&f.mallory, &mallory_peer),
                &mallory_peer,
                &carol_peer,
                vec![]
            )
            .unwrap()
    ));
    assert!(is_refused(
        f.carol
            .answer_sync(&request(&f.bob, &bob_peer), &bob_peer, &carol_peer, vec![])
            .unwrap()
    ));
    let unknown = SyncRequest {
        circle: CircleId::random(),
        ..request(&f.bob, &bob_peer)
    };
    assert!(is_refused(
        f.carol
            .answer_sync(&unknown, &bob_peer, &carol_peer, vec![])
            .unwrap()
    ));
    // carol's own, correctly bound request is served.
    let own = f
        .carol
        .sync_request(&f.circle, &bob_peer, &carol_peer)
        .unwrap();
    match f
        .carol
        .answer_sync(&own, &bob_peer, &carol_peer, vec![])
        .unwrap()
    {
        SyncResponse::Page(page) => {
            assert!(page.envelopes.is_empty(), "carol already has everything")
        }
        SyncResponse::Refused { reason } => panic!("refused: {reason}"),
    }
    let replayed_elsewhere = f
        .carol
        .sync_request(&f.circle, &bob_peer, &carol_peer)
        .unwrap();
    assert!(is_refused(
        f.carol
            .answer_sync(&replayed_elsewhere, &mallory_peer, &carol_peer, vec![])
            .unwrap()
    ));
}

#[test]
fn a_sync_answer_counts_only_when_its_sender_proves_membership_on_this_connection() {
    let f = forge();
    let (bob_peer, carol_peer, mallory_peer) =
        (PeerId::random(), PeerId::random(), PeerId::random());
    // carol answers a request that came to her from bob_peer: a genuine page.
    let request = f
        .carol
        .sync_request(&f.circle, &bob_peer, &carol_peer)
        .unwrap();
    let SyncResponse::Page(page) = f
        .carol
        .answer_sync(&request, &bob_peer, &carol_peer, vec![])
        .unwrap()
    else {
        panic!("a member's request was refused");
    };
    assert!(
        f.carol
            .check_page(&f.circle, &page, &carol_peer, &bob_peer)
            .is_ok()
    );
    // The same page passed on by another node, or claimed by another member, counts for nothing.
    assert!(
        f.carol
            .check_page(&f.circle, &page, &mallory_peer, &bob_peer)
            .is_err()
    );
    let claimed = SyncPage {
        member: f.bob.public(),
        ..(*page).clone()
    };
    assert!(
        f.carol
            .check_page(&f.circle, &claimed, &carol_peer, &bob_peer)
            .is_err()
    );
    // A request's proof reflected back as an answer's: same bytes signed, different purpose.
    let reflected = SyncPage {
        member: request.member,
        proof: request.proof,
        ..(*page).clone()
    };
    assert!(
        f.carol
            .check_page(&f.circle, &reflected, &carol_peer, &bob_peer)
            .is_err()
    );
    // An outsider's own signature proves nothing.
    let outsider = SyncPage {
        member: f.mallory.public(),
        ..(*page).clone()
    };
    assert!(
        f.carol
            .check_page(&f.circle, &outsider, &carol_peer, &bob_peer)
            .is_err()
    );
}

#[test]
fn a_retried_join_is_answered_again_without_spending_another_use() {
    let alice_home = tempfile::tempdir().unwrap();
    let alice = Circles::load(
        Home::new(alice_home.path())
            .init(util::PASSPHRASE, "alice")
            .unwrap(),
    )
    .unwrap();
    let circle = alice.create("One use", None).unwrap();
    let invite = alice
        .create_invite(&circle, now_secs() + 60, 1, vec![])
        .unwrap();
    let dave_home = tempfile::tempdir().unwrap();
    let dave = Circles::load(
        Home::new(dave_home.path())
            .init(util::PASSPHRASE, "dave")
            .unwrap(),
    )
    .unwrap();

    let first = dave.join_secret(&invite).unwrap();
    let request = Circles::join_request(&invite, &first, "dave").unwrap();
    let (JoinResponse::Welcome(_lost), Some(_)) =
        alice.admit(&request, now_secs(), vec![]).unwrap()
    else {
        panic!("not admitted");
    };
    // The welcome was lost on the way; dave's node tries again with the same invite.
    let again = dave.join_secret(&invite).unwrap();
    assert_eq!(
        again.public(),
        first.public(),
        "a retry must reuse the kept member secret"
    );
    let request = Circles::join_request(&invite, &again, "dave").unwrap();
    let (JoinResponse::Welcome(welcome), None) = alice.admit(&request, now_secs(), vec![]).unwrap()
    else {
        panic!("the retry was not answered as a retry");
    };
    assert_eq!(
        dave.accept_welcome(&invite, again, &welcome).unwrap(),
        circle
    );
    assert_eq!(
        alice.members(&circle).unwrap().len(),
        2,
        "one person, one admission"
    );
    let after = dave.join_secret(&invite).unwrap();
    assert_ne!(
        after.public(),
        first.public(),
        "the kept secret is dropped once joined"
    );
}

#[test]
fn a_sync_page_of_garbage_stores_nothing() {
    let f = forge();
    let junk: Vec<Vec<u8>> = vec![
        vec![],
        vec![0; 10],
        vec![0xff; 5000],
        b"circle1notreally".to_vec(),
    ];
    let new = f.carol.apply_page(&f.circle, &junk, &junk).unwrap();
    assert_eq!(new, 0);
    assert_eq!(f.carol.store().message_count(&f.circle), 0);
    assert_eq!(f.carol.members(&f.circle).unwrap().len(), 3);
}

#[test]
fn damaged_invite_tokens_are_refused_with_a_clear_error() {
    let alice = MemberSecret::generate();
    let token = Invite::create(
        &alice,
        CircleId::random(),
        "Tuesday",
        now_secs() + 60,
        vec![],
    )
    .to_token();
    let mid = token.len() / 2;
    let flipped = format!(
        "{}{}{}",
        &token[..mid],
        if &token[mid..mid + 1] == "a" {
            "b"
        } else {
            "a"
        },
        &token[mid + 1..]
    );
    for (bad, words) in [
        (flipped.as_str(), "damaged"),
        (&token[..token.len() - 5], "damaged"),
        ("hello there", "not a circle invite"),
        ("circle1", "damaged"),
    ] {
        let err = Invite::from_token(bad).unwrap_err().to_string();
        assert!(err.contains(words), "{bad:?} gave {err:?}");
    }
    let expired = Invite::create(
        &alice,
        CircleId::random(),
        "Tuesday",
        now_secs() - 1,
        vec![],
    );
    assert!(
        expired
            .check_expiry(now_secs())
            .unwrap_err()
            .to_string()
            .contains("expired")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_bytes_never_panic_any_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let circle = CircleId::random();
        let _ = Envelope::from_bytes(&bytes);
        let _ = Genesis::open(&bytes);
        let _ = Profile::open(&bytes);
        let _ = Admission::open(&circle, &bytes);
        let _ = Content::from_bytes(&bytes);
        let _ = Invite::from_token(&String::from_utf8_lossy(&bytes));
        let _ = postcard::from_bytes::<SyncRequest>(&bytes);
        let _ = postcard::from_bytes::<JoinRequest>(&bytes);
    }
}

#[test]
fn a_share_dated_in_the_year_ten_thousand_is_refused_and_cannot_break_the_feed() {
    let f = forge();
    let header = Header {
        version: ENVELOPE_VERSION,
        circle: f.circle,
        epoch: 0,
        author: f.bob.public(),
        seq: 1,
        prev: None,
    };
    let content = Content {
        sent_at: u64::MAX,
        body: share("from the future"),
    };
    let env = Envelope::seal(&f.bob, &f.key, header, &content.to_bytes()).unwrap();
    assert!(matches!(f.carol.ingest(&env).unwrap(), Ingest::Rejected(_)));
    assert_eq!(f.carol.store().message_count(&f.circle), 0);
    assert!(f.carol.feed(&f.circle, 0, None).unwrap().is_empty());
}

#[test]
fn a_member_admitted_after_us_is_believed_when_the_page_carries_the_admins_admission() {
    let f = forge();
    let c = f.circle;
    // dave was admitted by alice after carol last heard anything: carol does not know him.
    let dave = MemberSecret::generate();
    let dave_profile = Profile::sign(&dave, c, "dave").unwrap();
    let dave_in = Admission::sign(
        &f.alice,
        c,
        dave_profile.clone(),
        InviteSecret::generate().id(),
        now_ms(),
    );
    let mut admissions = f.welcome.admissions.clone();
    admissions.push(dave_in);
    let welcome = Welcome {
        genesis: f.welcome.genesis.clone(),
        admissions,
        keys: vec![seal_key_for(&Profile::open(&dave_profile).unwrap(), 0, &f.key).unwrap()],
        peers: vec![],
    };
    let dave_home = tempfile::tempdir().unwrap();
    let dave_node = Circles::load(
        Home::new(dave_home.path())
            .init(util::PASSPHRASE, "dave")
            .unwrap(),
    )
    .unwrap();
    let invite = Invite::create(&f.alice, c, "Hostile test", now_secs() + 60, vec![]);
    dave_node.accept_welcome(&invite, dave, &welcome).unwrap();
    assert!(
        !f.carol
            .members(&c)
            .unwrap()
            .iter()
            .any(|m| m.name == "dave")
    );

    // carol asks dave's node (alice, who could vouch, is offline).
    let (carol_peer, dave_peer) = (PeerId::random(), PeerId::random());
    let request = f.carol.sync_request(&c, &carol_peer, &dave_peer).unwrap();
    let SyncResponse::Page(page) = dave_node
        .answer_sync(&request, &carol_peer, &dave_peer, vec![])
        .unwrap()
    else {
        panic!("dave's node refused a member");
    };
    assert!(
        f.carol
            .check_page(&c, &page, &dave_peer, &carol_peer)
            .is_ok()
    );
    // Without the admission in it, the same page proves nothing.
    let bare = SyncPage {
        admissions: f.welcome.admissions.clone(),
        ..(*page).clone()
    };
    assert!(
        f.carol
            .check_page(&c, &bare, &dave_peer, &carol_peer)
            .is_err()
    );
}
