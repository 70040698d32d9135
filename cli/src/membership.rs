//! Who is in a circle: invites, removing people, leaving, admins and who may invite.
//!
//! Each change is a signed operation in the circle's membership log. With the node running it
//! goes through the API and out to the other members at once; otherwise it is written to the
//! store and sent when the node next runs. The node checks every change and words the
//! refusals; this module only finds the names to tell the person what happened.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use circle_node::{Circles, InvitePolicy, PeerId};
use serde_json::{Value, json};

use crate::{Ctx, Target, clean, client::segment, count};

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
}

impl Change {
    /// The member it is about, as the person typed it.
    fn member(&self) -> Option<&str> {
        match self {
            Change::Remove(m) | Change::Admin(m, _) => Some(m),
            _ => None,
        }
    }
}

/// A change that was written.
struct Done {
    /// The id of the message that carries it.
    id: String,
    /// The circle's id.
    circle: String,
    /// The circle's name.
    circle_name: String,
    /// The member it was about, by name, if any.
    member: String,
    /// Written to the store only: the node is not running.
    offline: bool,
}

/// Makes `change` in `circle` through the node, or on the store when it is not running.
async fn apply(ctx: &Ctx, circle: &str, change: Change) -> Result<Done> {
    match ctx.reach().await? {
        Target::Node(client) => {
            let base = format!("/v1/circles/{}", segment(circle));
            // Asked first, as the member is gone from the list once removed.
            let member = match change.member() {
                Some(text) => {
                    let members = client.get(&format!("{base}/members")).await?;
                    name_in(&members, text)
                }
                None => String::new(),
            };
            let r = match &change {
                Change::Remove(m) => {
                    client
                        .delete(&format!("{base}/members/{}", segment(m)))
                        .await?
                }
                Change::Leave => client.post(&format!("{base}/leave"), json!({})).await?,
                Change::Admin(m, true) => {
                    let path = format!("{base}/admins/{}", segment(m));
                    client.put(&path, json!({})).await?
                }
                Change::Admin(m, false) => {
                    client
                        .delete(&format!("{base}/admins/{}", segment(m)))
                        .await?
                }
                Change::Policy(p) => {
                    let body = json!({ "invites": p.as_str() });
                    client.put(&format!("{base}/policy"), body).await?
                }
                Change::RevokeInvite(i) => {
                    client
                        .delete(&format!("{base}/invites/{}", segment(i)))
                        .await?
                }
            };
            let id = r["circle"].as_str().unwrap_or_default().to_string();
            // Done already: the name is only for the message, so it may fall back on the text.
            let circles = client.get("/v1/circles").await.unwrap_or_default();
            let circle_name = circles
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["id"] == id.as_str())
                .and_then(|c| c["name"].as_str())
                .unwrap_or(circle.trim())
                .to_string();
            Ok(Done {
                id: r["id"].as_str().unwrap_or_default().to_string(),
                circle: id,
                circle_name,
                member,
                offline: false,
            })
        }
        Target::Store(db) => {
            let circles = ctx.load(db)?;
            let id = circles.resolve(circle)?;
            let key = match change.member() {
                Some(text) => Some(circles.resolve_member(&id, text)?),
                None => None,
            };
            let member = match &key {
                Some(key) => {
                    let members = serde_json::to_value(circles.members(&id)?)?;
                    name_in(&members, &key.to_string())
                }
                None => String::new(),
            };
            let circle_name = circle_name(&circles, &id.to_string())?;
            let written = match (&change, key) {
                (Change::Remove(_), Some(key)) => circles.remove(&id, &key)?,
                (Change::Leave, _) => circles.leave(&id)?,
                (Change::Admin(_, admin), Some(key)) => circles.set_admin(&id, &key, *admin)?,
                (Change::Policy(p), _) => circles.set_policy(&id, *p)?,
                (Change::RevokeInvite(i), _) => circles.revoke_invite(&id, i)?,
                _ => unreachable!("a change about a member has its key"),
            };
            let message = written
                .last()
                .map(|e| e.id())
                .context("nothing was saved")?;
            Ok(Done {
                id: message.to_string(),
                circle: id.to_string(),
                circle_name,
                member,
                offline: true,
            })
        }
    }
}

/// The name of the member that `text` (a name or a member key) means in a members list, or
/// `text` itself.
fn name_in(members: &Value, text: &str) -> String {
    let text = text.trim();
    members
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["member"] == text || m["name"] == text)
        .and_then(|m| m["name"].as_str())
        .unwrap_or(text)
        .to_string()
}

