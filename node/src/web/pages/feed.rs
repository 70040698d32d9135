//! A circle's feed: the share box, then what was said, newest first.

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};
use maud::{Markup, html};

use super::{api_form, circle_nav, listed, page, signed, time};
use circle_crypto::CircleId;

use crate::{
    api::{AppState, contract::Kind},
    circles::{CircleInfo, FeedItem},
    error::Error,
    time::now_ms,
    web::signed_in,
};

/// The reactions offered under each message.
const REACTIONS: [&str; 5] = ["🙏", "❤", "💪", "🤝", "🎉"];

/// Feed items on a circle's first screen.
pub const FEED_PAGE: usize = 50;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/c/{circle}", get(circle_page))
}

/// `?before=CURSOR`: the page of messages that arrived before it.
#[derive(serde::Deserialize)]
struct PageQuery {
    before: Option<u64>,
}

async fn circle_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let shown = signed_in(&s, &headers).then(|| -> Result<_, Error> {
        let c = listed(&s, &circle)?;
        let id = s.node.circles().resolve(&c.id)?;
        let (feed, older) = s.node.circles().feed_before(&id, q.before, FEED_PAGE)?;
        Ok((c, id, feed, older))
    });
    // A reach-out on this screen is now seen, as `circle feed` tells the circle; only then is
    // the whole circle read for what is unseen, so an ordinary screen reads its own page alone.
    if let Some(Ok((c, id, feed, _))) = &shown
        && feed.iter().any(|i| i.urgent && i.author != c.me)
    {
        mark_seen(&s, *id).await;
    }
    signed(&s, &headers, move || {
        let (c, _, feed, older) =
            shown.unwrap_or_else(|| Err(Error::Invalid("not signed in".into())))?;
        Ok(feed_page(&c, &feed, q.before.is_some(), older, now_ms()))
    })
}

/// Tells the circle that this member has now been shown its reach-outs (the feed shows them),
/// as `circle feed` does. Best effort: the page is shown either way.
async fn mark_seen(s: &AppState, id: CircleId) {
    let circles = s.node.circles();
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

/// A member as every page shows one: nickname, then the fingerprint in a quieter style.
fn who(name: &str, fingerprint: &str) -> Markup {
    html! { strong { (name) } " " span.fp { "· " (fingerprint) } }
}

/// How long until `expires_at` (RFC 3339), as people say it: "3 h", "2 days", "a few minutes".
fn time_left(expires_at: &str, now_ms: u64) -> Option<String> {
    let at = humantime::parse_rfc3339_weak(expires_at).ok()?;
    let at_ms = u64::try_from(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()?;
    let left = at_ms.saturating_sub(now_ms) / 1000;
    let hours = left / 3600;
    Some(match hours {
        0 if left < 3600 => match left / 60 {
            0..=4 => "a few minutes".to_string(),
            m => format!("{m} minutes"),
        },
        0..=47 => format!("{hours} h"),
        h => format!("{} days", h / 24),
    })
}

/// Reactions grouped by emoji, in the order first given, each with who gave it.
fn grouped<'a>(reactions: &[&'a FeedItem]) -> Vec<(&'a str, Vec<&'a FeedItem>)> {
    let mut groups: Vec<(&str, Vec<&FeedItem>)> = Vec::new();
    for r in reactions {
        match groups.iter_mut().find(|(e, _)| *e == r.text) {
            Some((_, who)) => who.push(r),
            None => groups.push((&r.text, vec![r])),
        }
    }
    groups
}

/// What can be done with a message: a reaction, a reply, and for one's own, withdrawing it.
fn actions(c: &CircleInfo, item: &FeedItem, mine: bool) -> Markup {
    let reply_id = format!("reply-{}", item.id);
    html! {
        div.actions {
            // One form, one button an emoji: the button pressed is what is sent.
            form id={ "react-" (item.id) } data-api={ "/v1/messages/" (item.id) "/reactions" } data-then="reload" novalidate {
                div.reactions role="group" aria-label={ "React to " (item.author_name) "'s message" } {
                    @for e in REACTIONS {
                        button type="submit" name="emoji" value=(e) aria-label={ "React " (e) } { (e) }
                    }
                }
                p.error role="alert" hidden {}
            }
            details.reply {
                summary { "Reply" }
                (api_form(&reply_id, &format!("/v1/circles/{}/shares", c.id), "reload", html! {
                    input type="hidden" name="reply_to" value=(item.id);
                    label for={ (reply_id) "-text" } { "Your reply to " (item.author_name) }
                    textarea id={ (reply_id) "-text" } name="text" rows="2" required
                        data-missing="Write your reply first." {}
                }, "Send reply"))
            }
            @if mine {
                (api_form(&format!("withdraw-{}", item.id), &format!("/v1/messages/{}/withdraw", item.id), "reload", html! {
                    div.confirm hidden {
                        p { "Withdraw this message? Its words are removed from this feed on every member's computer, and this cannot be undone." }
                        button type="button" data-confirm="yes" { "Yes, withdraw it" }
                        button type="button" data-confirm="no" { "Keep it" }
                    }
                }, "Withdraw"))
            }
        }
    }
}

