"""The demo's pages as a person opens them, and what each shows once its callbacks have drawn it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# path ("{id}" is the demo portfolio's id) -> a selector present once the page is ready.
DEMO_PAGES = {
    "/": "#page-content .ag-row",
    "/compare": "#metrics-table",
    "/backtest": "#backtest-run",
    "/portfolios": "#portfolios-table",
    "/portfolios/{id}": "#ledger-grid .ag-row",
    "/cache": "#cache-grid .ag-row",
}


def open_ready(page, base: str, path: str, portfolio_id: int) -> str:
    """Open `path` and wait until it is drawn; returns the concrete path."""
    concrete = path.format(id=portfolio_id)
    page.goto(base + concrete)
    page.wait_for_selector(DEMO_PAGES[path], timeout=20_000)
    # Let pending callbacks settle: Dash marks the document while it waits on the server.
    page.wait_for_function(
        "!document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=20_000
    )
    return concrete
