//! Shares with replies and expiry, reactions, and taking a share back.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use circle_node::contract::{ReactRequest, ShareRequest};

use super::{circle_name, message_ref, report, short, text_or_stdin};
use crate::{Ctx, clean};

/// Shortest and longest time a share may be set to last (as the node allows).
const EXPIRY: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(366 * 24 * 3600);

/// Reads `--expires`.
fn expiry(typed: &str) -> Result<Duration> {
    let d = humantime::parse_duration(typed.trim()).map_err(|_| {
        anyhow!(
            "'{}' is not a duration: use for example 30m, 24h or 7d",
            clean(typed)
        )
    })?;
    if !EXPIRY.contains(&d) {
        bail!("a share can disappear after 1 second to 366 days: for example --expires 24h");
    }
    Ok(d)
}

/// `circle share`: with the node running through its API, else written to the store and sent
/// when the node next runs.
pub async fn share(
    ctx: &Ctx,
    circle: &str,
    text: &str,
    reply_to: Option<&str>,
    expires: Option<&str>,
) -> Result<()> {
    let text = text_or_stdin(text)?;
    // Say what is wrong before reaching for the node or the passphrase.
    circle_node::check_text(&text)?;
    expires.map(expiry).transpose()?;
    let reply_to = match reply_to {
        Some(r) => {
            message_ref(r)?;
            Some(r.trim().trim_start_matches('#'))
        }
        None => None,
    };
    let body = ShareRequest {
        text,
        reply_to: reply_to.map(str::to_string),
        expires: expires.map(|e| e.trim().to_string()),
    };
    let client = ctx.api().await?;
    let written = client.share(circle, &body).await?;
    let name = circle_name(&client, &written.circle).await;
    let id = written.id.as_deref().unwrap_or_default();
    let line = if written.queued {
        format!(
            "Kept for '{name}': this node was restored and is catching up with your own messages; it sends this as soon as it has (see `circle status`)."
        )
    } else {
        format!("Shared in '{name}' as #{}.", short(id))
    };
    report(ctx, &written, &line);
    if let Some(typed) = expires {
        eprintln!(
            "It disappears from every member's feed {} from now.",
            clean(typed.trim())
        );
    }
    Ok(())
}

/// `circle react ID EMOJI`.
pub async fn react(ctx: &Ctx, id: &str, emoji: &str) -> Result<()> {
    let message = message_ref(id)?;
    let emoji = emoji.trim();
    circle_node::support::check_reaction(emoji)?;
    let client = ctx.api().await?;
    let r = client
        .react(
            &message,
            &ReactRequest {
                emoji: emoji.to_string(),
            },
        )
        .await?;
    let name = circle_name(&client, &r.circle).await;
    let typed = id.trim().trim_start_matches('#');
    let line = format!(
        "You reacted {} to #{} in '{name}'.",
        clean(emoji),
        clean(short(typed))
    );
    report(ctx, &r, &line);
    Ok(())
}

/// `circle withdraw ID`.
pub async fn withdraw(ctx: &Ctx, id: &str) -> Result<()> {
    let message = message_ref(id)?;
    let client = ctx.api().await?;
    let r = client.withdraw(&message).await?;
    let name = circle_name(&client, &r.circle).await;
    let typed = id.trim().trim_start_matches('#');
    let line = format!(
        "Withdrawn #{} from '{name}'. Every member's node drops its words (nodes that are off \
         now, when they next connect); the feed shows only that it was withdrawn.",
        clean(short(typed))
    );
    report(ctx, &r, &line);
    Ok(())
}
