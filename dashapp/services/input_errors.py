"""Pydantic validation errors as the one InvalidInput every caller already knows how to show.

Request models (the JSON API's and the backtest form's) declare types and limits; this module
turns the first error pydantic found into `InvalidInput(field, reason)` with a sentence a person
can act on, so every route answers in the same words ("must be a number", "at most 120
characters") instead of pydantic's own. Validators that need their own wording raise
`PydanticCustomError`, whose message is used as it is.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from dashapp.services.portfolios import InvalidInput

# Largest id a client may send: the databases' INTEGER primary keys stop at 2**31 - 1, and a
# larger one would reach PostgreSQL as an out-of-range error instead of a clear 400.
MAX_ID = 2**31 - 1
# Error types whose wording does not depend on the error's context.
PLAIN_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number (ASCII digits)",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number (ASCII digits)",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "date_type": "must be a date like 2024-01-31",
    "date_parsing": "must be a date like 2024-01-31",
    "date_from_datetime_parsing": "must be a date like 2024-01-31",
    "string_unicode": "must be text",
}
# Longest field name echoed back: an unknown key may be anything a client sent.
MAX_FIELD_LENGTH = 40


def first_invalid_input(
    error: ValidationError, model: type[BaseModel] | None = None, default_field: str = "body"
) -> InvalidInput:
    """The first error of `error` as InvalidInput: the top-level field it is about (or
    `default_field` for the body as a whole) and a short reason. With the `model` that raised
    it, a number out of a closed range names both ends ("must be between 0 and 10,000")."""
    first = error.errors(include_url=False)[0]
    location = first.get("loc") or ()
    field = str(location[0])[:MAX_FIELD_LENGTH] if location else default_field
    field_info = model.model_fields.get(field) if model is not None else None
    return InvalidInput(field, reason_of(first, _range_of(field_info)))


def reason_of(detail: Any, closed_range: tuple[float, float] | None = None) -> str:
    kind = detail.get("type", "")
    context = detail.get("ctx") or {}
    if kind in PLAIN_MESSAGES:
        return PLAIN_MESSAGES[kind]
    if kind == "greater_than":
        return f"must be more than {context['gt']:,.10g}"
    if kind in ("greater_than_equal", "less_than_equal") and closed_range is not None:
        return f"must be between {closed_range[0]:,.10g} and {closed_range[1]:,.10g}"
    if kind == "greater_than_equal":
        return f"must be at least {context['ge']:,.10g}"
    if kind == "less_than_equal":
        return f"must be at most {context['le']:,.10g}"
    if kind == "less_than":
        return f"must be less than {context['lt']:,.10g}"
    if kind == "string_too_long":
        return f"at most {context.get('max_length'):,} characters"
    if kind == "string_too_short":
        return "required" if context.get("min_length") == 1 else "too short"
    if kind == "too_long":
        return f"at most {context.get('max_length'):,} items"
    if kind == "too_short":
        return f"at least {context.get('min_length'):,} items"
    if kind in ("literal_error", "enum"):
        return f"must be one of {context.get('expected', '')}".replace("'", "")
    if kind == "string_pattern_mismatch":
        return "is not in the expected form"
    # A PydanticCustomError from one of our validators: its message is already the sentence.
    return str(detail.get("msg", "is not valid"))


def _range_of(field_info: FieldInfo | None) -> tuple[float, float] | None:
    """The field's lower and upper bound when it has both (ge/gt and le), else None."""
    if field_info is None:
        return None
    low = high = None
    for item in _constraints(field_info.metadata, field_info.annotation):
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            low = item.ge if isinstance(item, annotated_types.Ge) else item.gt
        elif isinstance(item, annotated_types.Le):
            high = item.le
    return None if low is None or high is None else (low, high)


def _constraints(metadata: list[Any], annotation: Any) -> list[Any]:
    """Constraint objects on a field and inside the Annotated parts of its type (an optional
    field's bounds sit in `Annotated[int, Field(ge=...)] | None`)."""
    found = []
    for item in metadata:
        found += item.metadata if isinstance(item, FieldInfo) else [item]
    if get_origin(annotation) is Annotated:
        found += _constraints(list(annotation.__metadata__), get_args(annotation)[0])
    else:
        for argument in get_args(annotation):
            found += _constraints([], argument)
    return found
