//! Reaching out: one action, confirmed, that tells the whole circle "I need someone now", with
//! crisis lines shown first every time; who has seen it; the crisis lines themselves.

use std::time::Duration;

use anyhow::{Result, bail};
use circle_node::contract::{
    CrisisLine, CrisisLines, CrisisLinesChange, ReachOutItem, ReachOutRequest,
};
use circle_node::support::{
    MAX_CALLBACK_CHARS, check_note, check_short,
    crisis::{check_country, country_from_locale, defaults_for, parse_line},
};

use super::{circle_name, confirm, field, list, short, when_zoned};
use crate::{Ctx, Target, client::Client, passphrase, who, whos};

/// How long `reach-out` waits for a first member to see it before it reports.
const FIRST_SEEN_WAIT: Duration = Duration::from_secs(2);

/// The crisis lines for this machine's locale, for when the node cannot be asked.
fn local_defaults() -> CrisisLines {
    let vars: Vec<Option<String>> = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .map(|v| std::env::var(v).ok())
        .collect();
    let country = country_from_locale(&vars);
    CrisisLines {
        lines: defaults_for(country.as_deref()),
        country,
        custom: false,
    }
}

/// The person's crisis lines while the node is not running, as the node would show them
/// (their own lines and country), or this machine's defaults if no passphrase is at hand: a
/// person reaching out is not asked for one first.
async fn offline_lines(ctx: &Ctx) -> CrisisLines {
    if passphrase::at_hand().is_some()
        && let Ok(Target::Store(db)) = ctx.reach().await
        && let Some(lines) = stored_lines(ctx, db)
    {
        return lines;
    }
    local_defaults()
}

/// The crisis lines kept in the store (asks for the passphrase if none is at hand).
fn stored_lines(ctx: &Ctx, db: sled::Db) -> Option<CrisisLines> {
    ctx.load(db).ok()?.crisis_lines().ok()
}

/// "  Samaritans: 116 123 (24/7)", one per line.
fn lines_text(lines: &CrisisLines) -> String {
    lines
        .lines
        .iter()
        .map(|l: &CrisisLine| {
            let hours = match l.hours.as_deref() {
                Some(hours) => format!(" ({})", crate::clean(hours)),
                None => String::new(),
            };
            format!(
                "  {}: {}{hours}\n",
                crate::clean(&l.name),
                crate::clean(&l.contact)
            )
        })
        .collect()
}

