//! A circle's own settings and pinned things: starting one with its format and guidelines,
//! reading them before joining, `info`, meetings and resources.

use std::path::Path;

use anyhow::{Context, Result, bail};
use circle_node::support::{
    Format, MAX_TITLE_CHARS, check_note, check_short, check_url, clock, schedule,
};
use serde_json::{Value, json};

use super::{check_zone, circle_name, confirm, field, list, report, short};
use crate::{
    Ctx,
    args::{MeetingArgs, ResourceArgs},
    clean,
    client::segment,
    count, print_id,
};

/// Reads a guidelines file.
fn read_guidelines(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the guidelines file {}", path.display()))?;
    let text = text.trim_end().to_string();
    if text.trim().is_empty() {
        bail!(
            "the guidelines file {} is empty: write the circle's guidelines in it, or leave out --guidelines",
            path.display()
        );
    }
    Ok(text)
}

/// "a 12-step circle", "a SMART Recovery circle", ...
fn kind_of_circle(format: &Value) -> String {
    match format.as_str() {
        Some("12-step") => "a 12-step circle".to_string(),
        Some("smart") => "a SMART Recovery circle".to_string(),
        Some("dharma") => "a Recovery Dharma circle".to_string(),
        Some("secular") => "a secular circle".to_string(),
        _ => "a circle".to_string(),
    }
}

/// The guidelines, indented under a heading, or a line saying there are none.
fn guidelines_text(guidelines: &Value) -> String {
    match guidelines.as_str().filter(|g| !g.trim().is_empty()) {
        Some(g) => format!("Its guidelines:\n    {}", clean(g).replace('\n', "\n    ")),
        None => "It has no written guidelines.".to_string(),
    }
}

/// `circle create`.
pub async fn create(
    ctx: &Ctx,
    name: &str,
    nick: Option<String>,
    guidelines: Option<&Path>,
    format: Option<&str>,
    force: bool,
) -> Result<()> {
    let format = format.map(Format::parse).transpose()?;
    let guidelines = guidelines.map(read_guidelines).transpose()?;
    let body = json!({
        "name": name,
        "nick": nick,
        "format": format.map(Format::as_str),
        "guidelines": guidelines,
        "force": force,
    });
    let r = ctx.api().await?.post("/v1/circles", body).await?;
    let id = r["id"].as_str().unwrap_or_default().to_string();
    print_id(ctx, &id);
    let name = clean(name.trim());
    eprintln!("Created the circle '{name}'. Invite people with `circle invite '{name}'`.");
    if guidelines.is_some() {
        eprintln!("Everyone invited reads its guidelines before they join.");
    }
    Ok(())
}

/// `circle info`.
pub async fn info(ctx: &Ctx, circle: &str) -> Result<()> {
    let client = ctx.api().await?;
    let info = client
        .get(&format!("/v1/circles/{}/info", segment(circle)))
        .await?;
    if ctx.json {
        println!("{info}");
        return Ok(());
    }
    let standing = match info["standing"].as_str() {
        Some("admin") => "; you are an admin",
        Some("left") => "; you left",
        Some("removed") => "; you were removed",
        _ => "",
    };
    let admins: Vec<String> = match info["admin_members"].as_array() {
        Some(_) => crate::whos(&info["admin_members"]),
        None => info["admins"]
            .as_array()
            .into_iter()
            .flatten()
            .map(field)
            .collect(),
    };
    let invites = match info["invites"].as_str() {
        Some("members") => "every member",
        _ => "admins",
    };
    println!("{}", field(&info["name"]));
    println!("  id:       {}", field(&info["id"]));
    println!(
        "  kind:     {}",
        kind_of_circle(&info["format"]).trim_start_matches("a ")
    );
    println!(
        "  members:  {}{standing}",
        count(info["members"].as_u64().unwrap_or(0), "member")
    );
    println!("  admins:   {}", admins.join(", "));
    println!("  invites:  {invites} can invite people");
    println!("{}", guidelines_text(&info["guidelines"]));
    Ok(())
}

/// `circle join`: shows the circle's guidelines and asks first.
pub async fn join(ctx: &Ctx, token: &str, nick: Option<String>, yes: bool) -> Result<()> {
    // Check the token here first: a damaged or expired invite needs no running node to say so.
    let invite = circle_crypto::Invite::from_token(token)?;
    invite.check_expiry(circle_node::now_secs())?;
    let client = ctx.require_running("join").await?;
    let preview = client
        .post("/v1/join/preview", json!({ "token": token, "nick": nick }))
        .await?;
    let name = match preview["name"].as_str() {
        Some(_) => field(&preview["name"]),
        None => clean(&invite.circle_name),
    };
    let members = match preview["members"].as_u64() {
        Some(n) => format!(" of {}", count(n, "member")),
        None => String::new(),
    };
    eprintln!(
        "'{name}' is {}{members}.",
        kind_of_circle(&preview["format"])
    );
    eprintln!("{}", guidelines_text(&preview["guidelines"]));
    if !yes {
        let no_terminal = format!(
            "joining asks you first, once you have read the guidelines of '{name}', and there is \
             no terminal to ask on: add --yes to join"
        );
        if !confirm(&format!("Join '{name}'?"), &no_terminal)? {
            eprintln!("You did not join. The invite still works if you change your mind.");
            return Ok(());
        }
    }
    let r = client
        .post("/v1/join", json!({ "token": token, "nick": nick }))
        .await?;
    print_id(ctx, r["id"].as_str().unwrap_or_default());
    if r["returned"] == true {
        eprintln!(
            "Welcome back to '{name}'. Everyone there sees that you came back; what you had \
             stays, and what was said while you were away is arriving now."
        );
    } else {
        eprintln!("Welcome to '{name}'. Messages shared before you joined are arriving now.");
    }
    Ok(())
}

