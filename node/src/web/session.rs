//! Who may use the web app: one-time sign-in codes, exchanged for session cookies.
//!
//! `circle open` asks the node (with the API token) for a sign-in URL carrying a one-time code.
//! The code works once, within [`CODE_TTL`]; the browser that uses it gets a session cookie
//! (HttpOnly, SameSite=Strict, Path=/). Codes and sessions live only in the node's memory, as
//! hashes: they end when the node stops, or all at once with [`Sessions::sign_out_all`].

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long a sign-in code works.
pub const CODE_TTL: Duration = Duration::from_secs(120);
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

/// The node's sign-in codes and sessions.
#[derive(Default)]
pub struct Sessions {
    codes: Mutex<HashMap<[u8; 32], Instant>>,
    sessions: Mutex<HashSet<[u8; 32]>>,
}

fn hash(secret: &str) -> [u8; 32] {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

fn random_secret() -> String {
    circle_crypto::text::encode(&rand::random::<[u8; 32]>())
}

impl Sessions {
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
                let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
                if sessions.len() >= MAX_SESSIONS {
                    sessions.clear();
                }
                sessions.insert(hash(&session));
                SignIn::Session(session)
            }
            _ => SignIn::Refused,
        }
    }

    /// Whether `session` (a cookie's value) is a live session.
    pub fn is_valid(&self, session: &str) -> bool {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&hash(session))
    }

    /// Whether a request's cookies hold a live session.
    pub fn signed_in(&self, headers: &axum::http::HeaderMap) -> bool {
        let cookies = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        cookie_value(cookies).is_some_and(|s| self.is_valid(s))
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
    fn the_session_cookie_is_found_among_others() {
        let headers = ["theme=dark; circle_session=abc ", "other=1"];
        assert_eq!(cookie_value(headers.into_iter()), Some("abc"));
        assert_eq!(cookie_value(["circle_sessionx=1"].into_iter()), None);
    }
}
