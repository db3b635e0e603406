"""Server time of the dashboard's first callbacks for demo portfolios of 10, 100 and 1,000 holdings.

Warm cache: every holding's history and quote are stored before timing starts. Each run posts
the two callbacks a browser sends on opening `/` (the page router, then the holdings render)
through Flask's test client, so the figure is server time without network or browser.

    python bench/dashboard_load.py [--runs 30]

Prints one line per size, `holdings=100 median_ms=... p95_ms=... ratio_vs_10=...`, and the
upstream requests made while timing (must be 0).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashapp import context_of, create_app
from dashapp.clock import FrozenClock
from dashapp.db.models import Portfolio, Transaction
from dashapp.market.fetch_log import count_requests
from dashapp.process import configure_process
from dashapp.services.ownership import new_owner
from dashapp.settings import Settings
from tests.dash_client import DashClient

SIZES = (10, 100, 1_000)
NOW = datetime(2024, 12, 4, 22, 0, tzinfo=UTC)


def seed_portfolio(app, holdings: int) -> int:
    """A portfolio of `holdings` synthetic tickers, each bought twice and partly sold once."""
    context = context_of(app)
    tickers = [f"B{index:04d}" for index in range(holdings)]
    with context.db.session() as session:
        portfolio = Portfolio(
            user_id=new_owner(session), name=f"bench {holdings}", base_currency="USD", version=1
        )
        session.add(portfolio)
        session.flush()
        session.add_all(
            Transaction(
                portfolio_id=portfolio.id,
                trade_date=trade_date,
                kind=kind,
                ticker=ticker,
                quantity=quantity,
                price=price,
                fees=1.0,
            )
            for ticker in tickers
            for trade_date, kind, quantity, price in (
                (date(2023, 3, 1), "BUY", 10.0, 50.0),
                (date(2023, 9, 1), "BUY", 5.0, 60.0),
                (date(2024, 3, 1), "SELL", 3.0, 70.0),
            )
        )
        portfolio_id = portfolio.id
    context.store.fill(tickers, date(2024, 11, 1), NOW.date())
    context.store.refresh_quotes(tickers)
    return portfolio_id


def time_first_callbacks(client: DashClient, portfolio_id: int, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.call("page-content.children", {"url.pathname": "/"})
        client.call(
            "dashboard-body.children",
            {
                "portfolio-select.value": portfolio_id,
                "refresh-button.n_clicks": None,
            },
            {"auto-refreshed.data": []},
            changed=["portfolio-select.value"],
        )
        timings.append((time.perf_counter() - started) * 1000.0)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        root = Path(workdir)
        settings = Settings.from_env(
            {},
            instance_dir=root / "instance",
            cache_dir=root / "cache",
            database_url=f"sqlite:///{root / 'bench.db'}",
            market_data="demo",
            secret_key="bench",
        )
        configure_process(settings)
        app = create_app(settings, clock=FrozenClock(NOW))
        client = DashClient(app)
        medians = {}
        for holdings in SIZES:
            portfolio_id = seed_portfolio(app, holdings)
            requests_before = count_requests(context_of(app).db)
            time_first_callbacks(client, portfolio_id, 3)  # warm-up: imports, caches
            timings = time_first_callbacks(client, portfolio_id, arguments.runs)
            upstream = count_requests(context_of(app).db) - requests_before
            medians[holdings] = statistics.median(timings)
            print(
                f"holdings={holdings} median_ms={medians[holdings]:.1f} "
                f"p95_ms={np.percentile(timings, 95):.1f} "
                f"ratio_vs_10={medians[holdings] / medians[SIZES[0]]:.2f} "
                f"upstream_requests={upstream}",
                flush=True,
            )
        context_of(app).close()


if __name__ == "__main__":
    main()