/// `circle meeting add`.
pub async fn meeting_add(ctx: &Ctx, args: MeetingArgs) -> Result<()> {
    let schedule = match (&args.weekly, &args.on) {
        (Some(day), None) => schedule::weekly(day, &args.at)?,
        (None, Some(date)) => schedule::once(date, &args.at)?,
        _ => bail!("say when it meets: --weekly DAY or --on YYYY-MM-DD, with --at HH:MM"),
    };
    check_short("meeting title", &args.title, MAX_TITLE_CHARS)?;
    check_zone(&args.tz)?;
    if let Some(link) = &args.link {
        check_url(link.trim())?;
    }
    let client = ctx.api().await?;
    let body = json!({
        "title": args.title.trim(),
        "weekly": args.weekly.as_deref().map(str::trim),
        "on": args.on.as_deref().map(str::trim),
        "at": args.at.trim(),
        "tz": args.tz.trim(),
        "link": args.link.as_deref().map(str::trim),
    });
    let r = client
        .post(
            &format!("/v1/circles/{}/meetings", segment(&args.circle)),
            body,
        )
        .await?;
    let name = circle_name(&client, &args.circle).await;
    let line = format!(
        "Added '{}' to '{name}': {} ({}). Everyone sees it in their own time with \
         `circle meetings`, and a running node reminds them before it starts.",
        clean(args.title.trim()),
        schedule.describe(),
        clean(args.tz.trim())
    );
    report(ctx, &r, &line);
    Ok(())
}

/// `circle meetings`, in the viewer's time zone.
pub async fn meetings(ctx: &Ctx, circle: &str, tz: Option<&str>) -> Result<()> {
    let zone = match tz {
        Some(tz) => {
            check_zone(tz)?;
            tz.trim().to_string()
        }
        None => clock::system_zone_name(),
    };
    let client = ctx.api().await?;
    let all = client
        .get(&format!(
            "/v1/circles/{}/meetings?tz={}",
            segment(circle),
            segment(&zone)
        ))
        .await?;
    let name = circle_name(&client, circle).await;
    let empty = format!(
        "No meetings in '{name}' yet. Add one with `circle meeting add '{name}' TITLE --weekly DAY --at HH:MM --tz ZONE`."
    );
    list(ctx, &all, &empty, |m| {
        let next = match m["next_local"].as_str() {
            Some(_) => format!(" Next: {}.", field(&m["next_local"])),
            None => " It has taken place.".to_string(),
        };
        let link = match m["link"].as_str() {
            Some(_) => format!(" {}", field(&m["link"])),
            None => String::new(),
        };
        println!(
            "{} (#{}): {} ({}).{next}{link}",
            field(&m["title"]),
            short(m["id"].as_str().unwrap_or_default()),
            field(&m["when"]),
            field(&m["zone"])
        );
    });
    Ok(())
}

/// `circle resource add`.
pub async fn resource_add(ctx: &Ctx, args: ResourceArgs) -> Result<()> {
    check_short("title", &args.title, MAX_TITLE_CHARS)?;
    if let Some(text) = &args.text {
        check_note("text", text)?;
    }
    if let Some(url) = &args.url {
        check_url(url.trim())?;
    }
    let client = ctx.api().await?;
    let body = json!({
        "title": args.title.trim(),
        "text": args.text,
        "url": args.url.as_deref().map(str::trim),
    });
    let r = client
        .post(
            &format!("/v1/circles/{}/resources", segment(&args.circle)),
            body,
        )
        .await?;
    let name = circle_name(&client, &args.circle).await;
    let line = format!(
        "Pinned '{}' in '{name}' for everyone: `circle resources '{name}'` lists it.",
        clean(args.title.trim())
    );
    report(ctx, &r, &line);
    Ok(())
}

/// `circle resources`.
pub async fn resources(ctx: &Ctx, circle: &str) -> Result<()> {
    let client = ctx.api().await?;
    let all = client
        .get(&format!("/v1/circles/{}/resources", segment(circle)))
        .await?;
    let name = circle_name(&client, circle).await;
    let empty = format!(
        "Nothing is pinned in '{name}' yet. Pin a coping strategy, a number or a link with \
         `circle resource add`."
    );
    list(ctx, &all, &empty, |r| {
        println!(
            "{} (pinned by {})",
            field(&r["title"]),
            crate::who(&r["added_by"], &r["added_by_fingerprint"])
        );
        if r["text"].is_string() {
            println!("    {}", field(&r["text"]).replace('\n', "\n    "));
        }
        if r["url"].is_string() {
            println!("    {}", field(&r["url"]));
        }
    });
    Ok(())
}
