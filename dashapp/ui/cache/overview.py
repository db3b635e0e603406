"""The cache page's overview cards: hit rates, circuit breakers and request budgets in words."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashapp.services.cache_status import CacheSnapshot
from dashapp.telemetry.hit_tally import HitRate
from dashapp.ui.cache import ids


def overview(view: CacheSnapshot) -> dbc.Row:
    cards = [
        ("Hit rate, last hour", _hit_rate(view.hit_rates["hour"]), ids.HIT_HOUR),
        ("Hit rate, last day", _hit_rate(view.hit_rates["day"]), ids.HIT_DAY),
        ("Circuit breaker", _breakers(view.breakers), ids.BREAKER),
        ("Request budget", _budgets(view.budgets), ids.BUDGET),
    ]
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(title, className="text-muted small"),
                            html.Div(text, className="fs-5", id=card_id),
                        ]
                    )
                ),
                md=3,
                className="mb-3",
            )
            for title, text, card_id in cards
        ]
    )


def _hit_rate(rate: HitRate) -> str | list:
    if rate.rate is None:
        return "no lookups"
    counts = html.Span(
        f"({rate.hits:,} hits, {rate.misses:,} misses)", className="small text-muted"
    )
    return [f"{rate.rate:.1%} ", counts]


def _breakers(rows: list[dict]) -> str:
    if not rows:
        return "none"
    parts = []
    for row in rows:
        text = f"{row['provider']}: {row['state']}"
        if row.get("seconds_until_half_open"):
            text += f", half-open in {row['seconds_until_half_open']:.0f} s"
        parts.append(text)
    return "; ".join(parts)


def _budgets(rows: list[dict]) -> str:
    if not rows:
        return "unlimited"
    return "; ".join(
        f"{row['provider']}: {row['tokens_left']:g} of {row['capacity']:g} left" for row in rows
    )
