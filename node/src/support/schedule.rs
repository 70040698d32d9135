//! When a circle meets.
//!
//! A meeting happens every week or once, at a wall-clock time in the meeting's own time zone
//! (a circle that meets in Leeds at 19:30 meets at 19:30 in Leeds in winter and in summer).
//! Each member sees the start in their own local time.
//!
//! [`Schedule`] travels inside sealed messages, so it holds plain integers only and is
//! checked with [`Schedule::check`] before use. When a wall-clock time does not exist on a
//! given day (clocks spring forward over it) the meeting starts that much later, at the same
//! moment as jiff's "compatible" rule gives; when it happens twice (clocks fall back) the
//! meeting starts at the first of the two.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::clock::{self, shown};
use crate::error::{Error, Result};

/// When a meeting starts, in the meeting's own time zone.
///
/// This is a wire type: values decoded from the network must pass [`Schedule::check`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    /// Every week on the same day at the same time.
    Weekly {
        /// 1 = Monday .. 7 = Sunday (ISO 8601).
        weekday: u8,
        /// 0 to 23.
        hour: u8,
        /// 0 to 59.
        minute: u8,
    },
    /// A single meeting on one date.
    Once {
        /// 1900 to 9999.
        year: i16,
        /// 1 to 12.
        month: u8,
        /// 1 to the last day of the month.
        day: u8,
        /// 0 to 23.
        hour: u8,
        /// 0 to 59.
        minute: u8,
    },
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl Schedule {
    /// Refuses values that do not name a real time: a weekday outside 1..=7, an hour past 23,
    /// a minute past 59, or a date that does not exist or lies outside 1900..=9999.
    pub fn check(&self) -> Result<()> {
        let refuse = |what: String| Err(Error::Invalid(format!("the meeting's {what}")));
        match *self {
            Schedule::Weekly { weekday, .. } if !(1..=7).contains(&weekday) => {
                return refuse(format!(
                    "weekday must be 1 (Monday) to 7 (Sunday), not {weekday}"
                ));
            }
            Schedule::Once { .. } if self.date().is_none() => {
                return refuse(format!(
                    "date {} is not a date from 1900-01-01 to 9999-12-31",
                    self.date_text()
                ));
            }
            _ => {}
        }
        let (hour, minute) = self.time();
        if hour > 23 || minute > 59 {
            return refuse(format!(
                "time {hour:02}:{minute:02} is not a time of day: hours go up to 23 and \
                 minutes up to 59"
            ));
        }
        Ok(())
    }

    /// Plain words for the schedule, e.g. `every Tuesday at 19:30` or
    /// `on 2026-12-01 at 18:00`. Shows unchecked values as they are, without panicking.
    pub fn describe(&self) -> String {
        self.to_string()
    }

    /// The date of a one-off meeting, if it is one and the date is valid.
    fn date(&self) -> Option<Date> {
        match *self {
            Schedule::Weekly { .. } => None,
            Schedule::Once {
                year, month, day, ..
            } => {
                if !(clock::FIRST_YEAR..=9999).contains(&year) {
                    return None;
                }
                let month = i8::try_from(month).ok()?;
                let day = i8::try_from(day).ok()?;
                Date::new(year, month, day).ok()
            }
        }
    }

    fn date_text(&self) -> String {
        match *self {
            Schedule::Weekly { .. } => String::new(),
            Schedule::Once {
                year, month, day, ..
            } => format!("{year:04}-{month:02}-{day:02}"),
        }
    }

    fn time(&self) -> (u8, u8) {
        match *self {
            Schedule::Weekly { hour, minute, .. } | Schedule::Once { hour, minute, .. } => {
                (hour, minute)
            }
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hour, minute) = self.time();
        match *self {
            Schedule::Weekly { weekday, .. } => {
                match usize::from(weekday)
                    .checked_sub(1)
                    .and_then(|i| WEEKDAYS.get(i))
                {
                    Some(name) => write!(f, "every {name}")?,
                    None => write!(f, "every week on day {weekday}")?,
                }
            }
            Schedule::Once { .. } => write!(f, "on {}", self.date_text())?,
        }
        write!(f, " at {hour:02}:{minute:02}")
    }
}

