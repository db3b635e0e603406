"""Reading a request through its model: the JSON body, the query string and path ids.

Each reader raises BadRequest naming the field at fault (the views' 400), or a 413 for a body
over MAX_JSON_BYTES. The body is parsed here rather than by Flask's `get_json`, because a body
nested thousands deep raises RecursionError there (a 500), and Python's JSON also reads NaN and
Infinity, which are not JSON.
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from dashapp.api.errors import BadRequest
from dashapp.services.input_errors import MAX_ID, first_invalid_input

Model = TypeVar("Model", bound=BaseModel)

# Every JSON body of this API is one small object; a backtest request is the largest (< 1 kB).
MAX_JSON_BYTES = 64 * 1024
ASCII_ID = re.compile(r"[0-9]{1,10}")
NOT_AN_OBJECT = "send a JSON object (Content-Type: application/json)"


def json_body(model: type[Model]) -> Model:
    """The request's JSON object validated by `model`."""
    return validated(model, json_object())


def json_object() -> dict[str, object]:
    if not request.is_json:
        raise BadRequest("body", NOT_AN_OBJECT)
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge(f"a JSON body is at most {MAX_JSON_BYTES:,} bytes")
    raw = request.stream.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge(f"a JSON body is at most {MAX_JSON_BYTES:,} bytes")
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise BadRequest("body", "the JSON is nested too deeply") from None
    except ValueError:  # malformed JSON, bad UTF-8, an integer of more than 4,300 digits
        raise BadRequest("body", NOT_AN_OBJECT) from None
    if not isinstance(body, dict):
        raise BadRequest("body", NOT_AN_OBJECT)
    return body


def query(model: type[Model]) -> Model:
    """The query string validated by `model` (the first value of a repeated parameter)."""
    return validated(model, request.args.to_dict())


def validated(model: type[Model], values: object) -> Model:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        invalid = first_invalid_input(error, model)
        raise BadRequest(invalid.field, invalid.reason) from None


def path_id(raw: str, field: str = "id") -> int:
    """An id from the path: ASCII digits, 1 to MAX_ID (what the databases' INTEGER keys hold).
    A bigger id cannot exist, but PostgreSQL would refuse to even compare it."""
    if not ASCII_ID.fullmatch(raw) or not 1 <= int(raw) <= MAX_ID:
        raise BadRequest(field, f"{field} must be a whole number from 1 to {MAX_ID} (ASCII digits)")
    return int(raw)


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")
