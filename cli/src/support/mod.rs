//! What makes a circle a support circle, on the command line: shares with replies, reactions
//! and expiry; check-ins and goals; clocks; accountability partners; reaching out; meetings,
//! resources and guidelines; and the feed that shows all of it.
//!
//! Every command here but an offline `share` goes through the running node's API. The node
//! checks everything again and words its refusals; what is checked here first (dates, zones,
//! scales, id prefixes) is only so that a mistake is explained before anything is asked of
//! the node or the passphrase.

mod checkin;
mod circle;
mod clock;
mod feed;
mod partner;
mod reach;
mod share;

use std::{
    io::{BufRead, IsTerminal, Read, Write},
    sync::OnceLock,
};

use anyhow::{Context, Result, anyhow, bail};
use circle_node::contract::Written;
use jiff::{Timestamp, tz::TimeZone};
use serde::Serialize;

use crate::{Ctx, clean, client::Client, client::segment};

pub use checkin::{checkin, checkins, goal_add, goal_done, goals};
pub use circle::{create, info, join, meeting_add, meetings, resource_add, resources};
pub use clock::{clock_list, clock_reset, clock_share, clock_start};
pub use feed::feed;
pub use partner::{dm, partner, partners};
pub use reach::{crisis_lines, reach_out, reach_outs};
pub use share::{react, share, withdraw};

/// Shortest start of a message id the node accepts in place of the whole id.
const MIN_ID_PREFIX: usize = 6;

/// How many characters of a message id the feed shows (after `#`).
const SHORT_ID: usize = 8;

/// The short form of a message id that feeds and lists show: its first 8 characters.
fn short(id: &str) -> &str {
    id.get(..SHORT_ID).unwrap_or(id)
}

/// A message id as typed (whole, or a start of it; a leading `#` is fine), checked to be long
/// enough to tell messages apart, as a path segment.
fn message_ref(typed: &str) -> Result<String> {
    let id = typed.trim().trim_start_matches('#');
    if id.is_empty() {
        bail!("which message? Give its id, or its first {MIN_ID_PREFIX} or more characters");
    }
    if id.chars().count() < MIN_ID_PREFIX {
        bail!(
            "'#{}' is too short to tell messages apart: give at least {MIN_ID_PREFIX} characters \
             of its id (the feed shows 8 after #)",
            clean(id)
        );
    }
    Ok(segment(id))
}

/// The zone people read times in: the system's (`TZ` when set), UTC when it cannot be told.
fn local_zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| TimeZone::try_system().unwrap_or(TimeZone::UTC))
}

/// An RFC 3339 time (the node writes them in UTC) in the person's own zone, as `format`
/// (jiff's strftime); the text as given if it is not a time.
fn local_time(at: &str, format: &str) -> String {
    match at.parse::<Timestamp>() {
        Ok(t) => jiff::fmt::strtime::format(format, &t.to_zoned(local_zone().clone()))
            .unwrap_or_else(|_| at.to_string()),
        Err(_) => at.to_string(),
    }
}

/// "2026-11-22 10:00" in the person's own zone, from an RFC 3339 time, for lists whose times
/// are all the reader's (the feed, check-ins).
fn when(at: &str) -> String {
    local_time(at, "%Y-%m-%d %H:%M")
}

/// "2026-11-22 10:00 EST": [`when`] with its zone, for a time that stands alone in a sentence
/// and could be taken for someone else's (a partner's last check-in, a reach-out).
fn when_zoned(at: &str) -> String {
    local_time(at, "%Y-%m-%d %H:%M %Z")
}

/// "22:14" in the person's own zone, or "Tue 22:14" for a time that is not today.
pub fn time_of_day(at: &str) -> String {
    let today = jiff::Zoned::now()
        .with_time_zone(local_zone().clone())
        .date();
    match at.parse::<Timestamp>() {
        Ok(t) if t.to_zoned(local_zone().clone()).date() == today => local_time(at, "%H:%M"),
        Ok(_) => local_time(at, "%a %-d %b %H:%M"),
        Err(_) => at.to_string(),
    }
}

/// "2026-11-22" from an RFC 3339 time (the day in the person's own zone) or a date.
fn day(at: &str) -> String {
    match at.parse::<Timestamp>() {
        Ok(_) => local_time(at, "%Y-%m-%d"),
        Err(_) => at.get(..10).unwrap_or(at).to_string(),
    }
}

/// A text of someone else's making, safe for the terminal (empty when absent).
fn field(text: Option<&str>) -> String {
    clean(text.unwrap_or_default())
}

/// Tells the person what was written: `line` on stdout, or `{"id", "circle"}` with --json.
fn report(ctx: &Ctx, written: &Written, line: &str) {
    if ctx.json {
        let shown = Written {
            id: written.id.clone(),
            circle: written.circle.clone(),
            ..Written::default()
        };
        crate::out::json_line(&shown);
    } else {
        println!("{line}");
    }
}

/// Prints each entry of a list: as one JSON object per line with --json, else with `show`;
/// `empty` goes to stderr when there is nothing to show.
fn list<T: Serialize>(ctx: &Ctx, items: &[T], empty: &str, mut show: impl FnMut(&T)) {
    if ctx.json {
        for item in items {
            crate::out::json_line(item);
        }
        return;
    }
    if items.is_empty() {
        eprintln!("{empty}");
    }
    for item in items {
        show(item);
    }
}

/// The circle's name as the node knows it (the person may have typed its id), or what they
/// typed.
async fn circle_name(client: &Client, circle: &str) -> String {
    let typed = circle.trim();
    let circles = client.circles().await.unwrap_or_default();
    let name = circles
        .iter()
        .find(|c| c.id == typed || c.name == typed)
        .map_or(typed, |c| c.name.as_str());
    clean(name)
}

/// The text as given, or standard input for `-` (without the line break `echo` adds).
fn text_or_stdin(text: &str) -> Result<String> {
    if text != "-" {
        return Ok(text.to_string());
    }
    let mut buf = String::new();
    std::io::stdin()
        .read_to_string(&mut buf)
        .context("could not read the text from standard input")?;
    Ok(buf.trim_end().to_string())
}

/// Asks `question` on the terminal and says whether the answer was yes. Without a terminal to
/// ask on, refuses with `no_terminal` (which should say to add --yes).
pub(crate) fn confirm(question: &str, no_terminal: &str) -> Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(anyhow!("{no_terminal}"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("could not read your answer")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Checks a time zone name before it goes to the node.
fn check_zone(zone: &str) -> Result<()> {
    circle_node::support::clock::parse_zone(zone)?;
    Ok(())
}

/// Checks a YYYY-MM-DD date before it goes to the node.
fn check_date(date: &str) -> Result<()> {
    circle_node::support::clock::parse_date(date)?;
    Ok(())
}
