//! A deterministic demo catalog: the same fixed RNG seed always yields the same rows and
//! ids, so seeding twice inserts nothing the second time (`ON CONFLICT DO NOTHING`).

use anyhow::{Context, Result};
use catalog_core::slug::slugify;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use tokio_postgres::Client;
use uuid::Uuid;

const RNG_SEED: u64 = 20_260_101;
/// Seeded courses were created within the two years before 2026-01-01.
const EPOCH_2024: i64 = 1_704_067_200;
const TWO_YEARS_SECS: i64 = 2 * 365 * 24 * 3600;

/// How many courses to generate.
#[derive(Debug, Clone, Copy)]
pub struct CatalogSize {
    pub published: usize,
    pub drafts: usize,
}

impl CatalogSize {
    /// The catalog `db seed` loads: over 500 published courses plus some drafts.
    pub const DEMO: CatalogSize = CatalogSize {
        published: 540,
        drafts: 24,
    };
}

/// Rows inserted by one run (zero when everything was already there).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub categories: u64,
    pub instructors: u64,
    pub courses: u64,
}

/// `(slug, name, topics)`.
const CATEGORIES: &[(&str, &str, &[&str])] = &[
    (
        "programming",
        "Programming",
        &[
            "Rust",
            "Python",
            "Go",
            "TypeScript",
            "Java",
            "C++",
            "Kotlin",
            "Haskell",
            "SQL",
        ],
    ),
    (
        "web-development",
        "Web Development",
        &[
            "React",
            "Vue",
            "CSS Grid",
            "Accessible HTML",
            "Next.js",
            "Svelte",
            "Web Performance",
            "GraphQL",
        ],
    ),
    (
        "data-science",
        "Data Science",
        &[
            "Pandas",
            "Statistics",
            "Data Visualization",
            "Excel",
            "R",
            "A/B Testing",
            "Time Series",
        ],
    ),
    (
        "machine-learning",
        "Machine Learning",
        &[
            "Deep Learning",
            "PyTorch",
            "Computer Vision",
            "Natural Language Processing",
            "Reinforcement Learning",
            "MLOps",
        ],
    ),
    (
        "devops",
        "DevOps & Cloud",
        &[
            "Kubernetes",
            "Docker",
            "Terraform",
            "AWS",
            "Linux",
            "Observability",
            "CI/CD",
        ],
    ),
    (
        "design",
        "Design",
        &[
            "Figma",
            "Typography",
            "UX Research",
            "Color Theory",
            "Illustration",
            "Logo Design",
        ],
    ),
    (
        "business",
        "Business",
        &[
            "Project Management",
            "Negotiation",
            "Accounting",
            "Startup Finance",
            "Leadership",
            "Product Management",
        ],
    ),
    (
        "marketing",
        "Marketing",
        &[
            "SEO",
            "Copywriting",
            "Email Marketing",
            "Social Media",
            "Content Strategy",
            "Web Analytics",
        ],
    ),
    (
        "photography",
        "Photography",
        &[
            "Portrait Photography",
            "Lightroom",
            "Street Photography",
            "Studio Lighting",
            "Smartphone Photography",
        ],
    ),
    (
        "music",
        "Music",
        &[
            "Guitar",
            "Piano",
            "Music Theory",
            "Mixing",
            "Songwriting",
            "Ableton Live",
        ],
    ),
    (
        "personal-development",
        "Personal Development",
        &[
            "Public Speaking",
            "Productivity",
            "Mindfulness",
            "Writing",
            "Memory Techniques",
        ],
    ),
    (
        "languages",
        "Languages",
        &[
            "Spanish", "Japanese", "German", "French", "Mandarin", "Italian",
        ],
    ),
];

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Radia",
    "Edsger",
    "Frances",
    "Donald",
    "Sophie",
    "Tim",
    "Katherine",
    "John",
    "Hedy",
    "Niklaus",
    "Shafi",
    "Guido",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Perlman",
    "Dijkstra",
    "Allen",
    "Knuth",
    "Wilson",
    "Berners",
    "Johnson",
    "McCarthy",
    "Lamarr",
    "Wirth",
    "Goldwasser",
    "Rossum",
];
const INSTRUCTORS: usize = 40;

