//! The page's live stream (Server-Sent Events): `changed` whenever a circle's messages or
//! membership change (the page then reloads what it shows, so tabs stay in step), and the
//! node's own events (reach-outs, reminders, missed check-ins) for notifications.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use futures::Stream;
use serde_json::json;

use super::session::SessionKey;
use crate::api::AppState;

/// Changes closer together than this reach the page as one.
const SETTLE: Duration = Duration::from_millis(150);
/// How often an open stream counts as its session's activity (and ends if the session did).
const KEEP_ALIVE: Duration = Duration::from_secs(60);

pub(super) async fn events(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let Some(session) = s.sessions.session(&headers) else {
        return (StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    Sse::new(stream(s, session))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn stream(s: AppState, session: SessionKey) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<SseEvent>(16);
    tokio::spawn(async move {
        let mut arrivals = s.node.circles().watch();
        let mut membership = s.node.circles().watch_membership();
        let mut events = s.node.events();
        let mut stopping = s.stopping.clone();
        let mut alive = tokio::time::interval(KEEP_ALIVE);
        loop {
            let data = tokio::select! {
                _ = alive.tick() => {
                    // A person's open tab keeps them signed in; signing out ends it.
                    if !s.sessions.keep_alive(session) { return; }
                    continue;
                }
                changed = arrivals.changed() => {
                    if changed.is_err() { return; }
                    settle(&mut arrivals).await;
                    json!({ "type": "changed" }).to_string()
                }
                changed = membership.changed() => {
                    if changed.is_err() { return; }
                    json!({ "type": "changed" }).to_string()
                }
                event = events.recv() => match event {
                    Ok(e) => match serde_json::to_string(&e) {
                        Ok(data) => data,
                        Err(_) => continue,
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        json!({ "type": "changed" }).to_string()
                    }
                    Err(_) => return,
                },
                _ = async { let _ = stopping.wait_for(|s| *s).await; } => return,
            };
            if tx.send(SseEvent::default().data(data)).await.is_err() {
                return;
            }
        }
    });
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
    )
}

/// Waits until arrivals stop coming for a moment (a catch-up brings thousands at once).
async fn settle(arrivals: &mut tokio::sync::watch::Receiver<u64>) {
    while let Ok(Ok(())) = tokio::time::timeout(SETTLE, arrivals.changed()).await {}
}
