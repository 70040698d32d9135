//! Who is in a circle: everyone with their role and fingerprint; for admins, removing someone
//! (which gives the circle a new key), making them an admin or a plain member again, and who may
//! invite; for everyone, leaving.

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};
use maud::{Markup, html};

use super::{circle_nav, listed, page, signed};
use crate::{
    api::{
        AppState,
        contract::{InvitePolicy, Role, Standing},
    },
    circles::{CircleInfo, MemberInfo},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/c/{circle}/members", get(members_page))
}

async fn members_page(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed(&s, &headers, || {
        let c = listed(&s, &circle)?;
        let circles = s.node.circles();
        let people = circles.members(&circles.resolve(&c.id)?)?;
        Ok(members(&c, &people))
    })
}

/// A form sending `method` to `api`, then showing this page again; with `confirm`, it asks
/// first in the words given, with `yes` and `no` as the answers.
fn change(
    id: &str,
    method: &str,
    api: &str,
    then: &str,
    fields: Markup,
    submit: &str,
    confirm: Option<(&str, &str, &str)>,
) -> Markup {
    html! {
        form #(id) .change data-api=(api) data-method=(method) data-then=(then) novalidate {
            (fields)
            @if let Some((question, yes, no)) = confirm {
                div.confirm hidden {
                    p { (question) }
                    button type="button" data-confirm="yes" { (yes) }
                    button type="button" data-confirm="no" { (no) }
                }
            }
            p.error role="alert" hidden {}
            button type="submit" { (submit) }
        }
    }
}

/// A member as everyone sees them: nickname, then the fingerprint in a quieter style.
fn who(m: &MemberInfo) -> Markup {
    html! { strong { (m.name) } " " span.quiet { "· " (m.fingerprint) } }
}

/// Everyone in the circle, what an admin can change about each, the invite policy, and leaving.
fn members(c: &CircleInfo, people: &[MemberInfo]) -> Markup {
    let here = format!("/c/{}/members", c.id);
    let admin = c.standing == Standing::Admin;
    let inside = c.standing.inside();
    page(
        &format!("Members of {}", c.name),
        html! {
            h1 { "Members of " (c.name) }
            (circle_nav(c, "/members"))
            ul.members #members {
                @for (n, m) in people.iter().enumerate() {
                    li.member {
                        p {
                            (who(m))
                            @if m.role == Role::Admin { " " span.role { "admin" } }
                            @if m.me { " " span.quiet { "(you)" } }
                        }
                        @if admin && !m.me {
                            @let api = format!("/v1/circles/{}/admins/{}", c.id, m.member);
                            div.actions {
                                @if m.role == Role::Admin {
                                    (change(&format!("plain-{n}"), "DELETE", &api, &here, html! {},
                                        &format!("Make {} a plain member again", m.name), None))
                                } @else {
                                    (change(&format!("admin-{n}"), "PUT", &api, &here, html! {},
                                        &format!("Make {} an admin", m.name), None))
                                }
                                @let question = format!(
                                    "Remove {} · {} from {}? The circle gets a new key that they \
                                     do not have: they will not see anything said from now on.",
                                    m.name, m.fingerprint, c.name
                                );
                                (change(&format!("remove-{n}"), "DELETE",
                                    &format!("/v1/circles/{}/members/{}", c.id, m.member), &here,
                                    html! {}, &format!("Remove {}", m.name),
                                    Some((&question, &format!("Yes, remove {}", m.name), "Keep them"))))
                            }
                        }
                    }
                }
            }
            section aria-labelledby="policy-heading" {
                h2 #policy-heading { "Who may invite people" }
                @if admin {
                    (change("policy", "PUT", &format!("/v1/circles/{}/policy", c.id), &here, html! {
                        fieldset {
                            legend { "Who may make invites to " (c.name) }
                            div.choice {
                                input type="radio" name="invites" id="invites-admins" value="admins"
                                    checked[c.invites == InvitePolicy::Admins];
                                label for="invites-admins" { "Only admins" }
                            }
                            div.choice {
                                input type="radio" name="invites" id="invites-members" value="members"
                                    checked[c.invites == InvitePolicy::Members];
                                label for="invites-members" { "Every member" }
                            }
                        }
                    }, "Save who may invite", None))
                } @else if c.invites == InvitePolicy::Members {
                    p { "Every member may invite people." }
                } @else {
                    p { "Only admins may invite people." }
                }
            }
            @if inside {
                section aria-labelledby="leave-heading" {
                    h2 #leave-heading { "Leave " (c.name) }
                    @let question = format!(
                        "Leave {}? You stop receiving new messages from it. What was said stays \
                         readable on this computer. A new invite from a member brings you back.",
                        c.name
                    );
                    (change("leave", "POST", &format!("/v1/circles/{}/leave", c.id), &here, html! {},
                        &format!("Leave {}", c.name),
                        Some((&question, "Yes, leave", "Stay"))))
                }
            } @else if c.standing == Standing::Removed {
                p { "You were removed from " (c.name) ". What was said before stays readable here." }
            } @else {
                p { "You left " (c.name) ". A new invite from a member brings you back." }
            }
        },
    )
}