const BEGINNER_TITLES: &[&str] = &[
    "{} for Beginners",
    "Introduction to {}",
    "{} from Scratch",
    "{} Fundamentals",
    "Getting Started with {}",
];
const INTERMEDIATE_TITLES: &[&str] = &[
    "Practical {}",
    "{} in Practice",
    "{}: Beyond the Basics",
    "Hands-On {}",
    "{} Projects Workshop",
];
const ADVANCED_TITLES: &[&str] = &[
    "Advanced {}",
    "Mastering {}",
    "{} Deep Dive",
    "{} for Experts",
    "{} Masterclass",
];
const SUBTITLES: &[&str] = &[
    "Learn {} step by step with real projects",
    "Everything you need to be productive with {}",
    "A hands-on path through {}, one exercise at a time",
    "Build confidence in {} with guided practice",
    "The {} course that respects your time",
];
const SECTIONS: &[&str] = &[
    "Welcome and setup",
    "Core concepts",
    "Your first project",
    "Common pitfalls",
    "Working with real data",
    "Testing and feedback",
    "Performance",
    "Best practices",
    "Case study",
    "Going further",
    "Final project",
    "Review and next steps",
];
const LANGUAGES: &[(&str, u32)] = &[
    ("en", 70),
    ("es", 10),
    ("de", 6),
    ("fr", 6),
    ("pt", 5),
    ("ja", 3),
];
const PRICES_CENTS: &[i64] = &[
    0, 999, 1499, 1999, 2499, 2999, 3999, 4999, 5999, 7999, 9999, 12999, 19999,
];

struct Generator {
    rng: Xoshiro256PlusPlus,
}

impl Generator {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    /// A UUIDv7 whose time and random bits come from the seeded RNG.
    fn uuid(&mut self, unix_secs: i64) -> Uuid {
        let millis =
            u64::try_from(unix_secs).unwrap_or_default() * 1000 + self.rng.random_range(0..1000);
        let random: [u8; 10] = self.rng.random();
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    fn language(&mut self) -> &'static str {
        let total: u32 = LANGUAGES.iter().map(|(_, weight)| weight).sum();
        let mut roll = self.rng.random_range(0..total);
        for (code, weight) in LANGUAGES {
            if roll < *weight {
                return code;
            }
            roll -= weight;
        }
        "en"
    }
}

struct Course {
    id: Uuid,
    slug: String,
    title: String,
    subtitle: String,
    description: String,
    outline: Vec<String>,
    category: &'static str,
    instructor: String,
    level: &'static str,
    language: &'static str,
    price_cents: i64,
    duration_minutes: i64,
    published: bool,
    created_at: i64,
    updated_at: i64,
}

fn generate_courses(
    generator: &mut Generator,
    instructors: &[(Uuid, String, String)],
    size: CatalogSize,
) -> Vec<Course> {
    let mut used_slugs = std::collections::HashSet::new();
    let mut courses = Vec::with_capacity(size.published + size.drafts);
    for index in 0..size.published + size.drafts {
        let (category, _, topics) = *generator.pick(CATEGORIES);
        let topic = *generator.pick(topics);
        let (level, patterns) = *generator.pick(&[
            ("beginner", BEGINNER_TITLES),
            ("intermediate", INTERMEDIATE_TITLES),
            ("advanced", ADVANCED_TITLES),
        ]);
        let title = generator.pick(patterns).replace("{}", topic);
        let base_slug = slugify(&title);
        let mut slug = base_slug.clone();
        let mut suffix = 2;
        while !used_slugs.insert(slug.clone()) {
            slug = format!("{base_slug}-{suffix}");
            suffix += 1;
        }
        let subtitle = generator.pick(SUBTITLES).replace("{}", topic);
        let article = if level == "beginner" { "a" } else { "an" };
        let description = format!(
            "{title} is {article} {level} course on {topic}. {subtitle}. You will work through short lessons, \
             quizzes and a final project, and finish able to apply {topic} in your own work."
        );
        let sections = generator.rng.random_range(4..=10);
        let start = generator.rng.random_range(0..SECTIONS.len());
        let outline = (0..sections)
            .map(|n| SECTIONS[(start + n) % SECTIONS.len()].to_owned())
            .collect();
        let created_at = EPOCH_2024 + generator.rng.random_range(0..TWO_YEARS_SECS);
        let updated_at = created_at + generator.rng.random_range(0..30 * 24 * 3600);
        courses.push(Course {
            id: generator.uuid(created_at),
            slug,
            title,
            subtitle,
            description,
            outline,
            category,
            instructor: generator.pick(instructors).1.clone(),
            level,
            language: generator.language(),
            price_cents: *generator.pick(PRICES_CENTS),
            duration_minutes: generator.rng.random_range(2..=200) * 15,
            published: index < size.published,
            created_at,
            updated_at,
        });
    }
    courses
}

