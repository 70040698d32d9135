//! Who may use the web app: one-time sign-in codes, exchanged for session cookies.
//!
//! `circle open` asks the node (with the API token) for a sign-in URL carrying a one-time code.
//! The code works once, within [`CODE_TTL`]; the browser that uses it gets a session cookie
//! (HttpOnly, SameSite=Strict, Path=/). Codes and sessions live only in the node's memory, as
//! hashes: they end when the node stops, after [`IDLE_TTL`] without a request (an open page's
//! live stream counts), or all at once with [`Sessions::sign_out_all`].
//!
//! The web app lives at the node's secret host name (`<random>.localhost:PORT`, see
//! [`crate::Home::web_name`]), and the cookie counts only on a request to that host. Browsers
//! keep cookies per host, not per port: a cookie set for 127.0.0.1 would also be sent to any
//! other server on 127.0.0.1, including another user's.

use axum::http::{HeaderMap, header};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long a sign-in code works.
pub const CODE_TTL: Duration = Duration::from_secs(120);
/// How long a session lasts without a request.
pub const IDLE_TTL: Duration = Duration::from_secs(12 * 60 * 60);
/// Most sign-in codes waiting at once (oldest dropped first).
const MAX_CODES: usize = 64;
/// Most sessions at once (a person's browsers and tabs share one per browser).
const MAX_SESSIONS: usize = 256;
/// The session cookie's name.
pub const COOKIE: &str = "circle_session";

/// What became of a sign-in code.
#[derive(Debug, PartialEq, Eq)]
pub enum SignIn {
    /// A new session: the cookie's value.
    Session(String),
    /// The code was used already, has expired, or was never made.
    Refused,
}

/// A session, as the node keeps it (the hash of its cookie).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; 32]);

/// The node's sign-in codes and sessions.
pub struct Sessions {
    /// The web app's `Host`: its secret name and port.
    host: String,
    codes: Mutex<HashMap<[u8; 32], Instant>>,
    /// Each session's last request.
    sessions: Mutex<HashMap<SessionKey, Instant>>,
}

impl Default for Sessions {
    /// Sessions for a server that listens nowhere (the in-process API), under a random name.
    fn default() -> Sessions {
        Sessions::new(&crate::home::new_web_name(), 0)
    }
}

fn hash(secret: &str) -> [u8; 32] {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

fn random_secret() -> String {
    circle_crypto::text::encode(&rand::random::<[u8; 32]>())
}

impl Sessions {
    /// Sessions for the web app at `name` (a secret `*.localhost` name) on `port`.
    pub fn new(name: &str, port: u16) -> Sessions {
        Sessions {
            host: format!("{name}:{port}"),
            codes: Mutex::default(),
            sessions: Mutex::default(),
        }
    }

    /// The web app's `Host` (`<secret>.localhost:PORT`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether a request was sent to the web app's own secret host name.
    pub fn is_app_host(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.trim().eq_ignore_ascii_case(&self.host))
    }

    /// A new one-time sign-in code.
    pub fn new_code(&self) -> String {
        let code = random_secret();
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        codes.retain(|_, made| now.duration_since(*made) < CODE_TTL);
        if codes.len() >= MAX_CODES
            && let Some(oldest) = codes.iter().min_by_key(|(_, made)| **made).map(|(k, _)| *k)
        {
            codes.remove(&oldest);
        }
        codes.insert(hash(&code), now);
        code
    }

    /// Whether `code` would sign in now (without using it).
    pub fn code_is_live(&self, code: &str) -> bool {
        self.codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash(code))
            .is_some_and(|made| made.elapsed() < CODE_TTL)
    }

    /// Uses a sign-in code: the first use within its time opens a session; any other is
    /// refused.
    pub fn sign_in(&self, code: &str) -> SignIn {
        let made = self
            .codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&hash(code));
        match made {
            Some(made) if made.elapsed() < CODE_TTL => {
                let session = random_secret();
                let now = Instant::now();
                let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
                sessions.retain(|_, used| now.duration_since(*used) < IDLE_TTL);
                if sessions.len() >= MAX_SESSIONS {
                    sessions.clear();
                }
                sessions.insert(SessionKey(hash(&session)), now);
                SignIn::Session(session)
            }
            _ => SignIn::Refused,
        }
    }

    /// Whether `session` (a cookie's value) is a live session; if so, it was used now.
    #[cfg(test)]
    fn is_valid(&self, session: &str) -> bool {
        self.use_at(SessionKey(hash(session)), Instant::now())
    }

    /// Whether the session `key` is live at `now`; if so, it was used then.
    fn use_at(&self, key: SessionKey, now: Instant) -> bool {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match sessions.get_mut(&key) {
            Some(used) if now.saturating_duration_since(*used) < IDLE_TTL => {
                *used = now.max(*used);
                true
            }
            Some(_) => {
                sessions.remove(&key);
                false
            }
            None => false,
        }
    }

    /// The live session a request holds: its cookie, sent to the app's own host name (the
    /// same cookie sent to any other host counts for nothing). The session was used now.
    pub fn session(&self, headers: &HeaderMap) -> Option<SessionKey> {
        if !self.is_app_host(headers) {
            return None;
        }
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        let key = SessionKey(hash(cookie_value(cookies)?));
        self.use_at(key, Instant::now()).then_some(key)
    }

    /// Whether a request holds a live session (see [`Sessions::session`]).
    pub fn signed_in(&self, headers: &HeaderMap) -> bool {
        self.session(headers).is_some()
    }

    /// Whether the session `key` is still live, counting this as a use (an open page's live
    /// stream keeps its session from ending while idle).
    pub fn keep_alive(&self, key: SessionKey) -> bool {
        self.use_at(key, Instant::now())
    }

    /// Ends every session and unused code.
    pub fn sign_out_all(&self) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.codes.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The session cookie's value among a request's `Cookie` headers, if any.
