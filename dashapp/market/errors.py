"""Exceptions a market-data provider raises, split by what the caller should do about them."""

from __future__ import annotations


class ProviderError(Exception):
    """An upstream request failed; `transient` says whether trying again may help."""

    transient = True

    def __init__(self, message: str, tickers: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.tickers = tickers


class UnknownTicker(ProviderError):
    """The provider does not know the symbol (or it is delisted): permanent, never retried."""

    transient = False


class RateLimited(ProviderError):
    """HTTP 429 or equivalent: back off before asking again."""


class UpstreamTimeout(ProviderError):
    """The provider did not answer within the timeout."""


class BadUpstreamData(ProviderError):
    """The provider answered with data that cannot be true (NaN, inf, non-positive prices)."""


class CircuitOpen(ProviderError):
    """The circuit breaker refused the call without asking the provider."""


# What a stored failure ("<ErrorClass>: <detail>", as the price store records it) means, in
# words for the pages: what happened, then what the app does about it. The one place where
# upstream failures are worded, so every page says the same thing.
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
    kind = stored.partition(": ")[0]
    lowered = stored.lower()
    meanwhile = "Showing cached prices" if cached else "No price is cached for it yet"
    if kind == "UnknownTicker":
        return f"{UPSTREAM} knows no such symbol (mistyped or delisted); it is not asked again."
    if kind == "BudgetExhausted":
        happened = f"This app's hourly request budget for {UPSTREAM} is spent."
        then = "fetching resumes as the budget refills."
    elif kind == "RateLimited":
        happened = f"{UPSTREAM} is rate-limiting this app (too many requests)."
        then = "asking again after a pause."
    elif kind == "CircuitOpen":
        happened = f"{UPSTREAM} is unreachable: it failed several times in a row."
        then = "requests pause for a while, then the app tries again."
    elif kind == "UpstreamTimeout":
        happened = f"{UPSTREAM} did not answer in time."
        then = "the next refresh tries again."
    elif kind == "BadUpstreamData" or lowered.startswith("provider returned"):
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
