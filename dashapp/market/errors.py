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
