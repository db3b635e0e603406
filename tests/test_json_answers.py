"""The routes' JSON is written by orjson and reads back as the same document Flask's own
provider would have written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from decimal import Decimal

from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider

from dashapp.json_answers import OrjsonProvider


@dataclasses.dataclass
class Lot:
    ticker: str
    opened: dt.date


DOCUMENT = {
    "zeta": 1,
    "alpha": [0.1, 1e-07, 123456789.123456789, -0.0, None, True],
    "when": dt.date(2024, 12, 2),
    "amount": Decimal("10.50"),
    "lot": Lot("ÄPFEL", dt.date(2024, 1, 5)),
}


def answer_of(provider_class: type[DefaultJSONProvider], document: object) -> bytes:
    server = Flask("json-answers")
    server.json = provider_class(server)
    with server.app_context():
        return jsonify(document).get_data()


def test_the_same_document_as_flasks_own_provider_with_keys_sorted():
    fast, reference = answer_of(OrjsonProvider, DOCUMENT), answer_of(DefaultJSONProvider, DOCUMENT)
    assert json.loads(fast) == json.loads(reference)
    assert json.loads(fast)["when"] == "Mon, 02 Dec 2024 00:00:00 GMT"
    assert fast.index(b'"alpha"') < fast.index(b'"amount"') < fast.index(b'"zeta"')
    assert fast.endswith(b"\n")


def test_a_float_that_is_not_a_number_is_null_not_an_invalid_token():
    fast = answer_of(OrjsonProvider, {"beta": math.nan, "ratio": math.inf})
    assert json.loads(fast) == {"beta": None, "ratio": None}
    assert b"NaN" not in fast and b"Infinity" not in fast


def test_an_integer_past_64_bits_is_still_written():
    huge = 10**30
    assert json.loads(answer_of(OrjsonProvider, {"n": huge})) == {"n": huge}
