//! A circle's meetings (each next start shown in the viewer's own time zone by the page's
//! script) and its pinned resources, with forms to add either.

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
    circles::{CircleInfo, MeetingItem, ResourceItem},
    time::now_ms,
};

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/c/{circle}/meetings", get(meetings_page))
}

async fn meetings_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed(&s, &headers, || {
        let c = listed(&s, &circle)?;
        let circles = s.node.circles();
        let id = circles.resolve(&c.id)?;
        // Next starts as instants (UTC): the page shows them in the browser's own zone.
        let meetings = circles.meetings(&id, "UTC", now_ms())?;
        let resources = circles.resources(&id)?;
        Ok(meetings_screen(&c, &meetings, &resources))
    })
}

/// A link a member wrote, as a link only when it is a web address (never `javascript:`).
fn link(url: &str) -> Markup {
    let web = url.starts_with("https://") || url.starts_with("http://");
    html! {
        @if web { a href=(url) rel="noopener noreferrer" { (url) } } @else { (url) }
    }
}

fn meetings_screen(c: &CircleInfo, meetings: &[MeetingItem], resources: &[ResourceItem]) -> Markup {
    let back = format!("/c/{}/meetings", c.id);
    page(
        &format!("Meetings of {}", c.name),
        html! {
            h1 { "Meetings and resources" }
            (circle_nav(c, "/meetings"))
            h2 { "Meetings" }
            @if meetings.is_empty() {
                p.quiet { "No meeting yet." }
            } @else {
                ul.feed #meetings {
                    @for m in meetings {
                        li.item.meeting {
                            p.text { strong { (m.title) } }
                            p {
                                @if let Some(next) = &m.next { "Next: " (time(next)) } @else { "This meeting has passed." }
                            }
                            p.meta {
                                (m.when) " (" (m.zone) ") · added by " (m.added_by) " " span.fp { "· " (m.added_by_fingerprint) }
                            }
                            @if let Some(url) = &m.link { p { (link(url)) } }
                        }
                    }
                }
            }
            details {
                summary { "Add a meeting" }
                (api_form("meeting", &format!("/v1/circles/{}/meetings", c.id), &back, html! {
                    label for="meeting-title" { "What it is called" }
                    input #meeting-title name="title" required data-missing="Give the meeting a name first.";
                    label for="meeting-weekly" { "Every week on" }
                    select #meeting-weekly name="weekly" {
                        option value="" { "Not weekly: once, on the date below" }
                        @for d in WEEKDAYS { option value=(d) { (d[..1].to_uppercase()) (d[1..]) } }
                    }
                    label for="meeting-on" { "Or once, on (leave empty for a weekly meeting)" }
                    input #meeting-on name="on" type="date";
                    label for="meeting-at" { "At" }
                    input #meeting-at name="at" type="time" required data-missing="Say what time it starts first.";
                    label for="meeting-tz" { "In the time zone" }
                    input #meeting-tz name="tz" data-default="timezone" required autocomplete="off"
                        data-missing="Say which time zone the meeting is in first.";
                    label for="meeting-link" { "A link to join (optional)" }
                    input #meeting-link name="link" type="url";
                }, "Add the meeting"))
            }
            h2 { "Pinned resources" }
            @if resources.is_empty() {
                p.quiet { "Nothing pinned yet." }
            } @else {
                ul.feed #resources {
                    @for r in resources {
                        li.item.resource {
                            p.text { strong { (r.resource.title) } }
                            @if let Some(text) = &r.resource.text { p.text { (text) } }
                            @if let Some(url) = &r.resource.url { p { (link(url)) } }
                            p.meta { "Pinned by " (r.added_by) " " span.fp { "· " (r.added_by_fingerprint) } }
                        }
                    }
                }
            }
            details {
                summary { "Pin a resource" }
                (api_form("resource", &format!("/v1/circles/{}/resources", c.id), &back, html! {
                    label for="resource-title" { "Its title" }
                    input #resource-title name="title" required data-missing="Give it a title first.";
                    label for="resource-text" { "What it says (a number, a strategy)" }
                    textarea #resource-text name="text" rows="2" {}
                    label for="resource-url" { "Or a link" }
                    input #resource-url name="url" type="url";
                }, "Pin it"))
            }
        },
    )
}
