//! A person's recovery clocks, and their settings (crisis lines). Both are the person's own:
//! kept sealed on their node, never sent. Only a milestone of a clock the person chose to
//! share with a circle is written there (and a restart, if they choose to say so).

use serde::{Deserialize, Serialize};

use super::*;
use crate::support::{
    MAX_CLOCK_NAME_CHARS, MilestoneNote, check_short, clock,
    crisis::{self, CrisisLine},
};

const CLOCKS: &str = "clocks";
const SETTINGS: &str = "settings";
/// Most clocks one person keeps.
pub const MAX_CLOCKS: usize = 32;
/// A milestone is announced only while it is this fresh (a clock shared at day 400 does not
/// announce "1 year" a month late).
const ANNOUNCE_WITHIN_DAYS: i64 = 7;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ClockRecord {
    name: String,
    /// YYYY-MM-DD.
    since: String,
    zone: String,
    shared: Vec<CircleId>,
    /// Milestones announced, by circle, with their days, since the last restart the circles
    /// were told of.
    announced: Vec<(CircleId, i64)>,
    /// Earlier starts: when restarted (unix ms), and the private note.
    resets: Vec<(u64, Option<String>)>,
}

/// A milestone as shown.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MilestoneItem {
    /// "30 days", "1 year".
    pub label: String,
    /// Its day, YYYY-MM-DD.
    pub date: String,
    /// Days counted on that day.
    pub days: i64,
}

/// A clock as shown.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ClockItem {
    /// Its name.
    pub name: String,
    /// The day it started, YYYY-MM-DD.
    pub since: String,
    /// The time zone days are counted in.
    pub zone: String,
    /// Days today, in that zone.
    pub days: i64,
    /// The last milestone reached.
    pub reached: Option<MilestoneItem>,
    /// The next milestone.
    pub next: Option<MilestoneItem>,
    /// Names of the circles its milestones are announced to.
    pub shared_with: Vec<String>,
    /// How many times it was restarted.
    pub restarts: usize,
}

/// The person's settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Settings {
    /// Country (ISO 3166-1 alpha-2) for default crisis lines; from the locale when unset.
    pub country: Option<String>,
    /// Crisis lines the person added; shown before the country's, which always show.
    pub lines: Vec<CrisisLine>,
}

/// The crisis lines shown to a person reaching out.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CrisisLines {
    /// The country the defaults are for, if known.
    pub country: Option<String>,
    /// Whether the person added lines of their own (they come first).
    pub custom: bool,
    /// The lines.
    pub lines: Vec<CrisisLine>,
}

/// The last milestone of `r` reached before today, if any: when a clock is shared with a
/// circle, that one is stale (it goes as announced), so sharing a clock started 4 days ago
/// does not announce "1 day"; a milestone reached today is still news.
fn stale_milestone(r: &ClockRecord, now: u64) -> Result<Option<i64>> {
    let since = clock::parse_date(&r.since)?;
    let today = clock::today_in(&clock::parse_zone(&r.zone)?, timestamp(now)?);
    Ok(clock::reached(since, today)
        .filter(|m| m.date < today)
        .map(|m| m.days))
}

fn milestone(m: clock::Milestone) -> MilestoneItem {
    MilestoneItem {
        label: m.label.clone(),
        date: m.date.to_string(),
        days: m.days,
    }
}

impl Circles {
    fn clock_records(&self) -> Result<Vec<ClockRecord>> {
        Ok(self.store().private(CLOCKS)?.unwrap_or_default())
    }

    fn save_clocks(&self, clocks: &[ClockRecord]) -> Result<()> {
        self.store().put_private(CLOCKS, &clocks)?;
        self.store().flush()
    }

    fn clock_item(&self, r: &ClockRecord, now: u64) -> Result<ClockItem> {
        let since = clock::parse_date(&r.since)?;
        let tz = clock::parse_zone(&r.zone)?;
        let today = clock::today_in(&tz, timestamp(now)?);
        let names = self.list()?;
        Ok(ClockItem {
            name: r.name.clone(),
            since: r.since.clone(),
            zone: r.zone.clone(),
            days: clock::days_since(since, today),
            reached: clock::reached(since, today).map(milestone),
            next: clock::next(since, today).map(milestone),
            shared_with: r
                .shared
                .iter()
                .filter_map(|c| names.iter().find(|i| i.id == c.to_string()))
                .map(|i| i.name.clone())
                .collect(),
            restarts: r.resets.len(),
        })
    }

    /// The person's clocks.
    pub fn clocks(&self, now: u64) -> Result<Vec<ClockItem>> {
        self.clock_records()?
            .iter()
            .map(|r| self.clock_item(r, now))
            .collect()
    }

