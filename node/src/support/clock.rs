//! Recovery clocks and their milestones.
//!
//! A clock counts whole days since a civil date (the day the person started), in the person's
//! own time zone: the count goes up at their local midnight, whatever the offset or daylight
//! saving time does that day. Milestones follow NA key tags: 1, 7, 30, 60 and 90 days, 6 and
//! 9 months, 1 year, 18 months, then every year up to 100 years. Months and years are calendar
//! months counted from the start date; a day that does not exist in the target month is
//! clamped to its last day (since 2024-08-31, 6 months is 2025-02-28).
//!
//! Everything here but [`system_zone_name`] is pure: the caller passes "now" in, so the same
//! code runs in tests, in the node and in the CLI.

use jiff::Span;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The earliest year a clock may start in. Older dates are almost always typing mistakes.
pub const FIRST_YEAR: i16 = 1900;

/// The last yearly milestone: 100 years.
pub const LAST_MILESTONE_YEARS: i16 = 100;

/// The longest time zone name we look up (the longest IANA name is about 32 bytes).
const MAX_ZONE_NAME: usize = 64;

/// Reads a start date written as `YYYY-MM-DD`, from 1900-01-01 to 9999-12-31.
///
/// Surrounding spaces are ignored. Anything else (other separators, times, week dates) is
/// refused with a message that shows the expected form.
pub fn parse_date(text: &str) -> Result<Date> {
    let text = text.trim();
    let not_a_date = || {
        Error::Invalid(format!(
            "{} is not a date: use YYYY-MM-DD, e.g. 2026-03-01",
            shown(text)
        ))
    };
    let (year, month, day) = split_ymd(text).ok_or_else(not_a_date)?;
    if year.len() > 4 {
        return Err(Error::Invalid(format!(
            "{} is too far ahead: use a date up to 9999-12-31",
            shown(text)
        )));
    }
    if year.len() < 4 {
        return Err(not_a_date());
    }
    // Four digits fit an i16 and two an i8, so these parses cannot fail.
    let year: i16 = year.parse().map_err(|_| not_a_date())?;
    let month: i8 = month.parse().map_err(|_| not_a_date())?;
    let day: i8 = day.parse().map_err(|_| not_a_date())?;
    if year < FIRST_YEAR {
        return Err(Error::Invalid(format!(
            "{} is too long ago: use a date from {FIRST_YEAR}-01-01 on",
            shown(text)
        )));
    }
    if !(1..=12).contains(&month) || day < 1 {
        return Err(not_a_date());
    }
    let first = Date::new(year, month, 1).map_err(|_| not_a_date())?;
    Date::new(year, month, day).map_err(|_| {
        Error::Invalid(format!(
            "{} is not a date: that month has {} days",
            shown(text),
            first.days_in_month()
        ))
    })
}

/// Splits `Y-MM-DD` into its three digit runs, checking only the shape (month and day have
/// exactly two digits, the year at least one).
fn split_ymd(text: &str) -> Option<(&str, &str, &str)> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let shaped = parts.next().is_none()
        && digits(year)
        && digits(month)
        && digits(day)
        && month.len() == 2
        && day.len() == 2;
    shaped.then_some((year, month, day))
}

/// Looks up an IANA time zone name such as `Europe/Berlin` (case does not matter).
///
/// The tz database is bundled into the binary, so this works the same on every machine.
/// `Etc/Unknown`, POSIX TZ strings and bare offsets are refused: a clock needs a real place
/// so that it follows that place's daylight saving time.
pub fn parse_zone(name: &str) -> Result<TimeZone> {
    let name = name.trim();
    let unknown = || {
        Error::Invalid(format!(
            "{} is not a time zone we know: use a name such as Europe/London or America/New_York",
            shown(name)
        ))
    };
    if name.is_empty() || name.len() > MAX_ZONE_NAME {
        return Err(unknown());
    }
    let tz = TimeZone::get(name).map_err(|_| unknown())?;
    if tz.is_unknown() {
        return Err(unknown());
    }
    Ok(tz)
}

