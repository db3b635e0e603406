"""Locks that make concurrent fetches of the same tickers single-flight across threads and processes.

Tickers hash onto a fixed set of stripes; a fetch holds the stripes of its tickers, taken in
sorted order so two fetches can never deadlock. PostgreSQL advisory locks work across machines;
with SQLite (one machine by nature) an flock on a file per stripe does the same.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import text

from dashapp.db.engine import Database, wait_for_advisory_lock

STRIPES = 64
# Advisory lock keys live in one 64-bit space per database; keep ours in a band of their own.
ADVISORY_KEY_BASE = 7_413_030_000


def stripe_of(ticker: str) -> int:
    return zlib.crc32(ticker.encode()) % STRIPES


class FetchLocks:
    def __init__(self, db: Database, lock_dir: Path) -> None:
        self.db = db
        self.lock_dir = lock_dir

    @contextmanager
    def hold(self, tickers: Iterable[str]) -> Iterator[None]:
        """Hold the locks of `tickers` for the duration of the block (blocking until free)."""
        stripes = sorted({stripe_of(ticker) for ticker in tickers})
        if not stripes:
            yield
            return
        if self.db.dialect == "postgresql":
            with self._advisory(stripes):
                yield
        else:
            with self._flock(stripes):
                yield

    @contextmanager
    def _advisory(self, stripes: list[int]) -> Iterator[None]:
        with self.db.engine.connect() as connection:
            for stripe in stripes:
                wait_for_advisory_lock(connection, ADVISORY_KEY_BASE + stripe)
            connection.commit()
            try:
                yield
            finally:
                for stripe in reversed(stripes):
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY_BASE + stripe}
                    )
                connection.commit()

    @contextmanager
    def _flock(self, stripes: list[int]) -> Iterator[None]:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            for stripe in stripes:
                lock_file = stack.enter_context(
                    open(self.lock_dir / f"fetch-{stripe:02d}.lock", "w")
                )
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                stack.callback(fcntl.flock, lock_file, fcntl.LOCK_UN)
            yield