/// Reads a day of the week: `monday` or `mon` through `sunday` or `sun`, in any case.
/// Returns 1 for Monday through 7 for Sunday.
pub fn parse_weekday(text: &str) -> Result<u8> {
    let word = text.trim().to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .zip(1u8..)
        .find(|(name, _)| {
            let name = name.to_ascii_lowercase();
            word == name || (word.len() == 3 && name.starts_with(&word))
        })
        .map(|(_, number)| number)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{} is not a day of the week: use its name, e.g. tuesday or tue",
                shown(text.trim())
            ))
        })
}

/// Reads a time of day on a 24-hour clock, `HH:MM` or `H:MM`: `19:30`, `7:05`.
pub fn parse_time(text: &str) -> Result<(u8, u8)> {
    let text = text.trim();
    let not_a_time = || {
        Error::Invalid(format!(
            "{} is not a time on a 24-hour clock: use HH:MM, e.g. 19:30",
            shown(text)
        ))
    };
    let (hour, minute) = text.split_once(':').ok_or_else(not_a_time)?;
    let digits = |s: &str, max_len| {
        (1..=max_len).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(hour, 2) || !digits(minute, 2) || minute.len() != 2 {
        return Err(not_a_time());
    }
    let (hour, minute): (u8, u8) = (
        hour.parse().map_err(|_| not_a_time())?,
        minute.parse().map_err(|_| not_a_time())?,
    );
    if hour > 23 || minute > 59 {
        return Err(Error::Invalid(format!(
            "{} is not a time of day: hours go from 0 to 23 and minutes from 0 to 59; \
             use HH:MM, e.g. 19:30",
            shown(text)
        )));
    }
    Ok((hour, minute))
}

/// A weekly meeting from the text a person typed, e.g. `weekly("tue", "19:30")`.
pub fn weekly(day: &str, at: &str) -> Result<Schedule> {
    let weekday = parse_weekday(day)?;
    let (hour, minute) = parse_time(at)?;
    Ok(Schedule::Weekly {
        weekday,
        hour,
        minute,
    })
}

/// A one-off meeting from the text a person typed, e.g. `once("2026-12-01", "18:00")`.
pub fn once(date: &str, at: &str) -> Result<Schedule> {
    let date = clock::parse_date(date)?;
    let (hour, minute) = parse_time(at)?;
    Ok(Schedule::Once {
        year: date.year(),
        month: date.month().unsigned_abs(),
        day: date.day().unsigned_abs(),
        hour,
        minute,
    })
}

/// The first start of the meeting strictly after `after`, for a meeting held in `tz`.
///
/// `None` for a one-off meeting that has started already, for a schedule that fails
/// [`Schedule::check`], and at the far end of the calendar.
pub fn next_occurrence(schedule: &Schedule, tz: &TimeZone, after: Timestamp) -> Option<Timestamp> {
    schedule.check().ok()?;
    let (hour, minute) = schedule.time();
    let start = |date: Date| {
        let (hour, minute) = (i8::try_from(hour).ok()?, i8::try_from(minute).ok()?);
        let time = jiff::civil::Time::new(hour, minute, 0, 0).ok()?;
        tz.to_ambiguous_timestamp(DateTime::from_parts(date, time))
            .compatible()
            .ok()
    };
    match *schedule {
        Schedule::Once { .. } => start(schedule.date()?).filter(|&at| at > after),
        Schedule::Weekly { weekday, .. } => {
            let weekday = Weekday::from_monday_one_offset(i8::try_from(weekday).ok()?).ok()?;
            // Start a day early: around a change of offset near midnight, a meeting on the
            // previous local date can still lie ahead. Nine days always contain one more.
            let today = tz.to_datetime(after).date();
            let first = today.yesterday().unwrap_or(today);
            first
                .series(jiff::Span::new().days(1))
                .take(9)
                .filter(|date| date.weekday() == weekday)
                .filter_map(start)
                .find(|&at| at > after)
        }
    }
}

/// A start time as a member in `viewer` sees it, e.g. `Tue 24 Nov 19:30 CET`: weekday, day,
/// month, 24-hour time and the zone's abbreviation at that moment.
pub fn local_text(at: Timestamp, viewer: &TimeZone) -> String {
    let local = at.to_zoned(viewer.clone());
    // The format is fixed and valid for every Zoned; the fallback is only a safety net.
    jiff::fmt::strtime::format("%a %-d %b %H:%M %Z", &local).unwrap_or_else(|_| local.to_string())
}

#[cfg(test)]
mod tests;
