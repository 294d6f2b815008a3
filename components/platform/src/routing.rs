//! Route tables: each component declares its endpoints once, as data.
//!
//! The same table drives request dispatch (through `matchit`) and the test that checks
//! the OpenAPI document covers every route, so the two cannot drift apart.

use http::Method;

use crate::ApiError;

/// One endpoint: an HTTP method, a path template in OpenAPI syntax (`/api/courses/{id}`),
/// and the component's own name for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<E> {
    pub method: Method,
    pub path: &'static str,
    pub endpoint: E,
}

impl<E> Route<E> {
    pub const fn new(method: Method, path: &'static str, endpoint: E) -> Self {
        Self {
            method,
            path,
            endpoint,
        }
    }
}

/// Path parameters captured by a match, by template name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A parameter the route template guarantees; absent only on a table bug.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::internal(format!("route has no parameter {name}")))
    }
}

/// Finds the endpoint for `method` and `path`: unknown paths are 404, known paths with
/// another method are 405 with an `Allow` list.
pub fn resolve<E: Copy>(
    routes: &[Route<E>],
    method: &Method,
    path: &str,
) -> Result<(E, PathParams), ApiError> {
    let mut router = matchit::Router::new();
    for (index, route) in routes.iter().enumerate() {
        // Several methods share one template; keep the first index per template and scan
        // the table for the method below.
        let _ = router.insert(route.path, index);
    }
    let matched = router
        .at(path)
        .map_err(|_| ApiError::not_found(format!("no resource at {path}")))?;
    let template = routes[*matched.value].path;
    let params = PathParams(
        matched
            .params
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
    );
    let same_template = routes.iter().filter(|route| route.path == template);
    let mut allowed = Vec::new();
    for route in same_template {
        if route.method == method || (method == Method::HEAD && route.method == Method::GET) {
            return Ok((route.endpoint, params));
        }
        allowed.push(route.method.as_str());
    }
    Err(ApiError::MethodNotAllowed {
        allow: allowed.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Endpoint {
        List,
        Get,
        Update,
    }

    const ROUTES: &[Route<Endpoint>] = &[
        Route::new(Method::GET, "/api/courses", Endpoint::List),
        Route::new(Method::GET, "/api/courses/{id}", Endpoint::Get),
        Route::new(Method::PATCH, "/api/courses/{id}", Endpoint::Update),
    ];

    #[test]
    fn matches_method_and_captures_params() {
        let (endpoint, params) =
            resolve(ROUTES, &Method::PATCH, "/api/courses/intro-to-rust").expect("match");
        assert_eq!(endpoint, Endpoint::Update);
        assert_eq!(params.get("id"), Some("intro-to-rust"));
    }

    #[test]
    fn head_is_served_by_get() {
        let (endpoint, _) = resolve(ROUTES, &Method::HEAD, "/api/courses").expect("match");
        assert_eq!(endpoint, Endpoint::List);
    }

    #[test]
    fn unknown_path_is_404() {
        let error = resolve(ROUTES, &Method::GET, "/api/nope").expect_err("404");
        assert_eq!(error.status(), 404);
    }

    #[test]
    fn wrong_method_is_405_listing_allowed_methods() {
        let error = resolve(ROUTES, &Method::DELETE, "/api/courses/x").expect_err("405");
        assert_eq!(error.status(), 405);
        let response = error.into_response();
        assert_eq!(response.headers()["allow"], "GET, PATCH");
    }
}
