//! A node that starts locked: before its store is open it serves only the page that opens it
//! (the unlock page, or the first-run page in a home that is not set up yet), on the port and
//! with the token and sessions the running node then keeps. It reads and sends nothing until
//! the person gives the passphrase; `circle up --locked` then starts the network.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Query, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

use super::{css, js, pages, session::Sessions};
use crate::{
    api::Api,
    error::{Error, Result},
    home::{DEFAULT_LOCK_WAIT, Home, check_new_passphrase},
    membership::{MAX_NAME_CHARS, check_name},
    node::Node,
    store::Store,
};

/// A store opened by the page, and where to say whether the node then started.
type Opened = (Store, oneshot::Sender<std::result::Result<(), String>>);

#[derive(Clone)]
struct LockedState {
    home: Home,
    token: blake3::Hash,
    token_text: Arc<str>,
    sessions: Arc<Sessions>,
    port: u16,
    opened: mpsc::Sender<Opened>,
}

/// A node's local server while its store is still locked.
pub struct Locked {
    api: Api,
    opened: mpsc::Receiver<Opened>,
    waiting: Option<oneshot::Sender<std::result::Result<(), String>>>,
}

impl Locked {
    /// Serves the unlock (or first-run) page for `home` on 127.0.0.1 at a free port.
    pub async fn start(home: Home) -> Result<Locked> {
        home.create_dir()?;
        let api = Api::bind(&home.web_name()?).await?;
        let (tx, opened) = mpsc::channel(1);
        let d = &api.door;
        let state = LockedState {
            home,
            token: blake3::hash(d.token.as_bytes()),
            token_text: d.token.as_str().into(),
            sessions: d.sessions.clone(),
            port: d.port,
            opened: tx,
        };
        api.install(routes(state));
        Ok(Locked {
            api,
            opened,
            waiting: None,
        })
    }

    /// Where it listens and its token (for `HOME/api.json`).
    pub fn info(&self) -> &crate::ApiInfo {
        &self.api.info
    }

    /// Waits until the person opens the store through the page.
    pub async fn unlocked(&mut self) -> Result<Store> {
        let (store, waiting) = self.opened.recv().await.ok_or(Error::Stopped)?;
        self.waiting = Some(waiting);
        Ok(store)
    }

    /// Serves `node`'s API and web app from now on; the page that unlocked it goes on to it.
    pub fn open(mut self, node: Node) -> Api {
        self.api.serve(node);
        if let Some(waiting) = self.waiting.take() {
            let _ = waiting.send(Ok(()));
        }
        self.api
    }

    /// Tells the page the node could not start, and stops serving.
    pub async fn fail(mut self, why: &Error) {
        if let Some(waiting) = self.waiting.take() {
            let _ = waiting.send(Err(why.to_string()));
        }
        self.api.stop().await;
    }

    /// Stops serving (the person never unlocked it).
    pub async fn stop(self) {
        self.api.stop().await;
    }
}

