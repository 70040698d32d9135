//! The local control API: HTTP + JSON on 127.0.0.1, opened by a bearer token.
//!
//! The token is random, written with the port to `HOME/api.json` (mode 0600), so only the
//! node's owner can use it. The CLI uses this API whenever the node runs; a local web app can
//! too. Every route is under `/v1`. Every error is `{"error": "..."}` with a 4xx/5xx status,
//! including those the HTTP layer makes before a handler runs (413, 415, 400, 422, 404).

use std::time::Duration;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, Query, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post, put},
};
use tokio::sync::watch;

use crate::{error::Error, node::Node};

mod backup;
pub mod contract;
mod held;
mod openapi;
mod server;
mod support;

use contract::*;

pub use server::Api;

/// Largest request body.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest a feed request may wait for new messages.
const MAX_WAIT: Duration = Duration::from_secs(60);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        // Every variant is placed: a new one does not fall into 403 (or 500) by accident.
        let status = match &self {
            Error::UnknownCircle(_) | Error::NoCircleNamed { .. } => StatusCode::NOT_FOUND,
            Error::Invalid(_) | Error::AmbiguousCircle(_) | Error::Invite(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::Refused(_) | Error::WrongPassphrase => StatusCode::FORBIDDEN,
            Error::Unreachable(_) => StatusCode::BAD_GATEWAY,
            Error::Stopped | Error::Offline(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Store(_) | Error::Io { .. } | Error::Internal(_) => {
                tracing::warn!("a request failed inside the node: {self}");
                let calm = format!(
                    "the node could not finish this ({self}): try again, and if it keeps \
                     failing, restart the node"
                );
                return (StatusCode::INTERNAL_SERVER_ERROR, error_body(calm)).into_response();
            }
            Error::NotInitialized(_)
            | Error::AlreadyInitialized(_)
            | Error::StoreBusy(_)
            | Error::Crypto(_)
            | Error::Net(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, error_body(self.to_string())).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, Error>;

/// The body of every error answer.
fn error_body(message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        error: message.into(),
    })
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) node: Node,
    token: blake3::Hash,
    token_text: std::sync::Arc<str>,
    /// Becomes true when the API stops, so long polls end at once instead of holding up the
    /// shutdown until they time out.
    pub(crate) stopping: watch::Receiver<bool>,
    /// The port this server listens on (0 when served in-process): requests must name it.
    pub(crate) port: u16,
    /// The web app's sign-in codes and sessions.
    pub(crate) sessions: std::sync::Arc<crate::web::session::Sessions>,
}

/// How a request proved it may use the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// The bearer token of `HOME/api.json` (the CLI, scripts).
    Token,
    /// The web app's session cookie.
    Session,
}

/// Refuses `what` unless the request came with the bearer token: the phrase and backups are
/// the `circle` command's, never a web app session's.
fn token_only(via: Via, what: &str) -> std::result::Result<(), crate::error::Error> {
    if via != Via::Token {
        return Err(crate::error::Error::Refused(format!(
            "{what} is done with the `circle` command, not in the browser"
        )));
    }
    Ok(())
}

impl AppState {
    fn new(
        node: Node,
        token: &str,
        stopping: watch::Receiver<bool>,
        port: u16,
        sessions: std::sync::Arc<crate::web::session::Sessions>,
    ) -> AppState {
        AppState {
            node,
            token: blake3::hash(token.as_bytes()),
            token_text: token.into(),
            stopping,
            port,
            sessions,
        }
    }
}

/// The port an in-process API's requests name (it listens on none).
const LOCAL_PORT: u16 = 0;

/// The API served in this process, without a socket: the same routes, checks and answers as
/// [`Api`], for the CLI while `circle up` is not running (over [`Node::offline`]), so that a
/// command takes the same path whether the node runs or not.
#[derive(Clone)]
pub struct LocalApi {
    router: Router,
    token: std::sync::Arc<str>,
    /// Held so long polls see an API that has not stopped.
    _running: std::sync::Arc<watch::Sender<bool>>,
}

