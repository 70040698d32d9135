//! The API described as OpenAPI 3.1, generated from the contract's types and the routes'
//! annotations. Served at `GET /v1/openapi.json` (no token: it describes no private data; the
//! Host guard still applies) and committed as `docs/openapi.json`.

use axum::Json;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{backup, contract::*, held, support};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "circle local API",
        version = "1",
        description = "The local API of a circle node: HTTP and JSON on 127.0.0.1, on the port \
            written with the bearer token to `HOME/api.json` (readable by its owner alone). \
            Every error is `{\"error\": \"...\"}`. A request whose Host is not this node's \
            own loopback address and port is refused before anything else."
    ),
    paths(
        super::hello,
        served,
        super::status,
        super::circles,
        super::create,
        super::members,
        super::remove,
        super::leave,
        super::rekey,
        super::grant_admin,
        super::revoke_admin,
        super::policy,
        super::rename,
        super::revoke_invite,
        super::feed,
        super::invites,
        super::invite,
        super::join,
        super::join_preview,
        super::sign_in_link,
        super::sign_out_all,
        support::share,
        support::react,
        support::withdraw,
        support::goal_done,
        support::checkins,
        support::checkin,
        support::goals,
        support::goal,
        support::partners,
        support::partner,
        support::dm,
        support::reach_outs,
        support::reach_out,
        support::seen,
        support::meetings,
        support::meeting,
        support::resources,
        support::resource,
        support::info,
        support::guidelines,
        support::crisis_lines,
        support::set_crisis_lines,
        support::clocks,
        support::clock_start,
        support::clock_reset,
        support::clock_share,
        support::events,
        backup::phrase,
        backup::backup,
        held::to_circle,
        held::held,
        held::drop_held,
    ),
    components(schemas(Kind, Standing, Role, InvitePolicy, PartnerStep, Format, Audience)),
    modifiers(&BearerToken),
    security(("token" = [])),
    tags(
        (name = "node", description = "this node, its network, the web app's sign-in"),
        (name = "circles", description = "circles, their members and feeds"),
        (name = "membership", description = "invites, joining, leaving, admins"),
        (name = "support", description = "shares, check-ins, goals, partners, reach-outs, \
            meetings, resources, clocks, crisis lines"),
    )
)]
struct Document;

/// Adds the bearer token (from `HOME/api.json`) as the security scheme.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "the `token` of `HOME/api.json`, as `Authorization: Bearer <token>`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Document::openapi()
}

/// This document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "node",
    summary = "this API, described as OpenAPI 3.1 (no token needed)",
    security(()),
    responses((status = 200, description = "the document", body = Object))
)]
pub(super) async fn served() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

#[cfg(test)]
mod tests {
    /// `docs/openapi.json`, from the workspace root.
    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

    /// The document as committed: pretty JSON and a final newline.
    fn generated() -> String {
        let mut text = super::openapi()
            .to_pretty_json()
            .expect("the document encodes");
        text.push('\n');
        text
    }

    /// Regenerate with `CIRCLE_WRITE_OPENAPI=1 cargo test -p circle-node --lib openapi`.
    #[test]
    fn the_committed_openapi_document_is_what_the_code_generates() {
        let now = generated();
        if std::env::var_os("CIRCLE_WRITE_OPENAPI").is_some() {
            std::fs::write(COMMITTED, &now).expect("docs/openapi.json is written");
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == now,
            "docs/openapi.json is out of date: run \
             CIRCLE_WRITE_OPENAPI=1 cargo test -p circle-node --lib openapi"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_a_bearer_token() {
        let doc: serde_json::Value = serde_json::from_str(&generated()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(
            doc["components"]["securitySchemes"]["token"]["scheme"],
            "bearer"
        );
        assert_eq!(doc["security"][0]["token"], serde_json::json!([]));
    }
}
