//! What a circle keeps for everyone: its meetings, shown in each member's own time with a
//! reminder ahead; its pinned resources; its format and guidelines, shown to a person before
//! they join.

use std::time::Duration;

use circle::node::support::{Format, Meeting, Resource, schedule};
use circle::node::{Event, NodeConfig, now_ms};

use crate::util::{Member, eventually};
use crate::{Three, holds, next_event, three_members, three_members_with, write};

/// Sunday 22 November 2026, 12:00 UTC: London is on GMT, Auckland on NZDT (UTC+13).
const NOVEMBER: u64 = 1_795_348_800_000;
/// Sunday 5 July 2026, 12:00 UTC: London is on BST (UTC+1), Auckland on NZST (UTC+12).
const JULY: u64 = 1_783_252_800_000;
const DAY_MS: u64 = 24 * 3600 * 1000;
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const GUIDELINES: &str = "First names only. What is said here stays here. No crosstalk, no \
                          advice unless asked, no dating.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weekly_meeting_shows_in_each_members_local_time_and_reminds_ahead() {
    let mut ahead = NodeConfig::local();
    ahead.reminder_before = Duration::from_secs(8 * 24 * 3600);
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members_with(
        "Tuesday evening",
        [NodeConfig::local(), ahead, NodeConfig::local()],
    )
    .await;
    let mut bob_events = bob.node.events();
    let mut carol_events = carol.node.events();

    let tuesday = Meeting {
        title: "Tuesday evening".into(),
        schedule: schedule::weekly("tuesday", "19:30").unwrap(),
        zone: "Europe/London".into(),
        link: Some("https://meet.example.org/tuesday-evening".into()),
    };
    let tuesday = write(&alice, move |x| x.add_meeting(&circle, tuesday))
        .await
        .unwrap();
    // Three days from now: inside bob's eight days, never inside carol's fifteen minutes.
    let weekday = WEEKDAYS[((now_ms() / DAY_MS + 3 + 3) % 7) as usize];
    let midweek = Meeting {
        title: "Midweek check-in".into(),
        schedule: schedule::weekly(weekday, "12:00").unwrap(),
        zone: "Europe/London".into(),
        link: None,
    };
    let midweek = write(&alice, move |x| x.add_meeting(&circle, midweek))
        .await
        .unwrap();
    eventually("carol has both meetings", || async {
        holds(&carol, &tuesday) && holds(&carol, &midweek)
    })
    .await;

    // carol, in Auckland, sees the London meeting on her own Wednesday morning, in both
    // halves of the year.
    let next = |viewer: &str, now: u64| {
        let list = carol.circles().meetings(&circle, viewer, now).unwrap();
        let m = list
            .into_iter()
            .find(|m| m.id == tuesday.to_string())
            .expect("the Tuesday meeting is listed");
        (m.next.unwrap(), m.next_local.unwrap())
    };
    assert_eq!(
        next("Pacific/Auckland", NOVEMBER),
        (
            "2026-11-24T19:30:00.000Z".to_string(),
            "Wed 25 Nov 08:30 NZDT".to_string()
        )
    );
    assert_eq!(
        next("Pacific/Auckland", JULY),
        (
            "2026-07-07T18:30:00.000Z".to_string(),
            "Wed 8 Jul 06:30 NZST".to_string()
        )
    );
    assert_eq!(next("Europe/London", NOVEMBER).1, "Tue 24 Nov 19:30 GMT");
    let shown = carol
        .circles()
        .meetings(&circle, "Pacific/Auckland", NOVEMBER)
        .unwrap()
        .into_iter()
        .find(|m| m.id == tuesday.to_string())
        .unwrap();
    assert_eq!(
        (
            shown.title.as_str(),
            shown.when.as_str(),
            shown.zone.as_str(),
            shown.added_by.as_str(),
            shown.link.as_deref()
        ),
        (
            "Tuesday evening",
            "every Tuesday at 19:30",
            "Europe/London",
            "alice",
            Some("https://meet.example.org/tuesday-evening")
        )
    );
    let err = carol
        .circles()
        .meetings(&circle, "Middle/Earth", NOVEMBER)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a time zone we know"), "{err}");

    // bob asked for reminders eight days ahead.
    let ((title, minutes), _) = next_event(
        &mut bob_events,
        "bob's node reminds him of the midweek meeting",
        |e| match e {
            Event::Reminder {
                meeting,
                title,
                minutes,
                ..
            } if *meeting == midweek.to_string() => Some((title.clone(), *minutes)),
            _ => None,
        },
    )
    .await;
    assert_eq!(title, "Midweek check-in");
    assert!(
        (2 * 24 * 60..=4 * 24 * 60 + 60).contains(&minutes),
        "starts in {minutes} minutes"
    );

    // carol's node reminds fifteen minutes ahead: nothing yet. A share written after her node
    // showed the meeting comes after any reminder her node would have given for it.
    next_event(
        &mut carol_events,
        "carol's node shows the midweek meeting",
        |e| matches!(e, Event::Message { id, .. } if *id == midweek.to_string()).then_some(()),
    )
    .await;
    let later = alice.node.share(&circle, "See you there.").await.unwrap();
    let (_, before) = next_event(&mut carol_events, "carol's node shows alice's share", |e| {
        matches!(e, Event::Message { id, .. } if *id == later.to_string()).then_some(())
    })
    .await;
    assert!(
        before.iter().all(|e| !matches!(
            e,
            Event::Reminder { meeting, .. } if *meeting == midweek.to_string()
        )),
        "{before:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_guidelines_reach_every_member_and_are_shown_before_joining() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Friday sangha").await;
    let urge = Resource {
        title: "Urge surfing".into(),
        text: Some("Notice the urge, breathe, let it crest and pass. It always passes.".into()),
        url: None,
    };
    write(&alice, move |x| x.add_resource(&circle, urge)).await;
    let line = Resource {
        title: "Samaritans".into(),
        text: None,
        url: Some("https://www.samaritans.org".into()),
    };
    write(&bob, move |x| x.add_resource(&circle, line)).await;
    for m in [&alice, &bob, &carol] {
        eventually(&format!("{} lists both resources", m.name), || async {
            m.circles().resources(&circle).unwrap().len() == 2
        })
        .await;
        let mut listed: Vec<_> = m
            .circles()
            .resources(&circle)
            .unwrap()
            .into_iter()
            .map(|r| (r.resource.title, r.added_by))
            .collect();
        listed.sort();
        assert_eq!(
            listed,
            [
                ("Samaritans".to_string(), "bob".to_string()),
                ("Urge surfing".to_string(), "alice".to_string())
            ]
        );
    }

    let err = bob
        .circles()
        .set_guidelines(&circle, Format::Dharma, "anything goes")
        .unwrap_err()
        .to_string();
    assert!(err.contains("only admins"), "{err}");
    write(&alice, move |x| {
        x.set_guidelines(&circle, Format::Dharma, GUIDELINES)
    })
    .await
    .expect("guidelines are a message");
    for m in [&alice, &bob, &carol] {
        eventually(&format!("{} has the guidelines", m.name), || async {
            m.circles().info(&circle).unwrap().guidelines.as_deref() == Some(GUIDELINES)
        })
        .await;
        let info = m.circles().info(&circle).unwrap();
        assert_eq!(info.format, Some(circle::node::support::Format::Dharma));
        assert_eq!(info.admins, ["alice"]);
    }

    // dave reads what the circle is before he joins; reading admits no one.
    let dave = Member::new("dave").await;
    let token = alice
        .node
        .invite(&circle, Duration::from_secs(3600), 1)
        .await
        .unwrap()
        .to_token();
    let preview = dave.node.preview_join(&token, None).await.unwrap();
    assert_eq!(preview.name, "Friday sangha");
    assert_eq!(preview.format.as_deref(), Some("dharma"));
    assert_eq!(preview.guidelines.as_deref(), Some(GUIDELINES));
    assert_eq!(preview.members, 3);
    assert!(!dave.circles().contains(&circle));
    assert_eq!(alice.circles().members(&circle).unwrap().len(), 3);

    // The invite's one use is still there. (dave joins once his node has let the preview's
    // connection go: see the next test for a join that does not wait.)
    eventually(
        "dave's node has closed the preview's connection",
        || async { dave.node.status().await.unwrap().connected == 0 },
    )
    .await;
    assert_eq!(dave.node.join(&token, None).await.unwrap(), circle);
    for m in [&alice, &bob, &carol, &dave] {
        eventually(&format!("{} knows four members", m.name), || async {
            m.circles().members(&circle).unwrap().len() == 4
        })
        .await;
    }
    assert_eq!(
        dave.circles().info(&circle).unwrap().guidelines.as_deref(),
        Some(GUIDELINES)
    );
    eventually("dave lists the circle's resources", || async {
        dave.circles().resources(&circle).unwrap().len() == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_straight_after_a_preview_is_answered() {
    // A person who has read the preview and says yes at once: the join goes out while the
    // preview's connection may still be closing.
    let alice = Member::new("alice").await;
    let circle = alice.node.create("Say yes at once", None).await.unwrap();
    for (n, nick) in ["dave", "erin", "frank", "grace"].into_iter().enumerate() {
        let joiner = Member::new(nick).await;
        let token = alice
            .node
            .invite(&circle, Duration::from_secs(3600), 1)
            .await
            .unwrap()
            .to_token();
        let preview = joiner.node.preview_join(&token, None).await.unwrap();
        assert_eq!(preview.members, 1 + n as u32);
        let joined = joiner.node.join(&token, None).await;
        assert_eq!(
            joined.map_err(|e| e.to_string()),
            Ok(circle),
            "{nick} joined straight after the preview"
        );
        eventually(&format!("alice counts {nick} in"), || async {
            alice.circles().members(&circle).unwrap().len() == 2 + n
        })
        .await;
    }
}
