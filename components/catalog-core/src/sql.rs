//! Every SQL statement of the catalog, with values always passed as parameters.
//!
//! Each placeholder carries an explicit cast (`$1::text`, `$2::int8`), so PostgreSQL never
//! has to infer a parameter type from context: values travel as text, int8 or bool only.
//! Rows come back as JSON text built by PostgreSQL, parsed into the [`crate::course`] types.

use uuid::Uuid;

use crate::admin::{CoursePatch, NewCourse};
use crate::query::{CourseQuery, CourseRef, Sort};

/// A statement parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlParam {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// SQL text plus its parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

/// Appends parameters and hands out their typed placeholders.
#[derive(Default)]
struct Params(Vec<SqlParam>);

impl Params {
    fn text(&mut self, value: impl Into<String>) -> String {
        self.0.push(SqlParam::Text(value.into()));
        format!("${}::text", self.0.len())
    }

    fn uuid(&mut self, value: Uuid) -> String {
        format!("{}::uuid", self.text(value.to_string()))
    }

    fn int(&mut self, value: i64) -> String {
        self.0.push(SqlParam::Int(value));
        format!("${}::int8", self.0.len())
    }

    fn bool(&mut self, value: bool) -> String {
        self.0.push(SqlParam::Bool(value));
        format!("${}::bool", self.0.len())
    }

    fn statement(self, sql: String) -> Statement {
        Statement {
            sql,
            params: self.0,
        }
    }
}

/// Courses joined with their category and instructor, under flat column names.
const COURSE_ROWS: &str = "(SELECT c.id, c.slug, c.title, c.subtitle, c.description, c.outline, \
     c.level, c.language, c.price_cents, c.currency, c.duration_minutes, c.published, \
     c.created_at, c.updated_at, c.search, \
     cat.slug AS category_slug, cat.name AS category_name, \
     i.slug AS instructor_slug, i.name AS instructor_name \
     FROM courses c \
     JOIN categories cat ON cat.id = c.category_id \
     JOIN instructors i ON i.id = c.instructor_id)";

/// The `CourseSummary` JSON object of the row alias `r`.
fn summary_json(r: &str) -> String {
    format!(
        "jsonb_build_object(\
         'id', {r}.id, 'slug', {r}.slug, 'title', {r}.title, 'subtitle', {r}.subtitle, \
         'category', jsonb_build_object('slug', {r}.category_slug, 'name', {r}.category_name), \
         'level', {r}.level, \
         'instructor', jsonb_build_object('slug', {r}.instructor_slug, 'name', {r}.instructor_name), \
         'language', {r}.language, \
         'price', jsonb_build_object('amount_cents', {r}.price_cents, 'currency', {r}.currency), \
         'duration_minutes', {r}.duration_minutes, 'published', {r}.published, \
         'updated_at', to_char({r}.updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"
    )
}

/// The `CourseDetail` JSON object of the row alias `r`.
fn detail_json(r: &str) -> String {
    format!(
        "({summary} || jsonb_build_object('description', {r}.description, 'outline', {r}.outline))",
        summary = summary_json(r)
    )
}

fn course_ref_condition(params: &mut Params, course: &CourseRef, r: &str) -> String {
    match course {
        CourseRef::Id(id) => format!("{r}.id = {}", params.uuid(*id)),
        CourseRef::Slug(slug) => format!("{r}.slug = {}", params.text(slug.clone())),
    }
}

/// One page of published courses. Returns one row: `total` (int8) and `items` (JSON array text).
pub fn list_courses(query: &CourseQuery) -> Statement {
    let mut params = Params::default();
    let mut conditions = vec!["r.published".to_owned()];
    let mut rank = "0::real".to_owned();
    if let Some(search) = &query.search {
        let tsquery = format!(
            "websearch_to_tsquery('english', {})",
            params.text(search.clone())
        );
        conditions.push(format!("r.search @@ {tsquery}"));
        rank = format!("ts_rank_cd(r.search, {tsquery})");
    }
    if let Some(category) = &query.category {
        conditions.push(format!(
            "r.category_slug = {}",
            params.text(category.clone())
        ));
    }
    if let Some(level) = query.level {
        conditions.push(format!("r.level = {}", params.text(level.as_str())));
    }
    if let Some(instructor) = &query.instructor {
        conditions.push(format!(
            "r.instructor_slug = {}",
            params.text(instructor.clone())
        ));
    }
    if let Some(min) = query.min_price_cents {
        conditions.push(format!("r.price_cents >= {}", params.int(min)));
    }
    if let Some(max) = query.max_price_cents {
        conditions.push(format!("r.price_cents <= {}", params.int(max)));
    }
    // Every order ends with the id, so equal keys still page in a stable order.
    let order = match query.sort {
        Sort::Relevance => "rank DESC, id",
        Sort::Newest => "created_at DESC, id DESC",
        Sort::PriceAsc => "price_cents, id",
        Sort::PriceDesc => "price_cents DESC, id",
        Sort::Title => "title, id",
    };
    let limit = params.int(i64::from(query.page_size));
    let offset = params.int(query.offset());
    let sql = format!(
        "WITH matches AS (SELECT r.*, {rank} AS rank FROM {COURSE_ROWS} r WHERE {conditions}) \
         SELECT (SELECT count(*) FROM matches)::int8 AS total, \
         coalesce((SELECT jsonb_agg({summary} ORDER BY {order}) \
                   FROM (SELECT * FROM matches ORDER BY {order} LIMIT {limit} OFFSET {offset}) m), \
                  '[]'::jsonb)::text AS items",
        conditions = conditions.join(" AND "),
        summary = summary_json("m"),
    );
    params.statement(sql)
}

