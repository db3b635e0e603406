"""Every default path derives from INSTANCE_DIR and is absolute; the demo market keeps its own
database and cache; a demo price is labelled demo whichever market the reader is set up for."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from dashapp.services.comparison import compare
from dashapp.services.comparison_requests import parse_request
from dashapp.services.context import build_context
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import holdings_view, list_portfolios
from dashapp.settings import Settings


def test_default_paths_are_absolute_and_under_the_instance_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"INSTANCE_DIR": "data/instance"})
    instance = tmp_path / "data" / "instance"
    assert settings.instance_dir == instance
    assert settings.cache_dir == instance / "cache"
    assert settings.metrics_dir == instance / "prometheus"
    assert settings.database_url == f"sqlite:///{instance / 'stocktracker.db'}"
    # A process started elsewhere later still means the same directories.
    monkeypatch.chdir("/")
    assert settings.cache_dir.is_absolute() and settings.instance_dir.is_absolute()


def test_explicit_relative_directories_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env(
        {"CACHE_DIR": "shared/cache", "PROMETHEUS_MULTIPROC_DIR": "~/metrics"}
    )
    assert settings.cache_dir == tmp_path / "shared" / "cache"
    assert settings.metrics_dir == Path(os.path.expanduser("~/metrics"))
    assert Settings.from_env({}).instance_dir == tmp_path / "instance"


def test_demo_mode_keeps_its_database_and_cache_in_a_folder_of_its_own(tmp_path):
    demo = Settings.from_env({"INSTANCE_DIR": str(tmp_path), "STOCKTRACKER_DEMO": "1"})
    plain = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})
    assert demo.database_url == f"sqlite:///{tmp_path / 'demo' / 'stocktracker.db'}"
    assert demo.cache_dir == tmp_path / "demo" / "cache"
    assert plain.database_url == f"sqlite:///{tmp_path / 'stocktracker.db'}"
    assert plain.cache_dir == tmp_path / "cache"
    # The key and the metrics files belong to the host, whatever the market.
    assert demo.instance_dir == plain.instance_dir


def test_a_plain_run_after_a_demo_run_in_the_same_folder_sees_no_demo_prices(tmp_path, clock):
    demo_settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path), "STOCKTRACKER_DEMO": "1"})
    demo = build_context(demo_settings, clock=clock)
    try:
        warm_demo_cache(demo, seed_demo_portfolio(demo))
        assert demo.store.latest_prices(["SPY"])["price"].notna().all()
    finally:
        demo.close()

    plain = build_context(Settings.from_env({"INSTANCE_DIR": str(tmp_path)}), clock=clock)
    try:
        assert list_portfolios(plain) == []
        assert plain.store.latest_prices(["SPY"])["price"].isna().all()
    finally:
        plain.close()


def test_demo_prices_read_by_a_yahoo_set_up_process_are_labelled_demo(
    tmp_path, database_url, clock
):
    shared = {"INSTANCE_DIR": str(tmp_path), "DATABASE_URL": database_url}
    demo = build_context(Settings.from_env({**shared, "MARKET_DATA": "demo"}), clock=clock)
    try:
        portfolio_id = seed_demo_portfolio(demo)
        warm_demo_cache(demo, portfolio_id)
    finally:
        demo.close()

    reader = build_context(Settings.from_env({**shared, "MARKET_DATA": "yahoo"}), clock=clock)
    try:
        assert not reader.is_demo_data
        view = holdings_view(reader, portfolio_id)
        assert set(view.holdings["source"]) == {"demo"}
        assert view.is_demo
        request = parse_request(
            portfolio_id,
            ["SPY"],
            None,
            (clock.now().date() - timedelta(days=200)).isoformat(),
            clock.now().date().isoformat(),
        )
        assert compare(reader, request, fetch=False)["demo_data"] is True
    finally:
        reader.close()
