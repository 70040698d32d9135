//! A client of the running node's local API.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use circle_node::{ApiInfo, Circles, Home, LocalApi, Node};
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
        let hello: Value = http
            .get(format!("{}/v1/hello?challenge={challenge}", info.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        if hello["proof"].as_str() != Some(&circle_node::api_proof(&info.token, &challenge)) {
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
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// GET with a long timeout (long polls: only on a running node, which has something to
    /// wait for).
    pub async fn get_waiting(&self, path: &str, wait: Duration) -> Result<Value> {
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
            let body: Value = response.json().await.unwrap_or_default();
            let message = body["error"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("the node refused the event stream ({status})"));
            return Err(anyhow!("{message}"));
        }
        Ok(response)
    }

    /// POST JSON to a path.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// PUT JSON to a path.
    pub async fn put(&self, path: &str, body: Value) -> Result<Value> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    /// DELETE a path.
    pub async fn delete(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::DELETE, path, None).await
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
                .as_ref()
                .and_then(|b| b["error"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("the node refused the request ({status})"));
            Err(anyhow!("{message}"))
        }
    }
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
