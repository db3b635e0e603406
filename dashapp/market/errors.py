"""Exceptions a market-data provider raises, split by what the caller should do about them."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self


class FailureKind(StrEnum):
    """What kind of failure a fetch met. The value is the error class's name, which is how the
    price store has always begun its stored text ("RateLimited: ..."), so rows stored before
    the kind existed read back with theirs."""

    UNKNOWN_TICKER = "UnknownTicker"
    RATE_LIMITED = "RateLimited"
    BUDGET_EXHAUSTED = "BudgetExhausted"
    UPSTREAM_TIMEOUT = "UpstreamTimeout"
    BAD_UPSTREAM_DATA = "BadUpstreamData"
    CIRCUIT_OPEN = "CircuitOpen"
    PROVIDER = "ProviderError"
    # Text that names no kind: a failure stored by an older version of the store.
    OTHER = "other"

    @classmethod
    def of(cls, error: BaseException) -> FailureKind:
        """The kind of `error`: its class's `kind` (a subclass such as `request_budget`'s
        BudgetExhausted, a RateLimited, names its own); OTHER for an error no provider raised."""
        return error.kind if isinstance(error, ProviderError) else cls.OTHER


class ProviderError(Exception):
    """An upstream request failed; `transient` says whether trying again may help, and `kind`
    is how the price store records it."""

    transient = True
    kind: ClassVar[FailureKind] = FailureKind.PROVIDER

    def __init__(self, message: str, tickers: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.tickers = tickers


class UnknownTicker(ProviderError):
    """The provider does not know the symbol (or it is delisted): permanent, never retried."""

    transient = False
    kind = FailureKind.UNKNOWN_TICKER


class RateLimited(ProviderError):
    """HTTP 429 or equivalent: back off before asking again."""

    kind = FailureKind.RATE_LIMITED


class UpstreamTimeout(ProviderError):
    """The provider did not answer within the timeout."""

    kind = FailureKind.UPSTREAM_TIMEOUT


class BadUpstreamData(ProviderError):
    """The provider answered with data that cannot be true (NaN, inf, non-positive prices)."""

    kind = FailureKind.BAD_UPSTREAM_DATA


class CircuitOpen(ProviderError):
    """The circuit breaker refused the call without asking the provider."""

    kind = FailureKind.CIRCUIT_OPEN


_KIND_NAMES = frozenset(kind.value for kind in FailureKind) - {FailureKind.OTHER.value}
# The store's own words for prices it refused, stored without a kind before kinds were stored.
_LEGACY_BAD_DATA = "provider returned"


class Failure(str):
    """A failed fetch as the price store records it: the text "<kind>: <detail>" (what
    `price_coverage.last_error` and the fetch reports hold), which also carries its `kind`, so
    callers match `failure.kind is FailureKind.UNKNOWN_TICKER` and never the text."""

    kind: FailureKind
    detail: str

    def __new__(cls, kind: FailureKind, detail: str) -> Self:
        text = detail if kind is FailureKind.OTHER else f"{kind.value}: {detail}"
        failure = super().__new__(cls, text)
        failure.kind = kind
        failure.detail = detail
        return failure

    def __getnewargs__(self) -> tuple[FailureKind, str]:  # type: ignore[override]
        return self.kind, self.detail

    @classmethod
    def of(cls, error: BaseException) -> Self:
        """How the store records `error`."""
        return cls(FailureKind.of(error), str(error))

    @classmethod
    def parse(cls, stored: str) -> Self:
        """A stored failure read back with its kind."""
        if isinstance(stored, cls):
            return stored
        name, colon, detail = stored.partition(": ")
        if colon and name in _KIND_NAMES:
            return cls(FailureKind(name), detail)
        if stored.startswith(_LEGACY_BAD_DATA):
            return cls(FailureKind.BAD_UPSTREAM_DATA, stored)
        return cls(FailureKind.OTHER, stored)


def failed_as_unknown(stored: str | None) -> bool:
    """True when a stored failure was the provider not knowing the symbol."""
    return bool(stored) and Failure.parse(stored).kind is FailureKind.UNKNOWN_TICKER


# What a stored failure means, in words for the pages: what happened, then what the app does
# about it. The one place where upstream failures are worded, so every page says the same thing.
UPSTREAM = "Yahoo Finance"
_NETWORK_SIGNS = (
    "connectionerror",
    "could not resolve",
    "name or service not known",
    "network is unreachable",
    "connection refused",
    "connection reset",
    "failed to perform",
    "no route to host",
)
_SERVER_SIGNS = ("answered error", "answered http_5", "bad gateway", "http 5", "unavailable")


def failure_in_words(stored: str | None, cached: bool = True) -> str:
    """A stored failure as sentences a user understands: what happened, then what the app does,
    e.g. "Yahoo Finance is unreachable (network down). Showing cached prices; the next refresh
    tries again." `cached` says whether older prices are there to show. Empty for no failure."""
    if not stored:
        return ""
    kind = Failure.parse(stored).kind
    # The provider's own message (a network library's, say) is all there is to tell these apart.
    lowered = stored.lower()
    meanwhile = "Showing cached prices" if cached else "No price is cached for it yet"
    if kind is FailureKind.UNKNOWN_TICKER:
        return f"{UPSTREAM} knows no such symbol (mistyped or delisted); it is not asked again."
    if kind is FailureKind.BUDGET_EXHAUSTED:
        happened = f"This app's hourly request budget for {UPSTREAM} is spent."
        then = "fetching resumes as the budget refills."
    elif kind is FailureKind.RATE_LIMITED:
        happened = f"{UPSTREAM} is rate-limiting this app (too many requests)."
        then = "asking again after a pause."
    elif kind is FailureKind.CIRCUIT_OPEN:
        happened = f"{UPSTREAM} is unreachable: it failed several times in a row."
        then = "requests pause for a while, then the app tries again."
    elif kind is FailureKind.UPSTREAM_TIMEOUT:
        happened = f"{UPSTREAM} did not answer in time."
        then = "the next refresh tries again."
    elif kind is FailureKind.BAD_UPSTREAM_DATA:
        happened = f"{UPSTREAM} sent prices that cannot be right; they were not stored."
        then = "the next refresh tries again."
    elif any(sign in lowered for sign in _NETWORK_SIGNS):
        happened = f"{UPSTREAM} is unreachable (network down)."
        then = "the next refresh tries again."
    elif any(sign in lowered for sign in _SERVER_SIGNS):
        happened = f"{UPSTREAM} answered with a server error."
        then = "the next refresh tries again."
    else:
        happened = f"Fetching from {UPSTREAM} failed."
        then = "the next refresh tries again."
    return f"{happened} {meanwhile}; {then}"
