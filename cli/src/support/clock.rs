//! Recovery clocks: days since a date the person chooses, counted in their own time zone, and
//! milestones the circles they choose hear of. Clocks live on the person's node only.

use anyhow::Result;
use circle_node::support::{MAX_CLOCK_NAME_CHARS, check_short};
use serde_json::{Value, json};

use super::{check_date, check_zone, circle_name, field, list};
use crate::{Ctx, clean, client::segment, count};

/// "sober: 7 days (since 2026-11-15, Europe/London). Reached 7 days on 2026-11-22; next:
/// 30 days on 2026-12-15. Shared with 'Tuesday circle'."
fn describe(c: &Value) -> String {
    let days = c["days"].as_i64().unwrap_or(0);
    let days = if days == 1 {
        "1 day".to_string()
    } else {
        format!("{days} days")
    };
    let mut text = format!(
        "{}: {days} (since {}, {}).",
        field(&c["name"]),
        field(&c["since"]),
        field(&c["zone"])
    );
    if c["reached"].is_object() {
        text.push_str(&format!(
            " Reached {} on {}.",
            field(&c["reached"]["label"]),
            field(&c["reached"]["date"])
        ));
    }
    if c["next"].is_object() {
        text.push_str(&format!(
            " Next: {} on {}.",
            field(&c["next"]["label"]),
            field(&c["next"]["date"])
        ));
    }
    let shared: Vec<String> = c["shared_with"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| format!("'{}'", field(n)))
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
    let body = json!({
        "name": name.trim(),
        "since": since.trim(),
        "tz": tz.map(str::trim),
        "share": share,
    });
    let clock = client.post("/v1/clocks", body).await?;
    if ctx.json {
        println!("{clock}");
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
    let r = client
        .post(
            &format!("/v1/clocks/{}/reset", segment(name.trim())),
            json!({ "note": note, "share": share }),
        )
        .await?;
    if ctx.json {
        println!("{r}");
        return Ok(());
    }
    println!(
        "Your '{}' clock starts again from today. Coming back to it is what counts.",
        field(&r["clock"]["name"])
    );
    let told: Vec<String> = r["told"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| format!("'{}'", field(n)))
        .collect();
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
    let clock = client
        .post(
            &format!("/v1/clocks/{}/share", segment(name.trim())),
            json!({ "circle": circle, "now": now }),
        )
        .await?;
    if ctx.json {
        println!("{clock}");
        return Ok(());
    }
    let circle = circle_name(&client, circle).await;
    println!(
        "'{circle}' will hear of your '{}' milestones from now on. {}",
        field(&clock["name"]),
        describe(&clock)
    );
    if now {
        println!(
            "Told '{circle}' your count today: {}.",
            count(clock["days"].as_u64().unwrap_or(0), "day")
        );
    }
    Ok(())
}

/// `circle clock list`.
pub async fn clock_list(ctx: &Ctx) -> Result<()> {
    let client = ctx.api().await?;
    let clocks = client.get("/v1/clocks").await?;
    let empty = "No clocks yet. Start one with `circle clock start NAME --since YYYY-MM-DD`.";
    list(ctx, &clocks, empty, |c| println!("{}", describe(c)));
    Ok(())
}
