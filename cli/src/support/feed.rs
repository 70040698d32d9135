//! Reading a circle: each message with the short id people use to react, reply or withdraw;
//! reach-outs shown first and loudest, and acknowledged so the sender knows who has seen them;
//! with `--follow`, the feed as it grows and the node's notices for the circle (meeting
//! reminders, a partner's missed check-in) from its live event stream.

use std::time::Duration;

use anyhow::Result;
use circle_node::contract::{Event, FeedItem, FeedPage, FeedQuery, Kind};

use super::{field, local_time, short, when, when_zoned};
use crate::{Ctx, clean, client::Client, out, who, whos};

/// How long one feed long-poll waits.
const FOLLOW_WAIT: Duration = Duration::from_secs(30);
/// How long one connection to the event stream is kept before it is opened again.
const EVENTS_LIMIT: Duration = Duration::from_secs(24 * 3600);
/// How long to wait before opening the event stream again after it closed or failed.
const EVENTS_RETRY: Duration = Duration::from_secs(5);
/// How often `--follow` looks whether its reader went away.
const CLOSED_CHECK: Duration = Duration::from_millis(200);
/// Longest event (or line of one) read from the stream; a longer one is dropped.
const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Prints one feed item; says whether it is urgent (a reach-out).
fn print_item(json: bool, item: &FeedItem) -> bool {
    let urgent = item.urgent;
    if json {
        out::json_line(item);
        return urgent;
    }
    let at = when(&item.sent_at);
    let name = who(&item.author_name, &item.author_fingerprint);
    // Continuation lines are indented, so a line break inside a share can never pass for a
    // line of the feed written by someone else.
    let text = field(Some(&item.text)).replace('\n', "\n    ");
    let id = format!("#{}", short(&item.id));
    // The author wrote two messages with this number: say which this is not.
    let fork = if item.fork {
        format!(" (another version of #{})", item.seq)
    } else {
        String::new()
    };
    let re = match item.reply_to.as_deref() {
        // A reached goal already says which goal in its text.
        Some(r) if item.kind == Kind::GoalDone => format!(" ↳ re #{}", short(r)),
        Some(r) => format!(" ↳ re #{}{}", short(r), quote(item)),
        None => String::new(),
    };
    let private = match item.private_to_members.as_deref() {
        Some(members) => format!(" (private, to {})", whos(members).join(", ")),
        None => String::new(),
    };
    match item.kind {
        _ if urgent => println!("!! [{at}] {name} {text} ({id})"),
        Kind::Share | Kind::Dm => println!("[{at}] {name} ({id}){fork}{re}{private}: {text}"),
        Kind::Withdrawn | Kind::Expired => println!("[{at}] {name} ({id}): {text}"),
        Kind::Reaction => {
            let to = item.reply_to.as_deref().map(short).unwrap_or("?");
            println!("[{at}] {name} reacted {text} to #{to}{}", quote(item));
        }
        Kind::Milestone => println!("[{at}] {name} ({id}) celebrates {text}"),
        // Written by a member about themselves.
        Kind::Checkin
        | Kind::Goal
        | Kind::GoalDone
        | Kind::ClockReset
        | Kind::Meeting
        | Kind::Resource => println!("[{at}] {name} ({id}) {text}{re}{private}"),
        // What happened to the circle (and bookkeeping a feed does not show).
        Kind::ReachOut
        | Kind::Withdraw
        | Kind::Seen
        | Kind::Private
        | Kind::Partner
        | Kind::Invite
        | Kind::InviteRevoked
        | Kind::Joined
        | Kind::Returned
        | Kind::Removed
        | Kind::Left
        | Kind::AdminGranted
        | Kind::AdminRevoked
        | Kind::Policy
        | Kind::Renamed
        | Kind::Rekey
        | Kind::Guidelines
        | Kind::Moved => println!("[{at}] * {text}{private}"),
    }
    urgent
}

/// ` "the start of what it answers"`, when the node quoted it; made safe, on one line.
fn quote(item: &FeedItem) -> String {
    match item.reply_text.as_deref() {
        Some(quoted) => format!(" \"{}\"", field(Some(quoted)).replace('\n', " ")),
        None => String::new(),
    }
}