    /// Starts a clock counting days since `since` (YYYY-MM-DD) in `zone` (the system's time
    /// zone when `None`), announcing milestones to `share`.
    pub fn clock_start(
        &self,
        name: &str,
        since: &str,
        zone: Option<&str>,
        share: &[CircleId],
        now: u64,
    ) -> Result<ClockItem> {
        check_short("clock name", name, MAX_CLOCK_NAME_CHARS)?;
        let _clocks = self.inner.clocks.lock().map_err(poisoned)?;
        let zone = zone.map_or_else(clock::system_zone_name, str::to_string);
        let tz = clock::parse_zone(&zone)?;
        let start = clock::parse_date(since)?;
        if start > clock::today_in(&tz, timestamp(now)?) {
            return Err(Error::Invalid(format!(
                "{since} is in the future: a clock counts from a day that has begun"
            )));
        }
        for c in share {
            self.with_circle(c, |c| c.check_member().map(|_| ()))?;
        }
        let mut clocks = self.clock_records()?;
        if clocks.iter().any(|c| c.name == name) {
            return Err(Error::Invalid(format!(
                "you already have a clock called '{name}': restart it with `circle clock reset '{name}'`"
            )));
        }
        if clocks.len() >= MAX_CLOCKS {
            return Err(Error::Invalid(format!("at most {MAX_CLOCKS} clocks")));
        }
        let mut record = ClockRecord {
            name: name.to_string(),
            since: start.to_string(),
            zone,
            shared: share.to_vec(),
            announced: Vec::new(),
            resets: Vec::new(),
        };
        if let Some(days) = stale_milestone(&record, now)? {
            record.announced = share.iter().map(|c| (*c, days)).collect();
        }
        let item = self.clock_item(&record, now)?;
        clocks.push(record);
        self.save_clocks(&clocks)?;
        Ok(item)
    }

    /// Restarts a clock from today. The circles it is shared with are told only when `tell`
    /// is set; returns what to gossip then.
    pub fn clock_reset(
        &self,
        name: &str,
        note: Option<&str>,
        tell: bool,
        now: u64,
    ) -> Result<(ClockItem, Vec<Envelope>)> {
        if let Some(n) = note {
            crate::support::check_note("note", n)?;
        }
        let record = self.change_clock(name, |record| {
            let tz = clock::parse_zone(&record.zone)?;
            record.resets.push((now, note.map(str::to_string)));
            record.since = clock::today_in(&tz, timestamp(now)?).to_string();
            // A restart the circles are not told about must not show through the milestones:
            // what was announced stays, and only a milestone beyond it is announced again, so
            // "1 day" never follows "90 days".
            if tell {
                record.announced.clear();
            }
            Ok(())
        })?;
        let mut written = Vec::new();
        if tell {
            for c in &record.shared {
                let reset = Body::ClockReset {
                    clock: record.name.clone(),
                    note: note.map(str::to_string),
                };
                match self.post(c, reset) {
                    Ok(w) => written.extend(w),
                    // Left or removed since: the other circles are still told.
                    Err(e) => tracing::debug!("restart not told: {e}"),
                }
            }
        }
        Ok((self.clock_item(&record, now)?, written))
    }

    /// Announces a clock's milestones to `circle` from now on: the next one, or one reached
    /// today; not one already behind (see [`Circles::clock_count_now`] for the count today).
    pub fn clock_share(&self, name: &str, circle: &CircleId, now: u64) -> Result<ClockItem> {
        self.with_circle(circle, |c| c.check_member().map(|_| ()))?;
        let record = self.change_clock(name, |record| {
            if !record.shared.contains(circle) {
                record.shared.push(*circle);
                if let Some(days) = stale_milestone(record, now)? {
                    record.announced.push((*circle, days));
                }
            }
            Ok(())
        })?;
        self.clock_item(&record, now)
    }

    /// Tells `circle` a clock's count today ("sober: 4 days"), when the person chooses to
    /// rather than wait for the next milestone. Returns what to gossip.
    pub fn clock_count_now(
        &self,
        name: &str,
        circle: &CircleId,
        now: u64,
    ) -> Result<Vec<Envelope>> {
        self.with_circle(circle, |c| c.check_member().map(|_| ()))?;
        let mut note = None;
        self.change_clock(name, |record| {
            let since = clock::parse_date(&record.since)?;
            let today = clock::today_in(&clock::parse_zone(&record.zone)?, timestamp(now)?);
            let days = clock::days_since(since, today);
            if days < 1 {
                return Err(Error::Invalid(format!(
                    "your '{name}' clock started today: there is no day to count yet (its first \
                     milestone, 1 day, is told tomorrow)"
                )));
            }
            let label = match clock::reached(since, today) {
                Some(m) if m.date == today => m.label,
                _ if days == 1 => "1 day".to_string(),
                _ => format!("{days} days"),
            };
            // Told now, so the timed announcer does not tell a milestone up to today again.
            record.announced.push((*circle, days));
            note = Some(MilestoneNote {
                clock: record.name.clone(),
                label,
                days,
            });
            Ok(())
        })?;
        match note {
            Some(note) => self.post(circle, Body::Milestone(note)),
            None => Ok(Vec::new()),
        }
    }