/// One course, published or not. Returns zero or one row: `published` (bool), `detail` (JSON text).
pub fn course_detail(course: &CourseRef) -> Statement {
    let mut params = Params::default();
    let condition = course_ref_condition(&mut params, course, "r");
    let sql = format!(
        "SELECT r.published, {detail}::text AS detail FROM {COURSE_ROWS} r WHERE {condition}",
        detail = detail_json("r"),
    );
    params.statement(sql)
}

/// Summaries of the given courses, published or not, in the order asked; unknown ids are
/// left out. Returns one row: `items` (JSON array text).
pub fn courses_by_ids(ids: &[Uuid]) -> Statement {
    let mut params = Params::default();
    let list = ids
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let wanted = params.text(list);
    let sql = format!(
        "SELECT coalesce(jsonb_agg({summary} ORDER BY wanted.position), '[]'::jsonb)::text AS items \
         FROM unnest(string_to_array({wanted}, ',')::uuid[]) WITH ORDINALITY AS wanted(id, position) \
         JOIN {COURSE_ROWS} r ON r.id = wanted.id",
        summary = summary_json("r"),
    );
    params.statement(sql)
}

/// Categories with their number of published courses. Returns one row: `items` (JSON array text).
pub fn categories() -> Statement {
    let sql = "SELECT coalesce(jsonb_agg(jsonb_build_object('slug', cat.slug, 'name', cat.name, \
               'course_count', cat.course_count) ORDER BY cat.name, cat.slug), '[]'::jsonb)::text AS items \
               FROM (SELECT c.slug, c.name, \
                     (SELECT count(*) FROM courses WHERE category_id = c.id AND published) AS course_count \
                     FROM categories c) cat"
        .to_owned();
    Params::default().statement(sql)
}

/// Tables that admin input refers to by slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlugTable {
    Categories,
    Instructors,
}

/// The id of a category or instructor by slug. Returns zero or one row: `id` (text).
pub fn id_by_slug(table: SlugTable, slug: &str) -> Statement {
    let mut params = Params::default();
    let table = match table {
        SlugTable::Categories => "categories",
        SlugTable::Instructors => "instructors",
    };
    let sql = format!(
        "SELECT id::text AS id FROM {table} WHERE slug = {}",
        params.text(slug)
    );
    params.statement(sql)
}

/// Inserts a draft. Returns one row `id` (text), or none when the slug is taken.
pub fn insert_course(
    id: Uuid,
    course: &NewCourse,
    category_id: Uuid,
    instructor_id: Uuid,
) -> Statement {
    let mut params = Params::default();
    let values = [
        params.uuid(id),
        params.text(course.slug.clone()),
        params.text(course.title.clone()),
        params.text(course.subtitle.clone()),
        params.text(course.description.clone()),
        format!("{}::jsonb", params.text(outline_json(&course.outline))),
        params.uuid(category_id),
        params.uuid(instructor_id),
        params.text(course.level.as_str()),
        params.text(course.language.clone()),
        params.int(course.price.amount_cents),
        params.text(course.price.currency.clone()),
        params.int(course.duration_minutes),
    ];
    let sql = format!(
        "INSERT INTO courses (id, slug, title, subtitle, description, outline, category_id, \
         instructor_id, level, language, price_cents, currency, duration_minutes, published, \
         created_at, updated_at) \
         VALUES ({}, false, now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc') \
         ON CONFLICT (slug) DO NOTHING RETURNING id::text AS id",
        values.join(", ")
    );
    params.statement(sql)
}

fn outline_json(outline: &[String]) -> String {
    serde_json::Value::from(outline.to_vec()).to_string()
}