/// Prints a page of items; says whether one was urgent. Reactions to a message of the page
/// are gathered under it (`    🎉 2: bob (…), carol (…)`) rather than printed one by one.
fn print_items(json: bool, items: &[FeedItem]) -> bool {
    let mut urgent = false;
    if json {
        for item in items {
            urgent |= print_item(json, item);
        }
        return urgent;
    }
    let shown: Vec<&str> = items
        .iter()
        .filter(|i| i.kind != Kind::Reaction)
        .map(|i| i.id.as_str())
        .collect();
    let gathered = |i: &FeedItem| {
        i.kind == Kind::Reaction && i.reply_to.as_deref().is_some_and(|to| shown.contains(&to))
    };
    for item in items.iter().filter(|i| !gathered(i)) {
        urgent |= print_item(json, item);
        let reactions: Vec<&FeedItem> = items
            .iter()
            .filter(|i| gathered(i) && i.reply_to.as_deref() == Some(item.id.as_str()))
            .collect();
        print_reactions(&reactions);
    }
    urgent
}

/// One line per emoji, in the order they were first given: how many, and from whom.
fn print_reactions(reactions: &[&FeedItem]) {
    let mut emojis: Vec<(String, Vec<String>)> = Vec::new();
    for r in reactions {
        let emoji = field(Some(&r.text));
        let by = who(&r.author_name, &r.author_fingerprint);
        match emojis.iter_mut().find(|(e, _)| *e == emoji) {
            Some((_, names)) => names.push(by),
            None => emojis.push((emoji, vec![by])),
        }
    }
    for (emoji, names) in emojis {
        println!("    {emoji} {}: {}", names.len(), names.join(", "));
    }
}

/// Tells the circle this member has now seen its reach-outs. Best effort: they were shown
/// either way.
pub(super) async fn acknowledge(client: &Client, circle: &str) {
    if let Err(e) = client.seen(circle).await {
        tracing::debug!("could not tell the circle its reach-outs were seen: {e}");
    }
}

/// `circle feed`.
pub async fn feed(ctx: &Ctx, circle: &str, follow: bool, limit: Option<usize>) -> Result<()> {
    let client = if follow {
        ctx.require_running("follow the feed").await?
    } else {
        ctx.api().await?
    };
    let query = FeedQuery {
        limit,
        ..FeedQuery::default()
    };
    let first = client.feed(circle, &query).await?;
    if print_items(ctx.json, &first.items) {
        acknowledge(&client, circle).await;
    }
    // Whoever reads has stopped reading (`circle feed T --follow | head -3`).
    if !follow || out::closed() {
        return Ok(());
    }
    let cursor = first.cursor;
    let id = circle_id(&client, circle, &first).await;
    tokio::select! {
        result = follow_feed(ctx.json, &client, circle, cursor) => result,
        () = notices(ctx.json, &client, &id) => Ok(()),
        () = until_closed() => Ok(()),
    }
}

/// Returns once standard output was found closed (after a write to it failed).
async fn until_closed() {
    while !out::closed() {
        tokio::time::sleep(CLOSED_CHECK).await;
    }
}

/// The followed circle's id, to pick its events from the stream.
async fn circle_id(client: &Client, circle: &str, first: &FeedPage) -> String {
    let typed = circle.trim();
    let listed = client.circles().await.unwrap_or_default();
    listed
        .iter()
        .find(|c| c.id == typed || c.name == typed)
        .map(|c| c.id.as_str())
        .or_else(|| first.items.first().map(|i| i.circle.as_str()))
        .unwrap_or(typed)
        .to_string()
}

/// Long-polls the feed for new items until the node stops answering.
async fn follow_feed(json: bool, client: &Client, circle: &str, mut cursor: u64) -> Result<()> {
    loop {
        let query = FeedQuery {
            after: Some(cursor),
            limit: None,
            wait_ms: Some(FOLLOW_WAIT.as_millis() as u64),
        };
        let page = client.feed(circle, &query).await?;
        if print_items(json, &page.items) {
            acknowledge(client, circle).await;
        }
        cursor = page.cursor;
    }
}

