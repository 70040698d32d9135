//! People who run the real `circle` binary, each in a home of their own.
//!
//! A [`Person`] owns a temporary directory with `home/` (the node's home) and `logs/` (what
//! their `circle up` printed). Every command runs as a separate process under a timeout; a
//! running node is killed when its person is dropped, so nothing outlives a failed test, and
//! its logs are printed then to help read the failure. Set `CIRCLE_TEST_LOG` (a `CIRCLE_LOG`
//! filter such as `circle_node=debug`) for more detailed node logs.
//!
//! - `run`: one `circle` command, run to the end under a timeout, or killed when a story says.
//! - `person`: a [`Person`] with a home and maybe a running node, and followers of feeds.
//! - `netns`: network namespaces (root only) and hosts whose `circle` runs in them.
// Each test file uses its own share of these helpers.
#![allow(dead_code)]

#[cfg(target_os = "linux")]
pub mod netns;
mod person;
mod run;

use std::{
    collections::BTreeSet,
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

pub use person::Person;

/// The `circle` binary under test.
pub const CIRCLE: &str = env!("CARGO_BIN_EXE_circle");

/// The passphrase everyone uses unless a story says otherwise.
pub const PASSPHRASE: &str = "cli tests: seven quiet lanterns by the river";

/// Longest a one-shot command may take. A join waits for the inviter's answer (20 s at most).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a node may take to report that it runs, or to stop.
pub const UP_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a message may take to reach another member. Gossip is immediate; the slow path is
/// the node's periodic sync (30 s by default), plus a redial.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(90);

/// The circle of most stories.
pub const TUESDAY: &str = "Tuesday circle";

/// alice starts the Tuesday circle and lets the others in with one invite good for all of
/// them. Everyone's node must be up. Returns the circle id.
pub fn tuesday_circle(alice: &Person, others: &[&Person]) -> String {
    let circle = alice.create(TUESDAY);
    let uses = others.len().to_string();
    let invite = alice.invite(TUESDAY, &["--uses", &uses]);
    for friend in others {
        assert_eq!(
            friend.join(&invite),
            circle,
            "{} joins the circle alice created",
            friend.name
        );
    }
    circle
}

/// The names in a `members --json` list.
pub fn names(members: &[Value]) -> BTreeSet<String> {
    members.iter().map(|m| text(&m["name"])).collect()
}

/// `name (their fingerprint)`: how the CLI shows the member called `name` in `person`'s list
/// of `circle`'s members.
pub fn named(person: &Person, circle: &str, name: &str) -> String {
    let members = person.members(circle);
    let member = members
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in {}'s list: {members:#?}", person.name));
    format!("{name} ({})", text(&member["fingerprint"]))
}

/// Calls `probe` until it returns `Some`, or panics after `timeout` saying what we waited for.
pub fn eventually<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The shares in a feed, as (author name, text), in feed order.
pub fn shares(feed: &[Value]) -> Vec<(String, String)> {
    feed.iter()
        .filter(|item| item["kind"] == "share")
        .map(|item| (text(&item["author_name"]), text(&item["text"])))
        .collect()
}

/// The message id in what `share --json` printed (`{"id", "circle"}`), or what was printed
/// when it is not that (so a check that it is an id fails and shows it).
pub fn shared_id(stdout: &str) -> String {
    serde_json::from_str::<Value>(stdout.trim())
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| stdout.trim().to_string())
}

/// A JSON string as a `String` (empty if it is not a string).
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// The strings of a JSON array (none if it is not one).
pub fn texts(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().map(text).collect()
}

/// Whether `s` is an RFC 3339 date-time such as `2025-03-04T19:30:05.123Z`.
pub fn is_rfc3339(s: &str) -> bool {
    fn number(s: &str, range: std::ops::RangeInclusive<u32>) -> bool {
        s.bytes().all(|b| b.is_ascii_digit()) && s.parse().is_ok_and(|n: u32| range.contains(&n))
    }
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return false;
    }
    let fields_ok = number(&s[0..4], 1970..=9999)
        && number(&s[5..7], 1..=12)
        && number(&s[8..10], 1..=31)
        && number(&s[11..13], 0..=23)
        && number(&s[14..16], 0..=59)
        && number(&s[17..19], 0..=60);
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    let offset_ok = match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', _, _, b':', _, _] => {
            number(&rest[1..3], 0..=23) && number(&rest[4..6], 0..=59)
        }
        _ => false,
    };
    fields_ok && offset_ok
}
