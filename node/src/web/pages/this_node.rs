//! This node, in plain words: whether it runs and can be reached, who was seen when, its home
//! server; and the crisis lines the person is shown (their country's, and their own).

use axum::{Router, extract::State, http::HeaderMap, response::Response, routing::get};
use maud::{Markup, html};

use super::{page, signed};
use crate::{api::AppState, circles::CrisisLines, net::NetStatus};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/node", get(node_page))
}

async fn node_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    // The network is asked only for a signed-in person; anyone else is told how to sign in.
    if !crate::web::signed_in(&s, &headers) {
        return signed(&s, &headers, || Ok(html! {}));
    }
    let net = s.node.status().await;
    signed(&s, &headers, || {
        let net = net?;
        Ok(this_node(
            s.node.is_online(),
            &net,
            &s.node.circles().crisis_lines()?,
        ))
    })
}

/// How long ago, in words.
fn ago(secs: u64) -> String {
    let (n, unit) = match secs {
        0..60 => return "just now".into(),
        60..3600 => (secs / 60, "minute"),
        3600..86400 => (secs / 3600, "hour"),
        _ => (secs / 86400, "day"),
    };
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// Whether others can reach this node, in one sentence.
fn reachable(net: &NetStatus) -> String {
    let yes: Vec<_> = net.reachability.iter().filter(|r| r.reachable).collect();
    let relayed = net.relays.iter().any(|r| r.reserved);
    if net.home_server {
        "This node is a home server: it relays for your circles' members and keeps their \
         messages while they are away."
            .into()
    } else if !yes.is_empty() {
        "Others can reach this node directly: a home server connected back to it.".into()
    } else if relayed {
        "Others reach this node through a home server's relay.".into()
    } else if !net.reachability.is_empty() {
        "A home server could not connect back to this node. Members whose nodes are on can \
         still reach each other; run `circle doctor` to see what to do."
            .into()
    } else {
        "Whether others can reach this node from outside is not known yet: a home server in \
         one of your circles finds out when it connects."
            .into()
    }
}

fn this_node(online: bool, net: &NetStatus, crisis: &CrisisLines) -> Markup {
    page(
        "This node",
        html! {
            h1 { "This node" }
            section aria-labelledby="status-heading" {
                h2 #status-heading { "Is it running?" }
                @if online {
                    p { "Yes: your node is running on this computer." }
                } @else {
                    p { "Your node is open, but its network does not run: nothing is sent or received until it runs with " code { "circle up" } "." }
                }
                p {
                    @match net.connected {
                        0 => "It is connected to no other node right now.",
                        1 => "It is connected to one other node right now.",
                        n => { "It is connected to " (n) " other nodes right now." },
                    }
                }
                p { (reachable(net)) }
                @for r in &net.relays {
                    @if r.reserved {
                        p { "A home server relays for this node." }
                    } @else {
                        p { "A home server has not accepted this node yet; it is asked again every few seconds." }
                    }
                }
            }
            section aria-labelledby="seen-heading" {
                h2 #seen-heading { "Who was seen when" }
                @if net.seen.is_empty() {
                    p { "No other member's node is known yet." }
                } @else {
                    ul.seen {
                        @for p in &net.seen {
                            li {
                                strong {
                                    @if p.members.is_empty() { "A node of your circles" } @else { (p.members.join(", ")) }
                                }
                                ": "
                                @if p.connected {
                                    "connected now"
                                } @else if let Some(secs) = p.secs_ago {
                                    "last connected " (ago(secs))
                                } @else {
                                    "not seen since your node started"
                                }
                            }
                        }
                    }
                }
            }
            details {
                summary { "Technical details" }
                p { "Node id: " code.id { (net.peer_id) } }
                @if !net.listen.is_empty() {
                    p { "Listening on:" }
                    ul { @for a in &net.listen { li { code.id { (a) } } } }
                }
                @if !net.external.is_empty() {
                    p { "Reachable at:" }
                    ul { @for a in &net.external { li { code.id { (a) } } } }
                }
            }
            section aria-labelledby="crisis-heading" {
                h2 #crisis-heading { "Crisis lines" }
                p {
                    "These are shown whenever you reach out and on every \u{201c}Need someone \
                     now?\u{201d} page: your own lines first, then always your country's."
                }
                (super::reach::lines(crisis))
                form #crisis data-api="/v1/crisis-lines" data-method="PUT" data-then="/node" novalidate {
                    label for="crisis-country" { "Your country, as two letters (for example US, GB, DE)" }
                    input #crisis-country name="country" maxlength="2" autocomplete="country"
                        value=[crisis.country.as_deref()];
                    label for="crisis-lines" {
                        "Lines of your own to add, one a line: a name, a colon, then how to reach \
                         them (for example: My sponsor: +1 555 0100)"
                    }
                    textarea #crisis-lines name="lines" rows="3" data-type="lines" {}
                    @if crisis.custom {
                        div.choice {
                            input #crisis-reset type="checkbox" name="reset" data-type="bool";
                            label for="crisis-reset" { "Forget the lines I added before (your country's stay)" }
                        }
                    }
                    p.error role="alert" hidden {}
                    button type="submit" { "Save crisis lines" }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_long_ago_is_said_in_words() {
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(150), "2 minutes ago");
        assert_eq!(ago(3600), "1 hour ago");
        assert_eq!(ago(3 * 86400 + 5), "3 days ago");
    }
}
