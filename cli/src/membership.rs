//! Who is in a circle: invites, removing people, leaving, admins and who may invite.
//!
//! Each change is a signed operation in the circle's membership log. With the node running it
//! goes through the API and out to the other members at once; otherwise it is written to the
//! store and sent when the node next runs. The node checks every change and words the
//! refusals; this module only finds the names to tell the person what happened.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use circle_node::contract::{InviteRequest, PolicyChange, Written};
use circle_node::{InvitePolicy, PeerId};

use crate::{Ctx, clean, count, who};

/// One change to who is in a circle, or to what they may do.
enum Change {
    /// Remove a member (name or key), with a new key epoch without them.
    Remove(String),
    /// This node's member leaves.
    Leave,
    /// Make a member (name or key) an admin, or a plain member again.
    Admin(String, bool),
    /// Choose who may invite.
    Policy(InvitePolicy),
    /// End an invite (id or a unique start of it).
    RevokeInvite(String),
    /// Start a new key epoch.
    Rekey,
}

/// A change that was written.
struct Done {
    /// The id of the message that carries it.
    id: String,
    /// The circle's id.
    circle: String,
    /// The circle's name.
    circle_name: String,
    /// The member it was about, as shown to people (`alex (amber-fox-lake)`), if any.
    member: String,
    /// Their nickname alone, made safe for the terminal.
    member_name: String,
}

/// Makes `change` in `circle` (through the node's API, running or not).
async fn apply(ctx: &Ctx, circle: &str, change: Change) -> Result<Done> {
    let client = ctx.api().await?;
    let r: Written = match &change {
        Change::Remove(m) => client.remove(circle, m).await?,
        Change::Leave => client.leave(circle).await?,
        Change::Rekey => client.rekey(circle).await?,
        Change::Admin(m, admin) => client.set_admin(circle, m, *admin).await?,
        Change::Policy(p) => {
            let body = PolicyChange {
                invites: p.as_str().to_string(),
            };
            client.set_policy(circle, &body).await?
        }
        Change::RevokeInvite(i) => client.revoke_invite(circle, i).await?,
    };
    let id = r.circle.clone();
    // The node says who the change was about, as it resolved what was typed.
    let (member, member_name) = match &r.member {
        Some(m) => (who(&m.name, &m.fingerprint), clean(&m.name)),
        None => (String::new(), String::new()),
    };
    // Done already: the name is only for the message, so it may fall back on the text.
    let circles = client.circles().await.unwrap_or_default();
    let circle_name = circles
        .iter()
        .find(|c| c.id == id)
        .map_or(circle.trim(), |c| c.name.as_str())
        .to_string();
    Ok(Done {
        id: r.id.unwrap_or_default(),
        circle: id,
        circle_name,
        member,
        member_name,
    })
}

/// Tells the person what changed: `line` on stdout, or `{"id", "circle"}` with --json.
fn report(ctx: &Ctx, done: &Done, line: String) {
    if ctx.json {
        crate::out::json_line(&Written {
            id: Some(done.id.clone()),
            circle: done.circle.clone(),
            ..Written::default()
        });
    } else {
        println!("{line}");
    }
}

pub async fn remove(ctx: &Ctx, circle: &str, member: &str) -> Result<()> {
    let done = apply(ctx, circle, Change::Remove(member.to_string())).await?;
    let (who, name) = (&done.member, clean(&done.circle_name));
    let line = format!(
        "Removed {who} from '{name}'. The circle has a new key; {} cannot read anything said from now on.",
        done.member_name
    );
    report(ctx, &done, line);
    Ok(())
}

pub async fn leave(ctx: &Ctx, circle: &str, yes: bool) -> Result<()> {
    ctx.require_init()?;
    if !yes {
        let name = clean(circle.trim());
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            bail!(
                "leaving '{name}' stops its new messages reaching you, and only a new invite \
                 brings you back: there is no terminal to ask on, so add --yes to leave"
            );
        }
        eprintln!(
            "Leaving '{name}' means you stop receiving its new messages. What was said before \
             stays readable on this computer. You can come back only with a new invite from a \
             member."
        );
        let no_terminal = "there is no terminal to ask on: add --yes to leave";
        if !crate::support::confirm(&format!("Leave '{name}'?"), no_terminal)? {
            eprintln!("You are still in '{name}'.");
            return Ok(());
        }
    }
    let done = apply(ctx, circle, Change::Leave).await?;
    let line = format!(
        "You left '{}'. What was said before stays readable here; nothing new will reach you.",
        clean(&done.circle_name)
    );
    report(ctx, &done, line);
    Ok(())
}

pub async fn rekey(ctx: &Ctx, circle: &str) -> Result<()> {
    let done = apply(ctx, circle, Change::Rekey).await?;
    let line = format!(
        "'{}' has a new key, sent to every member: what you write from now on is sealed under it.",
        clean(&done.circle_name)
    );
    report(ctx, &done, line);
    Ok(())
}

