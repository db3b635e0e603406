"""Prometheus metrics, correct with many processes: prometheus_client in multiprocess mode.

prometheus_client decides at its first import whether values live in per-process files, from
PROMETHEUS_MULTIPROC_DIR. So this module imports it only inside functions, after `configure`
has set that variable from settings (the one directory every process of the host shares);
the entry points call `configure` (`dashapp.process.configure_process`) before building anything.

Counted in the processes themselves: request latency per route, cache hits and misses.
Read from shared state when scraped, so every process and host agrees: upstream requests by
outcome (`fetch_log`), job runs by job and status (`job_runs`), breaker state and budget.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response

# Seconds. Dense below a second, where pages should live, down to the millisecond that static
# files and health checks take (a coarser first bucket makes every fast route read p50 = 2.5 ms);
# the +Inf bucket catches the rest.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
)
REQUEST_DURATION = "stocktracker_request_duration_seconds"
COUNTED = {"cache_hits": "stocktracker_cache_hits", "cache_misses": "stocktracker_cache_misses"}
COUNTED_AS = {"cache_hits": "already stored", "cache_misses": "needing a fetch"}

_directory: Path | None = None
_instruments: dict[str, Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Family:
    """A metric family read at scrape time: `samples` pairs label values with a value."""

    name: str
    documentation: str
    kind: str  # "counter" or "gauge"
    labels: tuple[str, ...]
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


class MetricsNotConfigured(RuntimeError):
    """Something tried to count before `configure` chose the multiprocess directory."""


def configure(path: Path) -> Path:
    """Point prometheus_client at `path` (once per process) and return the directory in use.

    The first call wins: values already written go to the first directory's files, so a later
    app in the same process (tests build many) keeps counting there.
    """
    global _directory
    with _lock:
        if _directory is None:
            path.mkdir(parents=True, exist_ok=True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path.resolve())
            values = sys.modules.get("prometheus_client.values")
            if values is not None and not getattr(values.ValueClass, "_multiprocess", False):
                # Imported too early (by a library or a test module): metrics made from now on
                # must still write the shared files, and prometheus_client reads this at call time.
                values.ValueClass = values.get_value_class()
            _directory = path.resolve()
    return _directory


def directory() -> Path:
    if _directory is None:
        raise MetricsNotConfigured("call telemetry.metrics.configure(settings.metrics_dir) first")
    return _directory


def _instrument(name: str) -> Any:
    """The process's one prometheus_client object for `name` (two would overwrite each other's
    values in the shared per-process file)."""
    directory()
    with _lock:
        if not _instruments:
            _create_instruments()
    return _instruments[name]


def _create_instruments() -> None:
    from prometheus_client import Counter, Histogram

    _instruments[REQUEST_DURATION] = Histogram(
        REQUEST_DURATION,
        "Time from the first to the last byte of our handling of a request, by route "
        "(Dash callbacks by their output).",
        ["route"],
        buckets=LATENCY_BUCKETS,
        registry=None,
    )
    for counted, metric in COUNTED.items():
        _instruments[metric] = Counter(
            metric, f"Tickers a cache fill found as {COUNTED_AS[counted]}.", registry=None
        )


def observe_request(route: str, seconds: float) -> None:
    _instrument(REQUEST_DURATION).labels(route=route).observe(seconds)


def count(name: str, amount: int) -> None:
    """A Counters listener: cache hits and misses become Prometheus counters."""
    if name in COUNTED and amount > 0:
        _instrument(COUNTED[name]).inc(amount)


def render(families: Callable[[], Iterable[Family]]) -> tuple[bytes, str]:
    """The text exposition of every process's metrics plus `families`; returns body and type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory()))
    registry.register(_ScrapeCollector(families))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ScrapeCollector:
    def __init__(self, families: Callable[[], Iterable[Family]]) -> None:
        self._families = families

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for family in self._families():
            kind = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
            metric = kind(family.name, family.documentation, labels=list(family.labels))
            for values, value in family.samples:
                metric.add_metric(list(values), value)
            yield metric


@dataclass(frozen=True)
class RouteLatency:
    route: str
    count: int
    p50: float | None
    p95: float | None
    p99: float | None


def route_latencies(group: Callable[[str], str] = str) -> list[RouteLatency]:
    """p50, p95 and p99 per route from the request histogram of every process, busiest first.

    Routes that `group` maps to one name count as one row: their buckets share bounds, so the
    summed counts are that row's exact histogram."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    buckets: dict[str, dict[float, float]] = {}
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory()))
    for metric in registry.collect():
        if metric.name != REQUEST_DURATION:
            continue
        for sample in metric.samples:
            if sample.name == f"{REQUEST_DURATION}_bucket":
                bound = float(sample.labels["le"])
                counts = buckets.setdefault(group(sample.labels["route"]), {})
                counts[bound] = counts.get(bound, 0.0) + sample.value
    rows = []
    for route, by_bound in buckets.items():
        pairs = sorted(by_bound.items())
        rows.append(
            RouteLatency(
                route=route,
                count=int(pairs[-1][1]),
                p50=histogram_quantile(0.50, pairs),
                p95=histogram_quantile(0.95, pairs),
                p99=histogram_quantile(0.99, pairs),
            )
        )
    return sorted(rows, key=lambda row: (-row.count, row.route))


def histogram_quantile(quantile: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The `quantile` of cumulative `(upper bound, count)` buckets, as PromQL's histogram_quantile.

    With rank r = quantile * total, find the first bucket whose cumulative count c_i >= r and
    interpolate linearly inside it: b_(i-1) + (b_i - b_(i-1)) * (r - c_(i-1)) / (c_i - c_(i-1)),
    the lower bound of the first bucket being 0. A rank in the +Inf bucket answers the highest
    finite bound. None when nothing was observed.
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = quantile * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(bound):
                return lower_bound
            if cumulative == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                cumulative - lower_count
            )
        lower_bound, lower_count = bound, cumulative
    return lower_bound


def register_metrics(server: Flask, families: Callable[[], Iterable[Family]]) -> None:
    """Serve `/metrics` from `server` in the Prometheus text format."""

    def metrics_view() -> Response:
        body, content_type = render(families)
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})

    server.add_url_rule("/metrics", "metrics", metrics_view)
