//! The catalog component: public course browsing behind an edge cache, and admin writes.
//!
//! Routing, I/O and HTTP caching only; parsing, SQL and cache rules live in `catalog-core`.

mod admin;
mod database;
mod edge_cache;

use catalog_core::cache;
use catalog_core::course::{CategorySummary, CourseDetail, CoursePage, CourseSummary, Items};
use catalog_core::query::{self, CourseQuery, CourseRef};
use catalog_core::{Endpoint, ROUTES, sql};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use platform::gateway::ResponseHeaders;
use platform::log::Logger;
use platform::replication::ReadFrom;
use platform::response::Caching;
use platform::{ApiError, HttpResponse, response};
use spin_sdk::http::Request;

use edge_cache::{Cached, EdgeCache};

/// The API document, served as is.
const OPENAPI_JSON: &str = include_str!("../../../openapi.json");

#[spin_sdk::http_service]
async fn handle(request: Request) -> HttpResponse {
    let logger = Logger::for_request("catalog", request.headers());
    let gateway = ResponseHeaders::from_request(request.headers());
    // The catalog sets each response's own (mostly public) caching.
    let result = route(&logger, request).await;
    response::finish(&logger, gateway.as_ref(), result, Caching::AsSet)
}

async fn route(logger: &Logger, request: Request) -> Result<HttpResponse, ApiError> {
    let (endpoint, params) =
        platform::routing::resolve(ROUTES, request.method(), request.uri().path())?;
    let query = request.uri().query().map(str::to_owned);
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let course = || params.require("id").and_then(CourseRef::parse);
    match endpoint {
        Endpoint::ListCourses => list_courses(logger, query.as_deref(), &headers).await,
        Endpoint::GetCourse => get_course(logger, &course()?, &headers).await,
        Endpoint::BatchCourses => batch_courses(logger, query.as_deref(), &headers).await,
        Endpoint::ListCategories => list_categories(logger, &headers).await,
        Endpoint::OpenApi => Ok(openapi(&headers)),
        Endpoint::CreateCourse => admin::create(logger, &headers, body).await,
        Endpoint::UpdateCourse => admin::update(logger, &course()?, &headers, body).await,
        Endpoint::PublishCourse => admin::set_published(logger, &course()?, true, &headers).await,
        Endpoint::UnpublishCourse => {
            admin::set_published(logger, &course()?, false, &headers).await
        }
    }
    .map(|response| without_body_for_head(response, &parts.method))
}

fn without_body_for_head(response: HttpResponse, method: &Method) -> HttpResponse {
    if method != Method::HEAD {
        return response;
    }
    let (parts, _) = response.into_parts();
    http::Response::from_parts(parts, platform::Body::new(bytes::Bytes::new()))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(ApiError::internal)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|error| {
        ApiError::internal(format!("row JSON does not match the API type: {error}"))
    })
}

/// A cacheable public response: 304 when the client's copy is current, else the body;
/// `ETag`, `Cache-Control` and `x-cache` either way.
fn public_response(cached: Cached, cache: &EdgeCache, request_headers: &HeaderMap) -> HttpResponse {
    let Cached { entry, status } = cached;
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| cache::if_none_match(value, &entry.etag));
    let mut response = if not_modified {
        response::empty(StatusCode::NOT_MODIFIED)
    } else {
        response::bytes(StatusCode::OK, response::JSON, entry.body)
    };
    let headers = response.headers_mut();
    set_header(headers, header::ETAG, &entry.etag);
    set_header(
        headers,
        header::CACHE_CONTROL,
        &cache.policy.public_cache_control(),
    );
    headers.insert("x-cache", HeaderValue::from_static(status.as_str()));
    response
}

