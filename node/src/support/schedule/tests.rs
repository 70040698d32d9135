use super::*;
use jiff::SignedDuration;
use proptest::prelude::*;

fn instant(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn error(result: Result<impl std::fmt::Debug>) -> String {
    result.unwrap_err().to_string()
}

/// The next `count` starts of `schedule` in `name` after `after`, as UTC text.
fn starts(schedule: &Schedule, name: &str, after: &str, count: usize) -> Vec<String> {
    let tz = zone(name);
    let mut at = instant(after);
    let mut out = Vec::new();
    for _ in 0..count {
        at = next_occurrence(schedule, &tz, at).unwrap();
        out.push(at.to_string());
    }
    out
}

#[test]
fn a_new_york_evening_meeting_is_after_midnight_utc_in_winter_only() {
    let tuesday = weekly("tuesday", "19:30").unwrap();
    let new_york = zone("America/New_York");
    let winter = next_occurrence(&tuesday, &new_york, instant("2026-01-01T00:00:00Z"));
    assert_eq!(winter, Some(instant("2026-01-07T00:30:00Z")));
    let summer = next_occurrence(&tuesday, &new_york, instant("2026-07-01T00:00:00Z"));
    assert_eq!(summer, Some(instant("2026-07-07T23:30:00Z")));
}

#[test]
fn a_weekly_meeting_keeps_its_wall_clock_time_across_daylight_saving_changes() {
    let sunday_noon = weekly("sun", "12:00").unwrap();
    assert_eq!(
        starts(&sunday_noon, "America/New_York", "2026-02-25T00:00:00Z", 3),
        [
            "2026-03-01T17:00:00Z",
            "2026-03-08T16:00:00Z",
            "2026-03-15T16:00:00Z"
        ]
    );
    assert_eq!(
        starts(&sunday_noon, "America/New_York", "2026-10-20T00:00:00Z", 3),
        [
            "2026-10-25T16:00:00Z",
            "2026-11-01T17:00:00Z",
            "2026-11-08T17:00:00Z"
        ]
    );
    assert_eq!(
        starts(&sunday_noon, "Australia/Sydney", "2026-03-30T00:00:00Z", 2),
        ["2026-04-05T02:00:00Z", "2026-04-12T02:00:00Z"]
    );
}

#[test]
fn every_start_for_a_year_falls_on_the_same_local_day_and_time() {
    let thursday = weekly("thu", "18:45").unwrap();
    for name in "Europe/London America/Santiago Australia/Sydney Asia/Kolkata".split_whitespace() {
        let tz = zone(name);
        let mut at = instant("2026-01-01T00:00:00Z");
        for _ in 0..53 {
            let start = next_occurrence(&thursday, &tz, at).unwrap();
            let local = tz.to_datetime(start);
            assert_eq!(local.weekday(), Weekday::Thursday, "{name} {start}");
            assert_eq!((local.hour(), local.minute()), (18, 45), "{name} {start}");
            let gap = start.duration_since(at);
            assert!(
                gap <= SignedDuration::from_hours(7 * 24 + 1),
                "{name} {start}"
            );
            at = start;
        }
    }
}

#[test]
fn a_member_far_away_sees_the_meeting_in_their_own_time() {
    let tuesday = weekly("Tue", "19:30").unwrap();
    let start = next_occurrence(
        &tuesday,
        &zone("Europe/London"),
        instant("2026-11-01T00:00:00Z"),
    );
    let start = start.unwrap();
    assert_eq!(start, instant("2026-11-03T19:30:00Z"));
    assert_eq!(
        local_text(start, &zone("Europe/London")),
        "Tue 3 Nov 19:30 GMT"
    );
    assert_eq!(
        local_text(start, &zone("Pacific/Auckland")),
        "Wed 4 Nov 08:30 NZDT"
    );
    assert_eq!(
        local_text(start, &zone("America/New_York")),
        "Tue 3 Nov 14:30 EST"
    );

    let berlin = next_occurrence(
        &tuesday,
        &zone("Europe/Berlin"),
        instant("2026-11-20T00:00:00Z"),
    );
    assert_eq!(
        local_text(berlin.unwrap(), &zone("Europe/Berlin")),
        "Tue 24 Nov 19:30 CET"
    );
}

#[test]
fn a_time_skipped_by_spring_forward_moves_later_and_a_repeated_one_takes_the_first() {
    let new_york = zone("America/New_York");
    // 02:30 does not exist on 2026-03-08: the meeting starts at 03:30 EDT.
    let early = weekly("sunday", "2:30").unwrap();
    let start = next_occurrence(&early, &new_york, instant("2026-03-07T00:00:00Z")).unwrap();
    assert_eq!(start, instant("2026-03-08T07:30:00Z"));
    assert_eq!(local_text(start, &new_york), "Sun 8 Mar 03:30 EDT");
    // 01:30 happens twice on 2026-11-01: the meeting starts at the first, 01:30 EDT.
    let fold = weekly("sunday", "1:30").unwrap();
    let start = next_occurrence(&fold, &new_york, instant("2026-10-31T00:00:00Z")).unwrap();
    assert_eq!(start, instant("2026-11-01T05:30:00Z"));
    // Once it has started, the next start is a week later, not the repeated 01:30 EST.
    let after = next_occurrence(&fold, &new_york, start).unwrap();
    assert_eq!(after, instant("2026-11-08T06:30:00Z"));
    // Santiago skips midnight on 2026-09-06: a meeting at 00:00 starts at 01:00.
    let midnight = weekly("sun", "00:00").unwrap();
    let santiago = zone("America/Santiago");
    let start = next_occurrence(&midnight, &santiago, instant("2026-09-01T00:00:00Z")).unwrap();
    assert_eq!(
        santiago.to_datetime(start).to_string(),
        "2026-09-06T01:00:00"
    );
}

#[test]
fn a_meeting_in_an_hour_that_repeats_is_held_once() {
    // Santiago repeats 23:00-24:00 on 2026-04-04; the meeting is the first 23:30.
    let saturday = weekly("sat", "23:30").unwrap();
    let santiago = zone("America/Santiago");
    let first = instant("2026-04-05T02:30:00Z");
    assert_eq!(
        next_occurrence(&saturday, &santiago, instant("2026-04-04T00:00:00Z")),
        Some(first)
    );
    let next_week = instant("2026-04-12T03:30:00Z");
    assert_eq!(
        next_occurrence(&saturday, &santiago, first),
        Some(next_week)
    );
    // During the repeated hour (local 23:10 the second time) it is not held again.
    let repeated = instant("2026-04-05T03:10:00Z");
    assert_eq!(
        next_occurrence(&saturday, &santiago, repeated),
        Some(next_week)
    );
}

#[test]
fn the_next_start_is_strictly_after_the_given_moment() {
    let tuesday = weekly("tue", "19:30").unwrap();
    let london = zone("Europe/London");
    let start = instant("2026-11-03T19:30:00Z");
    assert_eq!(
        next_occurrence(&tuesday, &london, start),
        Some(instant("2026-11-10T19:30:00Z"))
    );
    let just_before = start - SignedDuration::from_secs(1);
    assert_eq!(next_occurrence(&tuesday, &london, just_before), Some(start));
}

#[test]
fn a_one_off_meeting_has_one_start_and_none_once_it_has_passed() {
    let meeting = once("2026-12-01", "18:00").unwrap();
    let berlin = zone("Europe/Berlin");
    let start = instant("2026-12-01T17:00:00Z");
    assert_eq!(
        next_occurrence(&meeting, &berlin, instant("2026-06-01T00:00:00Z")),
        Some(start)
    );
    let just_before = start - SignedDuration::from_secs(1);
    assert_eq!(next_occurrence(&meeting, &berlin, just_before), Some(start));
    assert_eq!(next_occurrence(&meeting, &berlin, start), None);
    assert_eq!(
        next_occurrence(&meeting, &berlin, instant("2027-01-01T00:00:00Z")),
        None
    );
}

#[test]
fn schedules_describe_themselves_in_plain_words() {
    assert_eq!(
        weekly("TUESDAY", "19:30").unwrap().describe(),
        "every Tuesday at 19:30"
    );
    assert_eq!(
        weekly("mon", "7:05").unwrap().to_string(),
        "every Monday at 07:05"
    );
    assert_eq!(
        once("2026-12-01", "18:00").unwrap().describe(),
        "on 2026-12-01 at 18:00"
    );
    let junk = Schedule::Weekly {
        weekday: 9,
        hour: 99,
        minute: 255,
    };
    assert_eq!(junk.describe(), "every week on day 9 at 99:255");
    let junk = Schedule::Once {
        year: i16::MIN,
        month: 0,
        day: 255,
        hour: 0,
        minute: 0,
    };
    assert_eq!(junk.describe(), "on -32768-00-255 at 00:00");
}

#[test]
fn check_refuses_every_value_out_of_range() {
    let weekly = |weekday, hour, minute| Schedule::Weekly {
        weekday,
        hour,
        minute,
    };
    let once = |year, month, day, hour, minute| Schedule::Once {
        year,
        month,
        day,
        hour,
        minute,
    };
    for good in [
        weekly(1, 0, 0),
        weekly(7, 23, 59),
        once(1900, 1, 1, 0, 0),
        once(9999, 12, 31, 23, 59),
        once(2024, 2, 29, 12, 0),
    ] {
        assert!(good.check().is_ok(), "{good:?}");
    }
    let bad = [
        (
            weekly(0, 12, 0),
            "weekday must be 1 (Monday) to 7 (Sunday), not 0",
        ),
        (
            weekly(8, 12, 0),
            "weekday must be 1 (Monday) to 7 (Sunday), not 8",
        ),
        (weekly(255, 12, 0), "not 255"),
        (weekly(2, 24, 0), "time 24:00 is not a time of day"),
        (weekly(2, 255, 0), "time 255:00"),
        (weekly(2, 19, 60), "time 19:60"),
        (weekly(2, 19, 255), "time 19:255"),
        (once(2026, 0, 1, 18, 0), "date 2026-00-01 is not a date"),
        (once(2026, 13, 1, 18, 0), "date 2026-13-01"),
        (once(2026, 255, 1, 18, 0), "date 2026-255-01"),
        (once(2026, 12, 0, 18, 0), "date 2026-12-00"),
        (once(2026, 12, 32, 18, 0), "date 2026-12-32"),
        (once(2026, 2, 29, 18, 0), "date 2026-02-29"),
        (once(2026, 12, 1, 255, 0), "time 255:00"),
        (once(2026, 12, 1, 0, 60), "time 00:60"),
        (once(1899, 12, 31, 18, 0), "date 1899-12-31"),
        (once(10000, 1, 1, 18, 0), "date 10000-01-01"),
        (once(i16::MAX, 1, 1, 18, 0), "date 32767-01-01"),
        (once(i16::MIN, 1, 1, 18, 0), "date -32768-01-01"),
        (once(-1, 1, 1, 18, 0), "date -001-01-01"),
    ];
    assert_eq!(
        error(once(1899, 12, 31, 18, 0).check()),
        "the meeting's date 1899-12-31 is not a date from 1900-01-01 to 9999-12-31"
    );
    assert_eq!(
        error(weekly(2, 24, 0).check()),
        "the meeting's time 24:00 is not a time of day: hours go up to 23 and minutes up to 59"
    );
    let tz = zone("Europe/London");
    for (schedule, message) in bad {
        let refused = error(schedule.check());
        assert!(refused.starts_with("the meeting's "), "{refused}");
        assert!(refused.contains(message), "{schedule:?}: {refused}");
        assert_eq!(next_occurrence(&schedule, &tz, Timestamp::UNIX_EPOCH), None);
    }
}

#[test]
fn a_schedule_survives_the_wire_and_junk_from_it_is_caught() {
    for schedule in [
        weekly("sun", "00:00").unwrap(),
        once("2026-12-01", "18:00").unwrap(),
    ] {
        let bytes = postcard::to_allocvec(&schedule).unwrap();
        assert_eq!(postcard::from_bytes::<Schedule>(&bytes).unwrap(), schedule);
    }
    let junk: Schedule = postcard::from_bytes(&[0, 42, 42, 42]).unwrap();
    assert!(junk.check().is_err());
    assert!(postcard::from_bytes::<Schedule>(&[7, 1, 1, 1]).is_err());
}

#[test]
fn days_of_the_week_are_read_by_name() {
    let days = "monday tuesday wednesday thursday friday saturday sunday";
    for (name, number) in days.split_whitespace().zip(1..) {
        assert_eq!(parse_weekday(name).unwrap(), number);
        assert_eq!(parse_weekday(&name.to_uppercase()).unwrap(), number);
        assert_eq!(parse_weekday(&name[..3]).unwrap(), number);
        assert!(parse_weekday(&format!(" {} ", &name[..1].to_uppercase())).is_err());
    }
    assert_eq!(parse_weekday("Mon").unwrap(), 1);
    assert_eq!(parse_weekday(" Sun\n").unwrap(), 7);
    assert_eq!(
        error(parse_weekday("funday")),
        "'funday' is not a day of the week: use its name, e.g. tuesday or tue"
    );
    for text in ["", "tu", "tuesdays", "mo", "1", "monday,", "mön"] {
        assert!(
            error(parse_weekday(text)).contains("is not a day of the week"),
            "{text:?}"
        );
    }
}

#[test]
fn times_are_read_on_a_24_hour_clock() {
    assert_eq!(parse_time("19:30").unwrap(), (19, 30));
    assert_eq!(parse_time("7:05").unwrap(), (7, 5));
    assert_eq!(parse_time("07:05").unwrap(), (7, 5));
    assert_eq!(parse_time(" 00:00 ").unwrap(), (0, 0));
    assert_eq!(parse_time("23:59").unwrap(), (23, 59));
    assert_eq!(
        error(parse_time("7pm")),
        "'7pm' is not a time on a 24-hour clock: use HH:MM, e.g. 19:30"
    );
    assert_eq!(
        error(parse_time("24:00")),
        "'24:00' is not a time of day: hours go from 0 to 23 and minutes from 0 to 59; \
         use HH:MM, e.g. 19:30"
    );
    assert!(error(parse_time("19:60")).starts_with("'19:60' is not a time of day"));
    assert!(error(parse_time("99:99")).starts_with("'99:99' is not a time of day"));
    let shapes =
        ":|:30|19:|1930|19.30|7:5|007:05|19:030|19:30:00|+7:05|-1:00|7:05pm|7 :05|١٩:٣٠|19:30 CET";
    for text in shapes.split('|').chain([""]) {
        let message = error(parse_time(text));
        assert!(
            message.ends_with("use HH:MM, e.g. 19:30"),
            "{text:?}: {message}"
        );
    }
}

#[test]
fn helpers_pass_on_plain_errors_from_the_text() {
    assert!(error(weekly("funday", "19:30")).contains("is not a day of the week"));
    assert!(error(weekly("tue", "7pm")).contains("use HH:MM"));
    assert_eq!(
        error(once("2026-13-01", "18:00")),
        "'2026-13-01' is not a date: use YYYY-MM-DD, e.g. 2026-03-01"
    );
    assert!(error(once("2026-12-01", "25:00")).contains("is not a time of day"));
    assert_eq!(
        once("2026-12-01", "18:00").unwrap(),
        Schedule::Once {
            year: 2026,
            month: 12,
            day: 1,
            hour: 18,
            minute: 0
        }
    );
}

const ZONES: &str = "UTC America/New_York Europe/London Australia/Sydney Pacific/Auckland \
                     America/Santiago Pacific/Apia Pacific/Chatham";

fn any_zone() -> impl Strategy<Value = TimeZone> {
    prop::sample::select(ZONES.split_whitespace().collect::<Vec<_>>()).prop_map(zone)
}

fn any_instant() -> impl Strategy<Value = Timestamp> {
    (Timestamp::MIN.as_second()..=Timestamp::MAX.as_second())
        .prop_map(|s| Timestamp::from_second(s).unwrap())
}

fn any_schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(weekday, hour, minute)| {
            Schedule::Weekly {
                weekday,
                hour,
                minute,
            }
        }),
        (
            any::<i16>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>()
        )
            .prop_map(|(year, month, day, hour, minute)| Schedule::Once {
                year,
                month,
                day,
                hour,
                minute
            }),
    ]
}