pub async fn admin(ctx: &Ctx, circle: &str, member: &str, admin: bool) -> Result<()> {
    let done = apply(ctx, circle, Change::Admin(member.to_string(), admin)).await?;
    let (who, name) = (&done.member, clean(&done.circle_name));
    let line = if admin {
        format!(
            "{who} is now an admin of '{name}': they can remove people and choose who may invite."
        )
    } else {
        format!("{who} is no longer an admin of '{name}'.")
    };
    report(ctx, &done, line);
    Ok(())
}

pub async fn policy(ctx: &Ctx, circle: &str, invites: &str) -> Result<()> {
    // A wrong word needs neither the node nor the passphrase to say so.
    let policy: InvitePolicy = invites.parse()?;
    let done = apply(ctx, circle, Change::Policy(policy)).await?;
    let name = clean(&done.circle_name);
    let line = match policy {
        InvitePolicy::Admins => format!("Now only admins can invite people to '{name}'."),
        InvitePolicy::Members => format!("Now every member of '{name}' can invite people."),
    };
    report(ctx, &done, line);
    Ok(())
}

/// `circle policy CIRCLE` without `--invites`: who may invite now.
pub async fn show_policy(ctx: &Ctx, circle: &str) -> Result<()> {
    // The node finds the circle by the same rules as every command (any case, ids, ...).
    let found = ctx.api().await?.info(circle).await?.circle;
    if ctx.json {
        crate::out::json_line(&Policy {
            circle: found.id,
            invites: found.invites,
        });
        return Ok(());
    }
    let name = clean(&found.name);
    match found.invites {
        InvitePolicy::Members => println!(
            "Every member of '{name}' can invite people (only admins: `circle policy '{name}' \
             --invites admins`)."
        ),
        InvitePolicy::Admins => println!(
            "Only admins can invite people to '{name}' (every member: `circle policy '{name}' \
             --invites members`)."
        ),
    }
    Ok(())
}

pub async fn revoke(ctx: &Ctx, circle: &str, invite: &str) -> Result<()> {
    let done = apply(ctx, circle, Change::RevokeInvite(invite.to_string())).await?;
    let line = format!(
        "Revoked the invite {} to '{}': nobody can join with it now.",
        clean(invite.trim()),
        clean(&done.circle_name)
    );
    report(ctx, &done, line);
    Ok(())
}

pub async fn invite(
    ctx: &Ctx,
    circle: &str,
    expires: &str,
    uses: u32,
    bound: Option<&str>,
) -> Result<()> {
    let ttl = humantime::parse_duration(expires).map_err(|_| {
        anyhow!("'{expires}' is not a duration: use for example 90s, 30m, 24h or 7d")
    })?;
    circle_node::check_invite_ttl(ttl)?;
    if uses == 0 {
        bail!("an invite needs at least one use");
    }
    let bound = bound.map(str::trim);
    if let Some(peer) = bound
        && peer.parse::<PeerId>().is_err()
    {
        bail!(
            "'{}' is not a node's peer id: ask the person for the one `circle status` shows them",
            clean(peer)
        );
    }
    let client = ctx.require_running("ask for the invite").await?;
    let body = InviteRequest {
        expires_secs: ttl.as_secs(),
        uses,
        bound: bound.map(str::to_string),
    };
    let r = client.invite(circle, &body).await?;
    if ctx.json {
        crate::out::json_line(&r);
        return Ok(());
    }
    println!("{}", r.token);
    let only = match bound {
        Some(_) => " Only their node can use it.",
        None => "",
    };
    eprintln!(
        "Send this invite privately. It works for {} and {}; your node must be running when they join.{only}",
        describe(ttl),
        count(u64::from(uses), "use")
    );
    Ok(())
}

/// "7 days", "90 minutes": how long, in words.
fn describe(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, name) in [(86_400, "day"), (3_600, "hour"), (60, "minute")] {
        if s >= unit && s.is_multiple_of(unit) {
            return count(s / unit, name);
        }
    }
    count(s, "second")
}

pub async fn invites(ctx: &Ctx, circle: &str) -> Result<()> {
    let list = ctx.api().await?.invites(circle).await?;
    if !ctx.json && list.is_empty() {
        eprintln!(
            "No invite to '{}' can let anyone in now. Make one with `circle invite`.",
            clean(circle.trim())
        );
    }
    for i in list {
        if ctx.json {
            crate::out::json_line(&i);
            continue;
        }
        let expires = i
            .expires_at
            .get(..16)
            .unwrap_or(&i.expires_at)
            .replace('T', " ");
        let left = count(u64::from(i.uses_left), "use");
        let bound = match i.bound_to.as_deref() {
            Some(peer) => format!("  only for node {peer}"),
            None => String::new(),
        };
        println!(
            "{}  by {}  expires {expires} UTC  {left} left{bound}",
            i.id,
            who(&i.issuer, &i.issuer_fingerprint),
        );
    }
    Ok(())
}

/// What `circle policy CIRCLE --json` prints.
#[derive(serde::Serialize)]
struct Policy {
    circle: String,
    invites: InvitePolicy,
}