fn feed_item(c: &CircleInfo, item: &FeedItem, reactions: &[&FeedItem], now_ms: u64) -> Markup {
    if CIRCLE_EVENTS.contains(&item.kind.as_str()) {
        // The node's text ends with where the CLI shows more (": see `circle info`").
        let text = item.text.split(": see `").next().unwrap_or(&item.text);
        return html! {
            li.event data-kind=(item.kind) { (text) " · " (time(&item.sent_at)) }
        };
    }
    let class = if item.urgent { "item urgent" } else { "item" };
    let open = item.gone.is_none() && item.private_to.is_none();
    html! {
        li class=(class) data-kind=(item.kind) data-id=(item.id) {
            p.meta {
                (who(&item.author_name, &item.author_fingerprint)) " · " (time(&item.sent_at))
                @if item.kind != Kind::Share { " · " span.kind { (item.kind.as_str().replace('-', " ")) } }
                @if item.private_to.is_some() { " · " span.kind { "private" } }
            }
            @if let Some(quote) = &item.reply_text && item.kind != Kind::GoalDone {
                p.quote {
                    @if item.kind == Kind::Reaction { "Reacted to " } @else { "In reply to " }
                    q { (quote) }
                }
            }
            @if item.gone.is_some() {
                p.gone { (item.text) }
            } @else {
                p.text { (item.text) }
            }
            @if open && let Some(left) = item.expires_at.as_deref().and_then(|e| time_left(e, now_ms)) {
                p.expires { "Disappears in " (left) }
            }
            @if !reactions.is_empty() {
                ul.reacted aria-label="Reactions" {
                    @for (emoji, people) in grouped(reactions) {
                        li {
                            (emoji) " " (people.len()) ": "
                            @for (i, r) in people.iter().enumerate() {
                                @if i > 0 { ", " }
                                (r.author_name) " " span.fp { "· " (r.author_fingerprint) }
                            }
                        }
                    }
                }
            }
            @if open && item.kind != Kind::Reaction {
                (actions(c, item, item.author == c.me))
            }
        }
    }
}

/// A circle: the share box, then its feed, newest first, a page at a time.
fn feed_page(
    c: &CircleInfo,
    feed: &[FeedItem],
    paged: bool,
    older: Option<u64>,
    now_ms: u64,
) -> Markup {
    let shares = format!("/v1/circles/{}/shares", c.id);
    // Reactions show under the message they answer when it is on this page.
    let here: std::collections::HashSet<&str> = feed.iter().map(|i| i.id.as_str()).collect();
    let mut reactions: HashMap<&str, Vec<&FeedItem>> = HashMap::new();
    for r in feed
        .iter()
        .filter(|i| i.kind == Kind::Reaction && i.gone.is_none())
    {
        if let Some(to) = r.reply_to.as_deref().filter(|t| here.contains(t)) {
            reactions.entry(to).or_default().push(r);
        }
    }
    let grouped_away = |i: &FeedItem| {
        i.kind == Kind::Reaction
            && i.reply_to
                .as_deref()
                .is_some_and(|t| reactions.contains_key(t))
    };
    page(
        &c.name,
        html! {
            h1 { (c.name) }
            (circle_nav(c, ""))
            (api_form("share", &shares, "reload", html! {
                label for="share-text" { "Share with " (c.name) }
                textarea #share-text name="text" rows="3" required
                    data-missing="Write what you want to share first." {}
                label for="share-expires" { "Disappear after" }
                select #share-expires name="expires" {
                    option value="" { "Never" }
                    option value="24h" { "24 hours" }
                    option value="7d" { "7 days" }
                }
            }, "Share"))
            h2 { @if paged { "Earlier" } @else { "Recently" } }
            @if paged { p { a href={ "/c/" (c.id) } { "Back to the newest messages" } } }
            ol.feed #feed data-live="feed" data-circle=(c.id) {
                @for item in feed.iter().rev().filter(|i| !grouped_away(i)) {
                    (feed_item(c, item, reactions.get(item.id.as_str()).map_or(&[][..], |v| v), now_ms))
                }
                @if feed.is_empty() { li.quiet { "Nothing has been shared here yet." } }
            }
            @if let Some(cursor) = older {
                p.older { a href={ "/c/" (c.id) "?before=" (cursor) } { "Older messages" } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::time_left;

    #[test]
    fn time_left_reads_as_people_say_it() {
        let now = 1_700_000_000_000;
        let at = |ms: u64| crate::time::rfc3339(now + ms);
        assert_eq!(
            time_left(&at(3 * 3600 * 1000 + 60_000), now).unwrap(),
            "3 h"
        );
        assert_eq!(time_left(&at(7 * 24 * 3600 * 1000), now).unwrap(), "7 days");
        assert_eq!(time_left(&at(20 * 60 * 1000), now).unwrap(), "20 minutes");
        assert_eq!(time_left(&at(60_000), now).unwrap(), "a few minutes");
        assert_eq!(time_left(&at(0), now).unwrap(), "a few minutes");
    }
}