/// The IANA name of this machine's time zone, or `UTC` when it cannot be told.
///
/// Reads the system's settings (`TZ`, `/etc/localtime`) through jiff, which caches them; use
/// it to suggest a default zone, never inside clock arithmetic.
pub fn system_zone_name() -> String {
    TimeZone::try_system()
        .ok()
        .filter(|tz| !tz.is_unknown())
        .and_then(|tz| tz.iana_name().map(str::to_string))
        .unwrap_or_else(|| "UTC".to_string())
}

/// The calendar date at `now` in the time zone `tz`.
pub fn today_in(tz: &TimeZone, now: Timestamp) -> Date {
    tz.to_datetime(now).date()
}

/// Whole days from `since` to `today`: 0 on the start day, 1 the next day, negative when
/// `since` is still ahead.
///
/// Defined for every pair of dates jiff can represent; never panics.
pub fn days_since(since: Date, today: Date) -> i64 {
    // Civil days are always 24 hours long, so this is exact.
    since.duration_until(today).as_secs() / 86_400
}

/// A milestone on a recovery clock.
///
/// In JSON the date is written as `YYYY-MM-DD`:
/// `{"label":"7 days","date":"2026-03-08","days":7}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    /// What people call it: `1 day`, `7 days`, `6 months`, `1 year`, `18 months`, `2 years`.
    pub label: String,
    /// The date it is reached, in the person's own calendar.
    #[serde(with = "date_text")]
    pub date: Date,
    /// Days from the start date to `date` (`days_since(since, date)`).
    pub days: i64,
}

/// How far a milestone is from the start date.
#[derive(Clone, Copy, Debug)]
enum Step {
    Days(i16),
    Months(i16),
    Years(i16),
}

/// The milestones before the yearly ones, in date order.
const FIRST_STEPS: [Step; 9] = [
    Step::Days(1),
    Step::Days(7),
    Step::Days(30),
    Step::Days(60),
    Step::Days(90),
    Step::Months(6),
    Step::Months(9),
    Step::Years(1),
    Step::Months(18),
];

impl Step {
    fn label(self) -> String {
        match self {
            Step::Days(1) => "1 day".to_string(),
            Step::Days(n) => format!("{n} days"),
            Step::Months(n) => format!("{n} months"),
            Step::Years(1) => "1 year".to_string(),
            Step::Years(n) => format!("{n} years"),
        }
    }

    /// The milestone this step lands on from `since`, or `None` past the end of the calendar.
    fn from(self, since: Date) -> Option<Milestone> {
        let span = match self {
            Step::Days(n) => Span::new().try_days(n),
            Step::Months(n) => Span::new().try_months(n),
            Step::Years(n) => Span::new().try_years(n),
        };
        let date = since.checked_add(span.ok()?).ok()?;
        Some(Milestone {
            label: self.label(),
            date,
            days: days_since(since, date),
        })
    }
}

/// Every milestone of a clock started on `since`, in date order, ending at 100 years.
///
/// Milestones that would fall after 9999-12-31 are left out.
pub fn milestones(since: Date) -> impl Iterator<Item = Milestone> {
    FIRST_STEPS
        .into_iter()
        .chain((2..=LAST_MILESTONE_YEARS).map(Step::Years))
        .map_while(move |step| step.from(since))
}

/// The latest milestone reached on or before `today`, if any.
pub fn reached(since: Date, today: Date) -> Option<Milestone> {
    milestones(since).take_while(|m| m.date <= today).last()
}

/// The first milestone after `today`, or `None` once all of them are behind.
pub fn next(since: Date, today: Date) -> Option<Milestone> {
    milestones(since).find(|m| m.date > today)
}

/// User text as it appears inside an error message: quoted, at most 40 characters, with
/// control characters replaced so that a message cannot rewrite the terminal.
pub(crate) fn shown(text: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::from("'");
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '?' } else { c });
    }
    out.push('\'');
    out
}

/// Dates as `YYYY-MM-DD` text in serde formats.
mod date_text {
    use jiff::civil::Date;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(date)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests;
