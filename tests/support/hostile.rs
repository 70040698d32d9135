//! Hostile versions of the support circle's messages, as a member's modified program would
//! send them: each is refused with a reason and nothing is stored, or (where no node can tell)
//! it is kept and has no effect. Messages move between alice's, bob's and carol's nodes by
//! hand, through the same calls the network task makes.

use circle::crypto::{CircleId, Envelope, MemberKey, MemberSecret, MessageId};
use circle::node::support::sealed::{MAX_READERS, MAX_SEALED_BYTES, Sealed};
use circle::node::support::{
    Audience, Checkin, MAX_EXPIRY_MS, MAX_SEEN, Meeting, PartnerStep, Post, Private, Resource,
    Schedule, schedule,
};
use circle::node::{Body, Circles, Content, Ingest, Refusal, now_ms};

use crate::util::fixture::{Fixture, circle_of_three};
use crate::util::forge::{Forger, secret_of, share};

fn rejected(what: &str, got: Ingest) -> Refusal {
    match got {
        Ingest::Rejected(why) => why,
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

fn deliver(envelopes: &[Envelope], to: &[&Circles]) {
    for node in to {
        for envelope in envelopes {
            assert_eq!(node.ingest(envelope).unwrap(), Ingest::New);
        }
    }
}

fn shares(node: &Circles, circle: &CircleId) -> Vec<String> {
    node.feed(circle, 0, None)
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == circle::node::contract::Kind::Share)
        .map(|i| i.text)
        .collect()
}

fn name_of(node: &Circles, circle: &CircleId) -> String {
    node.info(circle).unwrap().circle.name
}

pub(crate) fn stranger() -> MemberKey {
    MemberSecret::generate().public()
}

fn checkin(day: u8, mood: Option<u8>) -> Body {
    Body::Checkin(Checkin {
        day,
        mood,
        craving: None,
        triggers: vec![],
        note: None,
    })
}

pub(crate) fn meeting(schedule: Schedule, zone: &str, link: Option<&str>) -> Body {
    Body::Meeting(Meeting {
        title: "Tuesday evening".into(),
        schedule,
        zone: zone.into(),
        link: link.map(str::to_string),
    })
}

pub(crate) fn private(to: Vec<(MemberKey, Vec<u8>)>) -> Body {
    Body::Private(Sealed { to })
}

#[test]
fn support_messages_no_honest_program_writes_are_refused_and_nothing_is_stored() {
    let f = circle_of_three("Hostile support");
    let (a, c) = (
        f.alice.my_key(&f.circle).unwrap(),
        f.carol.my_key(&f.circle).unwrap(),
    );
    let bob = Forger::of(&f.bob, &f.circle);
    let seq = bob.seq.get() + 1;
    let now = now_ms();
    let some_id = MessageId::from_bytes(&[9; 32]).unwrap();
    let tuesday = schedule::weekly("tuesday", "19:30").unwrap();
    let post = |expires_at| {
        Body::Post(Post {
            text: "this goes away".into(),
            reply_to: None,
            expires_at: Some(expires_at),
        })
    };
    let cases: Vec<(&str, Body, &str)> = vec![
        (
            "a share expiring before it was sent",
            post(now - 1),
            "expiring before it was sent",
        ),
        (
            "a share expiring more than a year after it was sent",
            post(now + MAX_EXPIRY_MS + 1),
            "more than a year after",
        ),
        (
            "a 100-byte reaction",
            Body::React {
                to: some_id,
                emoji: "🎉".repeat(25),
            },
            "a reaction is one emoji",
        ),
        ("a check-in rating the day 9", checkin(9, None), "day is 9"),
        (
            "a check-in with mood 11",
            checkin(3, Some(11)),
            "mood is 11",
        ),
        (
            "a 'seen' of nothing",
            Body::Seen { of: vec![] },
            "acknowledging nothing or too much",
        ),
        (
            "a 'seen' of 65 reach-outs",
            Body::Seen {
                of: vec![some_id; MAX_SEEN + 1],
            },
            "acknowledging nothing or too much",
        ),
        (
            "a meeting on weekday 8",
            meeting(
                Schedule::Weekly {
                    weekday: 8,
                    hour: 19,
                    minute: 30,
                },
                "Europe/London",
                None,
            ),
            "weekday must be 1 (Monday) to 7 (Sunday)",
        ),
        (
            "a meeting at 24:00",
            meeting(
                Schedule::Weekly {
                    weekday: 2,
                    hour: 24,
                    minute: 0,
                },
                "Europe/London",
                None,
            ),
            "is not a time of day",
        ),
        (
            "a meeting in an unknown time zone",
            meeting(tuesday.clone(), "Mars/Olympus_Mons", None),
            "not a time zone we know",
        ),
        (
            "a meeting with a javascript: link",
            meeting(
                tuesday,
                "Europe/London",
                Some("javascript:alert(document.cookie)"),
            ),
            "is not a web link",
        ),
        (
            "a resource with both a text and a link",
            Body::Resource(Resource {
                title: "Help".into(),
                text: Some("call someone".into()),
                url: Some("https://example.org".into()),
            }),
            "either a text or a link",
        ),
        (
            "a private message with no readers",
            private(vec![]),
            "no readers or too many",
        ),
        (
            "a private message sealed twice to alice",
            private(vec![(a, vec![1; 80]), (a, vec![2; 80])]),
            "sealed twice to one reader",
        ),
        (
            "a private message with 17 readers",
            private(
                (0..=MAX_READERS)
                    .map(|_| (stranger(), vec![0; 80]))
                    .collect(),
            ),
            "no readers or too many",
        ),
        (
            "a private message with an oversized copy",
            private(vec![(c, vec![0; MAX_SEALED_BYTES + 1])]),
            "oversized private message",
        ),
    ];
    let store = f.carol.store();
    let (count, head) = (
        store.message_count(&f.circle),
        store.head(&f.circle, &bob.secret.public()).unwrap(),
    );
    for (what, body, reason) in cases {
        let envelope = bob.seal_with(&bob.key, f.circle, 0, seq, now, body);
        let why = rejected(what, f.carol.ingest(&envelope).unwrap());
        assert!(
            matches!(&why, Refusal::Malformed(text) if text.contains(reason)),
            "{what}: refused for '{why}'"
        );
        assert!(!store.has_message(&envelope.id()).unwrap(), "{what}");
    }
    assert_eq!(store.message_count(&f.circle), count);
    assert_eq!(store.head(&f.circle, &bob.secret.public()).unwrap(), head);
    // The number itself was free: each was refused for what it said.
    let sound = bob.seal_with(&bob.key, f.circle, 0, seq, now, share("a sound message"));
    assert_eq!(f.carol.ingest(&sound).unwrap(), Ingest::New);
}

#[test]
fn a_share_whose_time_was_up_before_it_arrived_is_never_stored() {
    let f = circle_of_three("Too late");
    let alice = Forger::of(&f.alice, &f.circle);
    let a = alice.secret.public();
    let seq = alice.seq.get() + 1;
    let now = now_ms();
    let text = "for the next five seconds only";
    let late = alice.seal_with(
        &alice.key,
        f.circle,
        0,
        seq,
        now - 10_000,
        Body::Post(Post {
            text: text.into(),
            reply_to: None,
            expires_at: Some(now - 5_000),
        }),
    );
    let store = f.carol.store();
    let count = store.message_count(&f.circle);
    assert_eq!(store.head(&f.circle, &a).unwrap(), seq - 1);
    match f.carol.ingest(&late).unwrap() {
        Ingest::Dropped(why) => assert_eq!(why, Refusal::Expired),
        other => panic!("expected it dropped, got {other:?}"),
    }
    assert_eq!(store.message_count(&f.circle), count);
    assert!(store.is_gone(&late.id()).unwrap());
    assert!(store.envelope_at(&f.circle, &a, seq).unwrap().is_none());
    assert_eq!(
        store.head(&f.circle, &a).unwrap(),
        seq,
        "its number counts as held, so sync does not ask for it"
    );
    assert!(!shares(&f.carol, &f.circle).contains(&text.to_string()));
    // Again (a replay): still not stored.
    assert!(matches!(
        f.carol.ingest(&late).unwrap(),
        Ingest::Dropped(_) | Ingest::Duplicate
    ));
    assert_eq!(store.message_count(&f.circle), count);
    assert_eq!(
        f.carol.ingest(&alice.seal(seq + 1, share("next"))).unwrap(),
        Ingest::New
    );
    assert_eq!(store.head(&f.circle, &a).unwrap(), seq + 1);
}

/// The sealed copies inside a private message, opened with `node`'s circle key.
fn sealed_in(node: &Circles, circle: &CircleId, envelope: &Envelope) -> Sealed {
    let (_, key) = node
        .store()
        .keys(circle)
        .unwrap()
        .into_iter()
        .find(|(epoch, _)| *epoch == envelope.header().epoch)
        .unwrap();
    match Content::from_bytes(&envelope.open(&key).unwrap())
        .unwrap()
        .body
    {
        Body::Private(sealed) => sealed,
        other => panic!("not a private message: {other:?}"),
    }
}

#[test]
fn a_private_message_passed_off_by_another_member_opens_for_no_one_and_is_not_shown() {
    let f = circle_of_three("Borrowed words");
    let [a, b, c] = [&f.alice, &f.bob, &f.carol].map(|n| n.my_key(&f.circle).unwrap());
    deliver(
        &f.alice
            .partner(&f.circle, &b, PartnerStep::Request)
            .unwrap(),
        &[&f.bob, &f.carol],
    );
    deliver(
        &f.bob.partner(&f.circle, &a, PartnerStep::Accept).unwrap(),
        &[&f.alice, &f.carol],
    );
    let note = "I drove past my old dealer's street twice today";
    let written = f
        .alice
        .checkin(
            &f.circle,
            Checkin {
                day: 1,
                mood: Some(2),
                craving: Some(9),
                triggers: vec![],
                note: Some(note.into()),
            },
            Audience::Partner,
        )
        .unwrap();
    deliver(&written, &[&f.bob, &f.carol]);
    let bobs = |f: &Fixture| f.bob.checkins(&f.circle, now_ms()).unwrap().checkins;
    assert_eq!(bobs(&f).len(), 1);

    // carol sends alice's sealed copies as her own message.
    let sealed = sealed_in(&f.carol, &f.circle, written.last().unwrap());
    let carol = Forger::of(&f.carol, &f.circle);
    let passed_off = carol.next(Body::Private(sealed.clone()));
    // No node can check copies sealed to others, so bob's keeps it ...
    assert_eq!(f.bob.ingest(&passed_off).unwrap(), Ingest::New);
    // ... but the copies are bound to alice as their author: as carol's they do not open.
    let bob_secret = secret_of(&f.bob, &f.circle);
    assert!(sealed.open(&f.circle, &a, &bob_secret).unwrap().is_some());
    assert!(sealed.open(&f.circle, &c, &bob_secret).is_err());
    let feed = f.bob.feed(&f.circle, 0, None).unwrap();
    assert!(
        feed.iter().all(|i| i.id != passed_off.id().to_string()),
        "{feed:#?}"
    );
    let seen = bobs(&f);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].author_name, "alice");
    assert_eq!(
        feed.iter().filter(|i| i.text.contains(note)).count(),
        1,
        "{feed:#?}"
    );
}

