"""What a person sees: time from navigation to holdings, and to the first dashboard chart, in Chromium.

Warm server cache: prices of every holding and of SPY are stored, and one page load has run
(so finished charts are cached) before timing starts. Cases: the demo portfolio (13 holdings)
and a demo portfolio of 50 holdings. Each case is served by its own server process built from
`--repo` (default: this checkout), so the same script measures an older commit checked out with
`git worktree add /tmp/prev <commit>`:

    python bench/browser_load.py [--runs 9] [--repo PATH] [--label NAME]
    python bench/browser_load.py --compare /tmp/prev      # this checkout, then the other one

Times are read inside the page (performance.now(), from navigation start): a MutationObserver
watches for a holdings row, or a chart's first trace or bar, that is in the DOM and visible (no
`visibility: hidden`, `opacity: 0` or `display: none` on it or an ancestor), and the time is
taken in the next animation frame, the one that paints it. A holdings row counts wherever a
person sees it: in the page's first paint (static HTML sent with the page) or in the real grid.
Prints one line per case:
`case=... holdings_visible_ms_median=... chart_visible_ms_median=...` (`none` when the page
draws no dashboard chart), then `grid_visible_ms_median=` (the interactive grid's rows are on
screen; the same as holdings for a page without a first paint) and `plotly_chart_ms_median=`
(the value chart's first line).
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
GRID = "#holdings-table .holding-row"
HOLDINGS = f"{GRID}, .first-paint .holding-row"
PLOTLY = "#benchmark-chart .scatterlayer .trace"
# Plotly traces, or (since the allocation and movers panels are HTML) their bars.
CHARTS = (
    f"{PLOTLY}, #allocation-chart .barlayer .trace, "
    "#movers-chart .barlayer .trace, #allocation-chart .bar-row, #movers-chart .bar-row, "
    ".first-paint .bar-row"
)
CHART_WAIT_MS = 15_000
CASES = {"demo13": 13, "demo50": 50}

# Runs in a server process inside the measured checkout: only APIs every measured commit has
# (configure_process where the commit has it).
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
    try:
        from dashapp.process import configure_process
    except ImportError:
        pass  # a commit from before entry points configured the process: create_app did
    else:
        configure_process(settings)
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

# Records when each selector first matches a visible element, in ms since navigation start.
# A change to the DOM schedules one check in the next animation frame (the frame that paints
# it); checking on every change would force style work in the middle of the renderer's own.
OBSERVER = textwrap.dedent(
    """
    window.__seen = {};
    const watch = %s;
    const shown = (element) => {
      if (getComputedStyle(element).display === "contents") {
        return Array.from(element.children).some(shown);
      }
      return element.checkVisibility({opacityProperty: true, visibilityProperty: true});
    };
    let scheduled = false;
    const check = (now) => {
      scheduled = false;
      for (const [name, selector] of Object.entries(watch)) {
        if (!(name in window.__seen)
            && Array.from(document.querySelectorAll(selector)).some(shown)) {
          window.__seen[name] = now;
        }
      }
    };
    new MutationObserver(() => {
      if (!scheduled) {
        scheduled = true;
        requestAnimationFrame(check);
      }
    }).observe(document, {childList: true, subtree: true, attributes: true});
    """
) % json.dumps({"holdings": HOLDINGS, "chart": CHARTS, "grid": GRID, "plotly": PLOTLY})


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


def load_once(context, url: str) -> dict[str, float]:
    """One page load: ms from navigation start to each of holdings, chart, grid and plotly
    (a chart never drawn is left out)."""
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(HOLDINGS, timeout=30_000)
        page.wait_for_selector(GRID, timeout=30_000)
        shown = ["holdings", "grid"]
        # A commit without dashboard charts draws none: its chart time is "none".
        for name, selector in (("chart", CHARTS), ("plotly", PLOTLY)):
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_selector(selector, timeout=CHART_WAIT_MS)
                shown.append(name)
        # The observer times each in the frame after Playwright saw it.
        page.wait_for_function(
            f"{json.dumps(shown)}.every((name) => name in window.__seen)", timeout=10_000
        )
        return page.evaluate("window.__seen")
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
            print(
                f"repo={label} case={case} holdings={holdings} runs={runs} "
                f"holdings_visible_ms_median={_median(results, 'holdings')} "
                f"chart_visible_ms_median={_median(results, 'chart')} "
                f"grid_visible_ms_median={_median(results, 'grid')} "
                f"plotly_chart_ms_median={_median(results, 'plotly')}",
                flush=True,
            )
        browser.close()


def _median(results: list[dict[str, float]], name: str) -> str:
    """The median in ms, or "none" when some load never showed it."""
    times = [result[name] for result in results if name in result]
    return f"{statistics.median(times):.0f}" if len(times) == len(results) else "none"


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
