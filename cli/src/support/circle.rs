//! A circle's own settings and pinned things: starting one with its format and guidelines,
//! reading them before joining, `info`, meetings and resources.

use std::path::Path;

use anyhow::{Context, Result, bail};
use circle_node::contract::{
    CreateCircle, InvitePolicy, JoinRequest, MeetingRequest, ResourceRequest, Standing,
};
use circle_node::support::{
    Format, MAX_TITLE_CHARS, check_note, check_short, check_url, clock, schedule,
};

use super::{check_zone, circle_name, confirm, field, list, report, short};
use crate::{
    Ctx,
    args::{MeetingArgs, ResourceArgs},
    clean, count, print_id,
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
fn kind_of_circle(format: Option<Format>) -> String {
    match format {
        Some(Format::TwelveStep) => "a 12-step circle".to_string(),
        Some(Format::Smart) => "a SMART Recovery circle".to_string(),
        Some(Format::Dharma) => "a Recovery Dharma circle".to_string(),
        Some(Format::Secular) => "a secular circle".to_string(),
        Some(Format::Other) | None => "a circle".to_string(),
    }
}

/// The guidelines, indented under a heading, or a line saying there are none.
fn guidelines_text(guidelines: Option<&str>) -> String {
    match guidelines.filter(|g| !g.trim().is_empty()) {
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
    let body = CreateCircle {
        name: name.to_string(),
        nick,
        format: format.map(|f| f.as_str().to_string()),
        guidelines: guidelines.clone(),
        force,
    };
    let r = ctx.api().await?.create_circle(&body).await?;
    print_id(ctx, &r.id);
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
    let info = client.info(circle).await?;
    if ctx.json {
        crate::out::json_line(&info);
        return Ok(());
    }
    let standing = match info.circle.standing {
        Standing::Admin => "; you are an admin",
        Standing::Left => "; you left",
        Standing::Removed => "; you were removed",
        Standing::Member | Standing::Joining => "",
    };
    let admins = crate::whos(&info.admin_members);
    let invites = match info.circle.invites {
        InvitePolicy::Members => "every member",
        InvitePolicy::Admins => "admins",
    };
    println!("{}", clean(&info.circle.name));
    println!("  id:       {}", clean(&info.circle.id));
    println!(
        "  kind:     {}",
        kind_of_circle(info.format).trim_start_matches("a ")
    );
    println!(
        "  members:  {}{standing}",
        count(info.circle.members as u64, "member")
    );
    println!("  admins:   {}", admins.join(", "));
    println!("  invites:  {invites} can invite people");
    println!("{}", guidelines_text(info.guidelines.as_deref()));
    Ok(())
}

/// `circle join`: shows the circle's guidelines and asks first.
pub async fn join(ctx: &Ctx, token: &str, nick: Option<String>, yes: bool) -> Result<()> {
    // Check the token here first: a damaged or expired invite needs no running node to say so.
    let invite = circle_crypto::Invite::from_token(token)?;
    invite.check_expiry(circle_node::now_secs())?;
    let client = ctx.require_running("join").await?;
    let request = JoinRequest {
        token: token.to_string(),
        nick,
    };
    let preview = client.join_preview(&request).await?;
    let name = if preview.name.is_empty() {
        clean(&invite.circle_name)
    } else {
        clean(&preview.name)
    };
    let members = format!(" of {}", count(u64::from(preview.members), "member"));
    eprintln!("'{name}' is {}{members}.", kind_of_circle(preview.format));
    eprintln!("{}", guidelines_text(preview.guidelines.as_deref()));
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
    let r = client.join(&request).await?;
    print_id(ctx, &r.id);
    if r.returned {
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
    let trimmed = |t: &Option<String>| t.as_deref().map(|t| t.trim().to_string());
    let body = MeetingRequest {
        title: args.title.trim().to_string(),
        weekly: trimmed(&args.weekly),
        on: trimmed(&args.on),
        at: args.at.trim().to_string(),
        tz: args.tz.trim().to_string(),
        link: trimmed(&args.link),
    };
    let r = client.meeting(&args.circle, &body).await?;
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
    let all = client.meetings(circle, Some(&zone)).await?;
    let name = circle_name(&client, circle).await;
    let empty = format!(
        "No meetings in '{name}' yet. Add one with `circle meeting add '{name}' TITLE --weekly DAY --at HH:MM --tz ZONE`."
    );
    list(ctx, &all, &empty, |m| {
        let next = match m.next_local.as_deref() {
            Some(at) => format!(" Next: {}.", clean(at)),
            None => " It has taken place.".to_string(),
        };
        let link = match m.link.as_deref() {
            Some(link) => format!(" {}", clean(link)),
            None => String::new(),
        };
        println!(
            "{} (#{}): {} ({}).{next}{link}",
            clean(&m.title),
            short(&m.id),
            clean(&m.when),
            clean(&m.zone)
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
    let body = ResourceRequest {
        title: args.title.trim().to_string(),
        text: args.text.clone(),
        url: args.url.as_deref().map(|u| u.trim().to_string()),
    };
    let r = client.resource(&args.circle, &body).await?;
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
    let all = client.resources(circle).await?;
    let name = circle_name(&client, circle).await;
    let empty = format!(
        "Nothing is pinned in '{name}' yet. Pin a coping strategy, a number or a link with \
         `circle resource add`."
    );
    list(ctx, &all, &empty, |r| {
        println!(
            "{} (pinned by {})",
            clean(&r.resource.title),
            crate::who(&r.added_by, &r.added_by_fingerprint)
        );
        if let Some(text) = r.resource.text.as_deref() {
            println!("    {}", field(Some(text)).replace('\n', "\n    "));
        }
        if let Some(url) = r.resource.url.as_deref() {
            println!("    {}", field(Some(url)));
        }
    });
    Ok(())
}
