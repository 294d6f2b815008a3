//! Migrations, the seed and the catalog's SQL against a real PostgreSQL (127.0.0.1:5432):
//! each test in its own fresh database, dropped at the end.

use anyhow::Result;
use catalog_core::course::{CategorySummary, CourseDetail, CourseSummary};
use catalog_core::query::{CourseQuery, CourseRef};
use catalog_core::sql::{self, SqlParam, Statement};
use db::seed::{CatalogSize, SeedReport};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/// A fresh database, dropped (with FORCE) by [`Scratch::drop_now`].
struct Scratch {
    name: String,
    admin: Client,
}

impl Scratch {
    async fn create() -> Result<(Scratch, Client)> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "db_tool_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let admin = db::connect(ADMIN_URL).await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let client = db::connect(&format!(
            "postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable"
        ))
        .await?;
        Ok((Scratch { name, admin }, client))
    }

    async fn drop_now(self) -> Result<()> {
        self.admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}

async fn migrated() -> Result<(Scratch, Client)> {
    let (scratch, client) = Scratch::create().await?;
    db::migrate(&client, &db::default_migrations_dir()).await?;
    Ok((scratch, client))
}

/// Runs a catalog-core statement the way the component does (text, int8 and bool parameters).
async fn run(client: &Client, statement: &Statement) -> Result<Vec<tokio_postgres::Row>> {
    let params: Vec<Box<dyn ToSql + Sync>> = statement
        .params
        .iter()
        .map(|param| -> Box<dyn ToSql + Sync> {
            match param {
                SqlParam::Text(text) => Box::new(text.clone()),
                SqlParam::Int(number) => Box::new(*number),
                SqlParam::Bool(flag) => Box::new(*flag),
            }
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|param| param.as_ref()).collect();
    Ok(client.query(statement.sql.as_str(), &refs).await?)
}

async fn page(client: &Client, query: &str) -> Result<(i64, Vec<CourseSummary>)> {
    let query = CourseQuery::parse(Some(query))?;
    let rows = run(client, &sql::list_courses(&query)).await?;
    let items: String = rows[0].get("items");
    Ok((rows[0].get("total"), serde_json::from_str(&items)?))
}

#[tokio::test]
async fn migrations_apply_once_in_order() -> Result<()> {
    let (scratch, client) = Scratch::create().await?;
    let dir = db::default_migrations_dir();
    let first = db::migrate(&client, &dir).await?;
    assert!(first.len() >= 3 && first[0] == "0001_catalog", "{first:?}");
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(first, sorted);
    assert!(
        db::migrate(&client, &dir).await?.is_empty(),
        "a second run applies nothing"
    );
    let recorded: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await?
        .get(0);
    assert_eq!(usize::try_from(recorded)?, first.len());
    scratch.drop_now().await
}

#[tokio::test]
async fn seed_is_deterministic_idempotent_and_large_enough() -> Result<()> {
    let (scratch, client) = migrated().await?;
    let report = db::seed::catalog(&client, CatalogSize::DEMO).await?;
    assert_eq!(
        report,
        SeedReport {
            categories: 12,
            instructors: 40,
            courses: 564
        }
    );
    assert_eq!(
        db::seed::catalog(&client, CatalogSize::DEMO).await?,
        SeedReport::default()
    );
    let published: i64 = client
        .query_one("SELECT count(*) FROM courses WHERE published", &[])
        .await?
        .get(0);
    assert!(published >= 500, "{published}");
    let spread = client
        .query_one(
            "SELECT count(DISTINCT category_id), count(DISTINCT instructor_id), count(DISTINCT level), \
             count(DISTINCT language), count(DISTINCT price_cents) FROM courses WHERE published",
            &[],
        )
        .await?;
    for column in 0..5 {
        assert!(
            spread.get::<_, i64>(column) >= 3,
            "column {column} lacks variety"
        );
    }

    // The same ids on a second, fresh database.
    let (other, other_client) = migrated().await?;
    db::seed::catalog(&other_client, CatalogSize::DEMO).await?;
    let ids = "SELECT string_agg(id::text, ',' ORDER BY id) FROM courses";
    let here: String = client.query_one(ids, &[]).await?.get(0);
    let there: String = other_client.query_one(ids, &[]).await?.get(0);
    assert_eq!(here, there);
    other.drop_now().await?;
    scratch.drop_now().await
}

#[tokio::test]
async fn catalog_statements_return_the_api_shapes() -> Result<()> {
    let (scratch, client) = migrated().await?;
    db::seed::catalog(&client, CatalogSize::DEMO).await?;

    let (total, items) = page(&client, "page_size=100").await?;
    assert_eq!((total, items.len()), (540, 100));
    assert!(items.iter().all(|course| course.published));
    let (_, last) = page(&client, "page=6&page_size=100").await?;
    assert_eq!(last.len(), 40);

    let (_, cheapest) = page(&client, "sort=price_asc&page_size=50").await?;
    assert!(
        cheapest
            .windows(2)
            .all(|pair| pair[0].price.amount_cents <= pair[1].price.amount_cents)
    );

    let (found, ranked) = page(&client, "q=kubernetes&category=devops").await?;
    assert!(found > 0);
    assert!(ranked.iter().all(|course| course.category.slug == "devops"));
    assert!(
        ranked[0].title.contains("Kubernetes"),
        "{:?}",
        ranked[0].title
    );

    let (filtered, _) = page(
        &client,
        "level=advanced&min_price=1000&max_price=5000&instructor=ada-lovelace",
    )
    .await?;
    let expected: i64 = client
        .query_one(
            "SELECT count(*) FROM courses c JOIN instructors i ON i.id = c.instructor_id \
             WHERE published AND level = 'advanced' AND price_cents BETWEEN 1000 AND 5000 AND i.slug = 'ada-lovelace'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(filtered, expected);

    let first = &items[0];
    for course in [CourseRef::Id(first.id), CourseRef::Slug(first.slug.clone())] {
        let rows = run(&client, &sql::course_detail(&course)).await?;
        let detail: CourseDetail = serde_json::from_str(rows[0].get("detail"))?;
        assert_eq!(detail.summary, *first);
        assert!(!detail.outline.is_empty());
    }

    let draft: String = client
        .query_one(
            "SELECT id::text FROM courses WHERE NOT published LIMIT 1",
            &[],
        )
        .await?
        .get(0);
    let ids = [uuid::Uuid::try_parse(&draft)?, first.id];
    let rows = run(&client, &sql::courses_by_ids(&ids)).await?;
    let batch: Vec<CourseSummary> = serde_json::from_str(rows[0].get("items"))?;
    assert_eq!(
        batch.iter().map(|course| course.id).collect::<Vec<_>>(),
        ids
    );
    assert!(!batch[0].published);

    let rows = run(&client, &sql::categories()).await?;
    let categories: Vec<CategorySummary> = serde_json::from_str(rows[0].get("items"))?;
    assert_eq!(categories.len(), 12);
    assert_eq!(
        categories
            .iter()
            .map(|category| category.course_count)
            .sum::<i64>(),
        540
    );

    let unpublished = run(
        &client,
        &sql::set_published(&CourseRef::Id(first.id), false),
    )
    .await?;
    let old_slug: String = unpublished[0].get("old_slug");
    assert_eq!(old_slug, first.slug);
    let (after, _) = page(&client, "").await?;
    assert_eq!(after, 539);
    scratch.drop_now().await
}
