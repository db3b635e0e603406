"""JSON answers of the Flask routes, encoded with orjson.

A comparison over five years is a third of a megabyte of JSON: Python's `json` takes about 10 ms
of CPU to write it, orjson well under one (docs/scaling.md). The answer is the same JSON
document as Flask's default provider writes: keys sorted, dates as HTTP dates, Decimal and UUID
as strings, dataclasses as objects. Two things differ on the wire and neither changes a value:
non-ASCII text is UTF-8 instead of `\\u` escapes, and a float that is not a number is `null`
(valid JSON) instead of the bare `NaN` token that strict parsers refuse. Reading request bodies
stays with Python's `json`, whose errors the API already turns into 400s.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_APPEND_NEWLINE
)


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider with orjson writing the responses."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self._app.debug or self.compact is False:
            return super().response(*args, **kwargs)  # indented for reading
        document = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(document, default=self.default, option=OPTIONS)
        except orjson.JSONEncodeError:
            # What orjson refuses (an integer past 64 bits) Python's json still writes.
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)
