//! Inviting someone: an invite made for a while and a number of people, shown as a QR code
//! (drawn here, on the node) and as text to copy; and the open invites, each to revoke.

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{api_form, circle_nav, listed, page, signed, time};
use crate::{
    api::{
        AppState,
        contract::{InvitePolicy, Standing},
    },
    circles::{CircleInfo, InviteInfo},
};

/// How long an invite may stay valid, as offered: seconds and words.
const VALID: [(u64, &str); 3] = [
    (24 * 3600, "24 hours"),
    (7 * 24 * 3600, "7 days"),
    (30 * 24 * 3600, "30 days"),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{circle}/invite", get(invite_page))
        .route("/c/{circle}/invite/qr", get(qr_code))
}

async fn invite_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed(&s, &headers, || {
        let c = listed(&s, &circle)?;
        let circles = s.node.circles();
        let open = circles.invites(&circles.resolve(&c.id)?, crate::time::now_secs())?;
        Ok(invite(&c, &open))
    })
}

#[derive(Deserialize)]
struct QrQuery {
    token: String,
}

/// An invite of this circle as a QR code (SVG), for a phone held up to the screen. Signed-in
/// only, and only for a real invite to the circle in the path.
async fn qr_code(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Query(q): Query<QrQuery>,
    headers: HeaderMap,
) -> Response {
    if !crate::web::signed_in(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let ours = s
        .node
        .circles()
        .resolve(&circle)
        .ok()
        .zip(circle_crypto::Invite::from_token(&q.token).ok())
        .is_some_and(|(id, invite)| invite.circle == id);
    let Some(svg) = ours.then(|| qr_svg(q.token.trim())).flatten() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = svg.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `text` as a QR code in SVG, dark on white with its quiet zone, or none if it is too long.
fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::L).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(320, 320)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

fn uses_left(i: &InviteInfo) -> String {
    match i.uses_left {
        1 => "one more person".into(),
        n => format!("{n} more people"),
    }
}

/// Making an invite, the one just made, and the open invites.
fn invite(c: &CircleInfo, open: &[InviteInfo]) -> Markup {
    let here = format!("/c/{}/invite", c.id);
    let may = c.standing == Standing::Admin
        || (c.standing == Standing::Member && c.invites == InvitePolicy::Members);
    page(
        &format!("Invite someone to {}", c.name),
        html! {
            h1 { "Invite someone to " (c.name) }
            (circle_nav(c, "/invite"))
            @if may {
                p {
                    "An invite lets someone's node join " (c.name) ". Give it only to the person \
                     it is for: in person as a QR code, or privately as text."
                }
                (api_form("invite", &format!("/v1/circles/{}/invites", c.id), "invite", html! {
                    label for="invite-valid" { "How long it stays valid" }
                    select #invite-valid name="expires_secs" data-type="number" {
                        @for (secs, words) in VALID {
                            option value=(secs) selected[secs == VALID[1].0] { (words) }
                        }
                    }
                    label for="invite-uses" { "How many people may use it, 1 to 10" }
                    input #invite-uses name="uses" type="number" min="1" max="10" value="1"
                        inputmode="numeric" data-type="number" required;
                }, "Make the invite"))
                section #invite-made .preview aria-labelledby="invite-made-heading" hidden {
                    h2 #invite-made-heading { "Your invite" }
                    p #invite-facts {}
                    p { "Meeting in person? They can scan this with their phone's camera to get the invite:" }
                    img #invite-qr .qr data-src={ (here) "/qr?token=" } width="320" height="320"
                        alt="The invite as a QR code";
                    label for="invite-text" { "Or copy it and send it privately" }
                    textarea #invite-text rows="4" readonly spellcheck="false" {}
                    p.copy {
                        button #invite-copy type="button" data-copy="invite-text" data-said="invite-copied" { "Copy" }
                        " " span #invite-copied role="status" {}
                    }
                }
            } @else {
                p { "Only admins of " (c.name) " can make invites. Ask one of them." }
            }
            section #open-invites data-live="open-invites" aria-labelledby="open-heading" {
                h2 #open-heading { "Open invites" }
                @if open.is_empty() {
                    p { "No invite of " (c.name) " can let anyone in right now." }
                } @else {
                    ul.invites {
                        @for (n, i) in open.iter().enumerate() {
                            li {
                                p {
                                    "Made by " strong { (i.issuer) } " " span.quiet { "· " (i.issuer_fingerprint) }
                                    ". Lets in " (uses_left(i)) ", until " (time(&i.expires_at)) "."
                                }
                                form #{ "revoke-" (n) } data-api={ "/v1/circles/" (c.id) "/invites/" (i.id) }
                                    data-method="DELETE" data-then=(here) novalidate {
                                    div.confirm hidden {
                                        p {
                                            "Revoke this invite? Nobody can join with it any more; \
                                             whoever already joined stays."
                                        }
                                        button type="button" data-confirm="yes" { "Yes, revoke it" }
                                        button type="button" data-confirm="no" { "Keep it" }
                                    }
                                    p.error role="alert" hidden {}
                                    button type="submit" { "Revoke" }
                                }
                            }
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
    fn an_invite_becomes_an_svg_qr_code_and_too_long_a_text_does_not() {
        let svg = qr_svg("circle1-SOMETHING-LIKE-AN-INVITE").unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(
            !svg.contains("style="),
            "the CSP allows no inline style: {svg}"
        );
        assert!(qr_svg(&"x".repeat(5000)).is_none());
    }
}
