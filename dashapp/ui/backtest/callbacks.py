"""The backtest page's callbacks: the strategies a subject allows, the fields shown, answering
a run from the cache or at once, the background job that fetches prices first, and drawing
the result.

Every run takes one from the user's backtest quota, a sweep from the sweep quota
(`dashapp/quotas.py`): a run answered at once is charged by `ask` (checked before it computes),
one that must fetch prices first by the background job, so a job started by a hand-made
callback POST is charged too, and a run is never charged twice.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, no_update

from dashapp.quotas import OverQuota, backtest_quota, quotas_of
from dashapp.services.answers import Ready
from dashapp.services.backtest_requests import (
    BASKET_STRATEGIES,
    TICKER_STRATEGIES,
    parse_backtest_request,
)
from dashapp.services.backtests import answer, run_backtest
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound
from dashapp.ui.backtest import ids
from dashapp.ui.backtest.figures import (
    blank_figure,
    drawdown_figure,
    equity_figure,
    heatmap_figure,
    metrics_table,
)
from dashapp.ui.backtest.form import (
    FORM_FIELDS,
    TOGGLED_FIELDS,
    blank_number,
    form_request,
    shown_fields,
)
from dashapp.ui.backtest.layout import DRAWDOWN_STYLE, HIDDEN
from dashapp.ui.backtest.messages import (
    CLEARED,
    COMPUTING,
    invalid,
    provenance_text,
    strategy_note,
    summary,
)
from dashapp.ui.backtest.words import STRATEGY_LABELS
from dashapp.ui.job_controls import answer_in_background, percent_label


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    form_states = [State(component, prop) for component, prop in FORM_FIELDS.values()]

    @app.callback(
        Output(ids.STRATEGY, "options"),
        Output(ids.STRATEGY, "value"),
        Output(ids.STRATEGY_NOTE, "children"),
        Input(ids.SUBJECT, "value"),
        Input(ids.STRATEGY, "value"),
    )
    def choose_subject(subject, strategy):
        """A ticker runs SMA, buy-and-hold or DCA; a portfolio's basket is held or rebalanced.
        A strategy the new subject cannot run is cleared with a note saying why, never
        swapped for another one behind the user's back."""
        allowed = BASKET_STRATEGIES if subject == "portfolio" else TICKER_STRATEGIES
        options = [{"label": STRATEGY_LABELS[name], "value": name} for name in allowed]
        if strategy is None or strategy in allowed:
            return options, no_update, ""
        return options, None, strategy_note(subject, strategy)

    @app.callback(
        [Output(ids.field(control), "style") for control in TOGGLED_FIELDS.values()],
        Input(ids.SUBJECT, "value"),
        Input(ids.STRATEGY, "value"),
        Input(ids.SWEEP, "value"),
        Input(ids.PERIOD, "value"),
        Input(ids.CONTRIBUTIONS, "value"),
    )
    def show_fields(subject, strategy, sweep, period, contributions):
        shown = shown_fields(subject, strategy, bool(sweep), period, contributions)
        return [None if name in shown else HIDDEN for name in TOGGLED_FIELDS]

    @app.callback(
        Output(ids.RESULT, "data"),
        Output(ids.JOB, "data"),
        Output(ids.MESSAGE, "children"),
        Input(ids.RUN, "n_clicks"),
        *form_states,
        prevent_initial_call=True,
    )
    def ask(_clicks, *values):
        """Answer from the cache, or at once when every price is cached; else start a job."""
        form = dict(zip(FORM_FIELDS, values, strict=True))
        # Whatever happens, the last run's results leave the page: they answered another question.
        if form["subject"] == "portfolio" and form["portfolio"] is None:
            return CLEARED, no_update, invalid(InvalidInput("portfolio_id", "choose a portfolio"))
        if form["strategy"] is None:
            return CLEARED, no_update, invalid(InvalidInput("strategy", "choose a strategy"))
        blank = blank_number(form)
        if blank is not None:
            whole = " (a whole number of sessions)" if blank in ("fast", "slow") else ""
            return CLEARED, no_update, invalid(InvalidInput(blank, f"enter a number{whole}"))
        raw = form_request(form)
        quotas = quotas_of(app.server)
        try:
            request = parse_backtest_request(raw)
            quotas.check(backtest_quota(request.sweep))
            answered = answer(app_context, request)
            if isinstance(answered, Ready):
                # Computed now or read from the cache; should the charge now fail (another
                # tab took the last place), the result waits in the cache for the retry.
                quotas.charge(backtest_quota(request.sweep))
        except InvalidInput as error:
            return CLEARED, no_update, invalid(error)
        except PortfolioNotFound:
            return None, no_update, "This portfolio no longer exists."
        except OverQuota as refusal:
            return CLEARED, no_update, _refused(refusal)
        if isinstance(answered, Ready):
            return answered.result, no_update, summary(answered.result)
        return COMPUTING, raw, "Fetching prices and computing in the background…"

    @answer_in_background(app, ids)
    def run_job(set_progress, raw):
        try:
            request = parse_backtest_request(raw)
            quotas_of(app.server).charge(backtest_quota(request.sweep))
            result = run_backtest(
                app_context, request, fetch=True, progress=percent_label(set_progress)
            )
        except InvalidInput as error:
            return no_update, invalid(error)
        except PortfolioNotFound:
            return None, "This portfolio no longer exists."
        except OverQuota as refusal:
            return CLEARED, _refused(refusal)
        set_progress((100, "done"))
        return result, summary(result)

    @app.callback(
        Output(ids.EQUITY, "figure"),
        Output(ids.DRAWDOWN, "figure"),
        Output(ids.DRAWDOWN, "style"),
        Output(ids.HEATMAP, "figure"),
        Output(ids.HEATMAP, "style"),
        Output(ids.METRICS, "children"),
        Output(ids.TRADES, "rowData"),
        Output(ids.PROVENANCE, "children"),
        Input(ids.RESULT, "data"),
    )
    def draw(result):
        if not result or not result.get("series"):
            message = ((result or {}).get("warnings") or ["Press Run backtest"])[0]
            return (
                blank_figure(message),
                blank_figure(""),
                HIDDEN,
                blank_figure(""),
                HIDDEN,
                None,
                [],
                provenance_text(result) if result else None,
            )
        sweep = result.get("sweep")
        return (
            equity_figure(result),
            drawdown_figure(result),
            DRAWDOWN_STYLE,
            heatmap_figure(sweep, result["metrics"]["buy_and_hold"]) if sweep else blank_figure(""),
            {"display": "block"} if sweep else HIDDEN,
            metrics_table(result),
            result["trades"],
            provenance_text(result),
        )


def _refused(refusal: OverQuota) -> dbc.Alert:
    """Nothing was run: the quota is used up, and when the user may run again."""
    return dbc.Alert(refusal.message, color="warning", className="py-1 mb-0")
