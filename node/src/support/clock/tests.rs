use super::*;
use proptest::prelude::*;

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

fn instant(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    parse_zone(name).unwrap()
}

/// The day count of a clock started on `since`, at `at` (UTC), for a person living in `name`.
fn day(since: &str, name: &str, at: &str) -> i64 {
    days_since(date(since), today_in(&zone(name), instant(at)))
}

/// Asserts that the count goes from `before` to `before + 1` exactly at `midnight`.
fn ticks_at(since: &str, name: &str, midnight: &str, before: i64) {
    let midnight = instant(midnight);
    let tz = zone(name);
    let just_before = midnight - jiff::SignedDuration::from_secs(1);
    let count = |at| days_since(date(since), today_in(&tz, at));
    assert_eq!(
        count(just_before),
        before,
        "{name}, a second before {midnight}"
    );
    assert_eq!(count(midnight), before + 1, "{name}, at {midnight}");
}

fn error(result: Result<impl std::fmt::Debug>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn the_same_instant_is_a_different_day_in_new_york_berlin_and_auckland() {
    let at = "2026-03-08T04:30:00Z";
    // Still the evening of March 7 in New York, already March 8 in Europe and New Zealand.
    assert_eq!(day("2026-03-01", "America/New_York", at), 6);
    assert_eq!(day("2026-03-01", "Europe/Berlin", at), 7);
    assert_eq!(day("2026-03-01", "Pacific/Auckland", at), 7);
}

#[test]
fn seven_days_is_reached_in_berlin_but_not_yet_in_new_york() {
    let since = date("2026-03-01");
    let at = instant("2026-03-08T04:30:00Z");
    let berlin = today_in(&zone("Europe/Berlin"), at);
    let new_york = today_in(&zone("America/New_York"), at);
    assert_eq!(reached(since, berlin).unwrap().label, "7 days");
    assert_eq!(reached(since, new_york).unwrap().label, "1 day");
    assert_eq!(next(since, new_york).unwrap().label, "7 days");
    assert_eq!(next(since, berlin).unwrap().label, "30 days");
}

#[test]
fn new_york_counts_at_local_midnight_around_spring_forward() {
    // Clocks jump from 02:00 EST to 03:00 EDT on 2026-03-08.
    ticks_at("2026-03-01", "America/New_York", "2026-03-08T05:00:00Z", 6);
    ticks_at("2026-03-01", "America/New_York", "2026-03-09T04:00:00Z", 7);
    // Inside the skipped hour and right after it, it is still day 7.
    assert_eq!(
        day("2026-03-01", "America/New_York", "2026-03-08T06:59:59Z"),
        7
    );
    assert_eq!(
        day("2026-03-01", "America/New_York", "2026-03-08T07:00:00Z"),
        7
    );
}

#[test]
fn new_york_counts_at_local_midnight_around_fall_back() {
    // Clocks go back from 02:00 EDT to 01:00 EST on 2026-11-01.
    ticks_at("2026-10-01", "America/New_York", "2026-11-01T04:00:00Z", 30);
    ticks_at("2026-10-01", "America/New_York", "2026-11-02T05:00:00Z", 31);
    // 01:30 happens twice; both are day 31.
    assert_eq!(
        day("2026-10-01", "America/New_York", "2026-11-01T05:30:00Z"),
        31
    );
    assert_eq!(
        day("2026-10-01", "America/New_York", "2026-11-01T06:30:00Z"),
        31
    );
}

#[test]
fn london_counts_at_local_midnight_in_late_march_and_late_october() {
    // BST starts 2026-03-29 01:00 GMT and ends 2026-10-25 01:00 GMT.
    ticks_at("2026-03-01", "Europe/London", "2026-03-29T00:00:00Z", 27);
    ticks_at("2026-03-01", "Europe/London", "2026-03-29T23:00:00Z", 28);
    ticks_at("2026-10-01", "Europe/London", "2026-10-24T23:00:00Z", 23);
    ticks_at("2026-10-01", "Europe/London", "2026-10-26T00:00:00Z", 24);
}

#[test]
fn sydney_counts_at_local_midnight_in_april_and_october() {
    // Southern hemisphere: daylight time ends 2026-04-05 and starts 2026-10-04.
    ticks_at("2026-04-01", "Australia/Sydney", "2026-04-04T13:00:00Z", 3);
    ticks_at("2026-04-01", "Australia/Sydney", "2026-04-05T14:00:00Z", 4);
    ticks_at("2026-10-01", "Australia/Sydney", "2026-10-03T14:00:00Z", 2);
    ticks_at("2026-10-01", "Australia/Sydney", "2026-10-04T13:00:00Z", 3);
}

#[test]
fn a_zone_whose_midnight_does_not_exist_still_counts_every_day() {
    // Santiago jumps from 24:00 on 2026-09-05 straight to 01:00 on 2026-09-06.
    let santiago = zone("America/Santiago");
    let jump = instant("2026-09-06T04:00:00Z");
    assert_eq!(
        santiago.to_datetime(jump).to_string(),
        "2026-09-06T01:00:00"
    );
    ticks_at("2026-09-01", "America/Santiago", "2026-09-06T04:00:00Z", 4);
    // Havana jumps from 00:00 to 01:00 on 2026-03-08.
    let havana = zone("America/Havana");
    let jump = instant("2026-03-08T05:00:00Z");
    assert_eq!(havana.to_datetime(jump).to_string(), "2026-03-08T01:00:00");
    ticks_at("2026-03-01", "America/Havana", "2026-03-08T05:00:00Z", 6);
    // Santiago's autumn change repeats the last hour of 2026-04-04; the count never goes back.
    ticks_at("2026-04-01", "America/Santiago", "2026-04-05T04:00:00Z", 3);
    assert_eq!(
        day("2026-04-01", "America/Santiago", "2026-04-05T03:30:00Z"),
        3
    );
}

#[test]
fn through_a_whole_year_the_count_steps_by_one_at_each_local_midnight() {
    let zones = "America/New_York Europe/London Europe/Berlin Australia/Sydney Pacific/Auckland \
                 America/Santiago America/Havana Asia/Kolkata";
    let since = date("2026-01-01");
    let step = jiff::SignedDuration::from_mins(5);
    for name in zones.split_whitespace() {
        let tz = zone(name);
        let mut at = instant("2026-01-01T12:00:00Z");
        let first = days_since(since, today_in(&tz, at));
        let mut last = first;
        while at < instant("2027-01-01T12:00:00Z") {
            at += step;
            let now = days_since(since, today_in(&tz, at));
            assert!(
                now == last || now == last + 1,
                "{name} at {at}: {last} then {now}"
            );
            if now == last + 1 {
                // The first moment of a new local day is within the first hour after midnight
                // (later only when midnight itself was skipped).
                let local = tz.to_datetime(at);
                assert!(
                    local.hour() <= 1,
                    "{name} turned to day {now} at local {local}"
                );
            }
            last = now;
        }
        assert_eq!(last - first, 365, "{name}");
    }
}

#[test]
fn milestones_come_in_key_tag_order() {
    let since = date("2026-03-01");
    let all: Vec<_> = milestones(since).collect();
    let first = [
        ("1 day", "2026-03-02", 1),
        ("7 days", "2026-03-08", 7),
        ("30 days", "2026-03-31", 30),
        ("60 days", "2026-04-30", 60),
        ("90 days", "2026-05-30", 90),
        ("6 months", "2026-09-01", 184),
        ("9 months", "2026-12-01", 275),
        ("1 year", "2027-03-01", 365),
        ("18 months", "2027-09-01", 549),
        ("2 years", "2028-03-01", 731),
        ("3 years", "2029-03-01", 1096),
    ];
    for (milestone, (label, on, days)) in all.iter().zip(first) {
        let got = (milestone.label.as_str(), milestone.date, milestone.days);
        assert_eq!(got, (label, date(on), days));
    }
    assert_eq!(all.len(), 9 + 99);
    assert_eq!(all.last().unwrap().label, "100 years");
    assert_eq!(all.last().unwrap().date, date("2126-03-01"));
    assert!(all.windows(2).all(|w| w[0].date < w[1].date));
}

#[test]
fn months_clamp_to_the_end_of_a_shorter_month() {
    let since = date("2024-08-31");
    let at = |label: &str| milestones(since).find(|m| m.label == label).unwrap().date;
    assert_eq!(at("6 months"), date("2025-02-28"));
    assert_eq!(at("9 months"), date("2025-05-31"));
    assert_eq!(at("1 year"), date("2025-08-31"));
    assert_eq!(at("18 months"), date("2026-02-28"));
}

#[test]
fn a_clock_started_on_a_leap_day_has_its_anniversary_on_february_28() {
    let since = date("2024-02-29");
    let at = |label: &str| milestones(since).find(|m| m.label == label).unwrap().date;
    assert_eq!(at("1 year"), date("2025-02-28"));
    assert_eq!(at("2 years"), date("2026-02-28"));
    assert_eq!(at("4 years"), date("2028-02-29"));
    assert_eq!(
        reached(since, date("2025-02-27")).unwrap().label,
        "9 months"
    );
    assert_eq!(reached(since, date("2025-02-28")).unwrap().label, "1 year");
}

#[test]
fn reached_and_next_on_the_first_days_and_after_the_last_milestone() {
    let since = date("2026-03-01");
    assert_eq!(reached(since, date("2026-02-20")), None);
    assert_eq!(next(since, date("2026-02-20")).unwrap().label, "1 day");
    assert_eq!(reached(since, since), None);
    assert_eq!(next(since, since).unwrap().label, "1 day");
    assert_eq!(reached(since, date("2026-03-02")).unwrap().label, "1 day");
    assert_eq!(next(since, date("2026-03-02")).unwrap().label, "7 days");
    assert_eq!(
        reached(since, date("2126-03-01")).unwrap().label,
        "100 years"
    );
    assert_eq!(next(since, date("2126-03-01")), None);
}

#[test]
fn milestones_past_the_end_of_the_calendar_are_left_out() {
    assert_eq!(milestones(Date::MAX).count(), 0);
    let labels: Vec<_> = milestones(date("9999-06-01")).map(|m| m.label).collect();
    assert_eq!(
        labels,
        [
            "1 day", "7 days", "30 days", "60 days", "90 days", "6 months"
        ]
    );
    assert_eq!(next(Date::MAX, Date::MAX), None);
    assert_eq!(milestones(Date::MIN).count(), 108);
}

#[test]
fn a_future_start_counts_down() {
    assert_eq!(days_since(date("2026-03-10"), date("2026-03-01")), -9);
    assert_eq!(days_since(date("2026-03-01"), date("2026-03-01")), 0);
    assert_eq!(days_since(Date::MIN, Date::MAX), 7_304_483);
    assert_eq!(days_since(Date::MAX, Date::MIN), -7_304_483);
}

#[test]
fn a_milestone_is_json_with_a_plain_date() {
    let seven = milestones(date("2026-03-01")).nth(1).unwrap();
    let json = serde_json::to_string(&seven).unwrap();
    assert_eq!(json, r#"{"label":"7 days","date":"2026-03-08","days":7}"#);
    assert_eq!(serde_json::from_str::<Milestone>(&json).unwrap(), seven);
    assert!(serde_json::from_str::<Milestone>(r#"{"label":"x","date":"soon","days":1}"#).is_err());
}

#[test]
fn dates_are_read_as_year_month_day() {
    assert_eq!(parse_date("2026-03-01").unwrap(), date("2026-03-01"));
    assert_eq!(parse_date(" 2024-02-29\n").unwrap(), date("2024-02-29"));
    assert_eq!(parse_date("1900-01-01").unwrap(), date("1900-01-01"));
    assert_eq!(parse_date("9999-12-31").unwrap(), Date::MAX);
}

#[test]
fn a_date_that_cannot_be_read_says_how_to_write_it() {
    assert_eq!(
        error(parse_date("2026-13-01")),
        "'2026-13-01' is not a date: use YYYY-MM-DD, e.g. 2026-03-01"
    );
    let shapes = "today 26-03-01 2026/03/01 2026-3-1 2026-03-01T00:00 +2026-03-01 -2026-03-01 \
                  2026-00-10 2026-03-00 2026--03-01 २०२६-03-01 2026-03-01-";
    for text in shapes.split_whitespace().chain([""]) {
        let message = error(parse_date(text));
        assert!(
            message.ends_with("use YYYY-MM-DD, e.g. 2026-03-01"),
            "{text:?}: {message}"
        );
    }
    assert_eq!(
        error(parse_date("2025-02-29")),
        "'2025-02-29' is not a date: that month has 28 days"
    );
    assert_eq!(
        error(parse_date("2026-04-31")),
        "'2026-04-31' is not a date: that month has 30 days"
    );
    assert_eq!(
        error(parse_date("1899-12-31")),
        "'1899-12-31' is too long ago: use a date from 1900-01-01 on"
    );
    assert_eq!(
        error(parse_date("10000-01-01")),
        "'10000-01-01' is too far ahead: use a date up to 9999-12-31"
    );
    let huge = format!("{}-01-01", "9".repeat(50));
    assert!(error(parse_date(&huge)).contains("is too far ahead"));
}

#[test]
fn time_zones_are_iana_names_in_any_case() {
    assert_eq!(zone("Europe/Berlin").iana_name(), Some("Europe/Berlin"));
    assert_eq!(
        zone("america/new_york").iana_name(),
        Some("America/New_York")
    );
    assert_eq!(zone(" UTC ").iana_name(), Some("UTC"));
    for name in [
        "",
        "Mars/Olympus_Mons",
        "Etc/Unknown",
        "CET-1CEST",
        "+02:00",
        "Europe/",
    ] {
        let message = error(parse_zone(name));
        assert!(
            message.ends_with("use a name such as Europe/London or America/New_York"),
            "{message}"
        );
    }
    assert_eq!(
        error(parse_zone("Berlin")),
        "'Berlin' is not a time zone we know: use a name such as Europe/London or America/New_York"
    );
    assert!(parse_zone(&"Europe/".repeat(1000)).is_err());
}

#[test]
fn the_system_zone_is_a_name_we_can_look_up() {
    let name = system_zone_name();
    assert!(parse_zone(&name).is_ok(), "{name}");
}

#[test]
fn user_text_in_messages_is_short_and_harmless() {
    assert_eq!(shown("abc"), "'abc'");
    assert_eq!(shown("a\x1b[2Jb\n"), "'a?[2Jb?'");
    assert_eq!(shown(&"x".repeat(100)), format!("'{}…'", "x".repeat(40)));
}

/// Any date jiff can represent, as a day offset from `Date::MIN`.
fn any_date() -> impl Strategy<Value = Date> {
    (0i64..=7_304_483).prop_map(|n| Date::MIN.checked_add(Span::new().days(n)).unwrap())
}

/// A date a clock can start on: 1900-01-01 to 9999-12-31.
fn start_date() -> impl Strategy<Value = Date> {
    let first = days_since(Date::MIN, date("1900-01-01"));
    (first..=7_304_483).prop_map(|n| Date::MIN.checked_add(Span::new().days(n)).unwrap())
}

proptest! {
    #[test]
    fn days_since_never_panics_and_adds_up(since in any_date(), today in any_date()) {
        let days = days_since(since, today);
        prop_assert_eq!(days_since(today, since), -days);
        prop_assert_eq!(since.checked_add(Span::new().days(days)).unwrap(), today);
    }

    #[test]
    fn reached_and_next_bracket_today(since in start_date(), offset in -400i64..=40_000) {
        let Ok(today) = since.checked_add(Span::new().days(offset)) else { return Ok(()) };
        let before = reached(since, today);
        let after = next(since, today);
        if let Some(m) = &before {
            prop_assert!(m.date <= today);
            prop_assert_eq!(m.days, days_since(since, m.date));
        }
        if let Some(m) = &after {
            prop_assert!(today < m.date);
        }
        if let (Some(b), Some(a)) = (&before, &after) {
            let all: Vec<_> = milestones(since).collect();
            let i = all.iter().position(|m| m == b).unwrap();
            prop_assert_eq!(&all[i + 1], a);
        }
        prop_assert!(before.is_some() || after.is_some() || milestones(since).next().is_none());
        prop_assert_eq!(before.is_none(), today < since.tomorrow().unwrap_or(Date::MAX)
            || milestones(since).next().is_none());
    }

    #[test]
    fn reading_any_text_never_panics(text in ".{0,40}") {
        let _ = parse_date(&text);
        let _ = parse_zone(&text);
    }

    #[test]
    fn reading_date_shaped_text_never_panics(y in "[0-9]{1,8}", m in "[0-9]{2}", d in "[0-9]{2}") {
        if let Ok(parsed) = parse_date(&format!("{y}-{m}-{d}")) {
            prop_assert!(parsed.year() >= FIRST_YEAR);
        }
    }
}
