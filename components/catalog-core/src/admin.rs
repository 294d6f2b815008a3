//! Admin input: course drafts and partial updates, validated field by field.

use platform::ApiError;
use platform::problem::FieldError;
use serde::Deserialize;

use crate::course::{Level, Money};
use crate::slug;

pub const MAX_TITLE_LEN: usize = 200;
pub const MAX_SUBTITLE_LEN: usize = 300;
pub const MAX_DESCRIPTION_LEN: usize = 20_000;
pub const MAX_OUTLINE_ITEMS: usize = 100;
pub const MAX_OUTLINE_ITEM_LEN: usize = 200;
/// Ten thousand dollars: anything above is a typo in cents.
pub const MAX_PRICE_CENTS: i64 = 1_000_000;
/// A thousand hours.
pub const MAX_DURATION_MINUTES: i64 = 60_000;

/// `POST /api/courses` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCourseInput {
    /// Derived from the title when absent.
    pub slug: Option<String>,
    pub title: String,
    #[serde(default)]
    pub subtitle: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub outline: Vec<String>,
    /// Category slug.
    pub category: String,
    /// Instructor slug.
    pub instructor: String,
    pub level: String,
    pub language: String,
    pub price: Money,
    #[serde(deserialize_with = "crate::course::whole_number")]
    pub duration_minutes: i64,
}

/// A validated draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCourse {
    pub slug: String,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    pub outline: Vec<String>,
    pub category: String,
    pub instructor: String,
    pub level: Level,
    pub language: String,
    pub price: Money,
    pub duration_minutes: i64,
}

/// `PATCH /api/courses/{id}` body: only the fields to change.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoursePatchInput {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub outline: Option<Vec<String>>,
    pub category: Option<String>,
    pub instructor: Option<String>,
    pub level: Option<String>,
    pub language: Option<String>,
    pub price: Option<Money>,
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub duration_minutes: Option<i64>,
}

fn optional_whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    crate::course::whole_number(deserializer).map(Some)
}

/// A validated, non-empty patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoursePatch {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub outline: Option<Vec<String>>,
    pub category: Option<String>,
    pub instructor: Option<String>,
    pub level: Option<Level>,
    pub language: Option<String>,
    pub price: Option<Money>,
    pub duration_minutes: Option<i64>,
}

#[derive(Default)]
struct Checks(Vec<FieldError>);

impl Checks {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn text(&mut self, field: &str, value: &str, required: bool, max: usize) -> String {
        let value = value.trim();
        // PostgreSQL's text cannot hold U+0000: refused here, not failed in the database.
        if value.contains('\0') {
            self.fail(field, "must not contain NUL characters");
        } else if required && value.is_empty() {
            self.fail(field, "must not be blank");
        } else if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        }
        value.to_owned()
    }

    fn course_slug(&mut self, value: &str) -> String {
        if !slug::is_available_for_courses(value) {
            self.fail(
                "slug",
                "must be lowercase letters, digits and single dashes (and not \"batch\")",
            );
        }
        value.to_owned()
    }

    fn reference_slug(&mut self, field: &str, value: &str) -> String {
        if !slug::is_valid(value) {
            self.fail(field, "must be the slug of an existing one");
        }
        value.to_owned()
    }

    fn level(&mut self, value: &str) -> Option<Level> {
        let level = Level::parse(value);
        if level.is_none() {
            self.fail("level", "must be one of beginner, intermediate, advanced");
        }
        level
    }

    fn language(&mut self, value: &str) -> String {
        if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_lowercase()) {
            self.fail(
                "language",
                "must be a two-letter ISO 639-1 code such as \"en\"",
            );
        }
        value.to_owned()
    }

    fn price(&mut self, value: Money) -> Money {
        if !(0..=MAX_PRICE_CENTS).contains(&value.amount_cents) {
            self.fail(
                "price.amount_cents",
                format!("must be from 0 to {MAX_PRICE_CENTS}"),
            );
        }
        if value.currency.len() != 3 || !value.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            self.fail(
                "price.currency",
                "must be a three-letter ISO 4217 code such as \"USD\"",
            );
        }
        value
    }

    fn duration(&mut self, value: i64) -> i64 {
        if !(1..=MAX_DURATION_MINUTES).contains(&value) {
            self.fail(
                "duration_minutes",
                format!("must be from 1 to {MAX_DURATION_MINUTES}"),
            );
        }
        value
    }

    fn outline(&mut self, value: Vec<String>) -> Vec<String> {
        if value.len() > MAX_OUTLINE_ITEMS {
            self.fail(
                "outline",
                format!("must have at most {MAX_OUTLINE_ITEMS} sections"),
            );
        }
        value
            .iter()
            .map(|section| self.text("outline", section, true, MAX_OUTLINE_ITEM_LEN))
            .collect()
    }

    fn finish<T>(mut self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            return Ok(value);
        }
        self.0.dedup();
        let detail = self
            .0
            .iter()
            .map(|error| format!("{}: {}", error.field, error.message))
            .collect::<Vec<_>>()
            .join("; ");
        Err(ApiError::BadRequest {
            detail: format!("invalid course: {detail}"),
            errors: self.0,
        })
    }
}

