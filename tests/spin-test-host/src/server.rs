//! The HTTP front door, served as Spin 4.1 serves it (`spin-trigger-http`'s `server.rs`):
//! hyper-util's `auto` connection builder (HTTP/1.1, and HTTP/2 with prior knowledge) with its
//! default settings, the guest's response body streamed to hyper frame by frame, and no
//! TCP_NODELAY unless asked for. So a body the guest writes after its response headers goes
//! out in a second TCP write, which Nagle's algorithm holds until the client ACKs the first.
//! Then Spin's routing and the `spin-*` request headers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use wasmtime_wasi_http::WasiBody;

use crate::app::{AppInner, empty_response};
use crate::router::RouteMatch;

/// Accepts connections until `stop` fires; dropping the task ends every connection with it.
pub async fn serve(
    listener: TcpListener,
    app: Arc<AppInner>,
    tcp_nodelay: bool,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let (stream, client) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("accept failed: {error}");
                continue;
            }
        };
        // Spin never sets TCP_NODELAY; only a measurement asks for it.
        if tcp_nodelay && let Err(error) = stream.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {error}");
        }
        let app = Arc::clone(&app);
        connections.spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&app), client, request));
            // Spin's builder, untuned (Spin only sets http1 max_buf_size when asked).
            if let Err(error) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("connection from {client} ended: {error}");
            }
        });
    }
}

async fn handle(
    app: Arc<AppInner>,
    client: SocketAddr,
    mut request: Request<Incoming>,
) -> Result<Response<WasiBody>, Infallible> {
    // Spin answers its own paths before routing: no component ever sees them.
    if let Some(well_known) = request.uri().path().strip_prefix("/.well-known/spin/") {
        return Ok(match well_known {
            "health" => text_response(StatusCode::OK, "OK"),
            // Spin also serves `info` (app metadata as JSON); the host has nothing to say there.
            _ => empty_response(StatusCode::NOT_FOUND),
        });
    }
    let Some(route) = app.router.route(request.uri().path()) else {
        return Ok(empty_response(StatusCode::NOT_FOUND));
    };
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        // HTTP/2 carries the authority in the URI instead.
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_string());
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let full_url = format!("http://{host}{path_and_query}");
    match full_url.parse() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return Ok(empty_response(StatusCode::BAD_REQUEST)),
    }
    set_spin_headers(request.headers_mut(), &route, &full_url, Some(client));
    let request = request.map(|body| body.map_err(Into::into).boxed_unsync());
    match app.call_http(&route.handler, request).await {
        Ok(response) => Ok(response),
        Err(error) => {
            tracing::error!("component `{}` failed: {error:#}", route.component);
            Ok(empty_response(StatusCode::INTERNAL_SERVER_ERROR))
        }
    }
}

/// The headers Spin adds to every request it hands to a component.
pub fn set_spin_headers(
    headers: &mut HeaderMap,
    route: &RouteMatch,
    full_url: &str,
    client: Option<SocketAddr>,
) {
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("spin-full-url", full_url);
    set("spin-path-info", &route.path_info);
    set("spin-matched-route", &route.raw_route);
    set("spin-raw-component-route", &route.raw_route);
    set("spin-component-route", &route.component_route);
    set("spin-base-path", "/");
    if let Some(client) = client {
        set("spin-client-addr", &client.to_string());
    }
}

fn text_response(status: StatusCode, text: &'static str) -> Response<WasiBody> {
    let body = http_body_util::Full::new(bytes::Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}
