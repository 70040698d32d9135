//! A circle's feed: the share box, then what was said, newest first.

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};
use maud::{Markup, html};

use super::{api_form, circle_nav, listed, page, signed, time};
use crate::{
    api::AppState,
    circles::{CircleInfo, FeedItem},
    web::signed_in,
};

/// Feed items on a circle's first screen.
pub const FEED_PAGE: usize = 50;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/c/{circle}", get(circle_page))
}

async fn circle_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    headers: HeaderMap,
) -> Response {
    if signed_in(&s, &headers) {
        mark_seen(&s, &circle).await;
    }
    signed(&s, &headers, || {
        let c = listed(&s, &circle)?;
        let circles = s.node.circles();
        let id = circles.resolve(&c.id)?;
        let feed = circles.feed(&id, 0, Some(FEED_PAGE))?;
        Ok(feed_page(&c, &feed))
    })
}

/// Tells the circle that this member has now been shown its reach-outs (the feed shows them),
/// as `circle feed` does. Best effort: the page is shown either way.
async fn mark_seen(s: &AppState, circle: &str) {
    let circles = s.node.circles();
    let Ok(id) = circles.resolve(circle) else {
        return;
    };
    if circles.unseen_reach_outs(&id).is_ok_and(|u| !u.is_empty())
        && let Err(e) = s.node.write_with(move |c| c.mark_seen(&id)).await
    {
        tracing::debug!("could not tell the circle its reach-outs were seen: {e}");
    }
}

/// What happened to the circle itself (someone joined, a new name, ...): one quiet line.
const CIRCLE_EVENTS: [&str; 8] = [
    "joined",
    "left",
    "removed",
    "admin-granted",
    "admin-revoked",
    "policy",
    "renamed",
    "guidelines",
];

fn feed_item(item: &FeedItem) -> Markup {
    if CIRCLE_EVENTS.contains(&item.kind.as_str()) {
        // The node's text ends with where the CLI shows more (": see `circle info`").
        let text = item.text.split(": see `").next().unwrap_or(&item.text);
        return html! {
            li.event data-kind=(item.kind) { (text) " · " (time(&item.sent_at)) }
        };
    }
    let class = if item.urgent { "item urgent" } else { "item" };
    html! {
        li class=(class) data-kind=(item.kind) {
            p.meta {
                strong { (item.author_name) } " · " (time(&item.sent_at))
                @if item.kind != "share" { " · " span.kind { (item.kind.replace('-', " ")) } }
                @if item.private_to.is_some() { " · " span.kind { "private" } }
            }
            @if item.gone.is_some() {
                p.gone { (item.text) }
            } @else {
                p.text { (item.text) }
            }
        }
    }
}

/// A circle: the share box, then its feed, newest first.
fn feed_page(c: &CircleInfo, feed: &[FeedItem]) -> Markup {
    let shares = format!("/v1/circles/{}/shares", c.id);
    page(
        &c.name,
        html! {
            h1 { (c.name) }
            (circle_nav(c, ""))
            (api_form("share", &shares, "reload", html! {
                label for="share-text" { "Share with " (c.name) }
                textarea #share-text name="text" rows="3" required
                    data-missing="Write what you want to share first." {}
            }, "Share"))
            h2 { "Recently" }
            ol.feed #feed data-live="feed" data-circle=(c.id) {
                @for item in feed.iter().rev() { (feed_item(item)) }
                @if feed.is_empty() { li.quiet { "Nothing has been shared here yet." } }
            }
        },
    )
}