impl NewCourseInput {
    pub fn validate(self) -> Result<NewCourse, ApiError> {
        let mut checks = Checks::default();
        let title = checks.text("title", &self.title, true, MAX_TITLE_LEN);
        let slug = match self.slug.as_deref() {
            Some(given) => checks.course_slug(given),
            None => checks.course_slug(&slug::slugify(&title)),
        };
        let course = NewCourse {
            slug,
            subtitle: checks.text("subtitle", &self.subtitle, false, MAX_SUBTITLE_LEN),
            description: checks.text("description", &self.description, false, MAX_DESCRIPTION_LEN),
            outline: checks.outline(self.outline),
            category: checks.reference_slug("category", &self.category),
            instructor: checks.reference_slug("instructor", &self.instructor),
            level: checks.level(&self.level).unwrap_or(Level::Beginner),
            language: checks.language(&self.language),
            price: checks.price(self.price),
            duration_minutes: checks.duration(self.duration_minutes),
            title,
        };
        checks.finish(course)
    }
}

impl CoursePatchInput {
    pub fn validate(self) -> Result<CoursePatch, ApiError> {
        let mut checks = Checks::default();
        let patch = CoursePatch {
            slug: self.slug.map(|value| checks.course_slug(&value)),
            title: self
                .title
                .map(|value| checks.text("title", &value, true, MAX_TITLE_LEN)),
            subtitle: self
                .subtitle
                .map(|value| checks.text("subtitle", &value, false, MAX_SUBTITLE_LEN)),
            description: self
                .description
                .map(|value| checks.text("description", &value, false, MAX_DESCRIPTION_LEN)),
            outline: self.outline.map(|value| checks.outline(value)),
            category: self
                .category
                .map(|value| checks.reference_slug("category", &value)),
            instructor: self
                .instructor
                .map(|value| checks.reference_slug("instructor", &value)),
            level: self.level.and_then(|value| checks.level(&value)),
            language: self.language.map(|value| checks.language(&value)),
            price: self.price.map(|value| checks.price(value)),
            duration_minutes: self.duration_minutes.map(|value| checks.duration(value)),
        };
        if patch == CoursePatch::default() && checks.0.is_empty() {
            return Err(ApiError::bad_request(
                "the patch changes nothing: give at least one field",
            ));
        }
        checks.finish(patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> serde_json::Value {
        serde_json::json!({
            "title": "  Async Rust in Practice ",
            "category": "programming",
            "instructor": "ada-lovelace",
            "level": "intermediate",
            "language": "en",
            "price": {"amount_cents": 4900, "currency": "USD"},
            "duration_minutes": 420
        })
    }

    fn fields(result: Result<impl std::fmt::Debug, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::BadRequest { errors, .. }) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_draft_gets_a_slug_from_its_title() {
        let input: NewCourseInput = serde_json::from_value(draft()).expect("parses");
        let course = input.validate().expect("valid");
        assert_eq!(course.title, "Async Rust in Practice");
        assert_eq!(course.slug, "async-rust-in-practice");
        assert_eq!(course.level, Level::Intermediate);
        assert!(course.outline.is_empty());
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let mut json = draft();
        json["title"] = " ".into();
        json["slug"] = "batch".into();
        json["level"] = "expert".into();
        json["language"] = "english".into();
        json["price"] = serde_json::json!({"amount_cents": -1, "currency": "usd"});
        json["duration_minutes"] = 0.into();
        json["category"] = "Not a slug".into();
        let input: NewCourseInput = serde_json::from_value(json).expect("parses");
        assert_eq!(
            fields(input.validate()),
            [
                "title",
                "slug",
                "category",
                "level",
                "language",
                "price.amount_cents",
                "price.currency",
                "duration_minutes"
            ]
        );
    }

    #[test]
    fn nul_characters_are_refused_in_every_text() {
        let mut json = draft();
        json["title"] = "Async\u{0}Rust".into();
        json["outline"] = serde_json::json!(["intro", "a\u{0}b"]);
        json["description"] = "x\u{0}".into();
        let input: NewCourseInput = serde_json::from_value(json).expect("parses");
        assert_eq!(
            fields(input.validate()),
            ["title", "description", "outline"]
        );
    }

    #[test]
    fn whole_numbers_written_as_floats_are_integers() {
        let mut json = draft();
        json["duration_minutes"] = serde_json::json!(420.0);
        json["price"]["amount_cents"] = serde_json::json!(4900.0);
        let course = serde_json::from_value::<NewCourseInput>(json)
            .expect("parses")
            .validate()
            .expect("valid");
        assert_eq!(
            (course.duration_minutes, course.price.amount_cents),
            (420, 4900)
        );

        let patch: CoursePatchInput =
            serde_json::from_str(r#"{"duration_minutes": 90.0}"#).expect("parses");
        assert_eq!(patch.duration_minutes, Some(90));
        for fractional in [
            r#"{"duration_minutes": 90.5}"#,
            r#"{"duration_minutes": 1e300}"#,
        ] {
            assert!(
                serde_json::from_str::<CoursePatchInput>(fractional).is_err(),
                "{fractional}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = draft();
        json["published"] = true.into();
        assert!(serde_json::from_value::<NewCourseInput>(json).is_err());
    }

    #[test]
    fn a_patch_must_change_something_valid() {
        let empty = CoursePatchInput::default();
        assert_eq!(empty.validate().expect_err("empty").status(), 400);
        let bad = CoursePatchInput {
            title: Some(String::new()),
            ..CoursePatchInput::default()
        };
        assert_eq!(fields(bad.validate()), ["title"]);
        let good = CoursePatchInput {
            price: Some(Money {
                amount_cents: 1999,
                currency: "EUR".into(),
            }),
            ..CoursePatchInput::default()
        };
        assert_eq!(
            good.validate()
                .expect("valid")
                .price
                .map(|p| p.amount_cents),
            Some(1999)
        );
    }
}
