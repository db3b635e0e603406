"""Upstream failures reach the pages in words: what happened and what the app does about it."""

from __future__ import annotations

import pytest

from dashapp.market.errors import failure_in_words


@pytest.mark.parametrize(
    ("stored", "said"),
    [
        (
            "ProviderError: ConnectionError: Failed to perform, curl: (6) Could not resolve host",
            "Yahoo Finance is unreachable (network down). Showing cached prices;"
            " the next refresh tries again.",
        ),
        (
            "CircuitOpen: yahoo circuit open after repeated failures",
            "Yahoo Finance is unreachable: it failed several times in a row. Showing cached"
            " prices; requests pause for a while, then the app tries again.",
        ),
        (
            "RateLimited: SPY: Yahoo answered 429 Too Many Requests",
            "Yahoo Finance is rate-limiting this app (too many requests). Showing cached prices;"
            " asking again after a pause.",
        ),
        (
            "BudgetExhausted: yahoo request budget spent",
            "This app's hourly request budget for Yahoo Finance is spent. Showing cached prices;"
            " fetching resumes as the budget refills.",
        ),
        (
            "UnknownTicker: ZZZZ: Yahoo knows no such symbol",
            "Yahoo Finance knows no such symbol (mistyped or delisted); it is not asked again.",
        ),
        (
            "ProviderError: SPY: Yahoo answered error",
            "Yahoo Finance answered with a server error. Showing cached prices;"
            " the next refresh tries again.",
        ),
    ],
)
def test_each_failure_is_said_in_words_with_what_happens_next(stored, said):
    assert failure_in_words(stored) == said
    for internal in ("CircuitOpen", "ProviderError", "answered error", "circuit open"):
        assert internal not in failure_in_words(stored)


def test_with_nothing_cached_it_does_not_claim_cached_prices():
    words = failure_in_words("UpstreamTimeout: SPY: Yahoo did not answer in time", cached=False)
    assert words == (
        "Yahoo Finance did not answer in time. No price is cached for it yet;"
        " the next refresh tries again."
    )
    assert failure_in_words(None) == failure_in_words("") == ""
