//! Counting days and reaching goals: a clock's milestone is told to the circles it is shared
//! with, once; a restart is private unless the person chooses to say so; a goal is marked done
//! by the person who set it.

use circle::crypto::CircleId;
use circle::node::support::{Audience, Goal};
use circle::node::{now_ms, rfc3339};

use crate::util::fixture::circle_of_three;
use crate::util::{Member, eventually};
use crate::{Three, feed, holds, item, three_members, write};

const DAY_MS: u64 = 24 * 3600 * 1000;
const PRIVATE_NOTE: &str = "one drink at the wedding, then four more";
const TOLD_NOTE: &str = "Starting again today. Thank you for being here.";

/// Noon UTC `days` days before today: the "now" the clock calls are given. Far enough back
/// that the node's own timed work, which counts with the real time, finds no fresh milestone
/// of these clocks and writes nothing while the test runs.
fn noon_days_ago(days: u64) -> u64 {
    (now_ms() / DAY_MS - days) * DAY_MS + DAY_MS / 2
}

/// The date of `ms` in UTC; at noon UTC it is the same date in Berlin.
fn date_of(ms: u64) -> String {
    rfc3339(ms)[..10].to_string()
}

fn count(m: &Member, circle: &CircleId) -> usize {
    m.circles().store().message_count(circle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_clock_announces_its_milestone_once_and_a_reset_is_told_only_if_chosen() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Counting days").await;
    let now = noon_days_ago(400);
    let since = date_of(now - 7 * DAY_MS);
    let clocks = alice.circles();
    let sober = clocks
        .clock_start("sober", &since, Some("Europe/Berlin"), &[circle], now)
        .unwrap();
    assert_eq!(sober.days, 7);
    assert_eq!(sober.reached.map(|m| m.label).as_deref(), Some("7 days"));
    assert_eq!(sober.shared_with, ["Counting days"]);
    let unshared = clocks
        .clock_start("no gambling", &since, Some("Europe/Berlin"), &[], now)
        .unwrap();
    assert_eq!(unshared.days, 7);

    let before = count(&alice, &circle);
    let milestone = write(&alice, move |x| x.announce_milestones(now))
        .await
        .expect("the shared clock's milestone is written");
    assert_eq!(
        count(&alice, &circle),
        before + 1,
        "one milestone: the clock shared with no circle announces nothing"
    );
    for m in [&bob, &carol] {
        eventually(&format!("{} sees alice's milestone", m.name), || async {
            holds(m, &milestone)
        })
        .await;
        let shown = item(m, &circle, &milestone).expect("the milestone is shown");
        assert_eq!(
            (shown.kind.as_str(), shown.author_name.as_str()),
            ("milestone", "alice")
        );
        assert!(shown.text.contains("sober"), "{shown:?}");
        assert!(shown.text.contains("7 days"), "{shown:?}");
    }
    assert_eq!(
        write(&alice, move |x| x.announce_milestones(now)).await,
        None,
        "a milestone is announced once"
    );

    // A restart is private unless alice chooses to say so.
    let quiet = write(&alice, move |x| {
        x.clock_reset("sober", Some(PRIVATE_NOTE), false, now)
            .map(|(_, w)| w)
    })
    .await;
    assert_eq!(quiet, None);
    assert_eq!(count(&alice, &circle), before + 1);
    let sober = alice
        .circles()
        .clocks(now)
        .unwrap()
        .into_iter()
        .find(|c| c.name == "sober")
        .unwrap();
    assert_eq!((sober.days, sober.restarts), (0, 1));
    // Regression: after a private restart, "1 day" and "7 days" came again, which told the
    // circle what alice had kept to herself. Milestones it has seen are not announced again.
    for days in [1, 7] {
        let later = now + days * DAY_MS;
        assert_eq!(
            write(&alice, move |x| x.announce_milestones(later)).await,
            None,
            "day {days} after a private restart announces nothing"
        );
    }
    assert_eq!(count(&alice, &circle), before + 1);
    let told = write(&alice, move |x| {
        x.clock_reset("sober", Some(TOLD_NOTE), true, now)
            .map(|(_, w)| w)
    })
    .await
    .expect("a restart alice chose to tell is written");
    for m in [&bob, &carol] {
        eventually(&format!("{} hears of the restart", m.name), || async {
            holds(m, &told)
        })
        .await;
        let shown = item(m, &circle, &told).expect("the restart is shown");
        assert_eq!(shown.kind, circle::node::contract::Kind::ClockReset);
        assert!(shown.text.contains(TOLD_NOTE), "{shown:?}");
        let all = feed(m, &circle);
        assert!(
            all.iter().all(|i| !i.text.contains(PRIVATE_NOTE)),
            "{all:#?}"
        );
        assert_eq!(
            all.iter()
                .filter(|i| i.kind == circle::node::contract::Kind::Milestone)
                .count(),
            1
        );
    }
}

#[test]
fn a_milestone_is_announced_once_when_two_announcements_run_at_once() {
    // The API announces right after a clock starts, while the node's timed work, woken by any
    // new message, may be announcing too.
    let f = circle_of_three("Counting together");
    let now = noon_days_ago(400);
    let since = date_of(now - 30 * DAY_MS);
    for round in 0..3 {
        let name = format!("clock {round}");
        f.alice
            .clock_start(&name, &since, Some("Europe/Berlin"), &[f.circle], now)
            .unwrap();
        let start = std::sync::Barrier::new(2);
        let written: usize = std::thread::scope(|s| {
            let runs: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        f.alice.announce_milestones(now).unwrap().len()
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).sum()
        });
        assert_eq!(
            written, 1,
            "round {round}: the '30 days' of {name} was announced {written} times"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_goal_is_marked_done_by_its_author_only_and_everyone_sees_when() {
    let Three {
        circle,
        alice,
        bob,
        carol,
    } = three_members("Weekly goals").await;
    let goal = Goal {
        text: "go to two meetings this week".into(),
        by: Some("2036-12-01".into()),
    };
    let goal = write(&alice, move |x| x.goal(&circle, goal, Audience::Circle))
        .await
        .unwrap();
    for m in [&bob, &carol] {
        eventually(&format!("{} sees alice's goal", m.name), || async {
            holds(m, &goal)
        })
        .await;
        let goals = m.circles().goals(&circle).unwrap();
        assert_eq!(goals.len(), 1, "{goals:?}");
        assert_eq!(
            (
                goals[0].author_name.as_str(),
                goals[0].to,
                goals[0].text.as_str(),
                goals[0].by.as_deref(),
                goals[0].done_at.as_deref()
            ),
            (
                "alice",
                Audience::Circle,
                "go to two meetings this week",
                Some("2036-12-01"),
                None
            )
        );
    }

    let err = bob
        .circles()
        .goal_done(&goal.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("someone else's goal"), "{err}");
    let done = write(&alice, move |x| {
        x.goal_done(&goal.to_string()).map(|(_, w)| w)
    })
    .await
    .unwrap();
    for m in [&alice, &bob, &carol] {
        eventually(&format!("{} sees the goal reached", m.name), || async {
            m.circles().goals(&circle).unwrap()[0].done_at.is_some()
        })
        .await;
        let shown = item(m, &circle, &done).expect("the goal reached is shown");
        assert_eq!(
            (shown.kind.as_str(), shown.reply_to.clone()),
            ("goal-done", Some(goal.to_string()))
        );
    }
    // Reached once is reached: the node refuses a second note, for the API as for the CLI.
    let again = alice
        .circles()
        .goal_done(&goal.to_string())
        .unwrap_err()
        .to_string();
    assert!(again.contains("already done"), "{again}");
}