fn circle_name(circles: &Circles, id: &str) -> Result<String> {
    Ok(circles
        .list()?
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| c.name)
        .unwrap_or_default())
}

/// Tells the person what changed: `line` on stdout, or `{"id", "circle"}` with --json.
fn report(ctx: &Ctx, done: &Done, line: String) {
    if ctx.json {
        println!("{}", json!({ "id": done.id, "circle": done.circle }));
    } else {
        println!("{line}");
    }
    if done.offline {
        eprintln!(
            "Saved. The node is not running: the others will learn of it when you next run `circle up`."
        );
    }
}

pub async fn remove(ctx: &Ctx, circle: &str, member: &str) -> Result<()> {
    let done = apply(ctx, circle, Change::Remove(member.to_string())).await?;
    let (who, name) = (clean(&done.member), clean(&done.circle_name));
    let line = format!(
        "Removed {who} from '{name}'. The circle has a new key; {who} cannot read anything said from now on."
    );
    report(ctx, &done, line);
    Ok(())
}

pub async fn leave(ctx: &Ctx, circle: &str) -> Result<()> {
    let done = apply(ctx, circle, Change::Leave).await?;
    let line = format!(
        "You left '{}'. What was said before stays readable here; nothing new will reach you.",
        clean(&done.circle_name)
    );
    report(ctx, &done, line);
    Ok(())
}

pub async fn admin(ctx: &Ctx, circle: &str, member: &str, admin: bool) -> Result<()> {
    let done = apply(ctx, circle, Change::Admin(member.to_string(), admin)).await?;
    let (who, name) = (clean(&done.member), clean(&done.circle_name));
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
    let list = match ctx.reach().await? {
        Target::Node(client) => client.get("/v1/circles").await?,
        Target::Store(db) => serde_json::to_value(ctx.load(db)?.list()?)?,
    };
    let typed = circle.trim();
    let found = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == typed || c["name"] == typed)
        .ok_or_else(|| {
            anyhow!(
                "you are in no circle called '{}': see `circle circles`",
                clean(typed)
            )
        })?;
    let invites = found["invites"].as_str().unwrap_or("admins");
    if ctx.json {
        println!("{}", json!({ "circle": found["id"], "invites": invites }));
        return Ok(());
    }
    let name = clean(found["name"].as_str().unwrap_or(typed));
    match invites {
        "members" => println!(
            "Every member of '{name}' can invite people (only admins: `circle policy '{name}' \
             --invites admins`)."
        ),
        _ => println!(
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
    let client = ctx.require_node("ask for the invite").await?;
    let body = json!({ "expires_secs": ttl.as_secs(), "uses": uses, "for": bound });
    let r = client
        .post(&format!("/v1/circles/{}/invites", segment(circle)), body)
        .await?;
    if ctx.json {
        println!("{r}");
        return Ok(());
    }
    println!("{}", r["token"].as_str().unwrap_or_default());
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
    let list = match ctx.reach().await? {
        Target::Node(client) => {
            client
                .get(&format!("/v1/circles/{}/invites", segment(circle)))
                .await?
        }
        Target::Store(db) => {
            let circles = ctx.load(db)?;
            let id = circles.resolve(circle)?;
            serde_json::to_value(circles.invites(&id, circle_node::now_secs())?)?
        }
    };
    let list = list.as_array().cloned().unwrap_or_default();
    if !ctx.json && list.is_empty() {
        eprintln!(
            "No invite to '{}' can let anyone in now. Make one with `circle invite`.",
            clean(circle.trim())
        );
    }
    for i in list {
        if ctx.json {
            println!("{i}");
            continue;
        }
        let expires = i["expires_at"].as_str().unwrap_or("?");
        let expires = expires.get(..16).unwrap_or(expires).replace('T', " ");
        let left = count(i["uses_left"].as_u64().unwrap_or(0), "use");
        let bound = match i["bound_to"].as_str() {
            Some(peer) => format!("  only for node {peer}"),
            None => String::new(),
        };
        println!(
            "{}  by {}  expires {expires} UTC  {left} left{bound}",
            i["id"].as_str().unwrap_or("?"),
            clean(i["issuer"].as_str().unwrap_or("?")),
        );
    }
    Ok(())
}
