"""Time of the income and realized-gains reports for a 20,000-row ledger.

A seeded synthetic ledger of 100 tickers over 2010-2024: buys, partial and full sells, quarterly
dividends, occasional splits, fees on trades and some dividends. Each run computes what the
reports page shows:

- `analytics`: positions, income by month, by year and by holding with the totals, and the
  realized lots under one method with their yearly totals (pure analytics, ledger in memory);
- `fifo` / `average`: realized_lots alone, per method;
- `service`: `services.reports.reports()` end to end on SQLite: reading the portfolio and its
  ledger, the cached prices, all of the above and the frozen dataclasses the page and API use.

The baseline, in the same process, is `holdings.positions` on the same ledger: what the dashboard
already computes per load; ratio_vs_positions says what the reports cost on top of it.

    python bench/reports.py [--rows 20000] [--runs 15]

Prints one line per measurement: `name=... rows=... median_ms=... p95_ms=... cpu_median_ms=...
ratio_vs_positions=...` (wall-clock median and p95, and the median CPU time of the process).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashapp import context_of, create_app
from dashapp.analytics.holdings import positions
from dashapp.analytics.income import (
    dividend_rows,
    income_by_holding,
    income_by_period,
    income_totals,
)
from dashapp.analytics.lots import realized_by_year, realized_lots
from dashapp.clock import FrozenClock
from dashapp.db.models import Portfolio, Transaction
from dashapp.process import configure_process
from dashapp.services.ownership import new_owner
from dashapp.services.reports import reports
from dashapp.settings import Settings

NOW = datetime(2024, 12, 4, 22, 0, tzinfo=UTC)
TICKERS = 100


def synthetic_ledger(rows: int, seed: int = 7) -> pd.DataFrame:
    """`rows` position rows over TICKERS tickers; every SELL is coverable (never more than held)."""
    rng = np.random.default_rng(seed)
    per_ticker = rows // TICKERS
    days = pd.bdate_range("2010-01-04", "2024-11-29")
    records = []
    for index in range(TICKERS):
        ticker = f"T{index:03d}"
        held = 0.0
        chosen = np.sort(rng.choice(len(days), size=per_ticker, replace=False))
        for step, day in enumerate(days[chosen]):
            draw = rng.random()
            price = float(rng.uniform(10, 300))
            if held < 1 or draw < 0.40:
                quantity = float(rng.integers(1, 100))
                records.append((day, "BUY", ticker, quantity, price, 1.0))
                held += quantity
            elif draw < 0.60:
                quantity = held if step % 17 == 0 else float(np.ceil(held * rng.uniform(0.1, 0.6)))
                quantity = min(quantity, held)
                records.append((day, "SELL", ticker, quantity, price, 1.0))
                held -= quantity
            elif draw < 0.99:
                records.append((day, "DIVIDEND", ticker, held, round(price / 400, 4), 0.0))
            else:
                records.append((day, "SPLIT", ticker, 2.0, 0.0, 0.0))
                held *= 2
    ledger = pd.DataFrame(
        records, columns=["trade_date", "kind", "ticker", "quantity", "price", "fees"]
    )
    ledger.insert(0, "id", np.arange(1, len(ledger) + 1))
    return ledger


def analytics_reports(ledger: pd.DataFrame, prices: pd.Series) -> None:
    held = positions(ledger)
    dividends = dividend_rows(ledger)
    income_by_period(dividends, "month")
    income_by_period(dividends, "year")
    income_totals(income_by_holding(dividends, held, prices, NOW.date()))
    realized_by_year(realized_lots(ledger, "fifo"))


def timed(call: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per run. On a shared machine wall time includes waiting for a
    core; the process's CPU time is what the work itself costs."""
    call()  # warm-up: imports, first-call caches
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - started) * 1000.0)
        cpu.append((time.process_time() - started_cpu) * 1000.0)
    return wall, cpu


def seed(app, ledger: pd.DataFrame) -> int:
    context = context_of(app)
    with context.db.session() as session:
        portfolio = Portfolio(
            user_id=new_owner(session), name="bench reports", base_currency="USD", version=1
        )
        session.add(portfolio)
        session.flush()
        session.bulk_insert_mappings(
            Transaction,
            [
                {
                    "portfolio_id": portfolio.id,
                    "trade_date": row["trade_date"].date(),
                    "kind": row["kind"],
                    "ticker": row["ticker"],
                    "quantity": row["quantity"],
                    "price": row["price"],
                    "fees": row["fees"],
                    "currency": "USD",
                }
                for row in ledger.to_dict("records")
            ],
        )
        return portfolio.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args()
    ledger = synthetic_ledger(arguments.rows)
    prices = pd.Series(100.0, index=[f"T{index:03d}" for index in range(TICKERS)])
    kinds = ledger["kind"].value_counts().to_dict()
    print(f"ledger rows={len(ledger)} " + " ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    measured = {
        "positions": timed(lambda: positions(ledger), arguments.runs),
        "analytics": timed(lambda: analytics_reports(ledger, prices), arguments.runs),
        "fifo": timed(lambda: realized_lots(ledger, "fifo"), arguments.runs),
        "average": timed(lambda: realized_lots(ledger, "average"), arguments.runs),
    }
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
        portfolio_id = seed(app, ledger)
        context = context_of(app)
        measured["service"] = timed(lambda: reports(context, portfolio_id), arguments.runs)
        context.close()
    baseline = statistics.median(measured["positions"][0])
    lots = len(realized_lots(ledger, "fifo"))
    for name, (wall, cpu) in measured.items():
        median = statistics.median(wall)
        print(
            f"name={name} rows={len(ledger)} median_ms={median:.1f} "
            f"p95_ms={np.percentile(wall, 95):.1f} cpu_median_ms={statistics.median(cpu):.1f} "
            f"ratio_vs_positions={median / baseline:.2f}"
            + (f" realized_lots={lots}" if name == "fifo" else ""),
            flush=True,
        )
    print(f"date={date.today().isoformat()} runs={arguments.runs}")


if __name__ == "__main__":
    main()
