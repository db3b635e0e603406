"""Settings come from the environment; a malformed value names its variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashapp.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_embedded_sqlite_and_yahoo(tmp_path):
    settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'stocktracker.db'}"
    assert settings.cache_dir == tmp_path / "cache"
    assert settings.market_data == "yahoo"
    assert settings.redis_url is None
    assert settings.port == 8050


def test_demo_switch_selects_the_demo_market():
    assert Settings.from_env({"STOCKTRACKER_DEMO": "1"}).market_data == "demo"


def test_heroku_postgres_url_gets_a_driver():
    settings = Settings.from_env({"DATABASE_URL": "postgres://u:p@db:5432/app"})
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/app"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("FRESH_INTRADAY_SECONDS", "0"),
        ("MARKET_DATA", "bloomberg"),
        ("STOCKTRACKER_DEMO", "maybe"),
        ("REDIS_URL", "localhost:6379"),
        ("DATABASE_URL", "stocktracker.db"),
        ("RISK_FREE_RATE", "nan"),
        ("QUOTA_WARMS", "often"),
        ("AUTH", "ldap"),
    ],
)
def test_malformed_setting_names_the_variable(variable, value):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.variable == variable
    assert str(raised.value).startswith(f"{variable}: ")


def test_app_refuses_to_start_with_a_message_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={"PORT": "eighty", "INSTANCE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "StockTracker cannot start: PORT: expected a whole number, got 'eighty'" in result.stderr
    assert "Traceback" not in result.stderr
