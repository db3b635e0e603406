"""The user mix of bench/load.py: people who open the dashboard, read holdings, compare with ETFs
and run backtests, with 0.25-0.75 s between actions.

Run by bench/load.py (headless, one level of users at a time); it can also be run by hand:

    .venv-load/bin/locust -f bench/locustfile.py --host http://127.0.0.1:8050

Dash callbacks are posted as the browser's renderer posts them, built from the app's own
`/_dash-dependencies`, so the payloads follow the app when its callbacks change.
"""

from __future__ import annotations

import json
import random
from typing import Any

from locust import HttpUser, between, task

SUGGESTED_BENCHMARKS = ("SPY", "QQQ", "VTI", "VOO", "IWM", "DIA", "VXUS", "BND", "AGG", "SCHD")
PERIODS = ("1M", "3M", "YTD", "1Y", "3Y", "5Y")
BACKTEST_TICKERS = ("AAPL", "MSFT", "SPY", "QQQ", "NVDA", "JNJ")
STRATEGIES = ("buy_and_hold", "sma_crossover", "dca")


class DashboardUser(HttpUser):
    wait_time = between(0.25, 0.75)

    def on_start(self) -> None:
        listed = self.client.get("/api/portfolios", name="/api/portfolios").json()
        rows = listed["portfolios"] if isinstance(listed, dict) else listed
        self.portfolio_ids = [row["id"] for row in rows] or [1]
        self.dependencies = self.client.get("/_dash-dependencies").json()

    def portfolio(self) -> int:
        return random.choice(self.portfolio_ids)

    @task(3)
    def open_dashboard(self) -> None:
        """What a browser asks for on opening `/`: the page, its layout and callback map, the
        router callback; then the person picks a portfolio and a benchmark set in the panel."""
        self.client.get("/", name="/ (page)")
        self.client.get("/_dash-layout", headers={"Referer": self.host + "/"})
        self.client.get("/_dash-dependencies")
        self.callback("page-content.children", {"url.pathname": "/", "rendered-path.data": "/"})
        portfolio = self.portfolio()
        self.callback(
            "dashboard-body.children",
            {"portfolio-select.value": portfolio, "auto-refreshed.data": [portfolio]},
            changed=["portfolio-select.value"],
        )
        self.callback(
            "benchmark-chart.figure",
            {
                "portfolio-select.value": portfolio,
                "panel-period.value": random.choice(PERIODS),
                "panel-benchmarks.value": self.benchmarks(),
            },
            changed=["panel-benchmarks.value"],
        )

    @task(3)
    def holdings(self) -> None:
        self.client.get(
            f"/api/portfolios/{self.portfolio()}/holdings", name="/api/portfolios/[id]/holdings"
        )

    @task(3)
    def performance(self) -> None:
        self.client.get(
            f"/api/portfolios/{self.portfolio()}/performance",
            params={"benchmarks": ",".join(self.benchmarks()), "period": random.choice(PERIODS)},
            name="/api/portfolios/[id]/performance",
        )

    @task(1)
    def backtest(self) -> None:
        body: dict[str, Any] = {
            "ticker": random.choice(BACKTEST_TICKERS),
            "strategy": random.choice(STRATEGIES),
            "period": random.choice(("1Y", "3Y", "5Y")),
        }
        self.client.post("/api/backtests", json=body, name="/api/backtests")

    def benchmarks(self) -> list[str]:
        return random.sample(SUGGESTED_BENCHMARKS, random.randint(1, 4))

    def callback(
        self, output: str, values: dict[str, Any], changed: list[str] | None = None
    ) -> None:
        """POST the callback whose outputs include `output`; inputs and state not in `values`
        are sent as None, as the renderer sends a property a component has not set."""
        spec = next(
            (item for item in self.dependencies if output in _output_names(item["output"])),
            None,
        )
        if spec is None:
            # The app no longer has this callback: a failure, not a silent skip.
            self.environment.events.request.fire(
                request_type="POST",
                name=f"callback {output}",
                response_time=0,
                response_length=0,
                exception=LookupError(f"no callback outputs {output}"),
            )
            return
        payload = {
            "output": spec["output"],
            "outputs": _outputs(spec["output"]),
            "inputs": [_value(item, values) for item in spec["inputs"]],
            "state": [_value(item, values) for item in spec.get("state", [])],
            "changedPropIds": changed or [],
        }
        with self.client.post(
            "/_dash-update-component",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
            name=f"callback {output}",
            catch_response=True,
        ) as response:
            # 204 is Dash's "nothing to update" (PreventUpdate): a normal answer.
            if response.status_code in (200, 204):
                response.success()
            else:
                response.failure(f"status {response.status_code}")


def _output_names(key: str) -> list[str]:
    """The outputs a callback map key names; one declared with allow_duplicate keeps its
    "@hash" suffix, so "x.children" names only the callback that owns it."""
    return key.strip(".").split("...") if key.startswith("..") else [key]


def _outputs(key: str) -> list[dict[str, str]] | dict[str, str]:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    specs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]
    return specs if key.startswith("..") else specs[0]


def _value(item: dict[str, str], values: dict[str, Any]) -> dict[str, Any] | list[Any]:
    if item["id"].startswith("{"):
        return []  # pattern-matching inputs: no such component on the page
    name = f"{item['id']}.{item['property']}"
    return {"id": item["id"], "property": item["property"], "value": values.get(name)}