proptest! {
    #[test]
    fn nothing_panics_on_values_from_the_network(
        schedule in any_schedule(),
        after in any_instant(),
        tz in any_zone(),
    ) {
        let _ = schedule.describe();
        let start = next_occurrence(&schedule, &tz, after);
        if let Some(start) = start {
            prop_assert!(schedule.check().is_ok());
            prop_assert!(start > after);
        }
        let _ = local_text(after, &tz);
    }

    #[test]
    fn a_valid_weekly_meeting_is_always_within_a_week(
        weekday in 1u8..=7,
        hour in 0u8..=23,
        minute in 0u8..=59,
        seconds in 0i64..=(200 * 365 * 86_400),
        tz in any_zone(),
    ) {
        let after = instant("1950-01-01T00:00:00Z") + SignedDuration::from_secs(seconds);
        let schedule = Schedule::Weekly { weekday, hour, minute };
        let start = next_occurrence(&schedule, &tz, after).unwrap();
        prop_assert!(start > after);
        // A week, plus the longest change of offset (Apia skipped a whole day in 2011).
        prop_assert!(start.duration_since(after) <= SignedDuration::from_hours(8 * 24 + 1));
    }

    #[test]
    fn reading_any_text_never_panics(text in ".{0,20}") {
        let _ = parse_weekday(&text);
        let _ = parse_time(&text);
    }
}

#[test]
fn the_ends_of_time_give_none_or_text_never_a_panic() {
    let weekly = weekly("sun", "23:59").unwrap();
    for name in ZONES.split_whitespace() {
        let tz = zone(name);
        assert_eq!(next_occurrence(&weekly, &tz, Timestamp::MAX), None);
        assert!(next_occurrence(&weekly, &tz, Timestamp::MIN).is_some());
        assert!(!local_text(Timestamp::MAX, &tz).is_empty());
        assert!(!local_text(Timestamp::MIN, &tz).is_empty());
    }
    let last = once("9999-12-31", "23:59").unwrap();
    assert_eq!(
        next_occurrence(&last, &zone("Pacific/Auckland"), Timestamp::MIN),
        None
    );
}
