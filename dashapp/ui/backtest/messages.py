"""What the backtest page says in words: the line above the chart (what ran, warnings, errors),
the note on a cleared strategy, where each ticker's prices came from, and what the result store
holds while no result answers the form."""

from __future__ import annotations

from typing import TypedDict

import dash_bootstrap_components as dbc
from dash import html

from dashapp.services.backtest_requests import BASKET_STRATEGIES, TICKER_STRATEGIES
from dashapp.services.backtest_results import BacktestResult
from dashapp.services.portfolios import InvalidInput
from dashapp.ui.backtest import ids
from dashapp.ui.backtest.words import FIELD_LABELS, STRATEGY_LABELS, in_words


class Unanswered(TypedDict):
    """What the result store holds while no result answers the form: the chart says why."""

    warnings: list[str]


CLEARED = Unanswered(warnings=["Nothing to show: see the message above."])
COMPUTING = Unanswered(warnings=["Computing in the background…"])


def summary(result: BacktestResult) -> object:
    """The line above the chart: what ran over which sessions, with any warnings in an alert;
    when nothing could be computed (no prices), only the warnings: nothing was backtested."""
    subject = result.get("subject") or {}
    ran = f"Backtested {subject.get('name', '')} from {result.get('start')} to {result.get('end')}."
    warnings = result.get("warnings") or []
    if not warnings:
        return ran
    lines = [ran] if result.get("series") else []
    return dbc.Alert(
        [html.Div(text) for text in [*lines, *warnings]],
        color="warning",
        className="py-1 mb-0",
        id=ids.WARNINGS,
    )


def invalid(error: InvalidInput) -> dbc.Alert:
    """The error in an alert naming the form's field (the label the user sees)."""
    return dbc.Alert(
        f"{FIELD_LABELS.get(error.field, error.field)}: {in_words(error.reason)}",
        color="danger",
        className="py-1 mb-0",
        id=ids.ERROR,
    )


def strategy_note(subject: str, strategy: str) -> str:
    """Why a strategy was cleared when the subject changed, and what to choose instead."""
    allowed = BASKET_STRATEGIES if subject == "portfolio" else TICKER_STRATEGIES
    choices = " or ".join(STRATEGY_LABELS[name] for name in allowed)
    runs_on = "a single ticker" if subject == "portfolio" else "a portfolio's holdings"
    return f"{STRATEGY_LABELS.get(strategy, 'That strategy')} runs on {runs_on}: choose {choices}."


def provenance_text(result: BacktestResult | Unanswered) -> list[html.Div]:
    """Where each ticker's prices came from: the sessions they cover, their state and source."""
    return [
        html.Div(
            f"{ticker}: {p['first_date'] or '—'} to {p['last_date'] or '—'}, "
            f"{p['state']} ({p['reason']}), source {p['source'] or 'none'}"
        )
        for ticker, p in (result.get("provenance") or {}).items()
    ]
