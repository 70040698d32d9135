//! Routes for backups left with home servers: a member leaving theirs with a circle's home
//! servers, and a home server listing and dropping what it keeps (bearer token only).

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{delete, get, post},
};

use super::{ApiResult, AppState, Via, contract::*, token_only};
use crate::{error::Error, store::HeldRecord};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/backup/to-circle", post(to_circle))
        .route("/v1/relay/backups", get(held))
        .route("/v1/relay/backups/{member}", delete(drop_held))
}

/// Leaves the latest backup with the circle's connected home servers (bearer token only).
#[utoipa::path(
    post,
    path = "/v1/backup/to-circle",
    tag = "node",
    summary = "leave the latest backup with the circle's connected home servers (bearer token only)",
    request_body = LeaveBackup,
    responses(
        (status = 200, description = "what each home server said", body = LeftBackups),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
pub(super) async fn to_circle(
    State(s): State<AppState>,
    axum::Extension(via): axum::Extension<Via>,
    Json(b): Json<LeaveBackup>,
) -> ApiResult<LeftBackups> {
    token_only(via, "leaving a backup with a home server")?;
    let circle = s.node.circles().resolve(&b.circle)?;
    let (info, home_servers) = s.node.leave_latest_backup(&circle).await?;
    Ok(Json(LeftBackups {
        path: info.path,
        bytes: info.bytes,
        home_servers,
    }))
}

/// What a home server shows of one backup it keeps.
fn shown(s: &AppState, record: &HeldRecord) -> HeldBackup {
    let circles = s.node.circles();
    let member = circles.members(&record.circle).ok().and_then(|members| {
        members.into_iter().find_map(|m| {
            let key = circles.resolve_member(&record.circle, &m.member).ok()?;
            (circles.node_of(&record.circle, &key)? == record.node)
                .then(|| circles.named(&record.circle, &key).ok())
                .flatten()
        })
    });
    HeldBackup {
        holder: circle_crypto::encode(&record.holder),
        circle: record.circle.to_string(),
        circle_name: circles.name_of(&record.circle),
        member,
        bytes: record.size,
        kept_at_ms: record.at_ms,
    }
}

/// The backups this home server keeps for members (bearer token only).
#[utoipa::path(
    get,
    path = "/v1/relay/backups",
    tag = "node",
    summary = "the backups this home server keeps, for whom (bearer token only)",
    responses(
        (status = 200, description = "the backups", body = Vec<HeldBackup>),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
pub(super) async fn held(
    State(s): State<AppState>,
    axum::Extension(via): axum::Extension<Via>,
) -> ApiResult<Vec<HeldBackup>> {
    token_only(via, "listing members' backups")?;
    let records = s.node.circles().store().held_all()?;
    let mut list: Vec<HeldBackup> = records.iter().map(|r| shown(&s, r)).collect();
    list.sort_by_key(|h| std::cmp::Reverse(h.kept_at_ms));
    Ok(Json(list))
}

/// Drops the backup kept for a member: named as in their circle (name, fingerprint, member
/// key or its start), or by its holder key as listed (bearer token only).
#[utoipa::path(
    delete,
    path = "/v1/relay/backups/{member}",
    tag = "node",
    summary = "drop the backup kept for a member (bearer token only)",
    params(("member" = String, Path, description = "their name in the circle, fingerprint, member key (or its start), or the holder key as listed")),
    responses(
        (status = 200, description = "dropped", body = HeldBackup),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
pub(super) async fn drop_held(
    State(s): State<AppState>,
    axum::Extension(via): axum::Extension<Via>,
    Path(member): Path<String>,
) -> ApiResult<HeldBackup> {
    token_only(via, "dropping a member's backup")?;
    let typed = member.trim();
    let records = s.node.circles().store().held_all()?;
    let circles = s.node.circles();
    let matching: Vec<&HeldRecord> = records
        .iter()
        .filter(|r| {
            let by_holder = typed.len() >= crate::MIN_KEY_PREFIX
                && circle_crypto::encode(&r.holder).starts_with(&typed.to_lowercase());
            let by_member = circles
                .resolve_member(&r.circle, typed)
                .ok()
                .and_then(|key| circles.node_of(&r.circle, &key))
                .is_some_and(|node| node == r.node);
            by_holder || by_member
        })
        .collect();
    let record = match matching.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::Invalid(format!(
                "no backup kept here is '{typed}''s: see `circle relay backups`"
            )));
        }
        _ => {
            return Err(Error::Invalid(format!(
                "'{typed}' names more than one backup kept here: use the holder key from \
                 `circle relay backups`"
            )));
        }
    };
    let shown = shown(&s, record);
    s.node.drop_held_backup(&record.holder).await?;
    Ok(Json(shown))
}
