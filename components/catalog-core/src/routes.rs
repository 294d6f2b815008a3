//! The catalog's endpoints, as one table shared by dispatch and the OpenAPI coverage test.

use http::Method;
use platform::Route;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListCourses,
    CreateCourse,
    BatchCourses,
    GetCourse,
    UpdateCourse,
    PublishCourse,
    UnpublishCourse,
    ListCategories,
    OpenApi,
}

/// `{id}` is a course id or slug; `batch` is a route, so it is never a course slug.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/api/courses", Endpoint::ListCourses),
    Route::new(Method::POST, "/api/courses", Endpoint::CreateCourse),
    Route::new(Method::GET, "/api/courses/batch", Endpoint::BatchCourses),
    Route::new(Method::GET, "/api/courses/{id}", Endpoint::GetCourse),
    Route::new(Method::PATCH, "/api/courses/{id}", Endpoint::UpdateCourse),
    Route::new(
        Method::POST,
        "/api/courses/{id}/publish",
        Endpoint::PublishCourse,
    ),
    Route::new(
        Method::POST,
        "/api/courses/{id}/unpublish",
        Endpoint::UnpublishCourse,
    ),
    Route::new(Method::GET, "/api/categories", Endpoint::ListCategories),
    Route::new(Method::GET, "/api/openapi.json", Endpoint::OpenApi),
];

#[cfg(test)]
mod tests {
    use super::*;
    use platform::routing::resolve;

    #[test]
    fn batch_wins_over_a_course_slug() {
        let (endpoint, _) = resolve(ROUTES, &Method::GET, "/api/courses/batch").expect("match");
        assert_eq!(endpoint, Endpoint::BatchCourses);
        let (endpoint, params) =
            resolve(ROUTES, &Method::GET, "/api/courses/intro").expect("match");
        assert_eq!(
            (endpoint, params.get("id")),
            (Endpoint::GetCourse, Some("intro"))
        );
    }

    #[test]
    fn admin_actions_are_posts_on_the_course() {
        let (endpoint, _) =
            resolve(ROUTES, &Method::POST, "/api/courses/intro/unpublish").expect("match");
        assert_eq!(endpoint, Endpoint::UnpublishCourse);
        let error = resolve(ROUTES, &Method::DELETE, "/api/courses/intro").expect_err("405");
        assert_eq!(error.status(), 405);
    }
}
