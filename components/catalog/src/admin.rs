//! Admin-only writes. Each one drops the changed course from this region's cache and
//! publishes an invalidation so every region's cache-invalidator does the same.

use catalog_core::admin::{CoursePatchInput, NewCourseInput};
use catalog_core::cache::{self, Invalidation};
use catalog_core::course::CourseDetail;
use catalog_core::query::CourseRef;
use catalog_core::sql::{self, SlugTable};
use http::HeaderMap;
use platform::log::{Event, Logger};
use platform::request::{MAX_JSON_BODY, read_json};
use platform::{ApiError, HttpResponse, response};
use runtime::session;
use spin_sdk::wasip3::http_compat::IncomingRequestBody;
use uuid::Uuid;

use crate::edge_cache;
use crate::{database, load_detail, private};

fn slug_taken(slug: &str) -> ApiError {
    ApiError::Conflict {
        kind: "slug-taken",
        detail: format!("another course already uses the slug {slug:?}"),
    }
}

/// A draft seen by an admin; 404 for everyone else, as if it did not exist.
pub async fn draft(course: &CourseRef, headers: &HeaderMap) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found("no published course with this id or slug");
    match session::current(headers).await? {
        Some(user) if user.is_admin() => {}
        _ => return Err(not_found()),
    }
    let db = database::connect().await?;
    match load_detail(&db, course).await? {
        Some((_, detail)) => Ok(private(response::ok(&detail))),
        None => Err(not_found()),
    }
}

/// The id of the category or instructor a course refers to, or a 400 naming the field.
async fn resolve(
    db: &spin_sdk::pg::Connection,
    table: SlugTable,
    slug: &str,
    field: &str,
) -> Result<Uuid, ApiError> {
    let row = database::optional_row(db, &sql::id_by_slug(table, slug))
        .await?
        .ok_or_else(|| ApiError::invalid(field, format!("no {field} with slug {slug:?}")))?;
    let id: String = runtime::db::column(&row, "id")?;
    Uuid::try_parse(&id).map_err(ApiError::internal)
}

async fn resolve_optional(
    db: &spin_sdk::pg::Connection,
    table: SlugTable,
    slug: Option<&str>,
    field: &str,
) -> Result<Option<Uuid>, ApiError> {
    match slug {
        Some(slug) => Ok(Some(resolve(db, table, slug, field).await?)),
        None => Ok(None),
    }
}

/// `POST /api/courses`: a new, unpublished draft.
pub async fn create(
    logger: &Logger,
    headers: &HeaderMap,
    body: IncomingRequestBody,
) -> Result<HttpResponse, ApiError> {
    session::require_admin(headers).await?;
    let input: NewCourseInput = read_json(headers, body, MAX_JSON_BODY).await?;
    let course = input.validate()?;
    let db = database::connect().await?;
    let category_id = resolve(&db, SlugTable::Categories, &course.category, "category").await?;
    let instructor_id = resolve(
        &db,
        SlugTable::Instructors,
        &course.instructor,
        "instructor",
    )
    .await?;
    let id = Uuid::now_v7();
    let inserted = database::rows(
        &db,
        &sql::insert_course(id, &course, category_id, instructor_id),
    )
    .await?;
    if inserted.is_empty() {
        return Err(slug_taken(&course.slug));
    }
    let detail = changed_detail(&db, id).await?;
    invalidate(
        logger,
        &db,
        Invalidation::new(id, &course.slug, &course.slug),
    )
    .await;
    Ok(private(response::created(
        &format!("/api/courses/{id}"),
        &detail,
    )))
}

/// `PATCH /api/courses/{id}`: changes only the fields given.
pub async fn update(
    logger: &Logger,
    course: &CourseRef,
    headers: &HeaderMap,
    body: IncomingRequestBody,
) -> Result<HttpResponse, ApiError> {
    session::require_admin(headers).await?;
    let input: CoursePatchInput = read_json(headers, body, MAX_JSON_BODY).await?;
    let patch = input.validate()?;
    let db = database::connect().await?;
    let category_id = resolve_optional(
        &db,
        SlugTable::Categories,
        patch.category.as_deref(),
        "category",
    )
    .await?;
    let instructor_id = resolve_optional(
        &db,
        SlugTable::Instructors,
        patch.instructor.as_deref(),
        "instructor",
    )
    .await?;
    let statement = sql::update_course(course, &patch, category_id, instructor_id);
    let rows = match database::try_rows(&db, &statement).await {
        Ok(rows) => rows,
        Err(error) if database::is_unique_violation(&error) => {
            return Err(slug_taken(patch.slug.as_deref().unwrap_or_default()));
        }
        Err(error) => return Err(runtime::db::query_error(error)),
    };
    written(logger, &db, rows).await
}

/// `POST /api/courses/{id}/publish` and `/unpublish`.
pub async fn set_published(
    logger: &Logger,
    course: &CourseRef,
    published: bool,
    headers: &HeaderMap,
) -> Result<HttpResponse, ApiError> {
    session::require_admin(headers).await?;
    let db = database::connect().await?;
    let rows = database::rows(&db, &sql::set_published(course, published)).await?;
    written(logger, &db, rows).await
}

/// Answers an UPDATE returning `id, old_slug, new_slug`: 404 when it touched no course.
async fn written(
    logger: &Logger,
    db: &spin_sdk::pg::Connection,
    rows: Vec<spin_sdk::pg::Row>,
) -> Result<HttpResponse, ApiError> {
    let row = rows
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("no course with this id or slug"))?;
    let id: String = runtime::db::column(&row, "id")?;
    let id = Uuid::try_parse(&id).map_err(ApiError::internal)?;
    let old_slug: String = runtime::db::column(&row, "old_slug")?;
    let new_slug: String = runtime::db::column(&row, "new_slug")?;
    let detail = changed_detail(db, id).await?;
    invalidate(logger, db, Invalidation::new(id, &old_slug, &new_slug)).await;
    Ok(private(response::ok(&detail)))
}

async fn changed_detail(db: &spin_sdk::pg::Connection, id: Uuid) -> Result<CourseDetail, ApiError> {
    load_detail(db, &CourseRef::Id(id))
        .await?
        .map(|(_, detail)| detail)
        .ok_or_else(|| ApiError::internal("course vanished right after its write"))
}

/// Drops the course here, then tells every region. Pub/sub is at most once: a lost message
/// leaves other regions serving the old copy only until its freshness budget runs out.
async fn invalidate(logger: &Logger, db: &spin_sdk::pg::Connection, invalidation: Invalidation) {
    let invalidation = &invalidation.written_at(database::primary_position(db).await);
    edge_cache::invalidate_this_region(logger, invalidation).await;
    let published = async {
        let url = runtime::vars::required("redis_url")
            .await
            .map_err(|error| format!("{error}"))?;
        let redis = spin_sdk::redis::Connection::open(url)
            .await
            .map_err(|error| format!("{error:?}"))?;
        redis
            .publish(cache::INVALIDATION_CHANNEL, invalidation.to_json())
            .await
            .map_err(|error| format!("{error:?}"))
    }
    .await;
    if let Err(error) = published {
        logger.error(
            Event::InvalidationFailed,
            format_args!("not published: {error}"),
        );
    }
}