    /// Changes the clock called `name` and saves it, all under the clocks lock. Returns the
    /// clock as saved.
    fn change_clock(
        &self,
        name: &str,
        change: impl FnOnce(&mut ClockRecord) -> Result<()>,
    ) -> Result<ClockRecord> {
        let _clocks = self.inner.clocks.lock().map_err(poisoned)?;
        let mut clocks = self.clock_records()?;
        let record = clocks
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| no_clock(name))?;
        change(record)?;
        let record = record.clone();
        self.save_clocks(&clocks)?;
        Ok(record)
    }

    /// Writes each fresh milestone of a shared clock not yet announced to its circles.
    /// Returns what to gossip.
    pub fn announce_milestones(&self, now: u64) -> Result<Vec<Envelope>> {
        let _clocks = self.inner.clocks.lock().map_err(poisoned)?;
        let mut clocks = self.clock_records()?;
        let mut due: Vec<(CircleId, MilestoneNote)> = Vec::new();
        for r in clocks.iter_mut() {
            let (Ok(since), Ok(tz)) = (clock::parse_date(&r.since), clock::parse_zone(&r.zone))
            else {
                continue;
            };
            let today = clock::today_in(&tz, timestamp(now)?);
            let Some(m) = clock::reached(since, today) else {
                continue;
            };
            if clock::days_since(m.date, today) > ANNOUNCE_WITHIN_DAYS {
                continue;
            }
            for circle in r.shared.clone() {
                if r.announced
                    .iter()
                    .any(|(c, days)| *c == circle && *days >= m.days)
                {
                    continue;
                }
                r.announced.push((circle, m.days));
                due.push((
                    circle,
                    MilestoneNote {
                        clock: r.name.clone(),
                        label: m.label.clone(),
                        days: m.days,
                    },
                ));
            }
        }
        if due.is_empty() {
            return Ok(Vec::new());
        }
        // Marked announced before writing: a crash in between loses one announcement rather
        // than repeating it.
        self.save_clocks(&clocks)?;
        let mut written = Vec::new();
        for (circle, note) in due {
            match self.post(&circle, Body::Milestone(note)) {
                Ok(w) => written.extend(w),
                // Left or removed: nothing more is announced there.
                Err(e) => tracing::debug!("milestone not announced: {e}"),
            }
        }
        Ok(written)
    }

    /// The person's settings.
    pub fn settings(&self) -> Result<Settings> {
        Ok(self.store().private(SETTINGS)?.unwrap_or_default())
    }

    /// Saves the person's settings.
    pub fn set_settings(&self, settings: &Settings) -> Result<()> {
        self.store().put_private(SETTINGS, settings)?;
        self.store().flush()
    }

    /// Changes the person's crisis lines: `reset` forgets the lines they added (not their
    /// country), then `country` is set and `add` is added. Returns what is shown now.
    pub fn change_crisis_lines(
        &self,
        country: Option<&str>,
        add: &[String],
        reset: bool,
    ) -> Result<CrisisLines> {
        let mut settings = self.settings()?;
        if reset {
            settings.lines.clear();
        }
        if let Some(country) = country {
            settings.country = Some(crisis::check_country(country)?);
        }
        if settings.lines.len() + add.len() > MAX_OWN_LINES {
            return Err(Error::Invalid(format!(
                "at most {MAX_OWN_LINES} crisis lines of your own: `--reset` forgets the ones \
                 you added"
            )));
        }
        for line in add {
            settings.lines.push(crisis::parse_line(line)?);
        }
        self.set_settings(&settings)?;
        self.crisis_lines()
    }

    /// The crisis lines to show: the person's own first, then their country's defaults (the
    /// country set, else read from the locale in the environment), which are never hidden.
    pub fn crisis_lines(&self) -> Result<CrisisLines> {
        let settings = self.settings()?;
        let country = settings.country.clone().or_else(|| {
            crisis::country_from_locale(&[
                std::env::var("LC_ALL").ok(),
                std::env::var("LC_MESSAGES").ok(),
                std::env::var("LANG").ok(),
            ])
        });
        let custom = !settings.lines.is_empty();
        let mut lines = settings.lines;
        lines.extend(crisis::defaults_for(country.as_deref()));
        Ok(CrisisLines {
            lines,
            country,
            custom,
        })
    }
}

/// Most crisis lines a person may add of their own.
pub const MAX_OWN_LINES: usize = 20;

fn no_clock(name: &str) -> Error {
    Error::Invalid(format!(
        "you have no clock called '{name}': see `circle clock list`"
    ))
}

fn timestamp(ms: u64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX))
        .map_err(|e| Error::Invalid(format!("the system clock is off: {e}")))
}
