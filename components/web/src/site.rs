//! What each request gets: a hashed asset cached forever, the HTML shell revalidated on
//! every load (client-side routing renders the page), or a problem.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use platform::routing::{Route, resolve};
use platform::{ApiError, HttpResponse, response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// URL path it is served at: `/assets/app.3f9a1c2b.js`, or `/` for `index.html`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    pub caching: Caching,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Content-hashed name: the URL changes whenever the bytes do.
    Immutable,
    /// HTML: always revalidated, so a deploy is picked up on the next load.
    Revalidate { etag: &'static str },
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const NO_CACHE: &str = "no-cache";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// A page the client-side router renders from the HTML shell.
    Page,
    Asset,
}

/// Paths of the single-page app; the History API navigates between them without a reload,
/// and a reload or a shared link lands here.
const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/", Endpoint::Page),
    Route::new(Method::GET, "/courses/{slug}", Endpoint::Page),
    Route::new(Method::GET, "/cart", Endpoint::Page),
    Route::new(Method::GET, "/checkout", Endpoint::Page),
    Route::new(Method::GET, "/login", Endpoint::Page),
    Route::new(Method::GET, "/register", Endpoint::Page),
    Route::new(Method::GET, "/my-courses", Endpoint::Page),
    Route::new(Method::GET, "/admin/courses", Endpoint::Page),
    Route::new(Method::GET, "/admin/courses/new", Endpoint::Page),
    Route::new(Method::GET, "/admin/courses/{id}", Endpoint::Page),
    Route::new(Method::GET, "/assets/{*file}", Endpoint::Asset),
];

/// Answers one request.
pub fn respond(method: &Method, path: &str, headers: &HeaderMap) -> HttpResponse {
    let outcome = resolve(ROUTES, method, path).and_then(|(endpoint, _)| match endpoint {
        Endpoint::Page => shell(),
        Endpoint::Asset => {
            find(path).ok_or_else(|| ApiError::not_found(format!("no asset at {path}")))
        }
    });
    let (status, asset) = match outcome {
        Ok(asset) => (StatusCode::OK, asset),
        // A mistyped page link still gets the app, which says "page not found" in its own
        // layout; API and asset paths get a machine-readable problem.
        Err(ApiError::NotFound(_)) if wants_page(method, path, headers) => match shell() {
            Ok(shell) => (StatusCode::NOT_FOUND, shell),
            Err(error) => return error.into_response(),
        },
        Err(error) => return error.into_response(),
    };
    serve(method, status, asset, headers)
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

fn shell() -> Result<&'static Asset, ApiError> {
    find("/").ok_or_else(|| ApiError::internal("index.html is not embedded"))
}

fn wants_page(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    let accepts_html = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    (method == Method::GET || method == Method::HEAD)
        && accepts_html
        && !path.starts_with("/api/")
        && !path.starts_with("/assets/")
}

fn serve(
    method: &Method,
    status: StatusCode,
    asset: &'static Asset,
    headers: &HeaderMap,
) -> HttpResponse {
    let not_modified = match asset.caching {
        Caching::Revalidate { etag } => status == StatusCode::OK && etag_matches(headers, etag),
        Caching::Immutable => false,
    };
    let mut response = if not_modified {
        response::empty(StatusCode::NOT_MODIFIED)
    } else if method == Method::HEAD {
        response::bytes(status, asset.content_type, &[][..])
    } else {
        response::bytes(status, asset.content_type, asset.body)
    };
    let out = response.headers_mut();
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    match asset.caching {
        Caching::Immutable => {
            out.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
        }
        Caching::Revalidate { etag } => {
            out.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
            out.insert(header::ETAG, HeaderValue::from_static(etag));
            out.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            if let Ok(policy) = HeaderValue::from_str(&content_security_policy()) {
                out.insert(header::CONTENT_SECURITY_POLICY, policy);
            }
        }
    }
    response
}

