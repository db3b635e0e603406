"""Run by test_cache_directory.py in a mount namespace of its own (`unshare -m`): build the app
on a SQLite database and a cache directory under argv[1], break the cache directory while the
app runs, and print what the pages and /healthz answered, as JSON. argv[2] says how:
- read-only: a read-only bind mount over the directory (file modes do not stop root);
- full: the directory is a small tmpfs, filled up with a file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from dashapp import create_app
from dashapp.process import configure_process
from dashapp.settings import Settings

FULL_SIZE = "8m"


def main(root: Path, fault: str) -> None:
    cache = root / "cache"
    if fault == "full":
        cache.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={FULL_SIZE}", "tmpfs", str(cache)], check=True
        )
    settings = Settings.from_env(
        {},
        instance_dir=root / "instance",
        cache_dir=root / "cache",
        database_url=f"sqlite:///{root / 'app.db'}",
        market_data="demo",
        secret_key="cache-probe",
    )
    configure_process(settings)
    client = create_app(settings).server.test_client()
    created = client.post("/api/portfolios", json={"name": "Probe", "base_currency": "USD"})
    portfolio = created.get_json()["id"]
    bought = client.post(
        f"/api/portfolios/{portfolio}/transactions",
        json={
            "trade_date": "2024-01-02",
            "kind": "BUY",
            "ticker": "SPY",
            "quantity": 2,
            "price": 470,
        },
    )
    assert bought.status_code == 201, bought.get_data(as_text=True)

    def pages(benchmark: str) -> list[int]:
        """Statuses of pages that read and write the cache (a comparison not asked before is
        computed and stored), from a new thread (a thread opens its own SQLite connections,
        as a fresh server thread does)."""
        statuses: list[int] = []

        def visit() -> None:
            paths = (
                "/",
                f"/api/portfolios/{portfolio}/holdings",
                f"/api/portfolios/{portfolio}/performance?benchmarks={benchmark}&period=1Y",
            )
            statuses.extend(client.get(path).status_code for path in paths)

        thread = threading.Thread(target=visit)
        thread.start()
        thread.join()
        return statuses

    before = pages("SPY")
    if fault == "read-only":
        subprocess.run(["mount", "--bind", str(cache), str(cache)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(cache)], check=True)
    else:
        fill(cache / "filler")
    after = pages("QQQ")
    health = client.get("/healthz")
    print(
        json.dumps(
            {
                "before": before,
                "after": after,
                "healthz_status": health.status_code,
                "healthz": health.get_data(as_text=True),
            }
        )
    )


def fill(path: Path) -> None:
    """Write until the filesystem has no room left."""
    block = b"\0" * 65536
    with path.open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(block)
        except OSError:
            pass


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
