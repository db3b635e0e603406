"""A cache directory that turns read-only or disappears under a running app never breaks a
page: everything in the cache can be computed again from the database, and `/healthz` says
what is wrong with the cache, without naming paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from dashapp import context_of
from dashapp.services.shared_cache import DIRECTORY_CHECK_SECONDS
from tests.servers import ROOT


def can_mount() -> bool:
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True
    )
    return probe.returncode == 0


@pytest.mark.skipif(not can_mount(), reason="needs a private mount namespace (root)")
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        # Either is a true account of a read-only directory: a refused write, or SQLite's busy
        # answer that diskcache reports as a lock timeout. The second appeared, deterministically,
        # once the accounts hooks were installed; which hook tips it was not pinned down.
        (
            "read-only",
            ("attempt to write a readonly database", "timed out waiting for the cache's lock"),
        ),
        ("full", ("database or disk is full",)),
    ],
)
def test_read_only_or_full_cache_directory_keeps_pages_answering(tmp_path, fault, reason):
    """cache_probe.py breaks the directory under the running app (in a mount namespace of its
    own) and asks for a comparison not cached before, which is computed and stored."""
    finished = subprocess.run(
        [
            *("unshare", "-m", "--propagation", "private"),
            *(sys.executable, "-m", "tests.production.cache_probe", str(tmp_path), fault),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = json.loads(finished.stdout.strip().splitlines()[-1])
    assert report["before"] == [200, 200, 200]
    assert report["after"] == [200, 200, 200]
    assert report["healthz_status"] == 503
    cache = json.loads(report["healthz"])["checks"]["cache"]
    assert cache["ok"] is False
    assert cache["reason"] in {f"cannot write to the cache: {each}" for each in reason}
    assert str(tmp_path) not in report["healthz"]


def add_holding(client) -> int:
    portfolio = client.post(
        "/api/portfolios", json={"name": "Cache", "base_currency": "USD"}
    ).get_json()["id"]
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
    assert bought.status_code == 201
    return portfolio


def test_deleted_cache_directory_is_recreated_and_pages_answer(app, client, settings):
    portfolio = add_holding(client)
    performance = f"/api/portfolios/{portfolio}/performance?period=1Y&benchmarks="
    assert client.get(performance + "SPY").status_code == 200
    shutil.rmtree(settings.cache_dir)

    # At once (before the cache notices) and after: pages answer, results are stored again.
    assert client.get(f"/api/portfolios/{portfolio}/holdings").status_code == 200
    assert client.get(performance + "QQQ").status_code == 200
    time.sleep(DIRECTORY_CHECK_SECONDS + 0.2)
    assert client.get(performance + "IWM").status_code == 200
    assert (settings.cache_dir / "shared" / "cache.db").is_file()
    assert context_of(app).cache.get("viewed:SPY") is not None

    health = client.get("/healthz")
    assert health.status_code == 200
    cache = health.get_json()["checks"]["cache"]
    assert cache["ok"] is True
    assert cache["last_fault"] == (
        "recreate: the cache directory was missing and has been recreated"
    )
    assert str(settings.cache_dir) not in health.get_data(as_text=True)