/// Applies a validated patch; category and instructor are given as resolved ids.
/// Returns zero or one row: `id`, `old_slug`, `new_slug` (all text).
pub fn update_course(
    course: &CourseRef,
    patch: &CoursePatch,
    category_id: Option<Uuid>,
    instructor_id: Option<Uuid>,
) -> Statement {
    let mut params = Params::default();
    let mut assignments = Vec::new();
    let mut assign =
        |column: &str, placeholder: String| assignments.push(format!("{column} = {placeholder}"));
    if let Some(slug) = &patch.slug {
        assign("slug", params.text(slug.clone()));
    }
    if let Some(title) = &patch.title {
        assign("title", params.text(title.clone()));
    }
    if let Some(subtitle) = &patch.subtitle {
        assign("subtitle", params.text(subtitle.clone()));
    }
    if let Some(description) = &patch.description {
        assign("description", params.text(description.clone()));
    }
    if let Some(outline) = &patch.outline {
        assign(
            "outline",
            format!("{}::jsonb", params.text(outline_json(outline))),
        );
    }
    if let Some(id) = category_id {
        assign("category_id", params.uuid(id));
    }
    if let Some(id) = instructor_id {
        assign("instructor_id", params.uuid(id));
    }
    if let Some(level) = patch.level {
        assign("level", params.text(level.as_str()));
    }
    if let Some(language) = &patch.language {
        assign("language", params.text(language.clone()));
    }
    if let Some(price) = &patch.price {
        assign("price_cents", params.int(price.amount_cents));
        assign("currency", params.text(price.currency.clone()));
    }
    if let Some(minutes) = patch.duration_minutes {
        assign("duration_minutes", params.int(minutes));
    }
    assign("updated_at", "now() AT TIME ZONE 'utc'".to_owned());
    changed_course(params, course, &assignments.join(", "))
}

/// Publishes or unpublishes. Returns zero or one row: `id`, `old_slug`, `new_slug` (all text).
pub fn set_published(course: &CourseRef, published: bool) -> Statement {
    let mut params = Params::default();
    let flag = params.bool(published);
    let assignments = format!(
        "published = {flag}, \
         published_at = CASE WHEN {flag} THEN coalesce(c.published_at, now() AT TIME ZONE 'utc') ELSE c.published_at END, \
         updated_at = now() AT TIME ZONE 'utc'"
    );
    changed_course(params, course, &assignments)
}

/// An UPDATE of one course that also reports its slug before the change (for cache invalidation).
fn changed_course(mut params: Params, course: &CourseRef, assignments: &str) -> Statement {
    let condition = course_ref_condition(&mut params, course, "target");
    let sql = format!(
        "UPDATE courses AS c SET {assignments} \
         FROM (SELECT id, slug FROM courses target WHERE {condition}) AS prior \
         WHERE c.id = prior.id \
         RETURNING c.id::text AS id, prior.slug AS old_slug, c.slug AS new_slug"
    );
    params.statement(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_placeholders(sql: &str) -> usize {
        (1..=40)
            .filter(|n| sql.contains(&format!("${n}::")))
            .count()
    }

    #[test]
    fn list_binds_every_filter_as_a_parameter() {
        let query = CourseQuery::parse(Some(
            "q=robert'); DROP TABLE courses;--&category=dev&level=beginner&instructor=ada&min_price=1&max_price=2&page=2&page_size=5",
        ))
        .expect("valid");
        let statement = list_courses(&query);
        assert!(!statement.sql.contains("DROP TABLE"), "{}", statement.sql);
        assert_eq!(count_placeholders(&statement.sql), statement.params.len());
        assert_eq!(
            statement.params,
            vec![
                SqlParam::Text("robert'); DROP TABLE courses;--".into()),
                SqlParam::Text("dev".into()),
                SqlParam::Text("beginner".into()),
                SqlParam::Text("ada".into()),
                SqlParam::Int(1),
                SqlParam::Int(2),
                SqlParam::Int(5),
                SqlParam::Int(5),
            ]
        );
        assert!(statement.sql.contains("ts_rank_cd"));
    }

    #[test]
    fn every_sort_ends_with_the_id_tiebreak() {
        for sort in ["newest", "price_asc", "price_desc", "title"] {
            let query = CourseQuery::parse(Some(&format!("sort={sort}"))).expect("valid");
            let sql = list_courses(&query).sql;
            assert!(
                sql.contains(", id LIMIT") || sql.contains(", id DESC LIMIT"),
                "{sort}: {sql}"
            );
        }
    }

    #[test]
    fn detail_looks_up_by_id_or_slug() {
        let by_slug = course_detail(&CourseRef::Slug("intro".into()));
        assert!(by_slug.sql.contains("r.slug = $1::text"));
        let id = Uuid::now_v7();
        let by_id = course_detail(&CourseRef::Id(id));
        assert!(by_id.sql.contains("r.id = $1::text::uuid"));
        assert_eq!(by_id.params, vec![SqlParam::Text(id.to_string())]);
    }

    #[test]
    fn batch_passes_ids_as_one_list_parameter() {
        let ids = [Uuid::now_v7(), Uuid::now_v7()];
        let statement = courses_by_ids(&ids);
        assert_eq!(
            statement.params,
            vec![SqlParam::Text(format!("{},{}", ids[0], ids[1]))]
        );
    }

    #[test]
    fn publish_reports_the_previous_slug() {
        let statement = set_published(&CourseRef::Slug("intro".into()), true);
        assert!(statement.sql.contains("prior.slug AS old_slug"));
        assert_eq!(statement.params[0], SqlParam::Bool(true));
        assert_eq!(count_placeholders(&statement.sql), 2);
    }
}
