"""Which tickers pages showed recently: the warm and refresh jobs serve those first.

Pages note what they show on every load, so noting must cost next to nothing: a set of tickers
already noted in the last NOTE_INTERVAL_SECONDS costs one cache read, and a new set is written
in one diskcache transaction, not one commit per ticker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from dashapp.market.price_store import normalize_tickers
from dashapp.services.context import AppContext

VIEW_MEMORY_SECONDS = 7 * 86_400
NOTE_INTERVAL_SECONDS = 300


def note_viewed(ctx: AppContext, tickers: Iterable[str]) -> None:
    """Remember that a page showed `tickers` now (to NOTE_INTERVAL_SECONDS)."""
    names = normalize_tickers(tickers)
    if not names:
        return
    digest = hashlib.sha1(",".join(sorted(names)).encode()).hexdigest()[:16]
    marker = f"viewed-set:{digest}"
    stamp = ctx.clock.now().timestamp()
    # Compared by our clock; diskcache's own expiry (wall time) only cleans up.
    noted = ctx.cache.get(marker)
    if noted is not None and stamp - float(noted) < NOTE_INTERVAL_SECONDS:
        return
    with ctx.cache.transact():
        for ticker in names:
            ctx.cache.set(f"viewed:{ticker}", stamp, expire=VIEW_MEMORY_SECONDS)
        ctx.cache.set(marker, stamp, expire=VIEW_MEMORY_SECONDS)


def last_viewed(ctx: AppContext, tickers: Iterable[str]) -> dict[str, float]:
    """When a page last showed each ticker, as a POSIX timestamp (0.0 for never or long ago)."""
    return {ticker: float(ctx.cache.get(f"viewed:{ticker}", 0.0)) for ticker in tickers}