#[test]
fn a_withdrawal_naming_someone_elses_message_drops_nothing() {
    let f = circle_of_three("Not yours");
    let kept = f.alice.share(&f.circle, "Thirty days today.").unwrap();
    deliver(&kept, &[&f.bob, &f.carol]);
    let bob = Forger::of(&f.bob, &f.circle);
    deliver(
        &[bob.next(share("one")), bob.next(share("two"))],
        &[&f.carol],
    );
    // bob's modified program says alice's share was his first message, and withdraws it.
    let target = kept.last().unwrap();
    for seq in [1, target.header().seq] {
        let withdraw = bob.next(Body::Withdraw {
            seq,
            id: target.id(),
        });
        assert_eq!(f.carol.ingest(&withdraw).unwrap(), Ingest::New);
    }
    let seen = shares(&f.carol, &f.circle);
    for text in ["Thirty days today.", "one", "two"] {
        assert!(seen.contains(&text.to_string()), "{text} is gone: {seen:?}");
    }
    assert!(!f.carol.store().is_gone(&target.id()).unwrap());
}

#[test]
fn a_withdrawal_naming_someone_elses_message_before_it_arrives_does_not_keep_it_out() {
    let f = circle_of_three("Not yours either");
    let later = f.alice.share(&f.circle, "A walk in the park.").unwrap();
    let target = later.last().unwrap();
    let bob = Forger::of(&f.bob, &f.circle);
    deliver(&[bob.next(share("one"))], &[&f.carol]);
    // bob's withdrawal reaches carol before alice's share does.
    let withdraw = bob.next(Body::Withdraw {
        seq: 1,
        id: target.id(),
    });
    assert_eq!(f.carol.ingest(&withdraw).unwrap(), Ingest::New);
    assert_eq!(
        f.carol.ingest(target).unwrap(),
        Ingest::New,
        "alice's share is kept out of carol's node by bob's withdrawal"
    );
    assert!(shares(&f.carol, &f.circle).contains(&"A walk in the park.".to_string()));
    assert!(shares(&f.carol, &f.circle).contains(&"one".to_string()));
}

