//! The control API, plain HTTP/JSON so scripts drive it with curl:
//!
//! - `GET /links`: every link with its current state;
//! - `PUT /links/<name>` with a patch (`{"rtt_ms":..,"jitter_ms":..,"fault":"none|partition|reset"}`,
//!   any subset): changes one link;
//! - `PUT /links?touching=<end>` with a patch: changes every link with that end (e.g. every
//!   link of a region, to partition it); `PUT /links` alone changes every link.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::{Link, LinkPatch};

type Links = Arc<Vec<Arc<Link>>>;

pub async fn serve(address: SocketAddr, links: Links) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("control API: listening on {address}"))?;
    loop {
        let (stream, _) = listener.accept().await.context("control API: accept")?;
        let links = links.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(request, links.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    request: Request<Incoming>,
    links: Links,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let touching = request
        .uri()
        .query()
        .and_then(|query| query.strip_prefix("touching="))
        .map(str::to_owned);
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            return Ok(answer(
                StatusCode::BAD_REQUEST,
                json!({"error": error.to_string()}),
            ));
        }
    };
    let selected: Vec<&Arc<Link>> = match (&method, path.as_str()) {
        (&Method::GET, "/links") => {
            let view: Vec<Value> = links.iter().map(|link| describe(link)).collect();
            return Ok(answer(StatusCode::OK, Value::Array(view)));
        }
        (&Method::PUT, "/links") => links
            .iter()
            .filter(|link| touching.as_deref().is_none_or(|end| link.touches(end)))
            .collect(),
        (&Method::PUT, one) if one.starts_with("/links/") => {
            let name = one.trim_start_matches("/links/");
            links
                .iter()
                .filter(|link| link.config.name == name)
                .collect()
        }
        _ => {
            return Ok(answer(
                StatusCode::NOT_FOUND,
                json!({"error": "no such route"}),
            ));
        }
    };
    if selected.is_empty() {
        return Ok(answer(
            StatusCode::NOT_FOUND,
            json!({"error": "no such link"}),
        ));
    }
    let patch: LinkPatch = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(error) => {
            return Ok(answer(
                StatusCode::BAD_REQUEST,
                json!({"error": error.to_string()}),
            ));
        }
    };
    let changed: Vec<Value> = selected
        .into_iter()
        .map(|link| {
            link.apply(patch);
            describe(link)
        })
        .collect();
    Ok(answer(StatusCode::OK, Value::Array(changed)))
}

fn describe(link: &Link) -> Value {
    json!({
        "name": link.config.name,
        "from": link.config.from,
        "to": link.config.to,
        "listen": link.config.listen,
        "upstream": link.config.upstream,
        "state": link.state(),
    })
}

fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
