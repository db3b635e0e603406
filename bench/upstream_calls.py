"""Upstream requests, wall time and cache hit rate of the price store against a slow provider.

The demo market sits behind the fault wrapper with 150 ms of latency per round of parallel
requests (4 at a time, as the Yahoo adapter runs them), and charges requests as Yahoo does:
history one per ticker, quotes one per 50 symbols. A "dashboard" is N holdings plus 5 benchmark
ETFs over 10 years.

    python bench/upstream_calls.py [--latency 0.15] [--skip-naive-200]

Scenarios, in one process and one run:
- cold: empty cache, the dashboard's prices are filled (history, then latest quotes).
- warm: the same again, same moment.
- next_day: the evening after, the daily upkeep of every ticker.
- intraday: during the next session, a refresh of latest quotes.
- naive_*: the same moments for a per-ticker, sequential fetch with no cache (history and a
  quote for each ticker on every load).
- week: five sessions of 20 users opening their dashboards every 30 minutes from 07:00 to 23:00
  New York time, with the jobs' quote refresh every 5 minutes of each session and the upkeep
  after each close; its hit rate counts every price a dashboard needed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashapp.clock import FrozenClock
from dashapp.market.demo import DemoMarket
from dashapp.market.faults import FaultyProvider
from dashapp.market.fetch_log import FetchLogRecorder, count_requests
from dashapp.services.context import AppContext, build_context
from dashapp.settings import Settings
from dashapp.telemetry.counters import Counters

BENCHMARKS = ("SPY", "QQQ", "VTI", "BND", "VXUS")
COLD_EVENING = datetime(2024, 12, 4, 22, 0, tzinfo=UTC)
NEXT_EVENING = datetime(2024, 12, 5, 22, 0, tzinfo=UTC)
NEXT_MIDDAY = datetime(2024, 12, 6, 17, 0, tzinfo=UTC)
TEN_YEARS_BEFORE = date(2014, 12, 4)


def build(root: Path, name: str, latency: float) -> tuple[AppContext, FrozenClock]:
    clock = FrozenClock(COLD_EVENING)
    demo = DemoMarket(clock)
    provider = FaultyProvider(demo, clock, latency_s=latency, max_workers=4)
    settings = Settings.from_env(
        {},
        instance_dir=root / name,
        cache_dir=root / name / "cache",
        database_url=f"sqlite:///{root / name / 'bench.db'}",
        market_data="demo",
        secret_key="bench",
    )
    context = build_context(settings, clock=clock, provider=provider)
    demo.recorder = provider.recorder = FetchLogRecorder(context.db)
    return context, clock


def measure(context: AppContext, action: Callable[[], None]) -> tuple[int, float, float]:
    """Requests sent, wall seconds and cache hit rate of one action."""
    requests_before = count_requests(context.db)
    before = context.counters.snapshot()
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    hits = context.counters.get("cache_hits") - before.get("cache_hits", 0)
    misses = context.counters.get("cache_misses") - before.get("cache_misses", 0)
    rate = 1.0 if hits + misses == 0 else hits / (hits + misses)
    return count_requests(context.db) - requests_before, wall, rate


def report(scenario: str, holdings: int, requests: int, wall: float, rate: float | None) -> None:
    hit = "n/a" if rate is None else f"{rate:.3f}"
    print(
        f"scenario={scenario} holdings={holdings} requests={requests} wall_s={wall:.2f} hit_rate={hit}",
        flush=True,
    )


def cached_scenarios(root: Path, holdings: int, latency: float) -> None:
    context, clock = build(root, f"cached{holdings}", latency)
    tickers = [f"H{index:03d}" for index in range(holdings)] + list(BENCHMARKS)

    def load() -> None:
        context.store.fill(tickers, TEN_YEARS_BEFORE, clock.now().date())
        context.store.refresh_quotes(tickers)

    report("cold", holdings, *measure(context, load))
    report(
        "warm",
        holdings,
        *measure(
            context, lambda: context.store.fill(tickers, TEN_YEARS_BEFORE, clock.now().date())
        ),
    )
    clock.set(NEXT_EVENING)
    report(
        "next_day",
        holdings,
        *measure(
            context, lambda: context.store.fill(tickers, TEN_YEARS_BEFORE, clock.now().date())
        ),
    )
    clock.set(NEXT_MIDDAY)
    report("intraday", holdings, *measure(context, lambda: context.store.refresh_quotes(tickers)))
    context.close()


def naive_scenarios(
    root: Path, holdings: int, latency: float, moments: list[tuple[str, datetime]]
) -> None:
    """No cache: every load asks for each ticker's history and quote, one request at a time."""
    context, clock = build(root, f"naive{holdings}", latency)
    provider = context.provider
    provider.max_workers = 1
    tickers = [f"H{index:03d}" for index in range(holdings)] + list(BENCHMARKS)

    def load() -> None:
        for ticker in tickers:
            provider.history([ticker], TEN_YEARS_BEFORE, clock.now().date())
            provider.quotes([ticker])

    for scenario, moment in moments:
        clock.set(moment)
        requests, wall, _ = measure(context, load)
        report(scenario, holdings, requests, wall, 0.0)
    context.close()


