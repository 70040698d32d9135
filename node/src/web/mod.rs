//! The local web app: pages served by the node on the same 127.0.0.1 port as its API, for a
//! person who will never open a terminal.
//!
//! - [`guard`]: every request, API included, must name this node's own loopback address or
//!   the app's secret `*.localhost` name as its `Host` (against DNS rebinding), carry no other
//!   site's `Origin`, and, with the session cookie, come from the app's own pages
//!   (`Sec-Fetch-Site`).
//! - [`session`]: one-time sign-in codes from `circle open`, exchanged for a session cookie
//!   that counts only at the app's secret host name.
//! - [`pages`]: the pages, rendered here; writes go through the JSON API from the page's
//!   script, with the session cookie and a same-origin `Origin`.
//!
//! Nothing is loaded from any other host: a Content-Security-Policy of `default-src 'self'`
//! is sent with every page.

use axum::{
    Router,
    extract::{Query, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use maud::Markup;
use serde::Deserialize;

use crate::api::AppState;

pub(crate) mod guard;
mod live;
mod locked;
mod pages;
pub(crate) mod session;

pub use locked::Locked;
pub use session::{CODE_TTL, SignIn};

/// What every page is sent with: no other host, no framing, no referrer.
const CSP: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                   form-action 'self'; base-uri 'none'";

/// The web app's routes (the caller adds the guard and the state).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(pages::routes())
        .route("/sign-in", get(sign_in))
        .route("/app/events", get(live::events))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
}

/// A new one-time sign-in link, at the web app's secret host name.
pub(crate) fn sign_in_url(sessions: &session::Sessions) -> String {
    format!(
        "http://{}/sign-in?code={}",
        sessions.host(),
        sessions.new_code()
    )
}

/// Whether the request carries a live session cookie.
pub(crate) fn signed_in(state: &AppState, headers: &HeaderMap) -> bool {
    state.sessions.signed_in(headers)
}

/// A page, with the headers every page carries.
fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct SignInQuery {
    code: String,
}

/// Exchanges a one-time code for a session cookie, then shows the circles.
async fn sign_in(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    sign_in_with(&s.sessions, &headers, &q.code)
}

/// The answer to a sign-in link: a session cookie and the way home, or why not. A link that
/// names 127.0.0.1 (or `localhost`) leads on to the app's secret host name, and only while
/// its code works, so that the name is told to no one without a code; the cookie is set only
/// there.
fn sign_in_with(sessions: &session::Sessions, headers: &HeaderMap, code: &str) -> Response {
    let code = code.trim();
    if !sessions.is_app_host(headers) {
        if !sessions.code_is_live(code) {
            return html(StatusCode::GONE, pages::link_used());
        }
        let to = format!("http://{}/sign-in?code={code}", sessions.host());
        let mut response = Redirect::to(&to).into_response();
        response.headers_mut().insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        return response;
    }
    match sessions.sign_in(code) {
        SignIn::Session(session) => {
            // A page of the app's own that goes on home, rather than a redirect: a browser
            // sends a SameSite=Strict cookie on a navigation only if the app's own page
            // started it, and the sign-in link may come from a file (`circle open`).
            let mut response = html(StatusCode::OK, pages::signed_in_now());
            if let Ok(cookie) = HeaderValue::from_str(&session::set_cookie(&session)) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        SignIn::Refused => html(StatusCode::GONE, pages::link_used()),
    }
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/app.css"))
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Whether a request only reads.
pub(crate) fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// What the guard knows: the server's port and its web app's sessions (and so its host name).
pub(crate) type Gate = (u16, std::sync::Arc<session::Sessions>);

/// Runs the guard before anything else (see [`guard::check`]).
pub(crate) async fn guard_layer(
    State((port, sessions)): State<Gate>,
    request: Request,
    next: Next,
) -> Response {
    match guard::check(port, sessions.host(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}
