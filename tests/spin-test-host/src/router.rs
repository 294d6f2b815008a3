//! HTTP route matching with Spin's precedence: an exact route beats a wildcard, and among
//! wildcards the longest prefix wins. Private routes are never matched from outside.

use crate::manifest::{HttpTrigger, Route};

#[derive(Debug, Clone)]
pub struct Router {
    /// Public routes, most specific first.
    routes: Vec<RouteEntry>,
}

#[derive(Debug, Clone)]
struct RouteEntry {
    component: String,
    /// What serves the route: the component and its middleware (`HttpTrigger::handler_key`).
    handler: String,
    /// Route as written in the manifest (`/api/...`).
    raw: String,
    /// `raw` without the `/...` suffix.
    base: String,
    segments: Vec<String>,
    wildcard: bool,
}

/// The outcome of matching a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub component: String,
    /// The handler that serves it (see `HttpTrigger::handler_key`).
    pub handler: String,
    /// The route as written in the manifest, e.g. `/api/...`.
    pub raw_route: String,
    /// The route without its wildcard suffix, e.g. `/api`.
    pub component_route: String,
    /// The part of the path after `component_route`.
    pub path_info: String,
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Router {
    pub fn new(triggers: &[HttpTrigger]) -> Self {
        let mut routes: Vec<RouteEntry> = triggers
            .iter()
            .filter_map(|trigger| {
                let (base, wildcard) = match &trigger.route {
                    Route::Exact(path) => (path.clone(), false),
                    Route::Wildcard(prefix) => (prefix.clone(), true),
                    Route::Private => return None,
                };
                let raw = if wildcard {
                    format!("{base}/...")
                } else {
                    or_root(&base)
                };
                Some(RouteEntry {
                    component: trigger.component.clone(),
                    handler: trigger.handler_key(),
                    raw,
                    segments: segments(&base),
                    base,
                    wildcard,
                })
            })
            .collect();
        // Exact before wildcard; then more literal segments first; declaration order breaks ties.
        routes.sort_by_key(|route| {
            let literals = route
                .segments
                .iter()
                .filter(|s| !s.starts_with(':'))
                .count();
            (
                route.wildcard,
                usize::MAX - route.segments.len(),
                usize::MAX - literals,
            )
        });
        Self { routes }
    }

    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let requested = segments(path);
        self.routes.iter().find_map(|route| {
            let fits = if route.wildcard {
                requested.len() >= route.segments.len()
            } else {
                requested.len() == route.segments.len()
            };
            let matches = fits
                && route
                    .segments
                    .iter()
                    .zip(&requested)
                    .all(|(pattern, actual)| pattern.starts_with(':') || pattern == actual);
            matches.then(|| {
                let path_info = if route.wildcard {
                    requested[route.segments.len()..]
                        .iter()
                        .map(|s| format!("/{s}"))
                        .collect::<String>()
                } else {
                    String::new()
                };
                RouteMatch {
                    component: route.component.clone(),
                    handler: route.handler.clone(),
                    raw_route: route.raw.clone(),
                    component_route: route.base.clone(),
                    path_info,
                }
            })
        })
    }
}

fn or_root(path: &str) -> String {
    if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(component: &str, route: Route) -> HttpTrigger {
        HttpTrigger {
            component: component.into(),
            route,
            middleware: Vec::new(),
        }
    }

    fn router() -> Router {
        Router::new(&[
            trigger("root", Route::Wildcard(String::new())),
            trigger("api", Route::Wildcard("/api".into())),
            trigger("courses", Route::Wildcard("/api/courses".into())),
            trigger("health", Route::Exact("/api/health".into())),
            trigger("one", Route::Exact("/api/items/:id".into())),
            trigger("hidden", Route::Private),
        ])
    }

    fn component(path: &str) -> Option<String> {
        router().route(path).map(|m| m.component)
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        assert_eq!(component("/api/health").as_deref(), Some("health"));
        assert_eq!(component("/api/courses/42").as_deref(), Some("courses"));
        assert_eq!(component("/api/courses").as_deref(), Some("courses"));
        assert_eq!(component("/api/other").as_deref(), Some("api"));
        assert_eq!(component("/api/items/7").as_deref(), Some("one"));
        assert_eq!(component("/elsewhere").as_deref(), Some("root"));
    }

    #[test]
    fn reports_route_and_path_info() {
        let matched = router().route("/api/courses/42/lessons").expect("matches");
        assert_eq!(matched.raw_route, "/api/courses/...");
        assert_eq!(matched.component_route, "/api/courses");
        assert_eq!(matched.path_info, "/42/lessons");
    }

    #[test]
    fn private_routes_are_not_matched() {
        let only_private = Router::new(&[trigger("hidden", Route::Private)]);
        assert_eq!(only_private.route("/"), None);
    }
}