/// alice renames the circle, then her modified program withdraws the rename.
fn rename_then_withdraw(f: &Fixture) -> (Envelope, Envelope) {
    let rename = f.alice.rename(&f.circle, "Renamed for good").unwrap();
    let op = rename.last().unwrap().clone();
    let alice = Forger::of(&f.alice, &f.circle);
    let withdraw = alice.next(Body::Withdraw {
        seq: op.header().seq,
        id: op.id(),
    });
    (op, withdraw)
}

#[test]
fn a_withdrawal_of_a_membership_operation_is_ignored() {
    let f = circle_of_three("Ops stay");
    let (op, withdraw) = rename_then_withdraw(&f);
    deliver(&[op.clone(), withdraw], &[&f.bob]);
    assert_eq!(name_of(&f.bob, &f.circle), "Renamed for good");
    assert!(!f.bob.store().is_gone(&op.id()).unwrap());
    assert!(f.bob.withdraw(&op.id().to_string()).is_err());
}

#[test]
fn a_withdrawal_of_a_membership_operation_that_arrives_first_does_not_keep_it_out() {
    let f = circle_of_three("Ops stay too");
    let (op, withdraw) = rename_then_withdraw(&f);
    assert_eq!(f.carol.ingest(&withdraw).unwrap(), Ingest::New);
    assert_eq!(
        f.carol.ingest(&op).unwrap(),
        Ingest::New,
        "the rename is kept out of carol's node by its withdrawal"
    );
    assert_eq!(name_of(&f.carol, &f.circle), "Renamed for good");
}