impl LocalApi {
    /// Serves `node`'s API in this process.
    pub fn new(node: Node) -> LocalApi {
        let token = circle_crypto::text::encode(&rand::random::<[u8; 32]>());
        let (running, stopping) = watch::channel(false);
        LocalApi {
            router: router(AppState::new(
                node,
                &token,
                stopping,
                LOCAL_PORT,
                Default::default(),
            )),
            token: token.as_str().into(),
            _running: std::sync::Arc::new(running),
        }
    }

    /// Sends one request (`path` with its query, `body` as JSON) and returns the status code
    /// and the body of the answer.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), Error> {
        use tower::ServiceExt;
        let invalid = |e: &dyn std::fmt::Display| Error::Invalid(format!("bad request: {e}"));
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, format!("127.0.0.1:{LOCAL_PORT}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(axum::body::Body::from(body.unwrap_or_default()))
            .map_err(|e| invalid(&e))?;
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| invalid(&e))?;
        Ok((status, body.to_vec()))
    }
}

/// The answer to a client's challenge: proves that the server holds the API token without
/// revealing it, so a client checks it is talking to its own node before sending the token or
/// anything private (after a crash, another program could have taken the old port).
pub fn api_proof(token: &str, challenge: &str) -> String {
    let key = blake3::derive_key("circle/api-proof/v1", token.as_bytes());
    blake3::keyed_hash(&key, challenge.as_bytes())
        .to_hex()
        .to_string()
}

/// Unauthenticated on purpose: the client must not send its token before it knows the server.
#[utoipa::path(
    get,
    path = "/v1/hello",
    tag = "node",
    summary = "prove this is the node whose token the client holds (no token needed)",
    params(HelloQuery),
    security(()),
    responses(
        (status = 200, description = "the proof", body = Hello),
        (status = "4XX", description = "refused", body = ErrorBody),
    )
)]
async fn hello(State(s): State<AppState>, Query(q): Query<HelloQuery>) -> Json<Hello> {
    hello_answer(&s.token_text, &q.challenge)
}

/// The answer to `/v1/hello`: the proof for the challenge's first 128 characters.
pub(crate) fn hello_answer(token: &str, challenge: &str) -> Json<Hello> {
    let challenge: String = challenge.chars().take(128).collect();
    Json(Hello {
        proof: api_proof(token, &challenge),
    })
}

/// Whether a request carries the bearer token whose hash is `token` (blake3 hashes compare
/// in constant time).
pub(crate) fn bears_token(headers: &axum::http::HeaderMap, token: &blake3::Hash) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| blake3::hash(t.trim().as_bytes()) == *token)
}

pub(crate) fn router(state: AppState) -> Router {
    let hello = Router::new()
        .route("/v1/hello", get(hello))
        .route("/v1/openapi.json", get(openapi::served))
        .with_state(state.clone());
    let api = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/circles", get(circles).post(create))
        .route("/v1/circles/{circle}/members", get(members))
        .route("/v1/circles/{circle}/members/{member}", delete(remove))
        .route("/v1/circles/{circle}/leave", post(leave))
        .route("/v1/circles/{circle}/rekey", post(rekey))
        .route(
            "/v1/circles/{circle}/admins/{member}",
            put(grant_admin).delete(revoke_admin),
        )
        .route("/v1/circles/{circle}/policy", put(policy))
        .route("/v1/circles/{circle}/name", put(rename))
        .route(
            "/v1/circles/{circle}/invites/{invite}",
            delete(revoke_invite),
        )
        .route("/v1/circles/{circle}/feed", get(feed))
        .route("/v1/circles/{circle}/invites", get(invites).post(invite))
        .route("/v1/join", post(join))
        .route("/v1/join/preview", post(join_preview))
        .route("/v1/sign-in", post(sign_in_link))
        .route("/v1/sign-out-all", post(sign_out_all))
        .merge(support::routes())
        .merge(backup::routes())
        .merge(held::routes())
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state.clone());
    let web = crate::web::routes().with_state(state.clone());
    Router::new()
        .merge(api)
        .merge(hello)
        .merge(web)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::map_response(json_errors))
        // Outermost: nothing runs for a foreign Host or Origin.
        .layer(middleware::from_fn_with_state(
            (state.port, state.sessions.clone()),
            crate::web::guard_layer,
        ))
}

