//! A circle's goals: set one (with who sees it chosen plainly), mark one's own done once, and
//! see who set each and when it was reached.

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};
use maud::{Markup, html};

use super::{api_form, audience_choice, circle_nav, listed, page, signed, time};
use crate::{
    api::{AppState, contract::Audience},
    circles::{CircleInfo, GoalItem},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/c/{circle}/goals", get(goals_page))
}

async fn goals_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed(&s, &headers, || {
        let c = listed(&s, &circle)?;
        let circles = s.node.circles();
        let goals = circles.goals(&circles.resolve(&c.id)?)?;
        Ok(goals_screen(&c, &goals))
    })
}

/// Who a goal was told to, in words.
fn audience(to: Audience) -> &'static str {
    match to {
        Audience::Partner => "you and your partner",
        Audience::Me => "only you",
        Audience::Circle => "the circle",
    }
}

fn goal(c: &CircleInfo, g: &GoalItem) -> Markup {
    let back = format!("/c/{}/goals", c.id);
    html! {
        li.item data-id=(g.id) {
            p.text { (g.text) }
            p.meta {
                strong { (g.author_name) } " " span.fp { "· " (g.author_fingerprint) }
                " · set " (time(&g.sent_at))
                @if let Some(by) = &g.by { " · by " (by) }
                @if g.to != Audience::Circle { " · " span.kind { "seen by " (audience(g.to)) } }
            }
            @if let Some(done) = &g.done_at {
                p.done { "Reached " (time(done)) " 🎉" }
            } @else if g.author == c.me {
                (api_form(&format!("done-{}", g.id), &format!("/v1/messages/{}/done", g.id), &back,
                    html! {}, "Mark it done"))
            }
        }
    }
}

/// The goals page: the form to set one, then every goal this member may read.
fn goals_screen(c: &CircleInfo, goals: &[GoalItem]) -> Markup {
    let api = format!("/v1/circles/{}/goals", c.id);
    let back = format!("/c/{}/goals", c.id);
    let (open, reached): (Vec<&GoalItem>, Vec<&GoalItem>) =
        goals.iter().rev().partition(|g| g.done_at.is_none());
    page(
        &format!("Goals in {}", c.name),
        html! {
            h1 { "Goals in " (c.name) }
            (circle_nav(c, "/goals"))
            (api_form("goal", &api, &back, html! {
                label for="goal-text" { "A goal" }
                input #goal-text name="text" required
                    data-missing="Write the goal first.";
                label for="goal-by" { "By when (optional)" }
                input #goal-by name="by" type="date";
                (audience_choice("goal-to", &c.name))
            }, "Set the goal"))
            h2 { "Working on" }
            @if open.is_empty() {
                p.quiet { "No open goals yet." }
            } @else {
                ul.feed #goals-open { @for g in &open { (goal(c, g)) } }
            }
            @if !reached.is_empty() {
                h2 { "Reached" }
                ul.feed #goals-reached { @for g in &reached { (goal(c, g)) } }
            }
        },
    )
}
