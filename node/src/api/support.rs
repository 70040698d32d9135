//! Routes of the support circle: shares with replies and expiry, reactions, withdrawals,
//! check-ins, goals, partners and private messages, reach-outs, meetings, resources, clocks,
//! crisis lines, circle info and guidelines, and the live event stream.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    response::sse::{Event as SseEvent, KeepAlive, Sse},
    routing::{get, post, put},
};
use circle_crypto::CircleId;
use futures::Stream;

use super::{ApiResult, AppState, contract::*};
use crate::{
    circles::Circles,
    error::{Error, Result},
    support::{Checkin, Goal, Meeting, clock, schedule},
    time::now_ms,
};

/// The support routes (the caller adds authorization and state).
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/circles/{circle}/shares", post(share))
        .route("/v1/messages/{id}/reactions", post(react))
        .route("/v1/messages/{id}/withdraw", post(withdraw))
        .route("/v1/messages/{id}/done", post(goal_done))
        .route("/v1/circles/{circle}/checkins", get(checkins).post(checkin))
        .route("/v1/circles/{circle}/goals", get(goals).post(goal))
        .route("/v1/circles/{circle}/partners", get(partners).post(partner))
        .route("/v1/circles/{circle}/dms", post(dm))
        .route(
            "/v1/circles/{circle}/reach-outs",
            get(reach_outs).post(reach_out),
        )
        .route("/v1/circles/{circle}/seen", post(seen))
        .route("/v1/circles/{circle}/meetings", get(meetings).post(meeting))
        .route(
            "/v1/circles/{circle}/resources",
            get(resources).post(resource),
        )
        .route("/v1/circles/{circle}/info", get(info))
        .route("/v1/circles/{circle}/guidelines", put(guidelines))
        .route("/v1/crisis-lines", get(crisis_lines).put(set_crisis_lines))
        .route("/v1/clocks", get(clocks).post(clock_start))
        .route("/v1/clocks/{name}/reset", post(clock_reset))
        .route("/v1/clocks/{name}/share", post(clock_share))
        .route("/v1/events", get(events))
}

fn resolve(s: &AppState, circle: &str) -> Result<CircleId> {
    s.node.circles().resolve(circle)
}

/// Writes on the node (on disk, then gossiped) and answers with the last message's id.
async fn written(
    s: &AppState,
    circle: CircleId,
    write: impl FnOnce(&Circles) -> Result<Vec<circle_crypto::Envelope>> + Send + 'static,
) -> ApiResult<Written> {
    let id = s.node.write_with(write).await?;
    Ok(Json(Written {
        queued: id.is_none() && s.node.circles().is_catching_up(&circle),
        id: id.map(|i| i.to_string()),
        circle: circle.to_string(),
        ..Written::default()
    }))
}

/// Like [`written`] for a write that names a message (its circle is the message's).
async fn written_on_message(
    s: &AppState,
    message: &str,
    write: impl FnOnce(&Circles, &str) -> Result<(CircleId, Vec<circle_crypto::Envelope>)>
    + Send
    + 'static,
) -> ApiResult<Written> {
    let (circle, _) = s.node.circles().find_message(message)?;
    let message = message.to_string();
    written(s, circle, move |c| write(c, &message).map(|(_, w)| w)).await
}

