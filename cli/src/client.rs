//! A client of the running node's local API.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use circle_node::contract::*;
use circle_node::{ApiInfo, Circles, Home, LocalApi, Node};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// How long one request to the node may take (joins wait up to 20 s for the inviter).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How a [`Client`] reaches its node's API.
enum Transport {
    /// The running node's API over HTTP.
    Http {
        info: ApiInfo,
        http: reqwest::Client,
    },
    /// The same API served in this process over the store, while the node is not running.
    Local { api: LocalApi, node: Node },
}

/// A connection to the node's API: the running node's, or the same API served in this process
/// over the store when the node is not running, so every command takes the same routes and
/// gets the same checks and answers either way.
pub struct Client {
    transport: Transport,
}

impl Client {
    /// Connects to the node of `home` if it runs. The server must first prove that it holds
    /// the token in `api.json` (without the token being sent): after a crash, another program
    /// could be listening on the old port, and it must get nothing.
    pub async fn connect(home: &Home) -> Option<Client> {
        let info = home.read_api()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .ok()?;
        let challenge = circle_crypto::text::encode(&rand::random::<[u8; 16]>());
        let hello: Hello = http
            .get(format!("{}/v1/hello?challenge={challenge}", info.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        if hello.proof != circle_node::api_proof(&info.token, &challenge) {
            return None;
        }
        Some(Client {
            transport: Transport::Http { info, http },
        })
    }

    /// Serves the node's API in this process over `circles` (the node is not running).
    pub fn offline(circles: Circles) -> Result<Client> {
        let node = Node::offline(circles)?;
        Ok(Client {
            transport: Transport::Local {
                api: LocalApi::new(node.clone()),
                node,
            },
        })
    }

    /// Whether the node is not running (this client serves its API in this process).
    pub fn is_offline(&self) -> bool {
        matches!(self.transport, Transport::Local { .. })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let (status, text) = match &self.transport {
            Transport::Http { info, http } => {
                let mut request = http
                    .request(method, format!("{}{path}", info.url))
                    .bearer_auth(&info.token);
                if let Some(body) = body {
                    request = request.json(&body);
                }
                http_send(request).await?
            }
            Transport::Local { api, node } => {
                let before = node.queued();
                let body = body.map(|b| b.to_string().into_bytes());
                let (status, bytes) = api.request(method.as_str(), path, body).await?;
                if node.queued() > before {
                    eprintln!(
                        "Saved. Your node is not running: this goes out to the circle when you \
                         next run `circle up`."
                    );
                }
                let status = reqwest::StatusCode::from_u16(status)
                    .unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
                (status, String::from_utf8_lossy(&bytes).into_owned())
            }
        };
        answer(status, &text)
    }

    /// GET a path.
    async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// GET with a long timeout (long polls: only on a running node, which has something to
    /// wait for).
    async fn get_waiting(&self, path: &str, wait: Duration) -> Result<Value> {
        let Transport::Http { info, http } = &self.transport else {
            return self.get(path).await;
        };
        let request = http
            .get(format!("{}{path}", info.url))
            .bearer_auth(&info.token)
            .timeout(wait + Duration::from_secs(10));
        let (status, text) = http_send(request).await?;
        answer(status, &text)
    }

    /// Sends one request with a typed body and reads the typed answer.
    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let body = body
            .map(serde_json::to_value)
            .transpose()
            .context("the request could not be written")?;
        typed(self.send(method, path, body).await?)
    }

    async fn read<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(reqwest::Method::GET, path, None::<&()>).await
    }

