//! Routes for the recovery phrase and backups: with the API token only (the CLI, scripts),
//! never a web app session: one shows the phrase, the other writes a file anywhere the node's
//! user may.

use axum::{Json, Router, extract::State, routing::post};

use super::{ApiResult, AppState, Via, contract::*, token_only};
use crate::error::Error;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/recovery/phrase", post(phrase))
        .route("/v1/backup", post(backup))
}

/// The recovery phrase, after the passphrase (bearer token only).
#[utoipa::path(
    post,
    path = "/v1/recovery/phrase",
    tag = "node",
    summary = "the recovery phrase, after the passphrase (bearer token only)",
    request_body = ShowPhrase,
    responses(
        (status = 200, description = "the phrase", body = Phrase),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
pub(super) async fn phrase(
    State(s): State<AppState>,
    axum::Extension(via): axum::Extension<Via>,
    Json(b): Json<ShowPhrase>,
) -> ApiResult<Phrase> {
    token_only(via, "showing the recovery phrase")?;
    let store = s.node.circles().store().clone();
    let passphrase = zeroize::Zeroizing::new(b.passphrase.clone());
    drop(b);
    // argon2id takes a while: off the async threads.
    let phrase = tokio::task::spawn_blocking(move || {
        store.check_passphrase(passphrase.as_bytes())?;
        store
            .recovery_phrase()?
            .ok_or_else(|| Error::Refused("this node has no recovery phrase yet".into()))
    })
    .await
    .map_err(|_| Error::Stopped)??;
    Ok(Json(Phrase {
        words: phrase.words().to_string(),
    }))
}

/// Writes a backup of the whole home (bearer token only).
#[utoipa::path(
    post,
    path = "/v1/backup",
    tag = "node",
    summary = "write a backup of the whole home to a file, sealed under the recovery phrase (bearer token only)",
    request_body = WriteBackup,
    responses(
        (status = 200, description = "written", body = BackupInfo),
        (status = "4XX", description = "refused: what happened and what to do", body = ErrorBody),
        (status = "5XX", description = "the node failed or is stopping", body = ErrorBody),
    )
)]
pub(super) async fn backup(
    State(s): State<AppState>,
    axum::Extension(via): axum::Extension<Via>,
    Json(b): Json<WriteBackup>,
) -> ApiResult<BackupInfo> {
    token_only(via, "backing up")?;
    let path = std::path::PathBuf::from(&b.path);
    if !path.is_absolute() {
        return Err(Error::Invalid(format!(
            "'{}' is not an absolute path: the node writes the backup where it is told exactly",
            b.path
        )));
    }
    let node = s.node.clone();
    let info = tokio::task::spawn_blocking(move || {
        crate::backup::write(node.circles().store(), &path, |_| {})
    })
    .await
    .map_err(|_| Error::Stopped)??;
    Ok(Json(info))
}
