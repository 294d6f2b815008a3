//! Catalog endpoints: browsing, detail, batch, categories and the admin writes.

use catalog_core::course::{CategorySummary, CourseDetail, CoursePage, CourseSummary, Items};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::http::{Call, Client};

impl Client {
    /// `GET /api/courses?{query}`; `query` as a browser would write it, or empty.
    pub fn catalog_page(&self, query: &str) -> Call<CoursePage> {
        let path = if query.is_empty() {
            "/api/courses".to_owned()
        } else {
            format!("/api/courses?{query}")
        };
        self.call(Method::GET, &path, StatusCode::OK)
    }

    /// `GET /api/courses/{id or slug}`.
    pub fn course(&self, reference: &str) -> Call<CourseDetail> {
        self.call(
            Method::GET,
            &format!("/api/courses/{reference}"),
            StatusCode::OK,
        )
    }

    /// `GET /api/courses/batch?ids=...`.
    pub fn courses_by_id(&self, ids: &[&str]) -> Call<Items<CourseSummary>> {
        let path = format!("/api/courses/batch?ids={}", ids.join(","));
        self.call(Method::GET, &path, StatusCode::OK)
    }

    /// `GET /api/categories`.
    pub fn categories(&self) -> Call<Items<CategorySummary>> {
        self.call(Method::GET, "/api/categories", StatusCode::OK)
    }

    /// `POST /api/courses` (admins): a new draft.
    pub fn create_course(&self, course: &Value) -> Call<CourseDetail> {
        self.call(Method::POST, "/api/courses", StatusCode::CREATED)
            .json(course)
    }

    /// `PATCH /api/courses/{id or slug}` (admins).
    pub fn update_course(&self, reference: &str, patch: &Value) -> Call<CourseDetail> {
        self.call(
            Method::PATCH,
            &format!("/api/courses/{reference}"),
            StatusCode::OK,
        )
        .json(patch)
    }

    /// `POST /api/courses/{id or slug}/publish` (admins).
    pub fn publish_course(&self, reference: &str) -> Call<CourseDetail> {
        self.call(
            Method::POST,
            &format!("/api/courses/{reference}/publish"),
            StatusCode::OK,
        )
    }

    /// `POST /api/courses/{id or slug}/unpublish` (admins).
    pub fn unpublish_course(&self, reference: &str) -> Call<CourseDetail> {
        self.call(
            Method::POST,
            &format!("/api/courses/{reference}/unpublish"),
            StatusCode::OK,
        )
    }
}
