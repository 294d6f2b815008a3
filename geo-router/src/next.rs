//! The next handler of the middleware chain: the component this router is composed in
//! front of (Spin composes it in at load time, so a call is an in-process component call),
//! and the WASI HTTP resources the router hands on.
//!
//! The request and response resources are `spin_sdk::wasip3`'s own, so what the router
//! receives is handed on, and what comes back is returned, with its body stream untouched:
//! WASI HTTP headers are immutable once a message exists, so only the head is rebuilt
//! around the same stream.

use http::HeaderMap;
use spin_sdk::wasip3::http::types::{ErrorCode, Fields, Request, Response, Scheme};
use spin_sdk::wasip3::wit_future;

/// Imports the next handler, against the WIT in `<repo>/wit/deps` (see its README).
mod bindings {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "::spin_sdk::wit_bindgen::rt",
        inline: "
            package course-platform:geo-router;
            world next { import wasi:http/handler@0.3.0; }
        ",
        // Dependencies before the packages that use them.
        path: [
            "../wit/deps/clocks@0.3.0",
            "../wit/deps/random@0.3.0",
            "../wit/deps/filesystem@0.3.0",
            "../wit/deps/sockets@0.3.0",
            "../wit/deps/cli@0.3.0",
            "../wit/deps/http@0.3.0",
        ],
        world: "course-platform:geo-router/next",
        with: { "wasi:http/types@0.3.0": spin_sdk::wasip3::http::types },
        generate_all,
    });
}

/// Calls the component this router is composed in front of.
pub async fn handle(request: Request) -> Result<Response, ErrorCode> {
    bindings::wasi::http::handler::handle(request).await
}

/// What the router reads of a request before deciding where it goes.
pub struct Head {
    pub method: http::Method,
    pub path_with_query: String,
    pub scheme: Option<Scheme>,
    pub authority: Option<String>,
    pub headers: HeaderMap,
}

impl Head {
    pub fn of(request: &Request) -> Result<Self, ErrorCode> {
        let method = http::Method::try_from(request.get_method())
            .map_err(|_| ErrorCode::HttpRequestMethodInvalid)?;
        Ok(Self {
            method,
            path_with_query: request.get_path_with_query().unwrap_or_else(|| "/".into()),
            scheme: request.get_scheme(),
            authority: request.get_authority(),
            headers: header_map(request.get_headers())?,
        })
    }

    /// Whether the request may carry a body. A GET or HEAD declares one with
    /// `content-length` or `transfer-encoding` (RFC 9110 gives it no meaning, and no
    /// component reads it); any other method may carry one.
    pub fn has_body(&self) -> bool {
        let declared = |name| self.headers.contains_key(name);
        !matches!(self.method, http::Method::GET | http::Method::HEAD)
            || declared(http::header::CONTENT_LENGTH)
            || declared(http::header::TRANSFER_ENCODING)
    }

    pub fn path(&self) -> &str {
        self.path_with_query
            .split_once('?')
            .map_or(self.path_with_query.as_str(), |(path, _)| path)
    }
}

pub fn header_map(fields: Fields) -> Result<HeaderMap, ErrorCode> {
    HeaderMap::try_from(fields)
}

fn fields(headers: &HeaderMap) -> Result<Fields, ErrorCode> {
    Fields::try_from(headers.clone())
        .map_err(|error| ErrorCode::InternalError(Some(format!("header: {error:?}"))))
}

/// The same request (method, target, body stream, trailers) with `headers` instead of its own.
pub fn with_headers(
    request: Request,
    head: &Head,
    headers: &HeaderMap,
) -> Result<Request, ErrorCode> {
    let fields = fields(headers)?;
    let (request, _) = if head.has_body() {
        // The result the receiver reports about the body; nobody upstream waits for it.
        let (_, body_result) = wit_future::new(|| Ok(()));
        let (body, trailers) = Request::consume_body(request, body_result);
        Request::new(fields, Some(body), trailers, None)
    } else {
        // Nothing to hand on: a new request without a body costs less than moving the
        // empty stream and its futures over (most requests are such GETs).
        drop(request);
        let (_, trailers) = wit_future::new(|| Ok(None));
        Request::new(fields, None, trailers, None)
    };
    let invalid = |_| ErrorCode::HttpRequestUriInvalid;
    request
        .set_method(&(&head.method).into())
        .map_err(|()| ErrorCode::HttpRequestMethodInvalid)?;
    request
        .set_path_with_query(Some(&head.path_with_query))
        .map_err(invalid)?;
    request.set_scheme(head.scheme.as_ref()).map_err(invalid)?;
    request
        .set_authority(head.authority.as_deref())
        .map_err(invalid)?;
    Ok(request)
}

/// The same response (status, body stream, trailers) with `headers` instead of its own.
pub fn respond_with_headers(
    response: Response,
    headers: &HeaderMap,
) -> Result<Response, ErrorCode> {
    let status = response.get_status_code();
    let fields = fields(headers)?;
    let (_, body_result) = wit_future::new(|| Ok(()));
    let (body, trailers) = Response::consume_body(response, body_result);
    let (response, _) = Response::new(fields, Some(body), trailers);
    response
        .set_status_code(status)
        .map_err(|()| ErrorCode::InternalError(Some(format!("status {status}"))))?;
    Ok(response)
}
