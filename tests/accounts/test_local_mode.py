"""AUTH=local has no sign-in, so it must not be reachable from another machine: both servers
refuse a non-loopback address before they listen, with one line that says what to set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashapp.settings import Settings, SettingsError, is_loopback
from tests.servers import ROOT, free_port

REFUSAL = "StockTracker cannot start: HOST: AUTH=local has no sign-in"


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "local-mode-test",
        "STOCKTRACKER_DEMO": "1",
        **extra,
    }


def test_the_embedded_server_refuses_to_listen_beyond_loopback(tmp_path):
    finished = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=_environment(tmp_path, HOST="0.0.0.0", PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode != 0
    assert REFUSAL in finished.stderr
    assert "set AUTH=accounts" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_gunicorn_refuses_a_public_bind_before_it_starts_workers(tmp_path):
    finished = subprocess.run(
        [
            sys.executable,
            *("-m", "gunicorn", "app:server", "--workers", "1"),
            *("--bind", f"0.0.0.0:{free_port()}"),
        ],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode != 0
    assert REFUSAL in finished.stderr
    assert "Booting worker" not in finished.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]"])
def test_loopback_addresses_are_accepted(host):
    assert is_loopback(host)


def test_auth_is_local_or_accounts():
    assert Settings.from_env({}).auth == "local"
    assert Settings.from_env({"AUTH": " Accounts "}).accounts
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"AUTH": "ldap"})
    assert raised.value.variable == "AUTH"
