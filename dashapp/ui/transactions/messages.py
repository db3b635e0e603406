"""What the page says after a change: refusals row by row, and a portfolio that is gone.

A long list of reasons is cut at LISTED_LINES lines: a file of 20,000 bad rows would otherwise
send 20,000 items to the browser.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.services.portfolios import PortfolioNotFound
from dashapp.services.transactions import LedgerError, RowError
from dashapp.ui.transactions import ids

LISTED_LINES = 100


def errors_alert(error: LedgerError) -> dbc.Alert:
    """A refused change: nothing was stored, and why, row by row."""
    items = listed([error_line(e) for e in error.errors])
    return dbc.Alert(
        [html.Strong("Nothing was changed:"), html.Ul(items, className="mb-0")],
        color="danger",
        className="py-2",
        id=ids.ERRORS,
    )


def gone(error: PortfolioNotFound) -> dbc.Alert:
    """A portfolio deleted meanwhile (in another tab, say)."""
    return dbc.Alert(
        [
            f"{str(error).capitalize()}: it was deleted. ",
            dcc.Link("See all portfolios", href="/portfolios"),
        ],
        color="warning",
        className="py-1",
    )


def listed(lines: list[str]) -> list[html.Li]:
    """The first LISTED_LINES lines as list items, then one saying how many more there are."""
    items = [html.Li(line) for line in lines[:LISTED_LINES]]
    if len(lines) > LISTED_LINES:
        more = len(lines) - LISTED_LINES
        items.append(html.Li(f"… and {more:,} more", className="ledger-more-lines"))
    return items


def error_line(error: RowError) -> str:
    return f"row {error.row}: {error.message}" if error.row is not None else error.message
