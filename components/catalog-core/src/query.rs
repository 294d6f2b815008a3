//! Request inputs parsed into typed, validated values; anything malformed is a 400 naming the field.

use platform::ApiError;
use platform::problem::FieldError;
use serde::Deserialize;
use uuid::Uuid;

use crate::course::Level;
use crate::slug;

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;
/// Deep pages cost an ever larger OFFSET scan; nobody browses past this.
pub const MAX_PAGE: u32 = 10_000;
pub const MAX_SEARCH_LEN: usize = 200;
pub const MAX_BATCH_IDS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Best text-search match first; only meaningful with a search term.
    Relevance,
    Newest,
    PriceAsc,
    PriceDesc,
    Title,
}

impl Sort {
    const ALL: [Sort; 5] = [
        Sort::Relevance,
        Sort::Newest,
        Sort::PriceAsc,
        Sort::PriceDesc,
        Sort::Title,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Newest => "newest",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Title => "title",
        }
    }

    fn parse(value: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|sort| sort.as_str() == value)
    }
}

/// `GET /api/courses` parameters, validated. Build with [`CourseQuery::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseQuery {
    pub search: Option<String>,
    pub category: Option<String>,
    pub level: Option<Level>,
    pub instructor: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    /// The effective order: `relevance` without a search term falls back to `newest`.
    pub sort: Sort,
    pub page: u32,
    pub page_size: u32,
}

/// The raw query string: every value a string, so each bad one gets its own field error.
#[derive(Debug, Default, Deserialize)]
struct RawCourseQuery {
    q: Option<String>,
    category: Option<String>,
    level: Option<String>,
    instructor: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
    sort: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
}

