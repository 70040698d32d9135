//! The person's circles (start one, join one with its guidelines first), and help one step
//! from every page.

use axum::{Router, extract::State, http::HeaderMap, response::Response, routing::get};
use maud::{Markup, html};

use super::{api_form, page, signed};
use crate::{
    api::{AppState, contract::Standing},
    circles::{CircleInfo, CrisisLines},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home_page))
        .route("/help-now", get(help_now_page))
}

async fn home_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    signed(&s, &headers, || Ok(home(&s.node.circles().list()?)))
}

async fn help_now_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    signed(&s, &headers, || {
        let circles = s.node.circles();
        Ok(help_now(&circles.crisis_lines()?, &circles.list()?))
    })
}

fn standing(c: &CircleInfo) -> String {
    let people = if c.members == 1 {
        "1 member".to_string()
    } else {
        format!("{} members", c.members)
    };
    match c.standing {
        Standing::Left => "you left".into(),
        Standing::Removed => "you were removed".into(),
        Standing::Admin => format!("{people}; you are an admin"),
        Standing::Member | Standing::Joining => people,
    }
}

/// The person's circles, and ways to start or join one.
fn home(circles: &[CircleInfo]) -> Markup {
    page(
        "Your circles",
        html! {
            h1 { "Your circles" }
            @if circles.is_empty() {
                p { "You are in no circle yet. Join one with an invite someone gave you, or start one." }
            } @else {
                ul.circles data-live="circles" #circles {
                    @for c in circles {
                        li {
                            a href={ "/c/" (c.id) } { (c.name) }
                            " " span.quiet { "(" (standing(c)) ")" }
                        }
                    }
                }
            }
            p { a href="/clocks" { "Your recovery clocks" } }
            // Asked once, here rather than on every page (see `assets/app.js`).
            p #notify-ask .notice hidden {
                "circle can tell you when someone in your circles reaches out, even while \
                 this tab is in the background. "
                button #notify-button type="button" { "Turn on notifications" }
            }
            section aria-labelledby="join-heading" {
                h2 #join-heading { "Join with an invite" }
                (api_form("join", "/v1/join/preview", "preview", html! {
                    label for="join-token" { "The invite you were given" }
                    textarea #join-token name="token" rows="3" required
                        data-missing="Paste the invite you were given first."
                        autocomplete="off" spellcheck="false" {}
                }, "Read about the circle first"))
                div #join-preview hidden {}
            }
            p { a href="/node" { "This node: is it running, who was seen when, your crisis lines" } }
            section aria-labelledby="create-heading" {
                h2 #create-heading { "Start a circle" }
                (api_form("create", "/v1/circles", "circle", html! {
                    label for="create-name" { "Its name" }
                    input #create-name name="name" required maxlength="80"
                        data-missing="Give the circle a name first.";
                    label for="create-format" { "Its format" }
                    select #create-format name="format" {
                        option value="" { "Not set" }
                        option value="12-step" { "12-step" }
                        option value="smart" { "SMART Recovery" }
                        option value="dharma" { "Recovery Dharma" }
                        option value="secular" { "Secular" }
                        option value="other" { "Other" }
                    }
                    label for="create-guidelines" { "Guidelines people read before they join (optional)" }
                    textarea #create-guidelines name="guidelines" rows="4" {}
                }, "Start the circle"))
            }
        },
    )
}

/// Help, one step from every page: the crisis lines, and each circle to reach out to.
fn help_now(crisis: &CrisisLines, circles: &[CircleInfo]) -> Markup {
    page(
        "Need someone now?",
        html! {
            h1 { "You are not alone" }
            (super::reach::lines(crisis))
            @let here: Vec<_> = circles.iter().filter(|c| c.standing.inside()).collect();
            @if !here.is_empty() {
                h2 { "Tell your circle" }
                ul {
                    @for c in here {
                        li { a href={ "/c/" (c.id) "/reach-out" } { "Reach out to " (c.name) } }
                    }
                }
            }
        },
    )
}