fn set_header(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// For responses that depend on who asks (admin views and writes).
pub(crate) fn private(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

async fn list_courses(
    logger: &Logger,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<HttpResponse, ApiError> {
    let course_query = CourseQuery::parse(query)?;
    let cache = EdgeCache::open(logger, ReadFrom::of_request(headers)).await;
    let key = cache::list_key(&cache.generation().await, &course_query);
    let cached = cache
        .get_or_load(&key, || async {
            let db = database::connect_reader(&cache).await?;
            let statement = sql::list_courses(&course_query);
            let row = database::optional_row(&db, &statement)
                .await?
                .ok_or_else(|| ApiError::internal("course list returned no row"))?;
            let items: Vec<CourseSummary> =
                parse_json(&runtime::db::column::<String>(&row, "items")?)?;
            to_json(&CoursePage {
                items,
                page: course_query.page,
                page_size: course_query.page_size,
                total: runtime::db::column(&row, "total")?,
            })
        })
        .await?;
    Ok(public_response(cached, &cache, headers))
}

/// A course page, published or not, as JSON text; `None` when no course matches.
pub(crate) async fn load_detail(
    db: &spin_sdk::pg::Connection,
    course: &CourseRef,
) -> Result<Option<(bool, CourseDetail)>, ApiError> {
    let Some(row) = database::optional_row(db, &sql::course_detail(course)).await? else {
        return Ok(None);
    };
    let detail: CourseDetail = parse_json(&runtime::db::column::<String>(&row, "detail")?)?;
    Ok(Some((runtime::db::column(&row, "published")?, detail)))
}

fn course_not_found() -> ApiError {
    ApiError::not_found("no published course with this id or slug")
}

async fn get_course(
    logger: &Logger,
    course: &CourseRef,
    headers: &HeaderMap,
) -> Result<HttpResponse, ApiError> {
    let cache = EdgeCache::open(logger, ReadFrom::of_request(headers)).await;
    let loaded = cache
        .get_or_load(&cache::detail_key(course), || async {
            let db = database::connect_reader(&cache).await?;
            match load_detail(&db, course).await? {
                Some((true, detail)) => to_json(&detail),
                _ => Err(course_not_found()),
            }
        })
        .await;
    match loaded {
        Ok(cached) => Ok(public_response(cached, &cache, headers)),
        // Drafts are visible to admins only, and never cached.
        Err(ApiError::NotFound(_)) if headers.contains_key(header::COOKIE) => {
            admin::draft(course, headers).await
        }
        Err(error) => Err(error),
    }
}

async fn batch_courses(
    logger: &Logger,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<HttpResponse, ApiError> {
    let ids = query::parse_batch_ids(query)?;
    let cache = EdgeCache::open(logger, ReadFrom::of_request(headers)).await;
    let key = cache::batch_key(&cache.generation().await, &ids);
    let cached = cache
        .get_or_load(&key, || async {
            let db = database::connect_reader(&cache).await?;
            let row = database::optional_row(&db, &sql::courses_by_ids(&ids))
                .await?
                .ok_or_else(|| ApiError::internal("batch lookup returned no row"))?;
            let items: Vec<CourseSummary> =
                parse_json(&runtime::db::column::<String>(&row, "items")?)?;
            to_json(&Items { items })
        })
        .await?;
    Ok(public_response(cached, &cache, headers))
}

async fn list_categories(logger: &Logger, headers: &HeaderMap) -> Result<HttpResponse, ApiError> {
    let cache = EdgeCache::open(logger, ReadFrom::of_request(headers)).await;
    let key = cache::categories_key(&cache.generation().await);
    let cached = cache
        .get_or_load(&key, || async {
            let db = database::connect_reader(&cache).await?;
            let row = database::optional_row(&db, &sql::categories())
                .await?
                .ok_or_else(|| ApiError::internal("categories returned no row"))?;
            let items: Vec<CategorySummary> =
                parse_json(&runtime::db::column::<String>(&row, "items")?)?;
            to_json(&Items { items })
        })
        .await?;
    Ok(public_response(cached, &cache, headers))
}

/// The API document: public, revalidated by ETag (it changes only with a deploy).
fn openapi(headers: &HeaderMap) -> HttpResponse {
    let etag = cache::etag(OPENAPI_JSON.as_bytes());
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| cache::if_none_match(value, &etag));
    let mut response = if not_modified {
        response::empty(StatusCode::NOT_MODIFIED)
    } else {
        response::bytes(StatusCode::OK, response::JSON, OPENAPI_JSON)
    };
    set_header(response.headers_mut(), header::ETAG, &etag);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
