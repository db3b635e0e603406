"""`/healthz`: can this process use its database, cache, Redis and a Celery worker, and is the
provider's circuit closed?

Each check returns its detail or raises; the answer is 200 when every check passed, else 503,
so a load balancer takes a worker with a dead database out and an operator sees why.

Every check runs in a thread of its own and the answer waits at most `HEALTH_TIMEOUT_SECONDS`:
a frozen dependency is reported as not answering, not waited for. A check still running from
an earlier call is not started again, so a load balancer polling a frozen database does not
pile up threads (each is released by its dependency's own timeout). Details name parts and
states, never filesystem paths or URLs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Protocol

from flask import Flask, jsonify
from sqlalchemy import Engine, text

Check = Callable[[], dict[str, Any]]
HEALTH_TIMEOUT_SECONDS = 1.5
CELERY_PING_SECONDS = 1.0


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


class ProbedCache(Protocol):
    """The shared cache as services/shared_cache.py makes it: it degrades to misses on faults,
    so the check asks it for its last fault and probes it unguarded."""

    def probe(self, key: str, token: str) -> None: ...

    def recent_fault(self) -> Any: ...


def cache_check(cache: ProbedCache) -> Check:
    """Write a value and read it back (what every background job and breaker relies on), and
    report a fault the cache met lately (a read-only or full directory, say) even when the probe
    itself got through."""

    def check() -> dict[str, Any]:
        try:
            cache.probe("healthz:probe", uuid.uuid4().hex)
        except Exception as error:
            fault = cache.recent_fault()
            reason = fault.reason if fault is not None else type(error).__name__
            raise Unhealthy({"reason": f"cannot write to the cache: {reason}"}) from None
        fault = cache.recent_fault()
        if fault is None:
            return {}
        seconds_ago = round(time.time() - fault.at, 1)
        detail = {"last_fault": f"{fault.operation}: {fault.reason}", "seconds_ago": seconds_ago}
        if not fault.recovered:
            raise Unhealthy({"reason": f"cache {fault.operation} failed: {fault.reason}", **detail})
        return detail

    return check


def redis_check(ping: Callable[[], Any]) -> Check:
    """PING through the process's Redis client (its socket timeouts bound the wait)."""

    def check() -> dict[str, Any]:
        if not ping():
            raise Unhealthy({"reason": "Redis did not answer PING"})
        return {}

    return check


def celery_check(control_ping: Callable[..., list[Any]]) -> Check:
    """At least one Celery worker answers a broadcast ping (background callbacks need one)."""

    def check() -> dict[str, Any]:
        replies = control_ping(timeout=CELERY_PING_SECONDS, limit=1)
        if not replies:
            raise Unhealthy(
                {"reason": f"no Celery worker answered within {CELERY_PING_SECONDS:g} s"}
            )
        return {"workers_answering": len(replies)}

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


class HealthChecks:
    """Runs the checks concurrently, each at most once at a time, answering within `timeout`."""

    def __init__(self, checks: Mapping[str, Check], timeout: float = HEALTH_TIMEOUT_SECONDS):
        self.checks = dict(checks)
        self.timeout = timeout
        self._running: dict[str, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def run(self) -> tuple[dict[str, Any], int]:
        """The payload says which checks passed, with detail, and the HTTP status."""
        with self._lock:
            futures = {name: self._start(name, check) for name, check in self.checks.items()}
        deadline = time.monotonic() + self.timeout
        results: dict[str, dict[str, Any]] = {}
        for name, future in futures.items():
            try:
                results[name] = {"ok": True, **future.result(max(0.0, deadline - time.monotonic()))}
            except TimeoutError:
                results[name] = {"ok": False, "reason": f"no answer within {self.timeout:g} s"}
            except Unhealthy as failure:
                results[name] = {"ok": False, **failure.detail}
            except Exception as error:
                results[name] = {"ok": False, "reason": _error_text(error)}
        healthy = all(result["ok"] for result in results.values())
        return {"status": "ok" if healthy else "failing", "checks": results}, (
            200 if healthy else 503
        )

    def _start(self, name: str, check: Check) -> Future[dict[str, Any]]:
        running = self._running.get(name)
        if running is not None and not running.done():
            return running
        future: Future[dict[str, Any]] = Future()

        def run() -> None:
            try:
                future.set_result(check())
            except BaseException as error:
                future.set_exception(error)

        threading.Thread(target=run, name=f"healthz-{name}", daemon=True).start()
        self._running[name] = future
        return future


def health(checks: Mapping[str, Check]) -> tuple[dict[str, Any], int]:
    """Run every check once (see HealthChecks)."""
    return HealthChecks(checks).run()


def _error_text(error: BaseException) -> str:
    """The error's class and first line, cut short; drivers' messages name hosts, not paths,
    and the cause SQLAlchemy wraps is what an operator needs."""
    cause = getattr(error, "orig", None) or error
    first = next((line.strip() for line in str(cause).splitlines() if line.strip()), "")
    return f"{type(error).__name__}: {first}"[:300] if first else type(error).__name__


def register_health(server: Flask, checks: Mapping[str, Check]) -> None:
    runner = HealthChecks(checks)

    def healthz() -> Any:
        payload, status = runner.run()
        response = jsonify(payload)
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response

    server.add_url_rule("/healthz", "healthz", healthz)
