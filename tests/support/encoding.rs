//! A message's content has one encoding: whatever bytes a member's modified program seals,
//! decoding never panics, and what decodes encodes back to the same bytes.

use circle::crypto::MessageId;
use circle::node::support::{Checkin, Goal, MilestoneNote, Post, ReachOut, Resource, schedule};
use circle::node::{Body, Content, Op};
use proptest::prelude::*;

use crate::hostile::{meeting, private, stranger};
use crate::util::forge::share;

/// One content of each kind, encoded: where mutations start from.
fn samples() -> Vec<Vec<u8>> {
    let id = MessageId::from_bytes(&[3; 32]).unwrap();
    let bodies = vec![
        share("day 3"),
        Body::Op(Op::Leave),
        Body::Post(Post {
            text: "hi".into(),
            reply_to: Some(id),
            expires_at: Some(2_000_000),
        }),
        Body::React {
            to: id,
            emoji: "🎉".into(),
        },
        Body::Withdraw { seq: 2, id },
        Body::Checkin(Checkin {
            day: 3,
            mood: Some(5),
            craving: Some(1),
            triggers: vec!["HALT".into()],
            note: Some("ok".into()),
        }),
        Body::Goal(Goal {
            text: "call my sister".into(),
            by: Some("2026-12-01".into()),
        }),
        Body::GoalDone { goal: id },
        Body::Milestone(MilestoneNote {
            clock: "sober".into(),
            label: "30 days".into(),
            days: 30,
        }),
        Body::ClockReset {
            clock: "sober".into(),
            note: None,
        },
        Body::ReachOut(ReachOut {
            text: None,
            callback: Some("116 123".into()),
        }),
        Body::Seen { of: vec![id] },
        meeting(
            schedule::weekly("tue", "19:30").unwrap(),
            "Europe/London",
            Some("https://example.org/m"),
        ),
        Body::Resource(Resource {
            title: "HALT".into(),
            text: Some("hungry, angry, lonely, tired".into()),
            url: None,
        }),
        private(vec![(stranger(), vec![5; 40])]),
    ];
    bodies
        .into_iter()
        .map(|body| {
            Content {
                sent_at: 1_000_000,
                body,
            }
            .to_bytes()
        })
        .collect()
}

#[test]
fn every_sample_content_decodes_to_what_was_encoded() {
    for bytes in samples() {
        let content = Content::from_bytes(&bytes).unwrap();
        assert_eq!(content.to_bytes(), bytes, "{content:?}");
    }
}

#[test]
fn content_with_an_overlong_number_is_refused() {
    // 0x85 0x00 is 5 written in two bytes: the same content as 0x05, under another encoding.
    let plain = Content {
        sent_at: 5,
        body: share("day 5"),
    }
    .to_bytes();
    assert_eq!(plain[0], 5);
    let mut overlong = vec![0x85, 0x00];
    overlong.extend_from_slice(&plain[1..]);
    assert!(
        Content::from_bytes(&overlong).is_err(),
        "an overlong number decodes, so one content has two encodings"
    );
}

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let samples = samples();
    let n = samples.len();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        (
            0..n,
            proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
            any::<Option<usize>>(),
        )
            .prop_map(move |(which, changes, cut)| {
                let mut bytes = samples[which].clone();
                for (at, value) in changes {
                    let at = at % bytes.len();
                    bytes[at] = value;
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut % (bytes.len() + 1));
                }
                bytes
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn content_from_any_bytes_never_panics_and_what_decodes_encodes_back_the_same(
        bytes in hostile_bytes()
    ) {
        if let Ok(content) = Content::from_bytes(&bytes) {
            prop_assert_eq!(content.to_bytes(), bytes);
        }
    }
}
