"""Each part of a request's time is measured where it happens: engine events, the timed cache,
the timed provider; outside a request nothing is measured."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, text

from dashapp.telemetry import timing


def test_statements_cache_accesses_and_provider_calls_land_in_their_parts(tmp_path, app_context):
    engine = create_engine(f"sqlite:///{tmp_path / 'timed.db'}")
    timing.install_db_timing(engine)
    cache = timing.TimedCache(str(tmp_path / "timed-cache"))
    provider = timing.TimedProvider(app_context.provider)
    today = app_context.clock.now().date()

    measured = timing.begin()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        cache.set("key", "value")
        assert cache.get("key") == "value"
        provider.history(["SPY"], today - timedelta(days=10), today)
    finally:
        timing.end()
        cache.close()
        engine.dispose()

    assert measured.parts["db"] > 0
    assert measured.parts["cache"] > 0
    assert measured.parts["upstream"] > 0
    # The wrapper is the provider as far as anyone asks.
    assert provider.name == "demo"
    assert provider.breaker_status()["state"] == "closed"


def test_nothing_is_measured_outside_a_request(tmp_path):
    cache = timing.TimedCache(str(tmp_path / "timed-cache"))
    cache.set("key", "value")
    cache.close()
    assert timing.current() is None


def test_header_rounds_parts_down_and_the_total_up():
    measured = timing.RequestTiming(parts={"db": 0.0012345, "cache": 0.0000019, "upstream": 0.0})
    # compute = 2.0001 - 1.2345 - 0.0019 = 0.7637 ms; parts floored, total ceiled to 1 µs.
    assert timing.server_timing(measured, total=0.0020001) == (
        "db;dur=1.234, cache;dur=0.001, upstream;dur=0.000, compute;dur=0.763, total;dur=2.001"
    )


def render() -> None:
    """Stands in for a callback function; only its name and module matter."""


def draw() -> None:
    """A second callback function."""


def test_callbacks_are_labelled_by_function_and_by_outputs_when_names_collide():
    callback_map = {
        "page-content.children": {"callback": render},
        "..chart.figure...table.children..": {"callback": draw},
        "..chart.figure@0a1b2c...message.children..": {"callback": draw},
    }
    assert timing.callback_labels(callback_map) == {
        "page-content.children": "callback test_timing_parts.render",
        # Two callbacks named draw: their outputs tell them apart, without Dash's hashes.
        "..chart.figure...table.children..": "callback chart.figure, table.children",
        "..chart.figure@0a1b2c...message.children..": "callback chart.figure, message.children",
    }


def test_a_page_that_became_a_package_keeps_its_callback_labels():
    def render_holdings() -> None:
        """Stands in for a callback in the dashboard package's callbacks module."""

    def warm_now() -> None:
        """Stands in for a callback of a page that is one module."""

    render_holdings.__module__ = "dashapp.ui.dashboard.callbacks"
    warm_now.__module__ = "dashapp.ui.cache"
    callback_map = {
        "holdings-table.children": {"callback": render_holdings},
        "warm-status.children": {"callback": warm_now},
    }
    assert timing.callback_labels(callback_map) == {
        "holdings-table.children": "callback dashboard.render_holdings",
        "warm-status.children": "callback cache.warm_now",
    }
