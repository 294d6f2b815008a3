//! The catalog's public JSON types (see `openapi.json`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An amount of money in the currency's minor unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    #[serde(deserialize_with = "whole_number")]
    pub amount_cents: i64,
    pub currency: String,
}

/// Reads a JSON integer as JSON Schema defines one: any number without a fractional part, so
/// `4900.0` (what some JSON encoders write for a whole float) is `4900`, as `openapi.json`'s
/// `"type": "integer"` promises. Anything with a fraction, or outside `i64`, is refused.
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<i64, D::Error> {
    struct WholeNumber;

    impl serde::de::Visitor<'_> for WholeNumber {
        type Value = i64;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a whole number")
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<i64, E> {
            Ok(value)
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<i64, E> {
            i64::try_from(value).map_err(|_| E::custom("a whole number too large"))
        }

        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<i64, E> {
            // i64::MAX is not exactly representable; 2^63 as f64 is the first value out of range.
            const LIMIT: f64 = 9_223_372_036_854_775_808.0;
            if value.fract() == 0.0 && (-LIMIT..LIMIT).contains(&value) {
                // Whole and in range, so the conversion is exact.
                #[allow(clippy::cast_possible_truncation)]
                Ok(value as i64)
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(value), &self))
            }
        }
    }

    deserializer.deserialize_any(WholeNumber)
}

/// A category or instructor as shown on a course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Beginner, Level::Intermediate, Level::Advanced];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Beginner => "beginner",
            Level::Intermediate => "intermediate",
            Level::Advanced => "advanced",
        }
    }

    pub fn parse(value: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.as_str() == value)
    }
}

/// A course in listings, carts and batch lookups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseSummary {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub subtitle: String,
    pub category: NamedRef,
    pub level: Level,
    pub instructor: NamedRef,
    pub language: String,
    pub price: Money,
    pub duration_minutes: i32,
    pub published: bool,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

/// A course page: the summary plus the long description and outline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseDetail {
    #[serde(flatten)]
    pub summary: CourseSummary,
    pub description: String,
    pub outline: Vec<String>,
}

/// One page of `GET /api/courses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoursePage {
    pub items: Vec<CourseSummary>,
    pub page: u32,
    pub page_size: u32,
    pub total: i64,
}

/// A category with the number of published courses in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategorySummary {
    pub slug: String,
    pub name: String,
    pub course_count: i64,
}

/// `{ "items": [...] }`, the shape of every unpaginated collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_is_a_flat_summary_plus_fields() {
        let json = serde_json::json!({
            "id": "01932c07-2a5e-7c4e-8a3b-6f1d2e3c4b5a",
            "slug": "intro-to-rust",
            "title": "Intro to Rust",
            "subtitle": "Ownership without tears",
            "category": {"slug": "programming", "name": "Programming"},
            "level": "beginner",
            "instructor": {"slug": "ada", "name": "Ada L."},
            "language": "en",
            "price": {"amount_cents": 4900, "currency": "USD"},
            "duration_minutes": 300,
            "published": true,
            "updated_at": "2026-01-02T03:04:05.678Z",
            "description": "Long text",
            "outline": ["Ownership", "Borrowing"]
        });
        let detail: CourseDetail = serde_json::from_value(json.clone()).expect("parses");
        assert_eq!(detail.summary.level, Level::Beginner);
        assert_eq!(serde_json::to_value(&detail).expect("serialises"), json);
    }

    #[test]
    fn levels_round_trip_through_their_names() {
        for level in Level::ALL {
            assert_eq!(Level::parse(level.as_str()), Some(level));
        }
        assert_eq!(Level::parse("expert"), None);
    }
}
