//! Slugs: the human-readable ids in catalog URLs (`intro-to-rust`).

/// Longest slug accepted, to keep URLs and cache keys short.
pub const MAX_SLUG_LEN: usize = 100;

/// Path segments under `/api/courses/` that are routes, so no course may use them as slugs.
const RESERVED: &[&str] = &["batch"];

/// Lowercase ASCII letters and digits in dash-separated words, as the schema's CHECK requires.
pub fn is_valid(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG_LEN
        && slug.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Whether a new course may take this slug (valid and not a route name).
pub fn is_available_for_courses(slug: &str) -> bool {
    is_valid(slug) && !RESERVED.contains(&slug)
}

/// Derives a slug from a title: `"Rust: Async & Await!"` becomes `rust-async-await`.
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    for character in title.chars().flat_map(char::to_lowercase) {
        if character.is_ascii_alphanumeric() {
            slug.push(character);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let trimmed = slug.trim_end_matches('-');
    let mut cut = trimmed[..trimmed.len().min(MAX_SLUG_LEN)].to_owned();
    while cut.ends_with('-') {
        cut.pop();
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dash_separated_lowercase_words() {
        assert!(is_valid("intro-to-rust-2"));
        for bad in [
            "",
            "Intro",
            "a--b",
            "-a",
            "a-",
            "a_b",
            "ä",
            &"a".repeat(101),
        ] {
            assert!(!is_valid(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn route_names_are_not_course_slugs() {
        assert!(is_valid("batch"));
        assert!(!is_available_for_courses("batch"));
    }

    #[test]
    fn slugify_makes_valid_slugs() {
        assert_eq!(slugify("Rust: Async & Await!"), "rust-async-await");
        assert_eq!(slugify("  Déjà vu 101 "), "d-j-vu-101");
        assert!(is_valid(&slugify(&"word ".repeat(60))));
        assert_eq!(slugify("!!!"), "");
    }
}