/// Makes every error a JSON `{"error": ...}`, including those the HTTP layer produces before a
/// handler runs (too large, not JSON, no such route), so clients need to read only one shape.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let kind = response.headers().get(header::CONTENT_TYPE);
    let is_json = kind.is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    // The web app's own pages answer in HTML, errors included.
    let is_page = kind.is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_json || is_page || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!(
                "the request is too large (at most {} KiB)",
                MAX_BODY_BYTES / 1024
            )
        }
        StatusCode::NOT_FOUND if text.is_empty() => "no such API route".to_string(),
        _ if text.is_empty() => status.to_string(),
        _ => text,
    };
    (status, error_body(message)).into_response()
}

/// Lets a request through with the bearer token, or with the web app's session cookie; a
/// change made with the cookie must also say it comes from the app's own page (`Origin`, which
/// the guard has already checked is this node's own).
async fn authorize(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let via = if bears_token(request.headers(), &state.token) {
        Via::Token
    } else if crate::web::signed_in(&state, request.headers()) {
        Via::Session
    } else {
        return (
            StatusCode::UNAUTHORIZED,
            error_body("missing or wrong API token"),
        )
            .into_response();
    };
    if via == Via::Session
        && !crate::web::is_read(request.method())
        && !request.headers().contains_key(header::ORIGIN)
    {
        return (
            StatusCode::FORBIDDEN,
            error_body("a change from the web app must come from its own page"),
        )
            .into_response();
    }
    request.extensions_mut().insert(via);
    next.run(request).await
}