fn print_crisis_lines(lines: &CrisisLines, to_stderr: bool) {
    let text = format!(
        "If you might hurt yourself or are in danger, call one of these now:\n{}",
        lines_text(lines)
    );
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// The reach-out `id` in `circle`'s list, once a member has seen it or after a short wait.
async fn seen(client: &Client, circle: &str, id: &str) -> Option<ReachOutItem> {
    let deadline = tokio::time::Instant::now() + FIRST_SEEN_WAIT;
    loop {
        let item = client
            .reach_outs(circle)
            .await
            .ok()
            .and_then(|all| all.into_iter().find(|r| r.id == id));
        let someone = item.as_ref().is_some_and(|i| !i.seen_by.is_empty());
        if someone || tokio::time::Instant::now() >= deadline {
            return item;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// "seen by 3 of 5 (alice (…), bob (…), carol (…))", or "nobody has seen it yet".
fn seen_text(item: &ReachOutItem) -> String {
    let names = whos(&item.seen_by_members);
    let of = item.members;
    if names.is_empty() {
        "nobody has seen it yet".to_string()
    } else {
        format!("seen by {} of {of} ({})", names.len(), names.join(", "))
    }
}

/// `circle reach-out`.
pub async fn reach_out(
    ctx: &Ctx,
    circle: &str,
    text: Option<&str>,
    callback: Option<&str>,
    yes: bool,
) -> Result<()> {
    if let Some(text) = text {
        check_note("message", text)?;
    }
    if let Some(number) = callback {
        check_short("callback number", number, MAX_CALLBACK_CHARS)?;
    }
    // The crisis lines come first, before anything is asked of the person (not even a
    // passphrase), and whatever else fails.
    let running = ctx.client().await;
    let lines = match &running {
        Some(client) => client
            .crisis_lines()
            .await
            .unwrap_or_else(|_| local_defaults()),
        None => offline_lines(ctx).await,
    };
    let asking = !yes && std::io::IsTerminal::is_terminal(&std::io::stdin());
    if !ctx.json || asking {
        print_crisis_lines(&lines, ctx.json);
    }
    let client = match running {
        Some(client) => client,
        None => match ctx.api().await {
            Ok(client) => client,
            Err(e) => {
                if ctx.json && !asking {
                    print_crisis_lines(&lines, true);
                }
                return Err(e);
            }
        },
    };
    let name = circle_name(&client, circle).await;
    if !yes {
        if !asking {
            bail!(
                "reach-out asks before it tells everyone in '{name}', and there is no terminal \
                 to ask on: add --yes to send it now"
            );
        }
        let mut what = match text {
            Some(t) => format!("Your message: {}", crate::clean(t.trim())),
            None => "Your message: you need someone now.".to_string(),
        };
        if let Some(n) = callback {
            what.push_str(&format!(" (call back: {})", crate::clean(n.trim())));
        }
        eprintln!("{what}");
        let question = format!("Send this to everyone in '{name}' now?");
        if !confirm(
            &question,
            "there is no terminal to ask on: add --yes to send it now",
        )? {
            eprintln!("Nothing was sent. The lines above are there whenever you need them.");
            return Ok(());
        }
    }
    let body = ReachOutRequest {
        text: text.map(|t| t.trim().to_string()),
        callback: callback.map(|c| c.trim().to_string()),
    };
    let r = client.reach_out(circle, &body).await?;
    if client.is_offline() && !ctx.json {
        println!(
            "Saved for '{name}', but nobody has been told yet: your node is not running. It goes \
             out the moment you start it with `circle up`. If you need someone now, call one of \
             the lines above."
        );
        return Ok(());
    }
    let id = r.id.as_deref().unwrap_or_default();
    let item = seen(&client, circle, id).await;
    if ctx.json {
        crate::out::json_line(&ReachedOut {
            id: r.id.clone(),
            circle: r.circle.clone(),
            seen_by: item.as_ref().map(|i| i.seen_by.clone()).unwrap_or_default(),
            members: item.as_ref().map_or(0, |i| i.members),
            crisis_lines: lines.lines,
        });
        return Ok(());
    }
    if let Some(item) = item.filter(|i| !i.seen_by.is_empty()) {
        println!("Sent to everyone in '{name}': {} so far.", seen_text(&item));
    } else {
        println!(
            "Sent to everyone in '{name}'. Nobody has seen it yet; members whose node is running \
             are told now."
        );
    }
    println!("See who has seen it with `circle reach-outs '{name}'`.");
    Ok(())
}

/// `circle reach-outs`.
pub async fn reach_outs(ctx: &Ctx, circle: &str) -> Result<()> {
    let client = ctx.api().await?;
    let all = client.reach_outs(circle).await?;
    let name = circle_name(&client, circle).await;
    let empty = format!("Nobody has reached out in '{name}'.");
    list(ctx, &all, &empty, |r| {
        let mut said = match r.reach_out.text.as_deref() {
            Some(text) => format!(": {}", field(Some(text)).replace('\n', "\n    ")),
            None => String::new(),
        };
        if let Some(number) = r.reach_out.callback.as_deref() {
            said.push_str(&format!(" (call back: {})", field(Some(number))));
        }
        println!(
            "!! [{}] {} (#{}) reached out{said} — {}",
            when_zoned(&r.sent_at),
            who(&r.author_name, &r.author_fingerprint),
            short(&r.id),
            seen_text(r)
        );
    });
    // Shown, so seen: the sender learns it as from the feed.
    if !all.is_empty() {
        super::feed::acknowledge(&client, circle).await;
    }
    Ok(())
}

/// `circle crisis-lines`: shows them, or sets the country or lines of one's own.
pub async fn crisis_lines(
    ctx: &Ctx,
    country: Option<&str>,
    add: &[String],
    reset: bool,
) -> Result<()> {
    if let Some(code) = country {
        check_country(code)?;
    }
    for line in add {
        parse_line(line)?;
    }
    let change = country.is_some() || !add.is_empty() || reset;
    let lines = match ctx.api().await {
        Ok(client) if change => {
            let body = CrisisLinesChange {
                country: country.map(|c| c.trim().to_string()),
                lines: (!add.is_empty()).then(|| add.to_vec()),
                reset,
            };
            client.set_crisis_lines(&body).await?
        }
        Ok(client) => client.crisis_lines().await?,
        Err(e) if change => return Err(e),
        // The lines matter more than the node: show this machine's usual ones.
        Err(_) => local_defaults(),
    };
    if ctx.json {
        crate::out::json_line(&lines);
        return Ok(());
    }
    let country = match lines.country.as_deref() {
        Some(country) => format!(" ({})", crate::clean(country)),
        None => String::new(),
    };
    println!("Crisis lines{country}:");
    print!("{}", lines_text(&lines));
    if change {
        eprintln!("Saved. `circle reach-out` shows these lines every time.");
    }
    Ok(())
}

/// What `circle reach-out --json` prints.
#[derive(serde::Serialize)]
struct ReachedOut {
    id: Option<String>,
    circle: String,
    seen_by: Vec<String>,
    members: usize,
    crisis_lines: Vec<CrisisLine>,
}