    async fn write<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        self.call(method, path, Some(body)).await
    }

    async fn act<T: DeserializeOwned>(&self, method: reqwest::Method, path: &str) -> Result<T> {
        self.call(method, path, None::<&()>).await
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<NodeStatus> {
        self.read("/v1/status").await
    }

    /// `GET /v1/circles`.
    pub async fn circles(&self) -> Result<Vec<CircleInfo>> {
        self.read("/v1/circles").await
    }

    /// `POST /v1/circles`.
    pub async fn create_circle(&self, body: &CreateCircle) -> Result<Created> {
        self.write(reqwest::Method::POST, "/v1/circles", body).await
    }

    /// `GET /v1/circles/{circle}/members`.
    pub async fn members(&self, circle: &str) -> Result<Vec<MemberInfo>> {
        self.read(&in_circle(circle, "members")).await
    }

    /// `DELETE /v1/circles/{circle}/members/{member}`.
    pub async fn remove(&self, circle: &str, member: &str) -> Result<Written> {
        let path = format!("{}/{}", in_circle(circle, "members"), segment(member));
        self.act(reqwest::Method::DELETE, &path).await
    }

    /// `POST /v1/circles/{circle}/leave`.
    pub async fn leave(&self, circle: &str) -> Result<Written> {
        self.act(reqwest::Method::POST, &in_circle(circle, "leave"))
            .await
    }

    /// `POST /v1/circles/{circle}/rekey`: a new key epoch, started by hand.
    pub async fn rekey(&self, circle: &str) -> Result<Written> {
        self.act(reqwest::Method::POST, &in_circle(circle, "rekey"))
            .await
    }

    /// `PUT` (grant) or `DELETE` (revoke) `/v1/circles/{circle}/admins/{member}`.
    pub async fn set_admin(&self, circle: &str, member: &str, admin: bool) -> Result<Written> {
        let path = format!("{}/{}", in_circle(circle, "admins"), segment(member));
        let method = if admin {
            reqwest::Method::PUT
        } else {
            reqwest::Method::DELETE
        };
        self.act(method, &path).await
    }

    /// `PUT /v1/circles/{circle}/policy`.
    pub async fn set_policy(&self, circle: &str, body: &PolicyChange) -> Result<Written> {
        self.write(reqwest::Method::PUT, &in_circle(circle, "policy"), body)
            .await
    }

    /// `PUT /v1/circles/{circle}/name`.
    #[allow(dead_code)] // the web app's route; no command of the CLI uses it yet
    pub async fn rename(&self, circle: &str, body: &Rename) -> Result<Written> {
        self.write(reqwest::Method::PUT, &in_circle(circle, "name"), body)
            .await
    }

    /// `GET /v1/circles/{circle}/invites`.
    pub async fn invites(&self, circle: &str) -> Result<Vec<InviteInfo>> {
        self.read(&in_circle(circle, "invites")).await
    }

    /// `POST /v1/circles/{circle}/invites`.
    pub async fn invite(&self, circle: &str, body: &InviteRequest) -> Result<NewInvite> {
        self.write(reqwest::Method::POST, &in_circle(circle, "invites"), body)
            .await
    }

    /// `DELETE /v1/circles/{circle}/invites/{invite}`.
    pub async fn revoke_invite(&self, circle: &str, invite: &str) -> Result<Written> {
        let path = format!("{}/{}", in_circle(circle, "invites"), segment(invite));
        self.act(reqwest::Method::DELETE, &path).await
    }

    /// `GET /v1/circles/{circle}/feed`; with `wait_ms`, a long poll on a running node.
    pub async fn feed(&self, circle: &str, query: &FeedQuery) -> Result<FeedPage> {
        let mut path = in_circle(circle, "feed");
        let mut sep = '?';
        for (name, value) in [
            ("after", query.after),
            ("limit", query.limit.map(|l| l as u64)),
            ("wait_ms", query.wait_ms),
        ] {
            if let Some(value) = value {
                path.push_str(&format!("{sep}{name}={value}"));
                sep = '&';
            }
        }
        match query.wait_ms {
            Some(wait) if wait > 0 => {
                typed(self.get_waiting(&path, Duration::from_millis(wait)).await?)
            }
            _ => self.read(&path).await,
        }
    }

    /// `POST /v1/join`.
    pub async fn join(&self, body: &JoinRequest) -> Result<Joined> {
        self.write(reqwest::Method::POST, "/v1/join", body).await
    }

    /// `POST /v1/join/preview`.
    pub async fn join_preview(&self, body: &JoinRequest) -> Result<JoinPreview> {
        self.write(reqwest::Method::POST, "/v1/join/preview", body)
            .await
    }

    /// `POST /v1/sign-in`.
    pub async fn sign_in_link(&self) -> Result<SignInLink> {
        self.act(reqwest::Method::POST, "/v1/sign-in").await
    }

    /// `POST /v1/recovery/phrase`.
    pub async fn recovery_phrase(&self, body: &ShowPhrase) -> Result<Phrase> {
        self.write(reqwest::Method::POST, "/v1/recovery/phrase", body)
            .await
    }

    /// `POST /v1/backup`.
    pub async fn backup(&self, body: &WriteBackup) -> Result<BackupInfo> {
        self.write(reqwest::Method::POST, "/v1/backup", body).await
    }

    /// `POST /v1/backup/to-circle`.
    pub async fn leave_backup(&self, body: &LeaveBackup) -> Result<LeftBackups> {
        self.write(reqwest::Method::POST, "/v1/backup/to-circle", body)
            .await
    }

    /// `GET /v1/relay/backups`.
    pub async fn held_backups(&self) -> Result<Vec<HeldBackup>> {
        self.read("/v1/relay/backups").await
    }

    /// `DELETE /v1/relay/backups/{member}`.
    pub async fn drop_held_backup(&self, member: &str) -> Result<HeldBackup> {
        self.act(
            reqwest::Method::DELETE,
            &format!("/v1/relay/backups/{}", segment(member)),
        )
        .await
    }

    /// `POST /v1/sign-out-all`.
    pub async fn sign_out_all(&self) -> Result<SignedOut> {
        self.act(reqwest::Method::POST, "/v1/sign-out-all").await
    }

    /// `POST /v1/circles/{circle}/shares`.
    pub async fn share(&self, circle: &str, body: &ShareRequest) -> Result<Written> {
        self.write(reqwest::Method::POST, &in_circle(circle, "shares"), body)
            .await
    }

    /// `POST /v1/messages/{id}/reactions`.
    pub async fn react(&self, id: &str, body: &ReactRequest) -> Result<Written> {
        self.write(reqwest::Method::POST, &on_message(id, "reactions"), body)
            .await
    }

    /// `POST /v1/messages/{id}/withdraw`.
    pub async fn withdraw(&self, id: &str) -> Result<Written> {
        self.act(reqwest::Method::POST, &on_message(id, "withdraw"))
            .await
    }

    /// `POST /v1/messages/{id}/done`.
    pub async fn goal_done(&self, id: &str) -> Result<Written> {
        self.act(reqwest::Method::POST, &on_message(id, "done"))
            .await
    }

    /// `GET /v1/circles/{circle}/checkins`.
    pub async fn checkins(&self, circle: &str) -> Result<CheckinsView> {
        self.read(&in_circle(circle, "checkins")).await
    }

    /// `POST /v1/circles/{circle}/checkins`.
    pub async fn checkin(&self, circle: &str, body: &CheckinRequest) -> Result<Written> {
        self.write(reqwest::Method::POST, &in_circle(circle, "checkins"), body)
            .await
    }

    /// `GET /v1/circles/{circle}/goals`.
    pub async fn goals(&self, circle: &str) -> Result<Vec<GoalItem>> {
        self.read(&in_circle(circle, "goals")).await
    }

    /// `POST /v1/circles/{circle}/goals`.
    pub async fn goal(&self, circle: &str, body: &GoalRequest) -> Result<Written> {
        self.write(reqwest::Method::POST, &in_circle(circle, "goals"), body)
            .await
    }

    /// `GET /v1/circles/{circle}/partners`.
    pub async fn partners(&self, circle: &str) -> Result<Vec<PartnerItem>> {
        self.read(&in_circle(circle, "partners")).await
    }

    /// `POST /v1/circles/{circle}/partners`.
    pub async fn partner(&self, circle: &str, body: &PartnerRequest) -> Result<Written> {
        self.write(reqwest::Method::POST, &in_circle(circle, "partners"), body)
            .await
    }

    /// `POST /v1/circles/{circle}/dms`.
    pub async fn dm(&self, circle: &str, body: &DmRequest) -> Result<Written> {
        self.write(reqwest::Method::POST, &in_circle(circle, "dms"), body)
            .await
    }

    /// `GET /v1/circles/{circle}/reach-outs`.
    pub async fn reach_outs(&self, circle: &str) -> Result<Vec<ReachOutItem>> {
        self.read(&in_circle(circle, "reach-outs")).await
    }

    /// `POST /v1/circles/{circle}/reach-outs`.
    pub async fn reach_out(&self, circle: &str, body: &ReachOutRequest) -> Result<Written> {
        self.write(
            reqwest::Method::POST,
            &in_circle(circle, "reach-outs"),
            body,
        )
        .await
    }

    /// `POST /v1/circles/{circle}/seen`.
    pub async fn seen(&self, circle: &str) -> Result<Acknowledged> {
        self.act(reqwest::Method::POST, &in_circle(circle, "seen"))
            .await
    }

    /// `GET /v1/circles/{circle}/meetings`, in `tz` (default: this computer's zone).
    pub async fn meetings(&self, circle: &str, tz: Option<&str>) -> Result<Vec<MeetingItem>> {
        let mut path = in_circle(circle, "meetings");
        if let Some(tz) = tz {
            path.push_str(&format!("?tz={}", segment(tz)));
        }
        self.read(&path).await
    }

    /// `POST /v1/circles/{circle}/meetings`.
    pub async fn meeting(&self, circle: &str, body: &MeetingRequest) -> Result<Written> {
        self.write(reqwest::Method::POST, &in_circle(circle, "meetings"), body)
            .await
    }

    /// `GET /v1/circles/{circle}/resources`.
    pub async fn resources(&self, circle: &str) -> Result<Vec<ResourceItem>> {
        self.read(&in_circle(circle, "resources")).await
    }

    /// `POST /v1/circles/{circle}/resources`.
    pub async fn resource(&self, circle: &str, body: &ResourceRequest) -> Result<Written> {
        self.write(reqwest::Method::POST, &in_circle(circle, "resources"), body)
            .await
    }

    /// `GET /v1/circles/{circle}/info`.
    pub async fn info(&self, circle: &str) -> Result<CircleDetails> {
        self.read(&in_circle(circle, "info")).await
    }

    /// `PUT /v1/circles/{circle}/guidelines`.
    #[allow(dead_code)] // the web app's route; no command of the CLI uses it yet
    pub async fn guidelines(&self, circle: &str, body: &GuidelinesRequest) -> Result<Written> {
        self.write(reqwest::Method::PUT, &in_circle(circle, "guidelines"), body)
            .await
    }

    /// `GET /v1/crisis-lines`.
    pub async fn crisis_lines(&self) -> Result<CrisisLines> {
        self.read("/v1/crisis-lines").await
    }

    /// `PUT /v1/crisis-lines`.
    pub async fn set_crisis_lines(&self, body: &CrisisLinesChange) -> Result<CrisisLines> {
        self.write(reqwest::Method::PUT, "/v1/crisis-lines", body)
            .await
    }

    /// `GET /v1/clocks`.
    pub async fn clocks(&self) -> Result<Vec<ClockItem>> {
        self.read("/v1/clocks").await
    }

    /// `POST /v1/clocks`.
    pub async fn clock_start(&self, body: &ClockStart) -> Result<ClockItem> {
        self.write(reqwest::Method::POST, "/v1/clocks", body).await
    }

    /// `POST /v1/clocks/{name}/reset`.
    pub async fn clock_reset(&self, name: &str, body: &ClockResetRequest) -> Result<ClockReset> {
        let path = format!("/v1/clocks/{}/reset", segment(name));
        self.write(reqwest::Method::POST, &path, body).await
    }

    /// `POST /v1/clocks/{name}/share`.
    pub async fn clock_share(&self, name: &str, body: &ClockShareRequest) -> Result<ClockItem> {
        let path = format!("/v1/clocks/{}/share", segment(name));
        self.write(reqwest::Method::POST, &path, body).await
    }

    /// Opens the node's live event stream (Server-Sent Events at `/v1/events`), to be read
    /// chunk by chunk. It is closed after `limit` at the latest (open it again to go on).
    pub async fn events(&self, limit: Duration) -> Result<reqwest::Response> {
        let Transport::Http { info, http } = &self.transport else {
            bail!(
                "following a circle needs your node running: start it with `circle up`, then try again"
            );
        };
        let response = http
            .get(format!("{}/v1/events", info.url))
            .header("accept", "text/event-stream")
            .timeout(limit)
            .bearer_auth(&info.token)
            .send()
            .await
            .context("could not open the node's event stream")?;
        let status = response.status();
        if !status.is_success() {
            let body: Option<ErrorBody> = response.json().await.ok();
            let message = body
                .map(|b| b.error)
                .unwrap_or_else(|| format!("the node refused the event stream ({status})"));
            return Err(anyhow!("{message}"));
        }
        Ok(response)
    }
}

