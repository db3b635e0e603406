"""How large a request body may be, and the 413 that refuses a larger one before it is read.

Flask's MAX_CONTENT_LENGTH is set, so Werkzeug refuses a body whose Content-Length is over it
the moment anything first asks for the body (`request.get_data`, `.form`, `.files`,
`.get_json`, `.stream`): the Dash callback check, the CSRF check of a form, a view. A body
sent without a Content-Length (chunked) reaches the app only through a stream that refuses
to read past the limit (gunicorn and Werkzeug's server set `wsgi.input_terminated`), and a hook here
reads it up to the limit before the Dash callback check does (see `_runs_past`). That hook
also refuses a too-long Content-Length where nothing would read the body, before the view
runs.

Every refusal answers 413 as JSON, `{"error": "... at most N MB ..."}`, in the format of the
API's other errors (api/errors.py) and of Dash's (dash_errors.py).
"""

from __future__ import annotations

import io
import math

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from dashapp.api.errors import log_client_error
from dashapp.settings import Settings

# Room for what a request carries besides the ledger file. The Dash import callback's JSON
# around the file (callback ids, file name, portfolio id) is under 2 kB, a multipart upload's
# boundaries and part headers a few hundred bytes; 64 KiB covers both with a file name of any
# length a browser sends, and every other JSON body of the app is smaller (api/validation.py
# caps the API's at 64 KiB).
ENVELOPE_BYTES = 64 * 1024


def max_request_bytes(max_import_bytes: int) -> int:
    """The largest request body the app accepts: a ledger file of `max_import_bytes`, as the
    largest request that carries it.

    The ledger page's dcc.Upload sends the file inside Dash's callback JSON as a base64 data
    URL, 4 bytes for every 3 (the last group padded): 4 * ceil(n / 3), plus the envelope. The
    API's multipart import carries the file as it is, which is smaller.
    """
    return 4 * math.ceil(max_import_bytes / 3) + ENVELOPE_BYTES


def too_large_message(max_bytes: int, max_import_bytes: int) -> str:
    return (
        f"the request body is too large: it may be at most {max_bytes / 1e6:.1f} MB"
        f" (a ledger file at most {max_import_bytes / 1e6:g} MB)"
    )


def install_body_limits(server: Flask, settings: Settings) -> None:
    max_bytes = max_request_bytes(settings.max_import_bytes)
    server.config["MAX_CONTENT_LENGTH"] = max_bytes
    message = too_large_message(max_bytes, settings.max_import_bytes)

    @server.before_request
    def refuse_oversize() -> None:
        if (request.content_length or 0) > max_bytes:
            raise RequestEntityTooLarge(message)
        if (
            request.content_length is None
            and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
            and _runs_past(max_bytes)
        ):
            raise RequestEntityTooLarge(message)

    def too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
        # A refusal raised with a reason of its own (api/validation.py's JSON limit) keeps it.
        reason = (
            message if error.description == RequestEntityTooLarge.description else error.description
        )
        # Nothing reads the refused body after this: a later reader (Server-Timing's label
        # of a Dash callback reads its JSON in an after-request hook) finds it empty, rather
        # than raising the 413 again where Flask would turn it into a 500.
        request.stream = io.BytesIO()
        log_client_error(413, reason)
        return jsonify(error=reason), 413

    # Registered on the app for the code 413: Flask prefers it to a blueprint's handler of
    # every HTTPException, so /api answers the same as Dash and the pages.
    server.register_error_handler(RequestEntityTooLarge, too_large)


def _runs_past(max_bytes: int) -> bool:
    """Whether a chunked body is longer than `max_bytes`, read (at most that much) now.

    Werkzeug's capped stream raises once a read asks past the limit, which is how the form
    parser, reading piece by piece, refuses. But a whole-body read (`get_data`, what Dash's
    callback check and `get_json` do) stops AT the limit without a word, and the callback
    would see a truncated body ("not JSON", a 400). So the body is read here, up to the limit
    and kept for later readers, and one more byte from the server's own stream tells whether
    there was more.
    """
    body = request.get_data(cache=True)
    return len(body) >= max_bytes and bool(request.environ["wsgi.input"].read(1))


__all__ = ["install_body_limits", "max_request_bytes"]
