"""The dashboard as plain HTML inside the index page: holdings, cards, badges and the HTML bar
charts are on screen before Dash's renderer has loaded a single script.

Dash's renderer replaces whatever its entry point holds the moment it boots (with "Loading..."),
so the first paint sits beside the entry point, not inside it: the page down to the holdings,
then the chart panels. While the first part is in the document,
assets/dashboard.css keeps the renderer's tree laid out but invisible (to eyes and to assistive
technology alike); assets/first_paint.js removes it once the real grid is drawn, and the chart
panels once the real ones are, so the page stays where it was. The copy carries no ids of the
real page and no focusable controls that would do nothing; the templates escape every text a
user typed. Without JavaScript it simply stays: a read-only dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import flask
from dash import Dash, html
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from dashapp.rules import CACHED, FRESH, MISSING, STALE
from dashapp.services.context import AppContext
from dashapp.services.dashboard import DashboardPage, dashboard_page
from dashapp.services.dashboard_panels import PANEL_PERIODS
from dashapp.ui.components import NO_VALUE, change_class, demo_label, is_number, money
from dashapp.ui.dashboard.holdings import (
    GRID_MIN_WIDTH,
    column_defs,
    holding_records,
    summary_cards,
    totals_note,
)
from dashapp.ui.dashboard.layout import DEFAULT_PERIOD
from dashapp.ui.dashboard.panels import (
    ALLOCATION_CHOICES,
    ALLOCATION_NOTE,
    allocation_figure,
    movers_figure,
)
from dashapp.ui.shell import NAV_LINKS

DASHBOARD_PATH = "/"
log = logging.getLogger(__name__)
ENTRY_POINT = 'id="react-entry-point"'
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
BADGE_COLORS = {FRESH: "success", CACHED: "info", STALE: "warning", MISSING: "secondary"}


@dataclass(frozen=True)
class FirstPaint:
    """The page down to the holdings, and the chart panels: the real panels are the last thing
    of the page and are drawn after the holdings (dashboard.callbacks.MOUNT_AFTER_HOLDINGS), so
    each part leaves on its own. Both come before the entry point, to be painted before the renderer's
    scripts run; the panels move behind the entry point when the real page shows."""

    page: str
    panels: str


@dataclass(frozen=True)
class Cell:
    text: str
    css_class: str = ""
    badge: str | None = None
    badge_class: str = ""
    badge_title: str = ""


@dataclass(frozen=True)
class Column:
    header: str
    min_width: int
    numeric: bool


def install_first_paint(app: Dash, app_context: AppContext) -> None:
    """Answer the dashboard's address with its first paint before the renderer's entry point."""
    interpolate = app.interpolate_index

    def interpolate_index(**parts: str) -> str:
        painted = _first_paint_of_request(app_context)
        if painted:
            # Inert until the first paint leaves: nothing of the hidden tree takes focus.
            entry = parts.get("app_entry", "").replace(ENTRY_POINT, ENTRY_POINT + " inert", 1)
            parts["app_entry"] = painted.page + painted.panels + entry
        return interpolate(**parts)

    app.interpolate_index = interpolate_index


def _first_paint_of_request(app_context: AppContext) -> FirstPaint | None:
    if not flask.has_request_context():
        return None
    request = flask.request
    if request.method != "GET" or (request.path.rstrip("/") or "/") != DASHBOARD_PATH:
        return None
    try:
        return first_paint(app_context)
    except Exception:
        # The first paint only hastens the page: without it the renderer draws the same page,
        # and says what failed, as it did before there was a first paint.
        log.exception("the dashboard's first paint failed; the page is sent without it")
        return None


def first_paint(app_context: AppContext) -> FirstPaint | None:
    """The dashboard's first portfolio as static HTML, or None when there is no portfolio with
    holdings to show (the empty states need working controls, so Dash draws them)."""
    page = dashboard_page(app_context, period=DEFAULT_PERIOD)
    if page.snapshot is None or page.snapshot.holdings.holdings.empty:
        return None
    context = _context(page, app_context)
    return FirstPaint(
        page=TEMPLATES.get_template("first_paint.html").render(**context),
        panels=TEMPLATES.get_template("first_paint_panels.html").render(**context),
    )


def _context(page: DashboardPage, app_context: AppContext) -> dict[str, object]:
    snapshot = page.snapshot
    view = snapshot.holdings
    currency = view.portfolio.base_currency
    defs = [column for column in column_defs(currency) if not column.get("hide")]
    formats = _cell_formats(currency)
    records = sorted(holding_records(view), key=_market_value_first)
    waiting = snapshot.prices_missing
    return {
        "is_demo": app_context.is_demo_data,
        "demo_label": static_html(demo_label()),
        "nav_links": [(text, href) for text, href, _active in NAV_LINKS],
        "allocation_note": ALLOCATION_NOTE,
        "view": view,
        "cards": summary_cards(view),
        "totals_note": totals_note(view),
        "columns": [
            Column(
                column["headerName"],
                column.get("minWidth", GRID_MIN_WIDTH),
                column["field"] not in ("ticker", "price"),
            )
            for column in defs
        ],
        "rows": [[formats[column["field"]](record) for column in defs] for record in records],
        "benchmarks": page.benchmarks,
        "periods": PANEL_PERIODS,
        "period": page.period,
        "benchmark_waiting": page.benchmark_panel is None,
        "charts_waiting": waiting,
        "allocation_choices": list(ALLOCATION_CHOICES.values()),
        "allocation": static_html(allocation_figure(snapshot, "holding")),
        "movers": static_html(movers_figure(snapshot)),
    }


def _market_value_first(record: dict) -> tuple[bool, float]:
    """The grid's initial order: market value, largest first, holdings without a value last."""
    value = record["market_value"]
    return (not is_number(value), -value if is_number(value) else 0.0)