/// Reads the node's event stream and prints its notices for `circle`; opens it again when it
/// closes. Never returns: the feed's long-poll ends the command when the node stops.
async fn notices(json: bool, client: &Client, circle: &str) {
    loop {
        if let Ok(mut response) = client.events(EVENTS_LIMIT).await {
            let mut events = EventStream::default();
            while let Ok(Some(chunk)) = response.chunk().await {
                for data in events.push(&chunk) {
                    notice(json, circle, &data);
                }
            }
        }
        tokio::time::sleep(EVENTS_RETRY).await;
    }
}

/// Splits a Server-Sent Events stream into the data of its events.
#[derive(Default)]
struct EventStream {
    /// Bytes of a line not yet ended.
    line: Vec<u8>,
    /// The data lines of the event being read.
    data: String,
    /// The line being read is too long.
    overflow: bool,
    /// The event being read is too long: it is dropped.
    skip: bool,
}

impl EventStream {
    /// Takes the next bytes; returns the data of each event they complete.
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut done = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                if self.line.len() < MAX_EVENT_BYTES {
                    self.line.push(b);
                } else {
                    self.overflow = true;
                }
                continue;
            }
            let line = String::from_utf8_lossy(&self.line).into_owned();
            self.line.clear();
            // Too long to be an event of ours: drop it, and the event it belongs to.
            self.skip |= std::mem::take(&mut self.overflow);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.is_empty() {
                let data = std::mem::take(&mut self.data);
                if !std::mem::take(&mut self.skip) && !data.is_empty() {
                    done.push(data);
                }
            } else if self.skip {
                continue;
            } else if let Some(data) = line.strip_prefix("data:") {
                if self.data.len() + data.len() > MAX_EVENT_BYTES {
                    self.skip = true;
                    continue;
                }
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(data.strip_prefix(' ').unwrap_or(data));
            }
            // Comments (keep-alives), `event:`, `id:` and `retry:` lines carry nothing we use.
        }
        done
    }
}

/// Prints one event from the stream, if it is a notice about `circle`.
fn notice(json: bool, circle: &str, data: &str) {
    let Ok(event) = serde_json::from_str::<Event>(data) else {
        return;
    };
    // Reach-outs and messages come through the feed itself.
    let about = match &event {
        Event::Reminder { circle, .. } | Event::MissedCheckin { circle, .. } => circle,
        _ => return,
    };
    if about != circle {
        return;
    }
    if json {
        out::json_line(&event);
        return;
    }
    match event {
        Event::Reminder {
            title,
            starts_at,
            minutes,
            link,
            ..
        } => {
            let link = match link.as_deref() {
                Some(link) => format!(" {}", clean(link)),
                None => String::new(),
            };
            println!(
                "-- reminder: '{}' starts at {} (in {minutes} min){link}",
                clean(&title),
                local_time(&starts_at, "%a %-d %b %H:%M %Z"),
            );
        }
        Event::MissedCheckin {
            name,
            fingerprint,
            last_checkin,
            ..
        } => {
            let name = who(&name, &fingerprint);
            let since = match last_checkin.as_deref() {
                Some(at) => format!("hasn't since {}", when_zoned(at)),
                None => "hasn't yet".to_string(),
            };
            println!(
                "-- {name} usually checks in, and {since}. A short note can help: `circle dm`."
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_across_chunks_and_keep_alives_are_skipped() {
        let mut stream = EventStream::default();
        assert!(stream.push(b": keep-alive\n\ndata: {\"type\":").is_empty());
        let done = stream.push(b"\"reminder\"}\r\n\r\ndata: a\ndata: b\n\n");
        assert_eq!(done, ["{\"type\":\"reminder\"}", "a\nb"]);
    }

    #[test]
    fn an_endless_line_is_dropped_not_kept() {
        let mut stream = EventStream::default();
        stream.push(b"data: ");
        for _ in 0..100 {
            assert!(stream.push(&[b'x'; 4096]).is_empty());
        }
        assert!(stream.line.len() <= MAX_EVENT_BYTES);
        assert!(stream.push(b"\n\ndata: ok\n\n") == ["ok"]);
    }
}
