//! The web app's pages, rendered on the node (maud escapes every value, so text from other
//! members can never become markup). Every write goes through the JSON API from a small script
//! (`assets/app.js`): forms carry `data-api` (the route) and show the API's refusal beside
//! them, so the page, the CLI and scripts share one set of checks.

use maud::{DOCTYPE, Markup, html};

use crate::circles::{CircleInfo, CrisisLines, FeedItem, ReachOutItem};

/// The day ratings, 1 to 5, as people say them.
const DAYS: [&str; 5] = ["Very hard", "Hard", "Questionable", "Okay", "Easy"];
/// Triggers offered as boxes to tick (HALT, and the usual others).
const TRIGGERS: [&str; 7] = [
    "hungry", "angry", "lonely", "tired", "people", "places", "stress",
];
/// Feed items on a circle's first screen.
pub const FEED_PAGE: usize = 50;

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
fn api_form(id: &str, api: &str, then: &str, fields: Markup, submit: &str) -> Markup {
    api_form_done(id, api, then, None, fields, submit)
}

/// [`api_form`], saying `done` once the write went through.
fn api_form_done(
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

fn standing(c: &CircleInfo) -> String {
    let people = if c.members == 1 {
        "1 member".to_string()
    } else {
        format!("{} members", c.members)
    };
    match c.standing.as_str() {
        "left" => "you left".into(),
        "removed" => "you were removed".into(),
        "admin" => format!("{people}; you are an admin"),
        _ => people,
    }
}

/// The person's circles, and ways to start or join one.
pub fn home(circles: &[CircleInfo]) -> Markup {
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

/// The circle's own navigation.
fn circle_nav(c: &CircleInfo, here: &str) -> Markup {
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
        }
    }
}

/// `<time>` in UTC; the script shows it in the browser's own time zone.
fn time(rfc3339: &str) -> Markup {
    let shown = rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ");
    html! { time datetime=(rfc3339) { (shown) " UTC" } }
}

/// What happened to the circle itself (someone joined, a new name, ...): one quiet line.
const CIRCLE_EVENTS: [&str; 8] = [
    "joined",
    "left",
    "removed",
    "admin-granted",
    "admin-revoked",
    "policy",
    "renamed",
    "guidelines",
];

fn feed_item(item: &FeedItem) -> Markup {
    if CIRCLE_EVENTS.contains(&item.kind.as_str()) {
        // The node's text ends with where the CLI shows more (": see `circle info`").
        let text = item.text.split(": see `").next().unwrap_or(&item.text);
        return html! {
            li.event data-kind=(item.kind) { (text) " · " (time(&item.sent_at)) }
        };
    }
    let class = if item.urgent { "item urgent" } else { "item" };
    html! {
        li class=(class) data-kind=(item.kind) {
            p.meta {
                strong { (item.author_name) } " · " (time(&item.sent_at))
                @if item.kind != "share" { " · " span.kind { (item.kind.replace('-', " ")) } }
                @if item.private_to.is_some() { " · " span.kind { "private" } }
            }
            @if item.gone.is_some() {
                p.gone { (item.text) }
            } @else {
                p.text { (item.text) }
            }
        }
    }
}

/// A circle: the share box, then its feed, newest first.
pub fn circle(c: &CircleInfo, feed: &[FeedItem]) -> Markup {
    let shares = format!("/v1/circles/{}/shares", c.id);
    page(
        &c.name,
        html! {
            h1 { (c.name) }
            (circle_nav(c, ""))
            (api_form("share", &shares, "reload", html! {
                label for="share-text" { "Share with " (c.name) }
                textarea #share-text name="text" rows="3" required
                    data-missing="Write what you want to share first." {}
            }, "Share"))
            h2 { "Recently" }
            ol.feed #feed data-live="feed" data-circle=(c.id) {
                @for item in feed.iter().rev() { (feed_item(item)) }
                @if feed.is_empty() { li.quiet { "Nothing has been shared here yet." } }
            }
        },
    )
}

/// The check-in form: one screen, with who sees it chosen plainly.
pub fn check_in(c: &CircleInfo) -> Markup {
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
                fieldset {
                    legend { "Who sees it" }
                    div.choice {
                        input type="radio" name="to" id="to-circle" value="circle" checked;
                        label for="to-circle" { "Everyone in " (c.name) }
                    }
                    div.choice {
                        input type="radio" name="to" id="to-partner" value="partner";
                        label for="to-partner" { "Only my accountability partner" }
                    }
                    div.choice {
                        input type="radio" name="to" id="to-me" value="me";
                        label for="to-me" { "Only me (never leaves this computer)" }
                    }
                }
            }, "Check in"))
        },
    )
}

/// Crisis lines, always first where someone may be in distress.
fn lines(lines: &CrisisLines) -> Markup {
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
pub fn reach_out(c: &CircleInfo, crisis: &CrisisLines, mine: &[ReachOutItem]) -> Markup {
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

/// Help, one step from every page: the crisis lines, and each circle to reach out to.
pub fn help_now(crisis: &CrisisLines, circles: &[CircleInfo]) -> Markup {
    page(
        "Need someone now?",
        html! {
            h1 { "You are not alone" }
            (lines(crisis))
            @let here: Vec<_> = circles.iter().filter(|c| matches!(c.standing.as_str(), "admin" | "member")).collect();
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

/// The answer to a sign-in link that was used already or is too old.
pub fn link_used() -> Markup {
    signed_out(
        "This link was already used, or is more than two minutes old: run `circle open` again.",
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
