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

/// RFC 3339 text (UTC, millisecond precision) for a unix-millisecond timestamp.
pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}
