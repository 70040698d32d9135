//! The check-in form: one screen, with who sees it chosen plainly.

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};
use maud::{Markup, html};

use super::{api_form, audience_choice, circle_nav, listed, page, signed};
use crate::{api::AppState, circles::CircleInfo};

/// The day ratings, 1 to 5, as people say them.
const DAYS: [&str; 5] = ["Very hard", "Hard", "Questionable", "Okay", "Easy"];
/// Triggers offered as boxes to tick (HALT, and the usual others).
const TRIGGERS: [&str; 7] = [
    "hungry", "angry", "lonely", "tired", "people", "places", "stress",
];

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/c/{circle}/check-in", get(check_in_page))
}

async fn check_in_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed(&s, &headers, || Ok(check_in(&listed(&s, &circle)?)))
}

/// The check-in form: one screen, with who sees it chosen plainly.
fn check_in(c: &CircleInfo) -> Markup {
    let api = format!("/v1/circles/{}/checkins", c.id);
    page(
        &format!("Check in with {}", c.name),
        html! {
            h1 { "Check in with " (c.name) }
            (circle_nav(c, "/check-in"))
            (api_form("checkin", &api, &format!("/c/{}", c.id), html! {
                fieldset {
                    legend { "How is today going?" }
                    @for (i, word) in DAYS.iter().enumerate().rev() {
                        @let id = format!("day-{}", i + 1);
                        div.choice {
                            input type="radio" name="day" id=(id) value=(i + 1) data-type="number"
                                required data-missing="Choose how today is going first.";
                            label for=(id) { (word) }
                        }
                    }
                }
                label for="mood" { "Mood, 0 (lowest) to 10 (best) — optional" }
                input #mood name="mood" type="number" min="0" max="10" inputmode="numeric" data-type="number";
                label for="craving" { "Craving, 0 (none) to 10 (strongest) — optional" }
                input #craving name="craving" type="number" min="0" max="10" inputmode="numeric" data-type="number";
                fieldset {
                    legend { "Anything weighing on you? (optional)" }
                    @for t in TRIGGERS {
                        @let id = format!("trigger-{t}");
                        div.choice {
                            input type="checkbox" name="triggers" id=(id) value=(t) data-type="list";
                            label for=(id) { (t) }
                        }
                    }
                }
                label for="note" { "A note (optional)" }
                textarea #note name="note" rows="3" {}
                (audience_choice("to", &c.name))
            }, "Check in"))
        },
    )
}
