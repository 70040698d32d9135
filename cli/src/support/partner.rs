//! Accountability partners: asking, answering, ending, and private messages between them.

use anyhow::Result;
use circle_node::contract::{DmRequest, PartnerRequest, PartnerState, Written};

use super::{circle_name, day, list, report, text_or_stdin, when_zoned};
use crate::{Ctx, args::PartnerStep, who};

/// `circle partner request|accept|decline|end CIRCLE MEMBER`.
pub async fn partner(ctx: &Ctx, step: PartnerStep, circle: &str, member: &str) -> Result<()> {
    let word = match step {
        PartnerStep::Request => "request",
        PartnerStep::Accept => "accept",
        PartnerStep::Decline => "decline",
        PartnerStep::End => "end",
    };
    let client = ctx.api().await?;
    let body = PartnerRequest {
        member: member.trim().to_string(),
        step: word.to_string(),
    };
    let r = client.partner(circle, &body).await?;
    let (who, name) = (named(&r), circle_name(&client, circle).await);
    let line = match step {
        PartnerStep::Request => format!(
            "Asked {who} to be your accountability partner in '{name}'. They can say yes with \
             `circle partner accept`; `circle partners '{name}'` shows their answer."
        ),
        PartnerStep::Accept => format!(
            "You and {who} are now accountability partners in '{name}'. You see each other's \
             partner-only check-ins and goals, can write with `circle dm`, and hear when the \
             other misses a usual check-in."
        ),
        PartnerStep::Decline => {
            format!("You said no for now to {who}. Nothing else changes in '{name}'.")
        }
        // Never answered: they were never partners, so it is a request taken back.
        PartnerStep::End if r.was == Some(PartnerState::YouAsked) => format!(
            "You took back your request to {who} in '{name}'. Nothing else changes; you can ask \
             again any time."
        ),
        PartnerStep::End => format!(
            "You are no longer accountability partners with {who} in '{name}'. What you shared \
             before stays as it was; nothing new reaches them privately."
        ),
    };
    report(ctx, &r, &line);
    Ok(())
}

/// `circle partners`.
pub async fn partners(ctx: &Ctx, circle: &str) -> Result<()> {
    let client = ctx.api().await?;
    let list_of = client.partners(circle).await?;
    let name = circle_name(&client, circle).await;
    let empty = format!(
        "You have no accountability partner in '{name}' yet. Ask someone with \
         `circle partner request '{name}' NAME`."
    );
    list(ctx, &list_of, &empty, |p| {
        let who = who(&p.name, &p.fingerprint);
        // Their words name them in a command without doubt, even beside a namesake.
        let words = crate::clean(&p.fingerprint);
        let state = match p.state {
            PartnerState::AskedYou => format!(
                "asked you to be partners on {}: answer with `circle partner accept '{name}' \
                 {words}` (or decline)",
                day(&p.since)
            ),
            PartnerState::YouAsked => {
                format!("you asked on {}; waiting for their answer", day(&p.since))
            }
            PartnerState::Partner => {
                let last = match p.last_checkin.as_deref() {
                    Some(at) => format!("; last check-in {}", when_zoned(at)),
                    None => "; no check-in yet".to_string(),
                };
                let missed = if p.missed_checkin {
                    ". They have missed their usual check-in: maybe send a note with `circle dm`"
                } else {
                    ""
                };
                format!("partner since {}{last}{missed}", day(&p.since))
            }
        };
        println!("{who}: {state}");
    });
    Ok(())
}

/// `circle dm`.
pub async fn dm(ctx: &Ctx, circle: &str, member: &str, text: &str) -> Result<()> {
    let text = text_or_stdin(text)?;
    circle_node::check_text(&text)?;
    let client = ctx.api().await?;
    let body = DmRequest {
        member: member.trim().to_string(),
        text,
    };
    let r = client.dm(circle, &body).await?;
    let who = named(&r);
    report(
        ctx,
        &r,
        &format!("Sent to {who} only: nobody else in the circle can read it."),
    );
    Ok(())
}

/// Who a step or message went to, as the node's answer names them.
fn named(answer: &Written) -> String {
    match &answer.member {
        Some(m) => who(&m.name, &m.fingerprint),
        None => "?".to_string(),
    }
}