/// Collects every field error of one request, so a client learns all of them at once.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            return Ok(value);
        }
        let detail = self
            .0
            .iter()
            .map(|error| format!("{}: {}", error.field, error.message))
            .collect::<Vec<_>>()
            .join("; ");
        Err(ApiError::BadRequest {
            detail: format!("invalid query: {detail}"),
            errors: self.0,
        })
    }

    fn number(
        &mut self,
        field: &str,
        value: Option<&str>,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let value = value?;
        match value.trim().parse::<i64>() {
            Ok(number) if range.contains(&number) => Some(number),
            _ => {
                self.add(
                    field,
                    format!(
                        "must be an integer from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    fn slug(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let value = value?;
        if slug::is_valid(value) {
            Some(value.to_owned())
        } else {
            self.add(
                field,
                "must be a slug (lowercase letters, digits and dashes)",
            );
            None
        }
    }
}

/// Blank parameters (`?category=`) mean "not given", as HTML forms send them.
fn non_blank(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

impl CourseQuery {
    /// Parses a raw query string such as `q=rust&page=2`. Unknown parameters are ignored.
    pub fn parse(query: Option<&str>) -> Result<CourseQuery, ApiError> {
        let raw: RawCourseQuery = platform::request::query(query)?;
        let mut errors = Errors::default();

        let search = non_blank(&raw.q).map(|q| q.split_whitespace().collect::<Vec<_>>().join(" "));
        if search
            .as_ref()
            .is_some_and(|q| q.chars().count() > MAX_SEARCH_LEN)
        {
            errors.add("q", format!("must be at most {MAX_SEARCH_LEN} characters"));
        }
        let category = errors.slug("category", non_blank(&raw.category));
        let instructor = errors.slug("instructor", non_blank(&raw.instructor));
        let level = non_blank(&raw.level).and_then(|value| {
            let level = Level::parse(value);
            if level.is_none() {
                errors.add("level", "must be one of beginner, intermediate, advanced");
            }
            level
        });
        let min_price_cents = errors.number(
            "min_price",
            non_blank(&raw.min_price),
            0..=i64::from(i32::MAX),
        );
        let max_price_cents = errors.number(
            "max_price",
            non_blank(&raw.max_price),
            0..=i64::from(i32::MAX),
        );
        if let (Some(min), Some(max)) = (min_price_cents, max_price_cents)
            && min > max
        {
            errors.add("max_price", "must not be below min_price");
        }
        let requested_sort = non_blank(&raw.sort).and_then(|value| {
            let sort = Sort::parse(value);
            if sort.is_none() {
                errors.add(
                    "sort",
                    "must be one of relevance, newest, price_asc, price_desc, title",
                );
            }
            sort
        });
        let page = errors.number("page", non_blank(&raw.page), 1..=i64::from(MAX_PAGE));
        let page_size = errors.number(
            "page_size",
            non_blank(&raw.page_size),
            1..=i64::from(MAX_PAGE_SIZE),
        );

        let sort = match (requested_sort, &search) {
            (Some(Sort::Relevance) | None, Some(_)) => Sort::Relevance,
            (Some(Sort::Relevance) | None, None) => Sort::Newest,
            (Some(sort), _) => sort,
        };
        errors.finish(CourseQuery {
            search,
            category,
            level,
            instructor,
            min_price_cents,
            max_price_cents,
            sort,
            page: page.and_then(|page| u32::try_from(page).ok()).unwrap_or(1),
            page_size: page_size
                .and_then(|size| u32::try_from(size).ok())
                .unwrap_or(DEFAULT_PAGE_SIZE),
        })
    }

    /// Rows to skip before this page.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }

    /// A canonical text of the query: equal queries written differently give the same
    /// text, so they share one cache entry.
    pub fn canonical(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(search) = &self.search {
            pairs.push(("q", search.to_lowercase()));
        }
        if let Some(category) = &self.category {
            pairs.push(("category", category.clone()));
        }
        if let Some(level) = self.level {
            pairs.push(("level", level.as_str().to_owned()));
        }
        if let Some(instructor) = &self.instructor {
            pairs.push(("instructor", instructor.clone()));
        }
        if let Some(min) = self.min_price_cents {
            pairs.push(("min_price", min.to_string()));
        }
        if let Some(max) = self.max_price_cents {
            pairs.push(("max_price", max.to_string()));
        }
        pairs.push(("sort", self.sort.as_str().to_owned()));
        pairs.push(("page", self.page.to_string()));
        pairs.push(("page_size", self.page_size.to_string()));
        pairs
            .into_iter()
            .map(|(key, value)| format!("{key}={}", value.replace(['&', '='], " ")))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// The `{id}` path segment of course routes: a UUID or a slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourseRef {
    Id(Uuid),
    Slug(String),
}

impl CourseRef {
    pub fn parse(segment: &str) -> Result<CourseRef, ApiError> {
        if let Ok(id) = Uuid::try_parse(segment) {
            return Ok(CourseRef::Id(id));
        }
        if slug::is_valid(segment) {
            return Ok(CourseRef::Slug(segment.to_owned()));
        }
        Err(ApiError::invalid(
            "id",
            "must be a course id (UUID) or slug",
        ))
    }
}

#[derive(Debug, Default, Deserialize)]
struct RawBatchQuery {
    ids: Option<String>,
}

/// `GET /api/courses/batch?ids=a,b`: distinct ids, in the order first given.
pub fn parse_batch_ids(query: Option<&str>) -> Result<Vec<Uuid>, ApiError> {
    let raw: RawBatchQuery = platform::request::query(query)?;
    let Some(list) = non_blank(&raw.ids) else {
        return Err(ApiError::invalid(
            "ids",
            "is required: comma-separated course ids",
        ));
    };
    let mut ids = Vec::new();
    for part in list
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let id = Uuid::try_parse(part)
            .map_err(|_| ApiError::invalid("ids", format!("{part:?} is not a course id (UUID)")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_BATCH_IDS {
        return Err(ApiError::invalid(
            "ids",
            format!("at most {MAX_BATCH_IDS} ids per request"),
        ));
    }
    if ids.is_empty() {
        return Err(ApiError::invalid(
            "ids",
            "is required: comma-separated course ids",
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> CourseQuery {
        CourseQuery::parse(Some(query)).expect("valid query")
    }

    fn fields(query: &str) -> Vec<String> {
        match CourseQuery::parse(Some(query)) {
            Err(ApiError::BadRequest { errors, .. }) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn defaults_to_newest_first_page_of_twenty() {
        let query = CourseQuery::parse(None).expect("valid");
        assert_eq!(
            (query.sort, query.page, query.page_size),
            (Sort::Newest, 1, 20)
        );
        assert_eq!(query.offset(), 0);
    }

    #[test]
    fn search_defaults_to_relevance_and_relevance_needs_search() {
        assert_eq!(parse("q=rust").sort, Sort::Relevance);
        assert_eq!(parse("q=rust&sort=price_asc").sort, Sort::PriceAsc);
        assert_eq!(parse("sort=relevance").sort, Sort::Newest);
    }

    #[test]
    fn parses_every_filter() {
        let query = parse(
            "q=+async++rust+&category=programming&level=advanced&instructor=ada&min_price=100&max_price=5000&sort=title&page=3&page_size=10",
        );
        assert_eq!(query.search.as_deref(), Some("async rust"));
        assert_eq!(query.category.as_deref(), Some("programming"));
        assert_eq!(query.level, Some(Level::Advanced));
        assert_eq!(query.instructor.as_deref(), Some("ada"));
        assert_eq!(
            (query.min_price_cents, query.max_price_cents),
            (Some(100), Some(5000))
        );
        assert_eq!(query.offset(), 20);
    }

    #[test]
    fn blank_values_mean_absent() {
        assert_eq!(
            parse("q=&category=&page="),
            CourseQuery::parse(None).expect("valid")
        );
    }

    #[test]
    fn page_size_is_capped_at_one_hundred() {
        assert_eq!(parse("page_size=100").page_size, 100);
        assert_eq!(fields("page_size=101"), ["page_size"]);
        assert_eq!(fields("page_size=0"), ["page_size"]);
    }

    #[test]
    fn reports_every_bad_field() {
        assert_eq!(
            fields(
                "page=0&level=expert&sort=cheapest&category=Bad%20Slug&min_price=-1&max_price=x"
            ),
            [
                "category",
                "level",
                "min_price",
                "max_price",
                "sort",
                "page"
            ]
        );
        assert_eq!(fields("min_price=500&max_price=100"), ["max_price"]);
        assert_eq!(fields(&format!("q={}", "a".repeat(201))), ["q"]);
    }

    #[test]
    fn canonical_text_ignores_spelling_differences() {
        let a = parse("page=1&q=Rust%20Async&sort=relevance");
        let b = parse("q=rust+async&page_size=20");
        assert_eq!(a.canonical(), b.canonical());
        assert_ne!(a.canonical(), parse("q=rust").canonical());
    }

    #[test]
    fn course_refs_are_ids_or_slugs() {
        let id = "01932c07-2a5e-7c4e-8a3b-6f1d2e3c4b5a";
        assert!(matches!(CourseRef::parse(id), Ok(CourseRef::Id(_))));
        assert_eq!(
            CourseRef::parse("intro-to-rust").expect("slug"),
            CourseRef::Slug("intro-to-rust".into())
        );
        assert_eq!(
            CourseRef::parse("Not A Slug!").expect_err("400").status(),
            400
        );
    }

    #[test]
    fn batch_ids_are_deduplicated_validated_and_capped() {
        let a = "01932c07-2a5e-7c4e-8a3b-6f1d2e3c4b5a";
        let b = "01932c07-2a5e-7c4e-8a3b-6f1d2e3c4b5b";
        let ids = parse_batch_ids(Some(&format!("ids={b},{a},{b}"))).expect("valid");
        assert_eq!(ids.iter().map(Uuid::to_string).collect::<Vec<_>>(), [b, a]);
        assert_eq!(parse_batch_ids(None).expect_err("missing").status(), 400);
        assert_eq!(
            parse_batch_ids(Some("ids=nope")).expect_err("bad").status(),
            400
        );
        let many: Vec<String> = (0..101)
            .map(|n| format!("01932c07-2a5e-7c4e-8a3b-{n:012}"))
            .collect();
        assert_eq!(
            parse_batch_ids(Some(&format!("ids={}", many.join(","))))
                .expect_err("too many")
                .status(),
            400
        );
    }
}
