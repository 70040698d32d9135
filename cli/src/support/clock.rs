//! Recovery clocks: days since a date the person chooses, counted in their own time zone, and
//! milestones the circles they choose hear of. Clocks live on the person's node only.

use anyhow::Result;
use circle_node::contract::{ClockItem, ClockResetRequest, ClockShareRequest, ClockStart};
use circle_node::support::{MAX_CLOCK_NAME_CHARS, check_short};

use super::{check_date, check_zone, circle_name, list};
use crate::{Ctx, clean, count};

/// "sober: 7 days (since 2026-11-15, Europe/London). Reached 7 days on 2026-11-22; next:
/// 30 days on 2026-12-15. Shared with 'Tuesday circle'."
fn describe(c: &ClockItem) -> String {
    let days = c.days;
    let days = if days == 1 {
        "1 day".to_string()
    } else {
        format!("{days} days")
    };
    let mut text = format!(
        "{}: {days} (since {}, {}).",
        clean(&c.name),
        clean(&c.since),
        clean(&c.zone)
    );
    if let Some(m) = &c.reached {
        text.push_str(&format!(
            " Reached {} on {}.",
            clean(&m.label),
            clean(&m.date)
        ));
    }
    if let Some(m) = &c.next {
        text.push_str(&format!(
            " Next: {} on {}.",
            clean(&m.label),
            clean(&m.date)
        ));
    }
    let shared: Vec<String> = c
        .shared_with
        .iter()
        .map(|n| format!("'{}'", clean(n)))
        .collect();
    if shared.is_empty() {
        text.push_str(" Private: only you see it.");
    } else {
        text.push_str(&format!(" Shared with {}.", shared.join(", ")));
    }
    text
}

/// `circle clock start`.
pub async fn clock_start(
    ctx: &Ctx,
    name: &str,
    since: &str,
    tz: Option<&str>,
    share: &[String],
) -> Result<()> {
    check_short("clock name", name, MAX_CLOCK_NAME_CHARS)?;
    check_date(since)?;
    if let Some(tz) = tz {
        check_zone(tz)?;
    }
    let client = ctx.api().await?;
    let body = ClockStart {
        name: name.trim().to_string(),
        since: since.trim().to_string(),
        tz: tz.map(|t| t.trim().to_string()),
        share: share.to_vec(),
    };
    let clock = client.clock_start(&body).await?;
    if ctx.json {
        crate::out::json_line(&clock);
        return Ok(());
    }
    println!("Started your clock. {}", describe(&clock));
    if share.is_empty() {
        eprintln!(
            "To let a circle celebrate its milestones with you: `circle clock share '{}' CIRCLE`.",
            clean(name.trim())
        );
    }
    Ok(())
}

/// `circle clock reset`.
pub async fn clock_reset(ctx: &Ctx, name: &str, note: Option<&str>, share: bool) -> Result<()> {
    if let Some(note) = note {
        circle_node::support::check_note("note", note)?;
    }
    let client = ctx.api().await?;
    let body = ClockResetRequest {
        note: note.map(str::to_string),
        share,
    };
    let r = client.clock_reset(name.trim(), &body).await?;
    if ctx.json {
        crate::out::json_line(&r);
        return Ok(());
    }
    println!(
        "Your '{}' clock starts again from today. Coming back to it is what counts.",
        clean(&r.clock.name)
    );
    let told: Vec<String> = r.told.iter().map(|n| format!("'{}'", clean(n))).collect();
    if told.is_empty() {
        println!("Nobody was told: this stays with you.");
    } else {
        println!("Told {}.", told.join(", "));
    }
    Ok(())
}

/// `circle clock share`.
pub async fn clock_share(ctx: &Ctx, name: &str, circle: &str, now: bool) -> Result<()> {
    let client = ctx.api().await?;
    let body = ClockShareRequest {
        circle: circle.to_string(),
        now,
    };
    let clock = client.clock_share(name.trim(), &body).await?;
    if ctx.json {
        crate::out::json_line(&clock);
        return Ok(());
    }
    let circle = circle_name(&client, circle).await;
    println!(
        "'{circle}' will hear of your '{}' milestones from now on. {}",
        clean(&clock.name),
        describe(&clock)
    );
    if now {
        println!(
            "Told '{circle}' your count today: {}.",
            count(u64::try_from(clock.days).unwrap_or(0), "day")
        );
    }
    Ok(())
}

/// `circle clock list`.
pub async fn clock_list(ctx: &Ctx) -> Result<()> {
    let client = ctx.api().await?;
    let clocks = client.clocks().await?;
    let empty = "No clocks yet. Start one with `circle clock start NAME --since YYYY-MM-DD`.";
    list(ctx, &clocks, empty, |c| println!("{}", describe(c)));
    Ok(())
}