def trading_week(root: Path, users: int = 20, holdings_each: int = 20) -> None:
    context, clock = build(root, "week", 0.0)
    universe = [f"W{index:03d}" for index in range(120)]
    portfolios = [
        [universe[(user * 7 + offset) % len(universe)] for offset in range(holdings_each)]
        for user in range(users)
    ]
    everything = sorted({ticker for tickers in portfolios for ticker in tickers} | set(BENCHMARKS))
    start = date(2022, 1, 3)
    week_counters = Counters()
    requests_before = count_requests(context.db)
    started = time.perf_counter()
    sessions = context.calendar.sessions(date(2024, 12, 9), date(2024, 12, 13))
    for session in sessions:
        day = session.date()
        opened = context.calendar.session_open(day)
        closed = context.calendar.session_close(day)
        morning = opened.normalize() + timedelta(hours=12)  # 07:00 New York in winter
        for minute in range(0, 16 * 60, 5):
            now = (morning + timedelta(minutes=minute)).to_pydatetime()
            clock.set(now)
            if opened <= now < closed:
                context.store.refresh_quotes(everything)  # the clock job, every 5 minutes
            if now >= closed and now < closed + timedelta(minutes=5):
                context.store.fill(everything, start, day)  # upkeep after the close
            if minute % 30 == 0:
                for tickers in portfolios:
                    before = context.counters.snapshot()
                    context.store.fill(tickers, start, now.date())
                    after = context.counters.snapshot()
                    week_counters.add(
                        "cache_hits", after.get("cache_hits", 0) - before.get("cache_hits", 0)
                    )
                    week_counters.add(
                        "cache_misses", after.get("cache_misses", 0) - before.get("cache_misses", 0)
                    )
    wall = time.perf_counter() - started
    hits, misses = week_counters.get("cache_hits"), week_counters.get("cache_misses")
    report(
        "week",
        users * holdings_each,
        count_requests(context.db) - requests_before,
        wall,
        hits / (hits + misses),
    )
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument(
        "--skip-naive-200",
        action="store_true",
        help="the 200-holding naive run takes about a minute per moment",
    )
    arguments = parser.parse_args()
    moments = [
        ("naive_cold", COLD_EVENING),
        ("naive_warm", COLD_EVENING),
        ("naive_next_day", NEXT_EVENING),
        ("naive_intraday", NEXT_MIDDAY),
    ]
    with tempfile.TemporaryDirectory() as workdir:
        root = Path(workdir)
        for holdings in (20, 200):
            cached_scenarios(root, holdings, arguments.latency)
        naive_scenarios(root, 20, arguments.latency, moments)
        if not arguments.skip_naive_200:
            naive_scenarios(root, 200, arguments.latency, moments[:1])
        trading_week(root)


if __name__ == "__main__":
    main()