fn routes(state: LockedState) -> Router {
    let gate = (state.port, state.sessions.clone());
    let open = Router::new()
        .route("/v1/unlock", post(unlock))
        .route("/v1/setup", post(setup))
        .route("/v1/sign-in", post(sign_in_link))
        .route("/v1/status", get(status))
        .layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .merge(open)
        .route("/v1/hello", get(hello))
        .route("/sign-in", get(sign_in))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .route("/v1/{*rest}", axum::routing::any(still_locked))
        .fallback(get(page))
        .with_state(state)
        .layer(middleware::from_fn_with_state(gate, super::guard_layer))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// The bearer token, or a session with the page's own Origin for a change.
async fn authorize(State(s): State<LockedState>, request: Request, next: Next) -> Response {
    let bearer = crate::api::bears_token(request.headers(), &s.token);
    let session =
        signed_in(&s, request.headers()) && request.headers().contains_key(header::ORIGIN);
    let sign_in = request.uri().path() == "/v1/sign-in";
    if bearer || (session && !sign_in) {
        return next.run(request).await;
    }
    error(StatusCode::UNAUTHORIZED, "missing or wrong API token")
}

fn signed_in(s: &LockedState, headers: &HeaderMap) -> bool {
    s.sessions.signed_in(headers)
}

#[derive(Deserialize)]
struct Challenge {
    challenge: String,
}

async fn hello(State(s): State<LockedState>, Query(q): Query<Challenge>) -> Response {
    crate::api::hello_answer(&s.token_text, &q.challenge).into_response()
}

async fn sign_in_link(State(s): State<LockedState>) -> Response {
    Json(json!({
        "url": super::sign_in_url(&s.sessions),
        "expires_in_secs": super::CODE_TTL.as_secs(),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct SignInQuery {
    code: String,
}

async fn sign_in(
    State(s): State<LockedState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    super::sign_in_with(&s.sessions, &headers, &q.code)
}

async fn status(State(s): State<LockedState>) -> Response {
    Json(crate::api::contract::LockedStatus {
        running: false,
        locked: true,
        initialized: s.home.is_initialized(),
    })
    .into_response()
}

async fn still_locked() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the node is locked: unlock it in your browser (run `circle open`), then try again",
    )
}

/// The unlock page, or the first-run page in a home that is not set up yet.
async fn page(State(s): State<LockedState>, headers: HeaderMap) -> Response {
    if !signed_in(&s, &headers) {
        return super::html(
            StatusCode::UNAUTHORIZED,
            pages::signed_out("This browser is not signed in to your circle node."),
        );
    }
    let body = if s.home.is_initialized() {
        html! {
            h1 { "Unlock circle" }
            p { "Your circles are sealed on this computer with your passphrase. Nothing is read \
                 or sent until you unlock them." }
            form #unlock data-api="/v1/unlock" data-then="/" novalidate {
                label for="passphrase" { "Your passphrase" }
                input #passphrase name="passphrase" type="password" required autocomplete="current-password";
                p.error role="alert" hidden {}
                button type="submit" { "Unlock" }
            }
        }
    } else {
        html! {
            h1 { "Welcome to circle" }
            p { "circle keeps your support circles on this computer, sealed, and shares them only \
                 with the other members. There is no account: choose the name people in your \
                 circles will know you by, and a passphrase that protects everything here." }
            form #setup data-api="/v1/setup" data-then="/" novalidate {
                label for="name" { "Your nickname (a first name or any name you like)" }
                input #name name="name" required maxlength=(MAX_NAME_CHARS) autocomplete="nickname";
                label for="passphrase" { "A passphrase: several unrelated words, at least " (crate::home::MIN_PASSPHRASE_CHARS) " characters" }
                input #passphrase name="passphrase" type="password" required autocomplete="new-password";
                label for="again" { "The same passphrase again" }
                input #again name="again" type="password" required autocomplete="new-password";
                p { "Write it down somewhere safe: nobody can recover it for you." }
                p.error role="alert" hidden {}
                button type="submit" { "Set up circle" }
            }
        }
    };
    let title = if s.home.is_initialized() {
        "Unlock circle"
    } else {
        "Welcome"
    };
    super::html(StatusCode::OK, pages::page(title, body))
}

#[derive(Deserialize)]
struct UnlockBody {
    passphrase: String,
}

async fn unlock(State(s): State<LockedState>, Json(b): Json<UnlockBody>) -> Response {
    let home = s.home.clone();
    let passphrase = Zeroizing::new(b.passphrase);
    let opened = tokio::task::spawn_blocking(move || {
        home.open(passphrase.as_bytes(), DEFAULT_LOCK_WAIT, |_| {})
    })
    .await;
    hand_over(&s, opened).await
}

#[derive(Deserialize)]
struct SetupBody {
    name: String,
    passphrase: String,
    again: String,
}

async fn setup(State(s): State<LockedState>, Json(b): Json<SetupBody>) -> Response {
    let (passphrase, again) = (Zeroizing::new(b.passphrase), Zeroizing::new(b.again));
    if s.home.is_initialized() {
        return error(
            StatusCode::CONFLICT,
            "this node is set up already: unlock it",
        );
    }
    if let Err(e) = check_name("nickname", &b.name, MAX_NAME_CHARS) {
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    if let Err(e) = check_new_passphrase(&passphrase) {
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    if *passphrase != *again {
        return error(
            StatusCode::BAD_REQUEST,
            "the two passphrases differ: type the same one twice",
        );
    }
    let home = s.home.clone();
    let made = tokio::task::spawn_blocking(move || home.init(passphrase.as_bytes(), &b.name)).await;
    hand_over(&s, made).await
}

/// Gives an opened store to the waiting node, and answers once it runs.
async fn hand_over(
    s: &LockedState,
    opened: std::result::Result<Result<Store>, tokio::task::JoinError>,
) -> Response {
    let store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(e @ Error::WrongPassphrase)) => {
            return error(StatusCode::BAD_REQUEST, format!("{e}: try again"));
        }
        Ok(Err(e @ (Error::Invalid(_) | Error::AlreadyInitialized(_)))) => {
            return error(StatusCode::BAD_REQUEST, e.to_string());
        }
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let (tx, rx) = oneshot::channel();
    if s.opened.send((store, tx)).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the node is stopping");
    }
    match rx.await {
        Ok(Ok(())) => Json(json!({ "unlocked": true })).into_response(),
        Ok(Err(why)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the node could not start: {why}"),
        ),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the node is stopping"),
    }
}
