"""`/healthz`: can this process read its database and cache, and is the provider reachable?

Each check returns its detail or raises; the answer is 200 when every check passed, else 503,
so a load balancer takes a worker with a dead database out and an operator sees why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import diskcache
from flask import Flask, jsonify
from sqlalchemy import Engine, text

Check = Callable[[], dict[str, Any]]


class Unhealthy(RuntimeError):
    """A check found its part answering, but in a state that should not take traffic."""

    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__(detail.get("reason", "unhealthy"))
        self.detail = detail


def database_check(engine_of: Callable[[], Engine]) -> Check:
    """SELECT 1 through the engine `engine_of()` answers at the time of the check."""

    def check() -> dict[str, Any]:
        engine = engine_of()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
        return {"dialect": engine.dialect.name}

    return check


def cache_check(cache: diskcache.Cache) -> Check:
    """Write a value and read it back (what every background job and breaker relies on)."""

    def check() -> dict[str, Any]:
        key, token = "healthz:probe", uuid.uuid4().hex
        cache.set(key, token, expire=60)
        if cache.get(key) != token:
            raise Unhealthy({"reason": "the cache did not return what was written"})
        return {"directory": str(cache.directory)}

    return check


def breaker_check(statuses: Callable[[], list[dict[str, Any]]]) -> Check:
    """Unhealthy while any provider's circuit is open; half-open is already trying again."""

    def check() -> dict[str, Any]:
        providers = [
            {
                "provider": status["provider"],
                "state": status["state"],
                "seconds_until_half_open": status.get("seconds_until_half_open"),
            }
            for status in statuses()
        ]
        if any(provider["state"] == "open" for provider in providers):
            raise Unhealthy({"reason": "circuit open", "providers": providers})
        return {"providers": providers}

    return check


def health(checks: Mapping[str, Check]) -> tuple[dict[str, Any], int]:
    """Run every check; the payload says which passed, with detail, and the HTTP status."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in checks.items():
        try:
            results[name] = {"ok": True, **check()}
        except Unhealthy as failure:
            results[name] = {"ok": False, **failure.detail}
        except Exception as error:
            results[name] = {"ok": False, "reason": f"{type(error).__name__}: {error}"[:300]}
    healthy = all(result["ok"] for result in results.values())
    return {"status": "ok" if healthy else "failing", "checks": results}, 200 if healthy else 503


def register_health(server: Flask, checks: Mapping[str, Check]) -> None:
    def healthz() -> Any:
        payload, status = health(checks)
        response = jsonify(payload)
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response

    server.add_url_rule("/healthz", "healthz", healthz)
