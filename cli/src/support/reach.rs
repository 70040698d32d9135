//! Reaching out: one action, confirmed, that tells the whole circle "I need someone now", with
//! crisis lines shown first every time; who has seen it; the crisis lines themselves.

use std::time::Duration;

use anyhow::{Result, bail};
use circle_node::support::{
    MAX_CALLBACK_CHARS, check_note, check_short,
    crisis::{check_country, country_from_locale, defaults_for, parse_line},
};
use serde_json::{Value, json};

use super::{circle_name, confirm, field, list, short, when_zoned};
use crate::{Ctx, Target, client::Client, client::segment, passphrase, who, whos};

/// How long `reach-out` waits for a first member to see it before it reports.
const FIRST_SEEN_WAIT: Duration = Duration::from_secs(2);

/// The crisis lines for this machine's locale, for when the node cannot be asked.
fn local_defaults() -> Value {
    let vars: Vec<Option<String>> = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .map(|v| std::env::var(v).ok())
        .collect();
    let country = country_from_locale(&vars);
    json!({
        "country": country,
        "lines": serde_json::to_value(defaults_for(country.as_deref())).unwrap_or_default(),
    })
}

/// The person's crisis lines while the node is not running, as the node would show them
/// (their own lines and country), or this machine's defaults if no passphrase is at hand: a
/// person reaching out is not asked for one first.
async fn offline_lines(ctx: &Ctx) -> Value {
    if passphrase::at_hand().is_some()
        && let Ok(Target::Store(db)) = ctx.reach().await
        && let Some(lines) = stored_lines(ctx, db)
    {
        return lines;
    }
    local_defaults()
}

/// The crisis lines kept in the store (asks for the passphrase if none is at hand).
fn stored_lines(ctx: &Ctx, db: sled::Db) -> Option<Value> {
    let lines = ctx.load(db).ok()?.crisis_lines().ok()?;
    serde_json::to_value(lines).ok()
}

/// "  Samaritans: 116 123 (24/7)", one per line.
fn lines_text(lines: &Value) -> String {
    lines["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let hours = match l["hours"].as_str() {
                Some(_) => format!(" ({})", field(&l["hours"])),
                None => String::new(),
            };
            format!("  {}: {}{hours}\n", field(&l["name"]), field(&l["contact"]))
        })
        .collect()
}

fn print_crisis_lines(lines: &Value, to_stderr: bool) {
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
async fn seen(client: &Client, circle: &str, id: &str) -> Value {
    let path = format!("/v1/circles/{}/reach-outs", segment(circle));
    let deadline = tokio::time::Instant::now() + FIRST_SEEN_WAIT;
    loop {
        let item = client
            .get(&path)
            .await
            .ok()
            .and_then(|all| all.as_array()?.iter().find(|r| r["id"] == id).cloned())
            .unwrap_or_default();
        let someone = item["seen_by"].as_array().is_some_and(|s| !s.is_empty());
        if someone || tokio::time::Instant::now() >= deadline {
            return item;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// "seen by 3 of 5 (alice (…), bob (…), carol (…))", or "nobody has seen it yet".
fn seen_text(item: &Value) -> String {
    let names = match item["seen_by_members"].as_array() {
        Some(_) => whos(&item["seen_by_members"]),
        None => item["seen_by"]
            .as_array()
            .into_iter()
            .flatten()
            .map(field)
            .collect(),
    };
    let of = item["members"].as_u64().unwrap_or(0);
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
            .get("/v1/crisis-lines")
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
    let body = json!({
        "text": text.map(str::trim),
        "callback": callback.map(str::trim),
    });
    let r = client
        .post(&format!("/v1/circles/{}/reach-outs", segment(circle)), body)
        .await?;
    if client.is_offline() && !ctx.json {
        println!(
            "Saved for '{name}', but nobody has been told yet: your node is not running. It goes \
             out the moment you start it with `circle up`. If you need someone now, call one of \
             the lines above."
        );
        return Ok(());
    }
    let id = r["id"].as_str().unwrap_or_default();
    let item = seen(&client, circle, id).await;
    if ctx.json {
        println!(
            "{}",
            json!({
                "id": r["id"],
                "circle": r["circle"],
                "seen_by": item["seen_by"],
                "members": item["members"],
                "crisis_lines": lines["lines"],
            })
        );
        return Ok(());
    }
    if item["seen_by"].as_array().is_some_and(|s| !s.is_empty()) {
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
    let all = client
        .get(&format!("/v1/circles/{}/reach-outs", segment(circle)))
        .await?;
    let name = circle_name(&client, circle).await;
    let empty = format!("Nobody has reached out in '{name}'.");
    list(ctx, &all, &empty, |r| {
        let mut said = match r["text"].as_str() {
            Some(_) => format!(": {}", field(&r["text"]).replace('\n', "\n    ")),
            None => String::new(),
        };
        if r["callback"].is_string() {
            said.push_str(&format!(" (call back: {})", field(&r["callback"])));
        }
        println!(
            "!! [{}] {} (#{}) reached out{said} — {}",
            when_zoned(&r["sent_at"]),
            who(&r["author_name"], &r["author_fingerprint"]),
            short(r["id"].as_str().unwrap_or_default()),
            seen_text(r)
        );
    });
    // Shown, so seen: the sender learns it as from the feed.
    if all.as_array().is_some_and(|a| !a.is_empty()) {
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
            let body = json!({
                "country": country.map(str::trim),
                "lines": if add.is_empty() { None } else { Some(add) },
                "reset": reset,
            });
            client.put("/v1/crisis-lines", body).await?
        }
        Ok(client) => client.get("/v1/crisis-lines").await?,
        Err(e) if change => return Err(e),
        // The lines matter more than the node: show this machine's usual ones.
        Err(_) => local_defaults(),
    };
    if ctx.json {
        println!("{lines}");
        return Ok(());
    }
    let country = match lines["country"].as_str() {
        Some(_) => format!(" ({})", field(&lines["country"])),
        None => String::new(),
    };
    println!("Crisis lines{country}:");
    print!("{}", lines_text(&lines));
    if change {
        eprintln!("Saved. `circle reach-out` shows these lines every time.");
    }
    Ok(())
}
