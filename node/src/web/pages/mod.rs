//! The web app's pages, rendered on the node (maud escapes every value, so text from other
//! members can never become markup). Every write goes through the JSON API from a small script
//! (`assets/app.js`): forms carry `data-api` (the route) and show the API's refusal beside
//! them, so the page, the CLI and scripts share one set of checks.
//!
//! One module a screen, each with its routes, handlers and markup; this one holds the frame
//! they share.

use axum::{
    Router,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use maud::{DOCTYPE, Markup, html};

use super::{html as respond, signed_in};
use crate::{api::AppState, circles::CircleInfo, error::Error};

mod checkin;
mod clocks;
mod feed;
mod goals;
mod home;
mod invite;
mod meetings;
mod members;
mod partners;
mod reach;
mod this_node;

/// The pages' routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .merge(home::routes())
        .merge(feed::routes())
        .merge(checkin::routes())
        .merge(reach::routes())
        .merge(goals::routes())
        .merge(clocks::routes())
        .merge(partners::routes())
        .merge(meetings::routes())
        .merge(members::routes())
        .merge(invite::routes())
        .merge(this_node::routes())
}

/// A whole page: the calm frame every screen shares, with help one step away.
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · circle" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to the page" }
                header.top {
                    a.brand href="/" { "circle" }
                    nav aria-label="Help" {
                        a.help href="/help-now" { "Need someone now?" }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// A page for someone who is not signed in: how to open the app.
pub fn signed_out(reason: &str) -> Markup {
    page(
        "Open circle",
        html! {
            h1 { "Open circle from your computer" }
            p { (reason) }
            p {
                "To open circle, run " code { "circle open" } " in a terminal, or choose circle \
                 in your applications menu. Each link it opens works once, for two minutes."
            }
        },
    )
}

/// A form that sends JSON to the API (see `assets/app.js`), with a place for its error.
pub(super) fn api_form(id: &str, api: &str, then: &str, fields: Markup, submit: &str) -> Markup {
    api_form_done(id, api, then, None, fields, submit)
}

/// [`api_form`], saying `done` once the write went through.
pub(super) fn api_form_done(
    id: &str,
    api: &str,
    then: &str,
    done: Option<&str>,
    fields: Markup,
    submit: &str,
) -> Markup {
    html! {
        form #(id) data-api=(api) data-then=(then) data-done=[done] novalidate {
            (fields)
            p.error role="alert" hidden {}
            button type="submit" { (submit) }
        }
    }
}

/// A page for a signed-in person, or how to sign in.
pub(super) fn signed(
    state: &AppState,
    headers: &HeaderMap,
    make: impl FnOnce() -> Result<Markup, Error>,
) -> Response {
    if !signed_in(state, headers) {
        return respond(
            StatusCode::UNAUTHORIZED,
            signed_out("This browser is not signed in to your circle node."),
        );
    }
    match make() {
        Ok(markup) => respond(StatusCode::OK, markup),
        Err(e @ Error::UnknownCircle(_)) => respond(
            StatusCode::NOT_FOUND,
            page(
                "Not found",
                maud::html! { h1 { "Not found" } p { (e.to_string()) } a href="/" { "Your circles" } },
            ),
        ),
        Err(e) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            page(
                "Something went wrong",
                maud::html! {
                    h1 { "Something went wrong" }
                    p { (e.to_string()) }
                    p { "Nothing you wrote was lost. Try again, and if it keeps happening run `circle doctor`." }
                },
            ),
        ),
    }
}

/// The circle named in a path (by id), as listed.
pub(super) fn listed(state: &AppState, circle: &str) -> Result<CircleInfo, Error> {
    let circles = state.node.circles();
    let id = circles.resolve(circle)?.to_string();
    circles
        .list()?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(Error::UnknownCircle(id))
}

/// The circle's own navigation.
pub(super) fn circle_nav(c: &CircleInfo, here: &str) -> Markup {
    let link = |path: &str, label: &str| {
        let href = format!("/c/{}{path}", c.id);
        html! {
            @if here == path {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    };
    html! {
        nav.circle-nav aria-label={ "In " (c.name) } {
            (link("", "Feed")) (link("/check-in", "Check in")) (link("/reach-out", "Reach out"))
            (link("/goals", "Goals"))
            (link("/partners", "Partners"))
            (link("/meetings", "Meetings"))
            (link("/members", "Members")) (link("/invite", "Invite"))
        }
    }
}

/// `<time>` in UTC; the script shows it in the browser's own time zone.
/// Who sees a check-in or a goal, chosen plainly: the circle (the default), the person's
/// partner, or only them. `id` prefixes the inputs' ids (two forms may share a screen).
pub(super) fn audience_choice(id: &str, circle_name: &str) -> Markup {
    let choices = [
        ("circle", format!("Everyone in {circle_name}")),
        ("partner", "Only my accountability partner".to_string()),
        ("me", "Only me (never leaves this computer)".to_string()),
    ];
    html! {
        fieldset {
            legend { "Who sees it" }
            @for (n, (value, words)) in choices.iter().enumerate() {
                @let input_id = format!("{id}-{value}");
                div.choice {
                    input type="radio" name="to" id=(input_id) value=(value) checked[n == 0];
                    label for=(input_id) { (words) }
                }
            }
        }
    }
}

pub(super) fn time(rfc3339: &str) -> Markup {
    let shown = rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ");
    html! { time datetime=(rfc3339) { (shown) " UTC" } }
}

/// The answer to a sign-in link that worked: on to the circles, by the page itself (see
/// `web::sign_in_with`), with a link for a browser that does not follow it.
pub fn signed_in_now() -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content="0; url=/";
                title { "Signed in · circle" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                main #main {
                    h1 { "You are signed in" }
                    p { a href="/" { "Go to your circles" } }
                }
            }
        }
    }
}

/// The answer to a sign-in link that was used already or is too old.
pub fn link_used() -> Markup {
    signed_out(
        "This link was already used, or is more than two minutes old: run `circle open` again.",
    )
}
