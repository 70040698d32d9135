//! Accountability partners in a circle: ask someone, answer a request, take one back or end a
//! partnership (asked first), and write to a partner privately.

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
    api::{AppState, contract::PartnerState},
    circles::{CircleInfo, FeedItem, MemberInfo, PartnerItem},
    time::now_ms,
};

/// The newest private messages shown here.
const DMS_SHOWN: usize = 50;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/c/{circle}/partners", get(partners_page))
}

async fn partners_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed(&s, &headers, || {
        let c = listed(&s, &circle)?;
        let circles = s.node.circles();
        let id = circles.resolve(&c.id)?;
        let partners = circles.partners(&id, now_ms())?;
        let members = circles.members(&id)?;
        let dms = circles.direct_messages(&id, DMS_SHOWN)?;
        Ok(partners_screen(&c, &partners, &members, &dms))
    })
}

/// A form that sends one partner step about `member`: `step` when given, else the one of the
/// pressed button (a confirmed step must be given: the confirmation presses no named button).
fn step_form(
    c: &CircleInfo,
    id: &str,
    member: &str,
    step: Option<&str>,
    buttons: Markup,
    confirm: Option<Markup>,
) -> Markup {
    html! {
        form id=(id) data-api={ "/v1/circles/" (c.id) "/partners" } data-then={ "/c/" (c.id) "/partners" } novalidate {
            input type="hidden" name="member" value=(member);
            @if let Some(step) = step { input type="hidden" name="step" value=(step); }
            @if let Some(confirm) = confirm { (confirm) }
            p.error role="alert" hidden {}
            div.steps { (buttons) }
        }
    }
}

fn partner(c: &CircleInfo, p: &PartnerItem, n: usize) -> Markup {
    html! {
        li.item.partner {
            p { strong { (p.name) } " " span.fp { "· " (p.fingerprint) } }
            @match p.state {
                PartnerState::Partner => {
                    p.meta { "Your accountability partner since " (time(&p.since)) }
                    p.meta {
                        @if let Some(last) = &p.last_checkin { "Last check-in " (time(last)) } @else { "No check-in you can see yet" }
                    }
                    @if p.missed_checkin {
                        p.missed { (p.name) " missed their usual check-in. A short message may help." }
                    }
                    (api_form(&format!("dm-{n}"), &format!("/v1/circles/{}/dms", c.id), &format!("/c/{}/partners", c.id), html! {
                        input type="hidden" name="member" value=(p.member);
                        label for={ "dm-" (n) "-text" } { "A private message to " (p.name) }
                        textarea id={ "dm-" (n) "-text" } name="text" rows="2" required
                            data-missing="Write your message first." {}
                    }, "Send privately"))
                    (step_form(c, &format!("end-{n}"), &p.member, Some("end"), html! {
                        button type="submit" { "End the partnership" }
                    }, Some(html! {
                        div.confirm hidden {
                            p { "End your partnership with " (p.name) "? You will no longer see each other's partner-only check-ins and goals." }
                            button type="button" data-confirm="yes" { "Yes, end it" }
                            button type="button" data-confirm="no" { "Keep it" }
                        }
                    })))
                }
                PartnerState::AskedYou => {
                    p.meta { "Asked you to be their accountability partner " (time(&p.since)) }
                    (step_form(c, &format!("answer-{n}"), &p.member, None, html! {
                        button type="submit" name="step" value="accept" { "Accept" }
                        " "
                        button type="submit" name="step" value="decline" { "Decline" }
                    }, None))
                }
                _ => {
                    p.meta { "You asked " (time(&p.since)) "; waiting for their answer" }
                    (step_form(c, &format!("back-{n}"), &p.member, Some("end"), html! {
                        button type="submit" { "Take back my request" }
                    }, None))
                }
            }
        }
    }
}

/// The partners page: partners and requests, then who to ask, then private messages.
fn partners_screen(
    c: &CircleInfo,
    partners: &[PartnerItem],
    members: &[MemberInfo],
    dms: &[FeedItem],
) -> Markup {
    let askable: Vec<&MemberInfo> = members
        .iter()
        .filter(|m| !m.me && !partners.iter().any(|p| p.member == m.member))
        .collect();
    page(
        &format!("Partners in {}", c.name),
        html! {
            h1 { "Accountability partners" }
            (circle_nav(c, "/partners"))
            p.quiet { "Partners see each other's partner-only check-ins and goals, can write privately, and are told when the other misses their usual check-in." }
            @if partners.is_empty() {
                p { "No partner or request yet." }
            } @else {
                ul.feed #partners { @for (n, p) in partners.iter().enumerate() { (partner(c, p, n)) } }
            }
            @if !askable.is_empty() {
                h2 { "Ask someone" }
                (api_form("ask", &format!("/v1/circles/{}/partners", c.id), &format!("/c/{}/partners", c.id), html! {
                    input type="hidden" name="step" value="request";
                    label for="ask-member" { "Who" }
                    select #ask-member name="member" {
                        @for m in &askable { option value=(m.member) { (m.name) " · " (m.fingerprint) } }
                    }
                }, "Ask to be partners"))
            }
            h2 { "Private messages" }
            ol.feed #dms data-live="dms" {
                @for d in dms.iter().rev() {
                    li.item data-kind="dm" {
                        p.meta {
                            strong { (d.author_name) } " " span.fp { "· " (d.author_fingerprint) }
                            " · " (time(&d.sent_at))
                            @if let Some(to) = &d.private_to_members {
                                " · to " @for (i, m) in to.iter().enumerate() {
                                    @if i > 0 { ", " } (m.name) " " span.fp { "· " (m.fingerprint) }
                                }
                            }
                        }
                        p.text { (d.text) }
                    }
                }
                @if dms.is_empty() { li.quiet { "No private messages yet." } }
            }
        },
    )
}
