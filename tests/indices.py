"""An index (`^GSPC`) in the price store: the demo market knows none, so a test stores one as a
stand-in ETF's closes without its dividends (an index pays none) through the store's own fill."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from dashapp.market.bars import HistoryBatch, QuoteBatch
from dashapp.services.context import AppContext


class RecordedMarket:
    """A provider answering history from given bars, under the replaced provider's name."""

    def __init__(self, name: str, bars: pd.DataFrame) -> None:
        self.name = name
        self.bars = bars

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        days = self.bars["date"].dt.date
        wanted = self.bars["ticker"].isin(tickers) & (days >= start) & (days <= end)
        return HistoryBatch(bars=self.bars[wanted].reset_index(drop=True))

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        return QuoteBatch()


def store_index(ctx: AppContext, index: str, like: str, start: date, end: date) -> pd.DataFrame:
    """Store `index` as `like`'s bars from `start` to `end` with no dividends; returns them."""
    ctx.store.fill([like], start, end)
    bars = ctx.store.read_bars([like], start, end).drop(columns="provisional")
    bars = bars.assign(ticker=index, dividend=0.0)
    real = ctx.store.provider
    ctx.store.provider = RecordedMarket(real.name, bars)
    try:
        ctx.store.fill([index], start, end)
    finally:
        ctx.store.provider = real
    return bars