/// Moves every message between the three nodes, both ways.
fn everyone_syncs(f: &Fixture) {
    let c = f.circle;
    for _ in 0..2 {
        for (to, from) in [
            (&f.alice, &f.bob),
            (&f.alice, &f.carol),
            (&f.bob, &f.alice),
            (&f.bob, &f.carol),
            (&f.carol, &f.alice),
            (&f.carol, &f.bob),
        ] {
            crate::util::sync_offline(to, from, &c);
        }
    }
}

fn standing(node: &Circles, circle: &CircleId, other: &MemberKey) -> Option<&'static str> {
    node.partners(circle, now_ms())
        .unwrap()
        .into_iter()
        .find(|p| p.member == other.to_string())
        .map(|p| p.state.as_str())
}

#[test]
fn private_words_are_not_answered_in_the_open_and_partnership_steps_stay() {
    let f = circle_of_three("Sunday");
    let c = f.circle;
    let (a, b) = (f.alice.my_key(&c).unwrap(), f.bob.my_key(&c).unwrap());
    f.alice.partner(&c, &b, PartnerStep::Request).unwrap();
    everyone_syncs(&f);
    f.bob.partner(&c, &a, PartnerStep::Accept).unwrap();
    everyone_syncs(&f);
    assert_eq!(standing(&f.alice, &c, &b), Some("partner"));
    let dm = f.alice.dm(&c, &b, "call me tonight?").unwrap();
    let dm = dm.last().unwrap().id().to_string();
    everyone_syncs(&f);
    // A reply or a reaction goes to the whole circle: to a private message, it would tell
    // everyone something about it.
    let reply = f
        .bob
        .share_with(&c, "yes, at 8", Some(&dm), None)
        .unwrap_err();
    assert!(reply.to_string().contains("private message"), "{reply}");
    let react = f.bob.react(&dm, "👍").unwrap_err();
    assert!(react.to_string().contains("private message"), "{react}");
    // Taking back the request would undo the partnership on both nodes.
    let request = f
        .alice
        .feed(&c, 0, None)
        .unwrap()
        .into_iter()
        .find(|i| i.kind == circle::node::contract::Kind::Partner && i.author == a.to_string())
        .expect("alice's request is in her feed");
    let withdrawn = f.alice.withdraw(&request.id).unwrap_err();
    assert!(
        withdrawn.to_string().contains("cannot be withdrawn"),
        "{withdrawn}"
    );
    assert_eq!(standing(&f.bob, &c, &a), Some("partner"));
}

