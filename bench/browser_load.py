"""What a person sees: time from navigation to holdings, and to the first dashboard chart, in Chromium.

Warm server cache: prices of every holding and of SPY are stored, and one page load has run
(so finished charts are cached) before timing starts. Cases: the demo portfolio (13 holdings)
and a demo portfolio of 50 holdings. Each case is served by its own server process built from
`--repo` (default: this checkout), so the same script measures an older commit checked out with
`git worktree add /tmp/prev <commit>`:

    python bench/browser_load.py [--runs 9] [--repo PATH] [--label NAME]
    python bench/browser_load.py --compare /tmp/prev      # this checkout, then the other one

Times are read inside the page (performance.now(), from navigation start) by a MutationObserver
the moment a holdings row, or a chart's first trace, is in the DOM. Prints one line per case:
`case=... holdings_visible_ms_median=... chart_visible_ms_median=...` (`none` when the page
draws no dashboard chart).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOLDINGS = "#holdings-table .holding-row"
# Plotly traces, or (since the allocation and movers panels are HTML) their bars.
CHARTS = (
    "#benchmark-chart .scatterlayer .trace, #allocation-chart .barlayer .trace, "
    "#movers-chart .barlayer .trace, #allocation-chart .bar-row, #movers-chart .bar-row"
)
CHART_WAIT_MS = 15_000
CASES = {"demo13": 13, "demo50": 50}

# Runs in a server process inside the measured checkout: only APIs every measured commit has.
SERVER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, date, datetime, timedelta
    from pathlib import Path

    from werkzeug.serving import make_server

    from dashapp import context_of, create_app
    from dashapp.clock import FrozenClock
    from dashapp.db.models import Portfolio, Transaction
    from dashapp.services.demo import demo_tickers, seed_demo_portfolio, warm_demo_cache
    from dashapp.settings import Settings

    holdings, workdir = int(sys.argv[1]), Path(sys.argv[2])
    # A Wednesday after the close, late enough that the demo ledger holds all 13 tickers.
    now = datetime(2025, 6, 4, 22, 0, tzinfo=UTC)
    settings = Settings.from_env(
        {},
        instance_dir=workdir / "instance",
        cache_dir=workdir / "cache",
        database_url=f"sqlite:///{workdir / 'bench.db'}",
        market_data="demo",
        secret_key="bench",
    )
    app = create_app(settings, clock=FrozenClock(now))
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    if holdings > len(demo_tickers()):
        # The demo ledger plus synthetic tickers of the demo market, each bought twice.
        extra = [f"X{index:03d}" for index in range(holdings - len(demo_tickers()))]
        with context.db.session() as session:
            session.add_all(
                Transaction(
                    portfolio_id=portfolio_id, trade_date=day, kind="BUY", ticker=ticker,
                    quantity=quantity, price=price, fees=1.0, currency="USD",
                )
                for ticker in extra
                for day, quantity, price in ((date(2023, 3, 1), 10.0, 50.0),
                                             (date(2024, 9, 3), 5.0, 60.0))
            )
            portfolio = session.get(Portfolio, portfolio_id)
            portfolio.version += 1
    warm_demo_cache(context, portfolio_id)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()
    """
)

# Records when each selector first matches, in ms since navigation start.
OBSERVER = textwrap.dedent(
    """
    window.__seen = {};
    const watch = %s;
    const check = () => {
      for (const [name, selector] of Object.entries(watch)) {
        if (!(name in window.__seen) && document.querySelector(selector)) {
          window.__seen[name] = performance.now();
        }
      }
    };
    new MutationObserver(check).observe(document, {childList: true, subtree: true});
    """
) % json.dumps({"holdings": HOLDINGS, "chart": CHARTS})


def serve(repo: Path, holdings: int, workdir: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(holdings), str(workdir)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    line = process.stdout.readline()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"the server of {repo} did not start")
    return process, f"http://127.0.0.1:{line.split()[1]}/"


def load_once(context, url: str) -> tuple[float, float | None]:
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(HOLDINGS, timeout=30_000)
        # A commit without dashboard charts draws none: its chart time is "none".
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_selector(CHARTS, timeout=CHART_WAIT_MS)
        seen = page.evaluate("window.__seen")
        return seen["holdings"], seen.get("chart")
    finally:
        page.close()


def measure(repo: Path, label: str, runs: int) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        for case, holdings in CASES.items():
            with tempfile.TemporaryDirectory() as workdir:
                process, url = serve(repo, holdings, Path(workdir))
                try:
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    context.add_init_script(OBSERVER)
                    # Warm-up: browser cache of scripts, server caches of finished charts.
                    for _ in range(2):
                        load_once(context, url)
                    results = [load_once(context, url) for _ in range(runs)]
                    context.close()
                finally:
                    process.terminate()
                    process.wait(timeout=10)
            holdings_ms = statistics.median(result[0] for result in results)
            charts = [result[1] for result in results if result[1] is not None]
            chart_ms = f"{statistics.median(charts):.0f}" if len(charts) == runs else "none"
            print(
                f"repo={label} case={case} holdings={holdings} runs={runs} "
                f"holdings_visible_ms_median={holdings_ms:.0f} "
                f"chart_visible_ms_median={chart_ms}",
                flush=True,
            )
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--repo", type=Path, default=HERE, help="checkout to measure")
    parser.add_argument("--label", default=None, help="name printed for --repo")
    parser.add_argument("--compare", type=Path, help="a second checkout, measured after --repo")
    arguments = parser.parse_args()
    measure(arguments.repo.resolve(), arguments.label or _describe(arguments.repo), arguments.runs)
    if arguments.compare:
        measure(arguments.compare.resolve(), _describe(arguments.compare), arguments.runs)


def _describe(repo: Path) -> str:
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return commit or str(repo)


if __name__ == "__main__":
    main()
