"""Where a request's time goes: database, cache, upstream and compute, as a `Server-Timing` header.

A `RequestTiming` lives in a context variable for the duration of one request. SQLAlchemy engine
events add the time of every statement to `db`, `TimedCache` adds diskcache accesses to `cache`,
`TimedProvider` adds provider calls to `upstream`; `compute` is what is left of the total.
Nested measurements of the same part (a cache method calling another) count once.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import diskcache
from flask import Flask, Request, Response, request
from sqlalchemy import Engine, event

PARTS = ("db", "cache", "upstream")
DASH_CALLBACK_PATH = "/_dash-update-component"
CALLBACK_PREFIX = "callback "


@dataclass
class RequestTiming:
    """Seconds spent per part since `started` (a perf_counter reading)."""

    started: float = field(default_factory=time.perf_counter)
    parts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))
    _depth: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


_current: ContextVar[RequestTiming | None] = ContextVar("request_timing", default=None)


def begin() -> RequestTiming:
    timing = RequestTiming()
    _current.set(timing)
    return timing


def end() -> None:
    _current.set(None)


def current() -> RequestTiming | None:
    return _current.get()


@contextmanager
def measure(part: str) -> Iterator[None]:
    """Add the time of the block to `part` of the current request (nothing outside requests)."""
    timing = _current.get()
    if timing is None or timing._depth[part]:
        yield
        return
    timing._depth[part] += 1
    started = time.perf_counter()
    try:
        yield
    finally:
        timing.parts[part] += time.perf_counter() - started
        timing._depth[part] -= 1


def server_timing(timing: RequestTiming, total: float) -> str:
    """The header value, in milliseconds: parts rounded down and the total rounded up, so the
    parts (compute = total - db - cache - upstream, at least 0) never add up to more than it."""
    measured = sum(timing.parts.values())
    values = {**timing.parts, "compute": max(0.0, total - measured)}
    entries = [f"{name};dur={_floor_ms(seconds):.3f}" for name, seconds in values.items()]
    entries.append(f"total;dur={math.ceil(total * 1e6) / 1e3:.3f}")
    return ", ".join(entries)


def _floor_ms(seconds: float) -> float:
    return math.floor(seconds * 1e6) / 1e3


def install_db_timing(engine: Engine) -> None:
    """Count every statement run through `engine` into the current request's `db` part."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, many: Any
    ) -> None:
        conn.info.setdefault("statement_started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(
        conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, many: Any
    ) -> None:
        started = conn.info["statement_started"].pop()
        timing = _current.get()
        if timing is not None:
            timing.parts["db"] += time.perf_counter() - started


class TimedCache(diskcache.Cache):
    """A diskcache.Cache whose reads and writes count into the current request's `cache` part."""

    def get(self, *args: Any, **kwargs: Any) -> Any:
        with measure("cache"):
            return super().get(*args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> bool:
        with measure("cache"):
            return super().set(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        with measure("cache"):
            return super().add(*args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> int:
        with measure("cache"):
            return super().incr(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        with measure("cache"):
            return super().delete(*args, **kwargs)

    def pop(self, *args: Any, **kwargs: Any) -> Any:
        with measure("cache"):
            return super().pop(*args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        with measure("cache"):
            return super().touch(*args, **kwargs)

    def __contains__(self, key: object) -> bool:
        with measure("cache"):
            return super().__contains__(key)


class TimedProvider:
    """A market-data provider whose calls count into the current request's `upstream` part;
    everything else (name, breaker and budget status) is the wrapped provider's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    def history(self, *args: Any, **kwargs: Any) -> Any:
        with measure("upstream"):
            return self.inner.history(*args, **kwargs)

    def quotes(self, *args: Any, **kwargs: Any) -> Any:
        with measure("upstream"):
            return self.inner.quotes(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def callback_labels(callback_map: Mapping[str, Any]) -> dict[str, str]:
    """A readable, unique label per Dash callback, keyed by the output string the browser posts.

    "callback <page>.<function>" (e.g. "callback cache.warm_now") when no other callback has
    the same; otherwise its outputs with Dash's duplicate-output hashes dropped, and the raw
    output string as the last resort, so two callbacks never share a label.
    """
    named = {key: _function_label(spec) for key, spec in callback_map.items()}
    uses = Counter(named.values())
    labels = {
        key: name if name is not None and uses[name] == 1 else _outputs_label(key)
        for key, name in named.items()
    }
    uses = Counter(labels.values())
    return {key: label if uses[label] == 1 else key for key, label in labels.items()}


def _function_label(spec: Any) -> str | None:
    function = spec.get("callback") if isinstance(spec, Mapping) else None
    name = getattr(function, "__name__", None)
    if not name:
        return None
    module = _page_of(str(getattr(function, "__module__", "") or ""))
    return f"{CALLBACK_PREFIX}{module}.{name}" if module else f"{CALLBACK_PREFIX}{name}"


def _page_of(module: str) -> str:
    """The last part of a callback's module, or the page's name for a page that is a package
    (`dashapp.ui.dashboard.callbacks` -> `dashboard`): labels are what dashboards and alerts
    query, so they must not move when a page module grows into a package."""
    parts = module.split(".")
    if len(parts) > 3 and parts[:2] == ["dashapp", "ui"]:
        return parts[2]
    return parts[-1]


def _outputs_label(key: str) -> str:
    outputs = key.strip(".").split("...") if key.startswith("..") else [key]
    return CALLBACK_PREFIX + ", ".join(output.split("@", 1)[0] for output in outputs)


def route_label(incoming: Request, labels: Mapping[str, str]) -> str:
    """The route a request counts under: a Dash callback by its label in `labels` (only
    callbacks the app has, so a client cannot invent labels), otherwise the URL rule matched."""
    if incoming.path.endswith(DASH_CALLBACK_PATH):
        try:
            body = incoming.get_json(silent=True)
        except RecursionError:
            # JSON nested past the parser's depth: the client-error hook has refused it already.
            body = None
        output = body.get("output") if isinstance(body, dict) else None
        if isinstance(output, str) and output in labels:
            return labels[output]
        return DASH_CALLBACK_PATH
    if incoming.url_rule is None:
        return "unmatched"
    return incoming.url_rule.rule


def install_request_timing(
    server: Flask,
    callback_map: Callable[[], Mapping[str, Any]],
    observe: Callable[[str, float], None],
) -> None:
    """Time every request of `server`: a `Server-Timing` header, and `observe(route, seconds)`.

    `callback_map()` is the Dash app's callback map; its labels are worked out again only when
    it changed size (Dash fills it on the first request).
    """
    known: dict[str, Any] = {"size": -1, "labels": {}}

    def labels() -> Mapping[str, str]:
        callbacks = callback_map()
        if len(callbacks) != known["size"]:
            known.update(size=len(callbacks), labels=callback_labels(callbacks))
        return known["labels"]

    @server.before_request
    def _start() -> None:
        begin()

    @server.after_request
    def _finish(response: Response) -> Response:
        timing = current()
        if timing is None:
            return response
        total = timing.elapsed()
        response.headers["Server-Timing"] = server_timing(timing, total)
        observe(route_label(request, labels()), total)
        end()
        return response