#[test]
fn a_partnership_step_sealed_to_the_wrong_people_is_not_shown() {
    let f = circle_of_three("Sunday");
    let c = f.circle;
    let (a, b, m) = (
        f.alice.my_key(&c).unwrap(),
        f.bob.my_key(&c).unwrap(),
        f.carol.my_key(&c).unwrap(),
    );
    let exchange = |node: &Circles| secret_of(node, &c).exchange_key();
    // carol's program tells bob that alice and carol are partners, sealed to carol and bob
    // only (alice, the one it names, is not a reader).
    let lie = Sealed::seal(
        &c,
        &m,
        &[(m, exchange(&f.carol)), (b, exchange(&f.bob))],
        &Private::Partner {
            step: PartnerStep::Accept,
            with: a,
        },
    )
    .unwrap();
    let envelope = Forger::of(&f.carol, &c).next(Body::Private(lie));
    assert_eq!(f.bob.ingest(&envelope).unwrap(), Ingest::New);
    assert!(
        f.bob
            .feed(&c, 0, None)
            .unwrap()
            .iter()
            .all(|i| i.kind != circle::node::contract::Kind::Partner),
        "bob's feed shows a step not sealed to the people it names"
    );
}

#[test]
fn an_answer_comes_after_a_request_dated_in_the_future() {
    let f = circle_of_three("Sunday");
    let c = f.circle;
    let (b, m) = (f.bob.my_key(&c).unwrap(), f.carol.my_key(&c).unwrap());
    let exchange = |node: &Circles| secret_of(node, &c).exchange_key();
    let request = Sealed::seal(
        &c,
        &m,
        &[(m, exchange(&f.carol)), (b, exchange(&f.bob))],
        &Private::Partner {
            step: PartnerStep::Request,
            with: b,
        },
    )
    .unwrap();
    // carol's clock (or program) dates her request ten years ahead.
    let carol = Forger::of(&f.carol, &c);
    let seq = f.carol.store().max_seq(&c, &m).unwrap() + 1;
    let later = now_ms() + 10 * 365 * 24 * 3600 * 1000;
    let envelope = carol.seal_with(
        &f.carol.store().keys(&c).unwrap()[0].1,
        c,
        0,
        seq,
        later,
        Body::Private(request),
    );
    assert_eq!(f.bob.ingest(&envelope).unwrap(), Ingest::New);
    assert_eq!(standing(&f.bob, &c, &m), Some("asked-you"));
    // bob says no: his answer is dated after her request, so it counts.
    f.bob.partner(&c, &m, PartnerStep::Decline).unwrap();
    assert_eq!(standing(&f.bob, &c, &m), None);
}
