"""The card of proposed splits and dividends: those the stored price data shows for a held ticker
but the ledger lacks, with their amounts, each added only when the user clicks it.

A ledger may lack a hundred dividends, so the card counts them by kind and ticker, lists the
first PROPOSALS_SHOWN and keeps the rest behind a disclosure that stays open while the user adds
them one by one. Splits come first: they distort returns the most.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashapp.services.corporate_actions import Proposal, proposal_counts
from dashapp.ui.transactions import ids

PROPOSALS_SHOWN = 5
KIND_WORDS = {"SPLIT": ("split", "splits"), "DIVIDEND": ("dividend", "dividends")}


def proposals_card(proposals: list[Proposal], base_currency: str) -> dbc.Card:
    """The proposals: a summary by kind and ticker, the first PROPOSALS_SHOWN with their Add
    buttons, the rest behind a disclosure. Hidden while there are none."""
    card_class, head, toggle_label, toggle_class, rest = proposals_parts(
        proposals, base_currency, is_open=False
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(head, id=ids.PROPOSALS_HEAD),
                dbc.Button(
                    toggle_label,
                    id=ids.PROPOSALS_TOGGLE,
                    color="link",
                    size="sm",
                    className=toggle_class,
                ),
                dbc.Collapse(
                    html.Ul(rest, id=ids.PROPOSALS_REST, className="list-unstyled mb-0"),
                    id=ids.PROPOSALS_MORE,
                    is_open=False,
                ),
            ]
        ),
        id=ids.PROPOSALS,
        className=card_class,
    )


def proposals_parts(
    proposals: list[Proposal], base_currency: str, is_open: bool
) -> tuple[str, list, str, str, list]:
    """The card's class, head (summary and first proposals), disclosure label and class, and
    the proposals behind the disclosure."""
    if not proposals:
        return "d-none", [], "", "d-none", []
    ordered = sorted(proposals, key=lambda proposal: proposal.kind != "SPLIT")
    shown, rest = ordered[:PROPOSALS_SHOWN], ordered[PROPOSALS_SHOWN:]
    head = [
        html.Strong(
            f"The price data shows {len(proposals):,} corporate actions this ledger lacks",
            id=ids.PROPOSALS_TITLE,
        ),
        html.Ul(
            [html.Li(line) for line in proposal_summary(proposals, base_currency)],
            className="small mb-1 ps-3",
            id=ids.PROPOSALS_SUMMARY,
        ),
        html.P(
            "Missing splits and dividends distort returns. Nothing is added until you click; "
            "check each against your broker's statement.",
            className="small text-muted mb-2",
        ),
        html.Ul(proposal_items(shown), className="list-unstyled mb-0"),
    ]
    toggle = toggle_label(len(rest), is_open)
    toggle_class = "p-0 mt-1" if rest else "d-none"
    return "mb-3 border-warning", head, toggle, toggle_class, proposal_items(rest)


def proposal_summary(proposals: list[Proposal], base_currency: str) -> list[str]:
    """One line per kind: '194 dividends, 5,819.65 USD in all: AAPL 30, MSFT 29, …'."""
    lines = []
    for kind, per_ticker in proposal_counts(proposals).items():
        total = sum(per_ticker.values())
        what = KIND_WORDS[kind][total != 1]
        if kind == "DIVIDEND":
            cash = sum(p.cash for p in proposals if p.kind == kind)
            what += f", {cash:,.2f} {base_currency} in all"
        tickers = ", ".join(f"{ticker} {count}" for ticker, count in per_ticker.items())
        lines.append(f"{total:,} {what}: {tickers}")
    return lines


def toggle_label(hidden: int, is_open: bool) -> str:
    if not hidden:
        return ""
    return (
        f"Hide the other {hidden:,} proposals"
        if is_open
        else f"Show the other {hidden:,} proposals"
    )


def proposal_items(proposals: list[Proposal]) -> list[html.Li]:
    return [
        html.Li(
            [
                dbc.Button(
                    f"Add {proposal.kind}",
                    id={"type": ids.PROPOSAL, "index": proposal.key},
                    size="sm",
                    color="outline-primary",
                    className="me-2 mb-1",
                ),
                proposal.explanation,
                ".",
            ],
            className="ledger-proposal small",
        )
        for proposal in proposals
    ]