def _cell_formats(currency: str) -> dict[str, Callable[[dict], Cell]]:
    """Each column's text as the grid's formatters (assets/dashAgGridFunctions.js) write it."""
    symbol = "$" if currency == "USD" else f"{currency} "

    def changing(field: str, text: Callable[[object], str]) -> Callable[[dict], Cell]:
        return lambda record: Cell(text(record[field]), change_class(record[field]))

    return {
        "ticker": lambda record: Cell(str(record["ticker"]), "fw-bold"),
        "quantity": lambda record: Cell(quantity(record["quantity"])),
        "average_cost": lambda record: Cell(money(record["average_cost"], currency)),
        "price": lambda record: _price_cell(record, symbol),
        "day_change": changing("day_change", lambda v: money(v, currency, signed=True)),
        "day_change_pct": changing("day_change_pct", lambda v: percent(v, signed=True)),
        "market_value": lambda record: Cell(money(record["market_value"], currency)),
        "unrealized_gain": changing("unrealized_gain", lambda v: money(v, currency, signed=True)),
        "unrealized_gain_pct": changing("unrealized_gain_pct", lambda v: percent(v, signed=True)),
        "weight": lambda record: Cell(percent(record["weight"], signed=False)),
    }


def _price_cell(record: dict, symbol: str) -> Cell:
    price = record["price"]
    freshness = str(record["freshness"])
    return Cell(
        f"{symbol}{price:,.2f}" if is_number(price) else "no price",
        badge=freshness,
        badge_class=f"freshness-{freshness} text-bg-{BADGE_COLORS.get(freshness, 'secondary')}",
        badge_title=str(record["freshness_title"] or ""),
    )


def percent(value: object, signed: bool) -> str:
    """A fraction as a percentage with two decimals, as the grid's formatPercent writes it."""
    if not is_number(value):
        return NO_VALUE
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value * 100:,.2f}%"


def quantity(value: object) -> str:
    """Up to four decimals without trailing zeros, as the grid's formatQuantity writes it."""
    if not is_number(value):
        return NO_VALUE
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def static_html(component: object) -> Markup:
    """A tree of dash.html components as HTML; text and attributes are escaped. Only what the
    dashboard's HTML charts use is supported (tag, class, style, title, children)."""
    return Markup(_html_of(component))


def _html_of(component: object) -> str:
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(escape(str(component)))
    if isinstance(component, list | tuple):
        return "".join(_html_of(child) for child in component)
    if not isinstance(component, html.Div | html.Span):
        raise TypeError(f"no static HTML for {type(component).__name__}")
    tag = type(component).__name__.lower()
    attributes = ""
    class_name = getattr(component, "className", None)
    if class_name:
        attributes += f' class="{escape(class_name)}"'
    style = getattr(component, "style", None)
    if style:
        css = "; ".join(f"{_css_name(name)}: {value}" for name, value in style.items())
        attributes += f' style="{escape(css)}"'
    title = getattr(component, "title", None)
    if title:
        attributes += f' title="{escape(title)}"'
    return f"<{tag}{attributes}>{_html_of(getattr(component, 'children', None))}</{tag}>"


def _css_name(name: str) -> str:
    return "".join(f"-{char.lower()}" if char.isupper() else char for char in name)


__all__ = ["first_paint", "install_first_paint", "static_html"]
