//! The local server: one 127.0.0.1 listener whose routes can change while it runs, so a node
//! that starts locked (serving only its unlock page) becomes the whole app on the same port,
//! with the same token and sessions, without a moment when nothing answers.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, RwLock},
    task::{Context, Poll},
};

use axum::{Router, extract::Request, response::Response};
use futures::future::BoxFuture;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use super::{AppState, router};
use crate::{
    error::Error,
    home::{ApiInfo, Home},
    node::Node,
    web::session::Sessions,
};

/// Routes that can be replaced while the server runs.
#[derive(Clone)]
struct Switch(Arc<RwLock<Router>>);

impl tower::Service<Request> for Switch {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        use tower::ServiceExt;
        let current = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(current.oneshot(request))
    }
}

/// What stays the same for as long as the server runs: its port, token and web sessions.
#[derive(Clone)]
pub struct Door {
    pub(crate) port: u16,
    pub(crate) token: String,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) stopping: watch::Receiver<bool>,
}

/// A running local server (API and web app).
pub struct Api {
    /// Where it listens and its token.
    pub info: ApiInfo,
    pub(crate) door: Door,
    routes: Switch,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Api {
    /// Serves `node`'s API and web app on 127.0.0.1 at a free port, the web app at a new
    /// secret host name (see [`Api::start_in`] for a home's own).
    pub async fn start(node: Node) -> Result<Api, Error> {
        let api = Api::bind(&crate::home::new_web_name()).await?;
        api.serve(node);
        Ok(api)
    }

    /// [`Api::start`], with the web app at `home`'s secret host name ([`Home::web_name`]).
    pub async fn start_in(home: &Home, node: Node) -> Result<Api, Error> {
        let api = Api::bind(&home.web_name()?).await?;
        api.serve(node);
        Ok(api)
    }

    /// Listens on a free port, answering nothing yet but what `Router::default` does; the web
    /// app will live at `web_name` (a secret `*.localhost` name) on that port.
    pub(crate) async fn bind(web_name: &str) -> Result<Api, Error> {
        let token = circle_crypto::text::encode(&rand::random::<[u8; 32]>());
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| Error::io("cannot open the local API port", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the local API port", e))?;
        let (stop, stopping) = watch::channel(false);
        let routes = Switch(Arc::new(RwLock::new(Router::new())));
        let app = Router::new().fallback_service(routes.clone());
        let mut until = stopping.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = until.wait_for(|s| *s).await;
                })
                .await;
        });
        Ok(Api {
            info: ApiInfo {
                url: format!("http://{addr}"),
                token: token.clone(),
                pid: std::process::id(),
            },
            door: Door {
                port: addr.port(),
                token,
                sessions: Arc::new(Sessions::new(web_name, addr.port())),
                stopping,
            },
            routes,
            stop,
            task,
        })
    }

    /// From now on, answers with `routes`.
    pub(crate) fn install(&self, routes: Router) {
        *self.routes.0.write().unwrap_or_else(|e| e.into_inner()) = routes;
    }

    /// From now on, serves `node`'s API and web app (sessions already open stay open).
    pub fn serve(&self, node: Node) {
        let d = &self.door;
        self.install(router(AppState::new(
            node,
            &d.token,
            d.stopping.clone(),
            d.port,
            d.sessions.clone(),
        )));
    }

    /// A one-time link that signs a browser in to the web app (what `circle open` asks for):
    /// it works once, within [`crate::web::CODE_TTL`].
    pub fn sign_in_link(&self) -> String {
        crate::web::sign_in_url(&self.door.sessions)
    }

    /// Stops serving.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
