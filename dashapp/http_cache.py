"""Conditional GETs and cached answers for the JSON API, as app-level hooks around its views.

Every successful API GET carries an `ETag`, and a request whose `If-None-Match` names it gets
`304 Not Modified` with no body. The read-model answers (a portfolio's holdings and
performance) are kept in Flask-Caching under a key made of what they depend on: the portfolio's
version, the version of every stored price involved and, for holdings, the freshness minute
(services/dashboard.py). Their ETag is that key, so a client that has the current answer gets
its 304 before anything is computed, and a repeat GET is one cache read.
"""

from __future__ import annotations

import hashlib
import logging
import re

import redis
from flask import Flask, Response, g, request
from flask_caching import Cache

from dashapp.services import read_models
from dashapp.services.comparison import cache_key
from dashapp.services.comparison_requests import parse_request
from dashapp.services.context import AppContext
from dashapp.services.dashboard import snapshot_key
from dashapp.services.ownership import acting_user
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound

API_PREFIX = "/api/"
READ_MODEL_ROUTE = re.compile(r"^/api/portfolios/([0-9]{1,12})/(holdings|performance)$")
KEY_PREFIX = "api:"

log = logging.getLogger(__name__)


def install_http_cache(server: Flask, app_context: AppContext) -> Cache:
    """Register the hooks on `server`; returns its Flask-Caching cache of API answers."""
    cache = Cache(server, config=read_models.cache_config(app_context.settings))

    @server.before_request
    def answer_from_cache() -> Response | None:
        if request.method != "GET" or not request.path.startswith(API_PREFIX):
            return None
        key = _answer_key(app_context)
        if key is None:
            return None
        g.api_answer_key = key
        if key in request.if_none_match:
            return _not_modified(key)
        stored = _get(cache, key)
        if stored is None:
            return None
        body, mimetype = stored
        g.api_answer_cached = True
        response = Response(body, status=200, mimetype=mimetype)
        response.set_etag(key)
        return response

    @server.after_request
    def keep_and_tag(response: Response) -> Response:
        if (
            request.method != "GET"
            or not request.path.startswith(API_PREFIX)
            or response.status_code != 200
            or response.direct_passthrough
            or response.is_streamed
        ):
            return response
        key = g.get("api_answer_key")
        if key is None:
            response.add_etag()
        else:
            if not g.get("api_answer_cached"):
                _set(cache, key, (response.get_data(), response.mimetype))
            response.set_etag(key)
        return response.make_conditional(request)

    return cache


def _answer_key(app_context: AppContext) -> str | None:
    """The cache key (and ETag) of a read-model answer, or None for any other GET or when the
    request is malformed or names a missing portfolio: the view then answers as usual."""
    match = READ_MODEL_ROUTE.match(request.path)
    if match is None:
        return None
    portfolio_id, kind = int(match[1]), match[2]
    try:
        if kind == "holdings":
            version = snapshot_key(app_context, portfolio_id)
        else:
            args = request.args
            comparison = parse_request(
                portfolio_id,
                args.get("benchmarks"),
                args.get("period"),
                args.get("start"),
                args.get("end"),
            )
            version = cache_key(app_context, comparison)
    except (InvalidInput, PortfolioNotFound):
        return None
    # Answers never cross users or credentials, even though the scoped reads above already
    # refuse another user's portfolio (a token's scope may one day narrow what it sees).
    credentials = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()
    return KEY_PREFIX + read_models.digest(
        request.path, sorted(request.args.items(multi=True)), version, credentials, acting_user()
    )


def _not_modified(key: str) -> Response:
    response = Response(status=304)
    response.set_etag(key)
    return response


def _get(cache: Cache, key: str) -> tuple[bytes, str] | None:
    try:
        return cache.get(key)
    except (OSError, redis.RedisError):
        log.warning("API answer cache unavailable", exc_info=True)
        return None


def _set(cache: Cache, key: str, value: tuple[bytes, str]) -> None:
    try:
        cache.set(key, value)
    except (OSError, redis.RedisError):
        log.warning("API answer cache unavailable", exc_info=True)
