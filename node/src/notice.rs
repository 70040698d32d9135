//! What a running node tells its person without being asked: new messages, a member reaching
//! out (at once, and as a desktop notification where one is available), meetings about to
//! start, a partner who missed their usual check-in, their own milestones as they are
//! announced. Also the node's own timed work: dropping expired shares, announcing milestones.
//!
//! Events go to every listener of [`Node::events`](crate::Node::events) (the API's live
//! stream); a listener that falls behind misses events, never blocks the node.

use std::{
    collections::{BTreeMap, HashSet},
    time::Duration,
};

use circle_crypto::{CircleId, Envelope};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::{
    circles::{Circles, MeetingItem, News},
    kind::Kind,
    net::Command,
    support::clock,
    time::now_ms,
};

/// Events a listener may buffer before it misses some.
pub const EVENT_CAPACITY: usize = 256;
/// How often timed work runs when nothing else wakes the task.
const TICK: Duration = Duration::from_secs(20);
/// Partners' check-ins are looked at this often.
const PARTNER_CHECK: Duration = Duration::from_secs(300);
/// A reach-out older than this (by its author's clock) raises no desktop notification.
const FRESH_MS: u64 = 60 * 60 * 1000;

/// Something the node tells its person.
#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// A new message from another member.
    Message {
        /// Circle id.
        circle: String,
        /// Circle name.
        circle_name: String,
        /// Message id.
        id: String,
        /// Its kind (as in feeds).
        kind: Kind,
        /// Who wrote it.
        author_name: String,
        /// Their fingerprint.
        author_fingerprint: String,
    },
    /// Another member is reaching out.
    ReachOut {
        /// Circle id.
        circle: String,
        /// Circle name.
        circle_name: String,
        /// Message id.
        id: String,
        /// Who.
        author_name: String,
        /// Their fingerprint.
        author_fingerprint: String,
        /// What they said, as the feed shows it.
        text: String,
        /// When they sent it, RFC 3339 (by their clock).
        sent_at: String,
    },
    /// A meeting starts soon.
    Reminder {
        /// Circle id.
        circle: String,
        /// Circle name.
        circle_name: String,
        /// The meeting's message id.
        meeting: String,
        /// Its title.
        title: String,
        /// Its start, RFC 3339.
        starts_at: String,
        /// Its start in this node's local time.
        starts_local: String,
        /// Minutes until it starts.
        minutes: u64,
        /// Where to join.
        link: Option<String>,
    },
    /// A partner has missed their usual check-in.
    MissedCheckin {
        /// Circle id.
        circle: String,
        /// Circle name.
        circle_name: String,
        /// Their member key.
        member: String,
        /// Their name.
        name: String,
        /// Their fingerprint.
        fingerprint: String,
        /// Their last check-in, RFC 3339.
        last_checkin: Option<String>,
    },
    /// The stream fell behind and skipped some events (read the feeds again).
    Lagged {
        /// How many.
        missed: u64,
    },
}

/// How the notice task runs.
#[derive(Clone, Debug)]
pub struct NoticeConfig {
    /// Show a desktop notification when someone reaches out (`notify-send` on Linux,
    /// `osascript` on macOS, when present).
    pub desktop: bool,
    /// How long before a meeting its reminder comes.
    pub reminder_before: Duration,
}

/// What the notice task keeps between wakes, so it decrypts a circle's history only when
/// something in it changed.
#[derive(Default)]
struct Cache {
    meetings: BTreeMap<CircleId, Vec<MeetingItem>>,
    reminded: HashSet<(String, u64)>,
    missed: HashSet<(String, String, Option<String>)>,
    partners_checked: Option<tokio::time::Instant>,
}