/// A one-time sign-in link for the web app (`circle open`): with the API token only.
#[utoipa::path(
    post,
    path = "/v1/sign-in",
    tag = "node",
    summary = "a one-time sign-in link for the web app (bearer token only)",
    responses(
        (status = 200, description = "done", body = SignInLink),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn sign_in_link(
    State(s): State<AppState>,
    axum::Extension(via): axum::Extension<Via>,
) -> ApiResult<SignInLink> {
    if via != Via::Token {
        return Err(Error::Refused(
            "sign-in links are made with `circle open`".into(),
        ));
    }
    Ok(Json(SignInLink {
        url: crate::web::sign_in_url(&s.sessions),
        expires_in_secs: crate::web::CODE_TTL.as_secs(),
    }))
}

/// Ends every web app session (`circle open --sign-out-all`): with the API token only.
#[utoipa::path(
    post,
    path = "/v1/sign-out-all",
    tag = "node",
    summary = "end every web app session (bearer token only)",
    responses(
        (status = 200, description = "done", body = SignedOut),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn sign_out_all(
    State(s): State<AppState>,
    axum::Extension(via): axum::Extension<Via>,
) -> ApiResult<SignedOut> {
    if via != Via::Token {
        return Err(Error::Refused(
            "signing out everywhere is done with `circle open --sign-out-all`".into(),
        ));
    }
    s.sessions.sign_out_all();
    Ok(Json(SignedOut { signed_out: true }))
}

#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "node",
    summary = "this node and its network",
    responses(
        (status = 200, description = "the node's status; a node started with `--locked` answers `LockedStatus` until it is unlocked", body = NodeStatus),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn status(State(s): State<AppState>) -> ApiResult<Status> {
    let net = s.node.status().await?;
    Ok(Json(Status {
        running: s.node.is_online(),
        peer_id: net.peer_id,
        listen: net.listen,
        connected: net.connected,
        external: net.external,
        home_server: net.home_server,
        peers: net.peers,
        relays: net.relays,
        reachability: net.reachability,
        seen: net.seen,
        hole_punches: HolePunches {
            direct: net.hole_punches.0.into(),
            failed: net.hole_punches.1.into(),
        },
        circles: s.node.circles().list()?.len(),
        logs: s.node.circles().log_health()?,
        last_backup: crate::backup::last(s.node.circles().store())?,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/circles",
    tag = "circles",
    summary = "this node's circles",
    responses(
        (status = 200, description = "done", body = Vec<CircleInfo>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn circles(State(s): State<AppState>) -> ApiResult<Vec<CircleInfo>> {
    Ok(Json(s.node.circles().list()?))
}

#[utoipa::path(
    post,
    path = "/v1/circles",
    tag = "circles",
    summary = "start a circle",
    request_body = CreateCircle,
    responses(
        (status = 200, description = "done", body = Created),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn create(State(s): State<AppState>, Json(b): Json<CreateCircle>) -> ApiResult<Created> {
    // Checked before the circle exists, so a mistake leaves nothing half made.
    let format = b
        .format
        .as_deref()
        .map(crate::support::Format::parse)
        .transpose()?;
    let guidelines = b.guidelines.unwrap_or_default();
    if guidelines.len() > crate::membership::MAX_GUIDELINES_BYTES {
        return Err(Error::Invalid(format!(
            "the guidelines are too long ({} bytes; at most {})",
            guidelines.len(),
            crate::membership::MAX_GUIDELINES_BYTES
        )));
    }
    if !b.force {
        s.node.circles().check_new_name(&b.name)?;
    }
    let id = s.node.create(&b.name, b.nick.as_deref()).await?;
    if format.is_some() || !guidelines.trim().is_empty() {
        let format = format.unwrap_or(crate::support::Format::Other);
        s.node
            .write_with(move |c| c.set_guidelines(&id, format, &guidelines))
            .await?;
    }
    Ok(Json(Created { id: id.to_string() }))
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/members",
    tag = "circles",
    summary = "a circle's members",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Vec<MemberInfo>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn members(
    State(s): State<AppState>,
    Path(circle): Path<String>,
) -> ApiResult<Vec<MemberInfo>> {
    let circles = s.node.circles();
    Ok(Json(circles.members(&circles.resolve(&circle)?)?))
}

/// Returns the feed after a cursor; with `wait_ms`, waits (long poll) until there is something.
#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/feed",
    tag = "circles",
    summary = "a page of the feed, or a long poll for what is new",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
        FeedQuery,
    ),
    responses(
        (status = 200, description = "done", body = FeedPage),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn feed(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Query(q): Query<FeedQuery>,
) -> ApiResult<FeedPage> {
    let circles = s.node.circles();
    let id = circles.resolve(&circle)?;
    let after = q.after.unwrap_or(0);
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(0)).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let mut changes = circles.watch();
    let mut stopping = s.stopping.clone();
    loop {
        changes.borrow_and_update();
        let (items, cursor) = circles.feed_page(&id, after, q.limit)?;
        if !items.is_empty() || wait.is_zero() {
            return Ok(Json(FeedPage { items, cursor }));
        }
        let woke = tokio::select! {
            changed = tokio::time::timeout_at(deadline, changes.changed()) => matches!(changed, Ok(Ok(()))),
            _ = stopping.wait_for(|s| *s) => false,
        };
        if !woke {
            return Ok(Json(FeedPage {
                items: Vec::new(),
                cursor: after,
            }));
        }
    }
}

/// The answer to a membership operation: the id of the message that carried it.
fn written(circle: &circle_crypto::CircleId, id: circle_crypto::MessageId) -> ApiResult<Written> {
    Ok(Json(Written {
        id: Some(id.to_string()),
        circle: circle.to_string(),
        ..Written::default()
    }))
}

#[utoipa::path(
    delete,
    path = "/v1/circles/{circle}/members/{member}",
    tag = "membership",
    summary = "remove a member (admins)",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
        ("member" = String, Path, description = "a member: their key, the start of it, their fingerprint or their name"),
    ),
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn remove(
    State(s): State<AppState>,
    Path((circle, member)): Path<(String, String)>,
) -> ApiResult<Written> {
    let id = s.node.circles().resolve(&circle)?;
    let (key, named) = member_of(&s, &id, &member)?;
    about(written(&id, s.node.remove(&id, &key).await?), named)
}

/// The member a person typed (key, start of a key, fingerprint or name), as a key to pass on
/// and as named to people. Asked before the change, as a removed member leaves the list.
fn member_of(
    s: &AppState,
    circle: &circle_crypto::CircleId,
    typed: &str,
) -> Result<(String, crate::MemberName), Error> {
    let circles = s.node.circles();
    let key = circles.resolve_member(circle, typed)?;
    Ok((key.to_string(), circles.named(circle, &key)?))
}

/// The answer to a change about a member: [`written`], and `member`: who it was about, with
/// their fingerprint.
fn about(answer: ApiResult<Written>, member: crate::MemberName) -> ApiResult<Written> {
    let Json(mut answer) = answer?;
    answer.member = Some(member);
    Ok(Json(answer))
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/leave",
    tag = "membership",
    summary = "leave a circle",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn leave(State(s): State<AppState>, Path(circle): Path<String>) -> ApiResult<Written> {
    let id = s.node.circles().resolve(&circle)?;
    written(&id, s.node.leave(&id).await?)
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/rekey",
    tag = "membership",
    summary = "start a new key epoch by hand",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn rekey(State(s): State<AppState>, Path(circle): Path<String>) -> ApiResult<Written> {
    let id = s.node.circles().resolve(&circle)?;
    written(&id, s.node.rekey(&id).await?)
}

#[utoipa::path(
    put,
    path = "/v1/circles/{circle}/admins/{member}",
    tag = "membership",
    summary = "make a member an admin",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
        ("member" = String, Path, description = "a member: their key, the start of it, their fingerprint or their name"),
    ),
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn grant_admin(
    State(s): State<AppState>,
    Path((circle, member)): Path<(String, String)>,
) -> ApiResult<Written> {
    let id = s.node.circles().resolve(&circle)?;
    let (key, named) = member_of(&s, &id, &member)?;
    about(
        written(&id, s.node.set_admin(&id, &key, true).await?),
        named,
    )
}

#[utoipa::path(
    delete,
    path = "/v1/circles/{circle}/admins/{member}",
    tag = "membership",
    summary = "take a member's admin role back",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
        ("member" = String, Path, description = "a member: their key, the start of it, their fingerprint or their name"),
    ),
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn revoke_admin(
    State(s): State<AppState>,
    Path((circle, member)): Path<(String, String)>,
) -> ApiResult<Written> {
    let id = s.node.circles().resolve(&circle)?;
    let (key, named) = member_of(&s, &id, &member)?;
    about(
        written(&id, s.node.set_admin(&id, &key, false).await?),
        named,
    )
}

#[utoipa::path(
    put,
    path = "/v1/circles/{circle}/policy",
    tag = "membership",
    summary = "set who may invite",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = PolicyChange,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn policy(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<PolicyChange>,
) -> ApiResult<Written> {
    let id = s.node.circles().resolve(&circle)?;
    let invites = b.invites.parse()?;
    written(&id, s.node.set_policy(&id, invites).await?)
}

#[utoipa::path(
    put,
    path = "/v1/circles/{circle}/name",
    tag = "membership",
    summary = "rename a circle",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = Rename,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn rename(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<Rename>,
) -> ApiResult<Written> {
    let id = s.node.circles().resolve(&circle)?;
    written(&id, s.node.rename(&id, &b.name).await?)
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/invites",
    tag = "membership",
    summary = "open invites",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Vec<InviteInfo>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn invites(
    State(s): State<AppState>,
    Path(circle): Path<String>,
) -> ApiResult<Vec<InviteInfo>> {
    let circles = s.node.circles();
    let id = circles.resolve(&circle)?;
    Ok(Json(circles.invites(&id, crate::time::now_secs())?))
}

#[utoipa::path(
    delete,
    path = "/v1/circles/{circle}/invites/{invite}",
    tag = "membership",
    summary = "revoke an invite",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
        ("invite" = String, Path, description = "an invite id"),
    ),
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn revoke_invite(
    State(s): State<AppState>,
    Path((circle, invite)): Path<(String, String)>,
) -> ApiResult<Written> {
    let id = s.node.circles().resolve(&circle)?;
    written(&id, s.node.revoke_invite(&id, &invite).await?)
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/invites",
    tag = "membership",
    summary = "make an invite",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = InviteRequest,
    responses(
        (status = 200, description = "done", body = NewInvite),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn invite(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<InviteRequest>,
) -> ApiResult<NewInvite> {
    let id = s.node.circles().resolve(&circle)?;
    let bound = match b.bound.as_deref().map(str::trim) {
        Some(text) => Some(text.parse::<crate::PeerId>().map_err(|_| {
            Error::Invalid(format!(
                "'{text}' is not a node id: ask the person for the peer id `circle status` shows"
            ))
        })?),
        None => None,
    };
    let invite = s
        .node
        .invite_for(&id, Duration::from_secs(b.expires_secs), b.uses, bound)
        .await?;
    Ok(Json(NewInvite {
        token: invite.to_token(),
        id: invite.id().to_string(),
        expires_at: invite.expires_at,
        addresses: invite.addrs,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/join/preview",
    tag = "membership",
    summary = "read a circle's name, format and guidelines before joining",
    request_body = JoinRequest,
    responses(
        (status = 200, description = "done", body = JoinPreview),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn join_preview(
    State(s): State<AppState>,
    Json(b): Json<JoinRequest>,
) -> ApiResult<JoinPreview> {
    let preview = s.node.preview_join(&b.token, b.nick.as_deref()).await?;
    Ok(Json(JoinPreview {
        name: preview.name,
        // The inviter's node says it in words; one this node does not know is left out.
        format: preview
            .format
            .as_deref()
            .and_then(|f| crate::support::Format::parse(f).ok()),
        guidelines: preview.guidelines,
        members: preview.members,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/join",
    tag = "membership",
    summary = "join a circle with an invite",
    request_body = JoinRequest,
    responses(
        (status = 200, description = "done", body = Joined),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn join(State(s): State<AppState>, Json(b): Json<JoinRequest>) -> ApiResult<Joined> {
    // Held already (left or removed): this join is a return.
    let returned = circle_crypto::Invite::from_token(&b.token)
        .is_ok_and(|invite| s.node.circles().contains(&invite.circle));
    let id = s.node.join(&b.token, b.nick.as_deref()).await?;
    let name = s
        .node
        .circles()
        .list()?
        .into_iter()
        .find(|c| c.id == id.to_string())
        .map(|c| c.name)
        .unwrap_or_default();
    Ok(Json(Joined {
        id: id.to_string(),
        name,
        returned,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The node's own failures (storage, files, a poisoned lock) answer 500 with a calm line:
    /// never 403, which tells the person they may not do what they asked.
    #[test]
    fn an_internal_failure_answers_500_never_403() {
        let internal = [
            Error::Store(sled::Error::Unsupported("a broken tree".into())),
            Error::io("reading the store", std::io::Error::other("disk gone")),
            Error::Internal("internal state was poisoned by an earlier failure".into()),
            crate::circles::poisoned(()),
        ];
        for error in internal {
            let said = error.to_string();
            let answer = error.into_response();
            assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR, "{said}");
        }
        let refused = Error::Refused("you may not".into()).into_response();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
}
