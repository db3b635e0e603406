"""The columnar read model: the same numbers as pivoting stored bars, kept in the shared cache
under the price-data version, and never served for bars that changed."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import delete, select, update

from dashapp.db.models import PriceBar, PriceCoverage
from dashapp.market.price_matrix import FIELDS, price_matrix

START, END = date(2024, 6, 3), date(2024, 11, 29)


@pytest.fixture
def stored(app_context):
    """Demo bars of a payer (AAPL), a stock with a split in its history (NVDA) and an ETF that
    starts later than the others."""
    app_context.store.fill(["AAPL", "NVDA"], date(2024, 1, 2), date(2024, 12, 4))
    app_context.store.fill(["SPY"], date(2024, 7, 1), date(2024, 12, 4))
    return app_context


def pivoted(ctx, tickers, start, end, field) -> pd.DataFrame:
    bars = ctx.store.read_bars(tickers, start, end)
    return bars.pivot(index="date", columns="ticker", values=field)


def test_every_field_equals_the_pivot_of_the_stored_bars(stored):
    tickers = ["SPY", "AAPL", "NVDA"]
    matrix = price_matrix(stored.store, stored.cache, tickers, START, END, FIELDS)
    assert matrix.tickers == ("AAPL", "NVDA", "SPY")
    for field in FIELDS:
        expected = pivoted(stored, tickers, START, END, field)
        pd.testing.assert_frame_equal(matrix.frame(field), expected, check_freq=False)
    assert matrix.frame("split_ratio").loc["2024-06-10", "NVDA"] == 10.0
    # SPY has no bar before July: NaN there, as the pivot has, never a zero.
    assert matrix.frame("close")["SPY"].loc[:"2024-06-28"].isna().all()
    assert matrix.spans()["SPY"][0] == pd.Timestamp("2024-07-01")
    assert matrix.spans()["AAPL"] == (pd.Timestamp("2024-06-03"), pd.Timestamp("2024-11-29"))


def test_a_window_without_bars_is_empty_and_unknown_tickers_are_left_out(stored):
    before = price_matrix(stored.store, stored.cache, ["AAPL"], date(2020, 1, 1), date(2020, 2, 1))
    assert before.empty and before.spans() == {}
    matrix = price_matrix(stored.store, stored.cache, ["AAPL", "ZZZZ"], START, END)
    assert matrix.tickers == ("AAPL",)


def test_a_repeat_is_served_from_the_cache_without_reading_bars(stored):
    first = price_matrix(stored.store, stored.cache, ["AAPL", "NVDA"], START, END)
    with stored.db.session() as session:
        # Bars gone behind the store's back, coverage (the version) unchanged: only a cached
        # read model can still answer with the old closes.
        session.execute(delete(PriceBar).where(PriceBar.ticker.in_(["AAPL", "NVDA"])))
    again = price_matrix(stored.store, stored.cache, ["AAPL", "NVDA"], START, END)
    pd.testing.assert_frame_equal(again.frame("close"), first.frame("close"))
    # Another set re-uses each ticker's cached columns: NVDA still has its closes.
    other = price_matrix(stored.store, stored.cache, ["NVDA", "SPY"], START, END)
    pd.testing.assert_series_equal(other.frame("close")["NVDA"], first.frame("close")["NVDA"])


def test_a_changed_bar_with_a_new_version_is_read_again(stored):
    before = price_matrix(stored.store, stored.cache, ["AAPL", "SPY"], START, END)
    day = date(2024, 11, 29)
    with stored.db.session() as session:
        bar = session.scalar(
            select(PriceBar).where(PriceBar.ticker == "AAPL", PriceBar.date == day)
        )
        bar.close = bar.close * 1.5
        session.execute(
            update(PriceCoverage)
            .where(PriceCoverage.ticker == "AAPL")
            .values(data_version=PriceCoverage.data_version + 1)
        )
    after = price_matrix(stored.store, stored.cache, ["AAPL", "SPY"], START, END)
    old, new = before.frame("close")["AAPL"], after.frame("close")["AAPL"]
    assert new.loc["2024-11-29"] == pytest.approx(old.loc["2024-11-29"] * 1.5)
    pd.testing.assert_series_equal(new.loc[:"2024-11-27"], old.loc[:"2024-11-27"])


def test_bars_without_a_coverage_row_are_never_cached(stored):
    with stored.db.session() as session:
        session.add(
            PriceBar(
                ticker="ACME",
                date=date(2024, 6, 3),
                open=10.0,
                high=10.0,
                low=10.0,
                close=10.0,
                volume=1.0,
                dividend=0.0,
                split_ratio=1.0,
            )
        )
    first = price_matrix(stored.store, stored.cache, ["ACME"], START, END)
    with stored.db.session() as session:
        session.execute(update(PriceBar).where(PriceBar.ticker == "ACME").values(close=12.0))
    second = price_matrix(stored.store, stored.cache, ["ACME"], START, END)
    assert first.frame("close")["ACME"].tolist() == [10.0]
    assert second.frame("close")["ACME"].tolist() == [12.0]
    assert price_matrix(stored.store, stored.cache, [], START, END).empty
