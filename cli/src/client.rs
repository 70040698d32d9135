//! A client of the running node's local API.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use circle_node::{ApiInfo, Home};
use serde_json::Value;

/// How long one request to the node may take (joins wait up to 20 s for the inviter).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to a running node.
pub struct Client {
    info: ApiInfo,
    http: reqwest::Client,
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
        Some(Client { info, http })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value> {
        let response = match request.bearer_auth(&self.info.token).send().await {
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
        let body: Option<Value> = serde_json::from_str(&text).ok();
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

    /// GET a path.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.info.url)))
            .await
    }

    /// GET with a long timeout (long polls).
    pub async fn get_waiting(&self, path: &str, wait: Duration) -> Result<Value> {
        let request = self
            .http
            .get(format!("{}{path}", self.info.url))
            .timeout(wait + Duration::from_secs(10));
        self.send(request).await
    }

    /// Opens the node's live event stream (Server-Sent Events at `/v1/events`), to be read
    /// chunk by chunk. It is closed after `limit` at the latest (open it again to go on).
    pub async fn events(&self, limit: Duration) -> Result<reqwest::Response> {
        let response = self
            .http
            .get(format!("{}/v1/events", self.info.url))
            .header("accept", "text/event-stream")
            .timeout(limit)
            .bearer_auth(&self.info.token)
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
        self.send(
            self.http
                .post(format!("{}{path}", self.info.url))
                .json(&body),
        )
        .await
    }

    /// PUT JSON to a path.
    pub async fn put(&self, path: &str, body: Value) -> Result<Value> {
        self.send(
            self.http
                .put(format!("{}{path}", self.info.url))
                .json(&body),
        )
        .await
    }

    /// DELETE a path.
    pub async fn delete(&self, path: &str) -> Result<Value> {
        self.send(self.http.delete(format!("{}{path}", self.info.url)))
            .await
    }
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
