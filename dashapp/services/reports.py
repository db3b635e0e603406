"""Income and realized-gains reports of one portfolio, for the reports page and the JSON API.

Each report reads the portfolio and its ledger once (prices too, for the current yield: from
the cache, never a provider) and leaves the arithmetic to `analytics.income` and
`analytics.lots`. Every amount is in the portfolio's base currency, the only currency its
ledger records; converting trades at each date's FX waits for the currencies work.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashapp.analytics.holdings import positions
from dashapp.analytics.income import (
    dividend_rows,
    income_by_holding,
    income_by_period,
    income_totals,
)
from dashapp.analytics.lots import METHODS, realized_by_year, realized_lots
from dashapp.rules import EXCHANGE_TIMEZONE
from dashapp.services.context import AppContext
from dashapp.services.portfolios import (
    InvalidInput,
    PortfolioSummary,
    get_portfolio,
    transactions_frame,
)

GROUPINGS = ("month", "year", "holding")
METHOD_LABELS = {"fifo": "FIFO (first in, first out)", "average": "Average cost"}
EARLIEST_YEAR = 1900
# Today's date, for the trailing twelve months, is the date in New York, as for trade dates.


@dataclass(frozen=True)
class PeriodIncome:
    """Dividends received in one month ("YYYY-MM") or year ("YYYY"), in total and by ticker."""

    period: str
    amount: float
    holdings: Mapping[str, float]


@dataclass(frozen=True)
class HoldingIncome:
    """A ticker's dividends: all-time, trailing twelve months, the forward estimate, and the
    two yields (None while it is not held or has no price)."""

    ticker: str
    amount: float
    ttm: float
    forward_estimate: float
    yield_on_cost: float | None
    current_yield: float | None


@dataclass(frozen=True)
class IncomeReport:
    portfolio: PortfolioSummary
    as_of: date
    total: float
    ttm: float
    forward_estimate: float
    yield_on_cost: float | None
    current_yield: float | None
    by_month: tuple[PeriodIncome, ...]
    by_year: tuple[PeriodIncome, ...]
    by_holding: tuple[HoldingIncome, ...]

    @property
    def currency(self) -> str:
        return self.portfolio.base_currency


@dataclass(frozen=True)
class RealizedLot:
    """The part of one sale matched to one lot (a sale over three lots is three of these)."""

    sale_id: int
    date: date
    ticker: str
    acquired: date
    quantity: float
    proceeds: float
    cost: float
    gain: float
    holding_days: int
    long_term: bool


@dataclass(frozen=True)
class RealizedYear:
    year: int
    proceeds: float
    cost: float
    gain: float
    short_term_gain: float
    long_term_gain: float
    sales: int


@dataclass(frozen=True)
class RealizedReport:
    portfolio: PortfolioSummary
    method: str
    year: int | None
    total: float
    lots: tuple[RealizedLot, ...]
    years: tuple[RealizedYear, ...]

    @property
    def currency(self) -> str:
        return self.portfolio.base_currency

    def lots_of(self, year: int) -> tuple[RealizedLot, ...]:
        return tuple(lot for lot in self.lots if lot.date.year == year)


@dataclass(frozen=True)
class Reports:
    """Both reports of one portfolio from one read of its ledger, for the reports page."""

    income: IncomeReport
    realized: RealizedReport


def parse_grouping(raw: str | None) -> str:
    grouping = (raw or "month").strip().lower()
    if grouping not in GROUPINGS:
        raise InvalidInput("by", f"one of {', '.join(GROUPINGS)}")
    return grouping


def parse_method(raw: str | None) -> str:
    method = (raw or "fifo").strip().lower()
    if method not in METHODS:
        raise InvalidInput("method", f"one of {', '.join(METHODS)}")
    return method


def parse_year(raw: str | None, today: date) -> int | None:
    """None for all years; else a four-digit year from EARLIEST_YEAR to this one."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise InvalidInput("year", "a four-digit year such as 2024")
    year = int(text)
    if not EARLIEST_YEAR <= year <= today.year:
        raise InvalidInput("year", f"a year from {EARLIEST_YEAR} to {today.year}")
    return year


def today_in_market(ctx: AppContext) -> date:
    return ctx.clock.now().astimezone(EXCHANGE_TIMEZONE).date()


def income_report(ctx: AppContext, portfolio_id: int) -> IncomeReport:
    """Raises PortfolioNotFound."""
    portfolio = get_portfolio(ctx, portfolio_id)
    return _income(ctx, portfolio, transactions_frame(ctx, portfolio_id))


def realized_report(
    ctx: AppContext, portfolio_id: int, method: str = "fifo", year: int | None = None
) -> RealizedReport:
    """The sales' lots under `method` (of METHODS), of one calendar year or of all (None).
    Raises PortfolioNotFound, or InvalidInput for an unknown method."""
    method = parse_method(method)
    portfolio = get_portfolio(ctx, portfolio_id)
    return _realized(portfolio, transactions_frame(ctx, portfolio_id), method, year)


def reports(ctx: AppContext, portfolio_id: int, method: str = "fifo") -> Reports:
    """Both reports over all years from one read of the ledger."""
    method = parse_method(method)
    portfolio = get_portfolio(ctx, portfolio_id)
    ledger = transactions_frame(ctx, portfolio_id)
    return Reports(_income(ctx, portfolio, ledger), _realized(portfolio, ledger, method, None))


