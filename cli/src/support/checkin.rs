//! Check-ins (for the circle, the partner, or only the person) and goals.

use anyhow::{Result, bail};
use circle_node::contract::{CheckinRequest, GoalRequest, Written};
use circle_node::support::{Audience, Checkin, Goal, check_note};

use super::{check_date, circle_name, day, field, list, message_ref, report, short, when};
use crate::{Ctx, who};

/// The day ratings, from 1 to 5.
const DAYS: [&str; 5] = ["very hard", "hard", "questionable", "okay", "easy"];

/// Reads `--day`: 1 to 5, or its word.
fn day_rating(typed: &str) -> Result<u8> {
    let word = typed.trim().to_ascii_lowercase().replace(['-', '_'], " ");
    let number = match word.parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => DAYS
            .iter()
            .zip(1..)
            .find(|(d, _)| **d == word)
            .map(|(_, n)| n),
    };
    match number {
        Some(n @ 1..=5) => Ok(n as u8),
        _ => bail!(
            "--day {} is not a day rating: use 1 (very hard), 2 (hard), 3 (questionable), \
             4 (okay) or 5 (easy)",
            crate::clean(typed.trim())
        ),
    }
}

/// Checks a 0-10 scale.
fn scale(what: &str, value: Option<u8>, low: &str, high: &str) -> Result<()> {
    if let Some(v) = value
        && v > 10
    {
        bail!("--{what} {v} is out of range: use 0 ({low}) to 10 ({high})");
    }
    Ok(())
}

