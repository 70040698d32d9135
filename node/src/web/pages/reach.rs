//! Reaching out: the crisis lines first, one clear button with a confirmation, then who has
//! seen it.

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};
use maud::{Markup, html};

use super::{api_form_done, circle_nav, listed, page, signed, time};
use crate::{
    api::AppState,
    circles::{CircleInfo, CrisisLines, ReachOutItem},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/c/{circle}/reach-out", get(reach_out_page))
}

async fn reach_out_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed(&s, &headers, || {
        let c = listed(&s, &circle)?;
        let circles = s.node.circles();
        let id = circles.resolve(&c.id)?;
        let mine: Vec<_> = circles
            .reach_outs(&id)?
            .into_iter()
            .filter(|r| r.author == c.me)
            .collect();
        Ok(reach_out(&c, &circles.crisis_lines()?, &mine))
    })
}

/// Crisis lines, always first where someone may be in distress.
pub(super) fn lines(lines: &CrisisLines) -> Markup {
    html! {
        section.lines aria-labelledby="lines-heading" {
            h2 #lines-heading { "If you are in danger or need help right now" }
            ul {
                @for l in &lines.lines {
                    li {
                        strong { (l.name) } ": " (contact(&l.contact))
                        @if let Some(h) = &l.hours { " (" (h) ")" }
                    }
                }
            }
        }
    }
}

/// A crisis line's contact, one tap away: a web address, or a phone number at its end ("call
/// or text 988", "116 123"), becomes a link.
fn contact(contact: &str) -> Markup {
    let phone_char = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')');
    let start = contact
        .char_indices()
        .rev()
        .take_while(|&(_, c)| phone_char(c))
        .last()
        .map_or(contact.len(), |(i, _)| i);
    let (words, number) = contact.split_at(start);
    let number = number.trim();
    let digits: String = number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    html! {
        @if contact.starts_with("https://") {
            a href=(contact) rel="noreferrer" { (contact) }
        } @else if digits.chars().filter(char::is_ascii_digit).count() >= 3 {
            (words.trim_end()) @if !words.trim().is_empty() { " " }
            a href={ "tel:" (digits) } { (number) }
        } @else {
            (contact)
        }
    }
}

fn seen(r: &ReachOutItem) -> String {
    if r.seen_by.is_empty() {
        format!("nobody of {} has seen it yet", r.members)
    } else {
        format!(
            "seen by {} of {}: {}",
            r.seen_by.len(),
            r.members,
            r.seen_by.join(", ")
        )
    }
}

/// Reaching out: the crisis lines, one clear button with a confirmation, then who has seen it.
fn reach_out(c: &CircleInfo, crisis: &CrisisLines, mine: &[ReachOutItem]) -> Markup {
    let api = format!("/v1/circles/{}/reach-outs", c.id);
    page(
        &format!("Reach out to {}", c.name),
        html! {
            h1 { "Reach out to " (c.name) }
            (circle_nav(c, "/reach-out"))
            (lines(crisis))
            @let done = format!(
                "Sent. Everyone in {} whose node is on has been told; below you can see who \
                 has seen it. If you are in danger, call one of the numbers above.",
                c.name
            );
            (api_form_done("reach-out", &api, "reload", Some(&done), html! {
                p { "This tells everyone in " (c.name) " that you need someone now. Their nodes show it at once." }
                label for="reach-text" { "What you want to say (optional)" }
                textarea #reach-text name="text" rows="2" {}
                label for="reach-callback" { "A number to call you back on (optional)" }
                input #reach-callback name="callback" type="tel" autocomplete="tel";
                div.confirm hidden {
                    p #confirm-text { "Send this to everyone in " (c.name) " now?" }
                    button type="button" data-confirm="yes" { "Yes, send it now" }
                    button type="button" data-confirm="no" { "Not now" }
                }
            }, "Reach out now"))
            // Always on the page, so the first reach-out shows up here without a reload.
            section #mine data-live="mine" {
                @if !mine.is_empty() {
                    h2 { "Your reach-outs" }
                    ul {
                        @for r in mine {
                            li { (time(&r.sent_at)) ": " span.seen { (seen(r)) } }
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crisis_lines_number_or_address_is_one_tap_away() {
        let shown = |c: &str| contact(c).into_string();
        assert_eq!(
            shown("call or text 988"),
            r#"call or text <a href="tel:988">988</a>"#
        );
        assert_eq!(shown("116 123"), r#"<a href="tel:116123">116 123</a>"#);
        assert_eq!(
            shown("+1 (800) 662-4357"),
            r#"<a href="tel:+18006624357">+1 (800) 662-4357</a>"#
        );
        assert_eq!(
            shown("https://findahelpline.com"),
            r#"<a href="https://findahelpline.com" rel="noreferrer">https://findahelpline.com</a>"#
        );
        assert_eq!(
            shown("your local emergency number"),
            "your local emergency number"
        );
        assert_eq!(shown("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(
            shown("ext 12"),
            "ext 12",
            "too short to be a number to call"
        );
    }
}