def income_csv(report: IncomeReport, grouping: str) -> str:
    """One line per month, year or holding, amounts rounded to the cent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if grouping == "holding":
        writer.writerow(
            [
                "ticker",
                "amount",
                "ttm",
                "forward_estimate",
                "yield_on_cost",
                "current_yield",
                "currency",
            ]
        )
        for row in report.by_holding:
            writer.writerow(
                [
                    row.ticker,
                    _cents(row.amount),
                    _cents(row.ttm),
                    _cents(row.forward_estimate),
                    _fraction(row.yield_on_cost),
                    _fraction(row.current_yield),
                    report.currency,
                ]
            )
    else:
        writer.writerow([grouping, "amount", "currency"])
        rows = report.by_month if grouping == "month" else report.by_year
        writer.writerows([row.period, _cents(row.amount), report.currency] for row in rows)
    return buffer.getvalue()


def realized_csv(report: RealizedReport) -> str:
    """One line per sale and lot; the method named on every line so a file stays readable."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "date",
            "ticker",
            "acquired",
            "quantity",
            "proceeds",
            "cost",
            "gain",
            "holding_days",
            "term",
            "method",
            "currency",
        ]
    )
    writer.writerows(
        [
            lot.date.isoformat(),
            lot.ticker,
            lot.acquired.isoformat(),
            f"{lot.quantity:.6g}",
            _cents(lot.proceeds),
            _cents(lot.cost),
            _cents(lot.gain),
            lot.holding_days,
            "long" if lot.long_term else "short",
            report.method,
            report.currency,
        ]
        for lot in report.lots
    )
    return buffer.getvalue()


def report_filename(report: IncomeReport | RealizedReport, kind: str) -> str:
    """e.g. `portfolio-3-realized-fifo-2024.csv`; no user text, so no quoting trouble."""
    parts = [f"portfolio-{report.portfolio.id}", kind]
    if isinstance(report, RealizedReport):
        parts.append(report.method)
        if report.year is not None:
            parts.append(str(report.year))
    return "-".join(parts) + ".csv"


def _income(ctx: AppContext, portfolio: PortfolioSummary, ledger: pd.DataFrame) -> IncomeReport:
    held = positions(ledger)
    dividends = dividend_rows(ledger)
    open_tickers = held.index[held["shares"] > 0]
    prices = ctx.store.latest_prices(open_tickers)["price"]
    as_of = today_in_market(ctx)
    by_holding = income_by_holding(dividends, held, prices, as_of)
    totals = income_totals(by_holding)
    return IncomeReport(
        portfolio=portfolio,
        as_of=as_of,
        total=totals["total"],
        ttm=totals["ttm"],
        forward_estimate=totals["forward_estimate"],
        yield_on_cost=_number(totals["yield_on_cost"]),
        current_yield=_number(totals["current_yield"]),
        by_month=_periods(income_by_period(dividends, "month")),
        by_year=_periods(income_by_period(dividends, "year")),
        by_holding=tuple(
            HoldingIncome(
                ticker=str(ticker),
                amount=float(row["amount"]),
                ttm=float(row["ttm"]),
                forward_estimate=float(row["forward_estimate"]),
                yield_on_cost=_number(row["yield_on_cost"]),
                current_yield=_number(row["current_yield"]),
            )
            for ticker, row in by_holding.to_dict("index").items()
        ),
    )


def _realized(
    portfolio: PortfolioSummary, ledger: pd.DataFrame, method: str, year: int | None
) -> RealizedReport:
    lots = realized_lots(ledger, method)
    if year is not None:
        lots = lots[pd.DatetimeIndex(lots["date"]).year == year]
    years = realized_by_year(lots)
    return RealizedReport(
        portfolio=portfolio,
        method=method,
        year=year,
        total=float(lots["gain"].sum()),
        lots=_lot_values(lots),
        years=tuple(
            RealizedYear(
                year=int(row_year),
                proceeds=float(row["proceeds"]),
                cost=float(row["cost"]),
                gain=float(row["gain"]),
                short_term_gain=float(row["short_term_gain"]),
                long_term_gain=float(row["long_term_gain"]),
                sales=int(row["sales"]),
            )
            for row_year, row in years.to_dict("index").items()
        ),
    )


def _lot_values(lots: pd.DataFrame) -> tuple[RealizedLot, ...]:
    # Whole columns to Python values at once: per-row pandas access costs far more than the
    # lot matching itself on a large ledger.
    columns = {name: lots[name].tolist() for name in ("sale_id", "ticker", "holding_days")}
    floats = {
        name: lots[name].astype("float64").tolist()
        for name in ("quantity", "proceeds", "cost", "gain")
    }
    return tuple(
        RealizedLot(*values)
        for values in zip(
            columns["sale_id"],
            pd.DatetimeIndex(lots["date"]).date,
            columns["ticker"],
            pd.DatetimeIndex(lots["acquired"]).date,
            floats["quantity"],
            floats["proceeds"],
            floats["cost"],
            floats["gain"],
            columns["holding_days"],
            lots["long_term"].astype(bool).tolist(),
            strict=True,
        )
    )


def _periods(table: pd.DataFrame) -> tuple[PeriodIncome, ...]:
    tickers = [str(ticker) for ticker in table.columns]
    values = table.to_numpy(dtype="float64")
    return tuple(
        PeriodIncome(
            period=str(label),
            amount=float(row.sum()),
            holdings={t: v for t, v in zip(tickers, row.tolist(), strict=True) if v != 0.0},
        )
        for label, row in zip(table.index, values, strict=True)
    )


def _number(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def _cents(value: float) -> str:
    return f"{value:.2f}"


def _fraction(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"
