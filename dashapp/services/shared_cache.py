"""The host's shared diskcache, made so that a broken cache directory never breaks a page.

Everything kept in the cache can be recomputed from the database, so a cache that fails
(directory read-only, disk full, directory deleted under a running process, a lock held past
the timeout) answers as an empty cache that forgets writes: reads are misses, writes are
dropped, `add` succeeds (a lock degrades to no cross-process coordination), `incr` starts from
the default. The fault is remembered for `/healthz`, which reports it without paths.

A directory deleted while processes run is not an error to SQLite: open connections keep
writing to the unlinked file, which no other process sees. So the cache looks for its database
file at most once per `DIRECTORY_CHECK_SECONDS` and, when it is gone, builds the directory and
database again (every thread then opens a fresh connection).

`sqlite_mmap_size=0`: diskcache maps the database into memory by default, and a mapped file
that cannot be read or grown (read-only or full filesystem, file truncated under us) kills the
process with SIGBUS instead of raising an error.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import diskcache

from dashapp.telemetry.timing import TimedCache

DIRECTORY_CHECK_SECONDS = 1.0
# How long /healthz keeps reporting a fault after the last one.
FAULT_MEMORY_SECONDS = 60.0
CACHE_FAULTS = (sqlite3.Error, OSError, diskcache.Timeout)
DATABASE_FILE = "cache.db"

T = TypeVar("T")


@dataclass(frozen=True)
class CacheFault:
    """The latest failure: what was being done, why (no paths), when (time.time()), and
    whether the cache mended itself (a recreated directory)."""

    operation: str
    reason: str
    at: float
    recovered: bool = False


class SharedCache(TimedCache):
    """A TimedCache that degrades to "miss" on any cache fault; see the module docstring."""

    def __init__(self, directory: str, *, timeout: float = 5.0) -> None:
        self._options: dict[str, Any] = {"timeout": timeout, "sqlite_mmap_size": 0}
        self._fault: CacheFault | None = None
        self._next_check = 0.0
        self._repair_lock = threading.Lock()
        super().__init__(directory, **self._options)

    # --- for /healthz ------------------------------------------------------------------------

    def recent_fault(self) -> CacheFault | None:
        fault = self._fault
        if fault is None or time.time() - fault.at > FAULT_MEMORY_SECONDS:
            return None
        return fault

    def probe(self, key: str, token: str) -> None:
        """Write `token` and read it back, unguarded: raises what the cache raises."""
        self._check_directory()
        try:
            TimedCache.set(self, key, token, expire=60)
            answer = TimedCache.get(self, key)
        except CACHE_FAULTS as error:
            self._record("write", error)
            raise
        if answer != token:
            raise RuntimeError("the cache did not return what was written")

    # --- the guarded operations --------------------------------------------------------------

    def get(self, key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
        miss = _miss(default, **kwargs)
        return self._guard(
            "read", lambda: TimedCache.get(self, key, default, *args, **kwargs), miss
        )

    def set(self, *args: Any, **kwargs: Any) -> bool:
        return self._guard("write", lambda: TimedCache.set(self, *args, **kwargs), True)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return self._guard("write", lambda: TimedCache.add(self, *args, **kwargs), True)

    def incr(
        self, key: Any, delta: int = 1, default: int | None = 0, *args: Any, **kwargs: Any
    ) -> int:
        fallback = (default or 0) + delta
        return self._guard(
            "write", lambda: TimedCache.incr(self, key, delta, default, *args, **kwargs), fallback
        )

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return self._guard("write", lambda: TimedCache.delete(self, *args, **kwargs), False)

    def pop(self, key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
        miss = _miss(default, **kwargs)
        return self._guard(
            "write", lambda: TimedCache.pop(self, key, default, *args, **kwargs), miss
        )

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return self._guard("write", lambda: TimedCache.touch(self, *args, **kwargs), False)

    def __contains__(self, key: object) -> bool:
        return self._guard("read", lambda: TimedCache.__contains__(self, key), False)

    @contextmanager
    def transact(self, retry: bool = False) -> Iterator[None]:
        """diskcache's transaction, or none when the cache cannot start or commit one (the
        guarded operations inside then degrade one by one)."""
        self._check_directory()
        try:
            with ExitStack() as stack:
                try:
                    stack.enter_context(super().transact(retry))
                except CACHE_FAULTS as error:
                    self._record("write", error)
                yield
        except CACHE_FAULTS as error:
            self._record("write", error)

    # --- the machinery ----------------------------------------------------------------------

    def _guard(self, operation: str, call: Callable[[], T], fallback: T) -> T:
        self._check_directory()
        try:
            return call()
        except CACHE_FAULTS as error:
            self._record(operation, error)
            return fallback

    def _record(self, operation: str, error: BaseException) -> None:
        self._fault = CacheFault(operation, _reason(error), time.time())

    def _check_directory(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + DIRECTORY_CHECK_SECONDS
        if not os.path.isfile(os.path.join(self.directory, DATABASE_FILE)):
            self._rebuild()

    def _rebuild(self) -> None:
        """Create the directory and database again; every thread reconnects to the new one."""
        if not self._repair_lock.acquire(blocking=False):
            return  # another thread is at it
        try:
            diskcache.Cache.__init__(self, self.directory, **self._options)
        except CACHE_FAULTS as error:
            self._record("recreate", error)
        else:
            self._fault = CacheFault(
                "recreate",
                "the cache directory was missing and has been recreated",
                time.time(),
                recovered=True,
            )
        finally:
            self._repair_lock.release()


def _miss(default: Any, *, expire_time: bool = False, tag: bool = False, **_: Any) -> Any:
    """What diskcache's get/pop answer for an absent key, given the same flags."""
    if expire_time and tag:
        return default, None, None
    if expire_time or tag:
        return default, None
    return default


def _reason(error: BaseException) -> str:
    """The error without file names: OSError's strerror, SQLite's message (which has none)."""
    if isinstance(error, diskcache.Timeout):
        return "timed out waiting for the cache's lock"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error) or type(error).__name__