/// Inserts categories, instructors and `size` courses, all in one transaction.
pub async fn catalog(client: &Client, size: CatalogSize) -> Result<SeedReport> {
    let mut generator = Generator {
        rng: Xoshiro256PlusPlus::seed_from_u64(RNG_SEED),
    };
    let categories: Vec<(Uuid, &str, &str)> = CATEGORIES
        .iter()
        .map(|(slug, name, _)| (generator.uuid(EPOCH_2024), *slug, *name))
        .collect();
    let mut instructors: Vec<(Uuid, String, String)> = Vec::with_capacity(INSTRUCTORS);
    while instructors.len() < INSTRUCTORS {
        let name = format!(
            "{} {}",
            generator.pick(FIRST_NAMES),
            generator.pick(LAST_NAMES)
        );
        let slug = slugify(&name);
        if instructors.iter().all(|(_, existing, _)| *existing != slug) {
            instructors.push((generator.uuid(EPOCH_2024), slug, name));
        }
    }
    let courses = generate_courses(&mut generator, &instructors, size);

    client.batch_execute("BEGIN").await?;
    let result = insert_all(client, &categories, &instructors, &courses).await;
    match result {
        Ok(report) => {
            client.batch_execute("COMMIT").await?;
            Ok(report)
        }
        Err(error) => {
            client.batch_execute("ROLLBACK").await?;
            Err(error)
        }
    }
}

async fn insert_all(
    client: &Client,
    categories: &[(Uuid, &str, &str)],
    instructors: &[(Uuid, String, String)],
    courses: &[Course],
) -> Result<SeedReport> {
    let mut report = SeedReport::default();
    let insert_category = client
        .prepare("INSERT INTO categories (id, slug, name) VALUES ($1::text::uuid, $2, $3) ON CONFLICT DO NOTHING")
        .await?;
    for (id, slug, name) in categories {
        report.categories += client
            .execute(&insert_category, &[&id.to_string(), slug, name])
            .await?;
    }
    let insert_instructor = client
        .prepare(
            "INSERT INTO instructors (id, slug, name, bio) VALUES ($1::text::uuid, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .await?;
    for (id, slug, name) in instructors {
        let bio = format!("{name} has taught thousands of students online.");
        report.instructors += client
            .execute(&insert_instructor, &[&id.to_string(), slug, name, &bio])
            .await?;
    }
    let insert_course = client
        .prepare(
            "INSERT INTO courses (id, slug, title, subtitle, description, outline, category_id, \
             instructor_id, level, language, price_cents, currency, duration_minutes, published, \
             published_at, created_at, updated_at) \
             VALUES ($1::text::uuid, $2, $3, $4, $5, $6::text::jsonb, \
                     (SELECT id FROM categories WHERE slug = $7), \
                     (SELECT id FROM instructors WHERE slug = $8), \
                     $9, $10, $11::int8, 'USD', $12::int8, $13, \
                     CASE WHEN $13 THEN to_timestamp($14::int8) AT TIME ZONE 'utc' END, \
                     to_timestamp($14::int8) AT TIME ZONE 'utc', \
                     to_timestamp($15::int8) AT TIME ZONE 'utc') \
             ON CONFLICT DO NOTHING",
        )
        .await?;
    for course in courses {
        let outline = serde_json::Value::from(course.outline.clone()).to_string();
        report.courses += client
            .execute(
                &insert_course,
                &[
                    &course.id.to_string(),
                    &course.slug,
                    &course.title,
                    &course.subtitle,
                    &course.description,
                    &outline,
                    &course.category,
                    &course.instructor,
                    &course.level,
                    &course.language,
                    &course.price_cents,
                    &course.duration_minutes,
                    &course.published,
                    &course.created_at,
                    &course.updated_at,
                ],
            )
            .await
            .with_context(|| format!("inserting course {}", course.slug))?;
    }
    Ok(report)
}
