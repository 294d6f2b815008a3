//! A small fixed catalog whose order, ranking and counts the tests can state exactly.

use anyhow::Result;
use tokio_postgres::Client;

/// `(slug, name)`; `music` has no published course.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("programming", "Programming"),
    ("design", "Design"),
    ("music", "Music"),
];
pub const INSTRUCTORS: &[(&str, &str)] = &[
    ("ada-lovelace", "Ada Lovelace"),
    ("grace-hopper", "Grace Hopper"),
];

pub struct FixtureCourse {
    pub id: &'static str,
    pub slug: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub instructor: &'static str,
    pub level: &'static str,
    pub language: &'static str,
    pub price_cents: i64,
    pub published: bool,
    /// Month of 2025 it was created in.
    pub month: i64,
}

/// Ids are UUIDv7-shaped and ascending in list order, so id tiebreaks are predictable.
pub const COURSES: &[FixtureCourse] = &[
    FixtureCourse {
        id: "01940000-0000-7000-8000-000000000001",
        slug: "rust-ownership",
        title: "Rust Ownership Explained",
        description: "Move semantics, borrowing and lifetimes, with exercises.",
        category: "programming",
        instructor: "ada-lovelace",
        level: "beginner",
        language: "en",
        price_cents: 1999,
        published: true,
        month: 1,
    },
    FixtureCourse {
        id: "01940000-0000-7000-8000-000000000002",
        slug: "async-rust",
        title: "Async Rust in Practice",
        description: "Futures, executors and cancellation in real services.",
        category: "programming",
        instructor: "ada-lovelace",
        level: "advanced",
        language: "en",
        price_cents: 4999,
        published: true,
        month: 2,
    },
    FixtureCourse {
        id: "01940000-0000-7000-8000-000000000003",
        slug: "python-data",
        title: "Python for Data Work",
        description: "Pandas and notebooks; a closing chapter compares it with Rust.",
        category: "programming",
        instructor: "grace-hopper",
        level: "beginner",
        language: "es",
        price_cents: 2999,
        published: true,
        month: 3,
    },
    FixtureCourse {
        id: "01940000-0000-7000-8000-000000000004",
        slug: "figma-basics",
        title: "Figma Basics",
        description: "Frames, components and auto layout.",
        category: "design",
        instructor: "grace-hopper",
        level: "beginner",
        language: "en",
        price_cents: 0,
        published: true,
        month: 4,
    },
    FixtureCourse {
        id: "01940000-0000-7000-8000-000000000005",
        slug: "typography",
        title: "Typography That Works",
        description: "Type scales, pairing and rhythm.",
        category: "design",
        instructor: "grace-hopper",
        level: "intermediate",
        language: "en",
        price_cents: 2999,
        published: true,
        month: 5,
    },
    FixtureCourse {
        id: "01940000-0000-7000-8000-000000000006",
        slug: "secret-rust-draft",
        title: "Secret Rust Draft",
        description: "Not ready yet.",
        category: "programming",
        instructor: "ada-lovelace",
        level: "intermediate",
        language: "en",
        price_cents: 999,
        published: false,
        month: 6,
    },
];

/// Slugs of the published fixture courses, newest first (the default order).
pub const NEWEST_FIRST: &[&str] = &[
    "typography",
    "figma-basics",
    "python-data",
    "async-rust",
    "rust-ownership",
];

pub fn course(slug: &str) -> &'static FixtureCourse {
    COURSES
        .iter()
        .find(|course| course.slug == slug)
        .unwrap_or_else(|| panic!("no fixture course {slug}"))
}

/// The id of the fixture course `slug`.
pub fn course_id(slug: &str) -> &'static str {
    course(slug).id
}

/// Inserts the fixture catalog into a migrated database.
pub async fn catalog(client: &Client) -> Result<()> {
    for (index, (slug, name)) in CATEGORIES.iter().enumerate() {
        client
            .execute(
                "INSERT INTO categories (id, slug, name) VALUES ($1::text::uuid, $2, $3)",
                &[
                    &format!("01930000-0000-7000-8000-00000000010{index}"),
                    slug,
                    name,
                ],
            )
            .await?;
    }
    for (index, (slug, name)) in INSTRUCTORS.iter().enumerate() {
        client
            .execute(
                "INSERT INTO instructors (id, slug, name) VALUES ($1::text::uuid, $2, $3)",
                &[
                    &format!("01930000-0000-7000-8000-00000000020{index}"),
                    slug,
                    name,
                ],
            )
            .await?;
    }
    for course in COURSES {
        let created = format!("2025-{:02}-01 12:00:00", course.month);
        client
            .execute(
                "INSERT INTO courses (id, slug, title, subtitle, description, outline, category_id, \
                 instructor_id, level, language, price_cents, currency, duration_minutes, published, \
                 created_at, updated_at) \
                 VALUES ($1::text::uuid, $2, $3, 'A fixture course', $4, '[\"Intro\", \"Practice\"]', \
                 (SELECT id FROM categories WHERE slug = $5), (SELECT id FROM instructors WHERE slug = $6), \
                 $7, $8, $9::int8, 'USD', 90, $10, $11::text::timestamp, $11::text::timestamp)",
                &[
                    &course.id,
                    &course.slug,
                    &course.title,
                    &course.description,
                    &course.category,
                    &course.instructor,
                    &course.level,
                    &course.language,
                    &course.price_cents,
                    &course.published,
                    &created,
                ],
            )
            .await?;
    }
    Ok(())
}