/// Same-origin everything; the one inline script is the generated import map, allowed by hash.
fn content_security_policy() -> String {
    format!(
        "default-src 'self'; script-src 'self' {IMPORT_MAP_CSP_SOURCE}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// `If-None-Match` lists our current ETag (weak or strong) or is `*`.
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::response::body_bytes;

    fn get(path: &str) -> HttpResponse {
        respond(&Method::GET, path, &HeaderMap::new())
    }

    fn html_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        headers
    }

    fn index_html() -> String {
        String::from_utf8(body_bytes(get("/")).to_vec()).expect("utf-8 html")
    }

    /// Every `"/assets/..."` URL the HTML names (script, stylesheet, import map values).
    fn referenced_assets(html: &str) -> Vec<String> {
        html.split('"')
            .filter(|part| part.starts_with("/assets/"))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn html_is_revalidated_and_has_an_etag() {
        let response = get("/");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], NO_CACHE);
        assert!(response.headers().contains_key(header::ETAG));
    }

    #[test]
    fn matching_if_none_match_is_304() {
        let etag = get("/").headers()[header::ETAG].clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, etag.clone());
        let response = respond(&Method::GET, "/courses/intro-to-rust", &headers);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::ETAG], etag);
        assert!(body_bytes(response).is_empty());
    }

    #[test]
    fn app_paths_serve_the_same_shell() {
        let shell = index_html();
        for path in [
            "/cart",
            "/checkout",
            "/login",
            "/register",
            "/my-courses",
            "/courses/x",
            "/admin/courses/new",
            "/admin/courses/0192",
        ] {
            let response = get(path);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                String::from_utf8(body_bytes(response).to_vec()).expect("utf-8"),
                shell,
                "{path}"
            );
        }
    }

    #[test]
    fn html_references_only_hashed_assets_served_immutable() {
        let html = index_html();
        let assets = referenced_assets(&html);
        assert!(assets.iter().any(|url| url.ends_with(".css")), "{html}");
        assert!(assets.iter().any(|url| url.ends_with(".js")), "{html}");
        for url in assets.iter().filter(|url| !is_import_map_key(&html, url)) {
            let name = url.rsplit('/').next().unwrap_or_default();
            let parts: Vec<&str> = name.split('.').collect();
            assert!(parts.len() >= 3, "{url} is not hashed");
            let hash = parts[parts.len() - 2];
            assert!(
                hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()),
                "{url} is not hashed"
            );
            let response = get(url);
            assert_eq!(response.status(), StatusCode::OK, "{url}");
            assert_eq!(
                response.headers()[header::CACHE_CONTROL],
                IMMUTABLE,
                "{url}"
            );
        }
    }

    fn is_import_map_key(html: &str, url: &str) -> bool {
        html.contains(&format!("\"{url}\":"))
    }

    #[test]
    fn assets_have_their_content_types() {
        let html = index_html();
        let assets = referenced_assets(&html);
        let css = assets
            .iter()
            .find(|url| url.ends_with(".css"))
            .expect("a stylesheet");
        assert_eq!(
            get(css).headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        let js = assets
            .iter()
            .rev()
            .find(|url| url.ends_with(".js"))
            .expect("a module");
        assert_eq!(
            get(js).headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
    }

    #[test]
    fn import_map_maps_every_module_to_a_served_hashed_url() {
        let html = index_html();
        let start = html
            .find("<script type=\"importmap\">")
            .expect("import map")
            + 25;
        let end = start + html[start..].find("</script>").expect("end of import map");
        let map: serde_json::Value =
            serde_json::from_str(&html[start..end]).expect("JSON import map");
        let imports = map["imports"].as_object().expect("imports");
        assert!(imports.contains_key("/assets/app.js"));
        for url in imports.values() {
            let url = url.as_str().expect("URL");
            assert_ne!(url, "/assets/app.js");
            assert_eq!(get(url).status(), StatusCode::OK, "{url}");
        }
    }

    #[test]
    fn unhashed_or_unknown_assets_are_404_problems() {
        for path in ["/assets/app.js", "/assets/nope.12345678.js"] {
            let response = respond(&Method::GET, path, &html_headers());
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
        }
    }

    #[test]
    fn unknown_page_gets_the_shell_with_404_but_api_paths_get_a_problem() {
        let page = respond(&Method::GET, "/no-such-page", &html_headers());
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let api = respond(&Method::GET, "/api/nothing", &html_headers());
        assert_eq!(
            api.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    #[test]
    fn writes_are_405() {
        let response = respond(&Method::POST, "/cart", &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn head_has_headers_and_no_body() {
        let response = respond(&Method::HEAD, "/", &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key(header::ETAG));
        assert!(body_bytes(response).is_empty());
    }
}
