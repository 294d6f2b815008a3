"""Schemathesis hooks of the contract test: the cross-field rules a JSON Schema cannot state.

openapi.json documents each of these rules in a description, and the API answers 400 when a
request breaks one. A schema-valid request that breaks one is therefore not a valid request,
so it is not generated as one.
"""

import schemathesis


def _is_positive(case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


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


@schemathesis.hook
def filter_case(ctx, case) -> bool:
    if not _is_positive(case):
        return True
    operation = f"{case.method.upper()} {case.path}"
    if operation == "GET /api/courses" and case.query:
        return not _inverted_price_range(case.query)
    if operation == "POST /api/accounts":
        return not _password_repeats_email(case.body)
    return True