fn duration(text: &str) -> Result<Duration> {
    humantime::parse_duration(text.trim()).map_err(|_| {
        Error::Invalid(format!(
            "'{text}' is not a duration: use for example 90s, 30m, 24h or 7d"
        ))
    })
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/shares",
    tag = "support",
    summary = "share with the circle",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = ShareRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn share(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<ShareRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let expires = b.expires.as_deref().map(duration).transpose()?;
    written(&s, id, move |c| {
        c.share_with(&id, &b.text, b.reply_to.as_deref(), expires)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/v1/messages/{id}/reactions",
    tag = "support",
    summary = "react to a message",
    params(("id" = String, Path, description = "a message id")),
    request_body = ReactRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn react(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Json(b): Json<ReactRequest>,
) -> ApiResult<Written> {
    written_on_message(&s, &id, move |c, m| c.react(m, &b.emoji)).await
}

#[utoipa::path(
    post,
    path = "/v1/messages/{id}/withdraw",
    tag = "support",
    summary = "withdraw your own message",
    params(("id" = String, Path, description = "a message id")),
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn withdraw(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Written> {
    written_on_message(&s, &id, |c, m| c.withdraw(m)).await
}

#[utoipa::path(
    post,
    path = "/v1/messages/{id}/done",
    tag = "support",
    summary = "mark your goal reached",
    params(("id" = String, Path, description = "a message id")),
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn goal_done(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Written> {
    if let Some(circle) = s.node.circles().own_goal_done(&id)? {
        return Ok(Json(Written {
            id: None,
            circle: circle.to_string(),
            to: Some(Audience::Me),
            ..Written::default()
        }));
    }
    let Json(mut answer) = written_on_message(&s, &id, |c, m| c.goal_done(m)).await?;
    // Which goal, in its own words, as the feed shows it.
    let circle = answer.circle.parse().ok();
    let done = answer.id.as_deref().and_then(|i| i.parse().ok());
    if let (Some(circle), Some(done)) = (circle, done)
        && let Some(item) = s.node.circles().feed_item(&circle, &done)
    {
        answer.goal_text = item.reply_text;
    }
    Ok(Json(answer))
}

fn audience(to: Option<&str>) -> Result<Audience> {
    to.map_or(Ok(Audience::Circle), Audience::parse)
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/checkins",
    tag = "support",
    summary = "check in",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = CheckinRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn checkin(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<CheckinRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let to = audience(b.to.as_deref())?;
    let checkin = Checkin {
        day: b.day,
        mood: b.mood,
        craving: b.craving,
        triggers: b.triggers,
        note: b.note,
    };
    let mut answer = written(&s, id, move |c| c.checkin(&id, checkin, to)).await?;
    answer.0.to = Some(to);
    Ok(answer)
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/checkins",
    tag = "support",
    summary = "recent check-ins and who has gone quiet",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = CheckinsView),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn checkins(
    State(s): State<AppState>,
    Path(circle): Path<String>,
) -> ApiResult<CheckinsView> {
    let id = resolve(&s, &circle)?;
    Ok(Json(s.node.circles().checkins(&id, now_ms())?))
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/goals",
    tag = "support",
    summary = "set a goal",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = GoalRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn goal(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<GoalRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let to = audience(b.to.as_deref())?;
    let goal = Goal {
        text: b.text,
        by: b.by,
    };
    if to == Audience::Me {
        let own = s.node.circles().own_goal(&id, goal)?;
        return Ok(Json(Written {
            id: Some(own.to_string()),
            circle: id.to_string(),
            to: Some(Audience::Me),
            ..Written::default()
        }));
    }
    written(&s, id, move |c| c.goal(&id, goal, to)).await
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/goals",
    tag = "support",
    summary = "goals",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Vec<GoalItem>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn goals(State(s): State<AppState>, Path(circle): Path<String>) -> ApiResult<Vec<GoalItem>> {
    let id = resolve(&s, &circle)?;
    Ok(Json(s.node.circles().goals(&id)?))
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/partners",
    tag = "support",
    summary = "accountability partners and requests",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Vec<PartnerItem>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn partners(
    State(s): State<AppState>,
    Path(circle): Path<String>,
) -> ApiResult<Vec<PartnerItem>> {
    let id = resolve(&s, &circle)?;
    Ok(Json(s.node.circles().partners(&id, now_ms())?))
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/partners",
    tag = "support",
    summary = "ask, accept, decline or end a partnership",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = PartnerRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn partner(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<PartnerRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let step = match b.step.as_str() {
        "request" => PartnerStep::Request,
        "accept" => PartnerStep::Accept,
        "decline" => PartnerStep::Decline,
        "end" => PartnerStep::End,
        other => {
            return Err(Error::Invalid(format!(
                "'{other}' is not a partner step: use request, accept, decline or end"
            )));
        }
    };
    let member = s.node.circles().resolve_member(&id, &b.member)?;
    let named = s.node.circles().named(&id, &member)?;
    // Where the two stood before, so the person is told what this step did (ending a request
    // that was never answered is taking it back, not ending a partnership).
    let (was, _) = s.node.circles().pairing(&id, &member)?;
    let Json(mut answer) = written(&s, id, move |c| c.partner(&id, &member, step)).await?;
    answer.member = Some(named);
    answer.was = was;
    Ok(Json(answer))
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/dms",
    tag = "support",
    summary = "send a private message",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = DmRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn dm(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<DmRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let member = s.node.circles().resolve_member(&id, &b.member)?;
    let named = s.node.circles().named(&id, &member)?;
    let Json(mut answer) = written(&s, id, move |c| c.dm(&id, &member, &b.text)).await?;
    answer.member = Some(named);
    Ok(Json(answer))
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/reach-outs",
    tag = "support",
    summary = "reach out to the circle",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = ReachOutRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn reach_out(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<ReachOutRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let reach_out = ReachOut {
        text: b.text.filter(|t| !t.trim().is_empty()),
        callback: b.callback.filter(|t| !t.trim().is_empty()),
    };
    written(&s, id, move |c| c.reach_out(&id, reach_out)).await
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/reach-outs",
    tag = "support",
    summary = "reach-outs and who has seen each",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Vec<ReachOutItem>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn reach_outs(
    State(s): State<AppState>,
    Path(circle): Path<String>,
) -> ApiResult<Vec<ReachOutItem>> {
    let id = resolve(&s, &circle)?;
    Ok(Json(s.node.circles().reach_outs(&id)?))
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/seen",
    tag = "support",
    summary = "mark the circle's reach-outs seen",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Acknowledged),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn seen(State(s): State<AppState>, Path(circle): Path<String>) -> ApiResult<Acknowledged> {
    let id = resolve(&s, &circle)?;
    let n = s.node.circles().unseen_reach_outs(&id)?.len();
    if n > 0 {
        s.node.write_with(move |c| c.mark_seen(&id)).await?;
    }
    Ok(Json(Acknowledged { acknowledged: n }))
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/meetings",
    tag = "support",
    summary = "add a meeting",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = MeetingRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn meeting(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<MeetingRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let schedule = match (&b.weekly, &b.on) {
        (Some(day), None) => schedule::weekly(day, &b.at)?,
        (None, Some(date)) => schedule::once(date, &b.at)?,
        _ => {
            return Err(Error::Invalid(
                "say when the meeting is: every week on a day, or once on a date (one of the \
                 two, not both)"
                    .into(),
            ));
        }
    };
    let zone = clock::parse_zone(&b.tz).map(|_| b.tz.trim().to_string())?;
    let meeting = Meeting {
        title: b.title,
        schedule,
        zone,
        link: b.link,
    };
    written(&s, id, move |c| c.add_meeting(&id, meeting)).await
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/meetings",
    tag = "support",
    summary = "meetings, in the viewer's time",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
        ZoneQuery,
    ),
    responses(
        (status = 200, description = "done", body = Vec<MeetingItem>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn meetings(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Query(q): Query<ZoneQuery>,
) -> ApiResult<Vec<MeetingItem>> {
    let id = resolve(&s, &circle)?;
    let zone = q.tz.unwrap_or_else(clock::system_zone_name);
    Ok(Json(s.node.circles().meetings(&id, &zone, now_ms())?))
}

#[utoipa::path(
    post,
    path = "/v1/circles/{circle}/resources",
    tag = "support",
    summary = "pin a resource",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = ResourceRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn resource(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<ResourceRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let resource = Resource {
        title: b.title,
        text: b.text,
        url: b.url,
    };
    written(&s, id, move |c| c.add_resource(&id, resource)).await
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/resources",
    tag = "support",
    summary = "pinned resources",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = Vec<ResourceItem>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn resources(
    State(s): State<AppState>,
    Path(circle): Path<String>,
) -> ApiResult<Vec<ResourceItem>> {
    let id = resolve(&s, &circle)?;
    Ok(Json(s.node.circles().resources(&id)?))
}

#[utoipa::path(
    get,
    path = "/v1/circles/{circle}/info",
    tag = "circles",
    summary = "a circle's format, guidelines and admins",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    responses(
        (status = 200, description = "done", body = CircleDetails),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn info(State(s): State<AppState>, Path(circle): Path<String>) -> ApiResult<CircleDetails> {
    let id = resolve(&s, &circle)?;
    Ok(Json(s.node.circles().info(&id)?))
}

#[utoipa::path(
    put,
    path = "/v1/circles/{circle}/guidelines",
    tag = "membership",
    summary = "set the format and guidelines (admins)",
    params(
        ("circle" = String, Path, description = "the circle: its id, the start of its id, or its name"),
    ),
    request_body = GuidelinesRequest,
    responses(
        (status = 200, description = "done", body = Written),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn guidelines(
    State(s): State<AppState>,
    Path(circle): Path<String>,
    Json(b): Json<GuidelinesRequest>,
) -> ApiResult<Written> {
    let id = resolve(&s, &circle)?;
    let format = Format::parse(&b.format)?;
    written(&s, id, move |c| c.set_guidelines(&id, format, &b.text)).await
}

#[utoipa::path(
    get,
    path = "/v1/crisis-lines",
    tag = "support",
    summary = "the crisis lines shown to a person reaching out",
    responses(
        (status = 200, description = "done", body = CrisisLines),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn crisis_lines(State(s): State<AppState>) -> ApiResult<CrisisLines> {
    Ok(Json(s.node.circles().crisis_lines()?))
}

#[utoipa::path(
    put,
    path = "/v1/crisis-lines",
    tag = "support",
    summary = "change the crisis lines",
    request_body = CrisisLinesChange,
    responses(
        (status = 200, description = "done", body = CrisisLines),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn set_crisis_lines(
    State(s): State<AppState>,
    Json(b): Json<CrisisLinesChange>,
) -> ApiResult<CrisisLines> {
    let add = b.lines.unwrap_or_default();
    if add.len() > crate::circles::MAX_OWN_LINES {
        return Err(Error::Invalid("too many crisis lines at once".into()));
    }
    let circles = s.node.circles();
    let shown = circles.change_crisis_lines(b.country.as_deref(), &add, b.reset)?;
    Ok(Json(shown))
}

#[utoipa::path(
    get,
    path = "/v1/clocks",
    tag = "support",
    summary = "recovery clocks",
    responses(
        (status = 200, description = "done", body = Vec<ClockItem>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn clocks(State(s): State<AppState>) -> ApiResult<Vec<ClockItem>> {
    Ok(Json(s.node.circles().clocks(now_ms())?))
}

#[utoipa::path(
    post,
    path = "/v1/clocks",
    tag = "support",
    summary = "start a clock",
    request_body = ClockStart,
    responses(
        (status = 200, description = "done", body = ClockItem),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn clock_start(State(s): State<AppState>, Json(b): Json<ClockStart>) -> ApiResult<ClockItem> {
    let circles = s.node.circles().clone();
    let share = b
        .share
        .iter()
        .map(|c| circles.resolve(c))
        .collect::<Result<Vec<_>>>()?;
    let item = circles.clock_start(&b.name, &b.since, b.tz.as_deref(), &share, now_ms())?;
    // A milestone already reached this week is announced now.
    s.node
        .write_with(|c| c.announce_milestones(now_ms()))
        .await?;
    Ok(Json(item))
}

#[utoipa::path(
    post,
    path = "/v1/clocks/{name}/reset",
    tag = "support",
    summary = "restart a clock",
    params(("name" = String, Path, description = "a clock's name")),
    request_body = ClockResetRequest,
    responses(
        (status = 200, description = "done", body = ClockReset),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn clock_reset(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Json(b): Json<ClockResetRequest>,
) -> ApiResult<ClockReset> {
    let told = std::sync::Arc::new(std::sync::Mutex::new(None));
    let out = told.clone();
    s.node
        .write_with(move |c| {
            let (item, written) = c.clock_reset(&name, b.note.as_deref(), b.share, now_ms())?;
            if let Ok(mut o) = out.lock() {
                *o = Some(item);
            }
            Ok(written)
        })
        .await?;
    let item = told
        .lock()
        .ok()
        .and_then(|mut o| o.take())
        .ok_or_else(|| Error::Refused("the clock was not restarted".into()))?;
    let names = if b.share {
        item.shared_with.clone()
    } else {
        Vec::new()
    };
    Ok(Json(ClockReset {
        clock: item,
        told: names,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/clocks/{name}/share",
    tag = "support",
    summary = "announce a clock's milestones to a circle",
    params(("name" = String, Path, description = "a clock's name")),
    request_body = ClockShareRequest,
    responses(
        (status = 200, description = "done", body = ClockItem),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
async fn clock_share(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Json(b): Json<ClockShareRequest>,
) -> ApiResult<ClockItem> {
    let circles = s.node.circles();
    let circle = circles.resolve(&b.circle)?;
    let item = circles.clock_share(&name, &circle, now_ms())?;
    if b.now {
        s.node
            .write_with(move |c| c.clock_count_now(&name, &circle, now_ms()))
            .await?;
    }
    s.node
        .write_with(|c| c.announce_milestones(now_ms()))
        .await?;
    Ok(Json(item))
}

/// The live event stream (Server-Sent Events): one JSON object per event, with a `type`.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "node",
    summary = "live events (Server-Sent Events): each `data:` line is one event as JSON",
    responses(
        (status = 200, description = "the stream", body = Event, content_type = "text/event-stream"),
        (status = "4XX", description = "refused", body = ErrorBody),
    )
)]
async fn events(
    State(s): State<AppState>,
) -> Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>> {
    let mut rx = s.node.events();
    let mut stopping = s.stopping.clone();
    let stream = async_stream(move |tx| async move {
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Ok(e) => {
                        let Ok(data) = serde_json::to_string(&e) else { continue };
                        if tx.send(SseEvent::default().data(data)).await.is_err() {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        let Ok(data) = serde_json::to_string(&Event::Lagged { missed: n }) else { continue };
                        if tx.send(SseEvent::default().data(data)).await.is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                _ = stopped(&mut stopping) => return,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Resolves once the API stops (the guard `wait_for` returns is dropped here, not held across
/// the select in the caller).
async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await.is_ok();
}

/// A stream fed by a task through a small channel.
fn async_stream<F, Fut>(make: F) -> impl Stream<Item = std::result::Result<SseEvent, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<SseEvent>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(make(tx));
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
    )
}