pub fn cookie_value<'a>(headers: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    headers
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` header for a new session.
pub fn set_cookie(session: &str) -> String {
    format!("{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_opens_one_session_once() {
        let sessions = Sessions::default();
        let code = sessions.new_code();
        let SignIn::Session(cookie) = sessions.sign_in(&code) else {
            panic!("the first use signs in");
        };
        assert!(sessions.is_valid(&cookie));
        assert_eq!(
            sessions.sign_in(&code),
            SignIn::Refused,
            "the second use is refused"
        );
        assert_eq!(sessions.sign_in("made-up"), SignIn::Refused);
        assert!(!sessions.is_valid("made-up"));
        sessions.sign_out_all();
        assert!(
            !sessions.is_valid(&cookie),
            "signing out everywhere ends it"
        );
    }

    #[test]
    fn a_session_ends_after_twelve_hours_without_a_request() {
        let sessions = Sessions::default();
        let SignIn::Session(cookie) = sessions.sign_in(&sessions.new_code()) else {
            panic!("signs in");
        };
        let key = SessionKey(hash(&cookie));
        let start = Instant::now();
        assert!(sessions.use_at(key, start + IDLE_TTL - Duration::from_secs(60)));
        assert!(
            sessions.use_at(key, start + IDLE_TTL + Duration::from_secs(60)),
            "a request restarts the idle time"
        );
        assert!(
            !sessions.use_at(key, start + 2 * IDLE_TTL + Duration::from_secs(120)),
            "twelve hours idle end it"
        );
        assert!(!sessions.is_valid(&cookie), "and it stays ended");
    }

    #[test]
    fn the_cookie_counts_only_on_the_apps_own_host_name() {
        let sessions = Sessions::new("abc.localhost", 4000);
        let SignIn::Session(cookie) = sessions.sign_in(&sessions.new_code()) else {
            panic!("signs in");
        };
        let cookie = format!("{COOKIE}={cookie}");
        let with_host = |host: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::HOST, host.parse().unwrap());
            map.insert(header::COOKIE, cookie.parse().unwrap());
            map
        };
        assert!(sessions.signed_in(&with_host("abc.localhost:4000")));
        assert!(sessions.signed_in(&with_host("ABC.localhost:4000")));
        for host in [
            "127.0.0.1:4000",
            "localhost:4000",
            "[::1]:4000",
            "abc.localhost:4001",
            "other.localhost:4000",
        ] {
            assert!(!sessions.signed_in(&with_host(host)), "{host}");
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let headers = ["theme=dark; circle_session=abc ", "other=1"];
        assert_eq!(cookie_value(headers.into_iter()), Some("abc"));
        assert_eq!(cookie_value(["circle_sessionx=1"].into_iter()), None);
    }
}
