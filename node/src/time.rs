//! Wall-clock helpers. Protocol timestamps are unix milliseconds (messages) or seconds (invites).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

/// Seconds since the unix epoch.
pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// The first instant RFC 3339 cannot write (year 10000), in unix milliseconds. Timestamps from
/// the network at or after it are refused.
pub const MAX_TIMESTAMP_MS: u64 = 253_402_300_800_000;

/// RFC 3339 text (UTC, millisecond precision) for a unix-millisecond timestamp. Never panics:
/// a time RFC 3339 cannot write is shown as `invalid time`.
pub fn rfc3339(ms: u64) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let time = UNIX_EPOCH + Duration::from_millis(ms.min(MAX_TIMESTAMP_MS - 1));
    match write!(out, "{}", humantime::format_rfc3339_millis(time)) {
        Ok(()) if ms < MAX_TIMESTAMP_MS => out,
        _ => "invalid time".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_from_the_far_future_is_shown_not_panicked_on() {
        assert_eq!(rfc3339(u64::MAX), "invalid time");
        assert_eq!(rfc3339(MAX_TIMESTAMP_MS), "invalid time");
        assert!(rfc3339(MAX_TIMESTAMP_MS - 1).starts_with("9999-12-31T23:59:59"));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
