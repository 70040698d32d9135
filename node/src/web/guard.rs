//! The first check on every request to the node's local server, API and pages alike, as
//! Syncthing and Kubo guard theirs: the `Host` must be this node's own loopback address and
//! port, or the web app's secret `*.localhost` name on that port (a web page that points its
//! own host name at 127.0.0.1, DNS rebinding, is refused), and a request that says it comes
//! from another web site (`Origin`) is refused, whatever it carries. No CORS headers are ever
//! sent, so browsers keep other sites' pages from reading any answer.

use axum::{
    Json,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// Why a request was refused before anything else ran.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal(&'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, Json(json!({ "error": self.0 }))).into_response()
    }
}

/// The host names this node answers to, on its own port.
fn allowed_host(port: u16, host: &str) -> bool {
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host.strip_prefix(name) == Some(&format!(":{port}")))
}

/// Whether a request carries a session cookie (live or not).
fn carries_session(headers: &HeaderMap) -> bool {
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    super::session::cookie_value(cookies).is_some()
}

/// Whether the browser says the request comes from the app's own pages or from the person
/// (`Sec-Fetch-Site` `same-origin` or `none`: typed, a bookmark, another program). A browser
/// too old to say so is believed only when it sends no `Origin` either; `same-site` (another
/// port or name of this computer) and `cross-site` are refused.
fn from_this_site(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(b"same-origin" | b"none") => true,
        Some(_) => false,
        None => !headers.contains_key(header::ORIGIN),
    }
}

/// Checks `Host` and `Origin` (see the module's documentation), and, on a request that carries
/// the session cookie, `Sec-Fetch-Site`; `app_host` is the web app's secret name and port.
pub(crate) fn check(port: u16, app_host: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if !allowed_host(port, host) && !host.eq_ignore_ascii_case(app_host) {
        return Err(Refusal(
            "this node answers only at its own address on 127.0.0.1: open it with `circle open`",
        ));
    }
    if carries_session(headers) && !from_this_site(headers) {
        return Err(Refusal(
            "requests from other web sites are refused: open circle with `circle open`",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|o| o == host);
        if !same {
            return Err(Refusal("requests from other web sites are refused"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    const APP: &str = "secret.localhost:4000";

    fn check(port: u16, headers: &HeaderMap) -> Result<(), Refusal> {
        super::check(port, APP, headers)
    }

    #[test]
    fn only_this_nodes_own_loopback_host_and_origin_pass() {
        for host in ["127.0.0.1:4000", "localhost:4000", "[::1]:4000", APP] {
            assert_eq!(check(4000, &headers(&[("host", host)])), Ok(()), "{host}");
            let origin = format!("http://{host}");
            assert_eq!(
                check(4000, &headers(&[("host", host), ("origin", &origin)])),
                Ok(())
            );
        }
        for host in [
            "evil.example:4000",
            "127.0.0.1:4001",
            "127.0.0.1",
            "127.0.0.1:4000.evil.example",
            "localhost.evil.example:4000",
            "other.localhost:4000",
            "secret.localhost:4001",
            "",
        ] {
            assert!(check(4000, &headers(&[("host", host)])).is_err(), "{host}");
        }
        assert!(check(4000, &HeaderMap::new()).is_err(), "no Host at all");
        for origin in [
            "http://evil.example",
            "null",
            "https://127.0.0.1:4000",
            "http://localhost:4000",
        ] {
            assert!(
                check(
                    4000,
                    &headers(&[("host", "127.0.0.1:4000"), ("origin", origin)])
                )
                .is_err(),
                "{origin}"
            );
        }
    }

    #[test]
    fn with_the_session_cookie_only_the_apps_own_pages_and_the_person_pass() {
        let app = [("host", APP), ("cookie", "circle_session=x")];
        for (site, origin, pass) in [
            (Some("same-origin"), true, true),
            (Some("none"), false, true),
            (None, false, true),
            (None, true, false),
            (Some("same-site"), false, false),
            (Some("cross-site"), false, false),
            (Some("cross-site"), true, false),
        ] {
            let own = format!("http://{APP}");
            let mut pairs = app.to_vec();
            if let Some(site) = site {
                pairs.push(("sec-fetch-site", site));
            }
            if origin {
                pairs.push(("origin", &own));
            }
            assert_eq!(
                check(4000, &headers(&pairs)).is_ok(),
                pass,
                "{site:?}, origin {origin}"
            );
            // Without the cookie, nothing is at stake (a sign-in link from a file is
            // cross-site).
            let without: Vec<_> = pairs.into_iter().filter(|(n, _)| *n != "cookie").collect();
            assert!(check(4000, &headers(&without)).is_ok(), "{site:?}");
        }
    }
}
