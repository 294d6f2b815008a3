"""Schemathesis hooks of the contract test: the rules a JSON Schema cannot state.

openapi.json documents each of these rules in a description, and the API answers 400 when a
request breaks one. A schema-valid request that breaks one is therefore not a valid request,
so it is not generated as one:

- cross-field rules (a price range, a password that repeats the email, a draft without a
  slug whose title gives none) drop the case;
- references to data (a course's category and instructor must exist) are pointed at rows
  of the test database, named by run.sh in CONTRACT_CATEGORY, CONTRACT_INSTRUCTOR and
  CONTRACT_COURSE_ID, so admin writes reach the database and their answers get checked.
"""

import os

import schemathesis

EXISTING_CATEGORY = os.environ.get("CONTRACT_CATEGORY")
EXISTING_INSTRUCTOR = os.environ.get("CONTRACT_INSTRUCTOR")
EXISTING_COURSE_ID = os.environ.get("CONTRACT_COURSE_ID")
COURSE_WRITES = {
    "POST /api/courses",
    "PATCH /api/courses/{id}",
    "POST /api/courses/{id}/publish",
    "POST /api/courses/{id}/unpublish",
}


def _inverted_price_range(query) -> bool:
    """`max_price` below `min_price` (GET /api/courses): a 400 naming `max_price`."""
    try:
        return int(query["min_price"]) > int(query["max_price"])
    except (KeyError, TypeError, ValueError):
        return False


def _password_repeats_email(body) -> bool:
    """A password equal to the email or its local part (POST /api/accounts): a 400."""
    if not isinstance(body, dict):
        return False
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        return False
    email = email.strip().lower()
    candidate = password.strip().lower()
    return candidate in (email, email.split("@", 1)[0])


# Both hooks act on negative cases too: while a case is generated its mode is not known yet,
# and the negative data is not what this test judges (negative_data_rejection is off).
def _no_slug_to_derive(body) -> bool:
    """A draft without `slug` whose title has no ASCII letter or digit to derive one from."""
    if not isinstance(body, dict) or "slug" in body or not isinstance(body.get("title"), str):
        return False
    return not any(c.isascii() and c.isalnum() for c in body["title"].lower())


@schemathesis.hook
def filter_case(ctx, case) -> bool:
    operation = f"{case.method.upper()} {case.path}"
    if operation == "GET /api/courses" and case.query:
        return not _inverted_price_range(case.query)
    if operation == "POST /api/accounts":
        return not _password_repeats_email(case.body)
    if operation == "POST /api/courses":
        return not _no_slug_to_derive(case.body)
    return True


@schemathesis.hook
def map_case(ctx, case):
    """Valid course writes name a category, an instructor and a course that exist."""
    if f"{case.method.upper()} {case.path}" not in COURSE_WRITES:
        return case
    if isinstance(case.body, dict):
        if "category" in case.body and EXISTING_CATEGORY:
            case.body["category"] = EXISTING_CATEGORY
        if "instructor" in case.body and EXISTING_INSTRUCTOR:
            case.body["instructor"] = EXISTING_INSTRUCTOR
    if case.path_parameters and "id" in case.path_parameters and EXISTING_COURSE_ID:
        case.path_parameters["id"] = EXISTING_COURSE_ID
    return case
