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

/// Checks `Host` and `Origin` (see the module's documentation); `app_host` is the web app's
/// secret name and port.
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
}
