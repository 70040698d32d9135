//! The person's recovery clocks: start one, see its days and next milestone, start it again
//! (privately unless they say otherwise), and share its milestones with a circle.

use axum::{Router, extract::State, http::HeaderMap, response::Response, routing::get};
use maud::{Markup, html};

use super::{api_form, page, signed};
use crate::{
    api::AppState,
    circles::{CircleInfo, ClockItem},
    time::now_ms,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/clocks", get(clocks_page))
}

async fn clocks_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    signed(&s, &headers, || {
        let circles = s.node.circles();
        Ok(clocks(&circles.clocks(now_ms())?, &circles.list()?))
    })
}

/// A clock's name as one segment of an API path.
fn segment(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

fn clock(c: &ClockItem, n: usize, circles: &[&CircleInfo]) -> Markup {
    let api = format!("/v1/clocks/{}", segment(&c.name));
    let unshared: Vec<&&CircleInfo> = circles
        .iter()
        .filter(|ci| !c.shared_with.contains(&ci.name))
        .collect();
    html! {
        li.item.clock {
            h2 { (c.name) }
            p.days { (days(c.days)) }
            p.meta {
                "Since " (c.since) " (" (c.zone) ")"
                @if let Some(next) = &c.next { " · next: " (next.label) " on " (next.date) }
            }
            p.meta {
                @if c.shared_with.is_empty() {
                    "Its milestones are yours alone."
                } @else {
                    "Milestones are told to " (c.shared_with.join(", ")) "."
                }
            }
            details {
                summary { "Start it again" }
                (api_form(&format!("reset-{n}"), &format!("{api}/reset"), "/clocks", html! {
                    label for={ "reset-" (n) "-note" } { "A note for yourself (optional)" }
                    textarea id={ "reset-" (n) "-note" } name="note" rows="2" {}
                    @if !c.shared_with.is_empty() {
                        div.choice {
                            input type="checkbox" id={ "reset-" (n) "-share" } name="share" data-type="bool";
                            label for={ "reset-" (n) "-share" } { "Tell " (c.shared_with.join(", ")) }
                        }
                    }
                    div.confirm hidden {
                        p { "Start " (c.name) " again from today, at 0 days? Only circles you ticked above are told; otherwise it stays on this computer." }
                        button type="button" data-confirm="yes" { "Yes, start again" }
                        button type="button" data-confirm="no" { "Not now" }
                    }
                }, "Start again"))
            }
            @if !unshared.is_empty() {
                details {
                    summary { "Share its milestones with a circle" }
                    (api_form(&format!("share-{n}"), &format!("{api}/share"), "/clocks", html! {
                        label for={ "share-" (n) "-circle" } { "Which circle" }
                        select id={ "share-" (n) "-circle" } name="circle" {
                            @for ci in &unshared { option value=(ci.id) { (ci.name) } }
                        }
                    }, "Share milestones"))
                }
            }
        }
    }
}

/// The clocks page: each clock, then the form to start one.
fn clocks(list: &[ClockItem], circles: &[CircleInfo]) -> Markup {
    let here: Vec<&CircleInfo> = circles.iter().filter(|c| c.standing.inside()).collect();
    page(
        "Your clocks",
        html! {
            h1 { "Your clocks" }
            p.quiet { "Counted on this computer, in your own time zone. A circle hears of a milestone only if you share the clock with it." }
            @if list.is_empty() {
                p { "No clock yet." }
            } @else {
                ul.feed #clocks { @for (n, c) in list.iter().enumerate() { (clock(c, n, &here)) } }
            }
            section aria-labelledby="start-heading" {
                h2 #start-heading { "Start a clock" }
                (api_form("clock", "/v1/clocks", "/clocks", html! {
                    label for="clock-name" { "What it counts (a name only you see unless you share it)" }
                    input #clock-name name="name" required data-missing="Give the clock a name first.";
                    label for="clock-since" { "Since" }
                    input #clock-since name="since" type="date" required
                        data-missing="Choose the day it counts from first.";
                    label for="clock-tz" { "Time zone days are counted in" }
                    input #clock-tz name="tz" data-default="timezone" autocomplete="off";
                }, "Start the clock"))
            }
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_clock_name_is_one_path_segment() {
        assert_eq!(super::segment("no-drinking"), "no-drinking");
        assert_eq!(super::segment("sober / clean"), "sober%20%2F%20clean");
        assert_eq!(super::segment("café"), "caf%C3%A9");
    }
}
