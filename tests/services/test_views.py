"""Pages note which tickers they showed; the jobs read it to serve those first."""

from __future__ import annotations

from datetime import timedelta

from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import holdings_view
from dashapp.services.views import NOTE_INTERVAL_SECONDS, last_viewed, note_viewed


def test_opening_a_dashboard_notes_its_holdings_as_viewed(app_context, clock):
    portfolio_id = seed_demo_portfolio(app_context)
    holdings_view(app_context, portfolio_id)
    seen = last_viewed(app_context, ["AAPL", "KO", "ZZZZ"])
    assert seen["AAPL"] == seen["KO"] == clock.now().timestamp()
    assert seen["ZZZZ"] == 0.0


def test_the_same_tickers_are_written_once_per_interval(app_context, clock):
    first = clock.now().timestamp()
    note_viewed(app_context, ["aapl", "KO"])
    clock.advance(timedelta(seconds=NOTE_INTERVAL_SECONDS - 1))
    note_viewed(app_context, ["KO", "AAPL"])
    assert last_viewed(app_context, ["AAPL", "KO"]) == {"AAPL": first, "KO": first}

    clock.advance(timedelta(seconds=2))
    note_viewed(app_context, ["AAPL", "KO"])
    later = clock.now().timestamp()
    assert last_viewed(app_context, ["AAPL", "KO"]) == {"AAPL": later, "KO": later}