/// Runs until `commands` closes (the node stopped).
pub(crate) async fn run(
    circles: Circles,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    config: NoticeConfig,
) {
    let mut news = circles.news();
    let mut cache = Cache::default();
    let mut timed = true;
    loop {
        if timed {
            let work = circles.clone();
            let due = tokio::task::spawn_blocking(move || timed_work(&work)).await;
            if let Ok(envelopes) = due
                && !envelopes.is_empty()
                && commands.send(Command::Publish { envelopes }).await.is_err()
            {
                return;
            }
            reminders(&circles, &mut cache, &events, &config);
            if cache
                .partners_checked
                .is_none_or(|t| t.elapsed() >= PARTNER_CHECK)
            {
                cache.partners_checked = Some(tokio::time::Instant::now());
                partners(&circles, &mut cache, &events);
            }
        }
        let wait = next_wake(&circles);
        tokio::select! {
            first = news.recv() => {
                timed = false;
                let mut next = Some(first);
                // Everything already waiting is handled in one wake (a catch-up brings
                // thousands at once).
                while let Some(item) = next {
                    match item {
                        Ok(n) => {
                            // An expiring share may need an earlier wake; a new meeting may
                            // start within the reminder's lead.
                            timed |= Heed::of(n.kind).timed;
                            on_news(&circles, &mut cache, &events, &config, n);
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => cache.meetings.clear(),
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                    next = match news.try_recv() {
                        Ok(n) => Some(Ok(n)),
                        Err(broadcast::error::TryRecvError::Lagged(n)) => {
                            Some(Err(broadcast::error::RecvError::Lagged(n)))
                        }
                        Err(_) => None,
                    };
                }
            }
            _ = tokio::time::sleep(wait) => timed = true,
            _ = commands.closed() => return,
        }
    }
}

/// Until the next expiry, at most [`TICK`].
fn next_wake(circles: &Circles) -> Duration {
    let now = now_ms();
    match circles.store().next_expiry() {
        Ok(Some(at)) => Duration::from_millis(at.saturating_sub(now)).min(TICK),
        _ => TICK,
    }
}

/// Drops expired content and writes due milestones; returns what to gossip.
fn timed_work(circles: &Circles) -> Vec<Envelope> {
    let now = now_ms();
    if let Err(e) = circles.sweep_expired(now) {
        tracing::warn!("could not drop expired shares: {e}");
    }
    circles.announce_milestones(now).unwrap_or_else(|e| {
        tracing::warn!("could not announce milestones: {e}");
        Vec::new()
    })
}

fn on_news(
    circles: &Circles,
    cache: &mut Cache,
    events: &broadcast::Sender<Event>,
    config: &NoticeConfig,
    news: News,
) {
    let heed = Heed::of(news.kind);
    if heed.meetings {
        cache.meetings.remove(&news.circle);
    }
    if circles
        .my_key(&news.circle)
        .is_ok_and(|me| me == news.author)
    {
        return;
    }
    let (circle, circle_name) = (news.circle.to_string(), circles.name_of(&news.circle));
    if news.kind == Kind::ReachOut
        && let Some(item) = circles.feed_item(&news.circle, &news.id)
        && item.gone.is_none()
    {
        let _ = events.send(Event::ReachOut {
            circle: circle.clone(),
            circle_name: circle_name.clone(),
            id: item.id.clone(),
            author_name: item.author_name.clone(),
            author_fingerprint: item.author_fingerprint.clone(),
            text: item.text.clone(),
            sent_at: item.sent_at.clone(),
        });
        // Only a fresh one: a node catching up does not ring for last week's. The text names
        // neither the circle nor the person (a lock screen is seen by others).
        if config.desktop && now_ms().saturating_sub(item.sent_at_ms) < FRESH_MS {
            desktop_notification(
                "Someone in one of your circles is reaching out. Open circle to see.",
            );
        }
    }
    if !heed.told {
        return;
    }
    let _ = events.send(Event::Message {
        circle,
        circle_name,
        id: news.id.to_string(),
        kind: news.kind,
        author_name: circles.member_name(&news.circle, &news.author),
        author_fingerprint: news.author.fingerprint(),
    });
}

/// What a message just stored asks of the notices task, by its kind.
struct Heed {
    /// It may need an earlier wake: an expiring share, or a meeting that may start within
    /// the reminder's lead.
    timed: bool,
    /// It may add or take back a meeting (a withdrawal may take one back).
    meetings: bool,
    /// Listeners hear of it as [`Event::Message`].
    told: bool,
}

impl Heed {
    fn of(kind: Kind) -> Heed {
        let (timed, meetings, told) = match kind {
            Kind::Share => (true, false, true),
            Kind::Meeting => (true, true, true),
            Kind::Withdraw => (false, true, true),
            // A move to a restored node is the node's bookkeeping, not news.
            Kind::Moved => (false, false, false),
            Kind::Reaction
            | Kind::Checkin
            | Kind::Goal
            | Kind::GoalDone
            | Kind::Milestone
            | Kind::ClockReset
            | Kind::ReachOut
            | Kind::Seen
            | Kind::Resource
            | Kind::Private
            | Kind::Dm
            | Kind::Partner
            | Kind::Withdrawn
            | Kind::Expired
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
            | Kind::Guidelines => (false, false, true),
        };
        Heed {
            timed,
            meetings,
            told,
        }
    }
}

fn circle_ids(circles: &Circles) -> Vec<(CircleId, String)> {
    circles
        .list()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| Some((c.id.parse().ok()?, c.name)))
        .collect()
}

fn reminders(
    circles: &Circles,
    cache: &mut Cache,
    events: &broadcast::Sender<Event>,
    config: &NoticeConfig,
) {
    let now = now_ms();
    let lead = u64::try_from(config.reminder_before.as_millis()).unwrap_or(u64::MAX);
    let zone = clock::system_zone_name();
    for (circle, name) in circle_ids(circles) {
        // Computed again when a meeting was added or a cached start has passed.
        let stale = cache
            .meetings
            .get(&circle)
            .is_none_or(|ms| ms.iter().any(|m| m.next_ms.is_some_and(|t| t <= now)));
        if stale {
            let fresh = circles.meetings(&circle, &zone, now).unwrap_or_default();
            cache.meetings.insert(circle, fresh);
        }
        for m in cache.meetings.get(&circle).into_iter().flatten() {
            let Some(start) = m.next_ms else { continue };
            if start <= now || start - now > lead || !cache.reminded.insert((m.id.clone(), start)) {
                continue;
            }
            let _ = events.send(Event::Reminder {
                circle: circle.to_string(),
                circle_name: name.clone(),
                meeting: m.id.clone(),
                title: m.title.clone(),
                starts_at: m.next.clone().unwrap_or_default(),
                starts_local: m.next_local.clone().unwrap_or_default(),
                minutes: (start - now).div_ceil(60_000),
                link: m.link.clone(),
            });
        }
    }
}

fn partners(circles: &Circles, cache: &mut Cache, events: &broadcast::Sender<Event>) {
    let now = now_ms();
    for (circle, name) in circle_ids(circles) {
        for p in circles.partners(&circle, now).unwrap_or_default() {
            if !p.missed_checkin
                || !cache.missed.insert((
                    circle.to_string(),
                    p.member.clone(),
                    p.last_checkin.clone(),
                ))
            {
                continue;
            }
            let _ = events.send(Event::MissedCheckin {
                circle: circle.to_string(),
                circle_name: name.clone(),
                member: p.member.clone(),
                name: p.name.clone(),
                fingerprint: p.fingerprint.clone(),
                last_checkin: p.last_checkin.clone(),
            });
        }
    }
}

/// Shows a desktop notification if the system has a way to. The text never includes what
/// anyone wrote: a screen can be seen by others.
fn desktop_notification(text: &str) {
    let safe: String = text
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    let result = if cfg!(target_os = "macos") {
        std::process::Command::new("osascript")
            .arg("-e")
            .arg(format!(
                "display notification \"{safe}\" with title \"circle\""
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
    } else {
        std::process::Command::new("notify-send")
            .args(["--urgency=critical", "circle", &safe])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
    };
    match result {
        // Reap it off the async workers.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => tracing::debug!("no desktop notification: {e}"),
    }
}
