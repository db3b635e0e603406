"""Upstream failures reach the pages in words: what happened and what the app does about it."""

from __future__ import annotations

import pickle

import pytest

from dashapp.market.errors import (
    CircuitOpen,
    Failure,
    FailureKind,
    ProviderError,
    UnknownTicker,
    failed_as_unknown,
    failure_in_words,
)
from dashapp.market.request_budget import BudgetExhausted


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


@pytest.mark.parametrize(
    ("error", "kind", "stored"),
    [
        (
            UnknownTicker("ZZZZ: no such symbol"),
            FailureKind.UNKNOWN_TICKER,
            "UnknownTicker: ZZZZ: no such symbol",
        ),
        (
            BudgetExhausted("retry in 60 s"),
            FailureKind.BUDGET_EXHAUSTED,
            "BudgetExhausted: retry in 60 s",
        ),
        (CircuitOpen("open"), FailureKind.CIRCUIT_OPEN, "CircuitOpen: open"),
        (
            ProviderError("ConnectionError: reset"),
            FailureKind.PROVIDER,
            "ProviderError: ConnectionError: reset",
        ),
    ],
)
def test_a_failure_keeps_its_kind_through_the_stored_text(error, kind, stored):
    failure = Failure.of(error)
    assert failure == stored and failure.kind is kind
    read_back = Failure.parse(str(stored))
    assert read_back == stored and read_back.kind is kind and read_back.detail == str(error)
    copied = pickle.loads(pickle.dumps(failure))
    assert copied == stored and copied.kind is kind


def test_text_naming_no_kind_is_other_and_the_old_bad_data_words_are_bad_data():
    # Text that only begins like a kind names none.
    assert Failure.parse("UnknownTickerish: x").kind is FailureKind.OTHER
    assert Failure.parse("ValueError: x").kind is FailureKind.OTHER
    assert Failure.parse("ValueError: x") == "ValueError: x"
    legacy = Failure.parse("provider returned no valid bars")
    assert legacy.kind is FailureKind.BAD_UPSTREAM_DATA
    assert failure_in_words(legacy) == failure_in_words("BadUpstreamData: no valid bars")


def test_only_an_unknown_ticker_failure_counts_as_unknown():
    assert failed_as_unknown("UnknownTicker: ZZZZ: Yahoo knows no such symbol")
    assert failed_as_unknown(Failure.of(UnknownTicker("ZZZZ")))
    for other in (None, "", "RateLimited: UnknownTicker", "ProviderError: UnknownTicker: x"):
        assert not failed_as_unknown(other)