/// The body of a successful answer, or the node's error as one line.
fn answer(status: reqwest::StatusCode, text: &str) -> Result<Value> {
    let body: Option<Value> = serde_json::from_str(text).ok();
    match (status.is_success(), body) {
        (true, Some(body)) => Ok(body),
        (true, None) => Err(anyhow!("the node's answer could not be read")),
        (false, body) => {
            let message = body
                .and_then(|b| serde_json::from_value::<ErrorBody>(b).ok())
                .map(|b| b.error)
                .unwrap_or_else(|| format!("the node refused the request ({status})"));
            Err(anyhow!("{message}"))
        }
    }
}

/// Reads a successful answer as the contract's type.
fn typed<T: DeserializeOwned>(body: Value) -> Result<T> {
    serde_json::from_value(body).context("the node's answer could not be read")
}

/// `/v1/circles/{circle}/{what}`.
fn in_circle(circle: &str, what: &str) -> String {
    format!("/v1/circles/{}/{what}", segment(circle))
}

/// `/v1/messages/{id}/{what}`.
fn on_message(id: &str, what: &str) -> String {
    format!("/v1/messages/{}/{what}", segment(id))
}

/// Sends a request to the running node; returns the status and the body's text.
async fn http_send(request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, String)> {
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) if e.is_connect() => {
            return Err(anyhow!(
                "the node has stopped: start it again with `circle up`"
            ));
        }
        Err(e) if e.is_timeout() => {
            return Err(anyhow!(
                "the node is not answering (is `circle up` paused or stuck?): what you asked \
                 for may or may not have happened; check with `circle feed`"
            ));
        }
        Err(e) => return Err(e).context("lost contact with the running node"),
    };
    let status = response.status();
    let text = response
        .text()
        .await
        .context("the node's answer could not be read")?;
    Ok((status, text))
}

/// Percent-encodes a path segment (circle names may contain spaces).
pub fn segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