/// "day 4/5 (okay) · mood 6/10 · craving 2/10 · triggers: tired, lonely", then the note.
fn describe(c: &Checkin) -> String {
    let rating = c.day;
    let word = DAYS
        .get((rating as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("?");
    let mut parts = vec![format!("day {rating}/5 ({word})")];
    if let Some(m) = c.mood {
        parts.push(format!("mood {m}/10"));
    }
    if let Some(cr) = c.craving {
        parts.push(format!("craving {cr}/10"));
    }
    let triggers: Vec<String> = c.triggers.iter().map(|t| crate::clean(t)).collect();
    if !triggers.is_empty() {
        parts.push(format!("triggers: {}", triggers.join(", ")));
    }
    let mut text = parts.join(" · ");
    if let Some(note) = c.note.as_deref() {
        text = format!("{text}. {}", crate::clean(note).replace('\n', "\n    "));
    }
    text
}

/// Who sees something, in words, for lists.
fn seen_by(to: Audience) -> &'static str {
    match to {
        Audience::Partner => " (partners only)",
        Audience::Me => " (only you)",
        Audience::Circle => "",
    }
}

/// `circle checkin`.
pub async fn checkin(ctx: &Ctx, args: crate::args::CheckinArgs) -> Result<()> {
    let day = day_rating(&args.day)?;
    scale("mood", args.mood, "lowest", "best")?;
    scale("craving", args.craving, "none", "strongest")?;
    let to = Audience::parse(&args.to)?;
    let checkin = Checkin {
        day,
        mood: args.mood,
        craving: args.craving,
        triggers: args.triggers.iter().map(|t| t.trim().to_string()).collect(),
        note: args.note.clone(),
    };
    if let Some(note) = &checkin.note {
        check_note("note", note)?;
    }
    checkin.check()?;
    let client = ctx.api().await?;
    let body = CheckinRequest {
        day: checkin.day,
        mood: checkin.mood,
        craving: checkin.craving,
        triggers: checkin.triggers,
        note: checkin.note,
        to: Some(to.as_str().to_string()),
    };
    let r = client.checkin(&args.circle, &body).await?;
    if ctx.json {
        crate::out::json_line(&Written {
            id: r.id,
            circle: r.circle,
            to: r.to,
            ..Written::default()
        });
        return Ok(());
    }
    let name = circle_name(&client, &args.circle).await;
    let rating = DAYS[usize::from(day) - 1];
    match to {
        Audience::Circle => {
            println!("Checked in with '{name}': day {day}/5 ({rating}). Thank you for showing up.")
        }
        Audience::Partner => println!(
            "Checked in with your accountability partner in '{name}': day {day}/5 ({rating}). \
             Nobody else in the circle can read it."
        ),
        Audience::Me => println!(
            "Noted for you alone: day {day}/5 ({rating}). It stays on this node and is never sent."
        ),
    }
    Ok(())
}

/// `circle checkins`.
pub async fn checkins(ctx: &Ctx, circle: &str) -> Result<()> {
    let client = ctx.api().await?;
    let view = client.checkins(circle).await?;
    if ctx.json {
        crate::out::json_line(&view);
        return Ok(());
    }
    let name = circle_name(&client, circle).await;
    let recent = &view.checkins;
    if recent.is_empty() {
        eprintln!(
            "No check-ins you can see in '{name}' lately. Check in with `circle checkin '{name}' --day 1-5`."
        );
    }
    for c in recent {
        let id = match c.id.as_deref() {
            Some(id) => format!(" (#{})", short(id)),
            None => String::new(),
        };
        println!(
            "[{}] {}{id}: {}{}",
            when(&c.sent_at),
            who(&c.author_name, &c.author_fingerprint),
            describe(&c.checkin),
            seen_by(c.to)
        );
    }
    let quiet = &view.quiet;
    if !quiet.is_empty() {
        println!("Not checked in for a while:");
        for q in quiet {
            let days = q.days;
            println!(
                "  {}: last check-in {} ({days} days ago)",
                who(&q.name, &q.fingerprint),
                day(&q.last_checkin)
            );
        }
        println!("A short hello can mean a lot: `circle share` or, for a partner, `circle dm`.");
    }
    Ok(())
}

/// `circle goal add`.
pub async fn goal_add(
    ctx: &Ctx,
    circle: &str,
    text: &str,
    by: Option<&str>,
    to: &str,
) -> Result<()> {
    let to = Audience::parse(to)?;
    if let Some(by) = by {
        check_date(by)?;
    }
    let goal = Goal {
        text: text.trim().to_string(),
        by: by.map(|b| b.trim().to_string()),
    };
    check_note("goal", &goal.text)?;
    goal.check()?;
    let client = ctx.api().await?;
    let body = GoalRequest {
        text: goal.text.clone(),
        by: goal.by.clone(),
        to: Some(to.as_str().to_string()),
    };
    let r = client.goal(circle, &body).await?;
    let name = circle_name(&client, circle).await;
    let by = match &goal.by {
        Some(by) => format!(" (by {by})"),
        None => String::new(),
    };
    let who = match to {
        Audience::Partner => "Your accountability partner".to_string(),
        Audience::Me => "Only you (it stays on this node)".to_string(),
        Audience::Circle => format!("Everyone in '{name}'"),
    };
    let line = format!(
        "Goal set: {}{by}. {who} can see it. When it is done: `circle goal done {}`.",
        crate::clean(&goal.text),
        short(r.id.as_deref().unwrap_or_default())
    );
    report(ctx, &r, &line);
    Ok(())
}

/// `circle goal done`.
pub async fn goal_done(ctx: &Ctx, id: &str) -> Result<()> {
    let goal = message_ref(id)?;
    let client = ctx.api().await?;
    let r = client.goal_done(&goal).await?;
    let name = circle_name(&client, &r.circle).await;
    let goal = match r.goal_text.as_deref() {
        Some(text) => format!("'{}'", crate::clean(text)),
        None => "your goal".to_string(),
    };
    let line = if r.to == Some(Audience::Me) {
        format!("Well done! Marked {goal} done.")
    } else {
        format!("Well done! Marked {goal} done; those who saw it in '{name}' see that too.")
    };
    report(ctx, &r, &line);
    Ok(())
}

/// `circle goals`.
pub async fn goals(ctx: &Ctx, circle: &str) -> Result<()> {
    let client = ctx.api().await?;
    let goals = client.goals(circle).await?;
    let name = circle_name(&client, circle).await;
    let empty = format!(
        "No goals you can see in '{name}' yet. Set one with `circle goal add '{name}' TEXT`."
    );
    list(ctx, &goals, &empty, |g| {
        let by = match g.by.as_deref() {
            Some(by) => format!(" (by {})", crate::clean(by)),
            None => String::new(),
        };
        let done = match g.done_at.as_deref() {
            Some(at) => format!(" ✓ done {}", day(at)),
            None => String::new(),
        };
        println!(
            "#{} {}: {}{by}{done}{}",
            short(&g.id),
            who(&g.author_name, &g.author_fingerprint),
            field(Some(&g.text)),
            seen_by(g.to)
        );
    });
    Ok(())
}
